//! [`RedisStore`] itself: the connection, the leases this node holds, and the one way a script
//! or command is called (with its error mapping, and for a write, its fencing).

use super::connect::{Persistence, RedisAck, RedisTarget};
use super::keys::Keys;
use super::link::RedisConn;
use super::scripts::Scripts;
use crate::store::{StoreError, backend};
use coguest_core::RoomId;
use redis::{FromRedisValue, Script, ToRedisArgs};
use std::collections::HashMap;
use std::sync::Mutex;

/// A [`RoomStore`](crate::store::RoomStore) on Redis whose writes are fenced by this node's
/// room leases.
pub struct RedisStore {
    target: RedisTarget,
    conn: RedisConn,
    ack: RedisAck,
    /// How long `WAIT` waits for replicas (with [`RedisAck::Replicas`]).
    ack_timeout: std::time::Duration,
    pub(super) keys: Keys,
    pub(super) node: String,
    pub(super) lease_ms: u64,
    /// Epochs of the leases this node holds, by room.
    held: Mutex<HashMap<RoomId, u64>>,
    /// The highest epoch this node saw for each room (held, or announced by another node):
    /// a new one is always above it, even if Redis lost the epoch counter.
    floors: Mutex<HashMap<RoomId, u64>>,
    /// When this node last took or renewed the webhook delivery lease.
    pub(super) hook_turn: Mutex<Option<std::time::Instant>>,
    pub(super) scripts: Scripts,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedisStore {{ node: {} }}", self.node)
    }
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

/// No keys, or no arguments, for a script.
pub(super) const NONE: &[&str] = &[];

/// This node's hold on one room's lease, as every fenced script checks it: the room's lease
/// must still be `node|epoch`.
pub(super) struct Fence<'a> {
    room: &'a RoomId,
    /// The epoch this node acquired.
    pub(super) epoch: u64,
    /// `node|epoch`.
    token: String,
}

impl RedisStore {
    /// Connects (with automatic reconnection) to `url`.
    ///
    /// A call waits for Redis up to one lease ([`response_timeout`]), not the client's default
    /// 500 ms: calls queued in a busy Redis took longer than that under load (before snapshots
    /// were written in chunks, a large room's compaction was one multi-megabyte script), and an
    /// append that times out is answered `FAILED` although Redis may still run it.
    ///
    /// Warns (a log line) when Redis keeps no append-only file: a Redis restart would then
    /// lose acknowledged changes.
    pub async fn connect(
        url: &str,
        prefix: &str,
        node: &str,
        lease_ms: u64,
    ) -> Result<Self, StoreError> {
        let no_wait = std::time::Duration::ZERO;
        Self::connect_acking(url, prefix, node, lease_ms, RedisAck::Local, no_wait).await
    }

    /// [`connect`](Self::connect), and every fenced write waits until `ack` holds (`WAIT`, up
    /// to `ack_timeout`; a call then waits up to a lease plus that): when fewer replicas
    /// confirm it, the write is [`StoreError::Unreplicated`].
    pub async fn connect_acking(
        url: &str,
        prefix: &str,
        node: &str,
        lease_ms: u64,
        ack: RedisAck,
        ack_timeout: std::time::Duration,
    ) -> Result<Self, StoreError> {
        let target = RedisTarget::parse(url).map_err(backend)?;
        let waits = match ack {
            RedisAck::Local => std::time::Duration::ZERO,
            RedisAck::Replicas(_) => ack_timeout,
        };
        let conn = RedisConn::open(&target, response_timeout(lease_ms) + waits)
            .await
            .map_err(backend)?;
        Persistence::warn_if_volatile(&mut conn.clone()).await;
        Ok(RedisStore {
            target,
            conn,
            ack,
            ack_timeout,
            keys: Keys::new(prefix),
            node: node.to_owned(),
            lease_ms,
            held: Mutex::new(HashMap::new()),
            floors: Mutex::new(HashMap::new()),
            hook_turn: Mutex::new(None),
            scripts: Scripts::new(),
        })
    }

    /// Where Redis is (to open more connections: subscriptions).
    pub fn target(&self) -> &RedisTarget {
        &self.target
    }

    /// The key names.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// A connection for other commands (cheap clone, shared).
    pub fn connection(&self) -> RedisConn {
        self.conn.clone()
    }

    /// This node's id.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The epoch this node believes it holds for `room`.
    pub fn held_epoch(&self, room: &RoomId) -> Option<u64> {
        self.held.lock().ok()?.get(room).copied()
    }

    /// Records that this node holds `room`'s lease with `epoch`.
    pub(super) fn hold(&self, room: &RoomId, epoch: u64) {
        self.note_epoch(room, epoch);
        if let Ok(mut h) = self.held.lock() {
            h.insert(room.clone(), epoch);
        }
    }

    /// Records that `room` had an owner with `epoch`: epochs this node acquires later are
    /// above it.
    pub fn note_epoch(&self, room: &RoomId, epoch: u64) {
        if let Ok(mut f) = self.floors.lock() {
            let floor = f.entry(room.clone()).or_default();
            *floor = (*floor).max(epoch);
        }
    }

