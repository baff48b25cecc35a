//! Test support, written once for every integration test of the server (and `#[path]`-included
//! by the CLI's tests, which run the real binary):
//!
//! - [`TestServer`]: a real server in-process on 127.0.0.1:0, with a manual clock and a SQLite
//!   file in a temporary directory; restarted on the same directory, the clock moved meanwhile.
//! - [`Endpoint`]: what a test does with any running server, in-process or a child process:
//!   mint tokens, connect (welcome checked), connect and join, read a room or a metric over
//!   HTTP, call the admin API ([`AdminApi`]).
//! - [`TestClient`]: one WebSocket; commands answered by id, and waits for a frame, an event
//!   or a seat list (buffering everything else).
//! - Command shorthands, event and message predicates, seat-list readers.
//! - [`wait_until`]: polls a condition; [`within`]: a future that must finish in time.
//! - Webhooks: a real receiver ([`HookSink`]), a server posting to it, and a room that emits
//!   every documented type.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use coguest_core::{Role, Timestamp};
use coguest_proto::{Change, ClientCommand, ClientFrame, ErrorCode, Event, SeatInfo, ServerMsg};
use coguest_server::auth::{Auth, Claims};
use coguest_server::{ManualClock, Server, ServerConfig};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
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
/// The secret every test server signs its tokens with (the CLI's spawned servers too).
pub const SECRET: &[u8] = b"test-secret";
/// How long a test waits for a frame before failing (never reached when things work).
pub const WAIT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// Any running server, as its clients see it.

/// A running server a test talks to: where it listens, the secret its tokens are signed with,
/// and the time they are dated by. Everything else (tokens, connections, HTTP reads) is written
/// once here, for the in-process [`TestServer`] and the CLI tests' child processes alike.
pub trait Endpoint {
    /// Its HTTP and WebSocket address.
    fn addr(&self) -> SocketAddr;
    /// What signs its tokens.
    fn auth(&self) -> &Auth;
    /// Its clock's time: tokens are issued at it.
    fn now(&self) -> Timestamp;

    /// Claims for `user` as `role`, valid for an hour, with a name and an avatar.
    fn claims(&self, user: &str, role: Role) -> Claims {
        let mut c = Claims::new(user, role, self.now(), 3600);
        c.name = format!("{user} name");
        c.avatar = format!("https://a.example/{user}.png");
        c
    }

    /// A token for `claims`.
    fn mint(&self, claims: &Claims) -> String {
        self.auth().mint(claims).unwrap()
    }

    fn token(&self, user: &str, role: Role) -> String {
        self.mint(&self.claims(user, role))
    }

    /// A token of the server's operators (`adm`): the admin HTTP API.
    fn admin_token(&self) -> String {
        let mut c = self.claims("ops", Role::Audience);
        c.adm = true;
        self.mint(&c)
    }

    fn ws_url(&self, token: Option<&str>) -> String {
        match token {
            Some(t) => format!("ws://{}/v1/ws?token={t}", self.addr()),
            None => format!("ws://{}/v1/ws", self.addr()),
        }
    }

    /// Connects with a fresh token and waits for the welcome.
    async fn connect(&self, user: &str, role: Role) -> TestClient {
        self.connect_with(&self.claims(user, role)).await
    }

    /// Connects with a token for `claims` and waits for the welcome.
    async fn connect_with(&self, claims: &Claims) -> TestClient {
        let user = claims.sub.as_str();
        let mut c = TestClient::connect(&self.ws_url(Some(&self.mint(claims))), user).await;
        match c.next().await {
            ServerMsg::Welcome { user_id, .. } => assert_eq!(user_id, user),
            other => panic!("expected welcome, got {other:?}"),
        }
        c
    }

    /// Connects and joins `room`, discarding the snapshot.
    async fn member(&self, room: &str, user: &str, role: Role) -> TestClient {
        let mut c = self.connect(user, role).await;
        c.enter(room).await;
        c
    }

    async fn http(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &str,
    ) -> (u16, String) {
        http(self.addr(), method, path, token, body).await
    }

    /// `GET /v1/rooms/{room}` with an admin token: the status and the body.
    async fn get_room(&self, room: &str) -> (u16, String) {
        let token = self.admin_token();
        self.http("GET", &format!("/v1/rooms/{room}"), Some(&token), "")
            .await
    }

