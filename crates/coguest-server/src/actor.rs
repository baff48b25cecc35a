//! One task per room: the only owner of that room's [`Room`].
//!
//! Each turn does exactly one thing: a command, a due deadline (request timeouts through
//! `handle_timeout`, or a reconnect grace period ending in a leave), a join, a detach, or
//! shutdown. A mutation is followed by draining `poll_output` completely, then committing the
//! input to the log, then delivering the outputs and the answer — so nothing is sent that is
//! not stored, and memory never runs ahead of disk (a failed write reloads the room).

use crate::auth::Identity;
use crate::registry::Registry;
use crate::store::{LogEntry, LogInput, StoreError, StoredRoom};
use crate::{Shared, encode};
use axum::extract::ws::{Message, Utf8Bytes};
use coguest_core::{
    Audience, Command, CommandError, Output, OutputBody, RequestId, Room, RoomConfig, RoomId,
    Timestamp, UserId,
};
use coguest_proto::{
    ClientCommand, CoGuestState, ErrorCode, ServerMsg, WebhookEvent, WireBody, WireError,
};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot, watch};

/// Answers kept per user per room for retried request ids.
pub const RETRY_CACHE: usize = 256;

/// The server side of one WebSocket connection, as rooms see it.
#[derive(Debug, Clone)]
pub(crate) struct ConnHandle {
    pub id: u64,
    pub identity: Arc<Identity>,
    tx: mpsc::Sender<Message>,
    kill: Arc<watch::Sender<Option<u16>>>,
}

impl ConnHandle {
    pub fn new(
        id: u64,
        identity: Arc<Identity>,
        tx: mpsc::Sender<Message>,
        kill: Arc<watch::Sender<Option<u16>>>,
    ) -> Self {
        ConnHandle {
            id,
            identity,
            tx,
            kill,
        }
    }

    pub fn user(&self) -> &UserId {
        &self.identity.user
    }

    /// Queues a frame without waiting. A full queue closes the connection as too slow.
    pub fn send(&self, text: Utf8Bytes) -> bool {
        match self.tx.try_send(Message::Text(text)) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.close(coguest_proto::CLOSE_TOO_SLOW);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    pub fn send_msg(&self, msg: &ServerMsg) -> bool {
        self.send(encode(msg))
    }

    pub fn error(&self, id: Option<u64>, code: ErrorCode, message: impl Into<String>) -> bool {
        self.send_msg(&ServerMsg::Error {
            id,
            code: code.code(),
            message: message.into(),
        })
    }

    /// Asks the connection's writer to close with `code` (the first code asked for wins).
    pub fn close(&self, code: u16) {
        self.kill.send_if_modified(|c| {
            if c.is_none() {
                *c = Some(code);
                true
            } else {
                false
            }
        });
    }
}

/// A command routed to a room.
#[derive(Debug)]
pub(crate) struct CommandMsg {
    pub conn: ConnHandle,
    pub id: u64,
    pub cmd: ClientCommand,
    /// The core command, for co-guest commands (checked by the connection).
    pub core: Option<Command>,
    pub received: Instant,
}

/// What a room actor is asked to do.
#[derive(Debug)]
pub(crate) enum RoomMsg {
    Command(Box<CommandMsg>),
    /// A connection closed, or left the room.
    Detach {
        conn: u64,
    },
    Inspect(oneshot::Sender<RoomInfo>),
    /// A command from the admin API, applied as the operator (a host that is not a member).
    Operator {
        command: Command,
        reply: oneshot::Sender<Result<u64, (ErrorCode, String)>>,
    },
    /// Close the room: tell every member, delete it from storage, stop the actor.
    Close(oneshot::Sender<Result<(), (ErrorCode, String)>>),
}

/// A room's settings and host view, for the admin API.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RoomInfo {
    /// The room id.
    pub room: String,
    /// Its settings.
    pub settings: RoomConfig,
    /// The full host view.
    pub state: CoGuestState,
    /// Members present (connected or within their grace period).
    pub member_count: usize,
}

struct RingEntry {
    version: u64,
    to: Audience,
    text: Utf8Bytes,
}

/// A room rebuilt from storage: the core state and what replaying its log said and answered.
pub(crate) struct Rebuilt {
    room: Room,
    ring: VecDeque<RingEntry>,
    ring_floor: u64,
    answers: HashMap<UserId, VecDeque<(u64, Utf8Bytes)>>,
    log_seq: u64,
    checkpoint_seq: u64,
}

