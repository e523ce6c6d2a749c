-- Applies one queue change atomically if the projection is exactly one version behind it.
-- KEYS: meta hash, waiting zset, entries hash, called zset, skipped zset (one hash tag: one Cluster slot).
-- ARGV: version, headSize, ttlSeconds, ops (JSON; positionKey travels as a string so cjson never rounds it).
-- Returns JSON: {status = applied|stale|gap|missing|conflict, ...}.
local mKey, zKey, eKey, cKey, sKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local version = tonumber(ARGV[1])
local headSize = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local PRIORITY_SPAN = 2e7
local CONSULT_SAMPLES = 20

local current = redis.call('HGET', mKey, 'version')
if not current then return cjson.encode({ status = 'missing' }) end
current = tonumber(current)
if current >= version then return cjson.encode({ status = 'stale', version = current }) end
if current < version - 1 then return cjson.encode({ status = 'gap', version = current }) end

local function head()
  local out = {}
  local ids = redis.call('ZRANGE', zKey, 0, headSize - 1)
  for i, id in ipairs(ids) do
    local entry = cjson.decode(redis.call('HGET', eKey, id))
    out[i] = { appointmentId = id, serial = entry.serial, position = i - 1 }
  end
  return out
end

local function conflict(reason)
  redis.call('DEL', mKey, zKey, eKey, cKey, sKey)
  return cjson.encode({ status = 'conflict', reason = reason })
end

local function samplesOf(text)
  local out = {}
  if text then
    for n in string.gmatch(text, '[^,]+') do out[#out + 1] = tonumber(n) end
  end
  return out
end

local headBefore = head()
local touched = {}
local last = {}
local ops = cjson.decode(ARGV[4])

for _, op in ipairs(ops) do
  local kind = op.op
  if kind == 'meta' then
    for field, value in pairs(op.patch) do
      if value == cjson.null then redis.call('HDEL', mKey, field) else redis.call('HSET', mKey, field, value) end
    end
    -- pausedAt only means something while paused: any other status clears it.
    if op.patch.status ~= nil and op.patch.status ~= 'paused' then redis.call('HDEL', mKey, 'pausedAt') end
  elseif kind == 'add' then
    if redis.call('HEXISTS', eKey, op.id) == 1 then return conflict('entry ' .. op.id .. ' already in the queue') end
    local entry = cjson.decode(op.json)
    -- Fairness baseline: out-of-order calls so far; those after this point were made ahead of this entry.
    entry.outOfOrderBase = tonumber(redis.call('HGET', mKey, 'outOfOrder') or '0')
    redis.call('HSET', eKey, op.id, cjson.encode(entry))
    redis.call('ZADD', zKey, op.score, op.id)
    if not last[op.id] then touched[#touched + 1] = op.id end
    last[op.id] = entry
  else
    local raw = redis.call('HGET', eKey, op.id)
    if not raw then return conflict('entry ' .. op.id .. ' not in the queue') end
    local entry = cjson.decode(raw)
    if kind == 'remove' then
      redis.call('HDEL', eKey, op.id)
      redis.call('ZREM', zKey, op.id)
      redis.call('ZREM', cKey, op.id)
      redis.call('ZREM', sKey, op.id)
      if op.consultSeconds then
        local samples = samplesOf(redis.call('HGET', mKey, 'samples'))
        samples[#samples + 1] = op.consultSeconds
        local from = math.max(1, #samples - CONSULT_SAMPLES + 1)
        local kept = {}
        for i = from, #samples do kept[#kept + 1] = string.format('%d', samples[i]) end
        redis.call('HSET', mKey, 'samples', table.concat(kept, ','))
      end
    elseif kind == 'stage' then
      entry.stage = op.stage
    elseif kind == 'call' then
      if entry.status == 'called' then return conflict('entry ' .. op.id .. ' is already called') end
      redis.call('ZREM', zKey, op.id)
      redis.call('ZREM', sKey, op.id)
      redis.call('ZADD', cKey, entry.serial, op.id)
      entry.status = 'called'
      redis.call('HSET', mKey, 'nowServing', entry.serial)
      if op.outOfOrder then
        redis.call('HINCRBY', mKey, 'outOfOrder', 1)
        entry.outOfOrderBase = (tonumber(entry.outOfOrderBase) or 0) + 1
      end
    elseif kind == 'skip' then
      if entry.status ~= 'called' then return conflict('entry ' .. op.id .. ' is ' .. entry.status .. ', not called') end
      redis.call('ZREM', cKey, op.id)
      redis.call('ZADD', sKey, entry.serial, op.id)
      entry.status = 'skipped'
    elseif kind == 'recall' then
      if entry.status ~= 'skipped' then return conflict('entry ' .. op.id .. ' is ' .. entry.status .. ', not skipped') end
      redis.call('ZREM', sKey, op.id)
      entry.status = 'waiting'
      entry.positionKey = op.positionKey
      local score = -entry.priority * PRIORITY_SPAN + tonumber(op.positionKey)
      redis.call('ZADD', zKey, string.format('%.17g', score), op.id)
    else
      return conflict('unknown op ' .. tostring(kind))
    end
    if kind ~= 'remove' then redis.call('HSET', eKey, op.id, cjson.encode(entry)) end
    if not last[op.id] then touched[#touched + 1] = op.id end
    last[op.id] = entry
  end
end

redis.call('HSET', mKey, 'version', ARGV[1])

local effects = {}
for i, id in ipairs(touched) do
  local entry = last[id]
  local effect = { appointmentId = id, serial = entry.serial, stage = entry.stage, position = cjson.null }
  if redis.call('HEXISTS', eKey, id) == 0 then
    effect.status = 'removed'
  else
    effect.status = entry.status
    if entry.status == 'waiting' then
      local rank = redis.call('ZRANK', zKey, id)
      effect.position = rank
      if rank == 0 then
        effect.after = cjson.null
      else
        local prev = redis.call('ZRANGE', zKey, rank - 1, rank - 1)[1]
        effect.after = cjson.decode(redis.call('HGET', eKey, prev)).serial
      end
    end
  end
  effects[i] = effect
end

for _, key in ipairs(KEYS) do redis.call('EXPIRE', key, ttl) end

return cjson.encode({
  status = 'applied',
  meta = redis.call('HGETALL', mKey),
  waiting = redis.call('ZCARD', zKey),
  entries = effects,
  headBefore = headBefore,
  head = head(),
})
