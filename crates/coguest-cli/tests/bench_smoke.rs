//! Smoke test of `coguest bench`: every coguest scenario at a tiny size, a few seconds each,
//! against servers the tool spawns itself. The real measurements are `bench/run.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;
use support::redis_url;

/// `coguest bench` with `args` (words split at spaces), which must pass; its JSON result.
fn bench(args: &str) -> serde_json::Value {
    let args: Vec<&str> = args.split_whitespace().collect();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("result.json");
    let run = Command::new(env!("CARGO_BIN_EXE_coguest"))
        .arg("bench")
        .args(&args)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "coguest bench {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("PASSED"), "{stdout}");
    serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap()
}

/// [`bench`] with two servers run as one cluster on the Redis the cluster tests use.
fn bench_on_a_cluster(args: &str) -> serde_json::Value {
    bench(&format!("{args} --servers 2 --redis {}", redis_url()))
}

/// A `latency` run of a second over 12 connections.
const TINY_LATENCY: &str = "--connections 12 --rooms 2 --rate 40 --duration 1 --warmup 0.2";

#[test]
fn latency_scenario_answers_every_command() {
    let r = bench(&format!("latency {TINY_LATENCY}"));
    assert_eq!(r["passed"], true);
    assert_eq!(r["correctness"]["lost"], 0);
    assert!(r["latency"]["count"].as_u64().unwrap() >= 30, "{r}");
    assert!(r["latency"]["p99_ms"].as_f64().unwrap() > 0.0);
    assert_cpu_split(&r);
}

/// `--approve-delay-ms`: the same schedule with an in-process approval hook asked before
/// every application and invitation; it checked every signature and allowed each request.
#[test]
fn latency_scenario_with_an_approval_hook_asks_it() {
    let r = bench(&format!("latency --approve-delay-ms 1 {TINY_LATENCY}"));
    assert_eq!(r["passed"], true);
    assert_eq!(r["approve_delay_ms"], 1);
    assert!(r["approvals_allowed"].as_u64().unwrap() > 0, "{r}");
    let refused = r["commands"]["refused"].as_object().unwrap();
    assert!(
        !refused.keys().any(|k| k.contains("APPROVAL")),
        "the hook refused: {r}"
    );
}

/// `--ping-only`: the same schedule of room pings, each answered, nothing refused, and no
/// frame delivered but the answers (nothing was changed).
#[test]
fn latency_scenario_with_pings_only_answers_each_and_changes_nothing() {
    let r = bench(&format!("latency --ping-only {TINY_LATENCY}"));
    assert_eq!(r["ping_only"], true);
    assert_eq!(r["correctness"]["lost"], 0);
    assert_eq!(r["commands"]["refused"], serde_json::json!({}), "{r}");
    let answered = r["commands"]["answered"].as_u64().unwrap();
    assert!(answered >= 30, "{r}");
    assert_eq!(
        r["deliveries"].as_u64().unwrap(),
        answered,
        "a ping changed the room: {r}"
    );
}

/// The NATS baseline's round trip (`--target nats --ping-only`): each connection's publish
/// comes back to it as its answer, on the same schedule (nats-server from PATH, which
/// `.ci/run` installs when missing).
#[test]
fn latency_scenario_against_nats_times_each_publish_back() {
    let r = bench(&format!("latency --target nats --ping-only {TINY_LATENCY}"));
    assert_eq!(r["target"], "nats");
    assert_eq!(r["correctness"]["lost"], 0);
    assert!(r["latency"]["count"].as_u64().unwrap() >= 30, "{r}");
    assert_eq!(r["commands"]["refused"], serde_json::json!({}), "{r}");
}

#[test]
fn fanout_scenario_reaches_every_member() {
    let r = bench("fanout --members 20 --changes 4 --interval-ms 50");
    assert_eq!(r["correctness"]["missing"], 0);
    assert_eq!(r["last_member"]["count"], 4);
    assert_cpu_split(&r);
    assert!(
        r["server_cpu"]["kernel_ms_per_change"].as_f64().unwrap() >= 0.0,
        "{r}"
    );
}

/// The server's CPU is reported in all and in user space, the part no larger than the whole.
fn assert_cpu_split(r: &serde_json::Value) {
    let total = r["server_cpu"]["cpu_secs"].as_f64().unwrap();
    let user = r["server_cpu"]["user_cpu_secs"].as_f64().unwrap();
    assert!((0.0..=total).contains(&user), "{r}");
}

#[test]
fn connections_and_saturate_scenarios_report() {
    let r = bench("connections --connections 20 --duration 0.5");
    assert!(r["rss_per_connection"].as_f64().is_some(), "{r}");
    let r = bench("saturate --connections 8 --rooms 2 --rate 20 --duration 0.5 --max-rate 40");
    assert!(!r["steps"].as_array().unwrap().is_empty(), "{r}");
}

/// The hold scenario over a real two-node cluster (the Redis the cluster tests use) and two
/// load processes: every member sees every change, one room-channel publish per command.
#[test]
fn hold_scenario_spans_nodes_and_load_processes() {
    let r = bench_on_a_cluster(
        "hold --members 60 --load-procs 2 --duration 2 --interval-ms 400 --heartbeat-secs 0.5",
    );
    assert_eq!(r["correctness"]["missing"], 0, "{r}");
    assert_eq!(r["correctness"]["dropped"], 0, "{r}");
    let changes = r["changes"].as_u64().unwrap();
    assert!(changes >= 3, "{r}");
    assert_eq!(r["last_member"]["count"].as_u64().unwrap(), changes);
    assert!(r["held"]["pings"].as_u64().unwrap() >= 60, "{r}");
    let p = &r["redis_publishes"];
    assert_eq!(p["room_channel"], p["commands"], "{r}");
}

/// The command scenarios on a cluster put every guest on another node than its room's owner.
#[test]
fn heavy_scenario_runs_across_cluster_nodes() {
    let r =
        bench_on_a_cluster("heavy --connections 40 --rooms 4 --rate 40 --duration 1 --warmup 0.2");
    assert_eq!(r["cluster"], true);
    assert_eq!(r["correctness"]["lost"], 0, "{r}");
    assert!(r["latency"]["count"].as_u64().unwrap() >= 30, "{r}");
}
