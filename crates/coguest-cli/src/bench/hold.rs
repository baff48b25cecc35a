//! The `hold` scenario: more connections than one process may open (20,000 files each), held in
//! one room for minutes with heartbeats, spread over several server processes (a cluster with
//! `--redis`) and several load processes (`coguest bench-worker`, spawned here). Every interval
//! a host changes the seats and the time to the LAST member, over every load process, is
//! recorded; at the end every member must have seen every change and no connection may have
//! dropped.
//!
//! Load processes talk to this one over their stdin/stdout, one JSON object per line: `ready`,
//! one `v` line per seat change all of its members saw (with the `CLOCK_MONOTONIC` time in µs
//! the last one did: one clock for every process of the machine), and a `done` summary when
//! stdin closes.

use super::args::BenchArgs;
use super::client::{self, SeatSink, Stats};
use super::fanout::SeatChanger;
use super::report::{Report, progress_bar};
use super::server::{self, Servers};
use super::wire::Target;
use anyhow::{Context, Result, bail};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

/// `coguest bench-worker` flags: one load process of the `hold` scenario (spawned by it).
#[derive(clap::Parser, Debug, Clone)]
pub struct WorkerArgs {
    /// Server WebSocket bases; member `i` connects to `urls[i % len]`.
    #[arg(long, value_delimiter = ',', required = true)]
    pub urls: Vec<String>,
    /// The room every member joins.
    #[arg(long)]
    pub room: String,
    /// Index of this process's first member (user `a{first}`).
    #[arg(long)]
    pub first: usize,
    /// Members this process holds.
    #[arg(long)]
    pub count: usize,
    /// Seconds between two WebSocket pings of a member (0: none).
    #[arg(long, default_value_t = 20.0)]
    pub heartbeat_secs: f64,
    /// PEM file of CA certificates trusted for `wss://` URLs besides the Mozilla roots.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<std::path::PathBuf>,
}

/// Maps `Instant`s of this process to microseconds of `CLOCK_MONOTONIC`, which every process
/// of the machine reads alike (and which `Instant` is made of, so the mapping does not drift;
/// the wall clock could be stepped or slewed during a 10-minute run).
#[derive(Clone, Copy)]
struct MachineClock {
    instant: Instant,
    mono_us: u64,
}

impl MachineClock {
    fn now() -> Self {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
        let mono_us = u64::try_from(t.tv_sec).unwrap_or(0) * 1_000_000
            + u64::try_from(t.tv_nsec).unwrap_or(0) / 1000;
        MachineClock {
            instant: Instant::now(),
            mono_us,
        }
    }

    fn us(&self, at: Instant) -> u64 {
        if at >= self.instant {
            self.mono_us + at.duration_since(self.instant).as_micros() as u64
        } else {
            self.mono_us
                .saturating_sub(self.instant.duration_since(at).as_micros() as u64)
        }
    }
}

fn say(v: Value) {
    println!("{v}");
}

/// Runs one load process until its stdin closes.
pub fn worker(args: WorkerArgs) -> Result<()> {
    super::tls::trust(args.ca_file.as_deref())?;
    // One thread: several of these share the machine's cores with the servers.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let result = runtime.block_on(worker_run(&args));
    if let Err(e) = &result {
        say(json!({"error": format!("{e:#}")}));
    }
    result
}

async fn worker_run(args: &WorkerArgs) -> Result<()> {
    let clock = MachineClock::now();
    let stats = Stats::new();
    let seats = Arc::new(SeatSink::default());
    let stop = Arc::new(client::Stop::default());
    let heartbeat =
        (args.heartbeat_secs > 0.0).then(|| Duration::from_secs_f64(args.heartbeat_secs));
    let connected = AtomicU64::new(0);
    let joined = || {
        let n = connected.fetch_add(1, Ordering::Relaxed) + 1;
        if n % 1000 == 0 {
            say(json!({"connected": n}));
        }
    };
    client::join_audience(
        Target::Coguest,
        &args.urls,
        &args.room,
        args.first..args.first + args.count,
        &stats,
        &seats,
        &stop,
        heartbeat,
        64,
        &joined,
    )
    .await?;
    say(json!({"ready": args.count}));
    let mut reported: HashSet<u64> = HashSet::new();
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    loop {
        tokio::select! {
            line = lines.next_line() => match line {
                Ok(Some(l)) if l.trim() != "stop" => {}
                _ => break,
            },
            _ = tick.tick() => {
                for (v, n, at) in seats.all() {
                    if n as usize >= args.count && reported.insert(v) {
                        say(json!({"v": v, "last_us": clock.us(at)}));
                    }
                }
            }
        }
    }
    stop.stop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let counts: HashMap<String, u64> = seats
        .all()
        .into_iter()
        .map(|(v, n, _)| (v.to_string(), n))
        .collect();
    say(json!({
        "done": true,
        "received": stats.received.load(Ordering::Relaxed),
        "backwards": stats.backwards.load(Ordering::Relaxed),
        "dropped": stats.dropped.load(Ordering::Relaxed),
        "pings": stats.pings.load(Ordering::Relaxed),
        "counts": counts,
        "rss": server::proc_rss(std::process::id()).unwrap_or(0),
    }));
    Ok(())
}

