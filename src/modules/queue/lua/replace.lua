-- Replaces a queue's whole projection unless the stored one is newer (a rebuild racing a later change).
-- KEYS: meta hash, waiting zset, entries hash, called zset, skipped zset.
-- ARGV: version, ttlSeconds, meta (JSON array of field, value pairs),
--       entries (JSON array of [id, storedJson, status, score, serial]).
local mKey, zKey, eKey, cKey, sKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local version = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local current = redis.call('HGET', mKey, 'version')
if current and tonumber(current) > version then return 'stale' end

redis.call('DEL', mKey, zKey, eKey, cKey, sKey)
redis.call('HSET', mKey, unpack(cjson.decode(ARGV[3])))

local entries = cjson.decode(ARGV[4])
local CHUNK = 500
for from = 1, #entries, CHUNK do
  local hashArgs, waitingArgs, calledArgs, skippedArgs = {}, {}, {}, {}
  for i = from, math.min(#entries, from + CHUNK - 1) do
    local id, json, status, score, serial = entries[i][1], entries[i][2], entries[i][3], entries[i][4], entries[i][5]
    hashArgs[#hashArgs + 1] = id
    hashArgs[#hashArgs + 1] = json
    local target = waitingArgs
    if status == 'called' then target = calledArgs elseif status == 'skipped' then target = skippedArgs end
    target[#target + 1] = (status == 'waiting') and score or serial
    target[#target + 1] = id
  end
  redis.call('HSET', eKey, unpack(hashArgs))
  if #waitingArgs > 0 then redis.call('ZADD', zKey, unpack(waitingArgs)) end
  if #calledArgs > 0 then redis.call('ZADD', cKey, unpack(calledArgs)) end
  if #skippedArgs > 0 then redis.call('ZADD', sKey, unpack(skippedArgs)) end
end

for _, key in ipairs(KEYS) do redis.call('EXPIRE', key, ttl) end
return 'replaced'
