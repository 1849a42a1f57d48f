/**
 * Fails flow jobs that have not started (a cancelled task and the jobs that depend on it), the way
 * BullMQ fails a child with `failParentOnFailure`: each job goes to its queue's failed set with the
 * reason, and moves from its parent's pending dependencies to the parent's unsuccessful ones. A job
 * failed because of another one records it (`wgpFlowCause`), so a retry of that one can undo it.
 * ARGV[1] now (ms); then, per job: job key, queue key, job id, reason, cause (a job key, or "").
 * Returns, per job, 1 when it was failed, 0 when it was not waiting (running or finished).
 */
export const FAIL_FLOW_JOBS_SCRIPT = `
local now = tonumber(ARGV[1])
local out = {}
for i = 2, #ARGV, 5 do
  local jobKey, queueKey, id, reason, cause = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local moved = 0
  if redis.call('EXISTS', jobKey) == 1 then
    if redis.call('ZREM', queueKey .. ':waiting-children', id) == 1
      or redis.call('LREM', queueKey .. ':wait', 0, id) > 0
      or redis.call('ZREM', queueKey .. ':prioritized', id) == 1
      or redis.call('ZREM', queueKey .. ':delayed', id) == 1 then
      moved = 1
    end
  end
  if moved == 1 then
    redis.call('HSET', jobKey, 'failedReason', reason, 'finishedOn', now)
    redis.call('HDEL', jobKey, 'defa')
    if cause ~= '' then redis.call('HSET', jobKey, 'wgpFlowCause', cause) end
    redis.call('ZADD', queueKey .. ':failed', now, id)
    redis.call('XADD', queueKey .. ':events', 'MAXLEN', '~', 10000, '*', 'event', 'failed', 'jobId', id,
      'failedReason', reason, 'prev', 'waiting')
    local parentKey = redis.call('HGET', jobKey, 'parentKey')
    if parentKey and redis.call('SREM', parentKey .. ':dependencies', jobKey) == 1 then
      redis.call('ZADD', parentKey .. ':unsuccessful', now, jobKey)
    end
  end
  out[#out + 1] = moved
end
return out
`;

/**
 * Undoes a failure cascade from the bottom up, before the job that caused it is retried: each
 * dependant that failed (or waits to fail, BullMQ's deferred failure) because of the job below it
 * goes back to waiting-children, with that job pending again among its dependencies and a fresh
 * count of attempts. It stops at the first dependant that failed for a reason of its own.
 * ARGV[1] now (ms); then, from the retried job upwards: child key, parent key, parent queue key,
 * parent id. Returns how many dependants were restored.
 */
export const RESTORE_FLOW_CHAIN_SCRIPT = `
local now = tonumber(ARGV[1])
local restored = 0
for i = 2, #ARGV, 4 do
  local childKey, parentKey, queueKey, parentId = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local fields = redis.call('HMGET', parentKey, 'failedReason', 'wgpFlowCause', 'defa')
  local childFailure = 'child ' .. childKey .. ' failed'
  if fields[2] ~= childKey and fields[1] ~= childFailure and fields[3] ~= childFailure then break end
  local left = redis.call('ZREM', queueKey .. ':failed', parentId) == 1
    or redis.call('LREM', queueKey .. ':wait', 0, parentId) > 0
    or redis.call('ZREM', queueKey .. ':prioritized', parentId) == 1
  if not left then break end
  redis.call('HDEL', parentKey, 'failedReason', 'finishedOn', 'processedOn', 'defa', 'wgpFlowCause', 'atm', 'ats')
  redis.call('ZADD', queueKey .. ':waiting-children', now, parentId)
  if redis.call('ZREM', parentKey .. ':unsuccessful', childKey) == 1
    or redis.call('HDEL', parentKey .. ':failed', childKey) == 1 then
    redis.call('SADD', parentKey .. ':dependencies', childKey)
  end
  redis.call('XADD', queueKey .. ':events', 'MAXLEN', '~', 10000, '*', 'event', 'waiting-children', 'jobId',
    parentId, 'prev', 'failed')
  restored = restored + 1
end
return restored
`;
