//! Conversions between core values and wire values. The only place both shapes meet.

use crate::codes::ErrorCode;
use crate::command::ClientCommand;
use crate::wire::{
    ApplicantInfo, Change, CoGuestState, Device, DeviceFlags, Event, InviteeInfo, LiveUserInfo,
    MovePolicy, NoResponseReason, QueuePosition, Role, SeatInfo, SeatMode, SeatUserInfo, WireError,
};
use coguest_core as core;

impl From<&core::UserInfo> for LiveUserInfo {
    fn from(u: &core::UserInfo) -> Self {
        LiveUserInfo {
            user_id: u.user_id.to_string(),
            user_name: u.user_name.clone(),
            avatar_url: u.avatar_url.clone(),
        }
    }
}

impl From<core::Role> for Role {
    fn from(r: core::Role) -> Self {
        match r {
            core::Role::Owner => Role::Owner,
            core::Role::Admin => Role::Admin,
            core::Role::Audience => Role::Audience,
        }
    }
}

impl From<Role> for core::Role {
    fn from(r: Role) -> Self {
        match r {
            Role::Owner => core::Role::Owner,
            Role::Admin => core::Role::Admin,
            Role::Audience => core::Role::Audience,
        }
    }
}

impl From<core::SeatMode> for SeatMode {
    fn from(m: core::SeatMode) -> Self {
        match m {
            core::SeatMode::ApplyToTake => SeatMode::ApplyToTake,
            core::SeatMode::FreeToTake => SeatMode::FreeToTake,
        }
    }
}

impl From<SeatMode> for core::SeatMode {
    fn from(m: SeatMode) -> Self {
        match m {
            SeatMode::ApplyToTake => core::SeatMode::ApplyToTake,
            SeatMode::FreeToTake => core::SeatMode::FreeToTake,
        }
    }
}

impl From<core::Device> for Device {
    fn from(d: core::Device) -> Self {
        match d {
            core::Device::Microphone => Device::Microphone,
            core::Device::Camera => Device::Camera,
        }
    }
}

impl From<Device> for core::Device {
    fn from(d: Device) -> Self {
        match d {
            Device::Microphone => core::Device::Microphone,
            Device::Camera => core::Device::Camera,
        }
    }
}

impl From<MovePolicy> for core::MovePolicy {
    fn from(p: MovePolicy) -> Self {
        match p {
            MovePolicy::AbortWhenOccupied => core::MovePolicy::AbortWhenOccupied,
            MovePolicy::ForceReplace => core::MovePolicy::ForceReplace,
            MovePolicy::Swap => core::MovePolicy::Swap,
        }
    }
}

impl From<core::DeviceFlags> for DeviceFlags {
    fn from(f: core::DeviceFlags) -> Self {
        DeviceFlags {
            microphone: f.microphone,
            camera: f.camera,
        }
    }
}

impl From<&core::SeatInfo> for SeatInfo {
    fn from(s: &core::SeatInfo) -> Self {
        SeatInfo {
            seat_index: i32::from(s.seat_index.0),
            user: s.user.as_ref().map(Into::into),
            locked: s.locked,
            devices_on: s.devices_on.into(),
            seat_disallowed: s.seat_disallowed.into(),
            user_disallowed: s.user_disallowed.into(),
        }
    }
}

impl From<core::NoResponseReason> for NoResponseReason {
    fn from(r: core::NoResponseReason) -> Self {
        match r {
            core::NoResponseReason::Timeout => NoResponseReason::Timeout,
            core::NoResponseReason::AlreadySeated => NoResponseReason::AlreadySeated,
        }
    }
}

impl From<&core::SeatUser> for SeatUserInfo {
    fn from(s: &core::SeatUser) -> Self {
        SeatUserInfo {
            seat_index: i32::from(s.seat_index.0),
            user_id: s.user.user_id.to_string(),
            user_name: s.user.user_name.clone(),
            avatar_url: s.user.avatar_url.clone(),
            role: s.role.into(),
        }
    }
}

impl From<&core::Applicant> for ApplicantInfo {
    fn from(a: &core::Applicant) -> Self {
        ApplicantInfo {
            user: (&a.user).into(),
            request_id: a.request_id.0,
            seat_index: a.seat.to_i32(),
            deadline_ms: a.deadline.as_millis(),
            extra_info: a.extra_info.clone(),
            requested_ms: None,
        }
    }
}

impl From<&core::Invitee> for InviteeInfo {
    fn from(i: &core::Invitee) -> Self {
        InviteeInfo {
            user: (&i.user).into(),
            inviter_id: i.host.to_string(),
            request_id: i.request_id.0,
            seat_index: i.seat.to_i32(),
            deadline_ms: i.deadline.as_millis(),
            requested_ms: None,
        }
    }
}

impl From<&core::RoomView> for CoGuestState {
    fn from(v: &core::RoomView) -> Self {
        CoGuestState {
            version: v.version,
            connected: v.connected.iter().map(Into::into).collect(),
            invitees: v.invitees.iter().map(Into::into).collect(),
            applicants: v.applicants.iter().map(Into::into).collect(),
            candidates: v.candidates.iter().map(Into::into).collect(),
            seats: v.seats.iter().map(Into::into).collect(),
            seat_mode: v.seat_mode.into(),
            queue: v.queue.map(Into::into),
        }
    }
}

