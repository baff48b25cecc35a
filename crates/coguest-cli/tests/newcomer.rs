//! The README's "Try it" path on the real binary, as a newcomer runs it: `coguest serve` on
//! an empty data directory without `COGUEST_SECRET`, `coguest token` from that directory, a
//! WebSocket join with the README's frame; a restart keeps the secret; `serve --help` lists
//! every flag.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use coguest_proto::ServerMsg;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use support::process::{clean, exit_within, output, serve_without_secret, sigterm, start};
use support::{TestClient, WAIT};

/// `coguest token ...` as in the README, run in a clean environment; the token it prints.
async fn mint(data: &Path) -> String {
    let mut cmd = clean(&["token", "--data-dir"]);
    cmd.arg(data).args([
        "--user", "host_1", "--role", "owner", "--room", "r1", "--name", "Host",
    ]);
    let out = output(cmd, WAIT).await;
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "coguest token failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = stdout.trim().to_owned();
    assert_eq!(token.split('.').count(), 3, "a JWT: {token:?}");
    token
}

/// Connects with `token`, checks the welcome, sends the README's join frame verbatim and
/// checks the ack and the snapshot (the owner is on seat 0).
async fn join_as_readme_says(addr: SocketAddr, token: &str) -> TestClient {
    let mut c = TestClient::connect(&format!("ws://{addr}/v1/ws?token={token}"), "host_1").await;
    match c.next().await {
        ServerMsg::Welcome { user_id, .. } => assert_eq!(user_id, "host_1"),
        other => panic!("expected welcome, got {other:?}"),
    }
    c.send_text(r#"{"id":1,"room":"r1","cmd":"join"}"#).await;
    let ack = c.answer(1).await.expect("join acknowledged");
    assert!(ack.version.is_some(), "{ack:?}");
    let state = c.take_snapshot("r1");
    let seated: Vec<(i32, &str, &str)> = state
        .connected
        .iter()
        .map(|s| (s.seat_index, s.user_id.as_str(), s.user_name.as_str()))
        .collect();
    assert_eq!(seated, vec![(0, "host_1", "Host")], "{state:?}");
    c
}

#[tokio::test]
async fn serve_on_an_empty_data_dir_without_secret_then_token_then_join() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let secret_file = data.join(coguest_server::auth::SECRET_FILE);

    // Before any server ran, `coguest token` explains what to do instead of inventing a secret.
    let mut cmd = clean(&["token", "--data-dir"]);
    cmd.arg(&data).args(["--user", "host_1", "--role", "owner"]);
    let out = output(cmd, WAIT).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("coguest serve") && stderr.contains("COGUEST_SECRET"),
        "{stderr}"
    );
    assert!(!secret_file.exists(), "token created no secret");

    let (mut server, addr) = start(serve_without_secret(&data), WAIT).await;
    let secret = std::fs::read_to_string(&secret_file).expect("serve created the secret");
    assert!(secret.trim().len() >= 32, "a real secret: {secret:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secret_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the secret is private: {mode:o}");
    }

    let token = mint(&data).await;
    let c = join_as_readme_says(addr, &token).await;
    c.close().await;

    // A token for room r1 only.
    let mut c = TestClient::connect(&format!("ws://{addr}/v1/ws?token={token}"), "host_1").await;
    c.next().await;
    c.send_text(r#"{"id":1,"room":"other","cmd":"join"}"#).await;
    assert!(c.answer(1).await.is_err(), "the token is limited to r1");
    c.close().await;

    // Restart on the same directory: same secret, the old token still works.
    sigterm(&server).await;
    assert!(exit_within(&mut server, WAIT).await.success());
    let (server, addr) = start(serve_without_secret(&data), WAIT).await;
    assert_eq!(std::fs::read_to_string(&secret_file).unwrap(), secret);
    let c = join_as_readme_says(addr, &token).await;
    c.close().await;
    drop(server);
}

