//! Commands: every way the outside world can ask a room to change.

use crate::config::SeatMode;
use crate::id::{SeatChoice, SeatIndex, UserId};
use crate::member::{Device, Profile, Role};
use serde::{Deserialize, Serialize};

/// A command, applied by [`Room::handle_command`](crate::Room::handle_command) on behalf of an
/// actor. The co-guest commands mirror the reference `CoGuestStore` methods one for one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Command {
    /// The actor enters the room (or refreshes its profile and role when already in it). The
    /// role comes from the actor's credentials, which the caller checked.
    Join {
        /// Profile shown to others.
        profile: Profile,
        /// Role from the actor's credentials.
        role: Role,
    },
    /// The actor leaves the room: its requests close and it leaves its seat. The server sends
    /// this after the reconnect grace period, not on every dropped connection.
    Leave,
    /// `applyForSeat`: apply for a seat; the application goes to every host.
    ApplyForSeat {
        /// The seat asked for.
        seat: SeatChoice,
        /// Seconds until the application times out.
        timeout_s: u32,
        /// Free-form data for the hosts.
        extra_info: Option<String>,
    },
    /// `cancelApplication`: withdraw the actor's pending application.
    CancelApplication,
    /// `acceptApplication`: a host seats the applicant.
    AcceptApplication {
        /// The applicant.
        user: UserId,
    },
    /// A host accepts the first application in line (the oldest pending one), as
    /// [`Command::AcceptApplication`] of its applicant would. Refused with
    /// [`CommandError::QueueEmpty`](crate::CommandError::QueueEmpty) when none is pending.
    AcceptNextApplication,
    /// `rejectApplication`: a host turns the application down.
    RejectApplication {
        /// The applicant.
        user: UserId,
    },
    /// `inviteToSeat`: a host invites a member to a seat.
    InviteToSeat {
        /// The invitee.
        user: UserId,
        /// The seat offered.
        seat: SeatChoice,
        /// Seconds until the invitation times out.
        timeout_s: u32,
        /// Free-form data for the invitee.
        extra_info: Option<String>,
    },
    /// `cancelInvitation`: the inviting host withdraws its invitation.
    CancelInvitation {
        /// The invitee.
        user: UserId,
    },
    /// `acceptInvitation`: the invitee takes the offered seat.
    AcceptInvitation {
        /// The inviting host.
        from: UserId,
    },
    /// `rejectInvitation`: the invitee turns the invitation down.
    RejectInvitation {
        /// The inviting host.
        from: UserId,
    },
    /// `disconnect`: the actor leaves its seat and stays in the room.
    Disconnect,
    /// A host removes a user from its seat.
    KickOffSeat {
        /// The seated user.
        user: UserId,
    },
    /// A host locks a seat: it cannot be taken, applied for or assigned. Its occupant, if any,
    /// leaves it and is told.
    LockSeat {
        /// The seat.
        seat: SeatIndex,
    },
    /// A host unlocks a seat.
    UnlockSeat {
        /// The seat.
        seat: SeatIndex,
    },
    /// `takeSeat`: the actor sits on a free seat directly. Only in [`SeatMode::FreeToTake`]
    /// rooms; in apply-to-take rooms members apply instead.
    TakeSeat {
        /// The seat (or any free one).
        seat: SeatChoice,
    },
    /// `leaveSeat`: the actor leaves its seat and stays in the room (same rule as
    /// [`Command::Disconnect`]).
    LeaveSeat,
    /// `moveUserToSeat`: a host moves a seated user to another seat, or a seated user moves
    /// itself to a free seat (policy [`MovePolicy::AbortWhenOccupied`] only). Atomic.
    MoveToSeat {
        /// The seated user to move.
        user: UserId,
        /// Where to.
        seat: SeatIndex,
        /// What to do when the target seat is occupied.
        policy: MovePolicy,
    },
    /// The seated actor opens or closes its microphone or camera.
    SetDevice {
        /// Which device.
        device: Device,
        /// Open (`true`) or closed.
        on: bool,
    },
    /// A host allows or disallows a device for one user (wherever it sits). Disallowing
    /// closes the device if open; the user is told.
    SetUserDevicePermission {
        /// The user.
        user: UserId,
        /// Which device.
        device: Device,
        /// Whether the user may open it.
        allowed: bool,
    },
    /// A host allows or disallows a device on one seat (for whoever sits there). Disallowing
    /// closes the occupant's device if open; the occupant is told.
    SetSeatDevicePermission {
        /// The seat.
        seat: SeatIndex,
        /// Which device.
        device: Device,
        /// Whether its occupant may open it.
        allowed: bool,
    },
    /// A host changes room settings at run time. Absent fields stay as they are. Shrinking
    /// `max_seat_count` below an occupied seat is refused: empty those seats first.
    ChangeSettings {
        /// New seat mode.
        seat_mode: Option<SeatMode>,
        /// New number of seats.
        max_seat_count: Option<u16>,
    },
    /// A host seats a member directly (no request), closing its pending requests as
    /// already-seated. The admin API's "pick a user onto a seat".
    PickToSeat {
        /// The member.
        user: UserId,
        /// The seat (or any free one).
        seat: SeatChoice,
    },
    /// The owner grants (`admin: true`) or revokes admin to a user, effective at once and kept
    /// for this room if the user leaves and comes back.
    SetAdmin {
        /// The user.
        user: UserId,
        /// Grant or revoke.
        admin: bool,
    },
}

/// What [`Command::MoveToSeat`] does when the target seat is occupied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MovePolicy {
    /// Refuse with `SeatOccupied`.
    AbortWhenOccupied,
    /// Remove the occupant (it is told, as when kicked), then move.
    ForceReplace,
    /// The two users exchange seats.
    Swap,
}

impl Command {
    /// A short, stable name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Command::Join { .. } => "join",
            Command::Leave => "leave",
            Command::ApplyForSeat { .. } => "apply_for_seat",
            Command::CancelApplication => "cancel_application",
            Command::AcceptApplication { .. } => "accept_application",
            Command::AcceptNextApplication => "accept_next_application",
            Command::RejectApplication { .. } => "reject_application",
            Command::InviteToSeat { .. } => "invite_to_seat",
            Command::CancelInvitation { .. } => "cancel_invitation",
            Command::AcceptInvitation { .. } => "accept_invitation",
            Command::RejectInvitation { .. } => "reject_invitation",
            Command::Disconnect => "disconnect",
            Command::KickOffSeat { .. } => "kick_off_seat",
            Command::LockSeat { .. } => "lock_seat",
            Command::UnlockSeat { .. } => "unlock_seat",
            Command::TakeSeat { .. } => "take_seat",
            Command::LeaveSeat => "leave_seat",
            Command::MoveToSeat { .. } => "move_to_seat",
            Command::SetDevice { .. } => "set_device",
            Command::SetUserDevicePermission { .. } => "set_user_device_permission",
            Command::SetSeatDevicePermission { .. } => "set_seat_device_permission",
            Command::ChangeSettings { .. } => "change_settings",
            Command::SetAdmin { .. } => "set_admin",
            Command::PickToSeat { .. } => "pick_to_seat",
        }
    }
}
