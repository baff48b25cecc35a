//! The views a member sees, derived from the one room model, and their entries.

use crate::config::SeatMode;
use crate::id::{RequestId, SeatChoice, SeatIndex, UserId};
use crate::member::{DeviceFlags, Role, UserInfo};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// The reference `CoGuestState` as one viewer sees it at one room version.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RoomView {
    /// The room version this view reflects.
    pub version: u64,
    /// Seated users in seat order (everyone sees all of them).
    pub connected: Vec<SeatUser>,
    /// Pending applications, oldest first (hosts: all; others: their own).
    pub applicants: Vec<Applicant>,
    /// Pending invitations, oldest first (hosts: all; others: those to themselves).
    pub invitees: Vec<Invitee>,
    /// Members present who are neither seated nor pending, in joining order, capped at the
    /// room's `max_candidates` (hosts: all of those; others: themselves if listed).
    pub candidates: Vec<UserInfo>,
    /// Every seat, empty ones included, with lock and device flags (everyone sees all).
    pub seats: Vec<SeatInfo>,
    /// The room's seat mode.
    pub seat_mode: SeatMode,
    /// The viewer's place in the application queue, while it has a pending application.
    #[serde(default)]
    pub queue: Option<QueuePosition>,
}

/// An applicant's place in its room's application queue: pending applications in arrival
/// order (the order the room accepted them in, which is the order of their request ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuePosition {
    /// 1 for the first in line, up to `length`.
    pub position: u32,
    /// Pending applications in the room.
    pub length: u32,
}

/// One seat as everyone sees it (the reference `LiveSeatStore`'s `SeatInfo`), empty or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatInfo {
    /// The seat.
    pub seat_index: SeatIndex,
    /// Who sits there, with its role.
    pub user: Option<SeatUser>,
    /// Whether the seat is locked.
    pub locked: bool,
    /// The occupant's open devices (all off when empty).
    pub devices_on: DeviceFlags,
    /// Devices a host disallowed on this seat.
    pub seat_disallowed: DeviceFlags,
    /// Devices a host disallowed for the occupant (all off when empty).
    pub user_disallowed: DeviceFlags,
}

/// A seated user (the reference's `SeatUserInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatUser {
    /// The seat.
    pub seat_index: SeatIndex,
    /// Who sits there.
    pub user: UserInfo,
    /// Its role.
    pub role: Role,
}

/// An entry of the `applicants` view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applicant {
    /// The applicant.
    pub user: UserInfo,
    /// The request.
    pub request_id: RequestId,
    /// The seat asked for.
    pub seat: SeatChoice,
    /// When it times out.
    pub deadline: Timestamp,
    /// The applicant's free-form data.
    pub extra_info: Option<String>,
}

/// An entry of the `invitees` view: one invitation (a user invited by two hosts has two).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitee {
    /// The invitee.
    pub user: UserInfo,
    /// The inviting host.
    pub host: UserId,
    /// The request.
    pub request_id: RequestId,
    /// The seat offered.
    pub seat: SeatChoice,
    /// When it times out.
    pub deadline: Timestamp,
}
