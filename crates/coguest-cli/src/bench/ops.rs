//! The command scenarios (`latency`, `heavy`, `saturate`): rooms of one owner and guests, an
//! open-loop schedule of co-guest operations, and a per-room driver that picks each operation
//! from what the room's members can do at that moment (a realistic mix that mostly succeeds).

use super::client::{self, ConnHandle, Done, LEAD, Sinks, Stats};
use super::wire::Target;
use anyhow::{Context, Result, bail};
use coguest_core::Role;
use coguest_proto::ClientCommand;
use futures_util::StreamExt;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Seats a guest can take in a default room (seat 0 is the owner's).
const FREE_SEATS: usize = 8;
/// Request timeout used by the load (long enough that nothing times out during a run).
const REQUEST_TIMEOUT_S: u32 = 600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Guest {
    Idle,
    Applying,
    Invited,
    Seated,
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Apply,
    CancelApplication,
    AcceptApplication,
    RejectApplication,
    Invite,
    CancelInvitation,
    AcceptInvitation,
    RejectInvitation,
    Leave,
}

impl Op {
    /// The guest's state after this op succeeded.
    fn after(self) -> Guest {
        match self {
            Op::Apply => Guest::Applying,
            Op::Invite => Guest::Invited,
            Op::AcceptApplication | Op::AcceptInvitation => Guest::Seated,
            _ => Guest::Idle,
        }
    }

    fn by_host(self) -> bool {
        matches!(
            self,
            Op::AcceptApplication | Op::RejectApplication | Op::Invite | Op::CancelInvitation
        )
    }
}

/// What the scheduled operations are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mix {
    /// The seat flow: apply, invite, accept, reject, cancel, leave.
    Seats,
    /// `ping` of the room, from the connection the seat flow would have used: answered by
    /// the room's actor with nothing stored or delivered (the round trip's floor).
    Ping,
}

/// A room's members as the load sees them.
pub struct RoomLoad {
    host_id: String,
    host: ConnHandle,
    guests: Vec<(String, ConnHandle)>,
}

/// Every room of a run, connected and joined.
pub struct Fleet {
    /// Per-room tick channels.
    ticks: Vec<mpsc::UnboundedSender<Instant>>,
    /// Run-wide counters.
    pub stats: Arc<Stats>,
    /// Ticks that found no member free to act (not sent, not counted as latency).
    pub skipped: Arc<AtomicU64>,
    stop: Arc<client::Stop>,
    /// Connections open.
    pub connections: usize,
}

/// Where a room's members connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Room `r` on server `r % servers` (independent single nodes).
    RoomPerServer,
    /// Cluster: the owner of room `r` on node `r % nodes` and joined first (so that node owns
    /// the room), every guest on one of the other nodes: each guest command crosses nodes
    /// through Redis, and each change reaches other nodes.
    CrossNode,
}

impl Placement {
    fn server(self, r: usize, m: usize, n: usize) -> usize {
        match self {
            Placement::RoomPerServer => r % n,
            Placement::CrossNode if m == 0 || n < 2 => r % n,
            Placement::CrossNode => (r + 1 + (m - 1) % (n - 1)) % n,
        }
    }
}

