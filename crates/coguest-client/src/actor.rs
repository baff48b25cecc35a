//! The connection actor: one tokio task per [`Client`](crate::Client) that owns the
//! WebSocket, every room's reducer and every request in flight.
//!
//! Handles talk to it through an unbounded channel of [`ActorCmd`]s, so no handle ever waits
//! on the network or holds a lock across an `.await`. The actor's loop does one thing per turn:
//! handle a command, handle a frame from the server, expire deadlines, or (while disconnected)
//! finish a connection attempt. Writing goes through a per-connection writer task, so a slow
//! socket never stops the actor from reading.
//!
//! Reconnecting: when the connection drops (anything but close code 4001) the actor waits an
//! exponential backoff with jitter, tries every URL in turn starting with the last good one,
//! then re-joins every room with `since` = the reducer's resume point, and re-sends every
//! request still waiting for its answer *with the same request id*, which the server answers at
//! most once. Frames go out in their original order: a `leave` queued for a store that is gone
//! reaches the server before the join of a store of the same room created since (see
//! `Actor::connected`). A request whose deadline passes fails with [`CoGuestError::TIMEOUT`]
//! if it was never written (so it cannot have been applied), or
//! [`CoGuestError::OUTCOME_UNKNOWN`] if it was.

use crate::connection::{Config, Conn, ConnectError, Welcome, connect_any, is_auth_code};
use crate::error::CoGuestError;
use crate::shared::StoreShared;
use crate::state::{ClientState, StoreEvent};
use coguest_proto::{CLOSE_UNAUTHORIZED, ClientCommand, ClientFrame, ServerMsg};
use futures_util::stream::StreamExt;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

/// The state of a client's connection, observed with
/// [`Client::status`](crate::Client::status).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionStatus {
    /// Connected and authenticated; rooms are (being) re-joined.
    Connected,
    /// The connection dropped; the client is waiting or trying to reconnect. Calls made now
    /// are queued and sent once connected (or fail at their deadline).
    Reconnecting {
        /// Failed attempts since the connection dropped.
        attempt: u32,
    },
    /// The client stopped for good: closed by the application, or the token was refused
    /// (then `error` says why). Every call fails with this error.
    Closed {
        /// Why, when it was not a normal close.
        error: Option<CoGuestError>,
    },
}

/// What a successful command returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Acked {
    /// Id of the application or invitation created, if any.
    #[allow(dead_code)]
    pub(crate) request_id: Option<u64>,
}

/// A message from a handle to the actor.
pub(crate) enum ActorCmd {
    /// Send a command and answer `reply` with its ack or error.
    Request {
        room: Option<String>,
        command: ClientCommand,
        reply: oneshot::Sender<Result<Acked, CoGuestError>>,
    },
    /// Join a room, feeding `shared` and `dispatch`; `reply` once the snapshot and ack arrived.
    Join {
        room: String,
        shared: Arc<StoreShared>,
        dispatch: mpsc::UnboundedSender<StoreEvent>,
        reply: oneshot::Sender<Result<(), CoGuestError>>,
    },
    /// The last handle of a store was dropped: leave the room.
    Leave { room: String },
    /// Close the connection and stop.
    Close,
}

struct Room {
    state: ClientState,
    shared: Arc<StoreShared>,
    dispatch: mpsc::UnboundedSender<StoreEvent>,
    /// The `create` call waiting for the first join, with its deadline.
    first_join: Option<(oneshot::Sender<Result<(), CoGuestError>>, Instant)>,
    /// A join frame went out for the current first join.
    join_sent: bool,
}

struct Pending {
    frame: ClientFrame,
    reply: Option<oneshot::Sender<Result<Acked, CoGuestError>>>,
    deadline: Instant,
    /// Written to a connection at least once: the server may have applied it.
    sent: bool,
}

