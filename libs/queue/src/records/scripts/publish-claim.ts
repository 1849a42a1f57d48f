/**
 * The publish claim: an attempt may publish its output (rename the result folder into place, write
 * its manifest, complete the job) only while it still holds the job. Checks the job's BullMQ lock
 * token and, only when it matches, extends the lock by the publish lease (as BullMQ's extendLock
 * does, the job also leaves the stalled set) and records which attempt publishes, all at once.
 * KEYS[1] the job's lock key, KEYS[2] the queue's stalled set, KEYS[3] the task's publish-claim key
 * ARGV[1] the attempt's lock token, ARGV[2] the lease (ms), ARGV[3] the job id,
 * ARGV[4] the claim record (JSON), ARGV[5] how long the record is kept (ms)
 * Returns 1 when claimed; 0 when the lock is gone or held by another attempt (nothing is written).
 */
export const PUBLISH_CLAIM_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SREM', KEYS[2], ARGV[3])
redis.call('SET', KEYS[3], ARGV[4], 'PX', ARGV[5])
return 1
`;
