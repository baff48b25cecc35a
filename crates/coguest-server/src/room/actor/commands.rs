//! A room actor's handling of commands: members' (join, co-guest and seat commands, detach)
//! and the admin API's (operator commands, close).

use crate::cluster::msg::{AdminOp, CmdMsg};
use crate::retry_cache::Kept;
use crate::room::handle::ConnHandle;
use crate::room::msg::CommandMsg;
use crate::room::part::Part;
use crate::store::LogInput;
use crate::wire::encode;

use super::{
    AdminReply, Answer, MutateError, Mutated, RoomActor, ack, not_entered, not_owner, refused,
    store_failed,
};
use axum::extract::ws::Utf8Bytes;
use coguest_core::{Command, RequestId, Timestamp, UserId};
use coguest_proto::{
    ClientCommand, ClosedReason, CoGuestState, ErrorCode, ServerMsg, WebhookEvent,
};

impl RoomActor {
    /// An admin API request: applied here when this node decides for the room, else forwarded
    /// to the owner (cluster mode).
    pub(super) async fn admin(&mut self, op: AdminOp, reply: AdminReply) {
        if self.cluster.is_some() && !self.ensure_owner().await {
            self.forward_admin(op, reply).await;
            return;
        }
        let result = self.apply_admin(op).await;
        reply.send(result);
    }

    /// Applies an admin request here (this node decides): the room version after it.
    pub(super) async fn apply_admin(&mut self, op: AdminOp) -> Result<u64, (ErrorCode, String)> {
        match op {
            AdminOp::Operator { command } => self.operator(command).await,
            AdminOp::Close => {
                let version = self.room.version();
                self.close().await.map(|()| version)
            }
        }
    }

    /// Applies an admin-API command as the operator: same core, same rules, same log.
    pub(super) async fn operator(&mut self, command: Command) -> Result<u64, (ErrorCode, String)> {
        if !self.decides() {
            return Err(not_owner());
        }
        let now = self.shared.clock.now();
        self.expire_due(now).await?;
        let input = LogInput::Command {
            actor: UserId::operator(),
            command,
        };
        match self.mutate(now, input, None).await {
            Ok(_) => Ok(self.room.version()),
            Err(MutateError::Refused(e)) => Err(refused(&e)),
            Err(MutateError::Store(e)) => Err(store_failed(&e)),
        }
    }

    /// Deletes the room from storage, with its `room_closed` webhook deliveries in the same
    /// transaction, then tells every connected member and stops. Pending requests end with
    /// the room.
    pub(super) async fn close(&mut self) -> Result<(), (ErrorCode, String)> {
        self.delete("closed", Some(UserId::OPERATOR)).await
    }

    /// [`close`](Self::close) for `reason` (`closed` by the admin API, `expired` when unused
    /// for the room TTL), `actor` the webhook's.
    pub(super) async fn delete(
        &mut self,
        reason: &str,
        actor: Option<&str>,
    ) -> Result<(), (ErrorCode, String)> {
        if !self.decides() {
            return Err(not_owner());
        }
        let event = WebhookEvent::lifecycle(
            "room_closed",
            self.name(),
            self.incarnation,
            self.room.version(),
            self.shared.clock.now(),
            actor,
        )
        .with_data("reason", reason);
        let items = self.shared.webhooks.items(&[event]);
        if let Err(e) = self.shared.store.delete_with_outbox(&self.id, &items).await {
            return Err(store_failed(&e));
        }
        self.shared.webhooks.wake();
        self.closed_here(ClosedReason::Closed);
        Ok(())
    }

    /// The room is closed: tells the members connected to this node, answers what waits for
    /// the owner, and stops the actor. In cluster mode every node with members does this when
    /// the delete's [`RoomNotice::Closed`] arrives, and with [`ClosedReason::Lost`] when the
    /// room's data vanished from Redis (see `Cluster::detect_loss`).
    pub(super) fn closed_here(&mut self, reason: ClosedReason) {
        if self.closed {
            return;
        }
        // From now on the room is unknown here: a request for it loads it afresh (and finds it
        // deleted) instead of reaching this stopping actor.
        self.routes.forget(&self.id, &self.me);
        let msg = encode(&ServerMsg::RoomClosed {
            room: self.name().to_owned(),
            reason,
        });
        for peer in self.peers.take_all() {
            peer.send(msg.clone());
        }
        self.observers_closed(reason);
        self.grace.clear();
        self.grace_of.clear();
        let version = self.room.version();
        for (_, p) in self.admin_pending.drain() {
            match p.op {
                AdminOp::Close => p.reply.send(Ok(version)),
                AdminOp::Operator { .. } => p.reply.send(Err((
                    ErrorCode::RoomIdNotExist,
                    "the room was closed".to_owned(),
                ))),
            }
        }
        self.closed = true;
    }