pub(crate) struct Actor {
    cfg: Config,
    rx: mpsc::UnboundedReceiver<ActorCmd>,
    status: watch::Sender<ConnectionStatus>,
    next_id: u64,
    rooms: HashMap<String, Room>,
    pending: BTreeMap<u64, Pending>,
    /// Join frames in flight on this connection: request id → room.
    joins: HashMap<u64, String>,
    conn: Option<Conn>,
    stopped: Option<CoGuestError>,
    /// The last token refusal the server explained (`-3011` `TOKEN_EXPIRED`, ...), reported
    /// when it then closes with 4001.
    auth_error: Option<CoGuestError>,
    attempt: u32,
    url_idx: usize,
}

/// One turn's input.
enum Turn {
    Cmd(Option<ActorCmd>),
    Frame(Option<Result<Message, tokio_tungstenite::tungstenite::Error>>),
    Deadline,
    Keepalive,
    Connected(Result<(Conn, usize), ConnectError>),
}

impl Actor {
    /// Connects once (every URL in turn). On success returns the actor, ready to
    /// [`run`](Actor::run), and who we are.
    pub(crate) async fn connect(
        cfg: Config,
        rx: mpsc::UnboundedReceiver<ActorCmd>,
        status: watch::Sender<ConnectionStatus>,
    ) -> Result<(Actor, Welcome), CoGuestError> {
        let (conn, welcome, url_idx) = match connect_any(&cfg, 0).await {
            Ok(c) => c,
            Err(ConnectError::Unauthorized(e) | ConnectError::Other(e)) => return Err(e),
        };
        let actor = Actor {
            cfg,
            rx,
            status,
            next_id: first_request_id(),
            rooms: HashMap::new(),
            pending: BTreeMap::new(),
            joins: HashMap::new(),
            conn: Some(conn),
            stopped: None,
            auth_error: None,
            attempt: 0,
            url_idx,
        };
        Ok((actor, welcome))
    }

    /// The actor's loop; returns when the client is closed or every handle is gone.
    pub(crate) async fn run(mut self) {
        let mut connecting: Option<std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>>> =
            None;
        loop {
            if self.conn.is_none() && self.stopped.is_none() && connecting.is_none() {
                let delay = backoff(&self.cfg, self.attempt);
                let cfg = self.cfg.clone();
                let start = self.url_idx;
                connecting = Some(Box::pin(async move {
                    tokio::time::sleep(delay).await;
                    connect_any(&cfg, start)
                        .await
                        .map(|(conn, _welcome, idx)| (conn, idx))
                }));
            }
            let deadline = self.next_deadline();
            let keepalive_at = self.conn.as_ref().map(|c| c.ping_at);
            let turn = tokio::select! {
                cmd = self.rx.recv() => Turn::Cmd(cmd),
                frame = next_frame(&mut self.conn) => Turn::Frame(frame),
                () = sleep_until_opt(deadline) => Turn::Deadline,
                () = sleep_until_opt(keepalive_at) => Turn::Keepalive,
                res = poll_opt(&mut connecting) => Turn::Connected(res),
            };
            match turn {
                Turn::Cmd(None) | Turn::Cmd(Some(ActorCmd::Close)) => {
                    self.shutdown();
                    return;
                }
                Turn::Cmd(Some(cmd)) => self.handle_cmd(cmd),
                Turn::Frame(Some(Ok(msg))) => self.handle_message(msg),
                Turn::Frame(Some(Err(e))) => {
                    tracing::debug!(error = %e, "connection failed");
                    self.disconnected();
                }
                Turn::Frame(None) => self.disconnected(),
                Turn::Deadline => self.expire(),
                Turn::Keepalive => self.keepalive(),
                Turn::Connected(res) => {
                    connecting = None;
                    match res {
                        Ok((conn, idx)) => {
                            self.url_idx = idx;
                            self.connected(conn);
                        }
                        Err(ConnectError::Unauthorized(e)) => self.stop(e),
                        Err(ConnectError::Other(e)) => {
                            tracing::debug!(error = %e, "reconnect attempt failed");
                            self.attempt = self.attempt.saturating_add(1);
                            self.status.send_replace(ConnectionStatus::Reconnecting {
                                attempt: self.attempt,
                            });
                        }
                    }
                }
            }
        }
    }

