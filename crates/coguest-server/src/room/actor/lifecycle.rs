//! A room actor's lifecycle: an idle room (no members, nothing pending) leaves memory
//! `room_idle_unload` after it became idle, and (single node) is deleted once unused for
//! `room_ttl` (with a `room_closed` webhook, `reason: expired`). In cluster mode an owner
//! unloads an idle room and gives its lease up, and a follower unloads a room none of its
//! connections is in, unsubscribing from its channels. Everything it holds is stored by then,
//! so unloading writes nothing: the room is loaded again from storage when next used.

use super::RoomActor;
use crate::room::part::Part;
use crate::room::routes::INBOX;
use coguest_core::Timestamp;
use std::time::Duration;
use tokio::sync::mpsc;

/// A setting's duration in milliseconds; `None` for zero (the behaviour is off).
fn millis(d: Duration) -> Option<u64> {
    let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    (ms > 0).then_some(ms)
}

impl RoomActor {
    /// Whether the room is idle here: no connection (an unloaded room would leave its
    /// observers silently stale) and, where this node decides, no member, no pending request
    /// and no grace period running. A cluster follower only needs nothing of its own waiting:
    /// with no member here it has no reason to follow the room (and its channel) any longer.
    pub(super) fn idle(&self) -> bool {
        let unused_here = self.peers.is_empty() && self.observers.is_empty();
        match self.part {
            Part::Follower => {
                unused_here && self.forwarded.is_empty() && self.admin_pending.is_empty()
            }
            Part::Single | Part::Owner { .. } => {
                unused_here
                    && self.room.member_count() == 0
                    && self.room.pending_request_count() == 0
                    && self.grace.is_empty()
                    && self.remote.is_empty()
            }
        }
    }

    /// Notes when the room became idle (the unload countdown starts then), or that it is not.
    pub(super) fn note_idle(&mut self) {
        if !self.idle() {
            self.idle_since = None;
        } else if self.idle_since.is_none() {
            self.idle_since = Some(self.shared.clock.now());
        }
    }

    /// When the room expires if it stays unused: its latest stored input plus `room_ttl`.
    pub(super) fn expires_at(&self) -> Option<Timestamp> {
        // Expiry is single node only: a cluster has no dormant-room sweep.
        if self.cluster.is_some() {
            return None;
        }
        let ttl = millis(self.shared.config.room_ttl)?;
        Some(self.room.last_now().plus_millis(ttl))
    }

    /// An idle room's next lifecycle deadline: unloading or expiry, whichever comes first.
    pub(super) fn lifecycle_deadline(&self) -> Option<Timestamp> {
        let since = self.idle_since?;
        let unload = millis(self.shared.config.room_idle_unload).map(|ms| since.plus_millis(ms));
        match (unload, self.expires_at()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A lifecycle deadline may have passed: deletes the expired room, or unloads the idle
    /// one. A message already waiting goes first (one per turn; the deadline stays due).
    pub(super) async fn on_lifecycle(&mut self, now: Timestamp) {
        if self.lifecycle_deadline().is_none_or(|t| t > now) {
            return;
        }
        if let Ok(msg) = self.inbox.try_recv() {
            self.on_msg(msg).await;
            return;
        }
        if self.expires_at().is_some_and(|t| t <= now) {
            tracing::info!(
                room = self.name(),
                "room unused for its time to live: deleting"
            );
            if let Err((_, e)) = self.delete("expired", None).await {
                tracing::error!(room = self.name(), error = %e, "could not delete an expired room");
                // Not again at once: the deadline stays due until the store answers.
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        } else {
            self.unload().await;
        }
    }

    /// Follower (no deadlines of its own): unloads once idle for `room_idle_unload`.
    pub(super) async fn unload_if_idle(&mut self) {
        let now = self.shared.clock.now();
        if self.lifecycle_deadline().is_some_and(|t| t <= now) {
            self.unload().await;
        }
    }

    /// Leaves the routing table and stops, unless a message arrived meanwhile: then the actor
    /// stays, with a fresh inbox, and handles it. Under the opening lock, so no other actor of
    /// this room starts meanwhile, and a sender that finds the old inbox closed opens the room
    /// afresh (from storage, or this actor's new inbox).
    async fn unload(&mut self) {
        let routes = self.routes.clone();
        let opening = routes.opening.lock().await;
        self.routes.forget(&self.id, &self.me);
        self.inbox.close();
        let mut waiting = Vec::new();
        while let Ok(msg) = self.inbox.try_recv() {
            waiting.push(msg);
        }
        if waiting.is_empty() {
            tracing::debug!(room = self.name(), "idle: unloaded");
            if let Some(cluster) = self.cluster.clone() {
                // Under the opening lock: no new actor of the room has subscribed meanwhile.
                cluster.unsubscribe_room(&self.id).await;
                cluster.unsubscribe_cmds(&self.id).await;
            }
            self.unloaded = true;
            return;
        }
        let (tx, rx) = mpsc::channel(INBOX);
        self.inbox = rx;
        self.me = tx.clone();
        self.routes.insert(self.id.clone(), tx);
        drop(opening);
        for msg in waiting {
            self.on_msg(msg).await;
        }
    }
}
