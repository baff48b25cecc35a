//! The views a member sees, derived from the one room model.

use crate::config::SeatMode;
use crate::event::{Applicant, Invitee, SeatInfo, SeatUser};
use crate::member::UserInfo;
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
}