    /// `GET /v1/rooms/{room}`, which must answer 200: the room as JSON.
    async fn room_json(&self, room: &str) -> Value {
        let (status, body) = self.get_room(room).await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    /// The admin API as the server's operators (an admin token).
    fn admin_api(&self) -> AdminApi {
        AdminApi {
            addr: self.addr(),
            token: self.admin_token(),
        }
    }

    /// Creates `room` with default settings through the admin API (joins of non-owners do not
    /// create rooms).
    async fn create_room(&self, room: &str) {
        let (status, body) = self
            .admin_api()
            .post("/v1/admin/rooms", serde_json::json!({ "room_id": room }))
            .await;
        assert!(
            status == 201 || status == 200,
            "creating {room}: {status} {body}"
        );
    }

    /// The value of metric `name` on `/metrics` (0 when absent).
    async fn metric(&self, name: &str) -> f64 {
        let (_, body) = self.http("GET", "/metrics", None, "").await;
        body.lines()
            .find_map(|l| {
                let (k, v) = l.split_once(' ')?;
                (k == name).then(|| v.parse::<f64>().ok()).flatten()
            })
            .unwrap_or(0.0)
    }

    /// Whether `/metrics` says exactly `n` WebSocket connections are open.
    async fn connections_open(&self, n: usize) -> bool {
        let metrics = self.http("GET", "/metrics", None, "").await.1;
        metrics.contains(&format!("coguest_connections {n}\n"))
    }
}

/// The admin HTTP API (`/v1/admin/...`, `/v1/rooms/...`) with one credential: JSON in, status
/// and JSON out (`Null` for an empty or non-JSON body).
pub struct AdminApi {
    pub addr: SocketAddr,
    /// An admin token or the API key.
    pub token: String,
}

impl AdminApi {
    /// The admin API of the server at `addr` with the API key `key`.
    pub fn with_key(addr: SocketAddr, key: &str) -> Self {
        AdminApi {
            addr,
            token: key.to_owned(),
        }
    }

    pub async fn call(&self, method: &str, path: &str, body: Value) -> (u16, Value) {
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let (status, text) = http(self.addr, method, path, Some(&self.token), &body).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, Value::Null).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, body).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.call("DELETE", path, Value::Null).await
    }
}

/// An admin API answer's status and error code: compare with `(409, Some(ErrorCode::...))`.
pub fn refusal(answer: &(u16, Value)) -> (u16, Option<ErrorCode>) {
    let code = answer.1["code"]
        .as_i64()
        .and_then(|c| i32::try_from(c).ok())
        .and_then(ErrorCode::from_code);
    (answer.0, code)
}

/// The time of the machine, for servers running on the wall clock.
pub fn wall_clock() -> Timestamp {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    Timestamp::from_millis(since.as_millis() as u64)
}

// ---------------------------------------------------------------------------------------------
// The in-process server.

pub struct TestServer {
    pub server: Option<Server>,
    pub addr: SocketAddr,
    pub clock: ManualClock,
    pub dir: Arc<tempfile::TempDir>,
    pub config: ServerConfig,
    pub auth: Auth,
}

impl Endpoint for TestServer {
    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn auth(&self) -> &Auth {
        &self.auth
    }

    fn now(&self) -> Timestamp {
        use coguest_server::Clock;
        self.clock.now()
    }
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A server with the test settings changed by `f`.
    pub async fn start_with(f: impl FnOnce(&mut ServerConfig)) -> Self {
        Self::start_over(None, f).await
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
        Self::start_over(Some(store), f).await
    }

    /// A fresh data directory and clock (at [`T0`]), the test settings changed by `f`, and
    /// `store` if given (else SQLite in the directory).
    async fn start_over(
        store: Option<Arc<dyn coguest_server::RoomStore>>,
        f: impl FnOnce(&mut ServerConfig),
    ) -> Self {
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let mut config = ServerConfig::new(dir.path().join("data"), SECRET);
        // Generous by default; limit tests tighten them.
        config.limits.commands_per_sec = 10_000;
        config.limits.command_burst = 10_000;
        // Tests jump the manual clock by minutes; the idle-timeout tests set it themselves.
        config.limits.idle_timeout = Duration::ZERO;
        f(&mut config);
        let clock = ManualClock::new(Timestamp::from_millis(T0));
        Self::start_full(dir, config, clock, store).await
    }

