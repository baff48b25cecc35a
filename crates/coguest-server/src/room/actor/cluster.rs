//! A room actor's cluster part: owning (lease, take-over, stepping down), following the owner's
//! published entries, and forwarding members' commands and admin requests to the owner.

use crate::auth::Identity;
use crate::cluster::Cluster;
use crate::cluster::msg::{ADMIN_CONN, AdminAnswer, AdminOp, CmdMsg, NodeMsg};
use crate::room::handle::ConnHandle;
use crate::room::msg::CommandMsg;
use crate::room::part::Part;
use crate::room::ring::{RingCap, RingEntry, output_entry};
use crate::store::LogInput;
use crate::store::redis::{Acquired, EntryAnswer, RoomNotice};

use super::{AdminReply, Forwarded, PendingAdmin, RoomActor, not_entered, not_owner, store_failed};
use axum::extract::ws::Utf8Bytes;
use coguest_core::{Command, Output, Timestamp, UserId};
use coguest_proto::{ClientCommand, ClosedReason, ErrorCode};
use std::sync::Arc;
use std::time::Instant;

/// Cluster mode: ownership, forwarding and following.
impl RoomActor {
    /// Whether this node decides for the room (single node, or cluster owner).
    pub(super) fn decides(&self) -> bool {
        !matches!(self.part, Part::Follower)
    }

    /// Whether `conn` has joined the room (through this node or, for the owner, another).
    pub(super) fn attached(&self, conn: &ConnHandle) -> bool {
        match conn.remote_node() {
            None => self.peers.contains(conn.id),
            Some(node) => self
                .remote
                .get(conn.user())
                .is_some_and(|s| s.contains(&(node.to_owned(), conn.id))),
        }
    }

    /// Before any mutation: whether this node may still decide. An owner whose lease is past
    /// its local trust window confirms it in Redis first, and steps down when it is gone —
    /// so a node resumed after a pause applies nothing stale.
    pub(super) async fn ensure_owner(&mut self) -> bool {
        let Part::Owner { epoch, valid_until } = self.part else {
            return matches!(self.part, Part::Single);
        };
        if Instant::now() < valid_until {
            return true;
        }
        let Some(cluster) = self.cluster.clone() else {
            return true;
        };
        let sent = Instant::now();
        match cluster.store.renew(&self.id).await {
            Ok(true) => {
                self.part = Part::owner(epoch, sent, cluster.lease);
                true
            }
            Ok(false) | Err(_) => {
                self.step_down().await;
                false
            }
        }
    }

    pub(super) async fn on_tick(&mut self) {
        let Some(cluster) = self.cluster.clone() else {
            return;
        };
        let now = Instant::now();
        match self.part {
            Part::Single => self.next_tick = now + std::time::Duration::from_secs(3600),
            Part::Owner { epoch, .. } => {
                self.next_tick = now + cluster.lease / 3;
                match cluster.store.renew(&self.id).await {
                    Ok(true) => self.part = Part::owner(epoch, now, cluster.lease),
                    Ok(false) => self.step_down().await,
                    // Unsure: the local trust window decides (ensure_owner asks again).
                    Err(e) => tracing::warn!(room = self.name(), error = %e, "renewing failed"),
                }
                self.sweep_dead_nodes(&cluster);
            }
            Part::Follower => {
                self.next_tick = now + cluster.lease / 2;
                self.expire_admin(&cluster);
                if self.idle() {
                    self.unload_if_idle().await;
                    return;
                }
                match cluster.store.owner(&self.id).await {
                    Ok(None) => self.try_take_over().await,
                    Ok(Some((node, _))) if !cluster.is_alive(&node) => {}
                    _ => {}
                }
                if matches!(self.part, Part::Follower) {
                    self.check_stored_seq(&cluster).await;
                }
                if matches!(self.part, Part::Follower) && !self.closed {
                    // Answers lost with a dead owner: ask the next one (same request ids, so
                    // nothing runs twice).
                    let stale = self
                        .forwarded
                        .values()
                        .any(|f| f.sent.elapsed() >= cluster.lease);
                    if stale {
                        self.resend_forwarded().await;
                    }
                }
            }
        }
    }

