//! Test harness: a real server on 127.0.0.1:0 with a manual clock and a SQLite file in a
//! temporary directory, and a WebSocket test client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use coguest_core::{Role, Timestamp};
use coguest_proto::{ClientCommand, ClientFrame, ServerMsg};
use coguest_server::auth::{Auth, Claims};
use coguest_server::{ManualClock, Server, ServerConfig};
use futures_util::{SinkExt, StreamExt};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The manual clock's start: 2023-11-14.
pub const T0: u64 = 1_700_000_000_000;
pub const SECRET: &[u8] = b"test-secret";
/// How long a test waits for a frame before failing (never reached when things work).
pub const WAIT: Duration = Duration::from_secs(10);

pub struct TestServer {
    pub server: Option<Server>,
    pub addr: SocketAddr,
    pub clock: ManualClock,
    pub dir: Arc<tempfile::TempDir>,
    pub config: ServerConfig,
    pub auth: Auth,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(f: impl FnOnce(&mut ServerConfig)) -> Self {
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let mut config = ServerConfig::new(dir.path().join("data"), SECRET);
        // Generous by default; limit tests tighten them.
        config.limits.commands_per_sec = 10_000;
        config.limits.command_burst = 10_000;
        // Tests jump the manual clock by minutes; the idle-timeout tests set it themselves.
        config.limits.idle_timeout = std::time::Duration::ZERO;
        f(&mut config);
        let clock = ManualClock::new(Timestamp::from_millis(T0));
        Self::start_on(dir, config, clock).await
    }

    pub async fn start_on(
        dir: Arc<tempfile::TempDir>,
        config: ServerConfig,
        clock: ManualClock,
    ) -> Self {
        Self::start_full(dir, config, clock, None).await
    }

    /// A server over an injected store.
    pub async fn start_with_store(store: Arc<dyn coguest_server::RoomStore>) -> Self {
        Self::start_with_store_and(store, |_| {}).await
    }

    /// A server over an injected store, with settings changed by `f`.
    pub async fn start_with_store_and(
        store: Arc<dyn coguest_server::RoomStore>,
        f: impl FnOnce(&mut ServerConfig),
    ) -> Self {
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let mut config = ServerConfig::new(dir.path().join("data"), SECRET);
        config.limits.idle_timeout = std::time::Duration::ZERO;
        f(&mut config);
        let clock = ManualClock::new(Timestamp::from_millis(T0));
        Self::start_full(dir, config, clock, Some(store)).await
    }

    pub async fn start_full(
        dir: Arc<tempfile::TempDir>,
        config: ServerConfig,
        clock: ManualClock,
        store: Option<Arc<dyn coguest_server::RoomStore>>,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut builder = Server::builder(config.clone()).clock(Arc::new(clock.clone()));
        if let Some(store) = store {
            builder = builder.store(store);
        }
        let server = builder.start(listener).await.unwrap();
        TestServer {
            server: Some(server),
            addr,
            clock,
            dir,
            config,
            auth: Auth::new(SECRET),
        }
    }

    /// Graceful shutdown, then a new server on the same data directory and clock.
    pub async fn restart(self) -> Self {
        let TestServer {
            server,
            dir,
            config,
            clock,
            ..
        } = self;
        server.unwrap().shutdown().await.unwrap();
        Self::start_on(dir, config, clock).await
    }

    pub async fn stop(mut self) {
        self.server.take().unwrap().shutdown().await.unwrap();
    }

    pub fn now(&self) -> Timestamp {
        use coguest_server::Clock;
        self.clock.now()
    }

    pub fn claims(&self, user: &str, role: Role) -> Claims {
        let mut c = Claims::new(user, role, self.now(), 3600);
        c.name = format!("{user} name");
        c.avatar = format!("https://a.example/{user}.png");
        c
    }

    pub fn token(&self, user: &str, role: Role) -> String {
        self.auth.mint(&self.claims(user, role)).unwrap()
    }

    pub fn admin_token(&self) -> String {
        let mut c = self.claims("ops", Role::Audience);
        c.adm = true;
        self.auth.mint(&c).unwrap()
    }

    pub fn ws_url(&self, token: Option<&str>) -> String {
        match token {
            Some(t) => format!("ws://{}/v1/ws?token={t}", self.addr),
            None => format!("ws://{}/v1/ws", self.addr),
        }
    }

