//! Rebuilding a room from storage: its snapshot plus the log replayed through the core gives
//! the room, its resume ring and its retry cache.

use crate::retry_cache::{Kept, RetryCache};
use crate::room::observers::RequestTimes;
use crate::room::ring::{ResumeRing, RingCap, output_entry};
use crate::store::{LogInput, StoreError, StoredRoom};
use coguest_core::{Command, Output, Room, Timestamp};

/// A room rebuilt from storage: the core state and what replaying its log said and answered.
pub(crate) struct Rebuilt {
    pub room: Room,
    pub ring: ResumeRing,
    pub answers: RetryCache,
    pub log_seq: u64,
    pub checkpoint_seq: u64,
    /// When the requests made since the snapshot were made.
    pub request_times: RequestTimes,
    /// When the last logged input was applied (`None` when the log is empty).
    pub last_at: Option<Timestamp>,
}

impl Rebuilt {
    /// A room that was just created (nothing to replay).
    pub fn new_room(room: Room) -> Self {
        Rebuilt {
            ring: ResumeRing::new(room.version()),
            room,
            answers: RetryCache::default(),
            log_seq: 0,
            checkpoint_seq: 0,
            request_times: RequestTimes::default(),
            last_at: None,
        }
    }

    /// Replays a stored room's log through the core (same inputs, same outputs).
    pub fn replay(name: &str, stored: StoredRoom, ring_cap: RingCap) -> Result<Self, StoreError> {
        let corrupt = |m: String| StoreError::Corrupt(format!("room {name}: {m}"));
        let ring = ResumeRing::new(stored.base.version);
        let room = Room::restore(stored.base).map_err(|e| corrupt(e.to_string()))?;
        let mut r = Rebuilt {
            room,
            ring,
            answers: RetryCache::default(),
            log_seq: stored.base_seq,
            checkpoint_seq: stored.checkpoint_seq,
            request_times: RequestTimes::default(),
            last_at: None,
        };
        for entry in stored.log {
            if entry.seq != r.log_seq + 1 {
                return Err(corrupt(format!(
                    "log jumps from {} to {}",
                    r.log_seq, entry.seq
                )));
            }
            r.log_seq = entry.seq;
            r.last_at = Some(entry.at);
            match entry.input {
                LogInput::Timeout => r.room.handle_timeout(entry.at),
                LogInput::Command { actor, command } => {
                    let retryable = retryable(&command);
                    let leaving = matches!(command, Command::Leave);
                    match r.room.handle_command(entry.at, &actor, command) {
                        Ok(request_id) => {
                            if let (Some(id), true) = (entry.client_req_id, retryable) {
                                let version = r.room.version();
                                let kept = Kept::Ack {
                                    version,
                                    request_id,
                                };
                                r.answers.remember(&actor, id, kept);
                            }
                            if leaving {
                                r.answers.departed(&actor);
                            }
                        }
                        Err(e) => {
                            tracing::warn!(room = name, seq = entry.seq, error = %e,
                                "a logged command was refused on replay");
                        }
                    }
                }
            }
            // Backend notices were written to the webhook outbox when first applied.
            let outputs: Vec<Output> = std::iter::from_fn(|| r.room.poll_output()).collect();
            r.request_times.track(entry.at, &outputs);
            for out in outputs {
                if let Some(e) = output_entry(name, entry.at, out) {
                    r.ring.push(e, ring_cap);
                }
            }
        }
        Ok(r)
    }
}

/// Whether a retried request id with this command gets the first answer back. Joins are
/// always re-run: they register the connection and send a snapshot.
pub(crate) fn retryable(cmd: &Command) -> bool {
    !matches!(cmd, Command::Join { .. })
}
