//! `coguest bench`: an open-loop load generator for coguest and its baselines.
//!
//! Every scenario spawns its own server processes (coguest, the socket.io baseline or
//! nats-server), optionally pinned with `taskset`, drives them over loopback WebSockets, and
//! measures latency from each command's *scheduled* time (so a slow server cannot hide its
//! queueing: no coordinated omission) into an HdrHistogram. Server CPU and memory come from
//! `/proc` of the server processes. The run prints a table, writes a JSON file, and fails when
//! a command went unanswered, a member saw a room version go backwards, or a member missed a
//! seat change.

mod approve;
mod args;
mod client;
mod fanout;
mod hold;
mod ops;
mod report;
mod server;
mod tls;
mod wire;

use anyhow::{Context, Result, bail};
pub use args::BenchArgs;
use args::Scenario;
pub use hold::{WorkerArgs, worker};
use report::{Report, progress_bar};
use serde_json::{Value, json};
use server::{Servers, Spawn};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use wire::Target;

/// Runs `coguest bench`.
pub fn run(args: BenchArgs) -> Result<()> {
    let this_exe = std::env::current_exe().context("locating this executable")?;
    let cluster = match &args.redis {
        Some(url) if args.target == Target::Coguest => Some((
            url.clone(),
            format!(
                "bench-{}-{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0)
            ),
        )),
        Some(_) => bail!("--redis runs coguest servers only"),
        None => None,
    };
    if args.ping_only && args.target == Target::Socketio {
        bail!("--ping-only runs against coguest and NATS (the socket.io baseline has no ping)");
    }
    if args.scenario == Scenario::Hold && args.target != Target::Coguest {
        bail!("the hold scenario runs against coguest only");
    }
    if args.tls_cert.is_some() && args.target != Target::Coguest {
        bail!("--tls-cert runs coguest servers only");
    }
    tls::trust(args.ca_file.as_deref())?;
    let mut extra: Vec<String> = [
        "--commands-per-sec",
        "1000000",
        "--command-burst",
        "1000000",
        "--outgoing-queue",
        "4096",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    if matches!(args.scenario, Scenario::Hold | Scenario::Fanout) {
        // One room holds every member (plus the host and the guest).
        extra.extend(["--max-members".into(), (args.members + 16).to_string()]);
    }
    let ops = matches!(
        args.scenario,
        Scenario::Latency | Scenario::Heavy | Scenario::Saturate
    );
    let hook = match args.approve_delay_ms {
        Some(_) if !ops || args.target != Target::Coguest || args.ping_only => {
            bail!("--approve-delay-ms runs the command scenarios against coguest")
        }
        Some(ms) => {
            let hook = approve::start(Duration::from_millis(ms))?;
            extra.extend([
                "--approve-url".into(),
                format!("apply={}", hook.url),
                "--approve-url".into(),
                format!("invite={}", hook.url),
                "--approve-secret".into(),
                approve::SECRET.into(),
            ]);
            Some(hook)
        }
        None => None,
    };
    let spawn = Spawn {
        target: args.target,
        cpus: args.server_cpus.clone(),
        coguest_bin: match &args.coguest_bin {
            Some(p) => p.clone(),
            None => this_exe.clone(),
        },
        socketio_js: args.socketio_js.clone(),
        nats_bin: args.nats_bin.clone(),
        // The load's own pace is the limit under test, not the per-connection quotas.
        extra,
        cluster: cluster.clone(),
        tls: args.tls_cert.clone().zip(args.tls_key.clone()),
    };
    if args.target == Target::Nats
        && !matches!(args.scenario, Scenario::Fanout | Scenario::Connections)
        && !(ops && args.ping_only)
    {
        bail!(
            "the NATS baseline runs the fanout and connections scenarios, and the command \
             scenarios with --ping-only"
        );
    }
    let servers = Servers {
        procs: (0..args.servers.max(1))
            .map(|i| spawn.start(i))
            .collect::<Result<_>>()?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let started = Instant::now();
    let report = runtime.block_on(async {
        match args.scenario {
            Scenario::Latency => ops_run(&args, &servers, 1000, 10, 100.0).await,
            Scenario::Heavy => ops_run(&args, &servers, 10_000, 500, 2000.0).await,
            Scenario::Saturate => saturate(&args, &servers).await,
            Scenario::Fanout => fanout_run(&args, &servers).await,
            Scenario::Connections => connections(&args, &servers).await,
            Scenario::Hold => hold::run(&args, &servers, &this_exe, cluster.as_ref()).await,
        }
    });
    if let Some((url, prefix)) = &cluster {
        drop(servers);
        if let Err(e) = runtime.block_on(remove_prefix(url, prefix)) {
            eprintln!("removing the run's Redis keys ({prefix}:*) failed: {e:#}");
        }
    } else {
        drop(servers);
    }
    runtime.shutdown_timeout(Duration::from_secs(2));
    let mut report = report?;
    let mut head = serde_json::Map::new();
    head.insert("scenario".into(), json!(args.scenario));
    head.insert("target".into(), json!(args.target));
    head.insert("label".into(), json!(args.label));
    head.insert("ping_only".into(), json!(args.ping_only));
    head.insert("approve_delay_ms".into(), json!(args.approve_delay_ms));
    head.insert(
        "approvals_allowed".into(),
        json!(hook.as_ref().map(approve::ApproveHook::allowed)),
    );
    head.insert("servers".into(), json!(args.servers.max(1)));
    head.insert("cluster".into(), json!(args.redis.is_some()));
    head.insert("tls".into(), json!(args.tls_cert.is_some()));
    head.insert("server_cpus".into(), json!(args.server_cpus));
    head.insert(
        "cores".into(),
        json!(
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(0)
        ),
    );
    head.insert(
        "unix_time".into(),
        json!(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        ),
    );
    head.insert("wall_secs".into(), json!(started.elapsed().as_secs_f64()));
    head.insert("passed".into(), json!(report.failures.is_empty()));
    head.insert("failures".into(), json!(report.failures));
    head.append(&mut report.json);
    println!(
        "\ncoguest bench {:?} against {:?} ({} server process(es){})",
        args.scenario,
        args.target,
        args.servers.max(1),
        args.server_cpus
            .as_ref()
            .map(|c| format!(", pinned to CPU {c}"))
            .unwrap_or_default()
    );
    let width = report.rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in &report.rows {
        println!("  {k:<width$}  {v}");
    }
    if let Some(out) = &args.out {
        std::fs::write(out, serde_json::to_string_pretty(&Value::Object(head))?)
            .with_context(|| format!("writing {}", out.display()))?;
        println!("  result written to {}", out.display());
    }
    if report.failures.is_empty() {
        println!("  PASSED: every command answered, no version went backwards, nothing missing");
        Ok(())
    } else {
        for f in &report.failures {
            println!("  FAILED: {f}");
        }
        bail!("the run lost or reordered something")
    }
}

/// Deletes every key of a benchmark cluster (they are many: one room of 100,000 members).
async fn remove_prefix(url: &str, prefix: &str) -> Result<()> {
    let client = redis::Client::open(url)?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}:*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut conn)
            .await?;
        if !keys.is_empty() {
            let _: u64 = redis::cmd("DEL").arg(&keys).query_async(&mut conn).await?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}

/// Where the command scenarios connect each room's members.
fn placement(args: &BenchArgs) -> ops::Placement {
    if args.redis.is_some() {
        ops::Placement::CrossNode
    } else {
        ops::Placement::RoomPerServer
    }
}

/// Connects a command scenario's `conns` connections in `rooms` rooms over the servers,
/// placed as [`placement`] says.
async fn connect_fleet(
    args: &BenchArgs,
    servers: &Servers,
    conns: usize,
    rooms: usize,
    mix: ops::Mix,
    pb: &indicatif::ProgressBar,
) -> Result<ops::Fleet> {
    let urls = servers.urls();
    ops::connect_fleet(args.target, &urls, placement(args), conns, rooms, mix, pb).await
}

fn mix(args: &BenchArgs) -> ops::Mix {
    if args.ping_only {
        ops::Mix::Ping
    } else {
        ops::Mix::Seats
    }
}

fn secs(args: &BenchArgs, default: f64) -> Duration {
    Duration::from_secs_f64(args.duration.unwrap_or(default).max(0.1))
}

async fn ops_run(
    args: &BenchArgs,
    servers: &Servers,
    conns: usize,
    rooms: usize,
    rate: f64,
) -> Result<Report> {
    let conns = args.connections.unwrap_or(conns);
    let rooms = args.rooms.unwrap_or(rooms);
    let rate = args.rate.unwrap_or(rate);
    let duration = secs(args, 20.0);
    let pb = progress_bar();
    let fleet = connect_fleet(args, servers, conns, rooms, mix(args), &pb).await?;
    let rss = servers.rss();
    pb.set_message("warm-up");
    fleet.stats.recording.store(false, Ordering::Relaxed);
    if args.warmup > 0.0 {
        fleet
            .schedule(rate, Duration::from_secs_f64(args.warmup), &pb)
            .await;
        fleet.drain(Duration::from_secs(5)).await;
    }
    for hist in [&fleet.stats.hist, &fleet.stats.lag] {
        if let Ok(mut h) = hist.lock() {
            h.reset();
        }
    }
    fleet.stats.recording.store(true, Ordering::Relaxed);
    let answered0 = fleet.stats.answered();
    let received0 = fleet.stats.received.load(Ordering::Relaxed);
    let skipped0 = fleet.skipped.load(Ordering::Relaxed);
    let cpu0 = servers.cpu_time();
    let load_cpu0 = server::self_cpu();
    pb.set_message("measuring");
    let t0 = Instant::now();
    fleet.schedule(rate, duration, &pb).await;
    let lost = fleet.drain(Duration::from_secs(10)).await;
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu = servers.cpu_time() - cpu0;
    let load_cpu = server::self_cpu() - load_cpu0;
    pb.finish_and_clear();
    let mut r = Report::new();
    let answered = fleet.stats.answered() - answered0;
    let received = fleet.stats.received.load(Ordering::Relaxed) - received0;
    r.put(
        "connections",
        fleet.connections.to_string(),
        json!(fleet.connections),
    );
    r.put("rooms", rooms.to_string(), json!(rooms));
    r.put(
        "rate",
        format!("{rate} ops/s for {:.1} s", duration.as_secs_f64()),
        json!(rate),
    );
    r.latency("latency", &client::snapshot(&fleet.stats.hist));
    r.latency("send_lag", &client::snapshot(&fleet.stats.lag));
    ops_counts(
        &mut r,
        &fleet,
        answered,
        received,
        lost,
        fleet.skipped.load(Ordering::Relaxed) - skipped0,
    );
    r.put("elapsed", format!("{elapsed:.2} s"), json!(elapsed));
    per_core(&mut r, answered, received, cpu, load_cpu);
    r.put(
        "server_rss",
        format!("{:.1} MiB", rss as f64 / 1048576.0),
        json!(rss),
    );
    fleet.close().await;
    Ok(r)
}

fn ops_counts(
    r: &mut Report,
    fleet: &ops::Fleet,
    answered: u64,
    received: u64,
    lost: u64,
    skipped: u64,
) {
    let s = &fleet.stats;
    let refused = s.refused.lock().map(|m| m.clone()).unwrap_or_default();
    r.put(
        "commands",
        format!(
            "{answered} answered ({} acked in total, refused by code {refused:?}), {skipped} ticks skipped (no member free)",
            s.acked.load(Ordering::Relaxed)
        ),
        json!({"answered": answered, "acked_total": s.acked.load(Ordering::Relaxed), "refused": refused, "skipped": skipped}),
    );
    r.put(
        "deliveries",
        format!("{received} frames received"),
        json!(received),
    );
    let backwards = s.backwards.load(Ordering::Relaxed);
    let dropped = s.dropped.load(Ordering::Relaxed);
    r.put(
        "correctness",
        format!("{lost} lost, {backwards} versions backwards, {dropped} connections dropped"),
        json!({"lost": lost, "backwards": backwards, "dropped": dropped}),
    );
    if lost > 0 {
        r.failures.push(format!("{lost} commands never answered"));
    }
    if backwards > 0 {
        r.failures.push(format!(
            "{backwards} room versions went backwards for a member"
        ));
    }
    if dropped > 0 {
        r.failures
            .push(format!("{dropped} connections dropped during the run"));
    }
}

fn per_core(r: &mut Report, answered: u64, received: u64, cpu: server::CpuTime, load_cpu: f64) {
    let total = cpu.total.max(0.01);
    r.put(
        "server_cpu",
        format!(
            "{total:.2} core-s ({:.2} in user space): {:.0} commands and {:.0} deliveries per core-second (load generator used {load_cpu:.2} core-s)",
            cpu.user,
            answered as f64 / total,
            received as f64 / total
        ),
        json!({"cpu_secs": total, "user_cpu_secs": cpu.user,
               "commands_per_core_sec": answered as f64 / total,
               "deliveries_per_core_sec": received as f64 / total, "load_cpu_secs": load_cpu}),
    );
}

async fn saturate(args: &BenchArgs, servers: &Servers) -> Result<Report> {
    let conns = args.connections.unwrap_or(2000);
    let rooms = args.rooms.unwrap_or(100);
    let step = secs(args, 5.0);
    let pb = progress_bar();
    let fleet = connect_fleet(args, servers, conns, rooms, mix(args), &pb).await?;
    let mut rate = args.rate.unwrap_or(500.0);
    let mut steps = Vec::new();
    let mut knee: Option<Value> = None;
    let mut r = Report::new();
    let mut lost_total = 0;
    // One step over the limit can be noise (another process on the machine); two in a row end
    // the ramp. The knee is the last step within the limit.
    let mut over_in_a_row = 0;
    while rate <= args.max_rate {
        if let Ok(mut h) = fleet.stats.hist.lock() {
            h.reset();
        }
        let answered0 = fleet.stats.answered();
        let received0 = fleet.stats.received.load(Ordering::Relaxed);
        let cpu0 = servers.cpu_time();
        pb.set_message(format!("{rate:.0} ops/s"));
        let t0 = Instant::now();
        fleet.schedule(rate, step, &pb).await;
        let lost = fleet.drain(Duration::from_secs(10)).await;
        let elapsed = t0.elapsed().as_secs_f64();
        let used = servers.cpu_time() - cpu0;
        let cpu = used.total.max(0.01);
        let user = used.user.max(0.01);
        let answered = fleet.stats.answered() - answered0;
        let received = fleet.stats.received.load(Ordering::Relaxed) - received0;
        let h = client::snapshot(&fleet.stats.hist);
        let p99 = h.value_at_quantile(0.99) as f64 / 1000.0;
        let entry = json!({
            "rate": rate, "achieved_ops_s": answered as f64 / step.as_secs_f64(),
            "p50_ms": h.value_at_quantile(0.5) as f64 / 1000.0, "p99_ms": p99,
            "server_cpu_secs": cpu, "server_cores_busy": cpu / elapsed,
            "commands_per_core_sec": answered as f64 / cpu,
            "deliveries_per_core_sec": received as f64 / cpu, "lost": lost,
            "server_user_cpu_secs": user,
            "commands_per_user_core_sec": answered as f64 / user,
        });
        r.rows.push((
            format!("step {rate:.0}/s"),
            format!(
                "achieved {:.0}/s  p50 {:.2} ms  p99 {p99:.2} ms  server {:.2} cores  {:.0} cmd/core-s  {:.0} deliveries/core-s  {:.0} cmd/user-core-s  lost {lost}",
                answered as f64 / step.as_secs_f64(),
                h.value_at_quantile(0.5) as f64 / 1000.0,
                cpu / elapsed,
                answered as f64 / cpu,
                received as f64 / cpu,
                answered as f64 / user
            ),
        ));
        steps.push(entry.clone());
        lost_total += lost;
        if lost > 0 {
            break;
        }
        if p99 > args.p99_limit_ms {
            over_in_a_row += 1;
            if over_in_a_row >= 2 {
                break;
            }
        } else {
            over_in_a_row = 0;
            knee = Some(entry);
        }
        rate *= args.step_factor.max(1.05);
    }
    pb.finish_and_clear();
    r.json.insert("steps".into(), json!(steps));
    match &knee {
        Some(k) => r.put(
            "knee",
            format!(
                "{:.0} ops/s with p99 {:.2} ms: {:.0} commands and {:.0} deliveries per server core-second",
                k["rate"].as_f64().unwrap_or(0.0),
                k["p99_ms"].as_f64().unwrap_or(0.0),
                k["commands_per_core_sec"].as_f64().unwrap_or(0.0),
                k["deliveries_per_core_sec"].as_f64().unwrap_or(0.0)
            ),
            k.clone(),
        ),
        None => r.put("knee", "below the first step".into(), Value::Null),
    }
    ops_counts(
        &mut r,
        &fleet,
        fleet.stats.answered(),
        fleet.stats.received.load(Ordering::Relaxed),
        lost_total,
        fleet.skipped.load(Ordering::Relaxed),
    );
    fleet.close().await;
    Ok(r)
}

async fn fanout_run(args: &BenchArgs, servers: &Servers) -> Result<Report> {
    let pb = progress_bar();
    let base = &servers.procs[0].ws;
    let rss0 = servers.rss();
    let cpu = || servers.cpu_time();
    let res = fanout::run(
        args.target,
        base,
        args.members,
        args.changes,
        Duration::from_millis(args.interval_ms.unwrap_or(250)),
        &pb,
        &cpu,
    )
    .await?;
    pb.finish_and_clear();
    let mut r = Report::new();
    r.put("members", res.members.to_string(), json!(res.members));
    r.put("changes", res.changes.to_string(), json!(res.changes));
    r.latency("last_member", &res.last);
    let deliveries = res.changes * res.members as u64;
    let cpu = res.cpu.total.max(0.001);
    // The server's kernel time per change: on one core, a floor under the time to the last
    // member that no user-space work can lower (the sends and, on loopback, the receivers'
    // TCP work they run).
    let kernel_ms_per_change = res.cpu.kernel() * 1000.0 / res.changes.max(1) as f64;
    r.put(
        "server_cpu",
        format!(
            "{cpu:.2} core-s ({:.2} in user space) for {deliveries} deliveries: {:.0} deliveries per core-second; kernel time {kernel_ms_per_change:.1} ms per change",
            res.cpu.user,
            deliveries as f64 / cpu
        ),
        json!({"cpu_secs": cpu, "user_cpu_secs": res.cpu.user,
               "deliveries_per_core_sec": deliveries as f64 / cpu,
               "kernel_ms_per_change": kernel_ms_per_change}),
    );
    let rss = servers.rss();
    r.put(
        "server_rss",
        format!(
            "{:.1} MiB ({:.2} KiB per member over the idle server)",
            rss as f64 / 1048576.0,
            (rss.saturating_sub(rss0)) as f64 / 1024.0 / res.members.max(1) as f64
        ),
        json!(rss),
    );
    let backwards = res.stats.backwards.load(Ordering::Relaxed);
    let dropped = res.stats.dropped.load(Ordering::Relaxed);
    r.put(
        "correctness",
        format!(
            "{} deliveries missing, {backwards} versions backwards, {dropped} connections dropped",
            res.missing
        ),
        json!({"missing": res.missing, "backwards": backwards, "dropped": dropped}),
    );
    if res.missing > 0 {
        r.failures
            .push(format!("{} seat-change deliveries missing", res.missing));
    }
    if backwards > 0 || dropped > 0 {
        r.failures.push(format!(
            "{backwards} versions backwards, {dropped} connections dropped"
        ));
    }
    Ok(r)
}

async fn connections(args: &BenchArgs, servers: &Servers) -> Result<Report> {
    let n = args.connections.unwrap_or(10_000);
    let idle = secs(args, 10.0);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss0 = servers.rss();
    let pb = progress_bar();
    let mut r = Report::new();
    let mut nats = Vec::new();
    let mut fleet = None;
    if args.target == Target::Nats {
        nats = fanout::nats_idle(&servers.procs[0].ws, n, &pb).await?;
    } else {
        let rooms = args.rooms.unwrap_or(n.div_ceil(1000)).max(1);
        fleet = Some(connect_fleet(args, servers, n, rooms, ops::Mix::Seats, &pb).await?);
    }
    pb.finish_and_clear();
    // Let allocators settle, then measure memory and an idle window of CPU.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss1 = servers.rss();
    let cpu0 = servers.cpu();
    tokio::time::sleep(idle).await;
    let cpu = servers.cpu() - cpu0;
    let held = fleet.as_ref().map_or(nats.len(), |f| f.connections);
    let per = (rss1.saturating_sub(rss0)) as f64 / held.max(1) as f64;
    r.put("connections", held.to_string(), json!(held));
    r.put(
        "server_rss_idle",
        format!("{:.1} MiB before connecting", rss0 as f64 / 1048576.0),
        json!(rss0),
    );
    r.put(
        "server_rss_held",
        format!(
            "{:.1} MiB with every connection joined",
            rss1 as f64 / 1048576.0
        ),
        json!(rss1),
    );
    r.put(
        "rss_per_connection",
        format!("{:.2} KiB", per / 1024.0),
        json!(per),
    );
    r.put(
        "idle_cpu",
        format!(
            "{:.3} % of a core over {:.0} s",
            cpu / idle.as_secs_f64() * 100.0,
            idle.as_secs_f64()
        ),
        json!(cpu / idle.as_secs_f64()),
    );
    if let Some(f) = fleet {
        let dropped = f.stats.dropped.load(Ordering::Relaxed);
        if dropped > 0 {
            r.failures
                .push(format!("{dropped} connections dropped while idle"));
        }
        f.close().await;
    }
    drop(nats);
    Ok(r)
}