    /// Connects with a fresh token and waits for the welcome.
    pub async fn connect(&self, user: &str, role: Role) -> TestClient {
        let mut c = TestClient::connect(&self.ws_url(Some(&self.token(user, role))), user).await;
        match c.next().await {
            ServerMsg::Welcome { user_id, .. } => assert_eq!(user_id, user),
            other => panic!("expected welcome, got {other:?}"),
        }
        c
    }

    /// Connects and joins `room`, discarding the snapshot.
    pub async fn member(&self, room: &str, user: &str, role: Role) -> TestClient {
        let mut c = self.connect(user, role).await;
        c.join(room, None).await.unwrap();
        c.take_snapshot(room);
        c
    }

    /// `GET /v1/rooms/{room}` with an admin token: the status and the body.
    pub async fn get_room(&self, room: &str) -> (u16, String) {
        let token = self.admin_token();
        self.http("GET", &format!("/v1/rooms/{room}"), Some(&token), "")
            .await
    }

    /// Whether `/metrics` says exactly `n` WebSocket connections are open.
    pub async fn connections_open(&self, n: usize) -> bool {
        let metrics = self.http("GET", "/metrics", None, "").await.1;
        metrics.contains(&format!("coguest_connections {n}\n"))
    }

    pub async fn http(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &str,
    ) -> (u16, String) {
        http(self.addr, method, path, token, body).await
    }
}

/// A minimal HTTP/1.1 client (`Connection: close`).
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n{auth}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(WAIT, s.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&out).to_string();
    let status: u16 = text[9..12].parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The answer to one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub version: Option<u64>,
    pub request_id: Option<u64>,
}

/// A refused command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub code: i32,
    pub message: String,
}

pub struct TestClient {
    pub user: String,
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// Frames read but not yet consumed by an expectation.
    pub buf: VecDeque<ServerMsg>,
    pub close_code: Option<u16>,
}

