//! Snapshots in chunks, and loading a room a piece at a time, so that no single Redis call
//! carries a large room whole: Redis runs one command at a time, and one that copies a 20,000
//! -member snapshot (megabytes) holds every other node's calls for tens of milliseconds.
//!
//! A compaction writes the snapshot as a list `P:snap:{room}:{seq}` of [`CHUNK`]-byte chunks,
//! one fenced call each, then one fenced call makes it the checkpoint (the old checkpoint
//! becomes the base, the old base is unlinked: freed off Redis's main thread), then the log up
//! to the new base is dropped [`TRIM_SLICE`] entries per call. The room hash keeps the base
//! inline (`base`) only for a new room (its empty snapshot) and rooms stored before chunking.
//!
//! Loading reads the base's chunks and the log in pages, then checks that the base did not
//! move meanwhile (a compaction by the owner); if it did, it reads again.

use super::store::RedisStore;
use super::wire::WireEntry;
use crate::store::{StoreError, StoredRoom, backend};
use coguest_core::{RoomId, RoomSnapshot};

/// Bytes per snapshot chunk: one call copies at most this much.
pub const CHUNK: usize = 64 << 10;
/// Chunks read per call when loading.
const CHUNKS_PER_READ: isize = 4;
/// Log entries dropped per call after a compaction.
pub const TRIM_SLICE: u64 = 500;
/// Log entries read per call when loading.
const LOG_PAGE: usize = 500;
/// Loads tried before giving up while the owner keeps compacting under them.
const LOAD_TRIES: usize = 5;

/// Where a room's base is: in the hash, or in a chunked snapshot key.
pub(super) struct Head {
    inline: Option<String>,
    pub(super) base_seq: u64,
    pub(super) checkpoint_seq: u64,
}

