//! [`CoGuestStore`]: one joined room, with the reference API.

use crate::client::{Client, Membership};
use crate::error::CoGuestError;
use crate::listener::{GuestListener, HostListener};
use crate::shared::{StoreShared, add_listener, remove_listener, subscribe};
use crate::types::{ClosedReason, CoGuestState, GuestEvent, HostEvent, QueuePosition};
use coguest_proto::ClientCommand;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::{mpsc, watch};

/// One live room joined by one [`Client`]: the reference `CoGuestStore`.
///
/// Cheap to clone; clones share the membership. When the last clone is dropped, the SDK leaves
/// the room cleanly (a `leave` is sent in the background, and the event streams end).
///
/// Every call sends one command and waits for the server's answer: `Ok(())` once the server
/// applied it, or a [`CoGuestError`] (which changed nothing when it carries a server code).
/// Outcomes that come later (an application answered or timed out, ...) arrive as listener
/// callbacks and stream events; the lists of [`CoGuestStore::co_guest_state`] are updated
/// before the callback that corresponds to the same server message runs.
#[derive(Clone)]
pub struct CoGuestStore {
    inner: Arc<Membership>,
}

impl std::fmt::Debug for CoGuestStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoGuestStore")
            .field("room", &self.inner.shared.room)
            .finish_non_exhaustive()
    }
}

impl CoGuestStore {
    /// Joins `room_id` and returns its store once the room's state has arrived (the reference
    /// `CoGuestStore.create`). An unknown room is created with the server's defaults when
    /// this token may create it (by default an owner's); otherwise `ROOM_ID_NOT_EXIST` (-2100).
    ///
    /// One store per room per client: if this client already has a live store for the room,
    /// that store is returned (a clone sharing listeners and state) and nothing is sent. A
    /// store whose room was closed ([`is_closed`](Self::is_closed)) is not reused: `create`
    /// joins again with a new store.
    ///
    /// Fails with the server's code when the join is refused (`-3020` `ROOM_FULL`, `-3021`
    /// `OWNER_ALREADY_PRESENT`, `-3012` `WRONG_ROOM`, ...).
    pub async fn create(client: &Client, room_id: &str) -> Result<CoGuestStore, CoGuestError> {
        Ok(CoGuestStore {
            inner: client.join(room_id).await?,
        })
    }

    /// The live room id.
    pub fn room_id(&self) -> &str {
        &self.inner.shared.room
    }

    /// The client this store belongs to.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The observable lists (the reference `coGuestState`): `connected`, `invitees`,
    /// `applicants`, `candidates`, each a `watch::Receiver` holding the current value.
    pub fn co_guest_state(&self) -> CoGuestState {
        let s = &self.inner.shared;
        CoGuestState {
            connected: s.connected.subscribe(),
            invitees: s.invitees.subscribe(),
            applicants: s.applicants.subscribe(),
            candidates: s.candidates.subscribe(),
        }
    }

    /// This user's place in the room's application queue while it has a pending application
    /// (`None` otherwise), as a `watch::Receiver` holding the current value: `position` 1 is
    /// first in line, `length` the number of pending applications. It changes as others
    /// apply, cancel, time out or are answered, in the server's order (not a client's clock);
    /// it is set before the callbacks of the same room version run, and is right again as soon
    /// as a reconnect has resumed (the server's snapshot or replay carries it).
    pub fn queue_position(&self) -> watch::Receiver<Option<QueuePosition>> {
        self.inner.shared.queue_position.subscribe()
    }

    /// Adds host-side callbacks (the reference `addHostListener`). Adding the same `Arc`
    /// twice calls it twice.
    pub fn add_host_listener(&self, listener: Arc<dyn HostListener>) {
        add_listener(&self.inner.shared.host_listeners, listener);
    }

    /// Removes host-side callbacks added with [`add_host_listener`](Self::add_host_listener)
    /// (compared by pointer, one registration per call). No callback of it starts after this
    /// returns; one already running on the dispatch task finishes.
    pub fn remove_host_listener(&self, listener: &Arc<dyn HostListener>) {
        remove_listener(&self.inner.shared.host_listeners, listener);
    }

    /// Adds guest-side callbacks (the reference `addGuestListener`).
    pub fn add_guest_listener(&self, listener: Arc<dyn GuestListener>) {
        add_listener(&self.inner.shared.guest_listeners, listener);
    }

    /// Removes guest-side callbacks (see [`remove_host_listener`](Self::remove_host_listener)).
    pub fn remove_guest_listener(&self, listener: &Arc<dyn GuestListener>) {
        remove_listener(&self.inner.shared.guest_listeners, listener);
    }