impl TestClient {
    pub async fn connect(url: &str, user: &str) -> Self {
        let (ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
            .await
            .unwrap();
        Self::over(ws, user)
    }

    fn over(ws: WebSocketStream<MaybeTlsStream<TcpStream>>, user: &str) -> Self {
        TestClient {
            user: user.to_owned(),
            ws,
            next_id: 1,
            buf: VecDeque::new(),
            close_code: None,
        }
    }

    /// Connects over a socket with a receive buffer of `rcvbuf` bytes, so that the client's
    /// socket absorbs little of what the server writes to it once it stops reading.
    pub async fn connect_small_buffer(url: &str, user: &str, rcvbuf: u32) -> Self {
        let addr = url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap()
            .parse::<SocketAddr>()
            .unwrap();
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(rcvbuf).unwrap();
        let stream = socket.connect(addr).await.unwrap();
        let (ws, _) =
            tokio_tungstenite::client_async_with_config(url, MaybeTlsStream::Plain(stream), None)
                .await
                .unwrap();
        Self::over(ws, user)
    }

    /// Reads one frame from the socket (not the buffer). `None` once closed.
    pub async fn read(&mut self) -> Option<ServerMsg> {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("{}: no frame within {WAIT:?}", self.user));
            match msg {
                Some(Ok(Message::Text(t))) => {
                    return Some(
                        serde_json::from_str(t.as_str())
                            .unwrap_or_else(|e| panic!("{}: unreadable frame {t}: {e}", self.user)),
                    );
                }
                Some(Ok(Message::Close(frame))) => {
                    self.close_code = frame.map(|f| u16::from(f.code));
                    return None;
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// The next frame, buffered first.
    pub async fn next(&mut self) -> ServerMsg {
        if let Some(m) = self.buf.pop_front() {
            return m;
        }
        match self.read().await {
            Some(m) => m,
            None => panic!("{}: closed ({:?})", self.user, self.close_code),
        }
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text.to_owned())).await.unwrap();
    }

    pub fn id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub async fn send(&mut self, room: Option<&str>, cmd: ClientCommand) -> u64 {
        let id = self.id();
        self.send_with_id(id, room, cmd).await;
        id
    }

    pub async fn send_with_id(&mut self, id: u64, room: Option<&str>, cmd: ClientCommand) {
        let frame = ClientFrame {
            id,
            room: room.map(str::to_owned),
            command: cmd,
        };
        self.send_text(&serde_json::to_string(&frame).unwrap())
            .await;
    }

    /// Waits for the answer to `id`, buffering everything else.
    pub async fn answer(&mut self, id: u64) -> Result<Ack, Refused> {
        if let Some(pos) = self.buf.iter().position(|m| answers(m, id)) {
            let m = self.buf.remove(pos).unwrap();
            return to_result(m);
        }
        loop {
            let Some(m) = self.read().await else {
                panic!(
                    "{}: closed ({:?}) waiting for answer {id}",
                    self.user, self.close_code
                );
            };
            if answers(&m, id) {
                return to_result(m);
            }
            self.buf.push_back(m);
        }
    }

    /// Sends a command to `room` and waits for its answer.
    pub async fn call(&mut self, room: &str, cmd: ClientCommand) -> Result<Ack, Refused> {
        let id = self.send(Some(room), cmd).await;
        self.answer(id).await
    }

    pub async fn join(&mut self, room: &str, since: Option<u64>) -> Result<Ack, Refused> {
        self.call(room, ClientCommand::Join { since }).await
    }

    /// Removes and returns the buffered snapshot of `room`.
    pub fn take_snapshot(&mut self, room: &str) -> coguest_proto::CoGuestState {
        let pos = self
            .buf
            .iter()
            .position(|m| matches!(m, ServerMsg::Snapshot { room: r, .. } if r == room))
            .unwrap_or_else(|| panic!("{}: no snapshot buffered: {:?}", self.user, self.buf));
        match self.buf.remove(pos) {
            Some(ServerMsg::Snapshot { state, .. }) => state,
            _ => unreachable!(),
        }
    }

    /// Waits for the first frame matching `pred` (buffered first), removing it.
    pub async fn expect(&mut self, what: &str, pred: impl Fn(&ServerMsg) -> bool) -> ServerMsg {
        if let Some(pos) = self.buf.iter().position(&pred) {
            return self.buf.remove(pos).unwrap();
        }
        loop {
            let Some(m) = self.read().await else {
                panic!(
                    "{}: closed ({:?}) waiting for {what}; had {:?}",
                    self.user, self.close_code, self.buf
                );
            };
            if pred(&m) {
                return m;
            }
            self.buf.push_back(m);
        }
    }

    /// Waits for an event matching `pred`.
    pub async fn event(
        &mut self,
        what: &str,
        pred: impl Fn(&coguest_proto::Event) -> bool,
    ) -> coguest_proto::Event {
        match self
            .expect(
                what,
                |m| matches!(m, ServerMsg::Event { event, .. } if pred(event)),
            )
            .await
        {
            ServerMsg::Event { event, .. } => event,
            _ => unreachable!(),
        }
    }

    /// Round-trips a ping: everything sent to this client before it is then buffered.
    pub async fn barrier(&mut self) {
        let id = self.send(None, ClientCommand::Ping).await;
        self.answer(id).await.unwrap();
    }

    /// Round-trips a command through `room`'s actor: everything queued to that room before
    /// (a closed connection's detach, say) has then been processed. Drops the snapshot.
    pub async fn room_barrier(&mut self, room: &str) {
        let id = self.send(Some(room), ClientCommand::Snapshot).await;
        self.answer(id).await.unwrap();
        self.take_snapshot(room);
    }

    /// Events buffered so far (after a barrier), removing every frame from the buffer.
    pub fn drain_events(&mut self) -> Vec<coguest_proto::Event> {
        self.buf
            .drain(..)
            .filter_map(|m| match m {
                ServerMsg::Event { event, .. } => Some(event),
                _ => None,
            })
            .collect()
    }

    /// Reads until the server closes; the close code.
    pub async fn closed(&mut self) -> Option<u16> {
        while let Some(m) = self.read().await {
            self.buf.push_back(m);
        }
        self.close_code
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
        // Drain until the server's close arrives.
        let _ = tokio::time::timeout(WAIT, async { while self.ws.next().await.is_some() {} }).await;
    }
}

fn answers(m: &ServerMsg, id: u64) -> bool {
    match m {
        ServerMsg::Ack { id: i, .. } => *i == id,
        ServerMsg::Error { id: Some(i), .. } => *i == id,
        _ => false,
    }
}

fn to_result(m: ServerMsg) -> Result<Ack, Refused> {
    match m {
        ServerMsg::Ack {
            version,
            request_id,
            ..
        } => Ok(Ack {
            version,
            request_id,
        }),
        ServerMsg::Error { code, message, .. } => Err(Refused { code, message }),
        _ => unreachable!(),
    }
}

// Command shorthands.
pub fn apply(seat: i32, timeout: u32) -> ClientCommand {
    ClientCommand::ApplyForSeat {
        seat_index: seat,
        timeout,
        extra_info: None,
    }
}

pub fn invite(user: &str, seat: i32, timeout: u32) -> ClientCommand {
    ClientCommand::InviteToSeat {
        invitee_id: user.into(),
        seat_index: seat,
        timeout,
        extra_info: None,
    }
}

pub fn accept_app(user: &str) -> ClientCommand {
    ClientCommand::AcceptApplication {
        user_id: user.into(),
    }
}

pub fn reject_app(user: &str) -> ClientCommand {
    ClientCommand::RejectApplication {
        user_id: user.into(),
    }
}

pub fn accept_inv(from: &str) -> ClientCommand {
    ClientCommand::AcceptInvitation {
        inviter_id: from.into(),
    }
}

pub fn reject_inv(from: &str) -> ClientCommand {
    ClientCommand::RejectInvitation {
        inviter_id: from.into(),
    }
}

pub fn code(c: coguest_proto::ErrorCode) -> i32 {
    c.code()
}

// ---------------------------------------------------------------------------------------------
// Webhooks: a real receiver, the documented type list, and a room that emits every type.

/// The webhook secret of [`webhook_server`].
pub const HOOK_SINK_SECRET: &[u8] = b"sink-secret";

/// A webhook receiver (axum on 127.0.0.1:0) that accepts everything and records
/// `(Coguest-Timestamp, Coguest-Signature, body)` of each delivery, in arrival order.
#[derive(Default)]
pub struct HookSink {
    pub got: std::sync::Mutex<Vec<(String, String, String)>>,
}

impl HookSink {
    /// Every delivery so far, parsed.
    pub fn events(&self) -> Vec<coguest_proto::WebhookEvent> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|(_, _, b)| {
                serde_json::from_str(b).unwrap_or_else(|e| panic!("not an event ({e}): {b}"))
            })
            .collect()
    }

    /// Every delivery so far, raw.
    pub fn raw(&self) -> Vec<(String, String, String)> {
        self.got.lock().unwrap().clone()
    }
}

