//! Test harness: a real coguest server in-process (127.0.0.1, SQLite in a temporary
//! directory, a manual clock), SDK clients connected to it, recording listeners, and the
//! waits and views the tests share.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use coguest_client::{
    Client, ClientBuilder, CoGuestState, CoGuestStore, ConnectionStatus, GuestListener,
    HostListener, LiveSeatStore, LiveUserInfo, NoResponseReason, SeatInfo, SeatListener, SeatMode,
};
use coguest_core::{Role, Timestamp};
use coguest_server::auth::{Auth, Claims};
use coguest_server::{Clock, ManualClock, Server, ServerConfig};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// The manual clock's start.
pub const T0: u64 = 1_700_000_000_000;
pub const SECRET: &[u8] = b"client-test-secret";
/// How long a test waits for something that should happen (never reached when things work).
pub const WAIT: Duration = Duration::from_secs(10);
pub const ROOM: &str = "live_room_123";

pub struct Harness {
    server: Option<Server>,
    pub addr: SocketAddr,
    pub clock: ManualClock,
    pub dir: tempfile::TempDir,
    pub config: ServerConfig,
    pub auth: Auth,
}

impl Harness {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(f: impl FnOnce(&mut ServerConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::new(dir.path().join("data"), SECRET);
        config.limits.commands_per_sec = 10_000;
        config.limits.command_burst = 10_000;
        // Tests jump the manual clock by minutes; the idle-timeout tests set it themselves.
        config.limits.idle_timeout = std::time::Duration::ZERO;
        f(&mut config);
        let clock = ManualClock::new(Timestamp::from_millis(T0));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = Server::builder(config.clone())
            .clock(Arc::new(clock.clone()))
            .start(listener)
            .await
            .unwrap();
        Harness {
            server: Some(server),
            addr,
            clock,
            dir,
            config,
            auth: Auth::new(SECRET),
        }
    }

    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// A token for `user`, valid for an hour, with the display name `"{user} name"`.
    pub fn token(&self, user: &str, role: Role) -> String {
        self.token_with(user, role, 3600, |_| {})
    }

    /// A token for `user` valid `ttl_secs` from the server clock's now, with the display name
    /// `"{user} name"`, and its claims then changed by `f`.
    pub fn token_with(
        &self,
        user: &str,
        role: Role,
        ttl_secs: u64,
        f: impl FnOnce(&mut Claims),
    ) -> String {
        let mut c = Claims::new(user, role, self.clock.now(), ttl_secs);
        c.name = format!("{user} name");
        f(&mut c);
        self.auth.mint(&c).unwrap()
    }

    /// Closes `room` through the admin HTTP API (`DELETE /v1/admin/rooms/{room}`), returning
    /// the HTTP status.
    pub async fn close_room(&self, room: &str) -> u16 {
        self.admin("DELETE", &format!("/v1/admin/rooms/{room}"), "")
            .await
    }

    /// Creates `room` through the admin HTTP API (only owners' joins create rooms).
    pub async fn create_room(&self, room: &str) {
        let body = format!(r#"{{"room_id":"{room}"}}"#);
        let status = self.admin("POST", "/v1/admin/rooms", &body).await;
        assert!(status == 201 || status == 200, "creating {room}: {status}");
    }

    /// An admin HTTP API call with an admin token and a JSON body: the HTTP status.
    async fn admin(&self, method: &str, path: &str, body: &str) -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let token = self.token_with("ops", Role::Audience, 3600, |c| c.adm = true);
        let mut s = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\
             Authorization: Bearer {token}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        within("the admin API's answer", s.read_to_end(&mut out))
            .await
            .unwrap();
        String::from_utf8_lossy(&out)[9..12].parse().unwrap()
    }

    /// A client with a fast reconnect backoff.
    pub async fn client(&self, user: &str, role: Role) -> Client {
        self.connect(&self.url(), user, role, |b| b).await
    }

    /// A client and its store in [`ROOM`].
    pub async fn member(&self, user: &str, role: Role) -> (Client, CoGuestStore) {
        self.member_with(user, role, |b| b).await
    }

    /// A client, its settings changed by `f`, and its store in [`ROOM`].
    pub async fn member_with(
        &self,
        user: &str,
        role: Role,
        f: impl FnOnce(ClientBuilder) -> ClientBuilder,
    ) -> (Client, CoGuestStore) {
        self.member_at(&self.url(), user, role, f).await
    }

    /// [`Harness::member_with`], connected through `proxy`.
    pub async fn member_via(
        &self,
        proxy: &Proxy,
        user: &str,
        role: Role,
        f: impl FnOnce(ClientBuilder) -> ClientBuilder,
    ) -> (Client, CoGuestStore) {
        self.member_at(&proxy.url(), user, role, f).await
    }

    async fn member_at(
        &self,
        url: &str,
        user: &str,
        role: Role,
        f: impl FnOnce(ClientBuilder) -> ClientBuilder,
    ) -> (Client, CoGuestStore) {
        let client = self.connect(url, user, role, f).await;
        let store = join(&client).await;
        (client, store)
    }

    /// A client of `user` at `url`: a fast reconnect backoff and calls that wait up to
    /// [`WAIT`], then whatever `f` changes.
    async fn connect(
        &self,
        url: &str,
        user: &str,
        role: Role,
        f: impl FnOnce(ClientBuilder) -> ClientBuilder,
    ) -> Client {
        let backoff = Duration::from_millis(20);
        let builder = Client::builder(&self.token(user, role))
            .url(url)
            .reconnect_backoff(backoff, backoff * 4)
            .request_timeout(WAIT);
        f(builder).connect().await.unwrap()
    }

    /// Stops the server gracefully (clients see close 1012 and start reconnecting).
    pub async fn stop(&mut self) {
        self.server.take().unwrap().shutdown().await.unwrap();
    }

    /// Starts a server again on the same address, data directory and clock.
    pub async fn start_again(&mut self) {
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) if tries < 50 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("rebinding {}: {e}", self.addr),
            }
        };
        let server = Server::builder(self.config.clone())
            .clock(Arc::new(self.clock.clone()))
            .start(listener)
            .await
            .unwrap();
        self.server = Some(server);
    }

    /// Moves the server's clock forward.
    pub fn advance_secs(&self, secs: u32) {
        self.clock.advance_secs(secs);
    }
}

