//! A mutation's path: apply through the core, drain every output, commit the input to storage,
//! then deliver; compaction, and reloading when a write failed.

use crate::room::handle::ConnHandle;
use crate::room::observers::for_observers;
use crate::room::outbox::Live;
use crate::room::rebuild::Rebuilt;
use crate::room::ring::{RingCap, RingEntry, output_entry};
use crate::store::redis::EntryAnswer;
use crate::store::{LogEntry, LogInput, StoreError};

use super::{MutateError, Mutated, RoomActor, ack};
use axum::extract::ws::Utf8Bytes;
use coguest_core::{Audience, Output, OutputBody, Room, Timestamp, UserId};
use coguest_proto::WebhookEvent;
use std::time::Instant;

impl RoomActor {
    /// Applies one input, drains its outputs, stores it, then delivers the outputs. `origin`
    /// is the command's client request id and connection, when a client sent it.
    pub(super) async fn mutate(
        &mut self,
        now: Timestamp,
        input: LogInput,
        origin: Option<(u64, &ConnHandle)>,
    ) -> Result<Mutated, MutateError> {
        let before = self.room.version();
        let result = match &input {
            LogInput::Timeout => {
                self.room.handle_timeout(now);
                Ok(None)
            }
            LogInput::Command { actor, command } => {
                self.room.handle_command(now, actor, command.clone())
            }
        };
        let outputs: Vec<Output> = std::iter::from_fn(|| self.room.poll_output()).collect();
        let request_id = match result {
            Ok(r) => r,
            Err(e) => {
                debug_assert!(outputs.is_empty(), "a refused command produced output");
                return Err(MutateError::Refused(e));
            }
        };
        if self.room.version() == before && outputs.is_empty() {
            return Ok(Mutated {
                request_id,
                answered: None,
            });
        }
        let client_req_id = origin.map(|(id, _)| id);
        let entry = LogEntry {
            seq: self.log_seq + 1,
            at: now,
            input,
            client_req_id,
        };
        let outbox = self.webhook_items(now, &outputs);
        // A command from another node's connection: its answer rides on the published entry.
        let remote_answer = match (&self.cluster, origin) {
            (Some(_), Some((id, conn))) => conn.remote_node().map(|node| EntryAnswer {
                node: node.to_owned(),
                conn: conn.id,
                text: ack(id, self.name(), self.room.version(), request_id).to_string(),
            }),
            _ => None,
        };
        let storing = Instant::now();
        let stored = match (&self.cluster, &remote_answer) {
            (Some(cluster), Some(a)) => {
                cluster
                    .store
                    .append_answering(&self.id, &entry, Some(a.clone()), &outbox)
                    .await
            }
            _ => {
                self.shared
                    .store
                    .append_with_outbox(&self.id, &entry, &outbox)
                    .await
            }
        };
        self.shared
            .metrics
            .store_append_latency
            .observe(storing.elapsed().as_secs_f64());
        if let Err(e) = stored {
            tracing::error!(room = self.name(), error = %e, "storing a log entry failed; reloading");
            if matches!(e, StoreError::Fenced(_)) {
                // Another node owns the room: nothing of this turn is applied or sent.
                self.step_down().await;
            } else {
                self.reload().await;
            }
            return Err(MutateError::Store(e));
        }
        if self.cluster.is_some() {
            self.shared.metrics.cluster_published.inc();
        }
        self.log_seq = entry.seq;
        if !outbox.is_empty() {
            self.shared.webhooks.wake();
        }
        if self.log_seq - self.checkpoint_seq >= self.shared.config.compact_every.max(1) {
            self.compact().await;
        }
        let name = self.id.as_str().to_owned();
        self.request_times.track(now, &outputs);
        let log = self.observers.log_outputs(&name, now, &outputs);
        self.last_change = Some(now);
        let entries: Vec<RingEntry> = outputs
            .into_iter()
            .filter_map(|o| output_entry(&name, now, o))
            .collect();
        let local = origin.filter(|(_, c)| c.remote_node().is_none());
        self.deliver(&entries, local.map(|(_, c)| c.id));
        self.send_log(&log);
        self.delivered_version = self.room.version();
        let cap = RingCap::of(&self.shared.config);
        for e in entries {
            self.ring.push(e, cap);
        }
        self.report_summary();
        Ok(Mutated {
            request_id,
            answered: remote_answer.map(|a| Utf8Bytes::from(a.text)),
        })
    }

    /// The webhook deliveries for a mutation's notices (none without endpoints).
    pub(super) fn webhook_items(
        &self,
        now: Timestamp,
        outputs: &[Output],
    ) -> Vec<crate::store::OutboxItem> {
        if !self.shared.webhooks.enabled() {
            return Vec::new();
        }
        let events: Vec<WebhookEvent> = outputs
            .iter()
            .filter_map(|o| match &o.body {
                OutputBody::Notice(n) => Some((o.version, n)),
                _ => None,
            })
            .enumerate()
            .map(|(i, (version, n))| {
                WebhookEvent::from_notice(self.name(), self.incarnation, version, i, now, n)
            })
            .collect();
        self.shared.webhooks.items(&events)
    }

    pub(super) async fn compact(&mut self) {
        let snapshot = self.room.snapshot();
        match self
            .shared
            .store
            .compact(&self.id, self.log_seq, &snapshot)
            .await
        {
            Ok(()) => self.checkpoint_seq = self.log_seq,
            Err(e) => {
                // Tried again after another `compact_every` entries, not at the next append:
                // each try serialises the whole room (megabytes for a large one), and on a
                // busy store that made every append a compaction that timed out again. Nothing
                // is lost meanwhile: the log keeps every entry after the stored checkpoint.
                self.checkpoint_seq = self.log_seq;
                tracing::warn!(room = self.name(), error = %e, "compaction failed");
            }
        }
    }