async fn hook_sink_handler(
    axum::extract::State(sink): axum::extract::State<Arc<HookSink>>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::http::StatusCode {
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let entry = (
        h(coguest_server::webhook::TIMESTAMP_HEADER),
        h(coguest_server::webhook::SIGNATURE_HEADER),
        String::from_utf8_lossy(&body).to_string(),
    );
    sink.got.lock().unwrap().push(entry);
    axum::http::StatusCode::NO_CONTENT
}

/// Starts a [`HookSink`]; its URL.
pub async fn hook_sink() -> (Arc<HookSink>, String) {
    let sink = Arc::new(HookSink::default());
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hook_sink_handler))
        .with_state(sink.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (sink, url)
}

/// A server posting its webhooks (signed with [`HOOK_SINK_SECRET`]) to a fresh [`HookSink`].
pub async fn webhook_server() -> (TestServer, Arc<HookSink>) {
    let (sink, url) = hook_sink().await;
    let s = TestServer::start_with(|c| {
        c.webhooks.endpoints = vec![url.clone()];
        c.webhooks.secret = HOOK_SINK_SECRET.to_vec();
        c.webhooks.backoff_initial = Duration::from_millis(5);
        c.webhooks.backoff_max = Duration::from_millis(40);
    })
    .await;
    (s, sink)
}

