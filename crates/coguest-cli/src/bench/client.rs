//! One load connection: connect, authenticate, join, then a single task that writes queued
//! commands and reads answers, timing each answer from the command's *scheduled* time.

use super::server::SECRET;
use super::tls::{self, Io};
use super::wire::{self, Head, Incoming, Target};
use anyhow::{Context, Result, anyhow, bail};
use coguest_core::{Role, Timestamp};
use coguest_proto::ClientCommand;
use coguest_server::auth::{Auth, Claims};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// How long before its due time a command is handed to its connection, at rates of one
/// command per 2 ms or less; the connection's task spins to the due time, then writes it.
/// Latency counts from the due time: on this VM a sleeping thread wakes ~60 µs late on
/// average, and handing a command from the schedule's thread to its connection's task took
/// another ~60 µs, which every figure counted while the schedule spun to the due time first.
pub const LEAD: Duration = Duration::from_micros(200);

/// A WebSocket to a server under test, over TCP or TLS.
pub type Ws = WebSocketStream<Box<dyn Io>>;

/// Opens a WebSocket to `url` (`ws://` or `wss://`), Nagle's algorithm off when `nodelay`.
async fn open(url: &str, config: Option<WebSocketConfig>, nodelay: bool) -> Result<Ws> {
    let stream = tls::open(url, nodelay).await?;
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, config).await?;
    Ok(ws)
}

/// A fresh latency histogram: 1 µs to 100 s, 3 significant figures.
pub fn histogram() -> Histogram<u64> {
    match Histogram::new_with_bounds(1, 100_000_000, 3) {
        Ok(h) => h,
        // The bounds are constants that hdrhistogram accepts.
        Err(_) => Histogram::new(3).unwrap_or_else(|_| unreachable!()),
    }
}

/// A copy of a shared histogram (empty if a recorder panicked holding it).
pub fn snapshot(h: &Mutex<Histogram<u64>>) -> Histogram<u64> {
    h.lock().map(|h| h.clone()).unwrap_or_else(|_| histogram())
}

/// Counters every connection of a run adds to.
pub struct Stats {
    /// Answer latency from the scheduled time, in µs (only while `recording`).
    pub hist: Mutex<Histogram<u64>>,
    /// The load generator's own lag: from the scheduled time to the moment the command's
    /// frame is handed to the socket, in µs (only while `recording`). Part of every latency
    /// figure.
    pub lag: Mutex<Histogram<u64>>,
    /// Whether answers are recorded (off during warm-up).
    pub recording: AtomicBool,
    /// Commands written.
    pub sent: AtomicU64,
    /// Commands answered with an ack.
    pub acked: AtomicU64,
    /// Commands answered with an error, by code.
    pub refused: Mutex<BTreeMap<i32, u64>>,
    /// Frames received (every delivery).
    pub received: AtomicU64,
    /// Room versions that went backwards for a member.
    pub backwards: AtomicU64,
    /// Connections that closed or failed while the run was on.
    pub dropped: AtomicU64,
    /// Heartbeat pings sent.
    pub pings: AtomicU64,
}

impl Stats {
    /// Empty counters.
    pub fn new() -> Arc<Self> {
        Arc::new(Stats {
            hist: Mutex::new(histogram()),
            lag: Mutex::new(histogram()),
            recording: AtomicBool::new(true),
            sent: AtomicU64::new(0),
            acked: AtomicU64::new(0),
            refused: Mutex::new(BTreeMap::new()),
            received: AtomicU64::new(0),
            backwards: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            pings: AtomicU64::new(0),
        })
    }

    /// Commands answered either way.
    pub fn answered(&self) -> u64 {
        self.acked.load(Ordering::Relaxed) + self.refused_total()
    }

    /// Commands answered with an error.
    pub fn refused_total(&self) -> u64 {
        self.refused.lock().map(|m| m.values().sum()).unwrap_or(0)
    }
}

/// Where the room-wide seat changes a member receives are reported (fan-out scenario).
#[derive(Default)]
pub struct SeatSink {
    seen: Mutex<HashMap<u64, (u64, Instant)>>,
}

impl SeatSink {
    /// A member received the seat change of `key` (a room version or an iteration) at `at`.
    pub fn seen(&self, key: u64, at: Instant) {
        if let Ok(mut m) = self.seen.lock() {
            let e = m.entry(key).or_insert((0, at));
            e.0 += 1;
            e.1 = e.1.max(at);
        }
    }

    /// Every key seen: how many members received it, and when the last one did.
    pub fn all(&self) -> Vec<(u64, u64, Instant)> {
        self.seen
            .lock()
            .map(|m| m.iter().map(|(k, (n, at))| (*k, *n, *at)).collect())
            .unwrap_or_default()
    }

