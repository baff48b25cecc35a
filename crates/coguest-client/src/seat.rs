//! [`LiveSeatStore`]: the seat layer of one joined room (the reference `LiveSeatStore`).

use crate::client::Client;
use crate::error::CoGuestError;
use crate::listener::SeatListener;
use crate::shared::{add_listener, remove_listener, subscribe};
use crate::store::CoGuestStore;
use crate::types::{Device, MovePolicy, SeatEvent, SeatInfo, SeatMode};
use coguest_proto::ClientCommand;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::{mpsc, watch};

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

// Defined here rather than in `store.rs`: the seat layer sits above the store, which does not
// know it.
impl CoGuestStore {
    /// The seat layer of this room (the reference `LiveSeatStore`), sharing this membership.
    pub fn live_seat_store(&self) -> LiveSeatStore {
        LiveSeatStore {
            store: self.clone(),
        }
    }
}

impl LiveSeatStore {
    /// Joins `room_id` (or reuses this client's store for it) and returns its seat layer.
    pub async fn create(client: &Client, room_id: &str) -> Result<LiveSeatStore, CoGuestError> {
        Ok(CoGuestStore::create(client, room_id)
            .await?
            .live_seat_store())
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
        add_listener(&self.store.shared().seat_listeners, listener);
    }

    /// Removes seat callbacks (compared by pointer).
    pub fn remove_seat_listener(&self, listener: &Arc<dyn SeatListener>) {
        remove_listener(&self.store.shared().seat_listeners, listener);
    }

    /// Seat events as a stream, from now on, in server order (unbounded buffer; ends when the
    /// store leaves the room).
    pub fn seat_events(&self) -> SeatEvents {
        SeatEvents {
            rx: subscribe(&self.store.shared().seat_subs),
        }
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
