//! Persistence: rooms are event-sourced from the deterministic core.
//!
//! A room is stored as a base [`RoomSnapshot`] plus the log of every input that changed it
//! since (a command with its actor, or a timeout), each with the time it was applied. Replaying
//! the log through the core rebuilds the room exactly, together with what it said (the resume
//! ring) and the answers it gave (the retry cache). Every entry is committed before its command
//! is acknowledged or its outputs are sent.
//!
//! Compaction keeps two snapshots: a *checkpoint* written every `compact_every` entries, and
//! the *base* (the previous checkpoint) that loading replays from. Log entries at or before the
//! base are deleted. So between `compact_every` and twice that many entries stay replayable,
//! which is what feeds the resume ring after a restart.

pub mod redis;
pub mod sqlite;

use async_trait::async_trait;
use coguest_core::{Command, RoomId, RoomSnapshot, Timestamp, UserId};

/// One input applied to a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogInput {
    /// A command by a member.
    Command {
        /// Who sent it.
        actor: UserId,
        /// What it was.
        command: Command,
    },
    /// `handle_timeout`: due deadlines fired.
    Timeout,
}

/// One log entry: an input, when it was applied, and the client request id that caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Position in the room's log, from 1, without gaps.
    pub seq: u64,
    /// The `now` the input was applied with.
    pub at: Timestamp,
    /// The input.
    pub input: LogInput,
    /// The client request id, to rebuild the retry cache.
    pub client_req_id: Option<u64>,
}

/// A room as stored: a base snapshot and the log after it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRoom {
    /// The room.
    pub room_id: RoomId,
    /// State after log entry `base_seq`.
    pub base: RoomSnapshot,
    /// Log position of `base`.
    pub base_seq: u64,
    /// Log position of the newest checkpoint (equal to `base_seq` when there is none).
    pub checkpoint_seq: u64,
    /// Entries after `base_seq`, in order.
    pub log: Vec<LogEntry>,
}

/// A webhook delivery to keep until it is delivered or expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// The endpoint URL.
    pub endpoint: String,
    /// When the event happened.
    pub created: Timestamp,
    /// The JSON body.
    pub body: String,
}

/// A stored webhook delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    /// Its position in the outbox (increasing in write order).
    pub id: u64,
    /// When the event happened.
    pub created: Timestamp,
    /// The JSON body.
    pub body: String,
}

/// Builds a new room's webhook deliveries once its incarnation is known (see
/// [`RoomStore::create_with_outbox`]).
pub type OutboxFor = Box<dyn FnOnce(u64) -> Vec<OutboxItem> + Send>;

/// A backend failure (IO, SQL, a Redis client error) as a store error.
pub(crate) fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn no_outbox() -> StoreError {
    StoreError::Backend("this store keeps no webhook outbox".into())
}

/// A storage failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The backend failed (IO, SQL, ...).
    #[error("storage failed: {0}")]
    Backend(String),
    /// Stored data could not be decoded.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The backend did not answer in time (Redis, after a lease): a write may or may not
    /// have been carried out.
    #[error("storage did not answer in time: {0}")]
    Unanswered(String),
    /// The primary stored the write but fewer replicas than `--redis-ack` asks confirmed it in
    /// time: a failover may still lose it (it may or may not survive).
    #[error("not replicated in time: {0}")]
    Unreplicated(String),
    /// The write was refused because this node no longer owns the room (cluster mode: its
    /// lease expired or was taken over, so its epoch is stale).
    #[error("not the owner: {0}")]
    Fenced(String),
    /// The storage worker has stopped.
    #[error("storage is closed")]
    Closed,
}