    /// The highest epoch this node saw for `room` (0: none).
    pub(super) fn epoch_floor(&self, room: &RoomId) -> u64 {
        self.floors
            .lock()
            .ok()
            .and_then(|f| f.get(room).copied())
            .unwrap_or(0)
    }

    /// Forgets the lease locally (after losing it); later writes for the room are refused.
    pub fn forget(&self, room: &RoomId) {
        if let Ok(mut h) = self.held.lock() {
            h.remove(room);
        }
    }

    /// The fence of a lease this node believes it holds.
    pub(super) fn fence<'a>(&self, room: &'a RoomId) -> Option<Fence<'a>> {
        self.held_epoch(room).map(|epoch| Fence {
            room,
            epoch,
            token: format!("{}|{epoch}", self.node),
        })
    }

    /// [`fence`](Self::fence) for a write: refused at once when this node holds no lease.
    pub(super) fn fenced<'a>(&self, room: &'a RoomId) -> Result<Fence<'a>, StoreError> {
        self.fence(room)
            .ok_or_else(|| StoreError::Fenced(format!("room {room} is not owned by this node")))
    }

    /// Runs `script` on `keys` with `args` (each one value or a tuple of them) and decodes its
    /// reply.
    pub(super) async fn run<T: FromRedisValue>(
        &self,
        script: &Script,
        keys: impl ToRedisArgs,
        args: impl ToRedisArgs,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn.clone();
        script
            .key(keys)
            .arg(args)
            .invoke_async(&mut conn)
            .await
            .map_err(redis_error)
    }

    /// Runs a fenced `script`: `KEYS[1]` is the room's lease and `ARGV[1]` the fence's
    /// `node|epoch`, then come `keys` and `args`. Its reply, where -1 (the lease is no longer
    /// this node's), -2 (the log moved on under this node) and -3 (so did the incarnation)
    /// are [`StoreError::Fenced`].
    pub(super) async fn run_fenced(
        &self,
        fence: &Fence<'_>,
        script: &Script,
        keys: impl ToRedisArgs,
        args: impl ToRedisArgs,
    ) -> Result<i64, StoreError> {
        let lease = self.keys.lease(fence.room.as_str());
        let (keys, args) = ((lease, keys), (&fence.token, args));
        let (code, replicated) = match self.ack {
            RedisAck::Local => (self.run(script, keys, args).await?, None),
            RedisAck::Replicas(n) => {
                let (code, acked) = self.run_and_wait(script, keys, args, n).await?;
                (code, Some((acked, n)))
            }
        };
        let room = fence.room;
        match (code, replicated) {
            (code, Some((acked, n))) if code >= 0 && acked < i64::from(n) => {
                Err(StoreError::Unreplicated(format!(
                    "room {room}: {acked} of {n} replicas confirmed the write within {} ms",
                    self.ack_timeout.as_millis()
                )))
            }
            (code, _) => match code {
                -1 => Err(StoreError::Fenced(format!(
                    "room {room}: this node's lease is gone"
                ))),
                -2 => Err(StoreError::Fenced(format!(
                    "room {room}: the log moved on under this node"
                ))),
                -3 => Err(StoreError::Fenced(format!(
                    "room {room}: its incarnation moved on under this node"
                ))),
                code => Ok(code),
            },
        }
    }

    /// Runs `script` then `WAIT n` in one pipeline, so both go on the same connection (`WAIT`
    /// counts the replicas that have this connection's writes): the script's reply and how
    /// many replicas confirmed. A primary that lost the script (a promoted replica) gets it
    /// loaded, and the pipeline is sent again (`NOSCRIPT`: nothing ran).
    async fn run_and_wait<T: FromRedisValue>(
        &self,
        script: &Script,
        keys: impl ToRedisArgs,
        args: impl ToRedisArgs,
        n: u32,
    ) -> Result<(T, i64), StoreError> {
        let keys = keys.to_redis_args();
        let mut eval = redis::cmd("EVALSHA");
        eval.arg(script.get_hash()).arg(keys.len());
        for k in keys {
            eval.arg(k);
        }
        eval.arg(args);
        let timeout = u64::try_from(self.ack_timeout.as_millis()).unwrap_or(u64::MAX);
        let mut pipe = redis::pipe();
        pipe.add_command(eval).cmd("WAIT").arg(n).arg(timeout);
        let mut conn = self.conn.clone();
        match pipe.query_async(&mut conn).await {
            Err(e) if e.code() == Some("NOSCRIPT") => {
                script
                    .prepare_invoke()
                    .load_async(&mut conn)
                    .await
                    .map_err(redis_error)?;
                pipe.query_async(&mut conn).await.map_err(redis_error)
            }
            r => r.map_err(redis_error),
        }
    }

    /// Runs a plain command and decodes its reply.
    pub(super) async fn query<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, StoreError> {
        let mut conn = self.conn.clone();
        cmd.query_async(&mut conn).await.map_err(redis_error)
    }
}
