/**
 * A slot claims a model it is about to load, unless the slots already on it (serving + claimed)
 * reach what its backlog justifies: two idle slots never both switch for a backlog one can clear.
 * KEYS[1] the model's switch claims (zset slot → expiry ms)
 * ARGV[1] slot id, ARGV[2] claim expiry (ms), ARGV[3] now (ms), ARGV[4] slots serving the model
 * (other than claimants), ARGV[5] slots the backlog justifies
 * Returns 1 when claimed (or already held), 0 when refused.
 */
export const CLAIM_SWITCH_SCRIPT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  if redis.call('ZCARD', KEYS[1]) + tonumber(ARGV[4]) >= tonumber(ARGV[5]) then return 0 end
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1
`;