    /// A connection is gone (or left): when it was the user's last one, the grace period
    /// starts.
    pub(super) fn detach(&mut self, conn: u64) {
        self.forwarded.retain(|(c, _), _| *c != conn);
        self.approvals.forget_conn(conn);
        self.observers.remove(conn);
        let Some(peer) = self.peers.remove(conn) else {
            return;
        };
        let user = peer.user().clone();
        if let (Part::Follower, Some(cluster)) = (self.part, &self.cluster) {
            let msg = CmdMsg::Detach {
                node: cluster.node.clone(),
                conn,
            };
            cluster.queue_to_owner(&self.id, &msg);
            return;
        }
        let still_connected = self.peers.has_user(&user);
        if !still_connected && self.room.member(&user).is_some() {
            let until = self.grace_deadline(self.shared.clock.now());
            self.start_grace(user, until);
        }
    }

    pub(super) async fn on_command(&mut self, c: CommandMsg) {
        // Observing changes nothing: every node answers it from its own copy of the room.
        if self.observer_command(&c).is_some() {
            return;
        }
        if self.cluster.is_some() && !self.ensure_owner().await {
            if c.conn.remote_node().is_none() {
                self.follow_command(c).await;
            }
            // A forwarded command that reached a former owner: its node sends it again.
            return;
        }
        let user = c.conn.user().clone();
        if self.approvals.waiting(&c) {
            // A retry of a command waiting for the approval hook: its answer comes then.
            return;
        }
        let result = match (&c.cmd, c.core.clone()) {
            (ClientCommand::Join { since }, _) => self.join(&c, *since).await,
            (ClientCommand::Ping, _) => Ok(Answer::to_send(self.ack_now(c.id, None))),
            (ClientCommand::Snapshot, _) => {
                if self.peers.contains(c.conn.id) {
                    c.conn.send_msg(&self.snapshot_for(&user));
                    Ok(Answer::to_send(self.ack_now(c.id, None)))
                } else {
                    Err(not_entered())
                }
            }
            (_, Some(command)) => {
                if let Some(text) = self.cached_answer(&user, c.id) {
                    c.conn.send(text);
                    self.count(c.cmd.kind(), "retried", &c);
                    return;
                }
                if !self.attached(&c.conn) {
                    Err(not_entered())
                } else {
                    match self.gate(&c, command).await {
                        Ok(Some(command)) => self.co_guest(&c, command).await,
                        // Answered when the approval hook has.
                        Ok(None) => return,
                        Err(e) => Err(e),
                    }
                }
            }
            (_, None) => Err((ErrorCode::InvalidParameter, "not a room command".into())),
        };
        self.reply(&c, result);
    }

    /// Sends a command's answer (unless sent already) and counts it.
    pub(super) fn reply(&self, c: &CommandMsg, result: Result<Answer, (ErrorCode, String)>) {
        let result_label = match result {
            Ok(answer) => {
                if !answer.sent {
                    c.conn.send(answer.text);
                }
                "ok".to_owned()
            }
            Err((code, message)) => {
                c.conn.error(Some(c.id), code, message);
                format!("{code:?}")
            }
        };
        self.count(c.cmd.kind(), &result_label, c);
    }

    pub(super) fn count(&self, kind: &str, result: &str, c: &CommandMsg) {
        self.shared
            .metrics
            .command(kind, result, c.received.elapsed());
    }

    pub(super) fn cached_answer(&self, user: &UserId, id: u64) -> Option<Utf8Bytes> {
        Some(match self.answers.get(user, id)? {
            Kept::Ack {
                version,
                request_id,
            } => ack(id, self.name(), *version, *request_id),
            Kept::Frame(text) => text.clone(),
        })
    }

    pub(super) fn ack_now(&self, id: u64, request_id: Option<RequestId>) -> Utf8Bytes {
        ack(id, self.name(), self.room.version(), request_id)
    }

    /// A member's snapshot: its view, and for a host when each request was made.
    pub(super) fn snapshot_for(&self, user: &UserId) -> ServerMsg {
        let mut state = CoGuestState::from(&self.room.view_for(user));
        if self.room.is_host(user) {
            self.request_times.fill(&mut state);
        }
        ServerMsg::Snapshot {
            room: self.name().to_owned(),
            state,
        }
    }

