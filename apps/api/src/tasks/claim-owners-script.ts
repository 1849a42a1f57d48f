/**
 * Claims task ids for a token, atomically per id.
 * KEYS[1] task owners (task_id → token id), KEYS[2] the farm's task index (task_id → queue)
 * ARGV[1] token id, ARGV[2..] task ids.
 * Returns per id: "mine" (this token's already), "claimed" (new to the farm, now this token's),
 * "taken" (another token's, or imported outside the API).
 */
export const CLAIM_OWNERS_SCRIPT = `
local out = {}
for i = 2, #ARGV do
  local id = ARGV[i]
  local owner = redis.call('HGET', KEYS[1], id)
  if owner == ARGV[1] then
    out[#out + 1] = 'mine'
  elseif owner or redis.call('HEXISTS', KEYS[2], id) == 1 then
    out[#out + 1] = 'taken'
  else
    redis.call('HSET', KEYS[1], id, ARGV[1])
    out[#out + 1] = 'claimed'
  end
end
return out
`;
