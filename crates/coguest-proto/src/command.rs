//! What a client sends: one frame (a request id, a room, a command) and every command it can
//! carry, with their wire names.

#[cfg(doc)]
use crate::wire::ServerMsg;
use crate::wire::{Device, MovePolicy, SeatMode};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One frame from a client: a request id and a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ClientFrame {
    /// Client-chosen request id, unique per user and room; the answer carries it back.
    pub id: u64,
    /// The room the command is for (every command but `ping` needs one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    /// The command.
    #[serde(flatten)]
    pub command: ClientCommand,
}

/// What a client asks for. Co-guest commands mirror the reference `CoGuestStore` methods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum ClientCommand {
    /// Join the room (an unknown room is created with default settings when the token may
    /// create it: by default an owner). Answered by a [`ServerMsg::Snapshot`]
    /// then an ack; with `since`, by what was missed after that version when the server still
    /// has it, or a snapshot when it does not.
    Join {
        /// Last room version the client saw, to resume from.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<u64>,
    },
    /// Leave the room now (no reconnect grace period).
    Leave,
    /// `applyForSeat`.
    ApplyForSeat {
        /// Seat index; `-1` for any seat.
        seat_index: i32,
        /// Timeout in seconds.
        timeout: u32,
        /// Free-form data for the hosts.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        extra_info: Option<String>,
    },
    /// `cancelApplication`.
    CancelApplication,
    /// `acceptApplication`.
    AcceptApplication {
        /// The applicant.
        user_id: String,
    },
    /// Host: accept the first application in line (the oldest pending one), as
    /// `accept_application` of its applicant would. `QUEUE_EMPTY` when none is pending.
    AcceptNextApplication,
    /// `rejectApplication`.
    RejectApplication {
        /// The applicant.
        user_id: String,
    },
    /// `inviteToSeat`.
    InviteToSeat {
        /// The invitee.
        invitee_id: String,
        /// Seat index; `-1` for any seat.
        seat_index: i32,
        /// Timeout in seconds.
        timeout: u32,
        /// Free-form data for the invitee.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        extra_info: Option<String>,
    },
    /// `cancelInvitation`.
    CancelInvitation {
        /// The invitee.
        invitee_id: String,
    },
    /// `acceptInvitation`.
    AcceptInvitation {
        /// The inviting host.
        inviter_id: String,
    },
    /// `rejectInvitation`.
    RejectInvitation {
        /// The inviting host.
        inviter_id: String,
    },
    /// `disconnect`: leave the seat, stay in the room.
    Disconnect,
    /// Host: remove a user from its seat.
    KickOffSeat {
        /// The seated user.
        user_id: String,
    },
    /// Host: lock a seat (its occupant, if any, is removed and told).
    LockSeat {
        /// The seat.
        seat_index: i32,
    },
    /// Host: unlock a seat.
    UnlockSeat {
        /// The seat.
        seat_index: i32,
    },
    /// `takeSeat`: sit on a free seat directly (free-to-take rooms only).
    TakeSeat {
        /// Seat index; `-1` for any free seat.
        seat_index: i32,
    },
    /// `leaveSeat`: leave the seat, stay in the room.
    LeaveSeat,
    /// `moveUserToSeat`: a host moves a seated user; a seated user may move itself to a free
    /// seat (policy `abort_when_occupied`).
    MoveToSeat {
        /// The seated user.
        user_id: String,
        /// The target seat.
        seat_index: i32,
        /// What to do when the target is occupied (default `abort_when_occupied`).
        #[serde(default = "default_policy")]
        policy: MovePolicy,
    },
    /// Seated member: open or close its microphone or camera.
    SetDevice {
        /// `microphone` or `camera`.
        device: Device,
        /// Open (`true`) or close.
        on: bool,
    },
    /// Host: allow or disallow a device for one user.
    SetUserDevicePermission {
        /// The user.
        user_id: String,
        /// `microphone` or `camera`.
        device: Device,
        /// Whether the user may open it.
        allowed: bool,
    },
    /// Host: allow or disallow a device on one seat.
    SetSeatDevicePermission {
        /// The seat.
        seat_index: i32,
        /// `microphone` or `camera`.
        device: Device,
        /// Whether its occupant may open it.
        allowed: bool,
    },
    /// Host: change room settings (absent fields stay as they are).
    ChangeSettings {
        /// New seat mode.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seat_mode: Option<SeatMode>,
        /// New number of seats (1..=64).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_seat_count: Option<u16>,
    },
    /// Owner: grant (`admin: true`) or revoke admin.
    SetAdmin {
        /// The user.
        user_id: String,
        /// Grant or revoke.
        admin: bool,
    },
    /// Ask for a fresh snapshot of the room (after detecting a gap, say).
    Snapshot,
    /// Keep-alive; answered by an ack.
    Ping,
    /// Present a new token on this open connection, before the current one expires. The
    /// server checks it as at connect (signature, expiry) and requires the connection's user,
    /// role and room limit; on success the connection's expiry becomes the new token's, and
    /// nothing else changes. A refused token changes nothing. Needs no `room` (one given is
    /// ignored).
    UpdateToken {
        /// The new token (a JWT, as at connect).
        token: String,
    },
    /// Service admin (an `adm` token, or the API key): watch the room without joining it.
    /// Answered like `join`: a snapshot of the host view (or, with `since`, what was missed),
    /// the recent event log, then an ack; then every change and event the hosts get, and a
    /// [`ServerMsg::Log`] per transition. The observer is not a member: it holds no seat, is
    /// not a candidate and is not counted.
    Observe {
        /// Last room version the observer saw, to resume from.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<u64>,
    },
    /// Stop observing the room.
    Unobserve,
    /// Service admin, not limited to a room: watch every room's summary. Answered by a full
    /// [`ServerMsg::Rooms`] and an ack, then by `rooms` messages with the rooms that changed.
    /// Needs no `room`.
    ObserveRooms,
    /// Stop watching the rooms' summaries. Needs no `room`.
    UnobserveRooms,
}

