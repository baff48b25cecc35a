//! What the server sends (`ServerMsg`) and the values both sides carry: the
//! room state a client holds (`CoGuestState`), its changes and the listener events.

use crate::codes::ErrorCode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Version of this protocol, announced in [`ServerMsg::Welcome`]. Bumped on any breaking change.
pub const PROTOCOL_VERSION: u32 = 1;

/// A frame from the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum ServerMsg {
    /// First frame on a connection, once the token is accepted.
    Welcome {
        /// [`PROTOCOL_VERSION`].
        protocol: u32,
        /// The authenticated user.
        user_id: String,
        /// The role the token grants.
        role: Role,
    },
    /// A command succeeded.
    Ack {
        /// The client request id.
        id: u64,
        /// The room, for room commands.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<String>,
        /// Room version after the command.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<u64>,
        /// Id of the application or invitation the command created, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<u64>,
    },
    /// A command failed and changed nothing, or a frame could not be read (`id` absent).
    Error {
        /// The client request id, when the frame could be read that far.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
        /// Stable numeric code (see [`ErrorCode`]).
        code: i32,
        /// Human-readable explanation.
        message: String,
        /// `APPROVAL_DENIED` only: the code the app's approval hook gave, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        app_code: Option<i32>,
        /// `APPROVAL_DENIED` only: the reason the app's approval hook gave, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The whole room as this user sees it.
    Snapshot {
        /// The room.
        room: String,
        /// The views.
        state: CoGuestState,
    },
    /// A listener event addressed to this user.
    Event {
        /// The room.
        room: String,
        /// Room version that produced it.
        version: u64,
        /// The event.
        event: Event,
    },
    /// A change to this user's views.
    Change {
        /// The room.
        room: String,
        /// Room version that produced it.
        version: u64,
        /// The change.
        change: Change,
    },
    /// Sent after replaying what a resuming client missed: it is now up to date.
    Resumed {
        /// The room.
        room: String,
        /// Current room version.
        version: u64,
    },
    /// The room was closed; the client is no longer a member.
    RoomClosed {
        /// The room.
        room: String,
        /// Why: `closed` (the admin API) unless said otherwise.
        #[serde(default, skip_serializing_if = "ClosedReason::is_closed")]
        reason: ClosedReason,
    },
    /// To observers: one transition of the room, with who caused it (the event log).
    Log {
        /// The room.
        room: String,
        /// The transition.
        entry: LogEntry,
    },
    /// To rooms-list watchers: room summaries.
    Rooms {
        /// The whole list (replacing what the client had), or only the rooms that changed.
        full: bool,
        /// Summaries (of every room when `full`).
        rooms: Vec<RoomSummary>,
        /// Rooms closed since the last message.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        closed: Vec<String>,
    },
}

/// One room transition in an observer's event log: the webhook body's fields without its id
/// (`docs/WEBHOOKS.md` lists every `type` and its `data`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LogEntry {
    /// The room version the transition produced.
    pub version: u64,
    /// Its position among the transitions of that version (from 0).
    pub n: u32,
    /// The transition (`member_joined`, `application_created`, `seated`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// The user whose command caused it; `@operator` for the admin API; `null` for a deadline.
    pub actor: Option<String>,
    /// When it happened (Unix ms, server clock).
    pub at_ms: u64,
    /// The transition's fields (`user_id`, `seat_index`, `inviter_id`, ...).
    pub data: serde_json::Map<String, serde_json::Value>,
}

/// One room at a glance, for the rooms list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RoomSummary {
    /// The room.
    pub room: String,
    /// Its version.
    pub version: u64,
    /// Number of seats.
    pub seat_count: u16,
    /// Occupied seats.
    pub seated: u32,
    /// Members present (connected, or within their reconnect grace period).
    pub members: u32,
    /// Pending applications.
    pub applicants: u32,
    /// Pending invitations.
    pub invitees: u32,
    /// Seat mode.
    pub seat_mode: SeatMode,
    /// When the room last changed (Unix ms, server clock), when this node knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_change_ms: Option<u64>,
}

