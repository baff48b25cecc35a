//! Room settings and their documented bounds.

use crate::error::ConfigError;
use serde::{Deserialize, Serialize};

/// How audience members get onto seats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SeatMode {
    /// Members apply and a host accepts (or a host invites and the member accepts).
    #[default]
    ApplyToTake,
    /// Members may also take a free seat directly (`take_seat`); requests work the same in
    /// both modes.
    FreeToTake,
}

/// The settings of one room. [`RoomConfig::default`] gives the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RoomConfig {
    /// Number of seats, indices `0..max_seat_count`. Default 9, bounds `1..=64`.
    pub max_seat_count: u16,
    /// How members get onto seats. Default [`SeatMode::ApplyToTake`].
    pub seat_mode: SeatMode,
    /// The owner takes seat 0 on joining and cannot leave it; seat 0 is reserved for the owner.
    /// Default on, as in the reference.
    pub keep_owner_on_seat: bool,
    /// Shortest request timeout accepted, in seconds. Default 1.
    pub min_request_timeout_s: u32,
    /// Longest request timeout accepted, in seconds. Default 600, at most 86 400.
    pub max_request_timeout_s: u32,
    /// Largest `extra_info` accepted, in bytes of UTF-8. Default 2048, at most 65 536.
    pub max_extra_info_bytes: u32,
    /// Most entries in the hosts' `candidates` view. Default 100, bounds `1..=1000`.
    pub max_candidates: u32,
    /// Most members in the room at once. Default 20 000, at least 1.
    pub max_members: u32,
}

impl Default for RoomConfig {
    fn default() -> Self {
        RoomConfig {
            max_seat_count: 9,
            seat_mode: SeatMode::ApplyToTake,
            keep_owner_on_seat: true,
            min_request_timeout_s: 1,
            max_request_timeout_s: 600,
            max_extra_info_bytes: 2048,
            max_candidates: 100,
            max_members: 20_000,
        }
    }
}

impl RoomConfig {
    /// Largest allowed `max_seat_count`.
    pub const SEAT_COUNT_LIMIT: u16 = 64;
    /// Largest allowed `max_request_timeout_s` (one day).
    pub const TIMEOUT_LIMIT_S: u32 = 86_400;
    /// Largest allowed `max_extra_info_bytes`.
    pub const EXTRA_INFO_LIMIT: u32 = 65_536;
    /// Largest allowed `max_candidates`.
    pub const CANDIDATES_LIMIT: u32 = 1000;

    /// Checks every bound, so a room never runs with settings it cannot honour.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |what: &'static str| Err(ConfigError { field: what });
        if self.max_seat_count == 0 || self.max_seat_count > Self::SEAT_COUNT_LIMIT {
            return bad("max_seat_count must be 1..=64");
        }
        if self.min_request_timeout_s == 0
            || self.min_request_timeout_s > self.max_request_timeout_s
            || self.max_request_timeout_s > Self::TIMEOUT_LIMIT_S
        {
            return bad("request timeouts must satisfy 1 <= min <= max <= 86400");
        }
        if self.max_extra_info_bytes > Self::EXTRA_INFO_LIMIT {
            return bad("max_extra_info_bytes must be at most 65536");
        }
        if self.max_candidates == 0 || self.max_candidates > Self::CANDIDATES_LIMIT {
            return bad("max_candidates must be 1..=1000");
        }
        if self.max_members == 0 {
            return bad("max_members must be at least 1");
        }
        Ok(())
    }
}
