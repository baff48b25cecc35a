//! This node's part in a room: single node, cluster owner (with its lease epoch) or follower.

use std::time::Instant;

/// This node's part in a room.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Part {
    /// Single node: storage is not shared, the room is always ours.
    Single,
    /// Cluster owner with this lease epoch; the lease is trusted without asking Redis until
    /// `valid_until` (a safety margin before it expires).
    Owner { epoch: u64, valid_until: Instant },
    /// Cluster follower: applies the entries the owner publishes, forwards commands.
    Follower,
}

impl Part {
    /// An owner that acquired (or renewed) its lease at `sent`.
    pub fn owner(epoch: u64, sent: Instant, lease: std::time::Duration) -> Self {
        Part::Owner {
            epoch,
            valid_until: sent + lease * 3 / 4,
        }
    }
}
