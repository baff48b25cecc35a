//! The Redis backend for cluster mode: the same event-sourced layout as SQLite (a base
//! snapshot, a checkpoint and the input log), plus room ownership leases with a fencing epoch.
//!
//! Every write is one Lua script that first checks that this node still holds the room's lease
//! *with the epoch it acquired*; a node that lost its lease (paused past it, partitioned) can
//! never write again, even if it has not noticed yet. The append script also publishes the
//! entry on the room's change channel, so a change is published exactly once, and only if it
//! was stored.
//!
//! Keys, under a prefix `P` (default `coguest`):
//!
//! | key | type | what |
//! |---|---|---|
//! | `P:room:{id}` | hash | `base`, `base_seq`, `checkpoint`, `checkpoint_seq`, `log_seq` |
//! | `P:log:{id}` | sorted set | log entries (JSON) scored by their sequence number |
//! | `P:rooms` | set | every room id |
//! | `P:lease:{id}` | string with TTL | `node|epoch` of the owner |
//! | `P:epoch:{id}` | counter | the last epoch handed out |
//! | `P:node:{node}` | string with TTL | a live node's address (heartbeat) |
//! | `P:nodes` | set | every node id seen |
//!
//! Channels: `P:ch:room:{id}` (stored changes and ownership notices), `P:ch:cmd:{id}`
//! (commands for the room's owner), `P:ch:node:{node}` (answers to a node's connections).

use super::{LogEntry, LogInput, RoomStore, StoreError, StoredRoom, TIMEOUT_MARKER};
use async_trait::async_trait;
use coguest_core::{Command, RoomId, RoomSnapshot, Timestamp, UserId};
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Key and channel names under one prefix.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Names under `prefix`.
    pub fn new(prefix: &str) -> Self {
        Keys {
            prefix: prefix.to_owned(),
        }
    }
    /// The room hash.
    pub fn room(&self, room: &str) -> String {
        format!("{}:room:{room}", self.prefix)
    }
    /// The room's log.
    pub fn log(&self, room: &str) -> String {
        format!("{}:log:{room}", self.prefix)
    }
    /// The set of room ids.
    pub fn rooms(&self) -> String {
        format!("{}:rooms", self.prefix)
    }
    /// The room's lease.
    pub fn lease(&self, room: &str) -> String {
        format!("{}:lease:{room}", self.prefix)
    }
    /// The room's epoch counter.
    pub fn epoch(&self, room: &str) -> String {
        format!("{}:epoch:{room}", self.prefix)
    }
    /// A node's heartbeat.
    pub fn node(&self, node: &str) -> String {
        format!("{}:node:{node}", self.prefix)
    }
    /// The set of node ids.
    pub fn nodes(&self) -> String {
        format!("{}:nodes", self.prefix)
    }
    /// The room's change channel.
    pub fn room_channel(&self, room: &str) -> String {
        format!("{}:ch:room:{room}", self.prefix)
    }
    /// The room's command channel (its owner listens).
    pub fn cmd_channel(&self, room: &str) -> String {
        format!("{}:ch:cmd:{room}", self.prefix)
    }
    /// A node's answer channel.
    pub fn node_channel(&self, node: &str) -> String {
        format!("{}:ch:node:{node}", self.prefix)
    }
    /// The prefix of room channels (to recognise them).
    pub fn room_channel_prefix(&self) -> String {
        format!("{}:ch:room:", self.prefix)
    }
    /// The prefix of command channels.
    pub fn cmd_channel_prefix(&self) -> String {
        format!("{}:ch:cmd:", self.prefix)
    }
}

/// One log entry as stored in Redis and published on the room channel.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WireEntry {
    /// Sequence number.
    pub seq: u64,
    /// Unix ms it was applied with.
    pub at: u64,
    /// The member, `None` for a timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The command (JSON of the core command) or the timeout marker.
    pub command: serde_json::Value,
    /// Client request id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    /// Published only (never stored): the answer to the command, when it came from a
    /// connection on another node. It travels with the entry so that node sends it right after
    /// the entry's outputs and before any later entry's: published on its own it could arrive
    /// after the next entry, and the member would see the room's version go backwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<EntryAnswer>,
}