impl RedisStore {
    /// Stores `snapshot` as the state after entry `seq`, makes it the checkpoint (the old
    /// checkpoint becomes the base) and drops the log up to the new base.
    pub(super) async fn compact_chunked(
        &self,
        room: &RoomId,
        seq: u64,
        snapshot: &RoomSnapshot,
    ) -> Result<(), StoreError> {
        let fence = self.fenced(room)?;
        let r = room.as_str();
        let json = serde_json::to_vec(snapshot).map_err(backend)?;
        let Some(head) = self.head(r).await? else {
            return Err(StoreError::Fenced(format!("room {room} is not stored")));
        };
        let key = self.keys.snap(r, seq);
        let chunks: Vec<&[u8]> = json.chunks(CHUNK).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            let args = (seq, i, *chunk);
            let keys = (self.keys.room(r), &key);
            let code = self
                .run_fenced(&fence, &self.scripts.snap_put, keys, args)
                .await?;
            if code == 0 {
                // Already the base or checkpoint (or the room is gone): nothing to do.
                return Ok(());
            }
        }
        let keys = (self.keys.room(r), &key, self.keys.snap(r, head.base_seq));
        let args = (seq, chunks.len(), head.base_seq);
        let base_seq = self
            .run_fenced(&fence, &self.scripts.compact, keys, args)
            .await?;
        let Ok(base_seq) = u64::try_from(base_seq) else {
            return Err(StoreError::Backend(format!(
                "room {room}: snapshot {seq} incomplete ({base_seq})"
            )));
        };
        // Each call drops at most a slice: a long log never holds Redis in one command.
        while self
            .run_fenced(
                &fence,
                &self.scripts.trim,
                self.keys.log(r),
                (base_seq, TRIM_SLICE),
            )
            .await?
            == 1
        {}
        Ok(())
    }

    /// The room hash's base (when inline) and positions; `None` when the room is not stored.
    pub(super) async fn head(&self, r: &str) -> Result<Option<Head>, StoreError> {
        let (inline, base_seq, checkpoint_seq): (Option<String>, Option<String>, Option<String>) =
            self.query(
                redis::cmd("HMGET")
                    .arg(self.keys.room(r))
                    .arg("base")
                    .arg("base_seq")
                    .arg("checkpoint_seq"),
            )
            .await?;
        let Some(base_seq) = base_seq else {
            return Ok(None);
        };
        let number = |v: &str, what: &str| {
            v.parse::<u64>()
                .map_err(|_| StoreError::Corrupt(format!("room {r}: {what} {v:?}")))
        };
        let base_seq = number(&base_seq, "base_seq")?;
        let checkpoint_seq = match checkpoint_seq {
            Some(v) => number(&v, "checkpoint_seq")?,
            None => base_seq,
        };
        Ok(Some(Head {
            inline,
            base_seq,
            checkpoint_seq,
        }))
    }

    /// Loads a room in pieces (see the module docs).
    pub(super) async fn load_in_pieces(
        &self,
        room: &RoomId,
    ) -> Result<Option<StoredRoom>, StoreError> {
        let r = room.as_str();
        for _ in 0..LOAD_TRIES {
            let Some(head) = self.head(r).await? else {
                return Ok(None);
            };
            let base = match head.inline {
                Some(text) => Some(text.into_bytes()),
                None => self.read_snapshot(r, head.base_seq).await?,
            };
            let log = self.read_log(r, head.base_seq).await?;
            let now = self.head(r).await?;
            let (Some(base), Some(now)) = (base, now) else {
                continue;
            };
            if now.base_seq != head.base_seq {
                // Compacted meanwhile: the base read may be gone, the log trimmed.
                continue;
            }
            let corrupt = |w: String| StoreError::Corrupt(format!("room {room}: {w}"));
            let base: RoomSnapshot =
                serde_json::from_slice(&base).map_err(|e| corrupt(format!("snapshot: {e}")))?;
            return Ok(Some(StoredRoom {
                room_id: room.clone(),
                base,
                base_seq: head.base_seq,
                checkpoint_seq: now.checkpoint_seq,
                log,
            }));
        }
        Err(StoreError::Backend(format!(
            "room {room}: compacted under every one of {LOAD_TRIES} loads"
        )))
    }

    /// The chunks of snapshot `seq`, joined; `None` when it is gone (compacted away).
    async fn read_snapshot(&self, r: &str, seq: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let key = self.keys.snap(r, seq);
        let n: isize = self.query(redis::cmd("LLEN").arg(&key)).await?;
        if n == 0 {
            return Ok(None);
        }
        let mut out = Vec::new();
        let mut i = 0;
        while i < n {
            let part: Vec<Vec<u8>> = self
                .query(
                    redis::cmd("LRANGE")
                        .arg(&key)
                        .arg(i)
                        .arg(i + CHUNKS_PER_READ - 1),
                )
                .await?;
            if part.is_empty() {
                return Ok(None);
            }
            i += isize::try_from(part.len()).unwrap_or(isize::MAX);
            for chunk in part {
                out.extend_from_slice(&chunk);
            }
        }
        Ok(Some(out))
    }

    /// The log entries after `after`, in order, a page per call.
    async fn read_log(
        &self,
        r: &str,
        after: u64,
    ) -> Result<Vec<crate::store::LogEntry>, StoreError> {
        let mut log = Vec::new();
        let mut cursor = after;
        loop {
            let page: Vec<String> = self
                .query(
                    redis::cmd("ZRANGEBYSCORE")
                        .arg(self.keys.log(r))
                        .arg(format!("({cursor}"))
                        .arg("+inf")
                        .arg("LIMIT")
                        .arg(0)
                        .arg(LOG_PAGE),
                )
                .await?;
            let full = page.len() == LOG_PAGE;
            for text in &page {
                let w: WireEntry = serde_json::from_str(text)
                    .map_err(|e| StoreError::Corrupt(format!("room {r}: log entry: {e}")))?;
                cursor = w.seq;
                log.push(w.to_entry()?);
            }
            if !full {
                return Ok(log);
            }
        }
    }
}
