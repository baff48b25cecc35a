//! [`LiveSeatStore`]: the seat layer of one joined room (the reference `LiveSeatStore`).

use crate::error::CoGuestError;
use crate::store::CoGuestStore;
use crate::types::{LiveUserInfo, Role, SeatUserInfo};
use coguest_proto::ClientCommand;
pub use coguest_proto::{Device, MovePolicy, SeatMode};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::{mpsc, watch};

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
            user: s.user.as_ref().map(|u| {
                let mut user = SeatUserInfo::from_wire(u, live_id);
                user.microphone_on = s.devices_on.microphone;
                user.camera_on = s.devices_on.camera;
                user
            }),
            is_locked: s.locked,
            seat_microphone_disallowed: s.seat_disallowed.microphone,
            seat_camera_disallowed: s.seat_disallowed.camera,
            user_microphone_disallowed: s.user_disallowed.microphone,
            user_camera_disallowed: s.user_disallowed.camera,
        }
    }
}

/// Seat events, the stream form of [`SeatListener`].
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

/// Seat-layer callbacks. Every method has an empty default body. Register with
/// [`LiveSeatStore::add_seat_listener`]; same ordering guarantees as the other listeners.
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

/// The seat layer of one joined room (the reference `LiveSeatStore`): every seat as a `watch`
/// list, the seat commands, and seat events.
///
/// It shares its room membership with the room's [`CoGuestStore`] (get one from the other with
/// [`CoGuestStore::live_seat_store`] / [`LiveSeatStore::co_guest_store`]); dropping every handle
/// of both leaves the room. Calls resolve with the server's answer like the `CoGuestStore`'s.
#[derive(Clone, Debug)]
pub struct LiveSeatStore {
    store: CoGuestStore,
}

impl LiveSeatStore {
    /// Joins `room_id` (or reuses this client's store for it) and returns its seat layer.
    pub async fn create(
        client: &crate::Client,
        room_id: &str,
    ) -> Result<LiveSeatStore, CoGuestError> {
        Ok(CoGuestStore::create(client, room_id)
            .await?
            .live_seat_store())
    }

    pub(crate) fn new(store: CoGuestStore) -> Self {
        LiveSeatStore { store }
    }

    /// The room's co-guest store (same membership).
    pub fn co_guest_store(&self) -> &CoGuestStore {
        &self.store
    }

    /// Every seat in index order, empty ones included, with lock and device flags. Updated
    /// before the seat event of the same server message is delivered.
    pub fn seat_list(&self) -> watch::Receiver<Vec<SeatInfo>> {
        self.store.shared().seat_list.subscribe()
    }

    /// The room's seat mode (changes when a host changes the settings).
    pub fn seat_mode(&self) -> watch::Receiver<SeatMode> {
        self.store.shared().seat_mode.subscribe()
    }

    /// Adds seat callbacks.
    pub fn add_seat_listener(&self, listener: Arc<dyn SeatListener>) {
        crate::store::lock(&self.store.shared().seat_listeners).push(listener);
    }

    /// Removes seat callbacks (compared by pointer).
    pub fn remove_seat_listener(&self, listener: &Arc<dyn SeatListener>) {
        let mut ls = crate::store::lock(&self.store.shared().seat_listeners);
        if let Some(i) = ls.iter().position(|l| Arc::ptr_eq(l, listener)) {
            ls.remove(i);
        }
    }

    /// Seat events as a stream, from now on, in server order (unbounded buffer; ends when the
    /// store leaves the room).
    pub fn seat_events(&self) -> SeatEvents {
        let (tx, rx) = mpsc::unbounded_channel();
        crate::store::lock(&self.store.shared().seat_subs).push(tx);
        SeatEvents { rx }
    }

    /// Takes a free seat directly (`takeSeat`); `-1` takes the first free one. Only in
    /// free-to-take rooms: otherwise `-3024` (`SEAT_MODE_APPLY_TO_TAKE`).
    pub async fn take_seat(&self, seat_index: i32) -> Result<(), CoGuestError> {
        self.store
            .call(ClientCommand::TakeSeat { seat_index })
            .await
    }

