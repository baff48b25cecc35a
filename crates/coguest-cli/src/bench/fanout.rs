//! The `fanout` scenario: one room of N audience members; a host changes the seats on a fixed
//! schedule and the time from the change's command to the LAST member receiving it is
//! recorded. For NATS the same shape: N WebSocket subscribers, one publish.

use super::client::{self, SeatSink, Stats, Ws, histogram};
use super::server::CpuTime;
use super::wire::{self, Head, Incoming, Target};
use anyhow::{Context, Result, bail};
use coguest_core::Role;
use coguest_proto::ClientCommand;
use coguest_server::auth::Auth;
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// What a fan-out run measured.
pub struct FanoutResult {
    /// Command (or publish) to the last member's receipt, µs.
    pub last: Histogram<u64>,
    /// Deliveries expected and missing.
    pub missing: u64,
    /// Changes made.
    pub changes: u64,
    /// Members.
    pub members: usize,
    /// Run-wide counters of the member connections.
    pub stats: Arc<Stats>,
    /// Server CPU spent during the changes.
    pub cpu: CpuTime,
}

/// Runs the scenario against a server at `base`, measuring its CPU with `cpu`.
pub async fn run(
    target: Target,
    base: &str,
    members: usize,
    changes: u64,
    interval: Duration,
    progress: &indicatif::ProgressBar,
    cpu: &dyn Fn() -> CpuTime,
) -> Result<FanoutResult> {
    match target {
        Target::Nats => run_nats(base, members, changes, interval, progress, cpu).await,
        _ => run_room(target, base, members, changes, interval, progress, cpu).await,
    }
}

async fn run_room(
    target: Target,
    base: &str,
    members: usize,
    changes: u64,
    interval: Duration,
    progress: &indicatif::ProgressBar,
    cpu: &dyn Fn() -> CpuTime,
) -> Result<FanoutResult> {
    let auth = Arc::new(client::bench_auth());
    let room = format!("fan-{}", std::process::id());
    let stats = Stats::new();
    let seats = Arc::new(SeatSink::default());
    let stop = Arc::new(client::Stop::default());
    progress.set_length(members as u64);
    progress.set_message("connecting");
    let bases = [base.to_owned()];
    let joined = || progress.inc(1);
    client::join_audience(
        target,
        &bases,
        &room,
        0..members,
        &stats,
        &seats,
        &stop,
        None,
        128,
        &joined,
    )
    .await?;
    let mut changer = SeatChanger::connect(target, base, base, &auth, &room).await?;
    changer.seat_guest().await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stats.received.store(0, Ordering::Relaxed);
    let mut last = histogram();
    let mut missing = 0;
    progress.set_length(changes);
    progress.set_position(0);
    progress.set_message("changing seats");
    let cpu0 = cpu();
    let start = Instant::now();
    for k in 0..changes {
        tokio::time::sleep_until((start + interval.mul_f64(k as f64)).into()).await;
        let (version, sent) = changer.change(k).await?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            changer.drain().await;
            match seats.get(version) {
                Some((n, at)) if n as usize >= members => {
                    last.saturating_record(at.saturating_duration_since(sent).as_micros() as u64);
                    break;
                }
                got => {
                    if Instant::now() > deadline {
                        missing += members as u64 - got.map_or(0, |g| g.0);
                        break;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        progress.inc(1);
    }
    let used = cpu() - cpu0;
    stop.stop();
    Ok(FanoutResult {
        last,
        missing,
        changes,
        members,
        stats,
        cpu: used,
    })
}

/// A host and a guest who change a room's seats on demand: even changes kick the guest off its
/// seat, odd ones invite it back and it accepts.
pub struct SeatChanger {
    target: Target,
    room: String,
    host: Ws,
    guest: Ws,
    next_id: u64,
    /// When both last sent a WebSocket ping (the server closes connections it hears nothing
    /// from for its idle timeout, and these two may wait minutes for the audience to join).
    pinged: Instant,
}

impl SeatChanger {
    /// Connects the owner `host` (at `host_base`) and the audience member `guest` (at
    /// `guest_base`) to `room`.
    pub async fn connect(
        target: Target,
        host_base: &str,
        guest_base: &str,
        auth: &Auth,
        room: &str,
    ) -> Result<Self> {
        let (host, _) = client::connect(target, host_base, auth, "host", Role::Owner, room).await?;
        let (guest, _) =
            client::connect(target, guest_base, auth, "guest", Role::Audience, room).await?;
        Ok(SeatChanger {
            target,
            room: room.to_owned(),
            host,
            guest,
            next_id: 2,
            pinged: Instant::now(),
        })
    }

    async fn send(&mut self, by_host: bool, cmd: ClientCommand) -> Result<(u64, Instant)> {
        let id = self.next_id;
        self.next_id += 1;
        let ws = if by_host {
            &mut self.host
        } else {
            &mut self.guest
        };
        let sent = Instant::now();
        ws.send(Message::text(wire::encode(
            self.target,
            id,
            &self.room,
            cmd,
        )))
        .await?;
        let version = answer(self.target, ws, id).await?;
        Ok((version, sent))
    }

    /// Invites the guest and it accepts: returns the accept's room version and send time.
    pub async fn seat_guest(&mut self) -> Result<(u64, Instant)> {
        let invite = ClientCommand::InviteToSeat {
            invitee_id: "guest".into(),
            seat_index: -1,
            timeout: 600,
            extra_info: None,
        };
        self.send(true, invite).await?;
        let accept = ClientCommand::AcceptInvitation {
            inviter_id: "host".into(),
        };
        self.send(false, accept).await
    }

    /// Change number `k`: the room version of the seat change and when its command was sent.
    pub async fn change(&mut self, k: u64) -> Result<(u64, Instant)> {
        if k % 2 == 0 {
            let kick = ClientCommand::KickOffSeat {
                user_id: "guest".into(),
            };
            self.send(true, kick).await
        } else {
            self.seat_guest().await
        }
    }

    /// Reads what waits on both sockets, so they never fill, and pings every 15 s.
    pub async fn drain(&mut self) {
        drain(self.target, &mut self.host).await;
        drain(self.target, &mut self.guest).await;
        if self.target == Target::Coguest && self.pinged.elapsed() >= Duration::from_secs(15) {
            self.pinged = Instant::now();
            let _ = self.host.send(Message::Ping(Default::default())).await;
            let _ = self.guest.send(Message::Ping(Default::default())).await;
        }
    }
}

/// Reads until the answer to `id` arrives; returns the room version it carries.
async fn answer(target: Target, ws: &mut Ws, id: u64) -> Result<u64> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let msg = tokio::time::timeout_at(deadline.into(), ws.next())
            .await
            .context("no answer in 30 s")?;
        let text = match msg {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.into()),
            None => bail!("closed"),
        };
        match wire::decode(target, text.as_str()) {
            Incoming::Msg(Head {
                t,
                id: Some(i),
                version,
                code,
                ..
            }) if i == id => {
                if t == "ack" {
                    return Ok(version.unwrap_or(0));
                }
                bail!("command {id} refused: {code:?}");
            }
            Incoming::Reply(r) => ws.send(Message::text(r)).await?,
            _ => {}
        }
    }
}

