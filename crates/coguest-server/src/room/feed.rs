//! The rooms feed: room summaries pushed to the connections watching the rooms list
//! (`observe_rooms`), at most ten messages a second per node, and nothing done while nobody
//! watches.
//!
//! Room actors report their summary after every change only while someone watches
//! ([`RoomsFeed::watched`], one atomic load otherwise). Reports wait in a table keyed by room,
//! so a busy room's many changes become one entry; a flush task sends what waits as one
//! `rooms` message to every watcher, then rests [`FLUSH_EVERY`] before the next. The task runs
//! only while there are watchers.

use crate::room::handle::ConnHandle;
use crate::wire::encode;
use coguest_core::RoomId;
use coguest_proto::{RoomSummary, ServerMsg};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// Least time between two `rooms` messages of a node.
pub(crate) const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// Room summaries for the connections watching the rooms list.
#[derive(Default)]
pub(crate) struct RoomsFeed {
    /// Number of watchers, read by every room actor after every change.
    watchers: AtomicUsize,
    inner: Mutex<Inner>,
    wake: Notify,
}

#[derive(Default)]
struct Inner {
    watchers: HashMap<u64, ConnHandle>,
    /// Summaries reported since the last flush, by room (the newest wins).
    changed: BTreeMap<RoomId, RoomSummary>,
    /// Rooms closed since the last flush.
    closed: Vec<String>,
    /// A flush task is running.
    flushing: bool,
}

impl RoomsFeed {
    /// Whether anyone watches: actors compute and report summaries only then.
    pub fn watched(&self) -> bool {
        self.watchers.load(Ordering::Relaxed) > 0
    }

    /// A room's summary after a change (ignored while nobody watches).
    pub fn changed(&self, summary: RoomSummary) {
        if !self.watched() {
            return;
        }
        if let Ok(mut inner) = self.inner.lock() {
            inner
                .changed
                .insert(RoomId::from(summary.room.as_str()), summary);
        }
        self.wake.notify_one();
    }

    /// A room was closed.
    pub fn closed(&self, room: &RoomId) {
        if !self.watched() {
            return;
        }
        if let Ok(mut inner) = self.inner.lock() {
            inner.changed.remove(room);
            inner.closed.push(room.as_str().to_owned());
        }
        self.wake.notify_one();
    }

    /// Adds a watcher (before its full list is collected, so no change in between is lost:
    /// a summary carries its room's version, and the client keeps the newest).
    pub fn watch(self: &Arc<Self>, conn: ConnHandle) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        inner.watchers.insert(conn.id, conn);
        self.watchers.store(inner.watchers.len(), Ordering::Relaxed);
        if !inner.flushing {
            inner.flushing = true;
            tokio::spawn(flush(self.clone()));
        }
    }

    /// Removes a watcher; whether it was one.
    pub fn unwatch(&self, conn: u64) -> bool {
        let Ok(mut inner) = self.inner.lock() else {
            return false;
        };
        let was = inner.watchers.remove(&conn).is_some();
        self.watchers.store(inner.watchers.len(), Ordering::Relaxed);
        if inner.watchers.is_empty() {
            inner.changed.clear();
            inner.closed.clear();
        }
        self.wake.notify_one();
        was
    }
}

/// Sends what changed to every watcher, at most once per [`FLUSH_EVERY`]; ends when nobody
/// watches any more.
async fn flush(feed: Arc<RoomsFeed>) {
    loop {
        feed.wake.notified().await;
        let (watchers, rooms, closed) = {
            let Ok(mut inner) = feed.inner.lock() else {
                return;
            };
            if inner.watchers.is_empty() {
                inner.flushing = false;
                return;
            }
            let rooms: Vec<RoomSummary> =
                std::mem::take(&mut inner.changed).into_values().collect();
            let closed = std::mem::take(&mut inner.closed);
            let watchers: Vec<ConnHandle> = inner.watchers.values().cloned().collect();
            (watchers, rooms, closed)
        };
        if rooms.is_empty() && closed.is_empty() {
            continue;
        }
        let text = encode(&ServerMsg::Rooms {
            full: false,
            rooms,
            closed,
        });
        for w in watchers {
            if !w.send(text.clone()) {
                // Closed, or too slow (then closed): it is not watching any more.
                feed.unwatch(w.id);
            }
        }
        tokio::time::sleep(FLUSH_EVERY).await;
    }
}
