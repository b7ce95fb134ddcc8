// Registering the benchmark's servers in mcic's registry, and waiting until a running dispatcher
// delivers to all of them.
import {
  type Envelope,
  type Registry,
  type SecretBox,
  type ServerFilters,
  generateWebhookSecret,
  sealContext,
} from "@mcic/core";
import { waitFor } from "@mcic/core/testing";
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
  const now = new Date().toISOString();
  const servers: BenchServer[] = [];
  for (let i = 0; i < count; i++) {
    const name = `s${i}`;
    const secret = generateWebhookSecret();
    await registry.createServer({
      name,
      url: `${base}/${name}`,
      filters: filters(i),
      headers: box.seal("{}", sealContext.serverHeaders(name)),
      secret: box.seal(secret, sealContext.serverSecret(name)),
      includeSecretData: false,
      snapshot: false,
      enabled: true,
      payload: "full",
      includeManagedFields: false,
      disableAfterSeconds: 432_000,
      retry: {},
      createdAt: now,
      updatedAt: now,
    });
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