/// A listener that records every callback as a line of text, and the lists it saw at the
/// time of the callback.
pub struct Recorder {
    tx: mpsc::UnboundedSender<String>,
    state: Mutex<Option<CoGuestState>>,
    /// `applicants` / `invitees` / `connected` user ids seen inside each callback.
    pub seen: Mutex<Vec<Seen>>,
}

/// A callback line with the `applicants`, `invitees` and `connected` user ids at that time.
pub type Seen = (String, Vec<String>, Vec<String>, Vec<String>);

pub struct Log {
    rx: mpsc::UnboundedReceiver<String>,
}

/// A recorder not yet added to any store (see [`record_host`] and the like).
pub fn recorder() -> (Arc<Recorder>, Log) {
    let (tx, rx) = mpsc::unbounded_channel();
    (
        Arc::new(Recorder {
            tx,
            state: Mutex::new(None),
            seen: Mutex::new(Vec::new()),
        }),
        Log { rx },
    )
}

/// Records `store`'s host callbacks, with the lists each one saw.
pub fn record_host(store: &CoGuestStore) -> (Arc<Recorder>, Log) {
    let (rec, log) = recorder();
    rec.watch(store.co_guest_state());
    store.add_host_listener(rec.clone());
    (rec, log)
}

/// Records `store`'s guest callbacks, with the lists each one saw.
pub fn record_guest(store: &CoGuestStore) -> (Arc<Recorder>, Log) {
    let (rec, log) = recorder();
    rec.watch(store.co_guest_state());
    store.add_guest_listener(rec.clone());
    (rec, log)
}

/// Records `store`'s seat callbacks, with the lists each one saw.
pub fn record_seat(store: &LiveSeatStore) -> (Arc<Recorder>, Log) {
    let (rec, log) = recorder();
    rec.watch(store.co_guest_store().co_guest_state());
    store.add_seat_listener(rec.clone());
    (rec, log)
}

impl Recorder {
    /// Also record the lists of `state` at each callback.
    pub fn watch(&self, state: CoGuestState) {
        *self.state.lock().unwrap() = Some(state);
    }