/// Where rooms are kept. Implementations must make a write durable before returning `Ok`.
#[async_trait]
pub trait RoomStore: Send + Sync + 'static {
    /// Every stored room id.
    async fn room_ids(&self) -> Result<Vec<RoomId>, StoreError>;
    /// A room with its log, if stored.
    async fn load(&self, room: &RoomId) -> Result<Option<StoredRoom>, StoreError>;
    /// Stores a new room; `Ok(false)` if it already exists (nothing is written then).
    async fn create(&self, room: &RoomId, snapshot: &RoomSnapshot) -> Result<bool, StoreError>;
    /// Appends one log entry.
    async fn append(&self, room: &RoomId, entry: &LogEntry) -> Result<(), StoreError>;
    /// Makes the previous checkpoint the base (dropping log entries up to it) and records
    /// `snapshot` as the state after entry `seq`.
    async fn compact(
        &self,
        room: &RoomId,
        seq: u64,
        snapshot: &RoomSnapshot,
    ) -> Result<(), StoreError>;
    /// Appends one log entry and, in the same transaction, the webhook deliveries it caused.
    /// Stores without an outbox refuse a non-empty one.
    async fn append_with_outbox(
        &self,
        room: &RoomId,
        entry: &LogEntry,
        outbox: &[OutboxItem],
    ) -> Result<(), StoreError> {
        if !outbox.is_empty() {
            return Err(no_outbox());
        }
        self.append(room, entry).await
    }
    /// Adds webhook deliveries not tied to a log entry (room created/closed).
    async fn enqueue(&self, outbox: &[OutboxItem]) -> Result<(), StoreError> {
        if outbox.is_empty() {
            Ok(())
        } else {
            Err(no_outbox())
        }
    }
    /// The oldest undelivered deliveries for `endpoint`, in write order.
    async fn outbox_next(
        &self,
        endpoint: &str,
        limit: usize,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let _ = (endpoint, limit);
        Ok(Vec::new())
    }
    /// Removes `endpoint`'s delivery `id` (delivered or expired).
    async fn outbox_remove(&self, endpoint: &str, id: u64) -> Result<(), StoreError> {
        let _ = (endpoint, id);
        Ok(())
    }
    /// Whether this node delivers webhooks now. A store shared by several nodes lets one
    /// deliver at a time (it takes or renews a lease here); the default is always.
    async fn outbox_turn(&self) -> Result<bool, StoreError> {
        Ok(true)
    }
    /// Stops delivering (shutdown): another node may take over at once.
    async fn outbox_release(&self) {}
    /// How often the delivering node looks for deliveries queued by other nodes (whose
    /// wake-ups it does not hear), and another node tries to take over; `None` when only this
    /// process writes the outbox.
    fn outbox_poll(&self) -> Option<std::time::Duration> {
        None
    }
    /// Removes a room and its log (the room was closed). `Ok` when it was not stored.
    async fn delete(&self, room: &RoomId) -> Result<(), StoreError>;
    /// The room id's incarnation: 1 for the first room stored under it, one more each time it
    /// is created again after a close (the last one's when none is stored now). 0 when the
    /// store does not count incarnations or the room predates counting.
    async fn incarnation(&self, room: &RoomId) -> Result<u64, StoreError> {
        let _ = room;
        Ok(0)
    }
    /// [`create`](Self::create) and, in the same transaction, the webhook deliveries that
    /// `outbox` builds for the new room's incarnation. `Ok(None)` if the room already exists
    /// (nothing is written then), else the incarnation. The default is not atomic: it creates,
    /// then queues (which stores without an outbox refuse unless there is nothing to queue).
    async fn create_with_outbox(
        &self,
        room: &RoomId,
        snapshot: &RoomSnapshot,
        outbox: OutboxFor,
    ) -> Result<Option<u64>, StoreError> {
        if !self.create(room, snapshot).await? {
            return Ok(None);
        }
        let incarnation = self.incarnation(room).await?;
        self.enqueue(&outbox(incarnation)).await?;
        Ok(Some(incarnation))
    }
    /// [`delete`](Self::delete) and, in the same transaction, the webhook deliveries that
    /// announce it: if the delete fails, none is queued. The default is not atomic: it queues,
    /// then deletes.
    async fn delete_with_outbox(
        &self,
        room: &RoomId,
        outbox: &[OutboxItem],
    ) -> Result<(), StoreError> {
        self.enqueue(outbox).await?;
        self.delete(room).await
    }
    /// Flushes and stops; later calls fail with [`StoreError::Closed`].
    async fn close(&self) {}
}

/// How a timeout is written in the log's `command` column.
pub(crate) const TIMEOUT_MARKER: &str = "timeout";