    fn fresh_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    fn send(&mut self, frame: &ClientFrame) -> bool {
        let Some(conn) = &self.conn else {
            return false;
        };
        match serde_json::to_string(frame) {
            Ok(text) => conn.out.send(Message::text(text)).is_ok(),
            Err(e) => {
                tracing::error!(error = %e, "could not encode a frame");
                false
            }
        }
    }

    fn handle_cmd(&mut self, cmd: ActorCmd) {
        match cmd {
            ActorCmd::Request {
                room,
                command,
                reply,
            } => {
                if let Some(e) = &self.stopped {
                    let _ = reply.send(Err(e.clone()));
                    return;
                }
                let id = self.fresh_id();
                let frame = ClientFrame { id, room, command };
                let sent = self.send(&frame);
                self.pending.insert(
                    id,
                    Pending {
                        frame,
                        reply: Some(reply),
                        deadline: Instant::now() + self.cfg.request_timeout,
                        sent,
                    },
                );
            }
            ActorCmd::Join {
                room,
                shared,
                dispatch,
                reply,
            } => {
                if let Some(e) = &self.stopped {
                    let _ = reply.send(Err(e.clone()));
                    return;
                }
                if self.rooms.contains_key(&room) {
                    let _ = reply.send(Err(CoGuestError::new(
                        coguest_proto::ErrorCode::RequestIdRepeat.code(),
                        format!("room {room:?} is already joined by this client"),
                    )));
                    return;
                }
                let deadline = Instant::now() + self.cfg.request_timeout;
                self.rooms.insert(
                    room.clone(),
                    Room {
                        state: ClientState::new(room.clone()),
                        shared,
                        dispatch,
                        first_join: Some((reply, deadline)),
                        join_sent: false,
                    },
                );
                if self.conn.is_some() {
                    self.send_join(&room);
                }
            }
            ActorCmd::Leave { room } => {
                let Some(r) = self.rooms.remove(&room) else {
                    return;
                };
                r.shared.end_streams();
                self.joins.retain(|_, j| *j != room);
                self.queue_leave(room);
            }
            ActorCmd::Close => {}
        }
    }

    /// Sends `leave` like any request (re-sent after a reconnect), with nobody waiting.
    fn queue_leave(&mut self, room: String) {
        if self.stopped.is_some() {
            return;
        }
        let id = self.fresh_id();
        let frame = ClientFrame {
            id,
            room: Some(room),
            command: ClientCommand::Leave,
        };
        let sent = self.send(&frame);
        self.pending.insert(
            id,
            Pending {
                frame,
                reply: None,
                deadline: Instant::now() + self.cfg.request_timeout,
                sent,
            },
        );
    }

    /// Sends a join for `room`, resuming from its reducer's position.
    fn send_join(&mut self, room: &str) {
        let id = self.fresh_id();
        let Some(r) = self.rooms.get_mut(room) else {
            return;
        };
        let since = r.state.resume_from();
        if r.first_join.is_some() {
            r.join_sent = true;
        }
        let frame = ClientFrame {
            id,
            room: Some(room.to_owned()),
            command: ClientCommand::Join { since },
        };
        if self.send(&frame) {
            self.joins.insert(id, room.to_owned());
        }
    }