/// What `move_to_seat` does when the target seat is occupied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MovePolicy {
    /// Refuse with `SEAT_OCCUPIED`.
    AbortWhenOccupied,
    /// Remove the occupant (it gets `kicked_off_seat`), then move.
    ForceReplace,
    /// The two users exchange seats.
    Swap,
}

/// A seated user's media device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    /// The microphone.
    Microphone,
    /// The camera.
    Camera,
}

/// How members get onto seats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SeatMode {
    /// Members apply (or are invited); `take_seat` is refused.
    #[default]
    ApplyToTake,
    /// Members may also `take_seat` directly.
    FreeToTake,
}

/// A flag per device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
pub struct DeviceFlags {
    /// Microphone.
    pub microphone: bool,
    /// Camera.
    pub camera: bool,
}

/// One seat, empty or not (the reference `LiveSeatStore`'s `SeatInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SeatInfo {
    /// Seat index.
    pub seat_index: i32,
    /// The occupant, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<SeatUserInfo>,
    /// Whether the seat is locked (absent: not locked).
    #[serde(default, skip_serializing_if = "is_false")]
    pub locked: bool,
    /// The occupant's open devices (absent: none).
    #[serde(default, skip_serializing_if = "DeviceFlags::is_empty")]
    pub devices_on: DeviceFlags,
    /// Devices a host disallowed on this seat (absent: none).
    #[serde(default, skip_serializing_if = "DeviceFlags::is_empty")]
    pub seat_disallowed: DeviceFlags,
    /// Devices a host disallowed for the occupant (absent: none).
    #[serde(default, skip_serializing_if = "DeviceFlags::is_empty")]
    pub user_disallowed: DeviceFlags,
}

// Seat lists go to every member on every seat change: flags left at their default are not
// sent, which makes an empty seat `{"seat_index":3}` instead of about 190 bytes.
#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
fn is_false(b: &bool) -> bool {
    !*b
}

impl DeviceFlags {
    /// Neither device.
    #[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
    pub fn is_empty(&self) -> bool {
        !self.microphone && !self.camera
    }
}

/// A member's role, from its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The room owner (a host).
    Owner,
    /// An admin (a host).
    Admin,
    /// An audience member (`GeneralUser` in the reference).
    Audience,
}

/// The reference `LiveUserInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct LiveUserInfo {
    /// User id.
    pub user_id: String,
    /// Display name.
    pub user_name: String,
    /// Avatar URL.
    pub avatar_url: String,
}

/// The reference `SeatUserInfo`: a seated user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SeatUserInfo {
    /// Seat index.
    pub seat_index: i32,
    /// User id.
    pub user_id: String,
    /// Display name.
    pub user_name: String,
    /// Avatar URL.
    pub avatar_url: String,
    /// Role.
    pub role: Role,
}

/// An entry of `applicants`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ApplicantInfo {
    /// The applicant.
    pub user: LiveUserInfo,
    /// The application's id.
    pub request_id: u64,
    /// Seat asked for; `-1` for any.
    pub seat_index: i32,
    /// When it times out (Unix ms).
    pub deadline_ms: u64,
    /// The applicant's free-form data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_info: Option<String>,
    /// When it was made (Unix ms, server clock): in `applicant_added`, and in snapshots when
    /// the server knows it (not for a request made before the room was last loaded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_ms: Option<u64>,
}

/// An entry of `invitees`: one invitation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InviteeInfo {
    /// The invitee.
    pub user: LiveUserInfo,
    /// The inviting host's id.
    pub inviter_id: String,
    /// The invitation's id.
    pub request_id: u64,
    /// Seat offered; `-1` for any.
    pub seat_index: i32,
    /// When it times out (Unix ms).
    pub deadline_ms: u64,
    /// When it was made (Unix ms, server clock), as for [`ApplicantInfo::requested_ms`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_ms: Option<u64>,
}