/// Opens `conns` connections in `rooms` rooms spread over `servers` as `placement` says, each
/// room one owner and guests.
pub async fn connect_fleet(
    target: Target,
    servers: &[String],
    placement: Placement,
    conns: usize,
    rooms: usize,
    mix: Mix,
    progress: &indicatif::ProgressBar,
) -> Result<Fleet> {
    if rooms == 0 || conns < rooms * 2 {
        bail!("need at least two connections per room ({conns} connections, {rooms} rooms)");
    }
    let auth = Arc::new(client::bench_auth());
    let stats = Stats::new();
    let stop = Arc::new(client::Stop::default());
    let per_room = conns / rooms;
    let run_tag = std::process::id();
    let mut plan = Vec::new();
    for r in 0..rooms {
        for m in 0..per_room {
            let role = if m == 0 { Role::Owner } else { Role::Audience };
            plan.push((r, m, role));
        }
    }
    progress.set_length(plan.len() as u64);
    progress.set_message("connecting");
    let mut done_txs = Vec::new();
    let mut done_rxs = Vec::new();
    for _ in 0..rooms {
        let (tx, rx) = mpsc::unbounded_channel::<Done>();
        done_txs.push(tx);
        done_rxs.push(rx);
    }
    let connect_one = |(r, m, role): (usize, usize, Role)| {
        let auth = auth.clone();
        let base = servers[placement.server(r, m, servers.len())].clone();
        let sinks = Sinks {
            stats: stats.clone(),
            done: Some(done_txs[r].clone()),
            seats: None,
        };
        let stop = stop.clone();
        async move {
            let user = format!("u{r}-{m}");
            let room = match target {
                // A subject of its own: each publish comes back to this connection only.
                Target::Nats => format!("bench-{run_tag}-{r}.{user}"),
                _ => format!("bench-{run_tag}-{r}"),
            };
            let (ws, version) = client::connect(target, &base, &auth, &user, role, &room)
                .await
                .with_context(|| format!("connecting {user}"))?;
            let handle = client::spawn(ws, target, &room, version, sinks, stop, None);
            Ok((r, m, user, handle))
        }
    };
    // Owners first when the first join decides which node owns the room.
    let (first, rest): (Vec<_>, Vec<_>) = plan
        .into_iter()
        .partition(|&(_, m, _)| placement == Placement::CrossNode && m == 0);
    let mut results: Vec<Result<(usize, usize, String, ConnHandle)>> = Vec::new();
    for batch in [first, rest] {
        let mut done: Vec<_> = futures_util::stream::iter(batch)
            .map(connect_one)
            .buffer_unordered(128)
            .inspect(|_| progress.inc(1))
            .collect()
            .await;
        results.append(&mut done);
    }
    let mut members: Vec<Vec<Option<(String, ConnHandle)>>> =
        (0..rooms).map(|_| vec![None; per_room]).collect();
    for res in results {
        let (r, m, user, handle) = res?;
        members[r][m] = Some((user, handle));
    }
    let skipped = Arc::new(AtomicU64::new(0));
    let mut ticks = Vec::new();
    for (r, (list, done_rx)) in members.into_iter().zip(done_rxs).enumerate() {
        let mut list = list.into_iter().flatten();
        let Some((host_id, host)) = list.next() else {
            bail!("room {r} has no owner");
        };
        let load = RoomLoad {
            host_id,
            host,
            guests: list.collect(),
        };
        let (tx, rx) = mpsc::unbounded_channel();
        ticks.push(tx);
        tokio::spawn(drive_room(
            load,
            mix,
            rx,
            done_rx,
            skipped.clone(),
            r as u64,
        ));
    }
    Ok(Fleet {
        ticks,
        stats,
        skipped,
        stop,
        connections: per_room * rooms,
    })
}

impl Fleet {
    /// Sends `rate` operations per second for `duration`, each to a random room, on a fixed
    /// schedule (open loop: a late answer never delays the next command).
    ///
    /// The schedule runs on its own thread and sleeps with the kernel's high-resolution timer:
    /// tokio's timer has 1 ms granularity (latency counts from each command's due time, so
    /// that would add up to 1 ms to every figure). At low rates each command leaves [`LEAD`]
    /// early and its connection spins the rest; at high rates a spin would take the pinned
    /// load generator's one core from the tasks that read the answers.
    pub async fn schedule(&self, rate: f64, duration: Duration, progress: &indicatif::ProgressBar) {
        let ticks = self.ticks.clone();
        let progress = progress.clone();
        let run = move || {
            // Wake within a few µs of the due time, not the default 50 µs slack.
            let _ = rustix::thread::set_current_timer_slack(std::num::NonZeroU64::new(1_000));
            let period = Duration::from_secs_f64(1.0 / rate.max(0.001));
            // Only where a spin is a small part of the period (the `latency` scenario's 10 ms):
            // at high rates the load generator's core is needed for reading the answers.
            let lead = if period >= LEAD * 10 {
                LEAD
            } else {
                Duration::ZERO
            };
            let start = Instant::now() + Duration::from_millis(10);
            let end = start + duration;
            let total = (duration.as_secs_f64() * rate) as u64;
            progress.set_length(total);
            progress.set_position(0);
            let mut rng = SmallRng::seed_from_u64(7);
            let mut i: u64 = 0;
            loop {
                let due = start + period.mul_f64(i as f64);
                if due >= end {
                    break;
                }
                let now = Instant::now();
                if due > now + lead {
                    std::thread::sleep(due - lead - now);
                }
                // Every tick due within the lead leaves now (after a late wake-up, several).
                let now = Instant::now();
                let mut t = due;
                while t <= now + lead && t < end {
                    let room = rng.random_range(0..ticks.len());
                    let _ = ticks[room].send(t);
                    i += 1;
                    t = start + period.mul_f64(i as f64);
                }
                progress.set_position(i);
            }
        };
        if let Err(e) = tokio::task::spawn_blocking(run).await {
            tracing::error!(error = %e, "the schedule's thread failed");
        }
    }

