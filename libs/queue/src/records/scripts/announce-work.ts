/**
 * Adds one "work may be ready" entry to the farm's work stream.
 * KEYS[1] the work stream, KEYS[2] the queue's delayed zset (or KEYS[1] when no task is named),
 * KEYS[3] the model's serving slots (zset slot → expiry ms), KEYS[4] the idle roster (zset process →
 * expiry ms: processes with an idle slot), KEYS[5] the model's idle roster (processes with an idle
 * slot that holds the model), KEYS[6] the stream every reader blocks on
 * ARGV[1] max length (approximate), ARGV[2] reason, ARGV[3] models (JSON list), ARGV[4] task ids
 * (JSON list, may be empty), ARGV[5] count of tasks, ARGV[6] hops (times the entry was passed on),
 * ARGV[7] the most tasks an entry that names processes may count
 * A named task that sits in the delayed set (a retry in backoff) gives the entry its ready time
 * (`at`, epoch ms): readers wake then, not now. A delayed job's score is its ready time × 0x1000.
 * The entry also says how many live slots hold the model (`serving`): readers with no such slot
 * leave a small backlog to them instead of each waking a slot to decide.
 * Work that is ready now names the processes that should wake (`to`, JSON list): up to one per task,
 * those with an idle slot holding the model first, so that an arrival wakes a few slots, not the farm.
 * With no idle process on the roster the entry names none, and every reader decides for itself; so
 * does a bulk entry (more than ARGV[7] tasks): each of its named processes would wake several slots,
 * and the entries of one import would all name the same processes (the roster's first).
 * KEYS[1] keeps every entry (the farm's record of them); readers block on copies instead, so that an
 * entry wakes only the processes it concerns: an entry that names processes is copied to each named
 * process's own stream (ARGV[10] then the process id; short, expiring ARGV[9] ms after its last
 * entry), any other to the stream every reader blocks on (KEYS[6]). ARGV[8]: the most entries a
 * process's stream keeps.
 */
export const ANNOUNCE_WORK_SCRIPT = `
local at = nil
local chosen = nil
local tasks = cjson.decode(ARGV[4])
if KEYS[2] ~= KEYS[1] then
  for _, id in ipairs(tasks) do
    local score = redis.call('ZSCORE', KEYS[2], id)
    if score then
      local readyAt = math.floor(tonumber(score) / 0x1000)
      if at == nil or readyAt < at then at = readyAt end
    end
  end
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local serving = redis.call('ZCOUNT', KEYS[3], now, '+inf')
local fields = {'reason', ARGV[2], 'models', ARGV[3], 'count', ARGV[5], 'serving', serving}
if #tasks > 0 then
  table.insert(fields, 'tasks')
  table.insert(fields, ARGV[4])
end
if at then
  table.insert(fields, 'at')
  table.insert(fields, string.format('%d', at))
elseif ARGV[2] ~= 'stall' and tonumber(ARGV[5]) <= tonumber(ARGV[7]) then
  local want = tonumber(ARGV[5])
  local seen = {}
  chosen = {}
  for _, roster in ipairs({KEYS[5], KEYS[4]}) do
    redis.call('ZREMRANGEBYSCORE', roster, '-inf', now)
    if #chosen < want then
      for _, id in ipairs(redis.call('ZRANGEBYSCORE', roster, now, '+inf', 'LIMIT', 0, want)) do
        if #chosen < want and not seen[id] then
          seen[id] = true
          table.insert(chosen, id)
        end
      end
    end
  end
  if #chosen > 0 then
    table.insert(fields, 'to')
    table.insert(fields, cjson.encode(chosen))
    table.insert(fields, 'hops')
    table.insert(fields, ARGV[6])
  end
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(fields))
if chosen and #chosen > 0 then
  for _, process in ipairs(chosen) do
    local inbox = ARGV[10] .. process
    redis.call('XADD', inbox, 'MAXLEN', '~', ARGV[8], '*', unpack(fields))
    redis.call('PEXPIRE', inbox, ARGV[9])
  end
else
  redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[1], '*', unpack(fields))
end
return id
`;