/// The reference `CoGuestState` at one room version, as one user sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct CoGuestState {
    /// Room version.
    pub version: u64,
    /// Seated users.
    pub connected: Vec<SeatUserInfo>,
    /// Pending invitations (hosts: all; others: their own).
    pub invitees: Vec<InviteeInfo>,
    /// Pending applications (hosts: all; others: their own).
    pub applicants: Vec<ApplicantInfo>,
    /// Members who could be invited (hosts: capped list; others: themselves if listed).
    pub candidates: Vec<LiveUserInfo>,
    /// Every seat, empty ones included, with lock and device flags.
    #[serde(default)]
    pub seats: Vec<SeatInfo>,
    /// The room's seat mode.
    #[serde(default)]
    pub seat_mode: SeatMode,
    /// This user's place in the room's application queue, while it has a pending application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueuePosition>,
}

/// An applicant's place in its room's application queue: pending applications in the order
/// the server received them (not a client's clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct QueuePosition {
    /// 1 for the first in line, up to `length`.
    pub position: u32,
    /// Pending applications in the room.
    pub length: u32,
}

/// Why a room was closed ([`ServerMsg::RoomClosed`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClosedReason {
    /// Closed by the admin API (the default when `reason` is absent).
    #[default]
    Closed,
    /// Cluster mode: the room's data was lost from Redis (restarted without persistence,
    /// flushed, or another Redis). The room is gone; joining it again creates a new, empty
    /// room.
    Lost,
}

impl ClosedReason {
    /// Whether this is [`ClosedReason::Closed`] (left out of the message).
    pub fn is_closed(&self) -> bool {
        matches!(self, ClosedReason::Closed)
    }
}

/// Reason a request closed unanswered: `timeout` (0) or `already_seated` (1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoResponseReason {
    /// The request timed out (reference value 0).
    Timeout,
    /// The user got a seat by another path (reference value 1).
    AlreadySeated,
}

/// Listener events, named after the reference callbacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// Host: `onGuestApplicationReceived`.
    GuestApplicationReceived {
        /// The applicant.
        guest_user: LiveUserInfo,
        /// The application's id.
        request_id: u64,
        /// Seat asked for; `-1` for any.
        seat_index: i32,
        /// The applicant's free-form data.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        extra_info: Option<String>,
    },
    /// Host: `onGuestApplicationCancelled`.
    GuestApplicationCancelled {
        /// The applicant.
        guest_user: LiveUserInfo,
    },
    /// Host: `onGuestApplicationProcessedByOtherHost`.
    GuestApplicationProcessedByOtherHost {
        /// The applicant.
        guest_user: LiveUserInfo,
        /// The host who answered.
        host_user: LiveUserInfo,
    },
    /// Host: `onHostInvitationResponded`.
    HostInvitationResponded {
        /// Whether the invitee accepted.
        is_accept: bool,
        /// The invitee.
        guest_user: LiveUserInfo,
    },
    /// Host: `onHostInvitationNoResponse`.
    HostInvitationNoResponse {
        /// The invitee.
        guest_user: LiveUserInfo,
        /// Why.
        reason: NoResponseReason,
    },
    /// Guest: `onHostInvitationReceived`.
    HostInvitationReceived {
        /// The inviting host.
        host_user: LiveUserInfo,
        /// The invitation's id.
        request_id: u64,
        /// Seat offered; `-1` for any.
        seat_index: i32,
        /// The host's free-form data.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        extra_info: Option<String>,
    },
    /// Guest: `onHostInvitationCancelled`.
    HostInvitationCancelled {
        /// The inviting host.
        host_user: LiveUserInfo,
    },
    /// Guest: `onGuestApplicationResponded`.
    GuestApplicationResponded {
        /// Whether the host accepted.
        is_accept: bool,
        /// The host who answered.
        host_user: LiveUserInfo,
    },
    /// Guest: `onGuestApplicationNoResponse`.
    GuestApplicationNoResponse {
        /// Why.
        reason: NoResponseReason,
    },
    /// Guest: `onKickedOffSeat`.
    KickedOffSeat {
        /// The seat the user was on.
        seat_index: i32,
        /// The host who did it.
        host_user: LiveUserInfo,
    },
    /// Seated user: a host moved it (a move, or the other side of a swap).
    MovedToSeat {
        /// The seat it was on.
        from_seat_index: i32,
        /// The seat it is on now.
        to_seat_index: i32,
        /// The host who did it.
        host_user: LiveUserInfo,
    },
    /// User: a host allowed or disallowed a device for it (`seat_index` absent) or for its seat.
    DevicePermissionChanged {
        /// Which device.
        device: Device,
        /// Whether it may open it now.
        allowed: bool,
        /// The seat, for a per-seat change.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seat_index: Option<i32>,
        /// The host who did it.
        host_user: LiveUserInfo,
    },
    /// User: the owner granted or revoked admin; a `reset` change follows.
    RoleChanged {
        /// The new role.
        role: Role,
        /// The owner.
        by_user: LiveUserInfo,
    },
}

