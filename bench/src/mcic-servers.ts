// Registering the benchmark's servers in mcic's registry, and waiting until a running dispatcher
// delivers to all of them.
import { type Envelope, type Registry, type SecretBox, type ServerFilters, generateWebhookSecret } from "@mcic/core";
import { storedServer, waitFor } from "@mcic/core/testing";
import type { EventPublisher } from "@mcic/test/support";
import type { BenchReceiver } from "./receiver.js";

export interface BenchServer {
  name: string;
  url: string;
  path: string;
  secret: string;
}

/** Replaces every registered server by `count` new ones at `<base>/s<i>`; returns them with their secrets. */
export async function registerServers(
  registry: Registry,
  box: SecretBox,
  base: string,
  count: number,
  filters: (i: number) => ServerFilters,
): Promise<BenchServer[]> {
  for (const s of await registry.listServers()) await registry.deleteServer(s.name);
  const servers: BenchServer[] = [];
  for (let i = 0; i < count; i++) {
    const name = `s${i}`;
    const secret = generateWebhookSecret();
    await registry.createServer(storedServer(box, name, `${base}/${name}`, { filters: filters(i), secret }));
    servers.push({ name, url: `${base}/${name}`, path: `/${name}`, secret });
  }
  return servers;
}

/**
 * Publishes probe events (each a new version of `probe`) until one reaches all `servers`: the
 * dispatcher has loaded the registrations.
 */
export async function awaitDispatcherKnows(
  events: EventPublisher,
  receiver: BenchReceiver,
  probe: (rv: number) => Envelope,
  servers: number,
): Promise<void> {
  let rv = 1_000_000;
  await waitFor(
    async () => {
      const e = probe(++rv);
      const arrived = await receiver.expect([e.id], servers, 2000);
      await events.publish([e]);
      return arrived().then(
        () => true,
        () => false,
      );
    },
    { timeoutMs: 60_000, message: `the dispatcher to deliver to ${servers} servers` },
  );
}