/// A forwarded command's answer, carried by its entry (see [`WireEntry::answer`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EntryAnswer {
    /// The node of the connection.
    pub node: String,
    /// The connection (ids are per node).
    pub conn: u64,
    /// The answer frame.
    pub text: String,
}

impl WireEntry {
    /// Encodes a log entry.
    pub fn from_entry(e: &LogEntry) -> Result<Self, StoreError> {
        let (actor, command) = match &e.input {
            LogInput::Timeout => (None, serde_json::Value::String(TIMEOUT_MARKER.into())),
            LogInput::Command { actor, command } => (
                Some(actor.to_string()),
                serde_json::to_value(command).map_err(|e| StoreError::Backend(e.to_string()))?,
            ),
        };
        Ok(WireEntry {
            seq: e.seq,
            at: e.at.as_millis(),
            actor,
            command,
            req: e.client_req_id,
            answer: None,
        })
    }

    /// Decodes into a log entry.
    pub fn to_entry(&self) -> Result<LogEntry, StoreError> {
        let input = match &self.actor {
            None => LogInput::Timeout,
            Some(actor) => LogInput::Command {
                actor: UserId::from(actor.as_str()),
                command: serde_json::from_value::<Command>(self.command.clone())
                    .map_err(|e| StoreError::Corrupt(format!("log entry {}: {e}", self.seq)))?,
            },
        };
        Ok(LogEntry {
            seq: self.seq,
            at: Timestamp::from_millis(self.at),
            input,
            client_req_id: self.req,
        })
    }
}

/// What is published on a room channel.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
pub enum RoomNotice {
    /// A stored log entry.
    Entry(WireEntry),
    /// A node became the owner (or, after resubscribing, is still it).
    Leader {
        /// The owner.
        node: String,
        /// Its epoch.
        epoch: u64,
    },
    /// The owner gave the room up (shutdown).
    Released {
        /// The node that let go.
        node: String,
    },
    /// The room was closed and deleted (published by the delete itself, so every node with
    /// members tells them and stops its copy).
    Closed,
}

const ACQUIRE: &str = r#"
-- KEYS: lease, epoch, room channel; ARGV: node, ttl ms
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

/// The result of trying to own a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acquired {
    /// This node owns the room with this epoch.
    Owner(u64),
    /// Another node holds the lease.
    Taken,
}

/// A [`RoomStore`] on Redis whose writes are fenced by this node's room leases.
pub struct RedisStore {
    conn: ConnectionManager,
    keys: Keys,
    node: String,
    lease_ms: u64,
    /// Epochs of the leases this node holds, by room.
    held: Mutex<HashMap<RoomId, u64>>,
    scripts: Arc<Scripts>,
}

struct Scripts {
    acquire: redis::Script,
    renew: redis::Script,
    reassert: redis::Script,
    release: redis::Script,
    create: redis::Script,
    append: redis::Script,
    delete: redis::Script,
    compact: redis::Script,
    load: redis::Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedisStore {{ node: {} }}", self.node)
    }
}

pub(crate) fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// A failed Redis call as a store error: one that Redis did not answer in time is
/// [`StoreError::Unanswered`], since Redis may still carry it out.
fn redis_error(e: redis::RedisError) -> StoreError {
    if e.is_timeout() {
        StoreError::Unanswered(e.to_string())
    } else {
        StoreError::Backend(e.to_string())
    }
}

/// How long a store call waits for Redis: one lease (at least 500 ms). Longer is pointless
/// (by then the room may have another owner, whose epoch fences this node's writes); the
/// client's default 500 ms failed a large room's calls on a busy Redis.
pub fn response_timeout(lease_ms: u64) -> std::time::Duration {
    std::time::Duration::from_millis(lease_ms.max(500))
}

