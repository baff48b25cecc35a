//! What a room tells the outside world: listener events and view changes, each addressed.

use crate::config::SeatMode;
use crate::id::{RequestId, SeatChoice, SeatIndex, UserId};
use crate::member::{Device, Role, UserInfo};
use crate::view::{Applicant, Invitee, QueuePosition, RoomView, SeatInfo};
use serde::{Deserialize, Serialize};

/// Why a request closed without an answer (the reference's `NoResponseReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoResponseReason {
    /// The request reached its deadline (reference value 0).
    Timeout,
    /// The user got a seat by another path (reference value 1).
    AlreadySeated,
}

impl NoResponseReason {
    /// The reference API's numeric value.
    pub fn code(self) -> i32 {
        match self {
            NoResponseReason::Timeout => 0,
            NoResponseReason::AlreadySeated => 1,
        }
    }
}

/// Listener events, named after the reference `HostListener` / `GuestListener` callbacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// To every host: a member applied for a seat (`onGuestApplicationReceived`).
    GuestApplicationReceived {
        /// The applicant.
        guest: UserInfo,
        /// The request.
        request_id: RequestId,
        /// The seat asked for.
        seat: SeatChoice,
        /// The applicant's free-form data.
        extra_info: Option<String>,
    },
    /// To every host: the applicant withdrew, or left the room (`onGuestApplicationCancelled`).
    GuestApplicationCancelled {
        /// The applicant.
        guest: UserInfo,
    },
    /// To every host but the one who answered: another host accepted or rejected the
    /// application (`onGuestApplicationProcessedByOtherHost`).
    GuestApplicationProcessedByOtherHost {
        /// The applicant.
        guest: UserInfo,
        /// The host who answered.
        host: UserInfo,
    },
    /// To the applicant: a host answered (`onGuestApplicationResponded`).
    GuestApplicationResponded {
        /// Whether the host accepted (and the applicant is now seated).
        accepted: bool,
        /// The host who answered.
        host: UserInfo,
    },
    /// To the applicant: the application closed unanswered (`onGuestApplicationNoResponse`).
    GuestApplicationNoResponse {
        /// Why.
        reason: NoResponseReason,
    },
    /// To the invitee: a host invited it (`onHostInvitationReceived`).
    HostInvitationReceived {
        /// The inviting host.
        host: UserInfo,
        /// The request.
        request_id: RequestId,
        /// The seat offered.
        seat: SeatChoice,
        /// The host's free-form data.
        extra_info: Option<String>,
    },
    /// To the invitee: the host withdrew the invitation, or left the room
    /// (`onHostInvitationCancelled`).
    HostInvitationCancelled {
        /// The inviting host.
        host: UserInfo,
    },
    /// To the inviting host: the invitee answered (`onHostInvitationResponded`). An invitee who
    /// leaves the room counts as a refusal.
    HostInvitationResponded {
        /// Whether the invitee accepted (and is now seated).
        accepted: bool,
        /// The invitee.
        guest: UserInfo,
    },
    /// To the inviting host: the invitation closed unanswered (`onHostInvitationNoResponse`).
    HostInvitationNoResponse {
        /// The invitee.
        guest: UserInfo,
        /// Why.
        reason: NoResponseReason,
    },
    /// To a user removed from its seat by a host, or by the seat being locked
    /// (`onKickedOffSeat`).
    KickedOffSeat {
        /// The seat it was on.
        seat: SeatIndex,
        /// The host who did it.
        host: UserInfo,
    },
    /// To a user a host moved to another seat (by a move or as the other side of a swap).
    MovedToSeat {
        /// The seat it was on.
        from: SeatIndex,
        /// The seat it is on now.
        to: SeatIndex,
        /// The host who did it.
        host: UserInfo,
    },
    /// To the user concerned: a host allowed or disallowed a device for it (`seat` is `None`)
    /// or for the seat it sits on. A disallowed device that was open is now closed.
    DevicePermissionChanged {
        /// Which device.
        device: Device,
        /// Whether it may be opened now (taking both user and seat permissions into account).
        allowed: bool,
        /// The seat, for a per-seat change.
        seat: Option<SeatIndex>,
        /// The host who did it.
        host: UserInfo,
    },
    /// To the user concerned: the owner granted or revoked admin. Its permissions change at
    /// once, and a `Reset` of its views follows.
    RoleChanged {
        /// The new role.
        role: Role,
        /// The owner.
        by: UserInfo,
    },
}