impl ClientCommand {
    /// Every `cmd` name the protocol knows, in declaration order (each is some variant's
    /// [`ClientCommand::kind`]).
    pub const NAMES: &'static [&'static str] = &[
        "join",
        "leave",
        "apply_for_seat",
        "cancel_application",
        "accept_application",
        "accept_next_application",
        "reject_application",
        "invite_to_seat",
        "cancel_invitation",
        "accept_invitation",
        "reject_invitation",
        "disconnect",
        "kick_off_seat",
        "lock_seat",
        "unlock_seat",
        "take_seat",
        "leave_seat",
        "move_to_seat",
        "set_device",
        "set_user_device_permission",
        "set_seat_device_permission",
        "change_settings",
        "set_admin",
        "snapshot",
        "ping",
        "update_token",
        "observe",
        "unobserve",
        "observe_rooms",
        "unobserve_rooms",
    ];

    /// Whether this command has no fields (only `id`, `room` and `cmd` in its frame). The
    /// decoder refuses others in its frame: serde's derived reader would ignore them.
    pub fn takes_no_fields(&self) -> bool {
        matches!(
            self,
            ClientCommand::Leave
                | ClientCommand::CancelApplication
                | ClientCommand::AcceptNextApplication
                | ClientCommand::Disconnect
                | ClientCommand::LeaveSeat
                | ClientCommand::Snapshot
                | ClientCommand::Ping
                | ClientCommand::Unobserve
                | ClientCommand::ObserveRooms
                | ClientCommand::UnobserveRooms
        )
    }

    /// The `cmd` name of this command, also used in logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientCommand::Join { .. } => "join",
            ClientCommand::Leave => "leave",
            ClientCommand::ApplyForSeat { .. } => "apply_for_seat",
            ClientCommand::CancelApplication => "cancel_application",
            ClientCommand::AcceptApplication { .. } => "accept_application",
            ClientCommand::AcceptNextApplication => "accept_next_application",
            ClientCommand::RejectApplication { .. } => "reject_application",
            ClientCommand::InviteToSeat { .. } => "invite_to_seat",
            ClientCommand::CancelInvitation { .. } => "cancel_invitation",
            ClientCommand::AcceptInvitation { .. } => "accept_invitation",
            ClientCommand::RejectInvitation { .. } => "reject_invitation",
            ClientCommand::Disconnect => "disconnect",
            ClientCommand::KickOffSeat { .. } => "kick_off_seat",
            ClientCommand::LockSeat { .. } => "lock_seat",
            ClientCommand::UnlockSeat { .. } => "unlock_seat",
            ClientCommand::TakeSeat { .. } => "take_seat",
            ClientCommand::LeaveSeat => "leave_seat",
            ClientCommand::MoveToSeat { .. } => "move_to_seat",
            ClientCommand::SetDevice { .. } => "set_device",
            ClientCommand::SetUserDevicePermission { .. } => "set_user_device_permission",
            ClientCommand::SetSeatDevicePermission { .. } => "set_seat_device_permission",
            ClientCommand::ChangeSettings { .. } => "change_settings",
            ClientCommand::SetAdmin { .. } => "set_admin",
            ClientCommand::Snapshot => "snapshot",
            ClientCommand::Ping => "ping",
            ClientCommand::UpdateToken { .. } => "update_token",
            ClientCommand::Observe { .. } => "observe",
            ClientCommand::Unobserve => "unobserve",
            ClientCommand::ObserveRooms => "observe_rooms",
            ClientCommand::UnobserveRooms => "unobserve_rooms",
        }
    }
}

fn default_policy() -> MovePolicy {
    MovePolicy::AbortWhenOccupied
}