impl RedisStore {
    /// Connects (with automatic reconnection) to `url`.
    ///
    /// A call waits for Redis up to one lease ([`response_timeout`]), not the client's default
    /// 500 ms: the scripts of a large room (a compaction carries the whole snapshot, ~10 MB at
    /// 100,000 members) and the calls queued behind them in Redis took longer than that under
    /// load, and an append that times out is answered `FAILED` although Redis may still run it.
    pub async fn connect(
        url: &str,
        prefix: &str,
        node: &str,
        lease_ms: u64,
    ) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(backend)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_response_timeout(Some(response_timeout(lease_ms)));
        let conn = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(backend)?;
        Ok(RedisStore {
            conn,
            keys: Keys::new(prefix),
            node: node.to_owned(),
            lease_ms,
            held: Mutex::new(HashMap::new()),
            scripts: Arc::new(Scripts {
                acquire: redis::Script::new(ACQUIRE),
                renew: redis::Script::new(RENEW),
                reassert: redis::Script::new(REASSERT),
                release: redis::Script::new(RELEASE),
                create: redis::Script::new(CREATE),
                append: redis::Script::new(APPEND),
                delete: redis::Script::new(DELETE),
                compact: redis::Script::new(COMPACT),
                load: redis::Script::new(LOAD),
            }),
        })
    }

    /// The key names.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// A connection for other commands (cheap clone, shared).
    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// This node's id.
    pub fn node(&self) -> &str {
        &self.node
    }

    fn token(&self, epoch: u64) -> String {
        format!("{}|{epoch}", self.node)
    }

    fn held(&self, room: &RoomId) -> Option<u64> {
        self.held.lock().ok()?.get(room).copied()
    }

    /// The epoch this node believes it holds for `room`.
    pub fn held_epoch(&self, room: &RoomId) -> Option<u64> {
        self.held(room)
    }

    /// Forgets the lease locally (after losing it); later writes for the room are refused.
    pub fn forget(&self, room: &RoomId) {
        if let Ok(mut h) = self.held.lock() {
            h.remove(room);
        }
    }

    /// Tries to own `room` (or confirms that this node owns it).
    pub async fn acquire(&self, room: &RoomId) -> Result<Acquired, StoreError> {
        let r = room.as_str();
        let mut conn = self.conn.clone();
        let got: i64 = self
            .scripts
            .acquire
            .key(self.keys.lease(r))
            .key(self.keys.epoch(r))
            .key(self.keys.room_channel(r))
            .arg(&self.node)
            .arg(self.lease_ms)
            .invoke_async(&mut conn)
            .await
            .map_err(redis_error)?;
        match u64::try_from(got) {
            Ok(epoch) if epoch > 0 => {
                if let Ok(mut h) = self.held.lock() {
                    h.insert(room.clone(), epoch);
                }
                Ok(Acquired::Owner(epoch))
            }
            _ => Ok(Acquired::Taken),
        }
    }

    /// Extends this node's lease on `room`; `Ok(false)` when it is lost.
    pub async fn renew(&self, room: &RoomId) -> Result<bool, StoreError> {
        let Some(epoch) = self.held(room) else {
            return Ok(false);
        };
        let mut conn = self.conn.clone();
        let ok: i64 = self
            .scripts
            .renew
            .key(self.keys.lease(room.as_str()))
            .arg(self.token(epoch))
            .arg(self.lease_ms)
            .invoke_async(&mut conn)
            .await
            .map_err(redis_error)?;
        if ok != 1 {
            self.forget(room);
        }
        Ok(ok == 1)
    }

    /// Renews this node's lease on `room` and announces it again as the owner (a
    /// [`RoomNotice::Leader`], fenced like every write), so that nodes whose messages it may
    /// have missed send them again. `Ok(false)` when the lease is lost.
    pub async fn reassert(&self, room: &RoomId) -> Result<bool, StoreError> {
        let Some(epoch) = self.held(room) else {
            return Ok(false);
        };
        let r = room.as_str();
        let mut conn = self.conn.clone();
        let ok: i64 = self
            .scripts
            .reassert
            .key(self.keys.lease(r))
            .key(self.keys.room_channel(r))
            .arg(self.token(epoch))
            .arg(self.lease_ms)
            .arg(&self.node)
            .arg(epoch)
            .invoke_async(&mut conn)
            .await
            .map_err(redis_error)?;
        if ok != 1 {
            self.forget(room);
        }
        Ok(ok == 1)
    }

    /// The sequence number of `room`'s last stored log entry; `None` when the room is not
    /// stored (deleted).
    pub async fn log_seq(&self, room: &RoomId) -> Result<Option<u64>, StoreError> {
        let mut conn = self.conn.clone();
        let v: Option<String> = redis::cmd("HGET")
            .arg(self.keys.room(room.as_str()))
            .arg("log_seq")
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        v.map(|v| {
            v.parse()
                .map_err(|_| StoreError::Corrupt(format!("room {room}: log_seq {v:?}")))
        })
        .transpose()
    }

    /// Gives `room` up (graceful shutdown), so another node can take it at once.
    pub async fn release(&self, room: &RoomId) -> Result<(), StoreError> {
        let Some(epoch) = self.held(room) else {
            return Ok(());
        };
        self.forget(room);
        let r = room.as_str();
        let mut conn = self.conn.clone();
        let _: i64 = self
            .scripts
            .release
            .key(self.keys.lease(r))
            .key(self.keys.room_channel(r))
            .arg(self.token(epoch))
            .arg(&self.node)
            .invoke_async(&mut conn)
            .await
            .map_err(redis_error)?;
        Ok(())
    }

    /// Appends an entry (fenced) and publishes it on the room's channel, in one script; with
    /// `answer`, the published notice (not the stored entry) carries the answer to the command
    /// for its connection on another node.
    pub async fn append_answering(
        &self,
        room: &RoomId,
        entry: &LogEntry,
        answer: Option<EntryAnswer>,
    ) -> Result<(), StoreError> {
        let token = self.fenced(room)?;
        let r = room.as_str();
        let mut wire = WireEntry::from_entry(entry)?;
        let json = serde_json::to_string(&wire).map_err(backend)?;
        wire.answer = answer;
        let notice = serde_json::to_string(&RoomNotice::Entry(wire)).map_err(backend)?;
        let mut conn = self.conn.clone();
        let code: i64 = self
            .scripts
            .append
            .key(self.keys.lease(r))
            .key(self.keys.room(r))
            .key(self.keys.log(r))
            .key(self.keys.room_channel(r))
            .arg(token)
            .arg(entry.seq)
            .arg(json)
            .arg(notice)
            .invoke_async(&mut conn)
            .await
            .map_err(redis_error)?;
        check(code, room)
    }

    /// The current owner of `room`: `(node, epoch)`.
    pub async fn owner(&self, room: &RoomId) -> Result<Option<(String, u64)>, StoreError> {
        let mut conn = self.conn.clone();
        let v: Option<String> = redis::cmd("GET")
            .arg(self.keys.lease(room.as_str()))
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        Ok(v.and_then(|v| parse_lease(&v)))
    }

    fn fenced(&self, room: &RoomId) -> Result<String, StoreError> {
        self.held(room)
            .map(|e| self.token(e))
            .ok_or_else(|| StoreError::Fenced(format!("room {room} is not owned by this node")))
    }
}

