//! The Lua scripts, one per store operation. Their text is a storage and fencing contract
//! (each fenced one checks `KEYS[1]`, the room's lease, against `ARGV[1]`, this node's
//! `node|epoch`, before anything else: `store.rs` passes both).

const ACQUIRE: &str = r#"
-- KEYS: lease, epoch, room channel; ARGV: node, ttl ms, epoch floor
local cur = redis.call('GET', KEYS[1])
if cur then
  local owner, ep = string.match(cur, '^(.*)|(%d+)$')
  if owner == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return tonumber(ep)
  end
  return -1
end
local epoch = redis.call('INCR', KEYS[2])
-- Never below an epoch this node saw (Redis may have lost the counter).
if epoch <= tonumber(ARGV[3]) then
  epoch = tonumber(ARGV[3]) + 1
  redis.call('SET', KEYS[2], epoch)
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. epoch, 'PX', ARGV[2])
redis.call('PUBLISH', KEYS[3], cjson.encode({k = 'leader', node = ARGV[1], epoch = epoch}))
return epoch
"#;

const RENEW: &str = r#"
-- KEYS: lease; ARGV: node|epoch, ttl ms
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"#;

const REASSERT: &str = r#"
-- KEYS: lease, room channel; ARGV: node|epoch, ttl ms, node, epoch
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  redis.call('PUBLISH', KEYS[2], cjson.encode({k = 'leader', node = ARGV[3], epoch = tonumber(ARGV[4])}))
  return 1
end
return 0
"#;

const RELEASE: &str = r#"
-- KEYS: lease, room channel; ARGV: node|epoch, node
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', KEYS[2], cjson.encode({k = 'released', node = ARGV[2]}))
  return 1
end
return 0
"#;

const CREATE: &str = r#"
-- KEYS: lease, room, rooms; ARGV: node|epoch, snapshot, room id
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[2], 'base', ARGV[2], 'base_seq', 0, 'log_seq', 0)
redis.call('SADD', KEYS[3], ARGV[3])
return 1
"#;

const APPEND: &str = r#"
-- KEYS: lease, room, log, room channel; ARGV: node|epoch, seq, entry json, notice json
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local last = tonumber(redis.call('HGET', KEYS[2], 'log_seq') or '-1')
if last + 1 ~= tonumber(ARGV[2]) then return -2 end
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[2], 'log_seq', ARGV[2])
redis.call('PUBLISH', KEYS[4], ARGV[4])
return 1
"#;

const DELETE: &str = r#"
-- KEYS: lease, room, log, rooms, room channel; ARGV: node|epoch, room id, notice json
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('SREM', KEYS[4], ARGV[2])
redis.call('PUBLISH', KEYS[5], ARGV[3])
return 1
"#;

const COMPACT: &str = r#"
-- KEYS: lease, room, log; ARGV: node|epoch, seq, snapshot
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local cp = redis.call('HGET', KEYS[2], 'checkpoint')
if cp then
  redis.call('HSET', KEYS[2], 'base', cp, 'base_seq', redis.call('HGET', KEYS[2], 'checkpoint_seq'))
end
redis.call('HSET', KEYS[2], 'checkpoint', ARGV[3], 'checkpoint_seq', ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', redis.call('HGET', KEYS[2], 'base_seq'))
return 1
"#;

const LOAD: &str = r#"
-- KEYS: room, log
local h = redis.call('HMGET', KEYS[1], 'base', 'base_seq', 'checkpoint_seq')
if not h[1] then return {} end
local base_seq = tonumber(h[2])
local cp = h[3] or h[2]
local out = {h[1], h[2], cp}
local log = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. base_seq, '+inf')
for i = 1, #log do out[#out + 1] = log[i] end
return out
"#;

/// Every script, hashed once.
pub(super) struct Scripts {
    pub(super) acquire: redis::Script,
    pub(super) renew: redis::Script,
    pub(super) reassert: redis::Script,
    pub(super) release: redis::Script,
    pub(super) create: redis::Script,
    pub(super) append: redis::Script,
    pub(super) delete: redis::Script,
    pub(super) compact: redis::Script,
    pub(super) load: redis::Script,
}

impl Scripts {
    pub(super) fn new() -> Self {
        Scripts {
            acquire: redis::Script::new(ACQUIRE),
            renew: redis::Script::new(RENEW),
            reassert: redis::Script::new(REASSERT),
            release: redis::Script::new(RELEASE),
            create: redis::Script::new(CREATE),
            append: redis::Script::new(APPEND),
            delete: redis::Script::new(DELETE),
            compact: redis::Script::new(COMPACT),
            load: redis::Script::new(LOAD),
        }
    }
}
