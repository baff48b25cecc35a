//! One task per room: the only owner of that room's [`Room`].
//!
//!
//! Each turn does exactly one thing: a command, a due deadline (request timeouts through
//! `handle_timeout`, or a reconnect grace period ending in a leave), a join, a detach, or
//! shutdown. A mutation is followed by draining `poll_output` completely, then committing the
//! input to the log, then delivering the outputs and the answer — so nothing is sent that is
//! not stored, and memory never runs ahead of disk (a failed write reloads the room).
//!
//! The turn's loop, deadlines and grace periods live here; handling commands in `commands.rs`;
//! storing a mutation and delivering it in `commit.rs`; the cluster part in `cluster.rs`;
//! leaving memory when idle and deleting an expired room in `lifecycle.rs`.

mod approve;
mod cluster;
mod commands;
mod commit;
mod lifecycle;
mod observe;

use crate::cluster::Cluster;
use crate::cluster::msg::AdminOp;
use crate::retry_cache::RetryCache;
use crate::room::handle::ConnHandle;
use crate::room::msg::{CommandMsg, RoomInfo, RoomMsg};
use crate::room::observers::{Observers, RequestTimes};
use crate::room::part::Part;
use crate::room::peers::Peers;
use crate::room::rebuild::Rebuilt;
use crate::room::ring::ResumeRing;
use crate::room::routes::Routes;
use crate::shared::Shared;
use crate::store::{LogInput, StoreError};
use crate::wire::encode;
use axum::extract::ws::Utf8Bytes;
use coguest_core::{Command, CommandError, RequestId, Room, RoomId, Timestamp, UserId};
use coguest_proto::{CoGuestState, ErrorCode, ServerMsg, WireError};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot, watch};

/// Numbers room actors for [`Live::room`] (wrapping is harmless: two actors would have to share
/// a number while both have frames waiting for one connection).
static NEXT_ROOM_KEY: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

fn ack(id: u64, room: &str, version: u64, request_id: Option<RequestId>) -> Utf8Bytes {
    encode(&ServerMsg::Ack {
        id,
        room: Some(room.to_owned()),
        version: Some(version),
        request_id: request_id.map(|r| r.0),
    })
}

/// Where an admin request's result goes.
enum AdminReply {
    Operator(oneshot::Sender<Result<u64, (ErrorCode, String)>>),
    Close(oneshot::Sender<Result<(), (ErrorCode, String)>>),
}

impl AdminReply {
    fn send(self, result: Result<u64, (ErrorCode, String)>) {
        match self {
            AdminReply::Operator(tx) => {
                let _ = tx.send(result);
            }
            AdminReply::Close(tx) => {
                let _ = tx.send(result.map(|_| ()));
            }
        }
    }
}

/// An admin request forwarded to the owner and not answered yet.
struct PendingAdmin {
    op: AdminOp,
    reply: AdminReply,
    sent: Instant,
}

/// A command forwarded to the owner and not answered yet.
struct Forwarded {
    c: CommandMsg,
    was_member: bool,
    sent: Instant,
    /// Sent again after the owner answered that the connection had not joined (it had taken
    /// this node for dead): once only.
    retried: bool,
}

enum MutateError {
    Refused(CommandError),
    Store(StoreError),
}

/// What a stored mutation returns.
struct Mutated {
    request_id: Option<RequestId>,
    /// The ack already on its way: a command from another node's connection is answered in the
    /// published entry itself (see `WireEntry::answer`).
    answered: Option<Utf8Bytes>,
}

/// A command's answer, and whether it was sent already.
struct Answer {
    text: Utf8Bytes,
    sent: bool,
}

impl Answer {
    fn to_send(text: Utf8Bytes) -> Self {
        Answer { text, sent: false }
    }
}

/// How an actor's loop ended, for the registry.
pub(crate) enum Exit {
    /// The room was idle and left memory; it is stored, and expires at `expires` (`None`:
    /// never) unless used again before.
    Unloaded { expires: Option<Timestamp> },
    /// Closed or deleted, broken, or the server is stopping.
    Stopped,
}

