/**
 * Claims task ids for their queues and output folders for their tasks, atomically per task, for a
 * whole batch in one call.
 * KEYS[1] task index (task_id → queue), KEYS[2] output dirs (sub dir → task_id)
 * ARGV: task_id, queue name, output_sub_dir — repeated for every task of the batch.
 * Returns, per task, two entries: "claimed", queue | "exists", the queue it is in | "dir-taken", the
 * task_id owning the folder.
 */
export const CLAIM_TASKS_SCRIPT = `
local out = {}
for i = 1, #ARGV, 3 do
  local id, queue, dir = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local existing = redis.call('HGET', KEYS[1], id)
  if existing then
    out[#out + 1] = 'exists'
    out[#out + 1] = existing
  else
    local owner = redis.call('HGET', KEYS[2], dir)
    if owner and owner ~= id then
      out[#out + 1] = 'dir-taken'
      out[#out + 1] = owner
    else
      redis.call('HSET', KEYS[1], id, queue)
      redis.call('HSET', KEYS[2], dir, id)
      out[#out + 1] = 'claimed'
      out[#out + 1] = queue
    end
  end
end
return out
`;