async fn help(args: &[&str]) -> String {
    let out = output(clean(args), Duration::from_secs(30)).await;
    assert!(out.status.success(), "coguest {args:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn serve_help_lists_every_flag_and_the_secret_variable() {
    let serve = help(&["serve", "--help"]).await;
    let listed = flags(&serve);
    for flag in [
        "--listen",
        "--data-dir",
        "--secret",
        "--log-format",
        "--grace-period-secs",
        "--max-frame-bytes",
        "--max-extra-info-bytes",
        "--commands-per-sec",
        "--command-burst",
        "--max-connections-per-user",
        "--max-members",
        "--outgoing-queue",
        "--api-key",
        "--webhook",
        "--webhook-secret",
        "--webhook-ca-file",
        "--webhook-retention-secs",
        "--redis",
        "--node-id",
        "--redis-prefix",
        "--lease-ms",
        "--room-creation",
        "--room-idle-unload",
        "--room-ttl",
    ] {
        assert!(
            listed.iter().any(|f| f == flag),
            "serve --help lacks {flag}:\n{serve}"
        );
    }
    for var in [
        "COGUEST_SECRET",
        "COGUEST_LISTEN",
        "COGUEST_DATA_DIR",
        "COGUEST_LOG_FORMAT",
        "COGUEST_API_KEY",
        "COGUEST_WEBHOOKS",
        "COGUEST_WEBHOOK_SECRET",
        "COGUEST_REDIS",
    ] {
        assert!(serve.contains(var), "serve --help lacks {var}:\n{serve}");
    }
    // The secret's value never shows, even when set.
    let mut cmd = clean(&["serve", "--help"]);
    cmd.env("COGUEST_SECRET", "do-not-print-me");
    let out = output(cmd, WAIT).await;
    assert!(!String::from_utf8_lossy(&out.stdout).contains("do-not-print-me"));

    // Every flag the README gives `coguest` exists in some `coguest ... --help` (flags of
    // cargo, redis-server and docker command lines are theirs, except what follows
    // `cargo run ... --`).
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let mut known = serve.clone();
    for args in [
        &["token", "--help"][..],
        &["bench", "--help"],
        &["cluster", "status", "--help"],
    ] {
        known.push_str(&help(args).await);
    }
    let known = flags(&known);
    let mentioned: Vec<String> = command_segments(&readme)
        .iter()
        .flat_map(|s| flags(s))
        .collect();
    assert!(mentioned.contains(&"--webhook-secret".to_owned()));
    for flag in mentioned {
        assert!(
            known.contains(&flag),
            "README mentions {flag}, which no `coguest ... --help` lists"
        );
    }
}

/// The parts of a Markdown text that may name `coguest` flags: prose and inline code spans,
/// each line of a fenced block; of a `cargo` command (after any `NAME=value`) only what it
/// passes on after ` -- `, nothing of a `redis-server` or `docker` one.
fn command_segments(markdown: &str) -> Vec<String> {
    let mut segments = Vec::new();
    let mut text = String::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if fenced {
            segments.push(line.to_owned());
        } else {
            text.push_str(line);
            text.push('\n');
        }
    }
    segments.extend(text.split('`').map(str::to_owned));
    segments
        .into_iter()
        .filter_map(|s| {
            // Past leading `NAME=value` assignments.
            let mut t = s.trim_start();
            while let Some((word, rest)) = t.split_once(' ') {
                let name = word.split_once('=').map_or("", |(n, _)| n);
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                    break;
                }
                t = rest.trim_start();
            }
            if t.starts_with("redis-server") || t.starts_with("docker ") {
                None
            } else if t.starts_with("cargo ") {
                t.split_once(" -- ").map(|(_, rest)| rest.to_owned())
            } else {
                Some(s)
            }
        })
        .collect()
}

/// Every `--flag` word in `text`.
fn flags(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("--") {
        let after = &rest[at + 2..];
        let len = after
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
            .unwrap_or(after.len());
        let name = &after[..len];
        let starts_word = at == 0 || !rest.as_bytes()[at - 1].is_ascii_alphanumeric();
        if starts_word && name.len() > 1 && name.as_bytes()[0].is_ascii_lowercase() {
            let flag = format!("--{name}");
            if !out.contains(&flag) {
                out.push(flag);
            }
        }
        rest = &after[len..];
    }
    out
}
