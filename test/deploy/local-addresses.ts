import { freePort } from "@mcic/core/testing";

/**
 * Loopback stand-ins for the addresses of a deploy file: every `host:port` a container listens on
 * gets a free port here, so the file's own commands and variables run on one machine.
 */
export class LocalAddresses {
  private readonly ports = new Map<string, number>();

  constructor(private readonly localHost = "127.0.0.1") {}

  async add(host: string, port: number | string): Promise<number> {
    const local = await freePort();
    this.ports.set(`${host}:${port}`, local);
    return local;
  }

  /** The local port standing in for `host:port`. */
  port(host: string, port: number | string): number {
    const local = this.ports.get(`${host}:${port}`);
    if (local === undefined) throw new Error(`no local port for ${host}:${port}`);
    return local;
  }

  /** `text` with every known `host:port` replaced by its local address. */
  rewrite(text: string): string {
    let out = text;
    for (const [address, local] of this.ports) {
      const escaped = address.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      out = out.replace(new RegExp(`(?<![\\w.-])${escaped}(?!\\d)`, "g"), `${this.localHost}:${local}`);
    }
    return out;
  }
}