    fn record(&self, line: String) {
        if let Some(s) = &*self.state.lock().unwrap() {
            let ids = |v: &[LiveUserInfo]| v.iter().map(|u| u.user_id.clone()).collect();
            let applicants = ids(&s.applicants.borrow());
            let invitees = ids(&s.invitees.borrow());
            let connected = s
                .connected
                .borrow()
                .iter()
                .map(|u| u.user_id.clone())
                .collect();
            self.seen
                .lock()
                .unwrap()
                .push((line.clone(), applicants, invitees, connected));
        }
        let _ = self.tx.send(line);
    }
}

fn reason(r: NoResponseReason) -> &'static str {
    match r {
        NoResponseReason::Timeout => "timeout",
        NoResponseReason::AlreadySeated => "already_seated",
    }
}

impl HostListener for Recorder {
    fn on_guest_application_received(&self, g: &LiveUserInfo) {
        self.record(format!("application_received {}", g.user_id));
    }
    fn on_guest_application_cancelled(&self, g: &LiveUserInfo) {
        self.record(format!("application_cancelled {}", g.user_id));
    }
    fn on_guest_application_processed_by_other_host(&self, g: &LiveUserInfo, h: &LiveUserInfo) {
        self.record(format!(
            "processed_by_other_host {} by {}",
            g.user_id, h.user_id
        ));
    }
    fn on_host_invitation_responded(&self, is_accept: bool, g: &LiveUserInfo) {
        self.record(format!("invitation_responded {is_accept} {}", g.user_id));
    }
    fn on_host_invitation_no_response(&self, g: &LiveUserInfo, r: NoResponseReason) {
        self.record(format!(
            "invitation_no_response {} {}",
            g.user_id,
            reason(r)
        ));
    }
}

impl GuestListener for Recorder {
    fn on_host_invitation_received(&self, h: &LiveUserInfo) {
        self.record(format!("invitation_received from {}", h.user_id));
    }
    fn on_host_invitation_cancelled(&self, h: &LiveUserInfo) {
        self.record(format!("invitation_cancelled by {}", h.user_id));
    }
    fn on_guest_application_responded(&self, is_accept: bool, h: &LiveUserInfo) {
        self.record(format!(
            "application_responded {is_accept} by {}",
            h.user_id
        ));
    }
    fn on_guest_application_no_response(&self, r: NoResponseReason) {
        self.record(format!("application_no_response {}", reason(r)));
    }
    fn on_kicked_off_seat(&self, seat_index: i32, h: &LiveUserInfo) {
        self.record(format!("kicked_off_seat {seat_index} by {}", h.user_id));
    }
}

impl SeatListener for Recorder {
    fn on_kicked_off_seat(&self, seat_index: i32, h: &LiveUserInfo) {
        self.record(format!("kicked {seat_index} by {}", h.user_id));
    }
    fn on_moved_to_seat(&self, from: i32, to: i32, h: &LiveUserInfo) {
        self.record(format!("moved {from}->{to} by {}", h.user_id));
    }
}

impl Log {
    /// Waits for the next callback and checks it.
    pub async fn expect(&mut self, line: &str) {
        let got = within(&format!("the callback {line:?}"), self.rx.recv())
            .await
            .expect("recorder gone");
        assert_eq!(got, line);
    }

    /// Callbacks received so far, without waiting.
    pub fn drain(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(l) = self.rx.try_recv() {
            out.push(l);
        }
        out
    }
}

/// A store of `client` in [`ROOM`].
pub async fn join(client: &Client) -> CoGuestStore {
    CoGuestStore::create(client, ROOM).await.unwrap()
}

/// The user as the harness's tokens describe it (display name `"{id} name"`, no avatar).
pub fn user(id: &str) -> LiveUserInfo {
    LiveUserInfo {
        user_id: id.into(),
        user_name: format!("{id} name"),
        avatar_url: String::new(),
    }
}

/// Waits for `f`, failing the test after [`WAIT`].
pub async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, f)
        .await
        .unwrap_or_else(|_| panic!("nothing within {WAIT:?}: waited for {what}"))
}

