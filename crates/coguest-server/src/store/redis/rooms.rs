//! The [`RoomStore`] impl: rooms as a base snapshot, a checkpoint and the input log, each write
//! one fenced script (the append and the delete publish on the room channel too; the create,
//! the append and the delete queue the webhook deliveries they caused).

use super::store::RedisStore;
use super::wire::{EntryAnswer, RoomNotice, WireEntry};
use crate::store::{
    LogEntry, OutboxFor, OutboxItem, OutboxRow, RoomStore, StoreError, StoredRoom, backend,
};
use async_trait::async_trait;
use coguest_core::{RoomId, RoomSnapshot};

impl RedisStore {
    /// The sequence number of `room`'s last stored log entry; `None` when the room is not
    /// stored (deleted).
    pub async fn log_seq(&self, room: &RoomId) -> Result<Option<u64>, StoreError> {
        let v: Option<String> = self
            .query(
                redis::cmd("HGET")
                    .arg(self.keys.room(room.as_str()))
                    .arg("log_seq"),
            )
            .await?;
        v.map(|v| {
            v.parse()
                .map_err(|_| StoreError::Corrupt(format!("room {room}: log_seq {v:?}")))
        })
        .transpose()
    }

    /// Appends an entry (fenced), queues the webhook deliveries it caused and publishes it on
    /// the room's channel, in one script; with `answer`, the published notice (not the stored
    /// entry) carries the answer to the command for its connection on another node.
    pub async fn append_answering(
        &self,
        room: &RoomId,
        entry: &LogEntry,
        answer: Option<EntryAnswer>,
        outbox: &[OutboxItem],
    ) -> Result<(), StoreError> {
        let fence = self.fenced(room)?;
        let r = room.as_str();
        let mut wire = WireEntry::from_entry(entry)?;
        let json = serde_json::to_string(&wire).map_err(backend)?;
        wire.answer = answer;
        let notice = serde_json::to_string(&RoomNotice::Entry(wire)).map_err(backend)?;
        let (hook_keys, hooks) = self.hook_args(outbox);
        let keys = (
            self.keys.room(r),
            self.keys.log(r),
            self.keys.room_channel(r),
            self.keys.hookseq(),
            hook_keys,
        );
        self.run_fenced(
            &fence,
            &self.scripts.append,
            keys,
            (entry.seq, json, notice, hooks),
        )
        .await?;
        Ok(())
    }
}

#[async_trait]
impl RoomStore for RedisStore {
    async fn room_ids(&self) -> Result<Vec<RoomId>, StoreError> {
        // In cluster mode rooms are opened on demand, not all at start.
        Ok(Vec::new())
    }

    async fn load(&self, room: &RoomId) -> Result<Option<StoredRoom>, StoreError> {
        self.load_in_pieces(room).await
    }

    /// Creates the room with the id's next incarnation (counted even without webhooks, so
    /// that event ids never repeat if webhooks are turned on later).
    async fn create(&self, room: &RoomId, snapshot: &RoomSnapshot) -> Result<bool, StoreError> {
        let created = self
            .create_with_outbox(room, snapshot, Box::new(|_| Vec::new()))
            .await?;
        Ok(created.is_some())
    }

    async fn create_with_outbox(
        &self,
        room: &RoomId,
        snapshot: &RoomSnapshot,
        outbox: OutboxFor,
    ) -> Result<Option<u64>, StoreError> {
        let fence = self.fenced(room)?;
        let r = room.as_str();
        let json = serde_json::to_string(snapshot).map_err(backend)?;
        // Only the lease holder creates, so the counter cannot move before the script runs
        // (the script checks it does not, and is refused as fenced otherwise).
        let incarnation = self.read_incarnation(r).await? + 1;
        let (hook_keys, hooks) = self.hook_args(&outbox(incarnation));
        let keys = (
            self.keys.room(r),
            self.keys.rooms(),
            self.keys.incarnation(r),
            self.keys.hookseq(),
            hook_keys,
        );
        let code = self
            .run_fenced(
                &fence,
                &self.scripts.create,
                keys,
                (json, r, incarnation, hooks),
            )
            .await?;
        Ok((code == 1).then_some(incarnation))
    }

    async fn incarnation(&self, room: &RoomId) -> Result<u64, StoreError> {
        self.read_incarnation(room.as_str()).await
    }

    async fn append(&self, room: &RoomId, entry: &LogEntry) -> Result<(), StoreError> {
        self.append_answering(room, entry, None, &[]).await
    }

    async fn append_with_outbox(
        &self,
        room: &RoomId,
        entry: &LogEntry,
        outbox: &[OutboxItem],
    ) -> Result<(), StoreError> {
        self.append_answering(room, entry, None, outbox).await
    }

    async fn outbox_next(
        &self,
        endpoint: &str,
        limit: usize,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        self.hooks_next(endpoint, limit).await
    }

    async fn outbox_remove(&self, endpoint: &str, id: u64) -> Result<(), StoreError> {
        self.hooks_remove(endpoint, id).await
    }

    async fn outbox_turn(&self) -> Result<bool, StoreError> {
        self.hook_turn().await
    }

    async fn outbox_release(&self) {
        if let Err(e) = self.hook_release().await {
            tracing::warn!(error = %e, "giving up the webhook delivery lease failed");
        }
    }

    fn outbox_poll(&self) -> Option<std::time::Duration> {
        Some(std::time::Duration::from_millis(
            (self.lease_ms / 3).clamp(20, 250),
        ))
    }

    /// Deletes the room (fenced) and publishes [`RoomNotice::Closed`] in the same script.
    async fn delete(&self, room: &RoomId) -> Result<(), StoreError> {
        self.delete_with_outbox(room, &[]).await
    }

    /// [`delete`](Self::delete), queueing `outbox` in the same script.
    async fn delete_with_outbox(
        &self,
        room: &RoomId,
        outbox: &[OutboxItem],
    ) -> Result<(), StoreError> {
        let fence = self.fenced(room)?;
        let r = room.as_str();
        let notice = serde_json::to_string(&RoomNotice::Closed).map_err(backend)?;
        let (hook_keys, hooks) = self.hook_args(outbox);
        // Only the lease holder compacts, so these cannot move before the script runs.
        let (base, checkpoint) = match self.head(r).await? {
            Some(h) => (h.base_seq, h.checkpoint_seq),
            None => (0, 0),
        };
        let keys = (
            self.keys.room(r),
            self.keys.log(r),
            self.keys.rooms(),
            self.keys.room_channel(r),
            self.keys.hookseq(),
            (self.keys.snap(r, base), self.keys.snap(r, checkpoint)),
            hook_keys,
        );
        self.run_fenced(&fence, &self.scripts.delete, keys, (r, notice, hooks))
            .await?;
        Ok(())
    }

    async fn compact(
        &self,
        room: &RoomId,
        seq: u64,
        snapshot: &RoomSnapshot,
    ) -> Result<(), StoreError> {
        self.compact_chunked(room, seq, snapshot).await
    }
}
