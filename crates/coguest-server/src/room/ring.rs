//! The resume ring: a room's newest outputs, bounded in entries and bytes, for clients that
//! resume by version; and an output's member-facing form.

use crate::wire::encode;
use axum::extract::ws::Utf8Bytes;
use coguest_core::{Audience, Output, Timestamp};
use coguest_proto::{Change, ServerMsg, WireBody};
use std::collections::VecDeque;

#[derive(Clone)]
pub(crate) struct RingEntry {
    pub version: u64,
    pub to: Audience,
    pub text: Utf8Bytes,
    /// The whole seat list (a newer one supersedes it in a connection's queue).
    pub seats: bool,
}

/// How much a room keeps for resuming clients: at most `entries` outputs and `bytes` of their
/// text, so the history costs a bounded amount per room however busy or large it is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RingCap {
    pub entries: usize,
    pub bytes: usize,
}

impl RingCap {
    pub fn of(config: &crate::config::ServerConfig) -> Self {
        RingCap {
            entries: config.resume_ring,
            bytes: config.resume_ring_bytes,
        }
    }
}

/// The newest outputs of a room, oldest first, for clients resuming by version.
#[derive(Clone)]
pub(crate) struct ResumeRing {
    pub entries: VecDeque<RingEntry>,
    /// Clients at or past this version can resume; older ones get a snapshot.
    pub floor: u64,
    /// Text bytes held (plus a fixed cost per entry).
    pub bytes: usize,
}

impl ResumeRing {
    pub fn new(floor: u64) -> Self {
        ResumeRing {
            entries: VecDeque::new(),
            floor,
            bytes: 0,
        }
    }

    fn cost(e: &RingEntry) -> usize {
        e.text.len() + std::mem::size_of::<RingEntry>()
    }

    pub fn push(&mut self, entry: RingEntry, cap: RingCap) {
        self.bytes += Self::cost(&entry);
        self.entries.push_back(entry);
        while self.entries.len() > cap.entries || self.bytes > cap.bytes {
            let Some(old) = self.entries.pop_front() else {
                break;
            };
            self.bytes -= Self::cost(&old);
            // Some output of `old.version` is gone, so only clients at or past it can resume.
            self.floor = self.floor.max(old.version);
        }
    }

    /// The outputs after `since`.
    pub fn after(&self, since: u64) -> impl Iterator<Item = &RingEntry> {
        self.entries.iter().filter(move |e| e.version > since)
    }
}

/// The member-facing form of an output of a mutation applied at `at`; `None` for backend
/// notices. A request's entry in `applicants` or `invitees` is added when it is made, so `at`
/// is its `requested_ms`.
pub(crate) fn output_entry(room: &str, at: Timestamp, out: Output) -> Option<RingEntry> {
    let msg = match WireBody::from(&out.body) {
        WireBody::Backend => return None,
        WireBody::Event(event) => ServerMsg::Event {
            room: room.to_owned(),
            version: out.version,
            event,
        },
        WireBody::Change(mut change) => {
            match &mut change {
                Change::ApplicantAdded { applicant } => {
                    applicant.requested_ms = Some(at.as_millis());
                }
                Change::InviteeAdded { invitee } => invitee.requested_ms = Some(at.as_millis()),
                _ => {}
            }
            ServerMsg::Change {
                room: room.to_owned(),
                version: out.version,
                change,
            }
        }
    };
    let seats = matches!(
        &msg,
        ServerMsg::Change {
            change: Change::Seats { .. },
            ..
        }
    );
    Some(RingEntry {
        version: out.version,
        to: out.to,
        text: encode(&msg),
        seats,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(version: u64, len: usize) -> RingEntry {
        RingEntry {
            version,
            to: Audience::Room,
            text: Utf8Bytes::from("x".repeat(len)),
            seats: false,
        }
    }

    #[test]
    fn the_resume_ring_is_bounded_by_entries_and_by_bytes() {
        let per = ResumeRing::cost(&entry(0, 100));
        let cap = RingCap {
            entries: 10,
            bytes: 3 * per,
        };
        let mut ring = ResumeRing::new(0);
        for v in 1..=5 {
            ring.push(entry(v, 100), cap);
        }
        // Bytes bound it: the three newest stay, and only clients at 2 or later can resume.
        assert_eq!(
            ring.after(0).map(|e| e.version).collect::<Vec<_>>(),
            [3, 4, 5]
        );
        assert_eq!(ring.floor, 2);
        assert_eq!(ring.bytes, 3 * per);

        let cap = RingCap {
            entries: 2,
            bytes: usize::MAX,
        };
        let mut ring = ResumeRing::new(7);
        for v in 8..=12 {
            ring.push(entry(v, 1), cap);
        }
        assert_eq!(
            ring.after(0).map(|e| e.version).collect::<Vec<_>>(),
            [11, 12]
        );
        assert_eq!(ring.floor, 10);
    }
}