    /// A member received the seat list of version `key` at `at`, its previous one being of
    /// `prev`: the changes in between count as received too. The server replaces a seat list
    /// still waiting in a lagging member's queue by the next one, so that member holds the
    /// state of every change up to `key` without having received each.
    pub fn seen_since(&self, prev: Option<u64>, key: u64, at: Instant) {
        // A member's first list, or a jump too long to be a replacement, counts for itself.
        let from = match prev {
            Some(p) if p < key && key - p <= 1_000 => p + 1,
            _ => key,
        };
        for k in from..=key {
            self.seen(k, at);
        }
    }

    /// How many members received `key`, and when the last one did.
    pub fn get(&self, key: u64) -> Option<(u64, Instant)> {
        self.seen.lock().ok()?.get(&key).copied()
    }
}

/// The answer to one command, for whoever scheduled it.
#[derive(Debug)]
pub struct Done {
    /// The scheduler's tag.
    pub tag: u64,
    /// `None` when acknowledged, the error code otherwise.
    pub code: Option<i32>,
}

/// A command to write.
pub struct Out {
    /// The frame (already encoded, with its id).
    pub text: String,
    /// Its request id.
    pub id: u64,
    /// When the open-loop schedule said it was due.
    pub scheduled: Instant,
    /// The scheduler's tag, returned in [`Done`].
    pub tag: u64,
}

/// A running connection: queue commands with [`ConnHandle::send`].
#[derive(Clone)]
pub struct ConnHandle {
    tx: mpsc::UnboundedSender<Out>,
    target: Target,
    room: Arc<str>,
    next_id: Arc<AtomicU64>,
}

impl ConnHandle {
    /// Queues `cmd`, due at `scheduled`.
    pub fn send(&self, cmd: ClientCommand, scheduled: Instant, tag: u64) -> bool {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let text = wire::encode(self.target, id, &self.room, cmd);
        self.tx
            .send(Out {
                text,
                id,
                scheduled,
                tag,
            })
            .is_ok()
    }
}

/// Mints a coguest token for `user`.
pub fn token(auth: &Auth, user: &str, role: Role) -> Result<String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let mut claims = Claims::new(user.to_owned(), role, Timestamp::from_millis(now), 86_400);
    claims.name = user.to_owned();
    Ok(auth.mint(&claims)?)
}

/// The signer for spawned coguest servers.
pub fn bench_auth() -> Auth {
    Auth::new(SECRET.as_bytes())
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Owner => "owner",
        Role::Admin => "admin",
        _ => "audience",
    }
}

async fn next_text(ws: &mut Ws) -> Result<String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return Ok(t.as_str().to_owned()),
            Some(Ok(Message::Close(c))) => bail!("closed: {c:?}"),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
            None => bail!("closed"),
        }
    }
}

/// Opens a NATS WebSocket connection, subscribed to `subject` if given (confirmed by a PONG).
pub async fn nats_connect(base: &str, subject: Option<&str>) -> Result<Ws> {
    let mut ws = open(base, None, false).await?;
    let mut hello = String::from("CONNECT {\"verbose\":false,\"pedantic\":false}\r\n");
    if let Some(subject) = subject {
        hello.push_str(&format!("SUB {subject} 1\r\n"));
    }
    hello.push_str("PING\r\n");
    ws.send(Message::binary(hello.into_bytes())).await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let m = tokio::time::timeout_at(deadline.into(), ws.next())
            .await
            .context("nats handshake timed out")?;
        let data = match m {
            Some(Ok(Message::Binary(b))) => b.to_vec(),
            Some(Ok(Message::Text(t))) => t.as_bytes().to_vec(),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.into()),
            None => bail!("nats closed"),
        };
        if wire::decode_nats(&data).pongs > 0 {
            return Ok(ws);
        }
    }
}

