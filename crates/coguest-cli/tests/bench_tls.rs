//! `coguest bench` over TLS: the servers it spawns serve a certificate of a private CA made
//! here (`--tls-cert`, `--tls-key`) and its load connections, its own and its load
//! processes', trust that CA (`--ca-file`); without the CA the run fails on the certificate.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::{Command, Output};
use support::tls::TestCerts;

/// `coguest bench` with `args` (words split at spaces) and the server certificate of `certs`,
/// trusting its CA when `trust`; the run's output and its JSON result (when written).
fn bench(args: &str, certs: &TestCerts, trust: bool) -> (Output, Option<serde_json::Value>) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("result.json");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coguest"));
    cmd.arg("bench")
        .args(args.split_whitespace())
        .arg("--tls-cert")
        .arg(&certs.cert)
        .arg("--tls-key")
        .arg(&certs.key)
        .arg("--out")
        .arg(&out);
    if trust {
        cmd.arg("--ca-file").arg(&certs.ca);
    }
    let run = cmd.output().unwrap();
    let result = std::fs::read_to_string(&out)
        .ok()
        .map(|s| serde_json::from_str(&s).unwrap());
    (run, result)
}

fn passed(run: &Output) -> String {
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.status.success() && stdout.contains("PASSED"),
        "{}:\n{stdout}\n{}",
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    stdout
}

#[test]
fn the_latency_scenario_runs_over_wss_trusting_a_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    let certs = TestCerts::new(dir.path());
    let (run, r) = bench(
        "latency --connections 12 --rooms 2 --rate 40 --duration 1 --warmup 0.2",
        &certs,
        true,
    );
    passed(&run);
    let r = r.unwrap();
    assert_eq!(r["tls"], true, "{r}");
    assert_eq!(r["correctness"]["lost"], 0, "{r}");
    assert!(r["latency"]["count"].as_u64().unwrap() >= 30, "{r}");
}

/// The hold scenario's load processes (`coguest bench-worker`) get the CA too.
#[test]
fn the_hold_scenarios_load_processes_connect_over_wss() {
    let dir = tempfile::tempdir().unwrap();
    let certs = TestCerts::new(dir.path());
    let (run, r) = bench(
        "hold --members 30 --load-procs 2 --duration 1 --interval-ms 300 --heartbeat-secs 0.5",
        &certs,
        true,
    );
    passed(&run);
    let r = r.unwrap();
    assert_eq!(r["correctness"]["missing"], 0, "{r}");
    assert!(r["changes"].as_u64().unwrap() >= 2, "{r}");
}

#[test]
fn without_the_ca_the_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let certs = TestCerts::new(dir.path());
    let (run, _) = bench(
        "latency --connections 2 --rooms 1 --rate 10 --duration 0.5 --warmup 0",
        &certs,
        false,
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "{stderr}");
    assert!(
        stderr.contains("TLS handshake with localhost") && stderr.contains("UnknownIssuer"),
        "{stderr}"
    );
}

#[test]
fn tls_needs_a_coguest_target_and_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let certs = TestCerts::new(dir.path());
    let (run, _) = bench("fanout --target nats --members 2", &certs, true);
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("--tls-cert runs coguest servers only"),
        "{stderr}"
    );
    let run = Command::new(env!("CARGO_BIN_EXE_coguest"))
        .args(["bench", "latency", "--tls-cert"])
        .arg(&certs.cert)
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("--tls-key"));
}
