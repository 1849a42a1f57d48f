/**
 * Every model queue's state in one round trip, read-only except for pruning expired switch claims
 * and serving entries. Per model, 7 keys: wait (list), prioritized (zset), delayed (zset), meta
 * (hash), active (list), the model's switch claims (zset slot → expiry ms), the slots serving it
 * (zset slot → expiry ms); after them, two last keys: the models' timings (hash, `ModelBacklog.recordJob`)
 * and the farm's slot index (zset slot → last publish ms).
 * ARGV[1] now (ms), ARGV[2] the reading slot's id (not counted as serving; "" for none), ARGV[3] the
 * oldest publish time of a live slot (ms), then per model its job key prefix (`<prefix>:<queue>:`)
 * and its name.
 * Returns per model {ready, head job timestamp or "", next delayed ready time or "", blocked 0|1,
 * claims, serving, typical load ms or "", typical job ms or "", running, tail start or ""}, flattened:
 * `running` is the model's jobs being run; `tail start` is when the running job started whose slot
 * takes the last ready job that no claimant takes, if no other slot helps (the ready jobs go to the running slots in the
 * order they started theirs: BullMQ pushes a job it hands out to the active list's left end).
 * After the models, one last value: the farm's live slots (published since ARGV[3]).
 * BullMQ takes from the wait list's right end first, then the lowest prioritized score; a delayed
 * job's score is its ready time × 0x1000 (+ a counter), and it is promoted by the next fetch.
 */
export const MODEL_BACKLOG_SCRIPT = `
local now = tonumber(ARGV[1])
local timings, slotIndex = KEYS[#KEYS - 1], KEYS[#KEYS]
local out = {}
for m = 0, (#KEYS - 2) / 7 - 1 do
  local k = m * 7
  local wait, prioritized, delayed, meta, active, claimsKey, servingKey =
    KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4], KEYS[k + 5], KEYS[k + 6], KEYS[k + 7]
  local jobPrefix, model = ARGV[2 * m + 4], ARGV[2 * m + 5]
  local waiting = redis.call('LLEN', wait) + redis.call('ZCARD', prioritized)
  local due = redis.call('ZCOUNT', delayed, 0, (now + 1) * 0x1000 - 1)
  local firstDelayed = redis.call('ZRANGE', delayed, 0, 0, 'WITHSCORES')
  local flags = redis.call('HMGET', meta, 'paused', 'concurrency')
  local running = redis.call('LLEN', active)
  local blocked = 0
  if flags[1] then
    blocked = 1
  elseif flags[2] and running >= tonumber(flags[2]) then
    blocked = 1
  end
  local head = nil
  local function consider(timestamp)
    if timestamp and (head == nil or timestamp < head) then head = timestamp end
  end
  local function jobTimestamp(id, field)
    if not id then return nil end
    return tonumber(redis.call('HGET', jobPrefix .. id, field or 'timestamp'))
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
  local times = redis.call('HMGET', timings, 'load:' .. model, 'job:' .. model)
  table.insert(out, waiting + due)
  table.insert(out, headText)
  table.insert(out, nextDelayed)
  table.insert(out, blocked)
  table.insert(out, claims)
  table.insert(out, serving)
  table.insert(out, times[1] or '')
  table.insert(out, times[2] or '')
  local tailStart = ''
  local unclaimed = waiting + due - claims
  if unclaimed > 0 and running > 0 then
    local started = jobTimestamp(redis.call('LINDEX', active, -(((unclaimed - 1) % running) + 1)), 'processedOn')
    if started then tailStart = string.format('%d', started) end
  end
  table.insert(out, running)
  table.insert(out, tailStart)
end
table.insert(out, redis.call('ZCOUNT', slotIndex, ARGV[3], '+inf'))
return out
`;

/**
 * A completed job's times folded into its model's typical ones (moving averages, a quarter weight
 * for the newest: one slow job moves them a little, a changed model soon).
 * KEYS[1] the models' timings (hash `load:<model>` / `job:<model>` → ms)
 * ARGV[1] model, ARGV[2] the job's model load (ms; 0 when the model was already loaded), ARGV[3]
 * its generation (ms)
 */
export const RECORD_MODEL_TIMES_SCRIPT = `
local function blend(field, sample)
  local old = tonumber(redis.call('HGET', KEYS[1], field))
  if old then sample = old + (sample - old) / 4 end
  redis.call('HSET', KEYS[1], field, string.format('%d', sample))
end
local load, job = tonumber(ARGV[2]), tonumber(ARGV[3])
if load > 0 then blend('load:' .. ARGV[1], load) end
blend('job:' .. ARGV[1], job)
`;
