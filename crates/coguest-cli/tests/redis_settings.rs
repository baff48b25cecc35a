//! What `coguest serve --redis` checks before it listens: the URL (a bad one is refused with
//! its reason, before "listening"), that Redis answers, and whether Redis keeps its writes on
//! disk (a warning when a Redis restart would lose acknowledged changes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;
use support::process::{output, serve};
use support::redis_server::RedisServer;

/// `coguest serve --redis URL` run until it exits (a refusal) or for `secs` (then killed).
async fn serve_for(url: &str, secs: u64) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = serve(dir.path());
    cmd.args(["--redis", url, "--redis-prefix", "settings-test"])
        .env("RUST_LOG", "warn")
        .env("RUST_BACKTRACE", "0");
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let killer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(secs)).await;
        support::process::signal(pid, "-TERM");
    });
    let out = tokio::time::timeout(Duration::from_secs(secs + 20), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    killer.abort();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (text(&out.stdout), text(&out.stderr))
}

#[tokio::test]
async fn a_redis_without_persistence_is_warned_about() {
    let redis = RedisServer::start(&["--save", "", "--appendonly", "no"]);
    let (stdout, stderr) = serve_for(&redis.url(), 2).await;
    assert!(stdout.contains("coguest listening"), "{stdout}\n{stderr}");
    assert!(stderr.contains("Redis has no persistence"), "{stderr}");
}

#[tokio::test]
async fn a_redis_with_an_append_only_file_is_not_warned_about() {
    let redis = RedisServer::start(&["--save", "", "--appendonly", "yes"]);
    let (stdout, stderr) = serve_for(&redis.url(), 2).await;
    assert!(stdout.contains("coguest listening"), "{stdout}\n{stderr}");
    assert!(!stderr.contains("persistence"), "{stderr}");
    assert!(!stderr.contains("RDB"), "{stderr}");
}

#[tokio::test]
async fn a_bad_redis_url_is_refused_before_listening() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = serve(dir.path());
    cmd.args(["--redis", "http://user:secret@127.0.0.1:6379"])
        .env("RUST_BACKTRACE", "0");
    let out = output(cmd, Duration::from_secs(20)).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(!stdout.contains("listening"), "{stdout}");
    assert!(
        stderr.contains("--redis \"http://user:***@127.0.0.1:6379\""),
        "{stderr}"
    );
    assert!(!stderr.contains("secret"), "{stderr}");
    assert!(!stderr.contains("io:"), "{stderr}");
}

#[tokio::test]
async fn an_unreachable_redis_is_refused_before_listening() {
    let port = support::redis_server::free_port();
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = serve(dir.path());
    cmd.args(["--redis", &format!("redis://127.0.0.1:{port}")])
        .env("RUST_BACKTRACE", "0");
    let out = output(cmd, Duration::from_secs(20)).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(!stdout.contains("listening"), "{stdout}");
    assert!(
        stderr.contains(&format!("cannot use Redis at redis://127.0.0.1:{port}")),
        "{stderr}"
    );
}
