//! The SDK's public data types: users, seats, the observable state and the event enums.

pub use coguest_proto::{ClosedReason, Device, MovePolicy, SeatMode};
use tokio::sync::watch;

/// The reference `LiveUserInfo`: who a user is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct LiveUserInfo {
    /// User id.
    pub user_id: String,
    /// Display name (from the user's token; may be empty).
    pub user_name: String,
    /// Avatar URL (from the user's token; may be empty).
    pub avatar_url: String,
}

impl From<coguest_proto::LiveUserInfo> for LiveUserInfo {
    fn from(u: coguest_proto::LiveUserInfo) -> Self {
        LiveUserInfo {
            user_id: u.user_id,
            user_name: u.user_name,
            avatar_url: u.avatar_url,
        }
    }
}

impl From<&coguest_proto::LiveUserInfo> for LiveUserInfo {
    fn from(u: &coguest_proto::LiveUserInfo) -> Self {
        LiveUserInfo::from(u.clone())
    }
}

/// A member's role in a room, from its token (the reference `Role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The room owner (a host).
    Owner,
    /// An administrator (a host).
    Admin,
    /// An audience member.
    GeneralUser,
}

impl Role {
    /// Whether this role is a host (owner or admin): hosts receive [`HostEvent`]s about
    /// everyone and see every applicant, invitee and candidate.
    pub fn is_host(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

impl From<coguest_proto::Role> for Role {
    fn from(r: coguest_proto::Role) -> Self {
        match r {
            coguest_proto::Role::Owner => Role::Owner,
            coguest_proto::Role::Admin => Role::Admin,
            coguest_proto::Role::Audience => Role::GeneralUser,
        }
    }
}

/// The reference `SeatUserInfo`: a user on a seat.
///
/// The device fields (`microphone_on`, `camera_on`) come from the room's seat list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct SeatUserInfo {
    /// Seat index (0 is the owner's seat when the room keeps its owner on seat).
    pub seat_index: i32,
    /// User id.
    pub user_id: String,
    /// Display name.
    pub user_name: String,
    /// Avatar URL.
    pub avatar_url: String,
    /// The user's role.
    pub role: Role,
    /// The live room id this seat belongs to.
    pub live_id: String,
    /// Microphone open.
    pub microphone_on: bool,
    /// Camera open.
    pub camera_on: bool,
}

impl SeatUserInfo {
    /// The seated user as a [`LiveUserInfo`].
    pub fn user(&self) -> LiveUserInfo {
        LiveUserInfo {
            user_id: self.user_id.clone(),
            user_name: self.user_name.clone(),
            avatar_url: self.avatar_url.clone(),
        }
    }

    /// The wire's seated user with its seat's open devices (`devices_on` of its seat in the
    /// seat list: the wire's `SeatUserInfo` has none), so no caller can leave them unset.
    pub(crate) fn from_wire(
        s: &coguest_proto::SeatUserInfo,
        devices_on: coguest_proto::DeviceFlags,
        live_id: &str,
    ) -> Self {
        SeatUserInfo {
            seat_index: s.seat_index,
            user_id: s.user_id.clone(),
            user_name: s.user_name.clone(),
            avatar_url: s.avatar_url.clone(),
            role: s.role.into(),
            live_id: live_id.to_owned(),
            microphone_on: devices_on.microphone,
            camera_on: devices_on.camera,
        }
    }
}

/// Why a request closed without an answer (the reference `NoResponseReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum NoResponseReason {
    /// The request timed out.
    Timeout = 0,
    /// The user got a seat by another path, so the request no longer applies.
    AlreadySeated = 1,
}

impl From<coguest_proto::NoResponseReason> for NoResponseReason {
    fn from(r: coguest_proto::NoResponseReason) -> Self {
        match r {
            coguest_proto::NoResponseReason::Timeout => NoResponseReason::Timeout,
            coguest_proto::NoResponseReason::AlreadySeated => NoResponseReason::AlreadySeated,
        }
    }
}

/// The reference `CoGuestState`: four observable lists, one `watch` receiver each.
///
/// Each receiver always holds the latest value; `changed().await` wakes on updates. A list is
/// updated *before* the listener callback and stream event that correspond to the same server
/// message. After a reconnect that had to fall back to a fresh snapshot, the lists are replaced
/// by the snapshot's.
#[derive(Debug, Clone)]
pub struct CoGuestState {
    /// Users on seats, in seat order.
    pub connected: watch::Receiver<Vec<SeatUserInfo>>,
    /// Users with a pending invitation. Hosts see every invitee; other members see themselves
    /// while they hold an invitation. A user invited by two hosts is listed once.
    pub invitees: watch::Receiver<Vec<LiveUserInfo>>,
    /// Users with a pending application, in application order. Hosts see every applicant;
    /// other members see themselves while applying.
    pub applicants: watch::Receiver<Vec<LiveUserInfo>>,
    /// Members who could be invited (present, not seated, nothing pending), in joining order
    /// and capped by the server (default 100). Hosts see the list; others see at most
    /// themselves.
    pub candidates: watch::Receiver<Vec<LiveUserInfo>>,
}

/// An applicant's place in its room's application queue: pending applications in the order
/// the server received them (not a client's clock). See
/// [`CoGuestStore::queue_position`](crate::CoGuestStore::queue_position).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct QueuePosition {
    /// 1 for the first in line, up to `length`.
    pub position: u32,
    /// Pending applications in the room.
    pub length: u32,
}

