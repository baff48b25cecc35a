//! What is persisted of a room: the model only, never the derived indexes.

use crate::config::RoomConfig;
use crate::id::UserId;
use crate::member::{DeviceFlags, Member, Role};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A seat's persisted state (its occupant is recorded on the member).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatSnapshot {
    /// Whether the seat is locked.
    pub locked: bool,
    /// Devices a host disallowed on this seat.
    #[serde(default)]
    pub devices_disallowed: DeviceFlags,
}

/// Everything needed to rebuild a [`Room`](crate::Room) that behaves identically from here on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSnapshot {
    /// Settings.
    pub config: RoomConfig,
    /// Room version.
    pub version: u64,
    /// Latest time seen (time never goes backwards for a room).
    pub last_now: Timestamp,
    /// Next request id to hand out.
    pub next_request_id: u64,
    /// Next join sequence number.
    pub next_join_seq: u64,
    /// Seats in index order.
    pub seats: Vec<SeatSnapshot>,
    /// Members with their state and pending requests (deadlines included).
    pub members: Vec<Member>,
    /// Roles the owner granted or revoked, applied when these users (re)join.
    #[serde(default)]
    pub role_grants: BTreeMap<UserId, Role>,
}