    /// After a failed write: rebuild the room from what storage holds.
    pub(super) async fn reload(&mut self) {
        let loaded = match self.shared.store.load(&self.id).await {
            Ok(Some(stored)) => {
                Rebuilt::replay(self.name(), stored, RingCap::of(&self.shared.config))
            }
            // Only the fenced delete removes a shared room: its `Closed` notice was missed,
            // unless Redis lost the data.
            Ok(None) if self.cluster.is_some() => {
                if self.data_lost().await {
                    self.lost_here();
                } else {
                    self.closed_here(coguest_proto::ClosedReason::Closed);
                }
                return;
            }
            Ok(None) => Err(StoreError::Corrupt("the room vanished from storage".into())),
            Err(e) => Err(e),
        };
        match loaded {
            Ok(r) => {
                let told = self.delivered_version;
                self.room = r.room;
                self.ring = r.ring;
                self.answers = r.answers;
                self.log_seq = r.log_seq;
                self.checkpoint_seq = r.checkpoint_seq;
                self.request_times = r.request_times;
                self.last_change = self.last_change.max(r.last_at);
                // Tell local connections what was stored meanwhile (by another owner).
                if self.room.version() > told {
                    if self.ring.floor <= told {
                        let missed: Vec<RingEntry> = self.ring.after(told).cloned().collect();
                        self.deliver(&missed, None);
                    } else {
                        let peers: Vec<ConnHandle> = self.peers.iter().cloned().collect();
                        for p in peers {
                            p.send_msg(&self.snapshot_for(p.user()));
                        }
                        let snapshot = self.observer_snapshot();
                        for o in self.observers.iter() {
                            o.send_msg(&snapshot);
                        }
                    }
                    self.report_summary();
                }
                self.delivered_version = self.room.version();
            }
            Err(e) => {
                tracing::error!(room = self.name(), error = %e, "reload failed; stopping the room");
                self.broken = true;
            }
        }
    }

    /// Sends each output to the connected peers its audience includes, the connection whose
    /// command caused them last: tokio runs the task woken last first (its LIFO slot), then
    /// the others in the order they were woken, so that writer goes first and its answer
    /// (queued next, before the actor yields) leaves in the same write, not behind the
    /// room's. A peer whose queue is full is closed and detached; the room never waits for it.
    pub(super) fn deliver(&mut self, entries: &[RingEntry], origin_id: Option<u64>) {
        let mut gone = Vec::new();
        let mut replaced = 0;
        let room = &self.room;
        let key = self.key;
        let origin = origin_id.and_then(|id| self.peers.get(id));
        let mut send = |peer: &ConnHandle| match send_entries(room, key, peer, entries) {
            Some(n) => replaced += n,
            None => gone.push(peer.id),
        };
        if entries.iter().any(|e| matches!(e.to, Audience::Room)) {
            for peer in self.peers.iter().filter(|p| Some(p.id) != origin_id) {
                send(peer);
            }
        } else {
            // Only hosts and the users the outputs name receive them (a join's candidate
            // change, say): their connections, not a scan of the whole audience.
            let mut users: Vec<&UserId> = room.hosts().collect();
            for e in entries {
                if let Audience::HostsAnd(u) | Audience::User(u) = &e.to {
                    users.push(u);
                }
            }
            users.sort_unstable();
            users.dedup();
            for user in users {
                for peer in self.peers.of_user(user).filter(|p| Some(p.id) != origin_id) {
                    send(peer);
                }
            }
        }
        if let Some(peer) = origin {
            send(peer);
        }
        // Observers see what the hosts see.
        if entries.iter().any(|e| for_observers(&e.to)) {
            for o in self.observers.iter() {
                match send_to_observer(key, o, entries) {
                    Some(n) => replaced += n,
                    None => gone.push(o.id),
                }
            }
        }
        if replaced > 0 {
            self.shared.metrics.seat_lists_replaced.inc_by(replaced);
        }
        for id in gone {
            self.detach(id);
        }
    }
}

/// Queues to an observer the entries the hosts receive, as [`send_entries`] does.
fn send_to_observer(key: u32, observer: &ConnHandle, entries: &[RingEntry]) -> Option<u64> {
    let mut replaced = 0;
    for e in entries.iter().filter(|e| for_observers(&e.to)) {
        let live = Live {
            room: key,
            version: e.version,
            seats: e.seats,
        };
        replaced += u64::from(observer.send_live(e.text.clone(), live)?);
    }
    Some(replaced)
}

/// Queues to `peer` the entries its audience includes, as live outputs of room actor `key`:
/// how many waiting seat lists they replaced, `None` when its queue is full (or closed).
fn send_entries(room: &Room, key: u32, peer: &ConnHandle, entries: &[RingEntry]) -> Option<u64> {
    // Looked up only when an output is not for the whole room (seat changes, the bulk of
    // deliveries, need no lookup).
    let mut is_host = None;
    let mut replaced = 0;
    for e in entries {
        let included = match &e.to {
            Audience::Room => true,
            to => {
                let h = *is_host.get_or_insert_with(|| room.is_host(peer.user()));
                to.includes(peer.user(), h)
            }
        };
        if !included {
            continue;
        }
        let live = Live {
            room: key,
            version: e.version,
            seats: e.seats,
        };
        replaced += u64::from(peer.send_live(e.text.clone(), live)?);
    }
    Some(replaced)
}