    /// Fires deadlines that are due before a command, as their own logged mutation.
    pub(super) async fn expire_due(&mut self, now: Timestamp) -> Result<(), (ErrorCode, String)> {
        if self.room.poll_timeout().is_some_and(|t| t <= now) {
            if let Err(MutateError::Store(e)) = self.mutate(now, LogInput::Timeout, None).await {
                return Err(store_failed(&e));
            }
        }
        Ok(())
    }

    pub(super) async fn join(
        &mut self,
        c: &CommandMsg,
        since: Option<u64>,
    ) -> Result<Answer, (ErrorCode, String)> {
        let user = c.conn.user().clone();
        let now = self.shared.clock.now();
        self.expire_due(now).await?;
        let joined_now = self.room.member(&user).is_none();
        let mut answered = None;
        if joined_now {
            let command = Command::Join {
                profile: c.conn.identity.profile.clone(),
                role: c.conn.identity.role,
            };
            let input = LogInput::Command {
                actor: user.clone(),
                command,
            };
            match self.mutate(now, input, Some((c.id, &c.conn))).await {
                Ok(m) => answered = m.answered,
                Err(MutateError::Refused(e)) => return Err(refused(&e)),
                Err(MutateError::Store(e)) => return Err(store_failed(&e)),
            }
        }
        self.cancel_grace(&user);
        if let Some(node) = c.conn.remote_node() {
            // The member's own node sends it the room from its copy once this ack arrives.
            self.remote
                .entry(user)
                .or_default()
                .insert((node.to_owned(), c.conn.id));
            return Ok(match answered {
                Some(text) => Answer { text, sent: true },
                None => Answer::to_send(self.ack_now(c.id, None)),
            });
        }
        self.peers.insert(c.conn.clone());
        self.send_room_state(&c.conn, since, joined_now);
        Ok(Answer::to_send(self.ack_now(c.id, None)))
    }

    /// A joining connection gets what it missed since `since` when the ring still has it,
    /// or a snapshot.
    pub(super) fn send_room_state(&self, conn: &ConnHandle, since: Option<u64>, joined_now: bool) {
        let user = conn.user().clone();
        let version = self.room.version();
        let resumable = since.filter(|s| !joined_now && *s >= self.ring.floor && *s <= version);
        match resumable {
            Some(since) => {
                let is_host = self.room.is_host(&user);
                for e in self.ring.after(since) {
                    if e.to.includes(&user, is_host) && !conn.send(e.text.clone()) {
                        break;
                    }
                }
                conn.send_msg(&ServerMsg::Resumed {
                    room: self.name().to_owned(),
                    version,
                });
            }
            None => {
                conn.send_msg(&self.snapshot_for(&user));
            }
        }
    }

    pub(super) async fn co_guest(
        &mut self,
        c: &CommandMsg,
        command: Command,
    ) -> Result<Answer, (ErrorCode, String)> {
        let user = c.conn.user().clone();
        let now = self.shared.clock.now();
        self.expire_due(now).await?;
        let leaving = matches!(command, Command::Leave);
        let input = LogInput::Command {
            actor: user.clone(),
            command,
        };
        let answer = match self.mutate(now, input, Some((c.id, &c.conn))).await {
            Ok(Mutated {
                request_id,
                answered,
            }) => {
                let (text, sent, kept) = match answered {
                    Some(text) => (text.clone(), true, Kept::Frame(text)),
                    None => {
                        let version = self.room.version();
                        let kept = Kept::Ack {
                            version,
                            request_id,
                        };
                        (self.ack_now(c.id, request_id), false, kept)
                    }
                };
                self.answers.remember(&user, c.id, kept);
                Ok(Answer { text, sent })
            }
            Err(MutateError::Refused(e)) => {
                let (code, message) = refused(&e);
                let text = encode(&ServerMsg::Error {
                    id: Some(c.id),
                    code: code.code(),
                    message: message.clone(),
                    app_code: None,
                    reason: None,
                });
                self.answers.remember(&user, c.id, Kept::Frame(text));
                Err((code, message))
            }
            Err(MutateError::Store(e)) => return Err(store_failed(&e)),
        };
        if leaving && answer.is_ok() {
            // Out of the room: its answers but this one are forgotten (in time, this one too),
            // and its connections stop receiving outputs.
            self.answers.departed(&user);
            self.peers.remove_user(&user);
            self.remote.remove(&user);
            self.cancel_grace(&user);
        }
        answer
    }
}