/// Parses a lease value `node|epoch`.
pub fn parse_lease(v: &str) -> Option<(String, u64)> {
    let (node, epoch) = v.rsplit_once('|')?;
    Some((node.to_owned(), epoch.parse().ok()?))
}

fn check(code: i64, room: &RoomId) -> Result<(), StoreError> {
    match code {
        -1 => Err(StoreError::Fenced(format!(
            "room {room}: this node's lease is gone"
        ))),
        -2 => Err(StoreError::Fenced(format!(
            "room {room}: the log moved on under this node"
        ))),
        _ => Ok(()),
    }
}

#[async_trait]
impl RoomStore for RedisStore {
    async fn room_ids(&self) -> Result<Vec<RoomId>, StoreError> {
        // In cluster mode rooms are opened on demand, not all at start.
        Ok(Vec::new())
    }

    async fn load(&self, room: &RoomId) -> Result<Option<StoredRoom>, StoreError> {
        let r = room.as_str();
        let mut conn = self.conn.clone();
        let raw: Vec<String> = self
            .scripts
            .load
            .key(self.keys.room(r))
            .key(self.keys.log(r))
            .invoke_async(&mut conn)
            .await
            .map_err(redis_error)?;
        if raw.is_empty() {
            return Ok(None);
        }
        let corrupt = |w: String| StoreError::Corrupt(format!("room {room}: {w}"));
        if raw.len() < 3 {
            return Err(corrupt("short room record".into()));
        }
        let base: RoomSnapshot =
            serde_json::from_str(&raw[0]).map_err(|e| corrupt(format!("snapshot: {e}")))?;
        let base_seq: u64 = raw[1].parse().map_err(|_| corrupt("base_seq".into()))?;
        let checkpoint_seq: u64 = raw[2].parse().map_err(|_| corrupt("checkpoint".into()))?;
        let mut log = Vec::with_capacity(raw.len() - 3);
        for text in &raw[3..] {
            let w: WireEntry =
                serde_json::from_str(text).map_err(|e| corrupt(format!("log entry: {e}")))?;
            log.push(w.to_entry()?);
        }
        Ok(Some(StoredRoom {
            room_id: room.clone(),
            base,
            base_seq,
            checkpoint_seq,
            log,
        }))
    }

