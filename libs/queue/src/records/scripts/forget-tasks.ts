/**
 * Forgets removed tasks in the farm's indexes, so that the task index (task_id → queue) and the
 * output folder index (sub dir → task_id) never point at jobs that are gone. An entry is dropped only
 * when the job it points to no longer exists, so a task queued again in the meantime (a re-import)
 * keeps its entries.
 * KEYS[1] task index, KEYS[2] output dirs
 * ARGV[1..3] BullMQ's job key around its queue name and job id (before, between, after: the key is
 * ARGV[1] .. queue .. ARGV[2] .. task_id .. ARGV[3], as BullMQ builds it); then pairs of
 * (task_id, output_sub_dir or "")
 * Returns the number of task ids forgotten.
 */
export const FORGET_TASKS_SCRIPT = `
local beforeQueue, beforeId, afterId = ARGV[1], ARGV[2], ARGV[3]
local forgotten = 0
for i = 4, #ARGV, 2 do
  local taskId = ARGV[i]
  local dir = ARGV[i + 1]
  local queue = redis.call('HGET', KEYS[1], taskId)
  if queue and redis.call('EXISTS', beforeQueue .. queue .. beforeId .. taskId .. afterId) == 0 then
    redis.call('HDEL', KEYS[1], taskId)
    forgotten = forgotten + 1
  end
  if dir ~= '' and redis.call('HGET', KEYS[2], dir) == taskId then
    local owner = redis.call('HGET', KEYS[1], taskId)
    if not owner then redis.call('HDEL', KEYS[2], dir) end
  end
end
return forgotten
`;
