//! [`SqliteStore`]: opening the database and starting its threads, handing each request to
//! the writer, and the [`RoomStore`] impl (log entries encoded in, rooms decoded out).

use super::checkpoint::WalOptions;
use super::queries::{RawEntry, RawRoom};
use super::request::{Reply, Req};
use super::schema::{self, to_i64, to_u64};
use super::writer::Open;
use crate::store::{
    LogEntry, LogInput, OutboxFor, OutboxItem, OutboxRow, RoomStore, StoreError, StoredRoom,
    TIMEOUT_MARKER, backend,
};
use async_trait::async_trait;
use coguest_core::{Command, RoomId, RoomSnapshot, Timestamp, UserId};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use tokio::sync::oneshot;

/// A [`RoomStore`] over one SQLite file.
pub struct SqliteStore {
    /// `None` once closed.
    open: Mutex<Option<Arc<Open>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore { .. }")
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and starts the storage thread.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, WalOptions::default())
    }

    /// [`open`](Self::open) with the checkpointer's settings.
    pub fn open_with(path: &Path, wal: WalOptions) -> Result<Self, StoreError> {
        let (open, thread) = Open::start(schema::open(path, &wal)?, wal)?;
        Ok(SqliteStore {
            open: Mutex::new(Some(Arc::new(open))),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Stores a new room and, in the same transaction, the deliveries `outbox` builds for its
    /// incarnation: that incarnation, or `None` if the room exists.
    async fn create_room(
        &self,
        room: &RoomId,
        snapshot: &RoomSnapshot,
        outbox: Option<OutboxFor>,
    ) -> Result<Option<u64>, StoreError> {
        let json = serde_json::to_string(snapshot).map_err(backend)?;
        self.call(|r| Req::Create(room.as_str().to_owned(), json, outbox, r))
            .await
    }

    async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Req) -> Result<T, StoreError> {
        self.submit(make, false).await
    }

    /// Queues a request for the storage thread, or with `in_place`, runs it here when the
    /// writer is free (see the module's documentation).
    async fn submit<T>(
        &self,
        make: impl FnOnce(Reply<T>) -> Req,
        in_place: bool,
    ) -> Result<T, StoreError> {
        let (reply, rx) = oneshot::channel();
        // Not held while a request runs in place: other callers queue meanwhile.
        let open = {
            let guard = self.open.lock().map_err(|_| StoreError::Closed)?;
            guard.as_ref().ok_or(StoreError::Closed)?.clone()
        };
        open.submit(make(reply), in_place)?;
        drop(open);
        rx.await.map_err(|_| StoreError::Closed)?
    }
}

#[async_trait]
impl RoomStore for SqliteStore {
    async fn room_ids(&self) -> Result<Vec<RoomId>, StoreError> {
        let ids = self.call(Req::RoomIds).await?;
        Ok(ids.into_iter().map(RoomId::from).collect())
    }

    async fn load(&self, room: &RoomId) -> Result<Option<StoredRoom>, StoreError> {
        let raw = self
            .call(|r| Req::Load(room.as_str().to_owned(), r))
            .await?;
        raw.map(|raw| decode(room, raw)).transpose()
    }

    async fn create(&self, room: &RoomId, snapshot: &RoomSnapshot) -> Result<bool, StoreError> {
        let created = self.create_room(room, snapshot, None).await?;
        Ok(created.is_some())
    }

    async fn create_with_outbox(
        &self,
        room: &RoomId,
        snapshot: &RoomSnapshot,
        outbox: OutboxFor,
    ) -> Result<Option<u64>, StoreError> {
        self.create_room(room, snapshot, Some(outbox)).await
    }

    async fn incarnation(&self, room: &RoomId) -> Result<u64, StoreError> {
        self.call(|r| Req::Incarnation(room.as_str().to_owned(), r))
            .await
    }

    async fn append(&self, room: &RoomId, entry: &LogEntry) -> Result<(), StoreError> {
        self.append_with_outbox(room, entry, &[]).await
    }

    async fn append_with_outbox(
        &self,
        room: &RoomId,
        entry: &LogEntry,
        outbox: &[OutboxItem],
    ) -> Result<(), StoreError> {
        let entry = encode(entry)?;
        let append = |reply| Req::Append {
            room: room.as_str().to_owned(),
            entry,
            outbox: outbox.to_vec(),
            reply,
        };
        self.submit(append, true).await
    }

    async fn enqueue(&self, outbox: &[OutboxItem]) -> Result<(), StoreError> {
        if outbox.is_empty() {
            return Ok(());
        }
        self.call(|r| Req::Enqueue(outbox.to_vec(), r)).await
    }

    async fn outbox_next(
        &self,
        endpoint: &str,
        limit: usize,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.call(|r| Req::OutboxNext(endpoint.to_owned(), limit, r))
            .await
    }

    async fn outbox_remove(&self, _endpoint: &str, id: u64) -> Result<(), StoreError> {
        self.call(|r| Req::OutboxRemove(to_i64(id), r)).await
    }

    async fn compact(
        &self,
        room: &RoomId,
        seq: u64,
        snapshot: &RoomSnapshot,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(snapshot).map_err(backend)?;
        self.call(|r| Req::Compact(room.as_str().to_owned(), to_i64(seq), json, r))
            .await
    }

    async fn delete(&self, room: &RoomId) -> Result<(), StoreError> {
        self.delete_with_outbox(room, &[]).await
    }

    async fn delete_with_outbox(
        &self,
        room: &RoomId,
        outbox: &[OutboxItem],
    ) -> Result<(), StoreError> {
        self.call(|r| Req::Delete(room.as_str().to_owned(), outbox.to_vec(), r))
            .await
    }

    async fn close(&self) {
        let (done, rx) = oneshot::channel();
        let sent = match self.open.lock() {
            Ok(mut guard) => guard.take().is_some_and(|open| open.close(done)),
            Err(_) => false,
        };
        if sent {
            let _ = rx.await;
        }
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

/// A log entry as its row.
fn encode(entry: &LogEntry) -> Result<RawEntry, StoreError> {
    let (actor, command) = match &entry.input {
        LogInput::Command { actor, command } => (
            Some(actor.as_str().to_owned()),
            serde_json::to_string(command).map_err(backend)?,
        ),
        LogInput::Timeout => (None, TIMEOUT_MARKER.to_owned()),
    };
    Ok((
        to_i64(entry.seq),
        to_i64(entry.at.as_millis()),
        actor,
        command,
        entry.client_req_id.map(to_i64),
    ))
}

/// A room from its rows.
fn decode(room: &RoomId, raw: RawRoom) -> Result<StoredRoom, StoreError> {
    let corrupt = |what: String| StoreError::Corrupt(format!("room {room}: {what}"));
    let base: RoomSnapshot =
        serde_json::from_str(&raw.base).map_err(|e| corrupt(format!("snapshot: {e}")))?;
    let mut log = Vec::with_capacity(raw.log.len());
    for (seq, at, actor, command, client_req_id) in raw.log {
        let input = match actor {
            None if command == TIMEOUT_MARKER => LogInput::Timeout,
            Some(actor) => LogInput::Command {
                actor: UserId::from(actor),
                command: serde_json::from_str::<Command>(&command)
                    .map_err(|e| corrupt(format!("log entry {seq}: {e}")))?,
            },
            None => return Err(corrupt(format!("log entry {seq} has no actor"))),
        };
        log.push(LogEntry {
            seq: to_u64(seq),
            at: Timestamp::from_millis(to_u64(at)),
            input,
            client_req_id: client_req_id.map(to_u64),
        });
    }
    Ok(StoredRoom {
        room_id: room.clone(),
        base,
        base_seq: to_u64(raw.base_seq),
        checkpoint_seq: to_u64(raw.checkpoint_seq.unwrap_or(raw.base_seq)),
        log,
    })
}