    fn connected(&mut self, conn: Conn) {
        self.conn = Some(conn);
        self.attempt = 0;
        self.status.send_replace(ConnectionStatus::Connected);
        // Re-send what is still unanswered, in the original order and with the same ids, each
        // room joined before its frames (the server takes a room's commands only from a
        // connection that joined it).
        //
        // A pending `leave` belongs to a store that is gone (dropped, or a `create` that gave
        // up). If this client has a live store of that room again, that store was created
        // after the `leave` and is still waiting for its first join: the `leave` must reach
        // the server before that join, or the server applies it to the new store's membership
        // and the new store is silently out of the room. So such a room is joined once for the
        // old store (its answer and room state are ignored: the live store's own join, sent
        // after the `leave`, brings a fresh snapshot), then the `leave` and the old store's
        // other frames go out, then the live store's join.
        let mut last_leave: HashMap<String, u64> = HashMap::new();
        for (id, p) in &self.pending {
            if let (ClientCommand::Leave, Some(room)) = (&p.frame.command, &p.frame.room) {
                last_leave.insert(room.clone(), *id);
            }
        }
        let frames: Vec<ClientFrame> = self.pending.values().map(|p| p.frame.clone()).collect();
        let mut old_joined: HashSet<String> = HashSet::new();
        let mut joined: HashSet<String> = HashSet::new();
        for frame in frames {
            if let Some(room) = &frame.room {
                if self.rooms.contains_key(room) && !joined.contains(room) {
                    let old_store = last_leave.get(room).is_some_and(|&leave| frame.id <= leave);
                    if !old_store {
                        self.send_join(room);
                        joined.insert(room.clone());
                    } else if old_joined.insert(room.clone()) {
                        self.send_join_for_old_store(room);
                    }
                }
            }
            if self.send(&frame) {
                if let Some(p) = self.pending.get_mut(&frame.id) {
                    p.sent = true;
                }
            }
        }
        let rooms: Vec<String> = self
            .rooms
            .keys()
            .filter(|r| !joined.contains(*r))
            .cloned()
            .collect();
        for room in rooms {
            self.send_join(&room);
        }
    }

    /// Joins `room` on this connection for the frames of a store of it that is gone, before
    /// the live store of the same room joins (see [`Actor::connected`]). Nobody waits for the
    /// answer. The live store is still waiting for its first join, so nothing it received yet
    /// is kept: its own join then asks for a fresh snapshot.
    fn send_join_for_old_store(&mut self, room: &str) {
        let id = self.fresh_id();
        if let Some(r) = self.rooms.get_mut(room) {
            if r.first_join.is_some() {
                r.state = ClientState::new(room.to_owned());
            }
        }
        self.send(&ClientFrame {
            id,
            room: Some(room.to_owned()),
            command: ClientCommand::Join { since: None },
        });
    }

    fn disconnected(&mut self) {
        if self.conn.take().is_none() {
            return;
        }
        self.joins.clear();
        if self.stopped.is_none() {
            tracing::info!("connection lost; reconnecting");
            self.status
                .send_replace(ConnectionStatus::Reconnecting { attempt: 0 });
        }
    }

    /// The token was refused: fail everything, stop reconnecting.
    fn stop(&mut self, err: CoGuestError) {
        tracing::warn!(error = %err, "token refused; the client stops");
        self.conn = None;
        self.joins.clear();
        for (_, p) in std::mem::take(&mut self.pending) {
            if let Some(reply) = p.reply {
                let _ = reply.send(Err(err.clone()));
            }
        }
        for r in self.rooms.values_mut() {
            if let Some((reply, _)) = r.first_join.take() {
                let _ = reply.send(Err(err.clone()));
            }
        }
        self.stopped = Some(err.clone());
        self.status
            .send_replace(ConnectionStatus::Closed { error: Some(err) });
    }

