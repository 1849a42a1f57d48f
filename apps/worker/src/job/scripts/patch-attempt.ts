/**
 * Updates one attempt in a task's attempt history in place, so that an attempt writing its own end
 * never overwrites what others wrote meanwhile (an attempt that lost its job marks itself while the
 * attempt holding the job records its own).
 * KEYS[1] the attempt-history hash
 * ARGV[1] task id, ARGV[2] the patch (JSON: slot and started_at find the attempt, the other fields
 * replace its own), ARGV[3] the whole list to store when the task has no history ('' to store none)
 * Returns 1 when the attempt was found and patched, else 0.
 */
export const PATCH_ATTEMPT_SCRIPT = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then
  if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
  return 0
end
local readable, records = pcall(cjson.decode, raw)
local patch = cjson.decode(ARGV[2])
if not readable or type(records) ~= 'table' then return 0 end
for i = #records, 1, -1 do
  local record = records[i]
  if type(record) == 'table' and record.slot == patch.slot and record.started_at == patch.started_at then
    for field, value in pairs(patch) do record[field] = value end
    redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(records))
    return 1
  end
end
return 0
`;