impl Rebuilt {
    /// A room that was just created (nothing to replay).
    pub fn new_room(room: Room) -> Self {
        Rebuilt {
            ring_floor: room.version(),
            room,
            ring: VecDeque::new(),
            answers: HashMap::new(),
            log_seq: 0,
            checkpoint_seq: 0,
        }
    }

    /// Replays a stored room's log through the core (same inputs, same outputs).
    pub fn replay(name: &str, stored: StoredRoom, ring_cap: usize) -> Result<Self, StoreError> {
        let corrupt = |m: String| StoreError::Corrupt(format!("room {name}: {m}"));
        let ring_floor = stored.base.version;
        let room = Room::restore(stored.base).map_err(|e| corrupt(e.to_string()))?;
        let mut r = Rebuilt {
            room,
            ring: VecDeque::new(),
            ring_floor,
            answers: HashMap::new(),
            log_seq: stored.base_seq,
            checkpoint_seq: stored.checkpoint_seq,
        };
        for entry in stored.log {
            if entry.seq != r.log_seq + 1 {
                return Err(corrupt(format!(
                    "log jumps from {} to {}",
                    r.log_seq, entry.seq
                )));
            }
            r.log_seq = entry.seq;
            match entry.input {
                LogInput::Timeout => r.room.handle_timeout(entry.at),
                LogInput::Command { actor, command } => {
                    let retryable = retryable(&command);
                    match r.room.handle_command(entry.at, &actor, command) {
                        Ok(request_id) => {
                            if let (Some(id), true) = (entry.client_req_id, retryable) {
                                let ack = ack(id, name, r.room.version(), request_id);
                                remember(&mut r.answers, &actor, id, ack);
                            }
                        }
                        Err(e) => {
                            tracing::warn!(room = name, seq = entry.seq, error = %e,
                                "a logged command was refused on replay");
                        }
                    }
                }
            }
            // Backend notices were written to the webhook outbox when first applied.
            while let Some(out) = r.room.poll_output() {
                if let Some(entry) = output_entry(name, out) {
                    push_ring(&mut r.ring, &mut r.ring_floor, ring_cap, entry);
                }
            }
        }
        Ok(r)
    }
}

/// Whether a retried request id with this command gets the first answer back. Joins are
/// always re-run: they register the connection and send a snapshot.
fn retryable(cmd: &Command) -> bool {
    !matches!(cmd, Command::Join { .. })
}

fn ack(id: u64, room: &str, version: u64, request_id: Option<RequestId>) -> Utf8Bytes {
    encode(&ServerMsg::Ack {
        id,
        room: Some(room.to_owned()),
        version: Some(version),
        request_id: request_id.map(|r| r.0),
    })
}

fn remember(
    answers: &mut HashMap<UserId, VecDeque<(u64, Utf8Bytes)>>,
    user: &UserId,
    id: u64,
    text: Utf8Bytes,
) {
    let list = answers.entry(user.clone()).or_default();
    if list.len() >= RETRY_CACHE {
        list.pop_front();
    }
    list.push_back((id, text));
}

/// The member-facing form of an output; `None` for backend notices.
fn output_entry(room: &str, out: Output) -> Option<RingEntry> {
    let msg = match WireBody::from(&out.body) {
        WireBody::Backend => return None,
        WireBody::Event(event) => ServerMsg::Event {
            room: room.to_owned(),
            version: out.version,
            event,
        },
        WireBody::Change(change) => ServerMsg::Change {
            room: room.to_owned(),
            version: out.version,
            change,
        },
    };
    Some(RingEntry {
        version: out.version,
        to: out.to,
        text: encode(&msg),
    })
}

fn push_ring(ring: &mut VecDeque<RingEntry>, floor: &mut u64, cap: usize, entry: RingEntry) {
    ring.push_back(entry);
    while ring.len() > cap {
        if let Some(old) = ring.pop_front() {
            // Some output of `old.version` is gone, so only clients at or past it can resume.
            *floor = (*floor).max(old.version);
        }
    }
}

enum MutateError {
    Refused(CommandError),
    Store(StoreError),
}

