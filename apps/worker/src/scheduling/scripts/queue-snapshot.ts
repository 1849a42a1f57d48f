/**
 * One model queue's state for the scheduler, in one round trip, read-only except for pruning
 * expired switch claims.
 * KEYS[1] wait (list), KEYS[2] prioritized (zset), KEYS[3] delayed (zset), KEYS[4] meta (hash),
 * KEYS[5] active (list), KEYS[6] the model's switch claims (zset slot → expiry ms)
 * ARGV[1] job key prefix (`<prefix>:<queue>:`), ARGV[2] now (ms)
 * Returns {ready, head job timestamp or "", next delayed ready time or "", blocked 0|1, claims}.
 * BullMQ takes from the wait list's right end first, then the lowest prioritized score; a delayed
 * job's score is its ready time × 0x1000 (+ a counter), and it is promoted by the next fetch.
 */
export const QUEUE_SNAPSHOT_SCRIPT = `
local now = tonumber(ARGV[2])
local waiting = redis.call('LLEN', KEYS[1]) + redis.call('ZCARD', KEYS[2])
local due = redis.call('ZCOUNT', KEYS[3], 0, (now + 1) * 0x1000 - 1)
local firstDelayed = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
local meta = redis.call('HMGET', KEYS[4], 'paused', 'concurrency')
local blocked = 0
if meta[1] then
  blocked = 1
elseif meta[2] and redis.call('LLEN', KEYS[5]) >= tonumber(meta[2]) then
  blocked = 1
end
local head = nil
local function consider(timestamp)
  if timestamp and (head == nil or timestamp < head) then head = timestamp end
end
local function jobTimestamp(id)
  if not id then return nil end
  return tonumber(redis.call('HGET', ARGV[1] .. id, 'timestamp'))
end
consider(jobTimestamp(redis.call('LINDEX', KEYS[1], -1)))
consider(jobTimestamp(redis.call('ZRANGE', KEYS[2], 0, 0)[1]))
local nextDelayed = ''
if firstDelayed[2] then
  local readyAt = math.floor(tonumber(firstDelayed[2]) / 0x1000)
  if due > 0 then consider(readyAt) else nextDelayed = string.format('%d', readyAt) end
end
redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now)
local claims = redis.call('ZCARD', KEYS[6])
local headText = ''
if head then headText = string.format('%d', head) end
return {waiting + due, headText, nextDelayed, blocked, claims}
`;
