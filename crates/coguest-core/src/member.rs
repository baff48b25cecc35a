//! Members of a room, their roles and their per-user co-guest state.

use crate::id::{RequestId, SeatChoice, SeatIndex, UserId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A member's role in the room. It comes from the member's token, never from a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The room's owner: a host. At most one owner is present at a time.
    Owner,
    /// An admin: a host.
    Admin,
    /// Everyone else.
    Audience,
}

impl Role {
    /// Hosts are the owner and the admins.
    pub fn is_host(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

/// A seated user's media device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    /// The microphone.
    Microphone,
    /// The camera.
    Camera,
}

impl Device {
    /// Its name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Device::Microphone => "microphone",
            Device::Camera => "camera",
        }
    }
}

/// On/off and allowed flags for a pair of devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DeviceFlags {
    /// Microphone flag.
    pub microphone: bool,
    /// Camera flag.
    pub camera: bool,
}

impl DeviceFlags {
    /// The flag of `device`.
    pub fn get(self, device: Device) -> bool {
        match device {
            Device::Microphone => self.microphone,
            Device::Camera => self.camera,
        }
    }

    /// Sets the flag of `device`.
    pub fn set(&mut self, device: Device, value: bool) {
        match device {
            Device::Microphone => self.microphone = value,
            Device::Camera => self.camera = value,
        }
    }
}

/// What others see of a user.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Profile {
    /// Display name.
    pub user_name: String,
    /// Avatar image URL.
    pub avatar_url: String,
}

/// A user as shown in views and events (the reference's `LiveUserInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserInfo {
    /// The user's id.
    pub user_id: UserId,
    /// Display name.
    pub user_name: String,
    /// Avatar image URL.
    pub avatar_url: String,
}

/// A pending application for a seat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    /// The request's id.
    pub id: RequestId,
    /// The seat asked for.
    pub seat: SeatChoice,
    /// When it times out.
    pub deadline: Timestamp,
    /// Free-form data from the applicant, passed to hosts.
    pub extra_info: Option<String>,
}

/// A pending invitation to a seat, from one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    /// The request's id.
    pub id: RequestId,
    /// The seat offered.
    pub seat: SeatChoice,
    /// When it times out.
    pub deadline: Timestamp,
    /// Free-form data from the host, passed to the invitee.
    pub extra_info: Option<String>,
}

/// The requests pending for one user that is not seated. Never empty: a user with no pending
/// request is [`GuestState::Audience`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRequests {
    application: Option<Application>,
    invitations: BTreeMap<UserId, Invitation>,
}

impl PendingRequests {
    /// The user's own application, if any.
    pub fn application(&self) -> Option<&Application> {
        self.application.as_ref()
    }

    /// Invitations received, by inviting host.
    pub fn invitations(&self) -> &BTreeMap<UserId, Invitation> {
        &self.invitations
    }
}

/// A user's co-guest state. Holds only valid data: a seated user has no pending request, and
/// a pending state always holds at least one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum GuestState {
    /// In the room, not seated, nothing pending.
    #[default]
    Audience,
    /// Not seated, with an application and/or invitations pending.
    Pending(PendingRequests),
    /// On a seat.
    Seated(SeatIndex),
}

impl GuestState {
    /// Builds the state for these requests: [`GuestState::Audience`] when there are none.
    pub fn from_requests(
        application: Option<Application>,
        invitations: BTreeMap<UserId, Invitation>,
    ) -> Self {
        if application.is_none() && invitations.is_empty() {
            GuestState::Audience
        } else {
            GuestState::Pending(PendingRequests {
                application,
                invitations,
            })
        }
    }

    /// The seat, if seated.
    pub fn seat(&self) -> Option<SeatIndex> {
        match self {
            GuestState::Seated(s) => Some(*s),
            _ => None,
        }
    }

    /// The pending application, if any.
    pub fn application(&self) -> Option<&Application> {
        match self {
            GuestState::Pending(p) => p.application.as_ref(),
            _ => None,
        }
    }

    /// Pending invitations, by host (empty unless pending).
    pub fn invitations(&self) -> impl Iterator<Item = (&UserId, &Invitation)> {
        let map = match self {
            GuestState::Pending(p) => Some(&p.invitations),
            _ => None,
        };
        map.into_iter().flatten()
    }

    /// The invitation from `host`, if pending.
    pub fn invitation_from(&self, host: &UserId) -> Option<&Invitation> {
        match self {
            GuestState::Pending(p) => p.invitations.get(host),
            _ => None,
        }
    }

    /// Splits a non-seated state into its requests (for rebuilding it).
    pub(crate) fn into_requests(self) -> (Option<Application>, BTreeMap<UserId, Invitation>) {
        match self {
            GuestState::Pending(p) => (p.application, p.invitations),
            GuestState::Audience | GuestState::Seated(_) => (None, BTreeMap::new()),
        }
    }
}

/// One member of a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The member's id.
    pub user_id: UserId,
    /// What others see.
    pub profile: Profile,
    /// The member's role.
    pub role: Role,
    /// Order of joining, for a stable `candidates` order.
    pub join_seq: u64,
    /// Co-guest state.
    pub state: GuestState,
    /// Devices open (only while seated; cleared on leaving the seat).
    #[serde(default)]
    pub devices_on: DeviceFlags,
    /// Devices a host disallowed for this user.
    #[serde(default)]
    pub devices_disallowed: DeviceFlags,
}

impl Member {
    /// The member as shown to others.
    pub fn info(&self) -> UserInfo {
        UserInfo {
            user_id: self.user_id.clone(),
            user_name: self.profile.user_name.clone(),
            avatar_url: self.profile.avatar_url.clone(),
        }
    }
}