/// One load process as the coordinator sees it.
struct Worker {
    child: tokio::process::Child,
    count: usize,
}

/// Messages published on the cluster's channels while the counter runs, by kind of channel.
#[derive(Default)]
struct Published {
    room: AtomicU64,
    cmd: AtomicU64,
    node: AtomicU64,
}

/// Counts every message published on the channels of the cluster with key prefix `prefix`
/// (other users of the same Redis are not counted).
async fn count_published(redis: &str, prefix: &str) -> Result<Arc<Published>> {
    let client = redis::Client::open(redis)?;
    let mut pubsub = client.get_async_pubsub().await?;
    let keys = coguest_server::store::redis::Keys::new(prefix);
    pubsub.psubscribe(format!("{prefix}:ch:*")).await?;
    let counts = Arc::new(Published::default());
    let (room, cmd) = (keys.room_channel_prefix(), keys.cmd_channel_prefix());
    let c = counts.clone();
    tokio::spawn(async move {
        let mut stream = pubsub.into_on_message();
        while let Some(msg) = stream.next().await {
            let channel = msg.get_channel_name();
            let n = if channel.starts_with(&room) {
                &c.room
            } else if channel.starts_with(&cmd) {
                &c.cmd
            } else {
                &c.node
            };
            n.fetch_add(1, Ordering::Relaxed);
        }
    });
    Ok(counts)
}

