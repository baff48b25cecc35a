//! The Lua scripts, one per store operation. Their text is a storage and fencing contract
//! (each fenced one checks `KEYS[1]`, the room's lease, against `ARGV[1]`, this node's
//! `node|epoch`, before anything else: `store.rs` passes both). The scripts that change a
//! room (create, append, delete) also queue the webhook deliveries the change caused, in the
//! same script: each gets the next `hookseq` number and goes into its endpoint's sorted set,
//! scored by it, as `id|created|body`.

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
-- KEYS: lease, room, rooms, incarnation, hookseq, hooks...;
-- ARGV: node|epoch, snapshot, room id, incarnation, delivery... (one per hooks key)
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if tonumber(redis.call('GET', KEYS[4]) or '0') + 1 ~= tonumber(ARGV[4]) then return -3 end
redis.call('SET', KEYS[4], ARGV[4])
redis.call('HSET', KEYS[2], 'base', ARGV[2], 'base_seq', 0, 'log_seq', 0)
redis.call('SADD', KEYS[3], ARGV[3])
for i = 6, #KEYS do
  local id = redis.call('INCR', KEYS[5])
  redis.call('ZADD', KEYS[i], id, id .. '|' .. ARGV[i - 1])
end
return 1
"#;

const APPEND: &str = r#"
-- KEYS: lease, room, log, room channel, hookseq, hooks...;
-- ARGV: node|epoch, seq, entry json, notice json, delivery... (one per hooks key)
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local last = tonumber(redis.call('HGET', KEYS[2], 'log_seq') or '-1')
if last + 1 ~= tonumber(ARGV[2]) then return -2 end
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[2], 'log_seq', ARGV[2])
for i = 6, #KEYS do
  local id = redis.call('INCR', KEYS[5])
  redis.call('ZADD', KEYS[i], id, id .. '|' .. ARGV[i - 1])
end
redis.call('PUBLISH', KEYS[4], ARGV[4])
return 1
"#;

const DELETE: &str = r#"
-- KEYS: lease, room, log, rooms, room channel, hookseq, base and checkpoint snapshot keys,
-- hooks...; ARGV: node|epoch, room id, notice json, delivery... (one per hooks key)
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
-- UNLINK: a large room's log and snapshots are freed off Redis's main thread.
redis.call('UNLINK', KEYS[2], KEYS[3], KEYS[7], KEYS[8])
redis.call('SREM', KEYS[4], ARGV[2])
for i = 9, #KEYS do
  local id = redis.call('INCR', KEYS[6])
  redis.call('ZADD', KEYS[i], id, id .. '|' .. ARGV[i - 5])
end
redis.call('PUBLISH', KEYS[5], ARGV[3])
return 1
"#;

const SNAP_PUT: &str = r#"
-- KEYS: lease, room, snapshot key; ARGV: node|epoch, seq, chunk index, chunk
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local h = redis.call('HMGET', KEYS[2], 'base_seq', 'checkpoint_seq')
-- The room is gone, or this snapshot is the base or checkpoint already: never rewrite those.
if not h[1] or h[1] == ARGV[2] or h[2] == ARGV[2] then return 0 end
if ARGV[3] == '0' then redis.call('UNLINK', KEYS[3]) end
redis.call('RPUSH', KEYS[3], ARGV[4])
return 1
"#;

const COMPACT: &str = r#"
-- KEYS: lease, room, new snapshot key, old base's snapshot key;
-- ARGV: node|epoch, seq, chunks, old base seq
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
if redis.call('LLEN', KEYS[3]) ~= tonumber(ARGV[3]) then return -4 end
local h = redis.call('HMGET', KEYS[2], 'base', 'base_seq', 'checkpoint', 'checkpoint_seq')
if h[2] ~= ARGV[4] then return -2 end
if h[4] and h[4] ~= h[2] then
  -- The checkpoint becomes the base; the old base goes (UNLINK frees it off the main thread).
  redis.call('UNLINK', KEYS[4])
  if h[3] then
    redis.call('HSET', KEYS[2], 'base', h[3])
  else
    redis.call('HDEL', KEYS[2], 'base')
  end
  redis.call('HSET', KEYS[2], 'base_seq', h[4])
end
redis.call('HDEL', KEYS[2], 'checkpoint')
redis.call('HSET', KEYS[2], 'checkpoint_seq', ARGV[2])
return tonumber(redis.call('HGET', KEYS[2], 'base_seq'))
"#;

const TRIM: &str = r#"
-- KEYS: lease, log; ARGV: node|epoch, last seq to drop, most entries to drop
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if #first == 0 or tonumber(first[2]) > tonumber(ARGV[2]) then return 0 end
local upto = math.min(tonumber(ARGV[2]), tonumber(first[2]) + tonumber(ARGV[3]) - 1)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', upto)
return 1
"#;

const HOOK_TURN: &str = r#"
-- KEYS: delivery lease; ARGV: node, ttl ms
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if cur then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"#;

const HOOK_RELEASE: &str = r#"
-- KEYS: delivery lease; ARGV: node
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
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
    pub(super) snap_put: redis::Script,
    pub(super) compact: redis::Script,
    pub(super) trim: redis::Script,
    pub(super) hook_turn: redis::Script,
    pub(super) hook_release: redis::Script,
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
            snap_put: redis::Script::new(SNAP_PUT),
            compact: redis::Script::new(COMPACT),
            trim: redis::Script::new(TRIM),
            hook_turn: redis::Script::new(HOOK_TURN),
            hook_release: redis::Script::new(HOOK_RELEASE),
        }
    }
}