    /// Leaves this user's seat (`leaveSeat`).
    pub async fn leave_seat(&self) -> Result<(), CoGuestError> {
        self.store.call(ClientCommand::LeaveSeat).await
    }

    /// Host: removes `user_id` from its seat (`kickUserOffSeat`).
    pub async fn kick_user_off_seat(&self, user_id: &str) -> Result<(), CoGuestError> {
        self.store.kick_off_seat(user_id).await
    }

    /// Host: locks a seat; its occupant, if any, is removed and told.
    pub async fn lock_seat(&self, seat_index: i32) -> Result<(), CoGuestError> {
        self.store.lock_seat(seat_index).await
    }

    /// Host: unlocks a seat.
    pub async fn unlock_seat(&self, seat_index: i32) -> Result<(), CoGuestError> {
        self.store.unlock_seat(seat_index).await
    }

    /// Host: moves seated `user_id` to `seat_index` (`moveUserToSeat`), atomically, with
    /// `policy` deciding what happens if the seat is occupied. A seated user may move itself
    /// to a free seat with [`MovePolicy::AbortWhenOccupied`].
    pub async fn move_user_to_seat(
        &self,
        user_id: &str,
        seat_index: i32,
        policy: MovePolicy,
    ) -> Result<(), CoGuestError> {
        self.store
            .call(ClientCommand::MoveToSeat {
                user_id: user_id.to_owned(),
                seat_index,
                policy,
            })
            .await
    }

    /// Opens or closes this seated user's microphone or camera. Opening fails with `-3025`
    /// (`DEVICE_DISALLOWED`) when a host disallowed it.
    pub async fn set_device(&self, device: Device, on: bool) -> Result<(), CoGuestError> {
        self.store
            .call(ClientCommand::SetDevice { device, on })
            .await
    }

    /// Host: allows or disallows `device` for `user_id` (wherever it sits).
    pub async fn set_user_device_permission(
        &self,
        user_id: &str,
        device: Device,
        allowed: bool,
    ) -> Result<(), CoGuestError> {
        self.store
            .call(ClientCommand::SetUserDevicePermission {
                user_id: user_id.to_owned(),
                device,
                allowed,
            })
            .await
    }

    /// Host: allows or disallows `device` on a seat (for whoever sits there).
    pub async fn set_seat_device_permission(
        &self,
        seat_index: i32,
        device: Device,
        allowed: bool,
    ) -> Result<(), CoGuestError> {
        self.store
            .call(ClientCommand::SetSeatDevicePermission {
                seat_index,
                device,
                allowed,
            })
            .await
    }

    /// Host: changes the seat mode and/or the number of seats (shrinking below an occupied
    /// seat fails with `-3026`).
    pub async fn change_settings(
        &self,
        seat_mode: Option<SeatMode>,
        max_seat_count: Option<u16>,
    ) -> Result<(), CoGuestError> {
        self.store
            .call(ClientCommand::ChangeSettings {
                seat_mode,
                max_seat_count,
            })
            .await
    }

    /// Owner: grants (`true`) or revokes admin to `user_id`, effective at once.
    pub async fn set_admin(&self, user_id: &str, admin: bool) -> Result<(), CoGuestError> {
        self.store
            .call(ClientCommand::SetAdmin {
                user_id: user_id.to_owned(),
                admin,
            })
            .await
    }
}

/// A stream of [`SeatEvent`]s from [`LiveSeatStore::seat_events`].
#[derive(Debug)]
pub struct SeatEvents {
    rx: mpsc::UnboundedReceiver<SeatEvent>,
}

impl SeatEvents {
    /// The next event; `None` once the store left the room.
    pub async fn recv(&mut self) -> Option<SeatEvent> {
        self.rx.recv().await
    }

    /// The next event if one is buffered.
    pub fn try_recv(&mut self) -> Option<SeatEvent> {
        self.rx.try_recv().ok()
    }
}

impl futures_util::Stream for SeatEvents {
    type Item = SeatEvent;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SeatEvent>> {
        self.rx.poll_recv(cx)
    }
}
