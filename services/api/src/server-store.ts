import type { Registry, StoredServer } from "@mcic/core";
import { NotFoundError } from "@mcic/core";

// Replace a server and re-enable it in one step: a server the dispatcher disabled after an HTTP
// 410 (status field `disabledReason`) is active again once its registration is replaced.
// Same shape as the Registry's REPLACE script, plus the HDEL; all keys share the server's hash tag.
const REPLACE_AND_ENABLE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], 'disabledReason')
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1`;

export async function replaceServerAndEnable(registry: Registry, server: StoredServer): Promise<void> {
  const k = registry.keys;
  const notice = JSON.stringify({ kind: "server", name: server.name, op: "updated" });
  const done = await registry.redis.eval(
    REPLACE_AND_ENABLE,
    2,
    k.server(server.name),
    k.serverStatus(server.name),
    JSON.stringify(server),
    k.changes,
    notice,
  );
  if (done !== 1) throw new NotFoundError("server", server.name);
}

// Takes replayed dead letters off the list (by their exact text, so entries added meanwhile stay),
// lowers `deadLetters` by what was removed and raises `pending` by what was queued (the dispatcher
// lowers it as it consumes them). Returns how many were removed.
const SETTLE_REPLAY = `
local removed = 0
for i = 2, #ARGV do removed = removed + redis.call('LREM', KEYS[1], 1, ARGV[i]) end
if removed > 0 and redis.call('HEXISTS', KEYS[2], 'deadLetters') == 1 then
  local left = tonumber(redis.call('HGET', KEYS[2], 'deadLetters')) - removed
  if left < 0 then left = 0 end
  redis.call('HSET', KEYS[2], 'deadLetters', left)
end
local queued = tonumber(ARGV[1])
if queued > 0 then redis.call('HINCRBY', KEYS[2], 'pending', queued) end
return removed`;

export async function settleReplay(
  registry: Registry,
  server: string,
  texts: string[],
  queued: number,
): Promise<number> {
  const k = registry.keys;
  const removed = await registry.redis.eval(
    SETTLE_REPLAY,
    2,
    k.deadLetters(server),
    k.serverStatus(server),
    String(queued),
    ...texts,
  );
  return Number(removed);
}