    pub async fn start_on(
        dir: Arc<tempfile::TempDir>,
        config: ServerConfig,
        clock: ManualClock,
    ) -> Self {
        Self::start_full(dir, config, clock, None).await
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
        self.restart_after_secs(0).await
    }

    /// Graceful shutdown; the clock moves `secs` while the server is down; then a new server
    /// on the same data directory and clock.
    pub async fn restart_after_secs(self, secs: u32) -> Self {
        let TestServer {
            server,
            dir,
            config,
            clock,
            ..
        } = self;
        server.unwrap().shutdown().await.unwrap();
        if secs > 0 {
            clock.advance_secs(secs);
        }
        Self::start_on(dir, config, clock).await
    }

    pub async fn stop(mut self) {
        self.server.take().unwrap().shutdown().await.unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP.

/// A minimal HTTP/1.1 client (`Connection: close`), the body sent as JSON.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth.as_str()));
    }
    http_with(addr, method, path, &headers, body).await
}

/// [`http`] with exactly these headers (besides `Host`, `Connection` and `Content-Length`).
pub async fn http_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let headers: String = headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n{headers}\
         Content-Length: {}\r\n\r\n{body}",
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

// ---------------------------------------------------------------------------------------------
// One WebSocket client.

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
    pub next_id: u64,
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
        match self.answer_or_close(id).await {
            Some(answer) => answer,
            None => panic!(
                "{}: closed ({:?}) waiting for answer {id}",
                self.user, self.close_code
            ),
        }
    }

    /// The answer to `id`, or `None` when the connection closes first (`close_code` says how).
    pub async fn answer_or_close(&mut self, id: u64) -> Option<Result<Ack, Refused>> {
        if let Some(pos) = self.buf.iter().position(|m| answers(m, id)) {
            let m = self.buf.remove(pos).unwrap();
            return Some(to_result(m));
        }
        loop {
            let m = self.read().await?;
            if answers(&m, id) {
                return Some(to_result(m));
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

    /// Joins `room` afresh, discarding the snapshot.
    pub async fn enter(&mut self, room: &str) {
        self.join(room, None).await.unwrap();
        self.take_snapshot(room);
    }

    /// Sends `cmd` to `room`, which must be refused: the code.
    pub async fn refused(&mut self, room: &str, cmd: ClientCommand) -> ErrorCode {
        let kind = cmd.kind();
        match self.call(room, cmd).await {
            Err(r) => ErrorCode::from_code(r.code).unwrap_or_else(|| {
                panic!("{}: {kind} refused with an unknown code: {r:?}", self.user)
            }),
            Ok(ack) => panic!(
                "{}: {kind} was acknowledged ({ack:?}), not refused",
                self.user
            ),
        }
    }

    /// A fresh snapshot of `room` (a `snapshot` command answered).
    pub async fn snapshot(&mut self, room: &str) -> coguest_proto::CoGuestState {
        let id = self.send(Some(room), ClientCommand::Snapshot).await;
        self.answer(id).await.unwrap();
        self.take_snapshot(room)
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

    /// Waits for a seat list whose occupants are exactly `want` (`(seat, user)`).
    pub async fn expect_seats(&mut self, want: &[(i32, &str)]) {
        let want = pairs(want);
        let what = format!("connected = {want:?}");
        self.expect(&what, |m| {
            seats_change(m).map(occupants).as_ref() == Some(&want)
        })
        .await;
    }

    /// `(seat, user)` of the occupied seats in the latest seat list this client received
    /// (after a barrier).
    pub async fn occupied(&mut self) -> Vec<(i32, String)> {
        self.barrier().await;
        let last = self
            .buf
            .iter()
            .rev()
            .find_map(seats_change)
            .expect("a seats change");
        occupants(last)
    }

    /// How many events matching `pred` this client was sent since it last drained its events
    /// (after a barrier), removing every frame from the buffer.
    pub async fn count_events(&mut self, pred: impl Fn(&Event) -> bool) -> usize {
        self.barrier().await;
        self.drain_events().iter().filter(|e| pred(e)).count()
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

// ---------------------------------------------------------------------------------------------
// Command shorthands.
pub fn apply(seat: i32, timeout: u32) -> ClientCommand {
    ClientCommand::ApplyForSeat {
        seat_index: seat,
        timeout,
        extra_info: None,
    }
}

/// An application carrying `extra_info`.
pub fn apply_with_info(seat: i32, timeout: u32, extra_info: String) -> ClientCommand {
    ClientCommand::ApplyForSeat {
        seat_index: seat,
        timeout,
        extra_info: Some(extra_info),
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

pub fn cancel_invitation(user: &str) -> ClientCommand {
    ClientCommand::CancelInvitation {
        invitee_id: user.into(),
    }
}

pub fn kick(user: &str) -> ClientCommand {
    ClientCommand::KickOffSeat {
        user_id: user.into(),
    }
}

pub fn take(seat: i32) -> ClientCommand {
    ClientCommand::TakeSeat { seat_index: seat }
}

pub fn lock(seat: i32) -> ClientCommand {
    ClientCommand::LockSeat { seat_index: seat }
}

pub fn unlock(seat: i32) -> ClientCommand {
    ClientCommand::UnlockSeat { seat_index: seat }
}

pub fn move_to(user: &str, seat: i32, policy: coguest_proto::MovePolicy) -> ClientCommand {
    ClientCommand::MoveToSeat {
        user_id: user.into(),
        seat_index: seat,
        policy,
    }
}

/// `change_settings`; `None` keeps a setting.
pub fn settings(mode: Option<coguest_proto::SeatMode>, seats: Option<u16>) -> ClientCommand {
    ClientCommand::ChangeSettings {
        seat_mode: mode,
        max_seat_count: seats,
    }
}

pub fn set_admin(user: &str, admin: bool) -> ClientCommand {
    ClientCommand::SetAdmin {
        user_id: user.into(),
        admin,
    }
}

pub fn set_device(device: coguest_proto::Device, on: bool) -> ClientCommand {
    ClientCommand::SetDevice { device, on }
}

/// Allows or disallows `device` for `user`, wherever it sits.
pub fn user_device_permission(
    user: &str,
    device: coguest_proto::Device,
    allowed: bool,
) -> ClientCommand {
    ClientCommand::SetUserDevicePermission {
        user_id: user.into(),
        device,
        allowed,
    }
}

/// Allows or disallows `device` on `seat`, whoever sits there.
pub fn seat_device_permission(
    seat: i32,
    device: coguest_proto::Device,
    allowed: bool,
) -> ClientCommand {
    ClientCommand::SetSeatDevicePermission {
        seat_index: seat,
        device,
        allowed,
    }
}

pub fn code(c: ErrorCode) -> i32 {
    c.code()
}

// ---------------------------------------------------------------------------------------------
// What a test waits for: events and messages.

pub fn application_received(e: &Event) -> bool {
    matches!(e, Event::GuestApplicationReceived { .. })
}

pub fn application_accepted(e: &Event) -> bool {
    matches!(
        e,
        Event::GuestApplicationResponded {
            is_accept: true,
            ..
        }
    )
}

pub fn application_rejected(e: &Event) -> bool {
    matches!(
        e,
        Event::GuestApplicationResponded {
            is_accept: false,
            ..
        }
    )
}

pub fn application_timed_out(e: &Event) -> bool {
    matches!(
        e,
        Event::GuestApplicationNoResponse {
            reason: coguest_proto::NoResponseReason::Timeout
        }
    )
}

pub fn application_closed_as_seated(e: &Event) -> bool {
    matches!(
        e,
        Event::GuestApplicationNoResponse {
            reason: coguest_proto::NoResponseReason::AlreadySeated
        }
    )
}

pub fn invitation_received(e: &Event) -> bool {
    matches!(e, Event::HostInvitationReceived { .. })
}

pub fn invitation_accepted(e: &Event) -> bool {
    matches!(
        e,
        Event::HostInvitationResponded {
            is_accept: true,
            ..
        }
    )
}

pub fn kicked(e: &Event) -> bool {
    matches!(e, Event::KickedOffSeat { .. })
}

pub fn resumed(m: &ServerMsg) -> bool {
    matches!(m, ServerMsg::Resumed { .. })
}

pub fn room_closed(m: &ServerMsg) -> bool {
    matches!(m, ServerMsg::RoomClosed { .. })
}

/// A `reset` change (a member's role changed: its lists start over).
pub fn reset(m: &ServerMsg) -> bool {
    matches!(
        m,
        ServerMsg::Change {
            change: Change::Reset { .. },
            ..
        }
    )
}

// ---------------------------------------------------------------------------------------------
// Seat lists.

/// The seat list a `seats` change carries.
pub fn seats_change(m: &ServerMsg) -> Option<&[SeatInfo]> {
    match m {
        ServerMsg::Change {
            change: Change::Seats { seats },
            ..
        } => Some(seats.as_slice()),
        _ => None,
    }
}

/// `(seat, user)` of the occupied seats of a seat list (`connected` is its occupants).
pub fn occupants(seats: &[SeatInfo]) -> Vec<(i32, String)> {
    seats
        .iter()
        .filter_map(|s| s.user.as_ref().map(|u| (s.seat_index, u.user_id.clone())))
        .collect()
}

/// `(seat, user)` pairs, owned.
pub fn pairs(v: &[(i32, &str)]) -> Vec<(i32, String)> {
    v.iter().map(|(i, u)| (*i, (*u).to_owned())).collect()
}

/// `(seat, user)` of the occupied seats of a room read over HTTP (its `state`'s `connected`).
pub fn seated(state: &Value) -> Vec<(i32, String)> {
    state["connected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                i32::try_from(s["seat_index"].as_i64().unwrap()).unwrap(),
                s["user_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Waiting.

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

/// `fut`, which must finish within `limit`.
pub async fn within<T>(
    limit: Duration,
    what: &str,
    fut: impl std::future::Future<Output = T>,
) -> T {
    tokio::time::timeout(limit, fut)
        .await
        .unwrap_or_else(|_| panic!("{what}: not within {limit:?}"))
}

// ---------------------------------------------------------------------------------------------
// Webhooks: a real receiver, the documented type list, and a room that emits every type.

/// The webhook secret of servers set up by [`post_webhooks_to`].
pub const HOOK_SINK_SECRET: &[u8] = b"sink-secret";

/// A webhook receiver (axum on 127.0.0.1:0, or behind TLS) that records
/// `(Coguest-Timestamp, Coguest-Signature, body)` of each delivery it accepts, in arrival
/// order. While not `up` it answers 503 and records nothing.
#[derive(Default)]
pub struct HookSink {
    pub up: std::sync::atomic::AtomicBool,
    /// Requests received, accepted or not.
    pub attempts: std::sync::atomic::AtomicUsize,
    /// TLS handshakes that failed (the server refused an HTTPS sink's certificate).
    pub failed_handshakes: std::sync::atomic::AtomicUsize,
    pub got: std::sync::Mutex<Vec<(String, String, String)>>,
}

impl HookSink {
    /// A sink, up or down.
    pub fn new(up: bool) -> Arc<Self> {
        let sink = HookSink::default();
        sink.up.store(up, std::sync::atomic::Ordering::SeqCst);
        Arc::new(sink)
    }

    /// Its app: `POST /hook`.
    pub fn router(self: &Arc<Self>) -> axum::Router {
        axum::Router::new()
            .route("/hook", axum::routing::post(hook_sink_handler))
            .with_state(self.clone())
    }

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

    /// Every delivery so far, each checked to be signed with [`HOOK_SINK_SECRET`] (and not
    /// to verify with another secret), parsed.
    pub fn signed_events(&self) -> Vec<coguest_proto::WebhookEvent> {
        use coguest_server::webhook::verify;
        let mut events = Vec::new();
        for (ts, sig, body) in self.raw() {
            let ts: u64 = ts.parse().unwrap();
            assert!(
                verify(HOOK_SINK_SECRET, ts, body.as_bytes(), &sig),
                "bad signature on {body}"
            );
            assert!(!verify(b"other", ts, body.as_bytes(), &sig));
            events.push(serde_json::from_str(&body).unwrap());
        }
        events
    }

    /// Every delivery so far, raw.
    pub fn raw(&self) -> Vec<(String, String, String)> {
        self.got.lock().unwrap().clone()
    }

    /// How many deliveries it accepted.
    pub fn count(&self) -> usize {
        self.got.lock().unwrap().len()
    }

    pub fn attempts(&self) -> usize {
        self.attempts.load(std::sync::atomic::Ordering::SeqCst)
    }
}

async fn hook_sink_handler(
    axum::extract::State(sink): axum::extract::State<Arc<HookSink>>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::http::StatusCode {
    use std::sync::atomic::Ordering;
    sink.attempts.fetch_add(1, Ordering::SeqCst);
    if !sink.up.load(Ordering::SeqCst) {
        return axum::http::StatusCode::SERVICE_UNAVAILABLE;
    }
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

/// Starts a [`HookSink`], up or down, over plain HTTP; its URL.
pub async fn hook_sink(up: bool) -> (Arc<HookSink>, String) {
    let sink = HookSink::new(up);
    let app = sink.router();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (sink, url)
}

/// Server settings: post webhooks to `endpoints`, signed with [`HOOK_SINK_SECRET`], retrying
/// fast (5 ms, doubling up to 40 ms).
pub fn post_webhooks_to(config: &mut ServerConfig, endpoints: Vec<String>) {
    config.webhooks.endpoints = endpoints;
    config.webhooks.secret = HOOK_SINK_SECRET.to_vec();
    config.webhooks.backoff_initial = Duration::from_millis(5);
    config.webhooks.backoff_max = Duration::from_millis(40);
}

/// A server posting its webhooks to a fresh [`HookSink`] that is up.
pub async fn webhook_server() -> (TestServer, Arc<HookSink>) {
    let (sink, url) = hook_sink(true).await;
    let s = TestServer::start_with(|c| post_webhooks_to(c, vec![url])).await;
    (s, sink)
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
    use coguest_proto::{ClientCommand as C, Device, MovePolicy, SeatMode};
    let admin = s.admin_api();
    let (status, body) = admin
        .post("/v1/admin/rooms", serde_json::json!({ "room_id": room }))
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
        .event("application timed out", application_timed_out)
        .await;

    // Invitations: withdrawn, rejected, timed out, accepted (closing carol's application as
    // already seated), and one to a seated user (closed at once).
    owner.call(room, invite("carol", -1, 30)).await.unwrap();
    owner.call(room, cancel_invitation("carol")).await.unwrap();
    owner.call(room, invite("carol", -1, 30)).await.unwrap();
    carol.call(room, reject_inv("owner")).await.unwrap();
    owner.call(room, invite("carol", -1, 5)).await.unwrap();
    s.clock.advance_secs(5);
    owner
        .event("invitation timed out", |e| {
            matches!(
                e,
                Event::HostInvitationNoResponse {
                    reason: coguest_proto::NoResponseReason::Timeout,
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
    let mv = move_to("carol", 4, MovePolicy::AbortWhenOccupied);
    owner.call(room, mv).await.unwrap();
    owner.call(room, kick("carol")).await.unwrap();
    owner.call(room, lock(5)).await.unwrap();
    let path = format!("/v1/admin/rooms/{room}/seats/5/unlock");
    let (status, body) = admin.post(&path, Value::Null).await;
    assert_eq!(status, 200, "{body}");
    let free = settings(Some(SeatMode::FreeToTake), Some(8));
    owner.call(room, free).await.unwrap();

    // Roles and device permissions.
    owner.call(room, set_admin("dave", true)).await.unwrap();
    let per_user = user_device_permission("bob", Device::Microphone, false);
    owner.call(room, per_user).await.unwrap();
    let per_seat = seat_device_permission(2, Device::Camera, false);
    dave.call(room, per_seat).await.unwrap();

    // Leaving the seat, then the room; then the close.
    bob.call(room, C::LeaveSeat).await.unwrap();
    carol.call(room, C::Leave).await.unwrap();
    let (status, body) = admin.delete(&format!("/v1/admin/rooms/{room}")).await;
    assert_eq!(status, 204, "{body}");
    owner.expect("room closed", room_closed).await;
    wait_until("room_closed delivered", || {
        sink.events()
            .iter()
            .any(|e| e.room == room && e.kind == "room_closed")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
}