    /// Follower: catches up when storage holds an entry that never arrived. Gaps are seen when
    /// a later entry comes; this sees a missed *last* one (a full inbox drops messages, a lost
    /// subscription loses them). An entry stored by the previous tick and still missing now
    /// is lost, not in flight: only then reload, so staleness stays within about one lease.
    pub(super) async fn check_stored_seq(&mut self, cluster: &Cluster) {
        if self.stored_ahead.take().is_some_and(|s| s > self.log_seq) {
            tracing::info!(
                room = self.name(),
                seq = self.log_seq,
                "a stored entry never arrived; reloading"
            );
            self.shared.metrics.cluster_catch_ups.inc();
            self.reload().await;
            if self.closed || self.broken {
                return;
            }
        }
        match cluster.store.log_seq(&self.id).await {
            Ok(Some(seq)) if seq > self.log_seq => self.stored_ahead = Some(seq),
            Ok(Some(_)) => {}
            // Deleted: the reload next tick closes the room here if the notice is lost too.
            Ok(None) => self.stored_ahead = Some(u64::MAX),
            Err(e) => {
                tracing::warn!(room = self.name(), error = %e, "reading the stored sequence failed")
            }
        }
    }

    /// The node's subscription was lost and restored: everything published meanwhile is
    /// lost. A follower catches up from storage and sends again what waits for an answer
    /// (same request ids, so nothing runs twice); an owner confirms its lease and announces
    /// itself again, so that followers re-send what it missed, or steps down.
    pub(super) async fn resync(&mut self) {
        let Some(cluster) = self.cluster.clone() else {
            return;
        };
        match self.part {
            Part::Single => {}
            Part::Owner { epoch, .. } => {
                let sent = Instant::now();
                match cluster.store.reassert(&self.id).await {
                    Ok(true) => self.part = Part::owner(epoch, sent, cluster.lease),
                    Ok(false) => self.step_down().await,
                    // Unsure: the local trust window decides (ensure_owner asks again).
                    Err(e) => {
                        tracing::warn!(room = self.name(), error = %e, "reasserting the lease failed")
                    }
                }
            }
            Part::Follower => {
                self.stored_ahead = None;
                // Reloaded only when an entry is missing (a large room's reload is heavy, and a
                // join storm may ask often); entries still in the inbox are then skipped.
                let current = matches!(
                    cluster.store.log_seq(&self.id).await,
                    Ok(Some(seq)) if seq <= self.log_seq
                );
                if !current {
                    self.reload().await;
                }
                if self.closed || self.broken {
                    return;
                }
                // A new owner may have missed this node's connections.
                self.announce_presence().await;
                if !self.forwarded.is_empty() {
                    self.resend_forwarded().await;
                }
                if !self.admin_pending.is_empty() {
                    self.resend_admin().await;
                }
            }
        }
    }

    /// Whether the room's data is gone because Redis lost the cluster's data (not because it
    /// was deleted): asks the generation marker. Unsure (Redis did not answer) counts as not
    /// lost; the heartbeat asks again.
    pub(super) async fn data_lost(&self) -> bool {
        let Some(cluster) = self.cluster.clone() else {
            return false;
        };
        match cluster.detect_loss().await {
            Ok(lost) => lost || cluster.was_lost(&self.id),
            Err(e) => {
                tracing::warn!(room = self.name(), error = %e, "reading the generation marker failed");
                cluster.was_lost(&self.id)
            }
        }
    }

    /// The room's data is gone from Redis: members hear `room_closed` with reason `lost`
    /// (not a plain close: nobody closed it), and the actor stops without touching Redis.
    pub(super) fn lost_here(&mut self) {
        if self.closed {
            return;
        }
        if let (Part::Owner { .. }, Some(cluster)) = (self.part, &self.cluster) {
            cluster.store.forget(&self.id);
            self.part = Part::Follower;
            self.shared.metrics.owned_rooms.dec();
        }
        tracing::warn!(
            room = self.name(),
            version = self.room.version(),
            members = self.peers.iter().count(),
            "room lost with Redis's data; closing it here with reason `lost`"
        );
        self.closed_here(ClosedReason::Lost);
    }

    /// This node's heartbeat had expired: owners may have taken its members for gone. A
    /// follower announces them again (an owner's own members never left it).
    pub(super) async fn reannounce(&mut self) {
        if matches!(self.part, Part::Follower) && !self.peers.is_empty() {
            self.announce_presence().await;
        }
    }

