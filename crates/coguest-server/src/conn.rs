//! One WebSocket connection: authenticate, then a writer task (queue → socket) and a reader
//! loop (socket → checks → room actors). The first to finish ends the other.

use crate::app::App;
use crate::auth::{AuthError, Identity};
use crate::conns::Refusal;
use crate::room::handle::ConnHandle;
use crate::room::msg::{CommandMsg, RoomMsg};
use crate::room::outbox::{Next, Outbox};
use crate::room::registry::Registry;
use crate::room::registry::RouteError;
use crate::socket::{FrameWriter, MAX_FRAMES, OutFrame, ReadSocket};
use crate::wire::{encode, valid_room_id};
use coguest_core::{Profile, Role, RoomId, Timestamp, UserId};
use coguest_proto::{
    CLOSE_FRAME_TOO_LARGE, CLOSE_TOO_SLOW, CLOSE_UNAUTHORIZED, ClientCommand, ClientFrame,
    ErrorCode, PROTOCOL_VERSION, ServerMsg,
};
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tungstenite::{Message, Utf8Bytes};

pub use coguest_proto::CLOSE_POLICY;
/// Close code after the client closed normally.
const CLOSE_NORMAL: u16 = 1000;

/// A token bucket on the server clock.
struct Bucket {
    capacity: f64,
    per_ms: f64,
    tokens: f64,
    last: Timestamp,
}

impl Bucket {
    fn new(per_sec: u32, burst: u32, now: Timestamp) -> Self {
        let capacity = f64::from(burst.max(1));
        Bucket {
            capacity,
            per_ms: f64::from(per_sec) / 1000.0,
            tokens: capacity,
            last: now,
        }
    }

