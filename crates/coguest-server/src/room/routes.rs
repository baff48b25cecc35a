//! The routing table from room id to room actor inbox (quinn's `Endpoint` analogue), and the
//! delivery of cluster messages to the room actors running here.
//!
//! A std `Mutex` guards the table only, never a room.

use crate::cluster::{Dispatch, Inbound};
use crate::metrics::Metrics;
use crate::room::msg::RoomMsg;
use coguest_core::RoomId;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Messages queued per room actor before senders wait.
pub(crate) const INBOX: usize = 1024;

/// Room id to the inbox of the actor running that room here.
pub(crate) struct Routes {
    table: Mutex<HashMap<RoomId, mpsc::Sender<RoomMsg>>>,
    /// Held while a room's actor is started (the registry) or stopped for being idle (the
    /// actor): never two actors for one room, and no message lost between them.
    pub opening: tokio::sync::Mutex<()>,
    metrics: Arc<Metrics>,
    /// Cluster messages dropped: a join storm drops thousands a second, and one warning each
    /// flooded the log.
    drops: Mutex<DropWarnings>,
    /// Rooms whose inbox overflowed and whose resync request is on its way: one at a time.
    resyncing: Mutex<HashSet<RoomId>>,
}

/// Counts dropped cluster messages between warnings, at most one warning per
/// [`DROP_WARNING_EVERY`].
#[derive(Debug, Default)]
struct DropWarnings {
    unreported: u64,
    last: Option<Instant>,
}

impl DropWarnings {
    /// One more drop at `now`: the number to warn about now (this one included), or `None`
    /// while the last warning is recent.
    fn drop_at(&mut self, now: Instant) -> Option<u64> {
        self.unreported += 1;
        if self
            .last
            .is_some_and(|at| now.duration_since(at) < DROP_WARNING_EVERY)
        {
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.unreported))
    }
}

/// Least time between two warnings about dropped cluster messages.
const DROP_WARNING_EVERY: Duration = Duration::from_secs(1);

impl Routes {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Routes {
            table: Mutex::new(HashMap::new()),
            opening: tokio::sync::Mutex::new(()),
            metrics,
            drops: Mutex::new(DropWarnings::default()),
            resyncing: Mutex::new(HashSet::new()),
        }
    }

    pub fn get(&self, room: &RoomId) -> Option<mpsc::Sender<RoomMsg>> {
        self.table.lock().ok()?.get(room).cloned()
    }

    pub fn insert(&self, room: RoomId, tx: mpsc::Sender<RoomMsg>) {
        if let Ok(mut table) = self.table.lock() {
            table.insert(room, tx);
        }
    }

    /// Removes a stopped actor's entry (only if it is still that actor's).
    pub fn forget(&self, room: &RoomId, tx: &mpsc::Sender<RoomMsg>) {
        if let Ok(mut table) = self.table.lock() {
            if table.get(room).is_some_and(|t| t.same_channel(tx)) {
                table.remove(room);
            }
        }
    }

    /// Cluster: hands a message to a room's actor if it runs here (never opens the room).
    ///
    /// A full inbox (a join storm) cannot take the message, and the subscription must not
    /// wait for one room: the message is dropped, and the actor is asked to resynchronise
    /// from Redis (once until it does; the request waits for space in a task of its own), as
    /// after a lost subscription: a follower reloads and sends again what waits for answers,
    /// an owner announces itself so followers send again what it missed.
    pub fn deliver_local(&self, room: &RoomId, msg: RoomMsg) {
        if let Some(tx) = self.get(room) {
            if tx.try_send(msg).is_err() {
                self.metrics.cluster_dropped.inc();
                self.warn_dropped(room);
                let first = self
                    .resyncing
                    .lock()
                    .is_ok_and(|mut r| r.insert(room.clone()));
                if first {
                    self.metrics.cluster_inbox_resyncs.inc();
                    tokio::spawn(async move {
                        let _ = tx.send(RoomMsg::Resync).await;
                    });
                }
            }
        }
    }

    /// `room`'s actor is resynchronising: a later overflow asks again.
    pub fn resyncing_done(&self, room: &RoomId) {
        if let Ok(mut r) = self.resyncing.lock() {
            r.remove(room);
        }
    }

    /// At most one warning a second, with the number dropped meanwhile (every drop is in the
    /// `coguest_cluster_dropped_messages_total` counter).
    fn warn_dropped(&self, room: &RoomId) {
        let due = match self.drops.lock() {
            Ok(mut drops) => drops.drop_at(Instant::now()),
            Err(_) => None,
        };
        if let Some(dropped) = due {
            tracing::warn!(room = %room, dropped, "room inbox full; dropped cluster messages (the room resynchronises from storage)");
        }
    }
}

impl Dispatch for Routes {
    fn deliver(&self, room: &RoomId, msg: Inbound) {
        let msg = match msg {
            Inbound::Notice(n) => RoomMsg::Notice(n),
            Inbound::Remote(c) => RoomMsg::Remote(c),
            Inbound::Answer(a) => RoomMsg::Answer(a),
        };
        self.deliver_local(room, msg);
    }

    /// Asks every running room actor to resynchronise (the subscription was lost and
    /// restored). Returns how many were asked.
    fn resync_all(&self) -> usize {
        self.to_all(|| RoomMsg::Resync).len()
    }

    fn lost_all(&self) -> Vec<RoomId> {
        self.to_all(|| RoomMsg::Lost)
    }

    fn reannounce_all(&self) -> usize {
        self.to_all(|| RoomMsg::Reannounce).len()
    }
}

impl Routes {
    /// Sends `msg()` to every running room actor, waiting for inbox space in a task of its own
    /// when one is full (these messages must not be lost: they are rare and each repairs
    /// something). The rooms asked.
    fn to_all(&self, msg: impl Fn() -> RoomMsg) -> Vec<RoomId> {
        let actors: Vec<(RoomId, mpsc::Sender<RoomMsg>)> = match self.table.lock() {
            Ok(t) => t.iter().map(|(r, tx)| (r.clone(), tx.clone())).collect(),
            Err(_) => return Vec::new(),
        };
        for (_, tx) in &actors {
            if let Err(mpsc::error::TrySendError::Full(m)) = tx.try_send(msg()) {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let _ = tx.send(m).await;
                });
            }
        }
        actors.into_iter().map(|(r, _)| r).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_messages_are_warned_about_once_a_second_with_their_count() {
        let mut w = DropWarnings::default();
        let t0 = Instant::now();
        assert_eq!(w.drop_at(t0), Some(1), "the first drop is told at once");
        for k in 1..500 {
            let at = t0 + DROP_WARNING_EVERY * k / 500;
            assert_eq!(w.drop_at(at), None);
        }
        assert_eq!(w.drop_at(t0 + DROP_WARNING_EVERY), Some(500));
        assert_eq!(
            w.drop_at(t0 + DROP_WARNING_EVERY * 5),
            Some(1),
            "a quiet spell ends with a warning of its own"
        );
    }
}
