//! The Lua scripts run in Redis. Each touches one key, or keys that share a hash tag, so each
//! runs whole on the node that holds them, in a cluster too.

/// Adds to a counter unless that would take it past a limit (ARGV[3], when given), and gives a
/// new counter its time to live (any Redis version). Returns the count and whether it was added.
pub const COUNT_SCRIPT: &str = r"
local v = tonumber(redis.call('GET', KEYS[1]) or '0')
if ARGV[3] and v + tonumber(ARGV[1]) > tonumber(ARGV[3]) then return {v, 0} end
v = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {v, 1}
";

/// Drops lapsed leases, then takes one when fewer than the limit are held. Times come from the
/// server's clock, so instances with skewed clocks agree.
pub const LEASE_SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0
";

/// Pushes a held lease's lapse `ttl` on from now; whether it was still held.
pub const RENEW_SCRIPT: &str = r"
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
";

/// Deletes the lock only if it still holds our token.
pub const RELEASE_SCRIPT: &str =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/// Sets a field of a hash (KEYS[1]) and notes, in a second hash (KEYS[2]), when — by the
/// server's clock; drops the fields not set for ARGV[3] milliseconds and lets both hashes lapse
/// after that long, so ids that stop being set never pile up. Returns the time in milliseconds.
pub const STAMP_SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], now)
local seen = redis.call('HGETALL', KEYS[2])
for i = 1, #seen, 2 do
  if tonumber(seen[i + 1]) < now - tonumber(ARGV[3]) then
    redis.call('HDEL', KEYS[1], seen[i])
    redis.call('HDEL', KEYS[2], seen[i])
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return now
";

/// Adds a numbered batch to hashes, once: KEYS[1] holds the last number applied from this
/// sender (ARGV[1] the batch's number, ARGV[2] how long to remember it); KEYS[2..] are the
/// hashes, and for each, in ARGV from 3: its time to live in ms (0: none), its field count, then
/// field and amount pairs. Returns 1 when applied, 0 when that number already was.
pub const ADD_ONCE_SCRIPT: &str = r"
local seq = tonumber(ARGV[1])
if seq <= tonumber(redis.call('GET', KEYS[1]) or '0') then return 0 end
redis.call('SET', KEYS[1], seq, 'PX', ARGV[2])
local i = 3
for k = 2, #KEYS do
  local ttl, n = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  i = i + 2
  for _ = 1, n do
    redis.call('HINCRBY', KEYS[k], ARGV[i], ARGV[i + 1])
    i = i + 2
  end
  if ttl > 0 and n > 0 then redis.call('PEXPIRE', KEYS[k], ttl) end
end
return 1
";

/// Reads the fields `STAMP_SCRIPT` set, dropping those not set for ARGV[1] milliseconds:
/// `{now, field, set at, value, field, set at, value, …}`.
pub const STAMPS_SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local seen = redis.call('HGETALL', KEYS[2])
local out = {now}
for i = 1, #seen, 2 do
  local field, at = seen[i], tonumber(seen[i + 1])
  if at < now - tonumber(ARGV[1]) then
    redis.call('HDEL', KEYS[1], field)
    redis.call('HDEL', KEYS[2], field)
  else
    local value = redis.call('HGET', KEYS[1], field)
    if value then
      out[#out + 1] = field
      out[#out + 1] = at
      out[#out + 1] = value
    end
  end
end
return out
";

/// Gives a lock still holding our token `ttl` more; whether it did.
pub const RENEW_LOCK_SCRIPT: &str = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