/// A change to the views (`applicants`, `invitees`, `candidates`, the seat list). There is no
/// change of `connected`: it is the seat list's occupants, so every member derives it from the
/// `Seats` change (one room-wide message per seat change instead of two).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ViewChange {
    /// An application entered `applicants`.
    ApplicantAdded(Applicant),
    /// An application left `applicants`.
    ApplicantRemoved {
        /// The applicant.
        user: UserId,
    },
    /// An invitation entered `invitees`.
    InviteeAdded(Invitee),
    /// An invitation left `invitees`.
    InviteeRemoved {
        /// The invitee.
        user: UserId,
        /// The inviting host.
        host: UserId,
    },
    /// A member entered the (capped) `candidates` view.
    CandidateAdded(UserInfo),
    /// A member left the `candidates` view.
    CandidateRemoved {
        /// The member.
        user: UserId,
    },
    /// The whole seat list after the change: every seat, empty ones included.
    Seats {
        /// Seats in index order.
        seats: Vec<SeatInfo>,
    },
    /// Room settings after a host changed them.
    Settings {
        /// Seat mode.
        seat_mode: SeatMode,
        /// Number of seats.
        max_seat_count: u16,
    },
    /// The viewer's whole view, replacing what it had (its role changed).
    Reset(Box<RoomView>),
    /// To one applicant: its place in the application queue after its position or the
    /// queue's length changed; `None` once its application closed.
    QueuePosition(Option<QueuePosition>),
}

/// Who an output is for. The caller resolves hosts from the room's members at delivery time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "user", rename_all = "snake_case")]
pub enum Audience {
    /// Every member of the room.
    Room,
    /// Every host.
    Hosts,
    /// Every host except this one.
    HostsExcept(UserId),
    /// Every host, and this user (the subject of the change) whatever its role.
    HostsAnd(UserId),
    /// This user only.
    User(UserId),
    /// No member: the server's backend (webhooks). Carries [`OutputBody::Notice`]s.
    Backend,
}

impl Audience {
    /// Whether a member with this id and role receives the output.
    pub fn includes(&self, user: &UserId, is_host: bool) -> bool {
        match self {
            Audience::Room => true,
            Audience::Hosts => is_host,
            Audience::HostsExcept(u) => is_host && u != user,
            Audience::HostsAnd(u) => is_host || u == user,
            Audience::User(u) => u == user,
            Audience::Backend => false,
        }
    }
}

/// What an output carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "body", rename_all = "snake_case")]
pub enum OutputBody {
    /// A listener event.
    Event(Event),
    /// A change to the views.
    Change(ViewChange),
    /// A transition for the app's backend (webhooks), addressed to [`Audience::Backend`].
    Notice(Notice),
}

/// A room transition for the app's backend, with the user whose command caused it (`None`
/// when a deadline did). Emitted next to the member-facing outputs of the same mutation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// Who caused it: the command's actor (`@operator` for the admin API), or `None` for a
    /// timeout.
    pub actor: Option<UserId>,
    /// What happened.
    pub kind: NoticeKind,
}