    /// Follower: admin requests the owner has not answered within three leases fail (the
    /// owner may have died after applying one: the caller cannot tell, and reads it back).
    pub(super) fn expire_admin(&mut self, cluster: &Cluster) {
        let limit = cluster.lease * 3;
        let late: Vec<u64> = self
            .admin_pending
            .iter()
            .filter(|(_, p)| p.sent.elapsed() >= limit)
            .map(|(req, _)| *req)
            .collect();
        for req in late {
            if let Some(p) = self.admin_pending.remove(&req) {
                p.reply.send(Err((
                    ErrorCode::Failed,
                    "the room's owner did not answer in time; the change may or may not have been applied".to_owned(),
                )));
            }
        }
    }

    /// Follower: sends an admin request to the owner (or takes the room over when nobody
    /// owns it; the run loop then applies what waits).
    pub(super) async fn forward_admin(&mut self, op: AdminOp, reply: AdminReply) {
        let Some(cluster) = self.cluster.clone() else {
            reply.send(Err(not_owner()));
            return;
        };
        self.next_admin += 1;
        let req = self.next_admin;
        let msg = CmdMsg::Admin {
            node: cluster.node.clone(),
            req,
            op: op.clone(),
        };
        self.shared.metrics.cluster_forwarded.inc();
        match cluster.to_owner(&self.id, &msg).await {
            Ok(heard) => {
                self.admin_pending.insert(
                    req,
                    PendingAdmin {
                        op,
                        reply,
                        sent: Instant::now(),
                    },
                );
                if !heard {
                    self.try_take_over().await;
                }
            }
            Err(e) => reply.send(Err(store_failed(&e))),
        }
    }

    /// Follower: sends every unanswered admin request again (a new owner took over).
    pub(super) async fn resend_admin(&mut self) {
        let Some(cluster) = self.cluster.clone() else {
            return;
        };
        let mut heard_all = true;
        for (req, p) in &self.admin_pending {
            let msg = CmdMsg::Admin {
                node: cluster.node.clone(),
                req: *req,
                op: p.op.clone(),
            };
            if !matches!(cluster.to_owner(&self.id, &msg).await, Ok(true)) {
                heard_all = false;
            }
        }
        if !heard_all {
            self.try_take_over().await;
        }
    }

    /// Owner: members whose node stopped sending heartbeats start their grace period.
    pub(super) fn sweep_dead_nodes(&mut self, cluster: &Cluster) {
        let mut orphaned = Vec::new();
        for (user, conns) in self.remote.iter_mut() {
            conns.retain(|(node, _)| cluster.is_alive(node));
            if conns.is_empty() {
                orphaned.push(user.clone());
            }
        }
        for user in orphaned {
            self.remote.remove(&user);
            self.grace_if_gone(&user);
        }
    }

    pub(super) fn grace_if_gone(&mut self, user: &UserId) {
        let here = self.peers.has_user(user) || self.remote.contains_key(user);
        if !here && self.room.member(user).is_some() && !self.grace_of.contains_key(user) {
            let until = self.grace_deadline(self.shared.clock.now());
            self.start_grace(user.clone(), until);
        }
    }

    pub(super) async fn step_down(&mut self) {
        let Some(cluster) = self.cluster.clone() else {
            return;
        };
        if let Part::Owner { epoch, .. } = self.part {
            tracing::warn!(
                room = self.name(),
                epoch,
                "lost the room's lease; following"
            );
            self.part = Part::Follower;
            cluster.store.forget(&self.id);
            cluster.unsubscribe_cmds(&self.id).await;
            self.remote.clear();
            self.grace.clear();
            self.grace_of.clear();
            self.shared.metrics.cluster_leases_lost.inc();
            self.shared.metrics.owned_rooms.dec();
        }
        self.reload().await;
        self.announce_presence().await;
    }

    pub(super) async fn try_take_over(&mut self) {
        let Some(cluster) = self.cluster.clone() else {
            return;
        };
        if let Err(e) = cluster.subscribe_cmds(&self.id).await {
            tracing::warn!(room = self.name(), error = %e, "subscribing failed");
            return;
        }
        let sent = Instant::now();
        match cluster.store.acquire(&self.id).await {
            Ok(Acquired::Owner(epoch)) => {
                tracing::info!(room = self.name(), epoch, "took the room over");
                // The lease is ours: nobody else writes, so storage is the whole truth.
                self.reload().await;
                self.part = Part::owner(epoch, sent, cluster.lease);
                self.shared.metrics.cluster_takeovers.inc();
                self.shared.metrics.owned_rooms.inc();
                // Members not connected here get a grace period; other nodes announce theirs.
                let members: Vec<UserId> = self.room.members().map(|m| m.user_id.clone()).collect();
                for user in members {
                    self.grace_if_gone(&user);
                }
            }
            Ok(Acquired::Taken) | Err(_) => cluster.unsubscribe_cmds(&self.id).await,
        }
    }

