//! [`StoreShared`]: what the connection actor, a store's dispatch task and its handles share
//! about one joined room (its lists, listeners and event subscribers), and that dispatch task.

use crate::listener::{
    GuestListener, HostListener, SeatListener, dispatch_guest, dispatch_host, dispatch_seat,
};
use crate::state::{StoreEvent, Views};
use crate::types::{
    GuestEvent, HostEvent, LiveUserInfo, QueuePosition, SeatEvent, SeatInfo, SeatUserInfo,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::{mpsc, watch};

/// Locks `m`, recovering the guard from a poisoned lock.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the connection actor, the dispatch task and the handles share about one room.
pub(crate) struct StoreShared {
    pub(crate) room: String,
    pub(crate) host_listeners: Mutex<Vec<Arc<dyn HostListener>>>,
    pub(crate) guest_listeners: Mutex<Vec<Arc<dyn GuestListener>>>,
    pub(crate) host_subs: Mutex<Vec<mpsc::UnboundedSender<HostEvent>>>,
    pub(crate) guest_subs: Mutex<Vec<mpsc::UnboundedSender<GuestEvent>>>,
    pub(crate) seat_listeners: Mutex<Vec<Arc<dyn SeatListener>>>,
    pub(crate) seat_subs: Mutex<Vec<mpsc::UnboundedSender<SeatEvent>>>,
    pub(crate) seat_list: watch::Sender<Vec<SeatInfo>>,
    pub(crate) seat_mode: watch::Sender<coguest_proto::SeatMode>,
    pub(crate) connected: watch::Sender<Vec<SeatUserInfo>>,
    pub(crate) invitees: watch::Sender<Vec<LiveUserInfo>>,
    pub(crate) applicants: watch::Sender<Vec<LiveUserInfo>>,
    pub(crate) candidates: watch::Sender<Vec<LiveUserInfo>>,
    pub(crate) queue_position: watch::Sender<Option<QueuePosition>>,
    closed: AtomicBool,
    /// Why the server closed the room, when it did.
    closed_reason: Mutex<Option<coguest_proto::ClosedReason>>,
}

impl StoreShared {
    pub(crate) fn new(room: &str) -> Self {
        StoreShared {
            room: room.to_owned(),
            host_listeners: Mutex::new(Vec::new()),
            guest_listeners: Mutex::new(Vec::new()),
            host_subs: Mutex::new(Vec::new()),
            guest_subs: Mutex::new(Vec::new()),
            seat_listeners: Mutex::new(Vec::new()),
            seat_subs: Mutex::new(Vec::new()),
            seat_list: watch::Sender::new(Vec::new()),
            seat_mode: watch::Sender::new(coguest_proto::SeatMode::default()),
            connected: watch::Sender::new(Vec::new()),
            invitees: watch::Sender::new(Vec::new()),
            applicants: watch::Sender::new(Vec::new()),
            candidates: watch::Sender::new(Vec::new()),
            queue_position: watch::Sender::new(None),
            closed: AtomicBool::new(false),
            closed_reason: Mutex::new(None),
        }
    }

    /// Whether the room was closed by the server, or re-joining it failed
    /// ([`mark_closed`](Self::mark_closed)).
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Publishes new lists; receivers wake only for lists that changed.
    pub(crate) fn set_views(&self, v: Views) {
        fn set<T: PartialEq>(tx: &watch::Sender<T>, new: T) {
            tx.send_if_modified(|cur| {
                if *cur == new {
                    false
                } else {
                    *cur = new;
                    true
                }
            });
        }
        set(&self.connected, v.connected);
        set(&self.invitees, v.invitees);
        set(&self.applicants, v.applicants);
        set(&self.candidates, v.candidates);
        set(&self.seat_list, v.seats);
        set(&self.seat_mode, v.seat_mode);
        set(&self.queue_position, v.queue_position);
    }

    /// Hands an event to the stream subscribers, dropping those that went away.
    pub(crate) fn publish(&self, e: &StoreEvent) {
        match e {
            StoreEvent::Host(h) => lock(&self.host_subs).retain(|s| s.send(h.clone()).is_ok()),
            StoreEvent::Guest(g) => lock(&self.guest_subs).retain(|s| s.send(g.clone()).is_ok()),
            StoreEvent::Seat(e) => lock(&self.seat_subs).retain(|s| s.send(e.clone()).is_ok()),
        }
    }

    /// Ends every event stream (the store left the room).
    pub(crate) fn end_streams(&self) {
        lock(&self.host_subs).clear();
        lock(&self.guest_subs).clear();
        lock(&self.seat_subs).clear();
    }

    /// Why the server closed the room (`None`: it did not, or re-joining failed).
    pub(crate) fn closed_reason(&self) -> Option<coguest_proto::ClosedReason> {
        *lock(&self.closed_reason)
    }

    /// The server closed the room for `reason`: [`mark_closed`](Self::mark_closed).
    pub(crate) fn mark_closed_by_server(&self, reason: coguest_proto::ClosedReason) {
        *lock(&self.closed_reason) = Some(reason);
        self.mark_closed();
    }

    /// The room was closed by the server, or re-joining it failed: the lists empty, the
    /// streams end and calls fail from now on.
    pub(crate) fn mark_closed(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.set_views(Views::default());
        self.end_streams();
    }
}

/// Adds `listener` (once per call).
pub(crate) fn add_listener<L: ?Sized>(listeners: &Mutex<Vec<Arc<L>>>, listener: Arc<L>) {
    lock(listeners).push(listener);
}

/// Removes one registration of `listener`, compared by pointer.
pub(crate) fn remove_listener<L: ?Sized>(listeners: &Mutex<Vec<Arc<L>>>, listener: &Arc<L>) {
    let mut ls = lock(listeners);
    if let Some(i) = ls.iter().position(|l| Arc::ptr_eq(l, listener)) {
        ls.remove(i);
    }
}

/// A new event stream fed from now on by [`StoreShared::publish`].
pub(crate) fn subscribe<E>(
    subs: &Mutex<Vec<mpsc::UnboundedSender<E>>>,
) -> mpsc::UnboundedReceiver<E> {
    let (tx, rx) = mpsc::unbounded_channel();
    lock(subs).push(tx);
    rx
}

/// Runs a store's listener callbacks, one at a time, in order, never under a lock.
pub(crate) async fn dispatch_loop(
    shared: Arc<StoreShared>,
    mut rx: mpsc::UnboundedReceiver<StoreEvent>,
) {
    while let Some(event) = rx.recv().await {
        match &event {
            StoreEvent::Host(e) => call_each(&shared.host_listeners, |l| dispatch_host(l, e)),
            StoreEvent::Guest(e) => call_each(&shared.guest_listeners, |l| dispatch_guest(l, e)),
            StoreEvent::Seat(e) => call_each(&shared.seat_listeners, |l| dispatch_seat(l, e)),
        }
    }
}

/// Calls `f` on each listener registered now, without holding the lock during the calls.
fn call_each<L: ?Sized>(listeners: &Mutex<Vec<Arc<L>>>, f: impl Fn(&L)) {
    let snapshot = lock(listeners).clone();
    for l in snapshot {
        // Skip a listener removed by an earlier callback of this same event.
        if !lock(listeners).iter().any(|x| Arc::ptr_eq(x, &l)) {
            continue;
        }
        guarded(|| f(&l));
    }
}

/// Runs a callback; a panicking callback is logged and does not stop later events.
fn guarded(f: impl FnOnce()) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err() {
        tracing::error!("a coguest listener callback panicked");
    }
}