pub(crate) struct RoomActor {
    id: RoomId,
    /// This actor's number in the process, which its live outputs carry in connection queues
    /// (a connection may be in several rooms).
    key: u32,
    room: Room,
    shared: Arc<Shared>,
    routes: Arc<Routes>,
    inbox: mpsc::Receiver<RoomMsg>,
    me: mpsc::Sender<RoomMsg>,
    shutdown: watch::Receiver<bool>,
    peers: Peers,
    grace: BTreeSet<(Timestamp, UserId)>,
    grace_of: HashMap<UserId, Timestamp>,
    ring: ResumeRing,
    answers: RetryCache,
    log_seq: u64,
    /// Log position of the last compaction tried (stored, or failed: see `compact`).
    checkpoint_seq: u64,
    timers_reported: i64,
    broken: bool,
    closed: bool,
    part: Part,
    cluster: Option<Arc<Cluster>>,
    /// Owner: connections of members on other nodes, by user.
    remote: HashMap<UserId, HashSet<(String, u64)>>,
    /// Follower: commands waiting for the owner's answer, by (connection, request id).
    forwarded: HashMap<(u64, u64), Forwarded>,
    /// Follower: admin requests waiting for the owner's answer, by request number.
    admin_pending: HashMap<u64, PendingAdmin>,
    next_admin: u64,
    /// The room version the local connections have been told about.
    delivered_version: u64,
    /// Follower: the stored log sequence seen at the last tick, when it was ahead of this copy.
    stored_ahead: Option<u64>,
    next_tick: Instant,
    /// Which room of this id this is (webhook event ids carry it; 0 without webhooks).
    incarnation: u64,
    /// Service admins watching the room from this node, and its event log for them.
    observers: Observers,
    /// When each pending request was made (for `requested_ms` in snapshots).
    request_times: RequestTimes,
    /// When the room last changed, when known (the rooms feed's `last_change_ms`).
    last_change: Option<Timestamp>,
    /// Since when the room has been idle (no members, nothing pending; see `lifecycle.rs`).
    idle_since: Option<Timestamp>,
    /// The idle room left memory: the loop ends.
    unloaded: bool,
    /// Members' commands waiting for the approval hook.
    approvals: approve::Approvals,
}