    /// Follower: a command from a local connection.
    pub(super) async fn follow_command(&mut self, c: CommandMsg) {
        let user = c.conn.user().clone();
        match &c.cmd {
            ClientCommand::Ping => {
                c.conn.send(self.ack_now(c.id, None));
            }
            ClientCommand::Snapshot => {
                if self.peers.contains(c.conn.id) {
                    c.conn.send_msg(&self.snapshot_for(&user));
                    c.conn.send(self.ack_now(c.id, None));
                } else {
                    let (code, message) = not_entered();
                    c.conn.error(Some(c.id), code, message);
                }
            }
            ClientCommand::Join { .. } => self.forward(c).await,
            _ => {
                if c.core.is_some() && !self.peers.contains(c.conn.id) {
                    let (code, message) = not_entered();
                    c.conn.error(Some(c.id), code, message);
                } else {
                    self.forward(c).await;
                }
            }
        }
    }

    pub(super) fn cmd_msg(cluster: &Cluster, c: &CommandMsg) -> CmdMsg {
        CmdMsg::Command {
            node: cluster.node.clone(),
            conn: c.conn.id,
            user: c.conn.user().to_string(),
            profile: c.conn.identity.profile.clone(),
            role: c.conn.identity.role,
            id: c.id,
            cmd: c.cmd.clone(),
            core: c.core.clone(),
        }
    }

    pub(super) async fn forward(&mut self, c: CommandMsg) {
        let Some(cluster) = self.cluster.clone() else {
            return;
        };
        let msg = Self::cmd_msg(&cluster, &c);
        let was_member = self.room.member(c.conn.user()).is_some();
        let key = (c.conn.id, c.id);
        self.shared.metrics.cluster_forwarded.inc();
        match cluster.to_owner(&self.id, &msg).await {
            Ok(heard) => {
                self.forwarded.insert(
                    key,
                    Forwarded {
                        c,
                        was_member,
                        sent: Instant::now(),
                        retried: false,
                    },
                );
                if !heard {
                    // Nobody owns the room: this node takes it (the run loop then applies
                    // what waits here).
                    self.try_take_over().await;
                }
            }
            Err(e) => {
                let (code, message) = store_failed(&e);
                c.conn.error(Some(c.id), code, message);
            }
        }
    }

    pub(super) async fn resend_forwarded(&mut self) {
        let Some(cluster) = self.cluster.clone() else {
            return;
        };
        let mut heard_all = true;
        for f in self.forwarded.values_mut() {
            let msg = Self::cmd_msg(&cluster, &f.c);
            f.sent = Instant::now();
            match cluster.to_owner(&self.id, &msg).await {
                Ok(true) => {}
                _ => heard_all = false,
            }
        }
        if !heard_all {
            self.try_take_over().await;
        }
    }

    /// Follower: tells the (new) owner which connections of the room are here.
    pub(super) async fn announce_presence(&mut self) {
        let (Part::Follower, Some(cluster)) = (self.part, self.cluster.clone()) else {
            return;
        };
        let conns: Vec<(u64, String)> = self
            .peers
            .iter()
            .map(|p| (p.id, p.user().to_string()))
            .collect();
        let msg = CmdMsg::Presence {
            node: cluster.node.clone(),
            conns,
        };
        if let Err(e) = cluster.to_owner(&self.id, &msg).await {
            tracing::warn!(room = self.name(), error = %e, "announcing presence failed");
        }
    }

    pub(super) async fn on_notice(&mut self, notice: RoomNotice) {
        let Some(cluster) = self.cluster.clone() else {
            return;
        };
        match notice {
            RoomNotice::Entry(w) => match self.part {
                Part::Single => {}
                Part::Owner { .. } => {
                    if w.seq > self.log_seq {
                        // Someone else stored an entry: this node's lease is stale.
                        self.step_down().await;
                    }
                }
                Part::Follower => self.follow_entry(w).await,
            },
            RoomNotice::Leader { node, epoch } => {
                cluster.store.note_epoch(&self.id, epoch);
                if node == cluster.node {
                    return;
                }
                if matches!(self.part, Part::Owner { .. }) {
                    self.step_down().await;
                } else {
                    self.announce_presence().await;
                    if !self.forwarded.is_empty() {
                        self.resend_forwarded().await;
                    }
                    if !self.admin_pending.is_empty() {
                        self.resend_admin().await;
                    }
                }
            }
            RoomNotice::Released { node } => {
                let interested = !self.peers.is_empty()
                    || !self.forwarded.is_empty()
                    || !self.admin_pending.is_empty();
                if node != cluster.node && matches!(self.part, Part::Follower) && interested {
                    self.try_take_over().await;
                }
            }
            RoomNotice::Closed => self.closed_here(ClosedReason::Closed),
        }
    }

