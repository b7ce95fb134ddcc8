import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createReceiver, fileStore, type Receiver } from "@mcic/receiver";
import { ConfigWriter } from "./config-writer.js";
import { renderNginxConfig, type RenderOptions, type Skipped } from "./render.js";

export interface DeviceOptions extends RenderOptions {
  /** The server's `whsec_` secret(s) from its registration (two during a rotation). */
  secrets: string[];
  /** The nginx configuration file to maintain. */
  out: string;
  /** Keep the receiver's state here (file store), so a restart does not start empty. */
  stateDir?: string;
  host?: string;
  /** Port the receiver listens on (0: any free one). */
  port?: number;
  /** Path of nginx for `nginx -t` (undefined: no check). */
  nginx?: string;
  /** `nginx -s reload` after each new file. */
  reload?: boolean;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export interface Device {
  /** Where mcic should deliver: register a server with this URL. */
  url: string;
  receiver: Receiver;
  /** Resolves once every change so far is in the file. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export async function startDevice(o: DeviceOptions): Promise<Device> {
  const log = o.log ?? (() => {});
  let lastSkipped = "";
  let receiver: Receiver | undefined;
  const writer = new ConfigWriter({
    out: o.out,
    nginx: o.nginx,
    reload: o.reload ?? false,
    render: () => {
      const result = renderNginxConfig(receiver?.state ?? new Map(), o);
      reportSkipped(result.skipped);
      return result.config;
    },
    onWritten: (info) => log("nginx configuration written", { file: o.out, ...info }),
    onError: (err) => log("nginx configuration not written", { error: String(err) }),
  });
  const reportSkipped = (skipped: Skipped[]) => {
    const text = JSON.stringify(skipped);
    if (text !== lastSkipped && skipped.length) log("ingress values left out of the configuration", { skipped });
    lastSkipped = text;
  };
  receiver = createReceiver({
    secrets: o.secrets,
    ...(o.stateDir ? { store: fileStore(o.stateDir) } : {}),
    onChange: () => writer.request(),
    onError: (err) => log("receiver error", { error: String(err) }),
  });
  const server = createServer(receiver.handler);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port ?? 8088, o.host ?? "127.0.0.1", resolve);
  });
  await receiver.ready;
  const { address, port } = server.address() as AddressInfo;
  const r = receiver;
  return {
    url: `http://${address.includes(":") ? `[${address}]` : address}:${port}/events`,
    receiver: r,
    idle: () => writer.idle(),
    close: async () => {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await r.close();
      await writer.idle();
    },
  };
}
