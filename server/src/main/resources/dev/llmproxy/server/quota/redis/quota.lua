-- llmproxy quota: one subject's token buckets and concurrency slots, changed atomically.
--
-- Redis runs a script without interleaving any other command, so every replica's acquire is all
-- or nothing against the same state: no interleaving admits more than a limit, and a call that is
-- refused takes nothing. One round trip per call, no retries under contention.
--
-- KEYS[1]  hash: r, t = levels of the request and token buckets in token-milliseconds (tokens
--          times the window in ms, so a refill of `cap` per ms is exact integer arithmetic in
--          Lua's doubles up to 2^53); ts = the time of those levels, in ms since the epoch
-- KEYS[2]  sorted set of concurrency slots: member = slot id, score = lease expiry in ms
-- ARGV     1 op ('acquire' | 'release'), 2 now ms, 3 window ms, 4 request capacity,
--          5 token capacity, 6 max concurrent (each 0: no limit), 7 acquire: tokens for the call;
--          release: tokens to give back (negative: to charge), 8 slot id ('' for none),
--          9 acquire: slot lease ms; release: 1 to give back the request
--
-- acquire returns {admitted 0|1, requests left, tokens left, ms until a request is available,
--   ms until the call's tokens are available (-1: never, the call exceeds the capacity),
--   1 if every concurrency slot is taken}
-- release returns 1
local op = ARGV[1]
local now = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local reqCap = tonumber(ARGV[4])
local tokCap = tonumber(ARGV[5])
local maxConc = tonumber(ARGV[6])
local amount = tonumber(ARGV[7])
local slot = ARGV[8]

if op == 'release' then
  if slot ~= '' then redis.call('ZREM', KEYS[2], slot) end
  local refundsRequest = reqCap > 0 and ARGV[9] == '1'
  if not refundsRequest and (tokCap == 0 or amount == 0) then return 1 end
end

local state = redis.call('HMGET', KEYS[1], 'r', 't', 'ts')
local ts = tonumber(state[3]) or now
-- Replicas' clocks may disagree: a bucket's time never runs backwards.
if now < ts then now = ts end
local elapsed = now - ts

local function refilled(level, cap)
  local full = cap * window
  if level == nil then return full end
  level = level + elapsed * cap
  if level > full then return full end
  return level
end

local r = 0
local t = 0
if reqCap > 0 then r = refilled(tonumber(state[1]), reqCap) end
if tokCap > 0 then t = refilled(tonumber(state[2]), tokCap) end

local function save()
  if reqCap == 0 and tokCap == 0 then return end
  local ttl = 1
  if reqCap > 0 then ttl = math.max(ttl, math.ceil((reqCap * window - r) / reqCap)) end
  if tokCap > 0 then ttl = math.max(ttl, math.ceil((tokCap * window - t) / tokCap)) end
  redis.call('HSET', KEYS[1], 'r', string.format('%.0f', r), 't', string.format('%.0f', t),
    'ts', string.format('%.0f', now))
  -- A bucket left alone refills completely in `ttl`; after that, no state means full.
  redis.call('PEXPIRE', KEYS[1], ttl + 1000)
end

if op == 'release' then
  if reqCap > 0 and ARGV[9] == '1' then
    r = math.min(reqCap * window, r + window)
  end
  if tokCap > 0 and amount ~= 0 then
    t = math.min(tokCap * window, t + amount * window)
  end
  save()
  return 1
end

local reqWait = 0
local tokWait = 0
local concFull = 0
if reqCap > 0 and r < window then
  reqWait = math.ceil((window - r) / reqCap)
end
if tokCap > 0 and amount > 0 then
  if amount > tokCap then
    tokWait = -1
  elseif t < amount * window then
    tokWait = math.ceil((amount * window - t) / tokCap)
  end
end
if maxConc > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if redis.call('ZCARD', KEYS[2]) >= maxConc then concFull = 1 end
end

local admitted = 0
if reqWait == 0 and tokWait == 0 and concFull == 0 then
  admitted = 1
  if reqCap > 0 then r = r - window end
  if tokCap > 0 then t = t - amount * window end
  if maxConc > 0 then
    local lease = tonumber(ARGV[9])
    redis.call('ZADD', KEYS[2], now + lease, slot)
    redis.call('PEXPIRE', KEYS[2], lease)
  end
  save()
end
return {admitted, math.floor(r / window), math.floor(t / window), reqWait, tokWait, concFull}