/// Connects `user` to `base`, authenticates and joins `room`; returns the socket ready for
/// [`spawn`] and the room version after the join. For NATS, `room` is a subject the
/// connection subscribes to.
pub async fn connect(
    target: Target,
    base: &str,
    auth: &Auth,
    user: &str,
    role: Role,
    room: &str,
) -> Result<(Ws, u64)> {
    let url = match target {
        Target::Coguest => format!("{base}/v1/ws?token={}", token(auth, user, role)?),
        Target::Socketio => format!("{base}/socket.io/?EIO=4&transport=websocket"),
        Target::Nats => return Ok((nats_connect(base, Some(room)).await?, 0)),
    };
    // Small read buffers: a load process holds up to ~19,000 of these sockets, and the
    // messages it reads are a few hundred bytes (a larger one still grows the buffer).
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let mut ws = tokio::time::timeout(Duration::from_secs(30), open(&url, Some(config), true))
        .await
        .context("connect timed out")?
        .context("connect")?;
    if target == Target::Socketio {
        // engine.io open packet, then the socket.io namespace connect with our identity.
        let open = next_text(&mut ws).await?;
        if !open.starts_with('0') {
            bail!("unexpected engine.io open packet {open:?}");
        }
        let auth = serde_json::json!({"user": user, "role": role_name(role)});
        ws.send(Message::text(format!("40{auth}"))).await?;
        let connected = next_text(&mut ws).await?;
        if !connected.starts_with("40") {
            bail!("socket.io connect refused: {connected:?}");
        }
    }
    let join = wire::encode(target, 1, room, ClientCommand::Join { since: None });
    ws.send(Message::text(join)).await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = tokio::time::timeout_at(deadline.into(), next_text(&mut ws))
            .await
            .map_err(|_| anyhow!("join of {user} not answered in 30 s"))??;
        match wire::decode(target, &text) {
            Incoming::Msg(Head {
                ref t,
                id: Some(1),
                version,
                code,
                ..
            }) => {
                if t == "ack" {
                    return Ok((ws, version.unwrap_or(0)));
                }
                let answer: String = text.chars().take(400).collect();
                bail!("join of {user} refused: {code:?}: {answer}");
            }
            Incoming::Reply(r) => ws.send(Message::text(r)).await?,
            _ => {}
        }
    }
}

/// What a connection task reports to.
#[derive(Clone)]
pub struct Sinks {
    /// Run-wide counters.
    pub stats: Arc<Stats>,
    /// Answers go back to the scheduler here.
    pub done: Option<mpsc::UnboundedSender<Done>>,
    /// Seat changes (fan-out), keyed by room version.
    pub seats: Option<Arc<SeatSink>>,
}

/// The end of a run, told to every connection at once: one wake-up each when it comes, and no
/// timer per connection meanwhile (10,000 connections polling a 200 ms timer were 50,000
/// wake-ups a second on the load generator's core, and delayed what it measured).
#[derive(Debug, Default)]
pub struct Stop {
    flag: AtomicBool,
    notify: tokio::sync::Notify,
}