/// Polls `f` every 5 ms until it holds; fails after [`WAIT`].
pub async fn wait_until(what: &str, f: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The webhook types documented in docs/WEBHOOKS.md: the "### `type`" headings of its
/// "## Every event" section, in order.
pub fn documented_webhook_types() -> Vec<String> {
    let doc = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/WEBHOOKS.md");
    let text = std::fs::read_to_string(doc).unwrap();
    let section = text
        .split("\n## Every event")
        .nth(1)
        .expect("docs/WEBHOOKS.md has an \"## Every event\" section");
    let section = section.split("\n## ").next().unwrap_or_default();
    let types: Vec<String> = section
        .lines()
        .filter_map(|l| l.strip_prefix("### `")?.strip_suffix('`'))
        .map(str::to_owned)
        .collect();
    assert!(types.len() >= 20, "the heading scan found {types:?}");
    types
}

/// Drives room `room` on `s` (a [`webhook_server`]) through every documented webhook type:
/// created over HTTP, joins, every request outcome (withdrawn, rejected, accepted, timed out,
/// closed as already seated), kick, move, lock and unlock, settings, an admin grant, device
/// permissions (per user and per seat), leaving a seat and the room, and the close. Returns
/// once `room_closed` has been delivered to `sink` (and 50 ms more, for anything late).
pub async fn drive_every_webhook_type(s: &TestServer, sink: &HookSink, room: &str) {
    use coguest_proto::{ClientCommand as C, Device, Event, NoResponseReason};
    let admin = s.admin_token();
    let (status, body) = s
        .http(
            "POST",
            "/v1/admin/rooms",
            Some(&admin),
            &format!(r#"{{"room_id":"{room}"}}"#),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let mut owner = s.member(room, "owner", Role::Owner).await;
    let mut bob = s.member(room, "bob", Role::Audience).await;
    let mut carol = s.member(room, "carol", Role::Audience).await;
    let mut dave = s.member(room, "dave", Role::Audience).await;

    // Applications: withdrawn, rejected, accepted, timed out.
    bob.call(room, apply(-1, 30)).await.unwrap();
    bob.call(room, C::CancelApplication).await.unwrap();
    bob.call(room, apply(-1, 30)).await.unwrap();
    owner.call(room, reject_app("bob")).await.unwrap();
    bob.call(room, apply(2, 30)).await.unwrap();
    owner.call(room, accept_app("bob")).await.unwrap();
    carol.call(room, apply(-1, 5)).await.unwrap();
    s.clock.advance_secs(5);
    carol
        .event("application timed out", |e| {
            matches!(
                e,
                Event::GuestApplicationNoResponse {
                    reason: NoResponseReason::Timeout
                }
            )
        })
        .await;

    // Invitations: withdrawn, rejected, timed out, accepted (closing carol's application as
    // already seated), and one to a seated user (closed at once).
    owner.call(room, invite("carol", -1, 30)).await.unwrap();
    let cancel = C::CancelInvitation {
        invitee_id: "carol".into(),
    };
    owner.call(room, cancel).await.unwrap();
    owner.call(room, invite("carol", -1, 30)).await.unwrap();
    carol.call(room, reject_inv("owner")).await.unwrap();
    owner.call(room, invite("carol", -1, 5)).await.unwrap();
    s.clock.advance_secs(5);
    owner
        .event("invitation timed out", |e| {
            matches!(
                e,
                Event::HostInvitationNoResponse {
                    reason: NoResponseReason::Timeout,
                    ..
                }
            )
        })
        .await;
    carol.call(room, apply(-1, 60)).await.unwrap();
    owner.call(room, invite("carol", 3, 60)).await.unwrap();
    carol.call(room, accept_inv("owner")).await.unwrap();
    owner.call(room, invite("bob", -1, 30)).await.unwrap();

    // Seats: move, kick, lock and unlock (over HTTP), settings.
    let mv = C::MoveToSeat {
        user_id: "carol".into(),
        seat_index: 4,
        policy: coguest_proto::MovePolicy::AbortWhenOccupied,
    };
    owner.call(room, mv).await.unwrap();
    let kick = C::KickOffSeat {
        user_id: "carol".into(),
    };
    owner.call(room, kick).await.unwrap();
    owner
        .call(room, C::LockSeat { seat_index: 5 })
        .await
        .unwrap();
    let path = format!("/v1/admin/rooms/{room}/seats/5/unlock");
    let (status, body) = s.http("POST", &path, Some(&admin), "").await;
    assert_eq!(status, 200, "{body}");
    let settings = C::ChangeSettings {
        seat_mode: Some(coguest_proto::SeatMode::FreeToTake),
        max_seat_count: Some(8),
    };
    owner.call(room, settings).await.unwrap();

    // Roles and device permissions.
    let grant = C::SetAdmin {
        user_id: "dave".into(),
        admin: true,
    };
    owner.call(room, grant).await.unwrap();
    let per_user = C::SetUserDevicePermission {
        user_id: "bob".into(),
        device: Device::Microphone,
        allowed: false,
    };
    owner.call(room, per_user).await.unwrap();
    let per_seat = C::SetSeatDevicePermission {
        seat_index: 2,
        device: Device::Camera,
        allowed: false,
    };
    dave.call(room, per_seat).await.unwrap();

    // Leaving the seat, then the room; then the close.
    bob.call(room, C::LeaveSeat).await.unwrap();
    carol.call(room, C::Leave).await.unwrap();
    let (status, body) = s
        .http(
            "DELETE",
            &format!("/v1/admin/rooms/{room}"),
            Some(&admin),
            "",
        )
        .await;
    assert_eq!(status, 204, "{body}");
    owner
        .expect("room closed", |m| matches!(m, ServerMsg::RoomClosed { .. }))
        .await;
    wait_until("room_closed delivered", || {
        sink.events()
            .iter()
            .any(|e| e.room == room && e.kind == "room_closed")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
}
