/**
 * A slot claims a model it is about to load, unless the slots already on it (serving + claimed)
 * reach what its backlog justifies: two idle slots never both switch for a backlog one can clear.
 * The serving slots are counted here, not taken from the decision's snapshot: a claim is released
 * once its slot publishes that it serves the model, and a count read before that publish would let
 * the slots of one wave of decisions past the limit.
 * KEYS[1] the model's switch claims (zset slot → expiry ms), KEYS[2] the slots serving it (zset slot
 * → expiry ms)
 * ARGV[1] slot id, ARGV[2] claim expiry (ms), ARGV[3] now (ms), ARGV[4] slots the backlog justifies
 * Returns 1 when claimed (or already held), 0 when refused.
 */
export const CLAIM_SWITCH_SCRIPT = `
local now = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  local serving = redis.call('ZCOUNT', KEYS[2], now, '+inf')
  local own = redis.call('ZSCORE', KEYS[2], ARGV[1])
  if own and tonumber(own) >= now then serving = serving - 1 end
  if redis.call('ZCARD', KEYS[1]) + serving >= tonumber(ARGV[4]) then return 0 end
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1
`;
