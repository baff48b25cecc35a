//! Commands: every way the outside world can ask a room to change.

use crate::id::{SeatChoice, SeatIndex, UserId};
use crate::member::{Profile, Role};
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
            Command::RejectApplication { .. } => "reject_application",
            Command::InviteToSeat { .. } => "invite_to_seat",
            Command::CancelInvitation { .. } => "cancel_invitation",
            Command::AcceptInvitation { .. } => "accept_invitation",
            Command::RejectInvitation { .. } => "reject_invitation",
            Command::Disconnect => "disconnect",
            Command::KickOffSeat { .. } => "kick_off_seat",
            Command::LockSeat { .. } => "lock_seat",
            Command::UnlockSeat { .. } => "unlock_seat",
        }
    }
}