pub(crate) struct RoomActor {
    id: RoomId,
    room: Room,
    shared: Arc<Shared>,
    registry: Arc<Registry>,
    inbox: mpsc::Receiver<RoomMsg>,
    me: mpsc::Sender<RoomMsg>,
    shutdown: watch::Receiver<bool>,
    peers: HashMap<u64, ConnHandle>,
    grace: BTreeSet<(Timestamp, UserId)>,
    grace_of: HashMap<UserId, Timestamp>,
    ring: VecDeque<RingEntry>,
    ring_floor: u64,
    answers: HashMap<UserId, VecDeque<(u64, Utf8Bytes)>>,
    log_seq: u64,
    checkpoint_seq: u64,
    timers_reported: i64,
    broken: bool,
    closed: bool,
}

impl RoomActor {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: RoomId,
        rebuilt: Rebuilt,
        shared: Arc<Shared>,
        registry: Arc<Registry>,
        inbox: mpsc::Receiver<RoomMsg>,
        me: mpsc::Sender<RoomMsg>,
        shutdown: watch::Receiver<bool>,
        loaded: bool,
    ) -> Self {
        let mut actor = RoomActor {
            id,
            room: rebuilt.room,
            shared,
            registry,
            inbox,
            me,
            shutdown,
            peers: HashMap::new(),
            grace: BTreeSet::new(),
            grace_of: HashMap::new(),
            ring: rebuilt.ring,
            ring_floor: rebuilt.ring_floor,
            answers: rebuilt.answers,
            log_seq: rebuilt.log_seq,
            checkpoint_seq: rebuilt.checkpoint_seq,
            timers_reported: 0,
            broken: false,
            closed: false,
        };
        if loaded {
            // Nobody is connected after a (re)load: every member gets a grace period.
            let until = actor.grace_deadline(actor.shared.clock.now());
            let members: Vec<UserId> = actor.room.members().map(|m| m.user_id.clone()).collect();
            for user in members {
                actor.start_grace(user, until);
            }
        }
        actor
    }

    fn name(&self) -> &str {
        self.id.as_str()
    }

    fn grace_deadline(&self, now: Timestamp) -> Timestamp {
        let ms = u64::try_from(self.shared.config.grace_period.as_millis()).unwrap_or(u64::MAX);
        now.plus_millis(ms)
    }

    pub async fn run(mut self) {
        self.shared.metrics.rooms.inc();
        tracing::debug!(
            room = self.name(),
            version = self.room.version(),
            "room actor started"
        );
        while !*self.shutdown.borrow() && !self.broken && !self.closed {
            self.report_timers();
            let sleep = match self.next_deadline() {
                Some(t) => self.shared.clock.sleep_until(t),
                None => Box::pin(std::future::pending()),
            };
            tokio::select! {
                biased;
                changed = self.shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
                () = sleep => self.on_deadline().await,
                msg = self.inbox.recv() => match msg {
                    Some(msg) => self.on_msg(msg).await,
                    None => break,
                },
            }
        }
        self.exit();
    }

    fn exit(mut self) {
        self.registry.forget(&self.id, &self.me);
        self.inbox.close();
        let (code, why) = if self.closed {
            (ErrorCode::RoomIdNotExist, "the room was closed")
        } else if self.broken {
            (
                ErrorCode::Failed,
                "the room could not be reloaded from storage",
            )
        } else {
            (
                ErrorCode::ShuttingDown,
                "the server is shutting down; reconnect",
            )
        };
        while let Ok(msg) = self.inbox.try_recv() {
            if let RoomMsg::Command(c) = msg {
                c.conn.error(Some(c.id), code, why);
            }
        }
        self.shared
            .metrics
            .timers_pending
            .dec_by(self.timers_reported);
        self.shared.metrics.rooms.dec();
        tracing::debug!(
            room = self.name(),
            broken = self.broken,
            "room actor stopped"
        );
    }

    fn report_timers(&mut self) {
        let now =
            i64::try_from(self.room.pending_request_count() + self.grace.len()).unwrap_or(i64::MAX);
        self.shared
            .metrics
            .timers_pending
            .inc_by(now - self.timers_reported);
        self.timers_reported = now;
    }

    fn next_deadline(&self) -> Option<Timestamp> {
        let grace = self.grace.first().map(|(t, _)| *t);
        match (self.room.poll_timeout(), grace) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn start_grace(&mut self, user: UserId, until: Timestamp) {
        self.cancel_grace(&user);
        self.grace.insert((until, user.clone()));
        self.grace_of.insert(user, until);
    }

    fn cancel_grace(&mut self, user: &UserId) {
        if let Some(t) = self.grace_of.remove(user) {
            self.grace.remove(&(t, user.clone()));
        }
    }

    async fn on_deadline(&mut self) {
        let now = self.shared.clock.now();
        if self.room.poll_timeout().is_some_and(|t| t <= now) {
            if let Err(MutateError::Store(e)) = self.mutate(now, LogInput::Timeout, None).await {
                tracing::error!(room = self.name(), error = %e, "could not store a timeout");
                // Do not spin on a failing store.
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            return;
        }
        let due = self.grace.first().filter(|(t, _)| *t <= now).cloned();
        if let Some((_, user)) = due {
            self.cancel_grace(&user);
            let connected = self.peers.values().any(|p| p.user() == &user);
            if connected || self.room.member(&user).is_none() {
                return;
            }
            tracing::debug!(room = self.name(), user = %user, "grace period over: leaving");
            let input = LogInput::Command {
                actor: user,
                command: Command::Leave,
            };
            if let Err(MutateError::Store(e)) = self.mutate(now, input, None).await {
                tracing::error!(room = self.name(), error = %e, "could not store a leave");
            }
        }
    }

    async fn on_msg(&mut self, msg: RoomMsg) {
        match msg {
            RoomMsg::Command(c) => self.on_command(*c).await,
            RoomMsg::Detach { conn } => self.detach(conn),
            RoomMsg::Inspect(reply) => {
                let _ = reply.send(RoomInfo {
                    room: self.name().to_owned(),
                    settings: self.room.config().clone(),
                    state: CoGuestState::from(&self.room.host_view()),
                    member_count: self.room.member_count(),
                });
            }
            RoomMsg::Operator { command, reply } => {
                let _ = reply.send(self.operator(command).await);
            }
            RoomMsg::Close(reply) => {
                let _ = reply.send(self.close().await);
            }
        }
    }

    /// Applies an admin-API command as the operator: same core, same rules, same log.
    async fn operator(&mut self, command: Command) -> Result<u64, (ErrorCode, String)> {
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

    /// Deletes the room from storage, then tells every connected member and stops. Pending
    /// requests end with the room.
    async fn close(&mut self) -> Result<(), (ErrorCode, String)> {
        let event = WebhookEvent::lifecycle(
            "room_closed",
            self.name(),
            self.room.version(),
            self.shared.clock.now(),
            Some(UserId::OPERATOR),
        );
        let items = self.shared.webhooks.items(&[event]);
        if let Err(e) = self.shared.store.enqueue(&items).await {
            return Err(store_failed(&e));
        }
        self.shared.webhooks.wake();
        if let Err(e) = self.shared.store.delete(&self.id).await {
            return Err(store_failed(&e));
        }
        let msg = encode(&ServerMsg::RoomClosed {
            room: self.name().to_owned(),
        });
        for peer in self.peers.values() {
            peer.send(msg.clone());
        }
        self.peers.clear();
        self.grace.clear();
        self.grace_of.clear();
        self.closed = true;
        Ok(())
    }

    /// A connection is gone (or left): when it was the user's last one, the grace period
    /// starts.
    fn detach(&mut self, conn: u64) {
        let Some(peer) = self.peers.remove(&conn) else {
            return;
        };
        let user = peer.user().clone();
        let still_connected = self.peers.values().any(|p| p.user() == &user);
        if !still_connected && self.room.member(&user).is_some() {
            let until = self.grace_deadline(self.shared.clock.now());
            self.start_grace(user, until);
        }
    }

    async fn on_command(&mut self, c: CommandMsg) {
        let kind = c.cmd.kind();
        let user = c.conn.user().clone();
        let result = match (&c.cmd, c.core.clone()) {
            (ClientCommand::Join { since }, _) => self.join(&c, *since).await,
            (ClientCommand::Ping, _) => Ok(self.ack_now(c.id, None)),
            (ClientCommand::Snapshot, _) => {
                if self.peers.contains_key(&c.conn.id) {
                    c.conn.send_msg(&self.snapshot_for(&user));
                    Ok(self.ack_now(c.id, None))
                } else {
                    Err(not_entered())
                }
            }
            (_, Some(command)) => {
                if let Some(text) = self.cached_answer(&user, c.id) {
                    c.conn.send(text);
                    self.count(kind, "retried", &c);
                    return;
                }
                if !self.peers.contains_key(&c.conn.id) {
                    Err(not_entered())
                } else {
                    self.co_guest(&c, command).await
                }
            }
            (_, None) => Err((ErrorCode::InvalidParameter, "not a room command".into())),
        };
        let result_label = match &result {
            Ok(text) => {
                c.conn.send(text.clone());
                "ok".to_owned()
            }
            Err((code, message)) => {
                c.conn.error(Some(c.id), *code, message.clone());
                format!("{code:?}")
            }
        };
        self.count(kind, &result_label, &c);
    }

    fn count(&self, kind: &str, result: &str, c: &CommandMsg) {
        self.shared
            .metrics
            .command(kind, result, c.received.elapsed());
    }

    fn cached_answer(&self, user: &UserId, id: u64) -> Option<Utf8Bytes> {
        self.answers
            .get(user)?
            .iter()
            .rev()
            .find(|(i, _)| *i == id)
            .map(|(_, t)| t.clone())
    }

    fn ack_now(&self, id: u64, request_id: Option<RequestId>) -> Utf8Bytes {
        ack(id, self.name(), self.room.version(), request_id)
    }

    fn snapshot_for(&self, user: &UserId) -> ServerMsg {
        ServerMsg::Snapshot {
            room: self.name().to_owned(),
            state: CoGuestState::from(&self.room.view_for(user)),
        }
    }

    /// Fires deadlines that are due before a command, as their own logged mutation.
    async fn expire_due(&mut self, now: Timestamp) -> Result<(), (ErrorCode, String)> {
        if self.room.poll_timeout().is_some_and(|t| t <= now) {
            if let Err(MutateError::Store(e)) = self.mutate(now, LogInput::Timeout, None).await {
                return Err(store_failed(&e));
            }
        }
        Ok(())
    }

    async fn join(
        &mut self,
        c: &CommandMsg,
        since: Option<u64>,
    ) -> Result<Utf8Bytes, (ErrorCode, String)> {
        let user = c.conn.user().clone();
        let now = self.shared.clock.now();
        self.expire_due(now).await?;
        let joined_now = self.room.member(&user).is_none();
        if joined_now {
            let command = Command::Join {
                profile: c.conn.identity.profile.clone(),
                role: c.conn.identity.role,
            };
            let input = LogInput::Command {
                actor: user.clone(),
                command,
            };
            match self.mutate(now, input, Some(c.id)).await {
                Ok(_) => {}
                Err(MutateError::Refused(e)) => return Err(refused(&e)),
                Err(MutateError::Store(e)) => return Err(store_failed(&e)),
            }
        }
        self.cancel_grace(&user);
        self.peers.insert(c.conn.id, c.conn.clone());
        let version = self.room.version();
        let resumable = since.filter(|s| !joined_now && *s >= self.ring_floor && *s <= version);
        match resumable {
            Some(since) => {
                let is_host = self.room.is_host(&user);
                for e in self.ring.iter().filter(|e| e.version > since) {
                    if e.to.includes(&user, is_host) && !c.conn.send(e.text.clone()) {
                        break;
                    }
                }
                c.conn.send_msg(&ServerMsg::Resumed {
                    room: self.name().to_owned(),
                    version,
                });
            }
            None => {
                c.conn.send_msg(&self.snapshot_for(&user));
            }
        }
        Ok(self.ack_now(c.id, None))
    }

    async fn co_guest(
        &mut self,
        c: &CommandMsg,
        command: Command,
    ) -> Result<Utf8Bytes, (ErrorCode, String)> {
        let user = c.conn.user().clone();
        let now = self.shared.clock.now();
        self.expire_due(now).await?;
        let leaving = matches!(command, Command::Leave);
        let input = LogInput::Command {
            actor: user.clone(),
            command,
        };
        let answer = match self.mutate(now, input, Some(c.id)).await {
            Ok(request_id) => {
                let text = self.ack_now(c.id, request_id);
                remember(&mut self.answers, &user, c.id, text.clone());
                Ok(text)
            }
            Err(MutateError::Refused(e)) => {
                let (code, message) = refused(&e);
                let text = encode(&ServerMsg::Error {
                    id: Some(c.id),
                    code: code.code(),
                    message: message.clone(),
                });
                remember(&mut self.answers, &user, c.id, text);
                Err((code, message))
            }
            Err(MutateError::Store(e)) => return Err(store_failed(&e)),
        };
        if leaving && answer.is_ok() {
            // Out of the room: this user's connections stop receiving its outputs.
            self.peers.retain(|_, p| p.user() != &user);
            self.cancel_grace(&user);
        }
        answer
    }

    /// Applies one input, drains its outputs, stores it, then delivers the outputs.
    async fn mutate(
        &mut self,
        now: Timestamp,
        input: LogInput,
        client_req_id: Option<u64>,
    ) -> Result<Option<RequestId>, MutateError> {
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
            return Ok(request_id);
        }
        let entry = LogEntry {
            seq: self.log_seq + 1,
            at: now,
            input,
            client_req_id,
        };
        let outbox = self.webhook_items(now, &outputs);
        let stored = self
            .shared
            .store
            .append_with_outbox(&self.id, &entry, &outbox)
            .await;
        if let Err(e) = stored {
            tracing::error!(room = self.name(), error = %e, "storing a log entry failed; reloading");
            self.reload().await;
            return Err(MutateError::Store(e));
        }
        self.log_seq = entry.seq;
        if !outbox.is_empty() {
            self.shared.webhooks.wake();
        }
        if self.log_seq - self.checkpoint_seq >= self.shared.config.compact_every.max(1) {
            self.compact().await;
        }
        let name = self.id.as_str().to_owned();
        let entries: Vec<RingEntry> = outputs
            .into_iter()
            .filter_map(|o| output_entry(&name, o))
            .collect();
        self.deliver(&entries);
        let cap = self.shared.config.resume_ring;
        for e in entries {
            push_ring(&mut self.ring, &mut self.ring_floor, cap, e);
        }
        Ok(request_id)
    }

    /// The webhook deliveries for a mutation's notices (none without endpoints).
    fn webhook_items(&self, now: Timestamp, outputs: &[Output]) -> Vec<crate::store::OutboxItem> {
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
            .map(|(i, (version, n))| WebhookEvent::from_notice(self.name(), version, i, now, n))
            .collect();
        self.shared.webhooks.items(&events)
    }

    async fn compact(&mut self) {
        let snapshot = self.room.snapshot();
        match self
            .shared
            .store
            .compact(&self.id, self.log_seq, &snapshot)
            .await
        {
            Ok(()) => self.checkpoint_seq = self.log_seq,
            Err(e) => tracing::warn!(room = self.name(), error = %e, "compaction failed"),
        }
    }

    /// After a failed write: rebuild the room from what storage holds.
    async fn reload(&mut self) {
        let loaded = match self.shared.store.load(&self.id).await {
            Ok(Some(stored)) => {
                Rebuilt::replay(self.name(), stored, self.shared.config.resume_ring)
            }
            Ok(None) => Err(StoreError::Corrupt("the room vanished from storage".into())),
            Err(e) => Err(e),
        };
        match loaded {
            Ok(r) => {
                self.room = r.room;
                self.ring = r.ring;
                self.ring_floor = r.ring_floor;
                self.answers = r.answers;
                self.log_seq = r.log_seq;
                self.checkpoint_seq = r.checkpoint_seq;
            }
            Err(e) => {
                tracing::error!(room = self.name(), error = %e, "reload failed; stopping the room");
                self.broken = true;
            }
        }
    }

    /// Sends each output to the connected peers its audience includes. A peer whose queue is
    /// full is closed and detached; the room never waits for it.
    fn deliver(&mut self, entries: &[RingEntry]) {
        let mut gone = Vec::new();
        for (id, peer) in &self.peers {
            let is_host = self.room.is_host(peer.user());
            for e in entries {
                if e.to.includes(peer.user(), is_host) && !peer.send(e.text.clone()) {
                    gone.push(*id);
                    break;
                }
            }
        }
        for id in gone {
            self.detach(id);
        }
    }
}

fn not_entered() -> (ErrorCode, String) {
    (
        ErrorCode::NotEnteredRoom,
        "join the room on this connection first".into(),
    )
}

fn refused(e: &CommandError) -> (ErrorCode, String) {
    let w = WireError::from(e);
    (w.code, w.message)
}

fn store_failed(e: &StoreError) -> (ErrorCode, String) {
    (ErrorCode::Failed, format!("not applied: {e}"))
}