    async fn create(&self, room: &RoomId, snapshot: &RoomSnapshot) -> Result<bool, StoreError> {
        let token = self.fenced(room)?;
        let r = room.as_str();
        let json = serde_json::to_string(snapshot).map_err(backend)?;
        let mut conn = self.conn.clone();
        let code: i64 = self
            .scripts
            .create
            .key(self.keys.lease(r))
            .key(self.keys.room(r))
            .key(self.keys.rooms())
            .arg(token)
            .arg(json)
            .arg(r)
            .invoke_async(&mut conn)
            .await
            .map_err(redis_error)?;
        check(code, room)?;
        Ok(code == 1)
    }

    async fn append(&self, room: &RoomId, entry: &LogEntry) -> Result<(), StoreError> {
        self.append_answering(room, entry, None).await
    }

    /// Deletes the room (fenced) and publishes [`RoomNotice::Closed`] in the same script.
    async fn delete(&self, room: &RoomId) -> Result<(), StoreError> {
        let token = self.fenced(room)?;
        let r = room.as_str();
        let notice = serde_json::to_string(&RoomNotice::Closed).map_err(backend)?;
        let mut conn = self.conn.clone();
        let code: i64 = self
            .scripts
            .delete
            .key(self.keys.lease(r))
            .key(self.keys.room(r))
            .key(self.keys.log(r))
            .key(self.keys.rooms())
            .key(self.keys.room_channel(r))
            .arg(token)
            .arg(r)
            .arg(notice)
            .invoke_async(&mut conn)
            .await
            .map_err(redis_error)?;
        check(code, room)
    }

    async fn compact(
        &self,
        room: &RoomId,
        seq: u64,
        snapshot: &RoomSnapshot,
    ) -> Result<(), StoreError> {
        let token = self.fenced(room)?;
        let r = room.as_str();
        let json = serde_json::to_string(snapshot).map_err(backend)?;
        let mut conn = self.conn.clone();
        let code: i64 = self
            .scripts
            .compact
            .key(self.keys.lease(r))
            .key(self.keys.room(r))
            .key(self.keys.log(r))
            .arg(token)
            .arg(seq)
            .arg(json)
            .invoke_async(&mut conn)
            .await
            .map_err(redis_error)?;
        check(code, room)
    }
}