/// What happened, one variant per transition. The names are the webhook event types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NoticeKind {
    /// A member entered the room.
    MemberJoined {
        /// The member.
        user: UserId,
        /// Its role.
        role: Role,
    },
    /// A member left the room.
    MemberLeft {
        /// The member.
        user: UserId,
    },
    /// A member applied for a seat.
    ApplicationCreated {
        /// The applicant.
        user: UserId,
        /// The request.
        request_id: RequestId,
        /// The seat asked for.
        seat: SeatChoice,
    },
    /// The applicant withdrew, or left the room.
    ApplicationCancelled {
        /// The applicant.
        user: UserId,
    },
    /// A host accepted the application (a `seated` notice follows).
    ApplicationAccepted {
        /// The applicant.
        user: UserId,
    },
    /// A host rejected the application.
    ApplicationRejected {
        /// The applicant.
        user: UserId,
    },
    /// The application reached its deadline.
    ApplicationTimedOut {
        /// The applicant.
        user: UserId,
    },
    /// The application closed because the applicant got a seat by another path.
    ApplicationClosedAlreadySeated {
        /// The applicant.
        user: UserId,
    },
    /// A host invited a member.
    InvitationCreated {
        /// The invitee.
        user: UserId,
        /// The inviting host.
        host: UserId,
        /// The request.
        request_id: RequestId,
        /// The seat offered.
        seat: SeatChoice,
    },
    /// The host withdrew the invitation, left the room, or lost its admin role.
    InvitationCancelled {
        /// The invitee.
        user: UserId,
        /// The inviting host.
        host: UserId,
    },
    /// The invitee accepted (a `seated` notice follows).
    InvitationAccepted {
        /// The invitee.
        user: UserId,
        /// The inviting host.
        host: UserId,
    },
    /// The invitee rejected, or left the room.
    InvitationRejected {
        /// The invitee.
        user: UserId,
        /// The inviting host.
        host: UserId,
    },
    /// The invitation reached its deadline.
    InvitationTimedOut {
        /// The invitee.
        user: UserId,
        /// The inviting host.
        host: UserId,
    },
    /// The invitation closed (or was answered at once) because the invitee is seated.
    InvitationClosedAlreadySeated {
        /// The invitee.
        user: UserId,
        /// The inviting host.
        host: UserId,
    },
    /// A user sat down.
    Seated {
        /// The user.
        user: UserId,
        /// The seat.
        seat: SeatIndex,
    },
    /// A user left its seat (by itself, kicked, locked out or leaving the room).
    LeftSeat {
        /// The user.
        user: UserId,
        /// The seat.
        seat: SeatIndex,
    },
    /// A host removed a user from its seat (directly, by locking it, or by force-replace);
    /// a `left_seat` notice accompanies it.
    Kicked {
        /// The user.
        user: UserId,
        /// The seat.
        seat: SeatIndex,
    },
    /// A seated user changed seats.
    Moved {
        /// The user.
        user: UserId,
        /// From.
        from: SeatIndex,
        /// To.
        to: SeatIndex,
    },
    /// A seat was locked.
    SeatLocked {
        /// The seat.
        seat: SeatIndex,
    },
    /// A seat was unlocked.
    SeatUnlocked {
        /// The seat.
        seat: SeatIndex,
    },
    /// Room settings changed.
    SettingsChanged {
        /// Seat mode.
        seat_mode: SeatMode,
        /// Number of seats.
        max_seat_count: u16,
    },
    /// The owner granted or revoked admin.
    RoleChanged {
        /// The user.
        user: UserId,
        /// Its new role.
        role: Role,
    },
    /// A host allowed or disallowed a device for a user or a seat.
    DevicePermissionChanged {
        /// The user, for a per-user change.
        user: Option<UserId>,
        /// The seat, for a per-seat change.
        seat: Option<SeatIndex>,
        /// Which device.
        device: Device,
        /// Allowed or not.
        allowed: bool,
    },
}

impl NoticeKind {
    /// The stable type name (the webhook `type`).
    pub fn name(&self) -> &'static str {
        match self {
            NoticeKind::MemberJoined { .. } => "member_joined",
            NoticeKind::MemberLeft { .. } => "member_left",
            NoticeKind::ApplicationCreated { .. } => "application_created",
            NoticeKind::ApplicationCancelled { .. } => "application_cancelled",
            NoticeKind::ApplicationAccepted { .. } => "application_accepted",
            NoticeKind::ApplicationRejected { .. } => "application_rejected",
            NoticeKind::ApplicationTimedOut { .. } => "application_timed_out",
            NoticeKind::ApplicationClosedAlreadySeated { .. } => {
                "application_closed_already_seated"
            }
            NoticeKind::InvitationCreated { .. } => "invitation_created",
            NoticeKind::InvitationCancelled { .. } => "invitation_cancelled",
            NoticeKind::InvitationAccepted { .. } => "invitation_accepted",
            NoticeKind::InvitationRejected { .. } => "invitation_rejected",
            NoticeKind::InvitationTimedOut { .. } => "invitation_timed_out",
            NoticeKind::InvitationClosedAlreadySeated { .. } => "invitation_closed_already_seated",
            NoticeKind::Seated { .. } => "seated",
            NoticeKind::LeftSeat { .. } => "left_seat",
            NoticeKind::Kicked { .. } => "kicked",
            NoticeKind::Moved { .. } => "moved",
            NoticeKind::SeatLocked { .. } => "seat_locked",
            NoticeKind::SeatUnlocked { .. } => "seat_unlocked",
            NoticeKind::SettingsChanged { .. } => "settings_changed",
            NoticeKind::RoleChanged { .. } => "role_changed",
            NoticeKind::DevicePermissionChanged { .. } => "device_permission_changed",
        }
    }
}

/// One addressed output of a mutation, stamped with the room version that mutation produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Output {
    /// Room version after the mutation that produced this output.
    pub version: u64,
    /// Who receives it.
    pub to: Audience,
    /// What it says.
    pub body: OutputBody,
}