    /// Follower: applies one entry the owner stored, exactly as the owner did.
    pub(super) async fn follow_entry(&mut self, mut w: crate::store::redis::WireEntry) {
        let answer = w.answer.take();
        if w.seq <= self.log_seq {
            // Applied already (a reload read it from storage first): its answer is still due.
            self.answer_here(answer).await;
            return;
        }
        let entry = match w.to_entry() {
            Ok(e) if w.seq == self.log_seq + 1 => e,
            // A gap (or an unreadable entry): catch up from storage.
            _ => {
                self.reload().await;
                self.answer_here(answer).await;
                return;
            }
        };
        let leaving = match &entry.input {
            LogInput::Timeout => {
                self.room.handle_timeout(entry.at);
                None
            }
            LogInput::Command { actor, command } => {
                let ok = self
                    .room
                    .handle_command(entry.at, actor, command.clone())
                    .is_ok();
                (ok && matches!(command, Command::Leave)).then(|| actor.clone())
            }
        };
        // A leave no client sent is the owner's grace period ending: it took the member for
        // gone, yet its socket is open here.
        let forced = leaving.is_some() && entry.client_req_id.is_none();
        let outputs: Vec<Output> = std::iter::from_fn(|| self.room.poll_output()).collect();
        self.log_seq = entry.seq;
        let name = self.id.as_str().to_owned();
        self.request_times.track(entry.at, &outputs);
        let log = self.observers.log_outputs(&name, entry.at, &outputs);
        self.last_change = Some(entry.at);
        let entries: Vec<RingEntry> = outputs
            .into_iter()
            .filter_map(|o| output_entry(&name, entry.at, o))
            .collect();
        self.deliver(&entries, None);
        self.send_log(&log);
        self.delivered_version = self.room.version();
        let cap = RingCap::of(&self.shared.config);
        for e in entries {
            self.ring.push(e, cap);
        }
        self.report_summary();
        if let Some(user) = leaving {
            let conns: Vec<ConnHandle> = self.peers.of_user(&user).cloned().collect();
            self.peers.remove_user(&user);
            if forced {
                // Closed rather than left open outside the room: the client resumes (joins
                // again) at once.
                self.reset(&conns);
            }
        }
        self.shared.metrics.cluster_applied.inc();
        // Right after the entry's outputs, before any later entry's.
        self.answer_here(answer).await;
    }

    /// Follower: an answer that came with an entry, when it is for a connection of this node.
    pub(super) async fn answer_here(&mut self, answer: Option<EntryAnswer>) {
        let Some(cluster) = self.cluster.clone() else {
            return;
        };
        if let Some(a) = answer.filter(|a| a.node == cluster.node) {
            let room = self.name().to_owned();
            self.on_answer(NodeMsg {
                room,
                conn: a.conn,
                text: a.text,
            })
            .await;
        }
    }

