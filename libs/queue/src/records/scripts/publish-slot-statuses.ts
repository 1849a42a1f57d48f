/**
 * Writes a batch of slot statuses at once (`SlotRegistry.publish`): each status with its TTL, its
 * move between the per-model serving sets, and its entry in the slot index; then every serving set
 * joined gets its TTL. One script call instead of a MULTI: a process's batch is one command to send.
 * KEYS[1] the slot index; then per status: its status key, the serving set it leaves (when it
 * leaves one), the serving set it joins (when it serves a model)
 * ARGV[1] now (ms), ARGV[2] the status TTL (ms); then per status: slot id, status JSON, leaves (1/0),
 * joins (1/0)
 */
export const PUBLISH_SLOT_STATUSES_SCRIPT = `
local now, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local key = 2
local joined = {}
for i = 3, #ARGV, 4 do
  local slot = ARGV[i]
  redis.call('SET', KEYS[key], ARGV[i + 1], 'PX', ttl)
  key = key + 1
  if ARGV[i + 2] == '1' then
    redis.call('ZREM', KEYS[key], slot)
    key = key + 1
  end
  if ARGV[i + 3] == '1' then
    redis.call('ZADD', KEYS[key], now + ttl, slot)
    joined[KEYS[key]] = true
    key = key + 1
  end
  redis.call('ZADD', KEYS[1], now, slot)
end
for serving in pairs(joined) do redis.call('PEXPIRE', serving, 2 * ttl) end
return 0
`;
