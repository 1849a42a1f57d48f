/**
 * Every model queue's state in one round trip, read-only except for pruning expired switch claims
 * and serving entries. Per model, 7 keys: wait (list), prioritized (zset), delayed (zset), meta
 * (hash), active (list), the model's switch claims (zset slot → expiry ms), the slots serving it
 * (zset slot → expiry ms).
 * ARGV[1] now (ms), ARGV[2] the reading slot's id (not counted as serving; "" for none), then per
 * model its job key prefix (`<prefix>:<queue>:`).
 * Returns per model {ready, head job timestamp or "", next delayed ready time or "", blocked 0|1,
 * claims, serving}, flattened.
 * BullMQ takes from the wait list's right end first, then the lowest prioritized score; a delayed
 * job's score is its ready time × 0x1000 (+ a counter), and it is promoted by the next fetch.
 */
export const MODEL_BACKLOG_SCRIPT = `
local now = tonumber(ARGV[1])
local out = {}
for m = 0, #KEYS / 7 - 1 do
  local k = m * 7
  local wait, prioritized, delayed, meta, active, claimsKey, servingKey =
    KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4], KEYS[k + 5], KEYS[k + 6], KEYS[k + 7]
  local jobPrefix = ARGV[m + 3]
  local waiting = redis.call('LLEN', wait) + redis.call('ZCARD', prioritized)
  local due = redis.call('ZCOUNT', delayed, 0, (now + 1) * 0x1000 - 1)
  local firstDelayed = redis.call('ZRANGE', delayed, 0, 0, 'WITHSCORES')
  local flags = redis.call('HMGET', meta, 'paused', 'concurrency')
  local blocked = 0
  if flags[1] then
    blocked = 1
  elseif flags[2] and redis.call('LLEN', active) >= tonumber(flags[2]) then
    blocked = 1
  end
  local head = nil
  local function consider(timestamp)
    if timestamp and (head == nil or timestamp < head) then head = timestamp end
  end
  local function jobTimestamp(id)
    if not id then return nil end
    return tonumber(redis.call('HGET', jobPrefix .. id, 'timestamp'))
  end
  if waiting > 0 then
    consider(jobTimestamp(redis.call('LINDEX', wait, -1)))
    consider(jobTimestamp(redis.call('ZRANGE', prioritized, 0, 0)[1]))
  end
  local nextDelayed = ''
  if firstDelayed[2] then
    local readyAt = math.floor(tonumber(firstDelayed[2]) / 0x1000)
    if due > 0 then consider(readyAt) else nextDelayed = string.format('%d', readyAt) end
  end
  redis.call('ZREMRANGEBYSCORE', claimsKey, '-inf', now)
  local claims = redis.call('ZCARD', claimsKey)
  local serving = redis.call('ZCOUNT', servingKey, now, '+inf')
  local own = ARGV[2] ~= '' and redis.call('ZSCORE', servingKey, ARGV[2])
  if own and tonumber(own) >= now then serving = serving - 1 end
  local headText = ''
  if head then headText = string.format('%d', head) end
  table.insert(out, waiting + due)
  table.insert(out, headText)
  table.insert(out, nextDelayed)
  table.insert(out, blocked)
  table.insert(out, claims)
  table.insert(out, serving)
end
return out
`;