impl Stop {
    /// Ends the run.
    pub fn stop(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Whether the run ended.
    pub fn is_stopped(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Completes when the run ends.
    pub async fn stopped(&self) {
        let notified = self.notify.notified();
        tokio::pin!(notified);
        // Registered before the flag is read, so a stop in between is not missed.
        notified.as_mut().enable();
        if !self.is_stopped() {
            notified.await;
        }
    }
}

/// Runs a joined connection until `stop` is set or the socket closes. With a `heartbeat`, it
/// sends a WebSocket ping that often, as the SDK does (its first one at a random point of the
/// first period, so thousands of connections do not ping in step).
pub fn spawn(
    mut ws: Ws,
    target: Target,
    room: &str,
    version: u64,
    sinks: Sinks,
    stop: Arc<Stop>,
    heartbeat: Option<Duration>,
) -> ConnHandle {
    let (tx, mut rx) = mpsc::unbounded_channel::<Out>();
    let handle = ConnHandle {
        tx,
        target,
        room: Arc::from(room),
        next_id: Arc::new(AtomicU64::new(2)),
    };
    tokio::spawn(async move {
        let mut pending: HashMap<u64, (Instant, u64)> = HashMap::new();
        let mut last_version = version;
        // The version of the last seat list received, to credit the changes it replaced.
        let mut last_seats: Option<u64> = None;
        let stats = &sinks.stats;
        let stopped = stop.stopped();
        tokio::pin!(stopped);
        // A member nobody sends commands through (fan-out audience) keeps reading.
        let mut commands_open = true;
        let period = heartbeat.unwrap_or(Duration::from_secs(86_400));
        let beat = tokio::time::sleep(period.mul_f64(rand::random::<f64>()));
        tokio::pin!(beat);
        loop {
            tokio::select! {
                () = &mut beat, if heartbeat.is_some() => {
                    if ws.send(Message::Ping(Default::default())).await.is_err() {
                        stats.dropped.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    stats.pings.fetch_add(1, Ordering::Relaxed);
                    beat.as_mut().reset(tokio::time::Instant::now() + period);
                }
                out = rx.recv(), if commands_open => {
                    let Some(out) = out else {
                        commands_open = false;
                        continue;
                    };
                    pending.insert(out.id, (out.scheduled, out.tag));
                    stats.sent.fetch_add(1, Ordering::Relaxed);
                    // Handed over early (see `LEAD`): it leaves at its due time.
                    let until = out.scheduled.min(Instant::now() + LEAD);
                    while Instant::now() < until {
                        std::hint::spin_loop();
                    }
                    if stats.recording.load(Ordering::Relaxed) {
                        let us = out.scheduled.elapsed().as_micros() as u64;
                        if let Ok(mut h) = stats.lag.lock() {
                            h.saturating_record(us.max(1));
                        }
                    }
                    if ws.send(Message::text(out.text)).await.is_err() {
                        stats.dropped.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                }
                msg = ws.next() => {
                    let text = match msg {
                        Some(Ok(Message::Text(t))) => t,
                        // nats-server sends binary frames.
                        Some(Ok(Message::Binary(b))) if target == Target::Nats => {
                            match Utf8Bytes::try_from(b) {
                                Ok(t) => t,
                                Err(_) => continue,
                            }
                        }
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                            if !stop.is_stopped() {
                                stats.dropped.fetch_add(1, Ordering::Relaxed);
                            }
                            break;
                        }
                        Some(Ok(_)) => continue,
                    };
                    let now = Instant::now();
                    stats.received.fetch_add(1, Ordering::Relaxed);
                    for incoming in wire::decode_all(target, text.as_str()) {
                        let head = match incoming {
                            Incoming::Msg(h) => h,
                            Incoming::Reply(r) => {
                                let _ = ws.send(Message::text(r)).await;
                                continue;
                            }
                            Incoming::Other => continue,
                        };
                        if let Some(v) = head.version {
                            if v < last_version {
                                stats.backwards.fetch_add(1, Ordering::Relaxed);
                            }
                            last_version = last_version.max(v);
                            if head.is_seat_change() {
                                if let Some(seats) = &sinks.seats {
                                    // Only coguest replaces waiting lists: for a baseline a
                                    // skipped change is a lost one.
                                    match target {
                                        Target::Coguest => seats.seen_since(last_seats, v, now),
                                        _ => seats.seen(v, now),
                                    }
                                }
                                last_seats = Some(v);
                            }
                        }
                        if head.t == "ack" || head.t == "error" {
                            let Some((scheduled, tag)) = head.id.and_then(|id| pending.remove(&id)) else {
                                continue;
                            };
                            if stats.recording.load(Ordering::Relaxed) {
                                let us = now.saturating_duration_since(scheduled).as_micros() as u64;
                                if let Ok(mut h) = stats.hist.lock() {
                                    h.saturating_record(us.max(1));
                                }
                            }
                            let code = if head.t == "ack" {
                                stats.acked.fetch_add(1, Ordering::Relaxed);
                                None
                            } else {
                                let code = head.code.unwrap_or(0);
                                if let Ok(mut m) = stats.refused.lock() {
                                    *m.entry(code).or_default() += 1;
                                }
                                Some(code)
                            };
                            if let Some(done) = &sinks.done {
                                let _ = done.send(Done { tag, code });
                            }
                        }
                    }
                }
                () = &mut stopped => break,
            }
        }
        let _ = ws.close(None).await;
    });
    handle
}

/// Joins audience members `a{i}` for every `i` in `members` to `room`, member `i` at
/// `bases[i % len]`, `concurrency` at a time, each then run by [`spawn`] reporting its seat
/// changes to `seats`; `joined` is called after each join.
#[allow(clippy::too_many_arguments)]
pub async fn join_audience(
    target: Target,
    bases: &[String],
    room: &str,
    members: std::ops::Range<usize>,
    stats: &Arc<Stats>,
    seats: &Arc<SeatSink>,
    stop: &Arc<Stop>,
    heartbeat: Option<Duration>,
    concurrency: usize,
    joined: &(dyn Fn() + Sync),
) -> Result<()> {
    let auth = bench_auth();
    let results: Vec<Result<()>> = futures_util::stream::iter(members)
        .map(|i| {
            let base = &bases[i % bases.len()];
            let auth = &auth;
            async move {
                let user = format!("a{i}");
                let (ws, v) = connect(target, base, auth, &user, Role::Audience, room)
                    .await
                    .with_context(|| format!("connecting {user} to {base}"))?;
                let sinks = Sinks {
                    stats: stats.clone(),
                    done: None,
                    seats: Some(seats.clone()),
                };
                spawn(ws, target, room, v, sinks, stop.clone(), heartbeat);
                joined();
                Ok(())
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    results.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seat_list_counts_for_the_changes_it_replaced() {
        let sink = SeatSink::default();
        let at = Instant::now();
        let count = |k| sink.get(k).map_or(0, |(n, _)| n);
        // A first list counts for itself only (a member joined at some version).
        sink.seen_since(None, 5, at);
        assert_eq!((count(4), count(5)), (0, 1));
        // 6 and 7 were replaced in the member's queue by 8: it holds their state.
        sink.seen_since(Some(5), 8, at);
        assert_eq!((count(6), count(7), count(8)), (1, 1, 1));
        // A jump too long to be a replacement, or one backwards, counts for itself.
        sink.seen_since(Some(8), 5_000, at);
        assert_eq!((count(9), count(5_000)), (0, 1));
        sink.seen_since(Some(5_000), 4, at);
        assert_eq!(count(4), 1);
    }
}