/// A change to the `CoGuestState` views.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    /// An entry joined `applicants`.
    ApplicantAdded {
        /// The entry.
        applicant: ApplicantInfo,
    },
    /// An entry left `applicants`.
    ApplicantRemoved {
        /// The applicant.
        user_id: String,
    },
    /// An entry joined `invitees`.
    InviteeAdded {
        /// The entry.
        invitee: InviteeInfo,
    },
    /// An entry left `invitees`.
    InviteeRemoved {
        /// The invitee.
        user_id: String,
        /// The inviting host.
        inviter_id: String,
    },
    /// An entry joined `candidates`.
    CandidateAdded {
        /// The member.
        user: LiveUserInfo,
    },
    /// An entry left `candidates`.
    CandidateRemoved {
        /// The member.
        user_id: String,
    },
    /// The whole new seat list.
    Seats {
        /// Every seat in index order.
        seats: Vec<SeatInfo>,
    },
    /// Room settings after a host changed them.
    Settings {
        /// Seat mode.
        seat_mode: SeatMode,
        /// Number of seats.
        max_seat_count: u16,
    },
    /// The whole state, replacing the client's (its role changed).
    Reset {
        /// The new state.
        state: Box<CoGuestState>,
    },
    /// To an applicant: its place in the application queue, sent when its position or the
    /// queue's length changed; `null` once its application closed (accepted, rejected,
    /// cancelled, timed out).
    QueuePosition {
        /// The place, or `null` when no longer in the queue.
        queue: Option<QueuePosition>,
    },
}

impl CoGuestState {
    /// Applies one change, as a client keeps its views current.
    pub fn apply(&mut self, version: u64, change: &Change) {
        self.version = self.version.max(version);
        match change {
            Change::ApplicantAdded { applicant } => {
                self.applicants
                    .retain(|a| a.user.user_id != applicant.user.user_id);
                self.applicants.push(applicant.clone());
            }
            Change::ApplicantRemoved { user_id } => {
                self.applicants.retain(|a| &a.user.user_id != user_id);
            }
            Change::InviteeAdded { invitee } => {
                self.invitees.retain(|i| {
                    !(i.user.user_id == invitee.user.user_id && i.inviter_id == invitee.inviter_id)
                });
                self.invitees.push(invitee.clone());
            }
            Change::InviteeRemoved {
                user_id,
                inviter_id,
            } => {
                self.invitees
                    .retain(|i| !(&i.user.user_id == user_id && &i.inviter_id == inviter_id));
            }
            Change::CandidateAdded { user } => {
                self.candidates.retain(|c| c.user_id != user.user_id);
                self.candidates.push(user.clone());
            }
            Change::CandidateRemoved { user_id } => {
                self.candidates.retain(|c| &c.user_id != user_id);
            }
            Change::Seats { seats } => {
                // `connected` is the seat list's occupants, in seat order.
                self.connected = seats.iter().filter_map(|s| s.user.clone()).collect();
                self.seats = seats.clone();
            }
            Change::Settings { seat_mode, .. } => self.seat_mode = *seat_mode,
            Change::Reset { state } => *self = (**state).clone(),
            Change::QueuePosition { queue } => self.queue = *queue,
        }
    }
}

/// Errors turning a wire value into a core value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct WireError {
    /// The code to answer with.
    pub code: ErrorCode,
    /// What was wrong.
    pub message: String,
}
