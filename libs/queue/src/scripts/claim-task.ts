/**
 * Claims a task id for a queue and its output folder for the task, atomically.
 * KEYS[1] task index (task_id → queue), KEYS[2] output dirs (sub dir → task_id)
 * ARGV[1] task_id, ARGV[2] queue name, ARGV[3] output_sub_dir
 * Returns {"claimed", queue} | {"exists", queue it is in} | {"dir-taken", owning task_id}.
 */
export const CLAIM_TASK_SCRIPT = `
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then return {'exists', existing} end
local owner = redis.call('HGET', KEYS[2], ARGV[3])
if owner and owner ~= ARGV[1] then return {'dir-taken', owner} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[1])
return {'claimed', ARGV[2]}
`;