    /// Owner: a message from another node.
    pub(super) async fn on_remote(&mut self, msg: CmdMsg) {
        let Some(cluster) = self.cluster.clone() else {
            return;
        };
        if !matches!(self.part, Part::Owner { .. }) {
            return;
        }
        match msg {
            CmdMsg::Command {
                node,
                conn,
                user,
                profile,
                role,
                id,
                cmd,
                core,
            } => {
                self.shared.metrics.cluster_remote.inc();
                let identity = Arc::new(Identity {
                    user: UserId::from(user.as_str()),
                    profile,
                    role,
                    room: None,
                    expires: Timestamp::from_millis(u64::MAX),
                    admin: false,
                });
                let handle = ConnHandle::remote(node, conn, identity, self.id.clone(), cluster);
                let c = CommandMsg {
                    conn: handle,
                    id,
                    cmd,
                    core,
                    received: Instant::now(),
                };
                self.on_command(c).await;
            }
            CmdMsg::Detach { node, conn } => {
                let key = (node, conn);
                let user = self
                    .remote
                    .iter()
                    .find(|(_, s)| s.contains(&key))
                    .map(|(u, _)| u.clone());
                if let Some(user) = user {
                    if let Some(s) = self.remote.get_mut(&user) {
                        s.remove(&key);
                        if s.is_empty() {
                            self.remote.remove(&user);
                        }
                    }
                    self.grace_if_gone(&user);
                }
            }
            CmdMsg::Presence { node, conns } => {
                // It just spoke: a sweep before its next heartbeat must not drop it again.
                cluster.mark_alive(&node);
                for s in self.remote.values_mut() {
                    s.retain(|(n, _)| n != &node);
                }
                for (conn, user) in conns {
                    let user = UserId::from(user.as_str());
                    if self.room.member(&user).is_none() {
                        continue;
                    }
                    self.cancel_grace(&user);
                    self.remote
                        .entry(user)
                        .or_default()
                        .insert((node.clone(), conn));
                }
                self.remote.retain(|_, s| !s.is_empty());
                let members: Vec<UserId> = self.room.members().map(|m| m.user_id.clone()).collect();
                for user in members {
                    self.grace_if_gone(&user);
                }
            }
            CmdMsg::Admin { node, req, op } => {
                self.shared.metrics.cluster_remote.inc();
                let result = self.apply_admin(op).await;
                let answer = AdminAnswer { req, result };
                match serde_json::to_string(&answer) {
                    Ok(text) => cluster.answer(&node, &self.id, ADMIN_CONN, &text),
                    Err(e) => {
                        tracing::warn!(room = self.name(), error = %e, "encoding an admin answer failed")
                    }
                }
            }
        }
    }

    /// Follower: the owner answered a forwarded command.
    pub(super) async fn on_answer(&mut self, a: NodeMsg) {
        if a.conn == ADMIN_CONN {
            let Ok(answer) = serde_json::from_str::<AdminAnswer>(&a.text) else {
                tracing::warn!(room = self.name(), "unreadable admin answer");
                return;
            };
            let Some(p) = self.admin_pending.remove(&answer.req) else {
                return;
            };
            // The change's entry was published before the answer: the local copy has it
            // unless an entry was lost, which a reload repairs.
            if let Ok(v) = answer.result {
                if v > self.room.version() {
                    self.reload().await;
                }
            }
            p.reply.send(answer.result);
            return;
        }
        let head: serde_json::Value = match serde_json::from_str(&a.text) {
            Ok(v) => v,
            Err(_) => return,
        };
        let Some(id) = head.get("id").and_then(serde_json::Value::as_u64) else {
            return;
        };
        let Some(f) = self.forwarded.remove(&(a.conn, id)) else {
            return;
        };
        let ok = head.get("t").and_then(serde_json::Value::as_str) == Some("ack");
        let version = head.get("version").and_then(serde_json::Value::as_u64);
        if version.is_some_and(|v| v > self.room.version()) {
            self.reload().await;
        }
        let refused_not_joined = head.get("code").and_then(serde_json::Value::as_i64)
            == Some(i64::from(ErrorCode::NotEnteredRoom.code()));
        if refused_not_joined
            && !f.retried
            && self.peers.contains(f.c.conn.id)
            && matches!(self.part, Part::Follower)
        {
            // The owner took this node for dead (a pause past the heartbeat TTL) and dropped
            // its connections: announce them, then send the command once more.
            self.announce_presence().await;
            if let Some(cluster) = self.cluster.clone() {
                let msg = Self::cmd_msg(&cluster, &f.c);
                if matches!(cluster.to_owner(&self.id, &msg).await, Ok(true)) {
                    let key = (a.conn, id);
                    self.forwarded.insert(
                        key,
                        Forwarded {
                            sent: Instant::now(),
                            retried: true,
                            ..f
                        },
                    );
                    return;
                }
            }
        }
        let c = f.c;
        let text = Utf8Bytes::from(a.text);
        match &c.cmd {
            ClientCommand::Join { since } if ok => {
                self.peers.insert(c.conn.clone());
                self.send_room_state(&c.conn, *since, !f.was_member);
                c.conn.send(text);
            }
            ClientCommand::Leave if ok => {
                c.conn.send(text);
                let user = c.conn.user().clone();
                self.peers.remove_user(&user);
            }
            _ => {
                c.conn.send(text);
            }
        }
        let result = if ok { "ok" } else { "error" };
        self.count(c.cmd.kind(), result, &c);
    }
}