/// Reads whatever is already waiting on `ws`.
async fn drain(target: Target, ws: &mut Ws) {
    while let Ok(Some(Ok(m))) = tokio::time::timeout(Duration::ZERO, ws.next()).await {
        if let Message::Text(t) = m {
            if let Incoming::Reply(r) = wire::decode(target, t.as_str()) {
                let _ = ws.send(Message::text(r)).await;
            }
        }
    }
}

/// Holds `n` idle NATS subscribers (connections scenario).
pub async fn nats_idle(base: &str, n: usize, progress: &indicatif::ProgressBar) -> Result<Vec<Ws>> {
    progress.set_length(n as u64);
    let conns: Vec<Result<Ws>> = futures_util::stream::iter(0..n)
        .map(|_| client::nats_connect(base, Some("fan")))
        .buffer_unordered(128)
        .inspect(|_| progress.inc(1))
        .collect()
        .await;
    conns.into_iter().collect()
}

async fn run_nats(
    base: &str,
    members: usize,
    changes: u64,
    interval: Duration,
    progress: &indicatif::ProgressBar,
    cpu: &dyn Fn() -> CpuTime,
) -> Result<FanoutResult> {
    let stats = Stats::new();
    let seats = Arc::new(SeatSink::default());
    let stop = Arc::new(client::Stop::default());
    progress.set_length(members as u64);
    progress.set_message("connecting");
    let subs = nats_idle(base, members, progress).await?;
    for mut ws in subs {
        let (seats, stats, stop) = (seats.clone(), stats.clone(), stop.clone());
        tokio::spawn(async move {
            let stopped = stop.stopped();
            tokio::pin!(stopped);
            loop {
                tokio::select! {
                    m = ws.next() => {
                        let data = match m {
                            Some(Ok(Message::Binary(b))) => b,
                            Some(Ok(Message::Text(t))) => t.as_bytes().to_vec().into(),
                            Some(Ok(_)) => continue,
                            _ => break,
                        };
                        let now = Instant::now();
                        stats.received.fetch_add(1, Ordering::Relaxed);
                        let f = wire::decode_nats(&data);
                        for k in f.msgs {
                            seats.seen(k, now);
                        }
                        for _ in 0..f.pings {
                            let _ = ws.send(Message::binary(b"PONG\r\n".to_vec())).await;
                        }
                    }
                    () = &mut stopped => break,
                }
            }
        });
    }
    let mut publisher = client::nats_connect(base, None).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    // A payload the size of a coguest seat change with two seated users.
    let filler = "x".repeat(300);
    let mut last = histogram();
    let mut missing = 0;
    progress.set_length(changes);
    progress.set_position(0);
    progress.set_message("publishing");
    let cpu0 = cpu();
    let start = Instant::now();
    let published = AtomicU64::new(0);
    for k in 0..changes {
        tokio::time::sleep_until((start + interval.mul_f64(k as f64)).into()).await;
        let payload = format!("{k} {filler}");
        let frame = format!("PUB fan {}\r\n{payload}\r\n", payload.len());
        let sent = Instant::now();
        publisher.send(Message::binary(frame.into_bytes())).await?;
        published.fetch_add(1, Ordering::Relaxed);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match seats.get(k) {
                Some((n, at)) if n as usize >= members => {
                    last.saturating_record(at.saturating_duration_since(sent).as_micros() as u64);
                    break;
                }
                got => {
                    if Instant::now() > deadline {
                        missing += members as u64 - got.map_or(0, |g| g.0);
                        break;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        progress.inc(1);
    }
    let used = cpu() - cpu0;
    stop.stop();
    Ok(FanoutResult {
        last,
        missing,
        changes,
        members,
        stats,
        cpu: used,
    })
}
