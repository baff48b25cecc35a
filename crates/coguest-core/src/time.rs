//! Time as data: the core never reads a clock, callers pass `now` in.

use serde::{Deserialize, Serialize};

/// A point in time in Unix milliseconds.
///
/// Not `std::time::Instant`: deadlines are persisted and may be read back by another process,
/// which an `Instant` cannot be.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The Unix epoch.
    pub const ZERO: Timestamp = Timestamp(0);

    /// A timestamp `ms` milliseconds after the Unix epoch.
    pub const fn from_millis(ms: u64) -> Self {
        Timestamp(ms)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// This timestamp plus `secs` seconds, saturating at the far future.
    pub const fn plus_secs(self, secs: u32) -> Self {
        Timestamp(self.0.saturating_add(secs as u64 * 1000))
    }

    /// This timestamp plus `ms` milliseconds, saturating at the far future.
    pub const fn plus_millis(self, ms: u64) -> Self {
        Timestamp(self.0.saturating_add(ms))
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}ms", self.0)
    }
}