    /// Host events as a stream, from now on, in server order.
    ///
    /// Each stream has its own unbounded buffer: a slow reader never loses an event nor slows
    /// the connection, but an unread stream grows; drop it when done. It ends when the store
    /// leaves the room (last handle dropped, room closed, client closed).
    pub fn host_events(&self) -> HostEvents {
        HostEvents {
            rx: subscribe(&self.inner.shared.host_subs),
        }
    }

    /// Guest events as a stream (see [`host_events`](Self::host_events)).
    pub fn guest_events(&self) -> GuestEvents {
        GuestEvents {
            rx: subscribe(&self.inner.shared.guest_subs),
        }
    }

    /// Whether this store is finished: the server closed the room (admin API) or refused to
    /// let this client back in after a reconnect. Its lists are then empty, its event streams
    /// have ended and every call fails with [`CoGuestError::ROOM_CLOSED`].
    pub fn is_closed(&self) -> bool {
        self.inner.shared.is_closed()
    }

    /// Why the server closed the room, once it has: [`ClosedReason::Closed`] by the admin
    /// API, [`ClosedReason::Lost`] when a cluster's Redis lost the room's data (joining again
    /// with a new store starts an empty room). `None` while the room is open, or when the
    /// store ended for another reason (a re-join refused).
    pub fn closed_reason(&self) -> Option<ClosedReason> {
        self.inner.shared.closed_reason()
    }

    pub(crate) fn shared(&self) -> &StoreShared {
        &self.inner.shared
    }

    pub(crate) async fn call(&self, command: ClientCommand) -> Result<(), CoGuestError> {
        if self.inner.shared.is_closed() {
            return Err(CoGuestError::new(
                CoGuestError::ROOM_CLOSED,
                format!("room {:?} was closed", self.inner.shared.room),
            ));
        }
        self.inner
            .client
            .request(Some(self.inner.shared.room.clone()), command)
            .await
            .map(|_| ())
    }

    /// Audience: applies for a seat (the reference `applyForSeat`). `seat_index` `-1` asks
    /// for any seat; `timeout` is in seconds; `extra_info` is shown to hosts.
    ///
    /// Returns once the server has validated and registered the application and told the
    /// hosts; the outcome arrives later as
    /// [`GuestListener::on_guest_application_responded`] or
    /// [`GuestListener::on_guest_application_no_response`].
    pub async fn apply_for_seat(
        &self,
        seat_index: i32,
        timeout: u32,
        extra_info: Option<&str>,
    ) -> Result<(), CoGuestError> {
        self.call(ClientCommand::ApplyForSeat {
            seat_index,
            timeout,
            extra_info: extra_info.map(str::to_owned),
        })
        .await
    }

    /// Audience: withdraws this user's pending application (the reference
    /// `cancelApplication`); hosts get
    /// [`HostListener::on_guest_application_cancelled`]. Fails with `-2311`
    /// (`REQUEST_ID_INVALID`) if it was already answered or timed out.
    pub async fn cancel_application(&self) -> Result<(), CoGuestError> {
        self.call(ClientCommand::CancelApplication).await
    }

    /// Host: accepts `user_id`'s application, seating it (the reference `acceptApplication`).
    /// The applicant gets [`GuestListener::on_guest_application_responded`] and the other
    /// hosts [`HostListener::on_guest_application_processed_by_other_host`]. If another host
    /// answered first, fails with `-2311` (`REQUEST_ID_INVALID`). If the seat is taken, fails
    /// with `-2342`/`-2343`/`-2346` and the application stays pending.
    pub async fn accept_application(&self, user_id: &str) -> Result<(), CoGuestError> {
        self.call(ClientCommand::AcceptApplication {
            user_id: user_id.to_owned(),
        })
        .await
    }

    /// Host: accepts the first application in line (the oldest pending one, in the server's
    /// order), exactly as [`accept_application`](Self::accept_application) of its applicant
    /// would. Fails with `-3029` (`QUEUE_EMPTY`) when no application is pending, and with the
    /// seat codes of `accept_application` (the application then stays first in line).
    pub async fn accept_next_application(&self) -> Result<(), CoGuestError> {
        self.call(ClientCommand::AcceptNextApplication).await
    }

    /// Host: rejects `user_id`'s application (the reference `rejectApplication`); same rules
    /// as [`accept_application`](Self::accept_application).
    pub async fn reject_application(&self, user_id: &str) -> Result<(), CoGuestError> {
        self.call(ClientCommand::RejectApplication {
            user_id: user_id.to_owned(),
        })
        .await
    }