    fn shutdown(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            let _ = conn.out.send(Message::Close(None));
            // Let the writer flush the close frame (it stops after it) instead of aborting it.
            if let Some(writer) = conn.writer.take() {
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(Duration::from_secs(1), writer).await;
                });
            }
        }
        for (_, p) in std::mem::take(&mut self.pending) {
            if let Some(reply) = p.reply {
                let _ = reply.send(Err(CoGuestError::closed()));
            }
        }
        for (_, mut r) in self.rooms.drain() {
            if let Some((reply, _)) = r.first_join.take() {
                let _ = reply.send(Err(CoGuestError::closed()));
            }
            r.shared.end_streams();
        }
        if self.stopped.is_none() {
            self.status
                .send_replace(ConnectionStatus::Closed { error: None });
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let p = self.pending.values().map(|p| p.deadline).min();
        let j = self
            .rooms
            .values()
            .filter_map(|r| r.first_join.as_ref().map(|(_, d)| *d))
            .min();
        match (p, j) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn expire(&mut self) {
        let now = Instant::now();
        let due: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            let Some(p) = self.pending.remove(&id) else {
                continue;
            };
            let kind = p.frame.command.kind();
            let err = if p.sent {
                CoGuestError::new(
                    CoGuestError::OUTCOME_UNKNOWN,
                    format!("`{kind}` was sent but not answered in time; it may have been applied"),
                )
            } else {
                CoGuestError::new(
                    CoGuestError::TIMEOUT,
                    format!(
                        "`{kind}` could not be sent in time (not connected); it was not applied"
                    ),
                )
            };
            if let Some(reply) = p.reply {
                let _ = reply.send(Err(err));
            }
        }
        let rooms: Vec<String> = self
            .rooms
            .iter()
            .filter(|(_, r)| r.first_join.as_ref().is_some_and(|(_, d)| *d <= now))
            .map(|(k, _)| k.clone())
            .collect();
        for room in rooms {
            let Some(mut r) = self.rooms.remove(&room) else {
                continue;
            };
            self.joins.retain(|_, j| *j != room);
            if let Some((reply, _)) = r.first_join.take() {
                let _ = reply.send(Err(CoGuestError::new(
                    CoGuestError::TIMEOUT,
                    format!("joining room {room:?} timed out"),
                )));
            }
            if r.join_sent {
                // The server may have let us in: leave, so we do not linger as a member.
                self.queue_leave(room);
            }
        }
    }

    fn keepalive(&mut self) {
        let Some(conn) = &mut self.conn else {
            return;
        };
        if conn.last_heard.elapsed() >= self.cfg.keepalive * 3 {
            tracing::info!("no traffic from the server; reconnecting");
            self.disconnected();
            return;
        }
        // A WebSocket ping; the answering pong counts as traffic.
        let _ = conn.out.send(Message::Ping(Default::default()));
        conn.ping_at = Instant::now() + self.cfg.keepalive;
    }

    fn handle_message(&mut self, msg: Message) {
        if let Some(conn) = &mut self.conn {
            conn.last_heard = Instant::now();
        }
        match msg {
            Message::Text(text) => match serde_json::from_str::<ServerMsg>(text.as_str()) {
                Ok(m) => self.handle_server(m),
                Err(e) => tracing::warn!(error = %e, "unreadable frame from the server"),
            },
            Message::Close(frame) => {
                let code = frame.as_ref().map(|f| u16::from(f.code));
                if code == Some(CLOSE_UNAUTHORIZED) {
                    let reason = frame.map(|f| f.reason.to_string()).unwrap_or_default();
                    let err = self.auth_error.take().unwrap_or_else(|| {
                        CoGuestError::new(
                            CoGuestError::UNAUTHORIZED,
                            format!("the server refused the token: {reason}"),
                        )
                    });
                    self.stop(err);
                } else {
                    tracing::debug!(?code, "the server closed the connection");
                    self.disconnected();
                }
            }
            _ => {}
        }
    }

    fn handle_server(&mut self, msg: ServerMsg) {
        match msg {
            ServerMsg::Ack { id, .. } => {
                if let Some(room) = self.joins.remove(&id) {
                    let abandoned = match self.rooms.get_mut(&room) {
                        Some(r) => match r.first_join.take() {
                            Some((reply, _)) => reply.send(Ok(())).is_err(),
                            None => false,
                        },
                        None => false,
                    };
                    if abandoned {
                        // `create` was cancelled while joining: nobody holds this store.
                        if let Some(r) = self.rooms.remove(&room) {
                            r.shared.end_streams();
                        }
                        self.queue_leave(room);
                    }
                } else if let Some(p) = self.pending.remove(&id) {
                    if let ClientCommand::UpdateToken { token } = p.frame.command {
                        // Reconnects present the token the server accepted last.
                        self.cfg.token = token;
                    }
                    if let Some(reply) = p.reply {
                        let _ = reply.send(Ok(Acked {
                            request_id: match msg {
                                ServerMsg::Ack { request_id, .. } => request_id,
                                _ => None,
                            },
                        }));
                    }
                }
            }
            ServerMsg::Error {
                id: Some(id),
                code,
                message,
                app_code,
                reason,
            } => {
                let err = CoGuestError::new(code, message).with_approval(app_code, reason);
                // A refused `update_token` leaves the connection and its token as they were.
                let token_update = self
                    .pending
                    .get(&id)
                    .is_some_and(|p| matches!(p.frame.command, ClientCommand::UpdateToken { .. }));
                if is_auth_code(code) && !token_update {
                    self.auth_error = Some(err.clone());
                }
                if let Some(room) = self.joins.remove(&id) {
                    self.join_failed(&room, err);
                } else if let Some(p) = self.pending.remove(&id) {
                    if let Some(reply) = p.reply {
                        let _ = reply.send(Err(err));
                    }
                }
            }
            ServerMsg::Error {
                id: None,
                code,
                message,
                ..
            } => {
                tracing::warn!(code, %message, "error from the server");
                if is_auth_code(code) {
                    self.auth_error = Some(CoGuestError::new(code, message));
                }
            }
            // Observers' messages: this SDK does not observe (the TypeScript SDK's
            // `RoomObserver` does).
            ServerMsg::Welcome { .. } | ServerMsg::Log { .. } | ServerMsg::Rooms { .. } => {}
            ServerMsg::RoomClosed { room, reason } => {
                if let Some(r) = self.rooms.remove(&room) {
                    r.shared.mark_closed_by_server(reason);
                    self.joins.retain(|_, j| *j != room);
                }
            }
            ServerMsg::Snapshot { ref room, .. }
            | ServerMsg::Event { ref room, .. }
            | ServerMsg::Change { ref room, .. }
            | ServerMsg::Resumed { ref room, .. } => {
                let Some(r) = self.rooms.get_mut(room) else {
                    return;
                };
                let events = r.state.apply(&msg);
                if matches!(msg, ServerMsg::Snapshot { .. } | ServerMsg::Change { .. }) {
                    // Views first: the core sends a version's changes before its events,
                    // so a callback always sees lists at least as new as its event.
                    r.shared.set_views(r.state.views());
                }
                for e in events {
                    r.shared.publish(&e);
                    let _ = r.dispatch.send(e);
                }
            }
        }
    }

    fn join_failed(&mut self, room: &str, err: CoGuestError) {
        let Some(r) = self.rooms.get_mut(room) else {
            return;
        };
        if let Some((reply, _)) = r.first_join.take() {
            let _ = reply.send(Err(err));
            self.rooms.remove(room);
        } else {
            // A re-join after a reconnect was refused (room closed, ...): the store is out.
            tracing::warn!(room, error = %err, "re-joining the room failed");
            r.shared.mark_closed();
            self.rooms.remove(room);
        }
    }
}