    fn take(&mut self, now: Timestamp) -> bool {
        let elapsed = now.as_millis().saturating_sub(self.last.as_millis());
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed as f64 * self.per_ms).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Sends an error then closes: used before the connection is set up.
async fn refuse(
    mut read: ReadSocket,
    mut write: FrameWriter,
    code: ErrorCode,
    message: String,
    close: u16,
) {
    let error = encode(&ServerMsg::Error {
        id: None,
        code: code.code(),
        message,
        app_code: None,
        reason: None,
    });
    let frames = [OutFrame::Text(error), OutFrame::close(close, "refused")];
    let _ = tokio::time::timeout(Duration::from_secs(2), write.write(&frames)).await;
    // Give the client a moment to read the close frame before the socket drops.
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(Ok(m)) = read.next().await {
            if matches!(m, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

/// Serves one upgraded WebSocket. The token check and the connection slot are decided here,
/// synchronously, and the socket is split before the returned future exists: an `async fn`
/// keeps its by-value arguments for its whole life, so passing the socket down through async
/// layers would store it once per layer in every idle connection's task.
pub(crate) fn handle(
    read: ReadSocket,
    write: FrameWriter,
    app: Arc<App>,
    token: Option<String>,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    use futures_util::future::Either;
    // Made first: the connection table holds it, for the sweep and the shutdown to close it.
    let outbox = Arc::new(Outbox::new(app.config.limits.outgoing_queue));
    match admit(&app, token.as_deref(), &outbox) {
        Ok((identity, conn_id)) => {
            tracing::debug!(conn = conn_id, user = %identity.user, "connected");
            let key_only = identity.user.as_str() == API_KEY_USER;
            let conn = ConnHandle::new(conn_id, identity, outbox.clone());
            Either::Left(run(read, write, app, conn, outbox, key_only))
        }
        Err((code, message, close)) => {
            Either::Right(Box::pin(refuse(read, write, code, message, close)))
        }
    }
}

/// Checks the token and takes one of the user's connection slots: the identity and the
/// connection's number.
fn admit(
    app: &App,
    token: Option<&str>,
    outbox: &Arc<Outbox>,
) -> Result<(Arc<Identity>, u64), Refusal> {
    let now = app.clock.now();
    let identity = match app.auth.verify(token, now) {
        Ok(id) => Arc::new(id),
        Err(_) if is_api_key(app, token) => Arc::new(api_key_identity()),
        Err(e) => {
            tracing::debug!(error = %e, "websocket refused");
            return Err((e.code(), e.to_string(), CLOSE_UNAUTHORIZED));
        }
    };
    let max = app.config.limits.max_connections_per_user;
    let id = app.conns.admit(&identity, max, outbox, now)?;
    Ok((identity, id))
}

/// The user a connection made with the API key (instead of a token) stands for. Such a
/// connection is not a user: it may only observe (rooms and the rooms list) and ping.
pub(crate) const API_KEY_USER: &str = "@api-key";

/// Whether `token` is the configured API key (compared in constant time).
fn is_api_key(app: &App, token: Option<&str>) -> bool {
    match (&app.config.api_key, token) {
        (Some(key), Some(given)) if !key.is_empty() && key.len() == given.len() => {
            key.bytes()
                .zip(given.bytes())
                .fold(0u8, |acc, (x, y)| acc | (x ^ y))
                == 0
        }
        _ => false,
    }
}

/// The identity of a connection made with the API key: a service admin for every room that
/// never expires and is no member.
fn api_key_identity() -> Identity {
    Identity {
        user: UserId::from(API_KEY_USER),
        profile: Profile::default(),
        role: Role::Audience,
        room: None,
        expires: Timestamp::from_millis(u64::MAX),
        admin: true,
    }
}

/// Flushes what was queued before the close (an error explaining it, say), unless the queue
/// is what was too slow, then sends the close frame.
async fn close_writer(write: &mut FrameWriter, outbox: &Outbox, code: u16) {
    if code != CLOSE_TOO_SLOW {
        let flush = async {
            loop {
                let batch: Vec<OutFrame> = std::iter::from_fn(|| outbox.pop())
                    .take(MAX_FRAMES)
                    .collect();
                if batch.is_empty() || write.write(&batch).await.is_err() {
                    return;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), flush).await;
    }
    let close = [OutFrame::close(code, "closing")];
    let _ = tokio::time::timeout(Duration::from_secs(2), write.write(&close)).await;
}

/// Closes a connection's outbox when its writer task ends.
struct CloseOnDrop(Arc<Outbox>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// Starts the writer task and returns the reader loop (see [`handle`]).
fn run(
    mut stream: ReadSocket,
    mut write: FrameWriter,
    app: Arc<App>,
    conn: ConnHandle,
    outbox: Arc<Outbox>,
    key_only: bool,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let identity = &conn.identity;
    conn.send_msg(&ServerMsg::Welcome {
        protocol: PROTOCOL_VERSION,
        user_id: identity.user.to_string(),
        role: identity.role.into(),
    });

    let mut writer = tokio::spawn(async move {
        // However the writer ends, nothing more is queued for it.
        let outbox = CloseOnDrop(outbox);
        loop {
            let first = match outbox.0.next().await {
                Next::Frame(first) => first,
                Next::Close(code) => {
                    // Boxed: the closing state exists only while closing.
                    Box::pin(close_writer(&mut write, &outbox.0, code)).await;
                    return;
                }
            };
            // What is queued already leaves in one write (several deliveries to a member of a
            // busy room often wait together): one syscall, not one per frame. A lone frame,
            // the usual case, needs no list.
            let written = match outbox.0.pop() {
                None => write.write(std::slice::from_ref(&first)).await,
                Some(second) => {
                    let mut batch = vec![first, second];
                    batch.extend(std::iter::from_fn(|| outbox.0.pop()).take(MAX_FRAMES - 2));
                    write.write(&batch).await
                }
            };
            if written.is_err() {
                return;
            }
        }
    });

    app.conns.set_writer(conn.id, writer.abort_handle());
    let mut reader = Reader {
        expires: conn.identity.expires,
        bucket: Bucket::new(
            app.config.limits.commands_per_sec,
            app.config.limits.command_burst,
            app.clock.now(),
        ),
        app,
        conn,
        rooms: Vec::new(),
        key_only,
        watching_rooms: false,
    };
    // The block uses what it captures in place: a capture moved into a local would be stored
    // twice in every connection's task (rustc keeps the captures beside the locals). Idle
    // timeouts, token expiry and shutdown reach it through the writer, which the sweep
    // (`Conns`) asks to close.
    async move {
        let mut writer_done = false;
        loop {
            tokio::select! {
                _ = &mut writer => {
                    writer_done = true;
                    break;
                }
                msg = stream.next() => {
                    let conn = &reader.conn;
                    conn.heard(reader.app.clock.now());
                    match msg {
                        // Boxed: the idle connection's future stays small; the parsing and
                        // routing state exists only while a frame is handled.
                        Some(Ok(Message::Text(text))) => Box::pin(reader.on_text(text)).await,
                        Some(Ok(Message::Binary(_))) => {
                            conn.error(None, ErrorCode::MalformedFrame, "frames are JSON text");
                        }
                        Some(Ok(Message::Ping(payload))) => conn.pong(payload),
                        Some(Ok(Message::Close(_))) | None => break,
                        Some(Ok(_)) => {}
                        Some(Err(e)) => {
                            tracing::debug!(conn = conn.id, error = %e, "websocket read failed");
                            if over_hard_limit(e) {
                                conn.close(CLOSE_FRAME_TOO_LARGE);
                            }
                            break;
                        }
                    }
                }
            }
        }
        // Boxed: what runs after the loop takes no room in the idle connection's future.
        Box::pin(finish(&mut reader, writer, writer_done)).await;
        tracing::debug!(conn = reader.conn.id, "disconnected");
    }
}

/// Whether a read failed because a frame or message exceeded the WebSocket's hard size limit.
fn over_hard_limit(e: tungstenite::Error) -> bool {
    matches!(e, tungstenite::Error::Capacity(_))
}

/// Detaches the connection from its rooms and lets the writer close the socket.
async fn finish(reader: &mut Reader, mut writer: tokio::task::JoinHandle<()>, writer_done: bool) {
    let conn = &reader.conn;
    if reader.watching_rooms {
        reader.app.registry.feed().unwatch(conn.id);
    }
    for room in std::mem::take(&mut reader.rooms) {
        // A room that is not loaded has no connection to detach (it unloads only once idle).
        let detach = RoomMsg::Detach { conn: conn.id };
        reader.app.registry.deliver_if_running(&room, detach).await;
    }
    if !writer_done {
        conn.close(CLOSE_NORMAL);
        if tokio::time::timeout(Duration::from_secs(3), &mut writer)
            .await
            .is_err()
        {
            writer.abort();
        }
    }
}

/// The reading side's state. Dropping it gives back the connection's slot.
struct Reader {
    app: Arc<App>,
    conn: ConnHandle,
    bucket: Bucket,
    /// When the connection's token expires: the connect token's expiry, then that of the last
    /// token accepted by `update_token`.
    expires: Timestamp,
    /// The rooms joined or observed on this connection, sorted (a connection joins one room
    /// or a few).
    rooms: Vec<RoomId>,
    /// Made with the API key: it may only observe and ping.
    key_only: bool,
    /// It watches the rooms list (`observe_rooms`).
    watching_rooms: bool,
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.app
            .conns
            .release(self.conn.id, &self.conn.identity.user);
    }
}

impl Reader {
    async fn on_text(&mut self, text: Utf8Bytes) {
        let received = Instant::now();
        let limits = &self.app.config.limits;
        if text.len() > limits.max_frame_bytes {
            let message = format!(
                "frame is {} bytes, more than the {} allowed",
                text.len(),
                limits.max_frame_bytes
            );
            let id = coguest_proto::frame_id(text.as_str());
            self.refuse(id, ErrorCode::FrameTooLarge, message, received);
            return;
        }
        // The protocol's one decoder: a well-formed frame is parsed once, straight into its
        // type; a refused one is read again only to say why and to find its id.
        let parsed = coguest_proto::decode_frame(text.as_str());
        let id = match &parsed {
            Ok(frame) => Some(frame.id),
            Err(e) => e.id,
        };
        let now = self.app.clock.now();
        if !self.bucket.take(now) {
            let message = format!(
                "more than {} commands per second (burst {})",
                limits.commands_per_sec, limits.command_burst
            );
            self.refuse(id, ErrorCode::FreqLimit, message, received);
            return;
        }
        if now >= self.expires {
            let e = AuthError::Expired;
            self.refuse(id, e.code(), e.to_string(), received);
            self.conn.close(CLOSE_UNAUTHORIZED);
            return;
        }
        match parsed {
            Ok(frame) => self.on_frame(frame, received).await,
            Err(e) => self.refuse(e.id, e.code, e.message, received),
        }
    }

    /// `update_token`: checks `token` as at connect, requires the connection's user, role and
    /// room limit, then makes its expiry the connection's. A refused token changes nothing.
    fn update_token(&mut self, token: &str) -> Result<(), (ErrorCode, String)> {
        let now = self.app.clock.now();
        let new = self
            .app
            .auth
            .verify(Some(token), now)
            .map_err(|e| (e.code(), e.to_string()))?;
        let current = &self.conn.identity;
        let mismatch = if new.user != current.user {
            Some(format!(
                "the token is for user {:?}, this connection is {:?}'s",
                new.user.as_str(),
                current.user.as_str()
            ))
        } else if new.role != current.role {
            Some(format!(
                "the token grants role {:?}, this connection has {:?}; reconnect to change it",
                new.role, current.role
            ))
        } else if new.room != current.room {
            Some(format!(
                "the token's room limit ({:?}) is not this connection's ({:?}); reconnect to change it",
                new.room, current.room
            ))
        } else {
            None
        };
        if let Some(message) = mismatch {
            return Err((ErrorCode::TokenMismatch, message));
        }
        self.expires = new.expires;
        self.app.conns.set_expiry(self.conn.id, new.expires);
        Ok(())
    }

    /// Answers a frame refused before it became a command; counted as kind `frame`.
    fn refuse(&self, id: Option<u64>, code: ErrorCode, message: String, received: Instant) {
        self.conn.error(id, code, message);
        self.app
            .metrics
            .command("frame", &format!("{code:?}"), received.elapsed());
    }

    /// `observe_rooms` / `unobserve_rooms`: a service admin not limited to a room watches (or
    /// stops watching) every room's summary.
    async fn rooms_feed(&mut self, id: u64, command: &ClientCommand, received: Instant) {
        let kind = command.kind();
        let identity = &self.conn.identity;
        let feed = self.app.registry.feed().clone();
        let result = if !identity.admin {
            Err((
                ErrorCode::NeedAdminPermission,
                "watching the rooms list needs an admin token (`adm`) or the API key".to_owned(),
            ))
        } else if let Some(only) = &identity.room {
            Err((
                ErrorCode::WrongRoom,
                format!("this token is for room {only:?} only: observe that room"),
            ))
        } else if matches!(command, ClientCommand::UnobserveRooms) {
            self.watching_rooms = false;
            feed.unwatch(self.conn.id);
            Ok(())
        } else {
            // Watching first: a change while the list is collected is sent too (the client
            // keeps each room's newest version).
            feed.watch(self.conn.clone());
            self.watching_rooms = true;
            match all_summaries(&self.app).await {
                Ok(rooms) => {
                    self.conn.send_msg(&ServerMsg::Rooms {
                        full: true,
                        rooms,
                        closed: Vec::new(),
                    });
                    Ok(())
                }
                Err(e) => Err((ErrorCode::Failed, format!("listing the rooms failed: {e}"))),
            }
        };
        let label = match result {
            Ok(()) => {
                self.conn.send_msg(&ServerMsg::Ack {
                    id,
                    room: None,
                    version: None,
                    request_id: None,
                });
                "ok".to_owned()
            }
            Err((code, message)) => {
                self.conn.error(Some(id), code, message);
                format!("{code:?}")
            }
        };
        self.app.metrics.command(kind, &label, received.elapsed());
    }

    async fn on_frame(&mut self, frame: ClientFrame, received: Instant) {
        let ClientFrame { id, room, command } = frame;
        let kind = command.kind();
        if let ClientCommand::UpdateToken { token } = &command {
            match self.update_token(token) {
                Ok(()) => {
                    self.conn.send_msg(&ServerMsg::Ack {
                        id,
                        room: None,
                        version: None,
                        request_id: None,
                    });
                    self.app.metrics.command(kind, "ok", received.elapsed());
                }
                Err((code, message)) => {
                    self.conn.error(Some(id), code, message);
                    let result = format!("{code:?}");
                    self.app.metrics.command(kind, &result, received.elapsed());
                }
            }
            return;
        }
        if matches!(
            command,
            ClientCommand::ObserveRooms | ClientCommand::UnobserveRooms
        ) {
            // Boxed: the rooms list is collected only here.
            Box::pin(self.rooms_feed(id, &command, received)).await;
            return;
        }
        let fail = |code: ErrorCode, message: String| {
            self.conn.error(Some(id), code, message);
            self.app
                .metrics
                .command(kind, &format!("{code:?}"), received.elapsed());
        };
        let Some(room) = room else {
            if matches!(command, ClientCommand::Ping) {
                self.conn.send_msg(&ServerMsg::Ack {
                    id,
                    room: None,
                    version: None,
                    request_id: None,
                });
                self.app.metrics.command(kind, "ok", received.elapsed());
            } else {
                fail(
                    ErrorCode::RoomIdInvalid,
                    "this command needs a `room`".into(),
                );
            }
            return;
        };
        if !valid_room_id(&room) {
            fail(
                ErrorCode::RoomIdInvalid,
                "room ids are 1 to 48 printable ASCII bytes".into(),
            );
            return;
        }
        if let Some(only) = &self.conn.identity.room {
            if only != &room {
                let e = AuthError::WrongRoom(only.clone());
                fail(e.code(), e.to_string());
                self.conn.close(CLOSE_UNAUTHORIZED);
                return;
            }
        }
        let observing = matches!(command, ClientCommand::Observe { .. });
        if observing && !self.conn.identity.admin {
            fail(
                ErrorCode::NeedAdminPermission,
                "observing a room needs an admin token (`adm`) or the API key".into(),
            );
            return;
        }
        if self.key_only
            && !matches!(
                command,
                ClientCommand::Observe { .. } | ClientCommand::Unobserve | ClientCommand::Ping
            )
        {
            fail(
                ErrorCode::RequestNoPermission,
                "a connection made with the API key may only observe; members need a token".into(),
            );
            return;
        }
        let core = match command.to_core() {
            Ok(c) => c,
            Err(e) => {
                fail(e.code, e.message);
                return;
            }
        };
        let room_id = RoomId::from(room);
        let is_join = matches!(command, ClientCommand::Join { .. });
        let opens = is_join || observing;
        if !opens && self.rooms.binary_search(&room_id).is_err() {
            // Answered here, the same for every room: a connection that never joined a room
            // learns nothing about it (not whether it exists, nor its version).
            fail(
                ErrorCode::NotEnteredRoom,
                "join the room on this connection first".into(),
            );
            return;
        }
        // Who may create a room by joining it: by default, owners (see `RoomCreation`).
        let creates = is_join
            && self
                .app
                .config
                .room_creation
                .allows(self.conn.identity.role);
        let create = creates.then(|| self.app.config.default_room.clone());
        if opens {
            if let Err(at) = self.rooms.binary_search(&room_id) {
                // Grown one room at a time: most connections join one, and a `Vec`'s first
                // growth would take four.
                self.rooms.reserve_exact(1);
                self.rooms.insert(at, room_id.clone());
            }
        }
        let msg = RoomMsg::Command(Box::new(CommandMsg {
            conn: self.conn.clone(),
            id,
            cmd: command,
            core,
            received,
        }));
        match self.app.registry.route(&room_id, msg, create).await {
            Ok(()) => {}
            Err(RouteError::NoRoom) if opens => {
                // Nothing is kept of a room that does not exist: not even on this connection.
                if let Ok(at) = self.rooms.binary_search(&room_id) {
                    self.rooms.remove(at);
                }
                let message = if is_join {
                    format!(
                        "room {room_id} does not exist, and this token may not create it \
                         (rooms are created by an owner's join or the admin API)"
                    )
                } else {
                    format!("room {room_id} does not exist")
                };
                fail(ErrorCode::RoomIdNotExist, message);
            }
            Err(RouteError::NoRoom) => fail(
                ErrorCode::NotEnteredRoom,
                format!("room {room_id} does not exist; join it first"),
            ),
            Err(RouteError::ShuttingDown) => fail(
                ErrorCode::ShuttingDown,
                "the server is shutting down; reconnect".into(),
            ),
            Err(RouteError::Store(e)) => {
                tracing::error!(room = %room_id, error = %e, "opening a room failed");
                fail(ErrorCode::Failed, format!("storage failed: {e}"));
            }
        }
    }
}

/// Every stored room's summary, from its actor (started here if it was not running: in
/// cluster mode this node then follows the room, so its changes reach the rooms feed).
async fn all_summaries(
    app: &App,
) -> Result<Vec<coguest_proto::RoomSummary>, crate::store::StoreError> {
    let registry: &Arc<Registry> = &app.registry;
    let mut ids = registry.room_ids().await?;
    if let Some(cc) = &app.config.cluster {
        // The Redis store opens rooms on demand and lists none; the cluster's set of room
        // ids (`coguest cluster status`) has every room.
        let status = crate::cluster::status(&cc.redis_url, &cc.prefix).await?;
        ids.extend(status.rooms.into_iter().map(|r| RoomId::from(r.room)));
        ids.sort();
        ids.dedup();
    }
    let mut rooms = Vec::new();
    for id in ids {
        let Some(opened) = registry.open(&id, None).await? else {
            continue;
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        if opened.tx.send(RoomMsg::Summary(tx)).await.is_err() {
            continue;
        }
        if let Ok(Ok(summary)) = tokio::time::timeout(Duration::from_secs(5), rx).await {
            rooms.push(summary);
        }
    }
    Ok(rooms)
}
