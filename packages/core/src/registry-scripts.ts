// The Registry's Lua scripts: only registry.ts runs them. A record's own keys share its hash tag;
// the kind's index and revision counter are global keys, so on a Redis Cluster (which SPEC does not
// ask for: Sentinel or one managed Redis) the write scripts would need those in the record's slot.

// Each script writes the record, its index, the kind's revision counter (KEYS[3]) and the change
// notice in one atomic step, so a reader never sees an index entry without a record, nobody hears
// of a change that did not happen, and whoever reads revision N then sees every write up to N.
// Owned keys (status, delivery log, dead letters) follow from KEYS[4].
export const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('INCR', KEYS[3])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1`;
export const REPLACE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('INCR', KEYS[3])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1`;
export const DELETE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('DEL', KEYS[1], unpack(KEYS, 4))
redis.call('SREM', KEYS[2], ARGV[2])
redis.call('INCR', KEYS[3])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1`;
// REPLACE only if the record still holds exactly the text it was read as (ARGV[5]): a
// read-modify-write that loses no concurrent write. Returns 0 when it changed meanwhile. Status
// fields named after it (ARGV[6..], servers only) are cleared in the same step, as REPLACE_AND_ENABLE does.
export const REPLACE_IF_UNCHANGED = `
if redis.call('GET', KEYS[1]) ~= ARGV[5] then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
if #ARGV > 5 then redis.call('HDEL', KEYS[4], unpack(ARGV, 6)) end
redis.call('INCR', KEYS[3])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1`;
// REPLACE that also clears the status fields (ARGV[5..]) saying why a dispatcher disabled the server
// (HTTP 410, failure window): replacing a registration enables it again. KEYS[4] is the server's
// status hash (first owned key).
export const REPLACE_AND_ENABLE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[4], unpack(ARGV, 5))
redis.call('INCR', KEYS[3])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1`;
// Takes replayed dead letters off the list (by their exact text, so entries added meanwhile stay),
// and lowers the dead-letter count by what was removed. Returns how many were removed.
export const SETTLE_REPLAY = `
local removed = 0
for i = 2, #ARGV do removed = removed + redis.call('LREM', KEYS[1], 1, ARGV[i]) end
if removed > 0 and redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
  local left = tonumber(redis.call('HGET', KEYS[2], ARGV[1])) - removed
  if left < 0 then left = 0 end
  redis.call('HSET', KEYS[2], ARGV[1], left)
end
return removed`;