/// Request ids must be unique per user and room across clients and processes too: the server
/// remembers the answers to a user's recent ids, so a second client of the same user reusing
/// one would get the first client's answer. Each client therefore starts its counter at a
/// random point below 2^52 (exact in JSON everywhere); two clients' ranges overlap only if they
/// send billions of requests.
fn first_request_id() -> u64 {
    rand::random_range(1..(1u64 << 52))
}

fn backoff(cfg: &Config, attempt: u32) -> Duration {
    let exp = cfg
        .backoff_initial
        .saturating_mul(2u32.saturating_pow(attempt.min(16)));
    let cap = exp.min(cfg.backoff_max);
    // Equal jitter: between half and all of the capped delay.
    let jitter: f64 = rand::random();
    cap.mul_f64(0.5 + jitter / 2.0)
}

async fn next_frame(
    conn: &mut Option<Conn>,
) -> Option<Result<Message, tokio_tungstenite::tungstenite::Error>> {
    match conn {
        Some(c) => c.stream.next().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until_opt(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

async fn poll_opt<T>(
    f: &mut Option<std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>>,
) -> T {
    match f {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        Config {
            urls: vec![],
            token: String::new(),
            request_timeout: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(1),
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(2),
            keepalive: Duration::from_secs(15),
            tls: Default::default(),
        }
    }

    #[test]
    fn backoff_grows_with_jitter_and_caps() {
        let c = cfg();
        for attempt in 0..40 {
            let d = backoff(&c, attempt);
            let cap = (c.backoff_initial * 2u32.saturating_pow(attempt.min(16))).min(c.backoff_max);
            assert!(d >= cap / 2 && d <= cap, "attempt {attempt}: {d:?}");
        }
    }
}