/// Lets the dispatch tasks run what the actor already handed them: a round trip per client,
/// then a pause.
pub async fn settle(clients: &[&Client]) {
    for c in clients {
        c.ping().await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// Waits until `rx`'s value satisfies `pred`.
pub async fn wait_for<T>(
    rx: &tokio::sync::watch::Receiver<T>,
    what: &str,
    pred: impl Fn(&T) -> bool,
) {
    let mut rx = rx.clone();
    within(what, rx.wait_for(|v| pred(v))).await.unwrap();
}

/// Waits until `client` lost its connection and is trying to reconnect.
pub async fn wait_reconnecting(client: &Client, what: &str) {
    wait_for(&client.status(), what, |s| {
        matches!(s, ConnectionStatus::Reconnecting { .. })
    })
    .await;
}

/// Waits until `client` is connected.
pub async fn wait_connected(client: &Client, what: &str) {
    wait_for(&client.status(), what, |s| {
        *s == ConnectionStatus::Connected
    })
    .await;
}

pub fn ids(users: &[LiveUserInfo]) -> Vec<String> {
    users.iter().map(|u| u.user_id.clone()).collect()
}

/// Seat index and user id of each seated user.
pub fn seats(state: &CoGuestState) -> Vec<(i32, String)> {
    state
        .connected
        .borrow()
        .iter()
        .map(|s| (s.seat_index, s.user_id.clone()))
        .collect()
}

/// Seat index and user id of each occupied seat.
pub fn occupied(seats: &[SeatInfo]) -> Vec<(i32, String)> {
    seats
        .iter()
        .filter_map(|s| s.user.as_ref().map(|u| (s.seat_index, u.user_id.clone())))
        .collect()
}

/// Waits until exactly these seats are occupied, by these users.
pub async fn wait_occupied(
    list: &tokio::sync::watch::Receiver<Vec<SeatInfo>>,
    what: &str,
    expected: &[(i32, &str)],
) {
    wait_for(list, what, |s| {
        occupied(s)
            .iter()
            .map(|(i, u)| (*i, u.as_str()))
            .eq(expected.iter().copied())
    })
    .await;
}

/// Waits until `store`'s room is in seat mode `mode`.
pub async fn wait_seat_mode(store: &LiveSeatStore, mode: SeatMode, what: &str) {
    wait_for(&store.seat_mode(), what, |m| *m == mode).await;
}

/// A TCP proxy in front of the server that can swallow the server's bytes and cut every
/// connection, to lose answers in flight the way a real network does.
pub struct Proxy {
    pub addr: SocketAddr,
    blackhole: Arc<std::sync::atomic::AtomicBool>,
    cut: tokio::sync::watch::Sender<u64>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr) -> Self {
        use std::sync::atomic::{AtomicBool, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let blackhole = Arc::new(AtomicBool::new(false));
        let (cut, cut_rx) = tokio::sync::watch::channel(0u64);
        let bh = blackhole.clone();
        tokio::spawn(async move {
            while let Ok((down, _)) = listener.accept().await {
                let Ok(up) = tokio::net::TcpStream::connect(upstream).await else {
                    continue;
                };
                let (mut dr, mut dw) = down.into_split();
                let (mut ur, mut uw) = up.into_split();
                let bh = bh.clone();
                let mut cut_rx = cut_rx.clone();
                cut_rx.mark_unchanged();
                tokio::spawn(async move {
                    let upstream = async {
                        let mut buf = vec![0u8; 16 * 1024];
                        while let Ok(n) = dr.read(&mut buf).await {
                            if n == 0 || uw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    };
                    let downstream = async {
                        let mut buf = vec![0u8; 16 * 1024];
                        // TCP loses a suffix of a stream, never a middle: once this
                        // connection swallowed a byte it forwards nothing more.
                        let mut dead = false;
                        while let Ok(n) = ur.read(&mut buf).await {
                            if n == 0 {
                                break;
                            }
                            dead |= bh.load(Ordering::SeqCst);
                            if dead {
                                continue;
                            }
                            if dw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    };
                    tokio::select! {
                        () = upstream => {}
                        () = downstream => {}
                        _ = cut_rx.changed() => {}
                    }
                });
            }
        });
        Proxy {
            addr,
            blackhole,
            cut,
        }
    }

    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// From now on, drop everything the server sends. A connection that dropped something
    /// stays silent until [`Proxy::cut`]; `false` only spares connections that lost nothing.
    pub fn swallow_answers(&self, on: bool) {
        self.blackhole
            .store(on, std::sync::atomic::Ordering::SeqCst);
    }

    /// Cuts every open connection (new ones are accepted).
    pub fn cut(&self) {
        self.cut.send_modify(|n| *n += 1);
    }
}