impl From<coguest_proto::QueuePosition> for QueuePosition {
    fn from(q: coguest_proto::QueuePosition) -> Self {
        QueuePosition {
            position: q.position,
            length: q.length,
        }
    }
}

/// Host-side events, the stream form of [`HostListener`](crate::HostListener).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostEvent {
    /// An audience member applied for a seat (`onGuestApplicationReceived`).
    GuestApplicationReceived {
        /// The applicant.
        guest_user: LiveUserInfo,
        /// Seat asked for; `-1` for any.
        seat_index: i32,
        /// The applicant's free-form data.
        extra_info: Option<String>,
    },
    /// An applicant cancelled (or left the room) (`onGuestApplicationCancelled`).
    GuestApplicationCancelled {
        /// The applicant.
        guest_user: LiveUserInfo,
    },
    /// Another host answered this application first
    /// (`onGuestApplicationProcessedByOtherHost`).
    GuestApplicationProcessedByOtherHost {
        /// The applicant.
        guest_user: LiveUserInfo,
        /// The host who answered.
        host_user: LiveUserInfo,
    },
    /// The invitee answered this host's invitation (`onHostInvitationResponded`).
    HostInvitationResponded {
        /// Whether the invitee accepted.
        is_accept: bool,
        /// The invitee.
        guest_user: LiveUserInfo,
    },
    /// This host's invitation closed unanswered (`onHostInvitationNoResponse`).
    HostInvitationNoResponse {
        /// The invitee.
        guest_user: LiveUserInfo,
        /// Why.
        reason: NoResponseReason,
    },
}

/// Guest-side events, the stream form of [`GuestListener`](crate::GuestListener).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GuestEvent {
    /// A host invited this user to a seat (`onHostInvitationReceived`).
    HostInvitationReceived {
        /// The inviting host.
        host_user: LiveUserInfo,
        /// Seat offered; `-1` for any.
        seat_index: i32,
        /// The host's free-form data.
        extra_info: Option<String>,
    },
    /// The host withdrew its invitation (`onHostInvitationCancelled`).
    HostInvitationCancelled {
        /// The inviting host.
        host_user: LiveUserInfo,
    },
    /// A host answered this user's application (`onGuestApplicationResponded`).
    GuestApplicationResponded {
        /// Whether the host accepted (the user is then seated).
        is_accept: bool,
        /// The host who answered.
        host_user: LiveUserInfo,
    },
    /// This user's application closed unanswered (`onGuestApplicationNoResponse`).
    GuestApplicationNoResponse {
        /// Why.
        reason: NoResponseReason,
    },
    /// A host removed this user from its seat (`onKickedOffSeat`).
    KickedOffSeat {
        /// The seat the user was on.
        seat_index: i32,
        /// The host who did it.
        host_user: LiveUserInfo,
    },
}

/// One seat, empty or not (the reference `SeatInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SeatInfo {
    /// Seat index.
    pub seat_index: i32,
    /// The occupant, if any (its `microphone_on` / `camera_on` are filled in).
    pub user: Option<SeatUserInfo>,
    /// Whether the seat is locked (it cannot be taken, applied for or assigned).
    pub is_locked: bool,
    /// A host disallowed the microphone on this seat.
    pub seat_microphone_disallowed: bool,
    /// A host disallowed the camera on this seat.
    pub seat_camera_disallowed: bool,
    /// A host disallowed the occupant's microphone.
    pub user_microphone_disallowed: bool,
    /// A host disallowed the occupant's camera.
    pub user_camera_disallowed: bool,
}

impl SeatInfo {
    /// Whether the occupant may open `device` here (no host disallowed it for the user or
    /// the seat).
    pub fn device_allowed(&self, device: Device) -> bool {
        match device {
            Device::Microphone => {
                !self.seat_microphone_disallowed && !self.user_microphone_disallowed
            }
            Device::Camera => !self.seat_camera_disallowed && !self.user_camera_disallowed,
        }
    }

    pub(crate) fn from_wire(s: &coguest_proto::SeatInfo, live_id: &str) -> Self {
        SeatInfo {
            seat_index: s.seat_index,
            user: s
                .user
                .as_ref()
                .map(|u| SeatUserInfo::from_wire(u, s.devices_on, live_id)),
            is_locked: s.locked,
            seat_microphone_disallowed: s.seat_disallowed.microphone,
            seat_camera_disallowed: s.seat_disallowed.camera,
            user_microphone_disallowed: s.user_disallowed.microphone,
            user_camera_disallowed: s.user_disallowed.camera,
        }
    }
}

/// Seat events, the stream form of [`SeatListener`](crate::SeatListener).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SeatEvent {
    /// This user was removed from its seat by a host, or by the seat being locked.
    KickedOffSeat {
        /// The seat it was on.
        seat_index: i32,
        /// The host.
        host_user: LiveUserInfo,
    },
    /// A host moved this user to another seat.
    MovedToSeat {
        /// The seat it was on.
        from_seat_index: i32,
        /// The seat it is on now.
        to_seat_index: i32,
        /// The host.
        host_user: LiveUserInfo,
    },
    /// A host allowed or disallowed a device for this user (`seat_index` `None`) or its seat.
    DevicePermissionChanged {
        /// Which device.
        device: Device,
        /// Whether this user may open it now.
        allowed: bool,
        /// The seat, for a per-seat change.
        seat_index: Option<i32>,
        /// The host.
        host_user: LiveUserInfo,
    },
    /// The owner granted or revoked admin to this user; its lists were replaced.
    RoleChanged {
        /// The new role.
        role: Role,
        /// The owner.
        by_user: LiveUserInfo,
    },
}