    /// Host: invites `invitee_id` to a seat (the reference `inviteToSeat`); `seat_index` `-1`
    /// offers any seat, `timeout` is in seconds, `extra_info` is shown to the invitee.
    ///
    /// Returns once the server has validated and registered the invitation and told the
    /// invitee; the outcome arrives later as
    /// [`HostListener::on_host_invitation_responded`] or
    /// [`HostListener::on_host_invitation_no_response`] (at once, with
    /// [`NoResponseReason::AlreadySeated`](crate::NoResponseReason::AlreadySeated), if the
    /// invitee is already seated).
    pub async fn invite_to_seat(
        &self,
        invitee_id: &str,
        seat_index: i32,
        timeout: u32,
        extra_info: Option<&str>,
    ) -> Result<(), CoGuestError> {
        self.call(ClientCommand::InviteToSeat {
            invitee_id: invitee_id.to_owned(),
            seat_index,
            timeout,
            extra_info: extra_info.map(str::to_owned),
        })
        .await
    }

    /// Host: withdraws this host's pending invitation of `invitee_id` (the reference
    /// `cancelInvitation`); the invitee gets [`GuestListener::on_host_invitation_cancelled`].
    pub async fn cancel_invitation(&self, invitee_id: &str) -> Result<(), CoGuestError> {
        self.call(ClientCommand::CancelInvitation {
            invitee_id: invitee_id.to_owned(),
        })
        .await
    }

    /// Invitee: accepts `inviter_id`'s invitation and takes the offered seat (the reference
    /// `acceptInvitation`); the host gets [`HostListener::on_host_invitation_responded`].
    pub async fn accept_invitation(&self, inviter_id: &str) -> Result<(), CoGuestError> {
        self.call(ClientCommand::AcceptInvitation {
            inviter_id: inviter_id.to_owned(),
        })
        .await
    }

    /// Invitee: declines `inviter_id`'s invitation (the reference `rejectInvitation`).
    pub async fn reject_invitation(&self, inviter_id: &str) -> Result<(), CoGuestError> {
        self.call(ClientCommand::RejectInvitation {
            inviter_id: inviter_id.to_owned(),
        })
        .await
    }

    /// Leaves this user's seat and stays in the room (the reference `disconnect`, "end the
    /// co-guest session"). Fails with `-2345` (`USER_NOT_IN_SEAT`) when not seated.
    pub async fn disconnect(&self) -> Result<(), CoGuestError> {
        self.call(ClientCommand::Disconnect).await
    }

    /// Host: removes `user_id` from its seat (seat layer, not in the reference store); the
    /// user gets [`GuestListener::on_kicked_off_seat`].
    pub async fn kick_off_seat(&self, user_id: &str) -> Result<(), CoGuestError> {
        self.call(ClientCommand::KickOffSeat {
            user_id: user_id.to_owned(),
        })
        .await
    }

    /// Host: locks a seat (seat layer); its occupant, if any, is removed and told.
    pub async fn lock_seat(&self, seat_index: i32) -> Result<(), CoGuestError> {
        self.call(ClientCommand::LockSeat { seat_index }).await
    }

    /// Host: unlocks a seat (seat layer).
    pub async fn unlock_seat(&self, seat_index: i32) -> Result<(), CoGuestError> {
        self.call(ClientCommand::UnlockSeat { seat_index }).await
    }
}

/// A stream of [`HostEvent`]s from [`CoGuestStore::host_events`].
#[derive(Debug)]
pub struct HostEvents {
    rx: mpsc::UnboundedReceiver<HostEvent>,
}

impl HostEvents {
    /// The next event; `None` once the store left the room.
    pub async fn recv(&mut self) -> Option<HostEvent> {
        self.rx.recv().await
    }

    /// The next event if one is buffered.
    pub fn try_recv(&mut self) -> Option<HostEvent> {
        self.rx.try_recv().ok()
    }
}

impl futures_util::Stream for HostEvents {
    type Item = HostEvent;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<HostEvent>> {
        self.rx.poll_recv(cx)
    }
}

/// A stream of [`GuestEvent`]s from [`CoGuestStore::guest_events`].
#[derive(Debug)]
pub struct GuestEvents {
    rx: mpsc::UnboundedReceiver<GuestEvent>,
}

impl GuestEvents {
    /// The next event; `None` once the store left the room.
    pub async fn recv(&mut self) -> Option<GuestEvent> {
        self.rx.recv().await
    }

    /// The next event if one is buffered.
    pub fn try_recv(&mut self) -> Option<GuestEvent> {
        self.rx.try_recv().ok()
    }
}

impl futures_util::Stream for GuestEvents {
    type Item = GuestEvent;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<GuestEvent>> {
        self.rx.poll_recv(cx)
    }
}