    /// Waits until every command sent is answered, or `limit` passes. Returns the number
    /// still unanswered (lost).
    pub async fn drain(&self, limit: Duration) -> u64 {
        let deadline = Instant::now() + limit;
        tokio::time::sleep(Duration::from_millis(50)).await;
        loop {
            let sent = self.stats.sent.load(Ordering::Relaxed);
            let answered = self.stats.answered();
            if answered >= sent || Instant::now() > deadline {
                return sent.saturating_sub(answered);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Closes every connection.
    pub async fn close(self) {
        self.stop.stop();
        drop(self.ticks);
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
}

fn command(op: Op, guest: &str, host: &str) -> ClientCommand {
    match op {
        Op::Apply => ClientCommand::ApplyForSeat {
            seat_index: -1,
            timeout: REQUEST_TIMEOUT_S,
            extra_info: None,
        },
        Op::CancelApplication => ClientCommand::CancelApplication,
        Op::AcceptApplication => ClientCommand::AcceptApplication {
            user_id: guest.to_owned(),
        },
        Op::RejectApplication => ClientCommand::RejectApplication {
            user_id: guest.to_owned(),
        },
        Op::Invite => ClientCommand::InviteToSeat {
            invitee_id: guest.to_owned(),
            seat_index: -1,
            timeout: REQUEST_TIMEOUT_S,
            extra_info: None,
        },
        Op::CancelInvitation => ClientCommand::CancelInvitation {
            invitee_id: guest.to_owned(),
        },
        Op::AcceptInvitation => ClientCommand::AcceptInvitation {
            inviter_id: host.to_owned(),
        },
        Op::RejectInvitation => ClientCommand::RejectInvitation {
            inviter_id: host.to_owned(),
        },
        Op::Leave => ClientCommand::Disconnect,
    }
}

async fn drive_room(
    load: RoomLoad,
    mix: Mix,
    mut ticks: mpsc::UnboundedReceiver<Instant>,
    mut dones: mpsc::UnboundedReceiver<Done>,
    skipped: Arc<AtomicU64>,
    seed: u64,
) {
    let n = load.guests.len();
    let mut state = vec![Guest::Idle; n];
    let mut inflight: Vec<Option<Op>> = vec![None; n];
    let mut rng = SmallRng::seed_from_u64(seed);
    loop {
        tokio::select! {
            tick = ticks.recv() => {
                let Some(scheduled) = tick else { break };
                let seated = (0..n)
                    .filter(|&g| state[g] == Guest::Seated
                        || matches!(inflight[g], Some(Op::AcceptApplication | Op::AcceptInvitation)))
                    .count();
                let free = (0..4)
                    .map(|_| rng.random_range(0..n))
                    .find(|&g| inflight[g].is_none());
                let Some(g) = free else {
                    skipped.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                let roll: u32 = rng.random_range(0..4);
                let room_for_one = seated < FREE_SEATS;
                let op = match state[g] {
                    Guest::Idle if roll < 2 => Op::Apply,
                    Guest::Idle => Op::Invite,
                    Guest::Applying if roll < 2 && room_for_one => Op::AcceptApplication,
                    Guest::Applying if roll < 3 => Op::RejectApplication,
                    Guest::Applying => Op::CancelApplication,
                    Guest::Invited if roll < 2 && room_for_one => Op::AcceptInvitation,
                    Guest::Invited if roll < 3 => Op::RejectInvitation,
                    Guest::Invited => Op::CancelInvitation,
                    Guest::Seated => Op::Leave,
                };
                let (guest_id, guest) = &load.guests[g];
                let conn = if op.by_host() { &load.host } else { guest };
                inflight[g] = Some(op);
                let cmd = match mix {
                    Mix::Seats => command(op, guest_id, &load.host_id),
                    Mix::Ping => ClientCommand::Ping,
                };
                conn.send(cmd, scheduled, g as u64);
            }
            done = dones.recv() => {
                let Some(Done { tag, code }) = done else { break };
                let g = tag as usize;
                let Some(op) = inflight.get_mut(g).and_then(Option::take) else { continue };
                match code {
                    None if mix == Mix::Ping => {}
                    None => state[g] = op.after(),
                    // No such request (processed, or the state drifted): start over.
                    Some(-2311) | Some(-2345) => state[g] = Guest::Idle,
                    Some(-2341) => state[g] = Guest::Seated,
                    Some(_) => {}
                }
            }
        }
    }
}