impl RoomActor {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: RoomId,
        rebuilt: Rebuilt,
        shared: Arc<Shared>,
        routes: Arc<Routes>,
        inbox: mpsc::Receiver<RoomMsg>,
        me: mpsc::Sender<RoomMsg>,
        shutdown: watch::Receiver<bool>,
        loaded: bool,
        part: Part,
        incarnation: u64,
    ) -> Self {
        let cluster = shared.cluster.clone();
        let delivered_version = rebuilt.room.version();
        let last_change = rebuilt.last_at;
        let request_times = rebuilt.request_times;
        let mut actor = RoomActor {
            id,
            key: NEXT_ROOM_KEY.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            room: rebuilt.room,
            shared,
            routes,
            inbox,
            me,
            shutdown,
            peers: Peers::default(),
            grace: BTreeSet::new(),
            grace_of: HashMap::new(),
            ring: rebuilt.ring,
            answers: rebuilt.answers,
            log_seq: rebuilt.log_seq,
            checkpoint_seq: rebuilt.checkpoint_seq,
            timers_reported: 0,
            broken: false,
            closed: false,
            part,
            cluster,
            remote: HashMap::new(),
            forwarded: HashMap::new(),
            admin_pending: HashMap::new(),
            next_admin: 0,
            delivered_version,
            stored_ahead: None,
            next_tick: Instant::now(),
            incarnation,
            observers: Observers::default(),
            request_times,
            last_change,
            idle_since: None,
            unloaded: false,
            approvals: approve::Approvals::default(),
        };
        if loaded && actor.decides() {
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

    pub async fn run(mut self) -> Exit {
        self.shared.metrics.rooms.inc();
        tracing::debug!(
            room = self.name(),
            version = self.room.version(),
            "room actor started"
        );
        if matches!(self.part, Part::Owner { .. }) {
            self.shared.metrics.owned_rooms.inc();
        }
        // A room created or loaded while the rooms list is watched appears there at once.
        self.report_summary();
        while !*self.shutdown.borrow() && !self.broken && !self.closed && !self.unloaded {
            self.report_timers();
            self.note_idle();
            let sleep = match self.next_deadline() {
                Some(t) => self.shared.clock.sleep_until(t),
                None => Box::pin(std::future::pending()),
            };
            let tick: crate::clock::BoxFuture<'_, ()> = match self.cluster {
                Some(_) => Box::pin(tokio::time::sleep_until(self.next_tick.into())),
                None => Box::pin(std::future::pending()),
            };
            tokio::select! {
                biased;
                changed = self.shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
                () = tick => self.on_tick().await,
                () = sleep => self.on_deadline().await,
                msg = self.inbox.recv() => match msg {
                    Some(msg) => self.on_msg(msg).await,
                    None => break,
                },
            }
            // Commands that waited for an owner while this node became it.
            if matches!(self.part, Part::Owner { .. }) && !self.forwarded.is_empty() {
                let waiting: Vec<Forwarded> = self.forwarded.drain().map(|(_, f)| f).collect();
                for f in waiting {
                    self.on_command(f.c).await;
                }
            }
            // Admin requests that waited for an owner while this node became it.
            if matches!(self.part, Part::Owner { .. }) && !self.admin_pending.is_empty() {
                let mut waiting: Vec<(u64, PendingAdmin)> = self.admin_pending.drain().collect();
                waiting.sort_by_key(|(req, _)| *req);
                for (_, p) in waiting {
                    let result = self.apply_admin(p.op).await;
                    p.reply.send(result);
                }
            }
        }
        if let (true, Some(cluster)) = (self.closed || self.broken, self.cluster.clone()) {
            // Nothing more to hear about this room here, unless it was opened again meanwhile.
            let routes = self.routes.clone();
            let _opening = routes.opening.lock().await;
            self.routes.forget(&self.id, &self.me);
            if self.routes.get(&self.id).is_none() {
                cluster.unsubscribe_room(&self.id).await;
                cluster.unsubscribe_cmds(&self.id).await;
            }
        }
        if let (Part::Owner { .. }, Some(cluster)) = (self.part, self.cluster.clone()) {
            // Let another node take the room at once instead of after the lease.
            if let Err(e) = cluster.store.release(&self.id).await {
                tracing::warn!(room = self.name(), error = %e, "releasing the lease failed");
            }
            self.shared.metrics.owned_rooms.dec();
        }
        self.exit()
    }

    fn exit(mut self) -> Exit {
        self.routes.forget(&self.id, &self.me);
        self.inbox.close();
        if self.broken && !self.closed {
            // Their room is gone from this node: closed, their clients reconnect and resume
            // (an open socket that silently left the room would get -2101 forever).
            let conns: Vec<ConnHandle> = self
                .peers
                .take_all()
                .into_iter()
                .chain(self.observers.take_all())
                .collect();
            self.reset(&conns);
        }
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
                if c.conn.remote_node().is_none() {
                    c.conn.error(Some(c.id), code, why);
                }
            }
        }
        for (_, f) in self.forwarded.drain() {
            f.c.conn.error(Some(f.c.id), code, why);
        }
        for c in self.approvals.drain() {
            if c.conn.remote_node().is_none() {
                c.conn.error(Some(c.id), code, why);
            }
        }
        for (_, p) in self.admin_pending.drain() {
            p.reply.send(Err((code, why.to_owned())));
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
        if self.unloaded {
            Exit::Unloaded {
                expires: self.expires_at(),
            }
        } else {
            Exit::Stopped
        }
    }

    /// Closes `conns` with 4010 (`CLOSE_RESYNC`): their client reconnects and resumes, so no
    /// socket stays open on a room that no longer counts it as joined.
    fn reset(&self, conns: &[ConnHandle]) {
        for c in conns {
            c.close(coguest_proto::CLOSE_RESYNC);
        }
        if !conns.is_empty() {
            let n = u64::try_from(conns.len()).unwrap_or(u64::MAX);
            self.shared.metrics.cluster_conns_reset.inc_by(n);
            tracing::warn!(
                room = self.name(),
                connections = conns.len(),
                "closing connections with 4010 so that they resume"
            );
        }
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
        if !self.decides() {
            return None;
        }
        let grace = self.grace.first().map(|(t, _)| *t);
        [self.room.poll_timeout(), grace, self.lifecycle_deadline()]
            .into_iter()
            .flatten()
            .min()
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
        if !self.ensure_owner().await {
            return;
        }
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
        let Some((_, user)) = due else {
            self.on_lifecycle(now).await;
            return;
        };
        self.cancel_grace(&user);
        let connected = self.peers.has_user(&user) || self.remote.contains_key(&user);
        if connected || self.room.member(&user).is_none() {
            return;
        }
        tracing::debug!(room = self.name(), user = %user, "grace period over: leaving");
        let input = LogInput::Command {
            actor: user.clone(),
            command: Command::Leave,
        };
        match self.mutate(now, input, None).await {
            Ok(_) => self.answers.departed(&user),
            Err(MutateError::Store(e)) => {
                tracing::error!(room = self.name(), error = %e, "could not store a leave");
            }
            Err(MutateError::Refused(_)) => {}
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
            RoomMsg::Summary(reply) => {
                let _ = reply.send(self.summary());
            }
            RoomMsg::Operator { command, reply } => {
                self.admin(AdminOp::Operator { command }, AdminReply::Operator(reply))
                    .await;
            }
            RoomMsg::Close(reply) => self.admin(AdminOp::Close, AdminReply::Close(reply)).await,
            RoomMsg::Notice(n) => self.on_notice(n).await,
            RoomMsg::Remote(m) => self.on_remote(*m).await,
            RoomMsg::Answer(a) => self.on_answer(a).await,
            RoomMsg::Resync => {
                self.routes.resyncing_done(&self.id);
                self.resync().await;
            }
            RoomMsg::Lost => self.lost_here(),
            RoomMsg::Reannounce => self.reannounce().await,
            RoomMsg::Approval {
                kind,
                token,
                verdict,
            } => self.on_approval(kind, token, verdict).await,
        }
    }
}

/// Cluster mode: a room actor that does not own the room refuses to apply admin calls itself
/// (they are forwarded to the owner first, see `forward_admin`).
fn not_owner() -> (ErrorCode, String) {
    (
        ErrorCode::Failed,
        "another cluster node owns this room: send admin API calls to that node".into(),
    )
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
    match e {
        // The room reloads what storage holds: a retry with the same id gets the stored
        // command's answer, or runs it if it was not stored.
        StoreError::Unanswered(_) | StoreError::Unreplicated(_) => (
            ErrorCode::Failed,
            format!("may or may not have been applied ({e}): retry with the same id"),
        ),
        _ => (ErrorCode::Failed, format!("not applied: {e}")),
    }
}