/// Runs the scenario: `args.members` members over `args.load_procs` processes of `bin`.
pub async fn run(
    args: &BenchArgs,
    servers: &Servers,
    bin: &Path,
    cluster: Option<&(String, String)>,
) -> Result<Report> {
    let members = args.members;
    let procs = args.load_procs.clamp(1, members.max(1));
    let urls = servers.urls();
    let duration = Duration::from_secs_f64(args.duration.unwrap_or(60.0).max(1.0));
    let interval = Duration::from_millis(args.interval_ms.unwrap_or(5000));
    let auth = client::bench_auth();
    let room = format!("hold-{}", std::process::id());
    let pb = progress_bar();
    let rss0: Vec<u64> = servers.procs.iter().map(|p| p.rss()).collect();
    // The host and guest join first, on the first server: in a cluster its node owns the room.
    let mut changer =
        SeatChanger::connect(Target::Coguest, &urls[0], &urls[0], &auth, &room).await?;
    changer.seat_guest().await?;

    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, Value)>();
    let mut workers = Vec::new();
    for w in 0..procs {
        let first = w * (members / procs);
        let count = if w + 1 == procs {
            members - first
        } else {
            members / procs
        };
        let mut child = tokio::process::Command::new(bin)
            .arg("bench-worker")
            .arg("--urls")
            .arg(urls.join(","))
            .arg("--room")
            .arg(&room)
            .arg("--first")
            .arg(first.to_string())
            .arg("--count")
            .arg(count.to_string())
            .arg("--heartbeat-secs")
            .arg(args.heartbeat_secs.to_string())
            .args(
                args.ca_file
                    .iter()
                    .flat_map(|ca| [std::ffi::OsStr::new("--ca-file"), ca.as_os_str()]),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting load process {}", bin.display()))?;
        let Some(out) = child.stdout.take() else {
            bail!("load process {w} has no stdout");
        };
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(out).lines();
            while let Ok(Some(l)) = lines.next_line().await {
                if let Ok(v) = serde_json::from_str::<Value>(&l) {
                    let _ = tx.send((w, v));
                }
            }
        });
        workers.push(Worker { child, count });
    }
    drop(tx);

    pb.set_length(members as u64);
    pb.set_message("connecting");
    let t_connect = Instant::now();
    let mut connected = vec![0u64; procs];
    let mut ready = 0;
    let mut completions: HashMap<u64, Vec<u64>> = HashMap::new();
    while ready < procs {
        let msg = tokio::time::timeout(Duration::from_millis(10), rx.recv()).await;
        changer.drain().await;
        match msg {
            Err(_) => {}
            Ok(None) => bail!("every load process exited before all were ready"),
            Ok(Some((w, v))) => {
                if let Some(e) = v.get("error") {
                    bail!("load process {w}: {e}");
                }
                if let Some(n) = v.get("connected").and_then(Value::as_u64) {
                    connected[w] = n;
                }
                if v.get("ready").is_some() {
                    connected[w] = workers[w].count as u64;
                    ready += 1;
                }
                pb.set_position(connected.iter().sum());
            }
        }
        if t_connect.elapsed() > Duration::from_secs(900) {
            bail!(
                "{} of {members} members connected in 15 minutes",
                connected.iter().sum::<u64>()
            );
        }
    }
    let connect_secs = t_connect.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    changer.drain().await;
    let rss1: Vec<u64> = servers.procs.iter().map(|p| p.rss()).collect();

    let published = match cluster {
        Some((redis, prefix)) => Some(count_published(redis, prefix).await?),
        None => None,
    };

    let clock = MachineClock::now();
    let mut last = client::histogram();
    let mut measured = Vec::new();
    let mut commands = 0u64;
    let cpu0 = servers.cpu();
    let load_cpu0: f64 = workers
        .iter()
        .filter_map(|w| w.child.id().and_then(server::proc_cpu))
        .sum();
    pb.set_length(duration.as_secs());
    pb.set_position(0);
    pb.set_message("holding");
    let start = Instant::now();
    let mut k = 0u64;
    while start.elapsed() < duration {
        let due = start + interval.mul_f64(k as f64);
        while Instant::now() < due {
            let wait = due.saturating_duration_since(Instant::now());
            if let Ok(Some((_, v))) =
                tokio::time::timeout(wait.min(Duration::from_millis(100)), rx.recv()).await
            {
                record_line(&v, &mut completions)?;
            }
            changer.drain().await;
            pb.set_position(start.elapsed().as_secs());
        }
        if start.elapsed() >= duration {
            break;
        }
        let (version, sent) = changer.change(k).await?;
        commands += if k % 2 == 0 { 1 } else { 2 };
        measured.push(version);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if completions.get(&version).map_or(0, Vec::len) >= procs {
                break;
            }
            if Instant::now() > deadline {
                break;
            }
            if let Ok(Some((_, v))) =
                tokio::time::timeout(Duration::from_millis(2), rx.recv()).await
            {
                record_line(&v, &mut completions)?;
            }
            changer.drain().await;
        }
        if let Some(ts) = completions.get(&version).filter(|t| t.len() >= procs) {
            let at = ts.iter().copied().max().unwrap_or(0);
            last.saturating_record(at.saturating_sub(clock.us(sent)).max(1));
        }
        k += 1;
    }
    let held_secs = start.elapsed().as_secs_f64();
    let cpu = servers.cpu() - cpu0;
    let load_cpu: f64 = workers
        .iter()
        .filter_map(|w| w.child.id().and_then(server::proc_cpu))
        .sum::<f64>()
        - load_cpu0;
    let rss2: Vec<u64> = servers.procs.iter().map(|p| p.rss()).collect();
    // Read before the load processes leave (their detaches are not part of the hold).
    let published = match published {
        Some(p) => {
            // Let the counting subscriber read the last change.
            tokio::time::sleep(Duration::from_millis(200)).await;
            Some((
                p.room.load(Ordering::Relaxed),
                p.cmd.load(Ordering::Relaxed),
                p.node.load(Ordering::Relaxed),
            ))
        }
        None => None,
    };
    pb.finish_and_clear();

    // Stop the load processes and read their summaries.
    for w in &mut workers {
        drop(w.child.stdin.take());
    }
    let mut summaries: Vec<Option<Value>> = vec![None; procs];
    let deadline = Instant::now() + Duration::from_secs(60);
    while summaries.iter().any(Option::is_none) && Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(1), rx.recv()).await {
            Ok(Some((w, v))) if v.get("done").is_some() => summaries[w] = Some(v),
            Ok(Some((_, v))) => record_line(&v, &mut completions)?,
            Ok(None) => break,
            Err(_) => {}
        }
    }
    for w in &mut workers {
        let _ = tokio::time::timeout(Duration::from_secs(10), w.child.wait()).await;
    }

    let mut r = Report::new();
    let mut missing = 0u64;
    let sum = |key: &str| -> u64 {
        summaries
            .iter()
            .flatten()
            .filter_map(|s| s.get(key).and_then(Value::as_u64))
            .sum()
    };
    let (received, backwards, dropped, pings) = (
        sum("received"),
        sum("backwards"),
        sum("dropped"),
        sum("pings"),
    );
    let load_rss = sum("rss");
    let silent = summaries.iter().filter(|s| s.is_none()).count();
    for v in &measured {
        for (w, s) in summaries.iter().enumerate() {
            let seen = s
                .as_ref()
                .and_then(|s| s["counts"].get(v.to_string()))
                .and_then(Value::as_u64)
                .unwrap_or(0);
            missing += (workers[w].count as u64).saturating_sub(seen);
        }
    }
    r.put("members", members.to_string(), json!(members));
    r.put(
        "processes",
        format!(
            "{} server(s), {procs} load process(es)",
            servers.procs.len()
        ),
        json!({"servers": servers.procs.len(), "load": procs}),
    );
    r.put(
        "connect",
        format!(
            "{connect_secs:.1} s to connect and join every member ({:.0} joins/s)",
            members as f64 / connect_secs.max(0.001)
        ),
        json!(connect_secs),
    );
    r.put(
        "held",
        format!(
            "{held_secs:.0} s with a ping every {} s per member ({pings} pings)",
            args.heartbeat_secs
        ),
        json!({"secs": held_secs, "pings": pings}),
    );
    r.put("changes", measured.len().to_string(), json!(measured.len()));
    r.put(
        "interval_ms",
        format!("{} ms between changes", interval.as_millis()),
        json!(interval.as_millis() as u64),
    );
    r.latency("last_member", &last);
    let per_node: Vec<f64> = rss1
        .iter()
        .zip(&rss0)
        .map(|(a, b)| a.saturating_sub(*b) as f64 / 1024.0)
        .collect();
    let total_rss: u64 = rss2.iter().sum();
    r.put(
        "server_rss",
        format!(
            "{:.1} MiB in all after the hold ({:.2} KiB per member over the idle servers; per node MiB {:?})",
            total_rss as f64 / 1048576.0,
            per_node.iter().sum::<f64>() / members.max(1) as f64,
            rss2.iter()
                .map(|b| (*b as f64 / 1048576.0 * 10.0).round() / 10.0)
                .collect::<Vec<_>>()
        ),
        json!({"total": total_rss, "per_node": rss2, "grown_kib_per_member": per_node.iter().sum::<f64>() / members.max(1) as f64}),
    );
    r.put(
        "server_cpu",
        format!(
            "{cpu:.1} core-s over the hold ({:.1} % of a core; load processes {load_cpu:.1} core-s, {:.0} MiB)",
            cpu / held_secs.max(0.001) * 100.0,
            load_rss as f64 / 1048576.0
        ),
        json!({"cpu_secs": cpu, "cores_busy": cpu / held_secs.max(0.001), "load_cpu_secs": load_cpu, "load_rss": load_rss}),
    );
    if let Some((room, cmd, node)) = published {
        r.put(
            "redis_publishes",
            format!(
                "{room} on the room's channel for {commands} commands ({} seat changes), {cmd} forwarded commands, {node} answers to other nodes",
                measured.len()
            ),
            json!({"room_channel": room, "commands": commands, "cmd_channel": cmd, "node_channels": node}),
        );
        if room != commands {
            r.failures.push(format!(
                "{room} messages on the room channel for {commands} commands (one each expected)"
            ));
        }
    }
    r.put(
        "correctness",
        format!(
            "{missing} deliveries missing, {backwards} versions backwards, {dropped} connections dropped, {received} frames received"
        ),
        json!({"missing": missing, "backwards": backwards, "dropped": dropped, "received": received}),
    );
    if missing > 0 {
        r.failures
            .push(format!("{missing} seat-change deliveries missing"));
    }
    if backwards > 0 || dropped > 0 {
        r.failures.push(format!(
            "{backwards} versions backwards, {dropped} connections dropped"
        ));
    }
    if silent > 0 {
        r.failures
            .push(format!("{silent} load process(es) gave no summary"));
    }
    Ok(r)
}

fn record_line(v: &Value, completions: &mut HashMap<u64, Vec<u64>>) -> Result<()> {
    if let Some(e) = v.get("error") {
        bail!("a load process failed: {e}");
    }
    if let (Some(version), Some(at)) = (
        v.get("v").and_then(Value::as_u64),
        v.get("last_us").and_then(Value::as_u64),
    ) {
        completions.entry(version).or_default().push(at);
    }
    Ok(())
}