impl From<core::QueuePosition> for QueuePosition {
    fn from(q: core::QueuePosition) -> Self {
        QueuePosition {
            position: q.position,
            length: q.length,
        }
    }
}

impl From<&core::Event> for Event {
    fn from(e: &core::Event) -> Self {
        use core::Event as E;
        match e {
            E::GuestApplicationReceived {
                guest,
                request_id,
                seat,
                extra_info,
            } => Event::GuestApplicationReceived {
                guest_user: guest.into(),
                request_id: request_id.0,
                seat_index: seat.to_i32(),
                extra_info: extra_info.clone(),
            },
            E::GuestApplicationCancelled { guest } => Event::GuestApplicationCancelled {
                guest_user: guest.into(),
            },
            E::GuestApplicationProcessedByOtherHost { guest, host } => {
                Event::GuestApplicationProcessedByOtherHost {
                    guest_user: guest.into(),
                    host_user: host.into(),
                }
            }
            E::GuestApplicationResponded { accepted, host } => Event::GuestApplicationResponded {
                is_accept: *accepted,
                host_user: host.into(),
            },
            E::GuestApplicationNoResponse { reason } => Event::GuestApplicationNoResponse {
                reason: (*reason).into(),
            },
            E::HostInvitationReceived {
                host,
                request_id,
                seat,
                extra_info,
            } => Event::HostInvitationReceived {
                host_user: host.into(),
                request_id: request_id.0,
                seat_index: seat.to_i32(),
                extra_info: extra_info.clone(),
            },
            E::HostInvitationCancelled { host } => Event::HostInvitationCancelled {
                host_user: host.into(),
            },
            E::HostInvitationResponded { accepted, guest } => Event::HostInvitationResponded {
                is_accept: *accepted,
                guest_user: guest.into(),
            },
            E::HostInvitationNoResponse { guest, reason } => Event::HostInvitationNoResponse {
                guest_user: guest.into(),
                reason: (*reason).into(),
            },
            E::KickedOffSeat { seat, host } => Event::KickedOffSeat {
                seat_index: i32::from(seat.0),
                host_user: host.into(),
            },
            E::MovedToSeat { from, to, host } => Event::MovedToSeat {
                from_seat_index: i32::from(from.0),
                to_seat_index: i32::from(to.0),
                host_user: host.into(),
            },
            E::DevicePermissionChanged {
                device,
                allowed,
                seat,
                host,
            } => Event::DevicePermissionChanged {
                device: (*device).into(),
                allowed: *allowed,
                seat_index: seat.map(|s| i32::from(s.0)),
                host_user: host.into(),
            },
            E::RoleChanged { role, by } => Event::RoleChanged {
                role: (*role).into(),
                by_user: by.into(),
            },
        }
    }
}

impl From<&core::ViewChange> for Change {
    fn from(c: &core::ViewChange) -> Self {
        use core::ViewChange as C;
        match c {
            C::ApplicantAdded(a) => Change::ApplicantAdded {
                applicant: a.into(),
            },
            C::ApplicantRemoved { user } => Change::ApplicantRemoved {
                user_id: user.to_string(),
            },
            C::InviteeAdded(i) => Change::InviteeAdded { invitee: i.into() },
            C::InviteeRemoved { user, host } => Change::InviteeRemoved {
                user_id: user.to_string(),
                inviter_id: host.to_string(),
            },
            C::CandidateAdded(u) => Change::CandidateAdded { user: u.into() },
            C::CandidateRemoved { user } => Change::CandidateRemoved {
                user_id: user.to_string(),
            },
            C::Seats { seats } => Change::Seats {
                seats: seats.iter().map(Into::into).collect(),
            },
            C::Settings {
                seat_mode,
                max_seat_count,
            } => Change::Settings {
                seat_mode: (*seat_mode).into(),
                max_seat_count: *max_seat_count,
            },
            C::Reset(view) => Change::Reset {
                state: Box::new(view.as_ref().into()),
            },
            C::QueuePosition(place) => Change::QueuePosition {
                queue: place.map(Into::into),
            },
        }
    }
}

fn seat_choice(v: i32) -> Result<core::SeatChoice, WireError> {
    core::SeatChoice::from_i32(v).ok_or_else(|| WireError {
        code: ErrorCode::InvalidParameter,
        message: format!("seat_index {v} is invalid: use -1 for any seat or a seat index"),
    })
}

fn seat_index(v: i32) -> Result<core::SeatIndex, WireError> {
    match seat_choice(v)? {
        core::SeatChoice::Exact(i) => Ok(i),
        core::SeatChoice::Any => Err(WireError {
            code: ErrorCode::InvalidParameter,
            message: "seat_index -1 is not a seat".into(),
        }),
    }
}

