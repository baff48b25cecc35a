//! Listener traits: the reference `HostListener` and `GuestListener`, and the seat layer's
//! `SeatListener`.
//!
//! Every method has an empty default body, so a listener implements only what it needs.
//! Callbacks of one store run on one dispatch task, one at a time, in the order the server
//! produced the events, and never while the SDK holds a lock (a callback may call back into the
//! store, add or remove listeners). Callbacks are synchronous: keep them short, and hand long
//! work to a task of your own. On a current-thread runtime a blocking callback blocks
//! everything.

use crate::types::{
    Device, GuestEvent, HostEvent, LiveUserInfo, NoResponseReason, Role, SeatEvent,
};

/// Host-side callbacks (owner and admins). Register with
/// [`CoGuestStore::add_host_listener`](crate::CoGuestStore::add_host_listener).
pub trait HostListener: Send + Sync {
    /// An audience member applied for a seat.
    fn on_guest_application_received(&self, guest_user: &LiveUserInfo) {
        let _ = guest_user;
    }

    /// An applicant cancelled its application (or left the room).
    fn on_guest_application_cancelled(&self, guest_user: &LiveUserInfo) {
        let _ = guest_user;
    }

    /// Another host accepted or rejected this application first.
    fn on_guest_application_processed_by_other_host(
        &self,
        guest_user: &LiveUserInfo,
        host_user: &LiveUserInfo,
    ) {
        let _ = (guest_user, host_user);
    }

    /// The invitee accepted or rejected this host's invitation.
    fn on_host_invitation_responded(&self, is_accept: bool, guest_user: &LiveUserInfo) {
        let _ = (is_accept, guest_user);
    }

    /// This host's invitation closed unanswered: it timed out, or the invitee got a seat by
    /// another path.
    fn on_host_invitation_no_response(&self, guest_user: &LiveUserInfo, reason: NoResponseReason) {
        let _ = (guest_user, reason);
    }
}

/// Guest-side callbacks (audience members, and hosts for their own requests). Register with
/// [`CoGuestStore::add_guest_listener`](crate::CoGuestStore::add_guest_listener).
pub trait GuestListener: Send + Sync {
    /// A host invited this user to a seat.
    fn on_host_invitation_received(&self, host_user: &LiveUserInfo) {
        let _ = host_user;
    }

    /// The host withdrew its invitation (or left the room).
    fn on_host_invitation_cancelled(&self, host_user: &LiveUserInfo) {
        let _ = host_user;
    }

    /// A host accepted (the user is now seated) or rejected this user's application.
    fn on_guest_application_responded(&self, is_accept: bool, host_user: &LiveUserInfo) {
        let _ = (is_accept, host_user);
    }

    /// This user's application closed unanswered: it timed out, or the user got a seat by
    /// another path.
    fn on_guest_application_no_response(&self, reason: NoResponseReason) {
        let _ = reason;
    }

    /// A host removed this user from its seat.
    fn on_kicked_off_seat(&self, seat_index: i32, host_user: &LiveUserInfo) {
        let _ = (seat_index, host_user);
    }
}

/// Seat-layer callbacks. Every method has an empty default body. Register with
/// [`LiveSeatStore::add_seat_listener`](crate::LiveSeatStore::add_seat_listener); same ordering guarantees as the other listeners.
pub trait SeatListener: Send + Sync {
    /// This user was removed from its seat.
    fn on_kicked_off_seat(&self, seat_index: i32, host_user: &LiveUserInfo) {
        let _ = (seat_index, host_user);
    }
    /// A host moved this user to another seat.
    fn on_moved_to_seat(&self, from_seat_index: i32, to_seat_index: i32, host: &LiveUserInfo) {
        let _ = (from_seat_index, to_seat_index, host);
    }
    /// A host allowed or disallowed a device for this user or its seat.
    fn on_device_permission_changed(
        &self,
        device: Device,
        allowed: bool,
        seat_index: Option<i32>,
        host_user: &LiveUserInfo,
    ) {
        let _ = (device, allowed, seat_index, host_user);
    }
    /// The owner granted or revoked admin to this user.
    fn on_role_changed(&self, role: Role, by_user: &LiveUserInfo) {
        let _ = (role, by_user);
    }
}

/// Calls the [`HostListener`] method matching `event`.
pub(crate) fn dispatch_host(l: &dyn HostListener, event: &HostEvent) {
    match event {
        HostEvent::GuestApplicationReceived { guest_user, .. } => {
            l.on_guest_application_received(guest_user)
        }
        HostEvent::GuestApplicationCancelled { guest_user } => {
            l.on_guest_application_cancelled(guest_user)
        }
        HostEvent::GuestApplicationProcessedByOtherHost {
            guest_user,
            host_user,
        } => l.on_guest_application_processed_by_other_host(guest_user, host_user),
        HostEvent::HostInvitationResponded {
            is_accept,
            guest_user,
        } => l.on_host_invitation_responded(*is_accept, guest_user),
        HostEvent::HostInvitationNoResponse { guest_user, reason } => {
            l.on_host_invitation_no_response(guest_user, *reason)
        }
    }
}

/// Calls the [`GuestListener`] method matching `event`.
pub(crate) fn dispatch_guest(l: &dyn GuestListener, event: &GuestEvent) {
    match event {
        GuestEvent::HostInvitationReceived { host_user, .. } => {
            l.on_host_invitation_received(host_user)
        }
        GuestEvent::HostInvitationCancelled { host_user } => {
            l.on_host_invitation_cancelled(host_user)
        }
        GuestEvent::GuestApplicationResponded {
            is_accept,
            host_user,
        } => l.on_guest_application_responded(*is_accept, host_user),
        GuestEvent::GuestApplicationNoResponse { reason } => {
            l.on_guest_application_no_response(*reason)
        }
        GuestEvent::KickedOffSeat {
            seat_index,
            host_user,
        } => l.on_kicked_off_seat(*seat_index, host_user),
    }
}

/// Calls the [`SeatListener`] method matching `event`.
pub(crate) fn dispatch_seat(l: &dyn SeatListener, event: &SeatEvent) {
    match event {
        SeatEvent::KickedOffSeat {
            seat_index,
            host_user,
        } => l.on_kicked_off_seat(*seat_index, host_user),
        SeatEvent::MovedToSeat {
            from_seat_index,
            to_seat_index,
            host_user,
        } => l.on_moved_to_seat(*from_seat_index, *to_seat_index, host_user),
        SeatEvent::DevicePermissionChanged {
            device,
            allowed,
            seat_index,
            host_user,
        } => l.on_device_permission_changed(*device, *allowed, *seat_index, host_user),
        SeatEvent::RoleChanged { role, by_user } => l.on_role_changed(*role, by_user),
    }
}
