import type { Registry, StoredServer } from "@mcic/core";

// The script lives in Registry now. This forwarder only remains because routes/seed-compat.ts
// (another branch's file) still imports it: switch it to `registry.replaceServerAndEnable` at merge
// and delete this file.
/** @deprecated Use `Registry.replaceServerAndEnable`. */
export function replaceServerAndEnable(registry: Registry, server: StoredServer): Promise<void> {
  return registry.replaceServerAndEnable(server);
}