fn user_id(v: &str, field: &str) -> Result<core::UserId, WireError> {
    if v.is_empty() {
        return Err(WireError {
            code: ErrorCode::InvalidParameter,
            message: format!("{field} must not be empty"),
        });
    }
    Ok(core::UserId::from(v))
}

impl ClientCommand {
    /// The core command this wire command stands for, or `None` for commands the server
    /// answers itself (`join`, `snapshot`, `ping`, `update_token`, the observer commands).
    pub fn to_core(&self) -> Result<Option<core::Command>, WireError> {
        use core::Command as C;
        Ok(Some(match self {
            ClientCommand::Join { .. }
            | ClientCommand::Snapshot
            | ClientCommand::Ping
            | ClientCommand::UpdateToken { .. }
            | ClientCommand::Observe { .. }
            | ClientCommand::Unobserve
            | ClientCommand::ObserveRooms
            | ClientCommand::UnobserveRooms => {
                return Ok(None);
            }
            ClientCommand::Leave => C::Leave,
            ClientCommand::ApplyForSeat {
                seat_index,
                timeout,
                extra_info,
            } => C::ApplyForSeat {
                seat: seat_choice(*seat_index)?,
                timeout_s: *timeout,
                extra_info: extra_info.clone(),
            },
            ClientCommand::CancelApplication => C::CancelApplication,
            ClientCommand::AcceptApplication { user_id: u } => C::AcceptApplication {
                user: user_id(u, "user_id")?,
            },
            ClientCommand::AcceptNextApplication => C::AcceptNextApplication,
            ClientCommand::RejectApplication { user_id: u } => C::RejectApplication {
                user: user_id(u, "user_id")?,
            },
            ClientCommand::InviteToSeat {
                invitee_id,
                seat_index,
                timeout,
                extra_info,
            } => C::InviteToSeat {
                user: user_id(invitee_id, "invitee_id")?,
                seat: seat_choice(*seat_index)?,
                timeout_s: *timeout,
                extra_info: extra_info.clone(),
            },
            ClientCommand::CancelInvitation { invitee_id } => C::CancelInvitation {
                user: user_id(invitee_id, "invitee_id")?,
            },
            ClientCommand::AcceptInvitation { inviter_id } => C::AcceptInvitation {
                from: user_id(inviter_id, "inviter_id")?,
            },
            ClientCommand::RejectInvitation { inviter_id } => C::RejectInvitation {
                from: user_id(inviter_id, "inviter_id")?,
            },
            ClientCommand::Disconnect => C::Disconnect,
            ClientCommand::KickOffSeat { user_id: u } => C::KickOffSeat {
                user: user_id(u, "user_id")?,
            },
            ClientCommand::LockSeat { seat_index: s } => C::LockSeat {
                seat: seat_index(*s)?,
            },
            ClientCommand::UnlockSeat { seat_index: s } => C::UnlockSeat {
                seat: seat_index(*s)?,
            },
            ClientCommand::TakeSeat { seat_index } => C::TakeSeat {
                seat: seat_choice(*seat_index)?,
            },
            ClientCommand::LeaveSeat => C::LeaveSeat,
            ClientCommand::MoveToSeat {
                user_id: u,
                seat_index: s,
                policy,
            } => C::MoveToSeat {
                user: user_id(u, "user_id")?,
                seat: seat_index(*s)?,
                policy: (*policy).into(),
            },
            ClientCommand::SetDevice { device, on } => C::SetDevice {
                device: (*device).into(),
                on: *on,
            },
            ClientCommand::SetUserDevicePermission {
                user_id: u,
                device,
                allowed,
            } => C::SetUserDevicePermission {
                user: user_id(u, "user_id")?,
                device: (*device).into(),
                allowed: *allowed,
            },
            ClientCommand::SetSeatDevicePermission {
                seat_index: s,
                device,
                allowed,
            } => C::SetSeatDevicePermission {
                seat: seat_index(*s)?,
                device: (*device).into(),
                allowed: *allowed,
            },
            ClientCommand::ChangeSettings {
                seat_mode,
                max_seat_count,
            } => C::ChangeSettings {
                seat_mode: seat_mode.map(Into::into),
                max_seat_count: *max_seat_count,
            },
            ClientCommand::SetAdmin { user_id: u, admin } => C::SetAdmin {
                user: user_id(u, "user_id")?,
                admin: *admin,
            },
        }))
    }
}

/// The wire form of a core output's body: an event or a change.
pub enum WireBody {
    /// A listener event.
    Event(Event),
    /// A view change.
    Change(Change),
    /// A backend notice: not for members (see [`crate::WebhookEvent::from_notice`]).
    Backend,
}

impl From<&core::OutputBody> for WireBody {
    fn from(b: &core::OutputBody) -> Self {
        match b {
            core::OutputBody::Event(e) => WireBody::Event(e.into()),
            core::OutputBody::Change(c) => WireBody::Change(c.into()),
            core::OutputBody::Notice(_) => WireBody::Backend,
        }
    }
}

impl From<&core::CommandError> for WireError {
    fn from(e: &core::CommandError) -> Self {
        WireError {
            code: e.into(),
            message: e.to_string(),
        }
    }
}
