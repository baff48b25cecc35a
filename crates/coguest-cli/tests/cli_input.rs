//! The binary's own input and output: `coguest token --ttl 0` is refused (it would mint an
//! expired token), the room lifecycle flags parse durations, and `coguest serve` logging to
//! a file (not a terminal) writes plain text without ANSI colour codes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Stdio;
use support::WAIT;
use support::process::{clean, exit_within, output, serve, sigterm};
use tokio::io::{AsyncBufReadExt, BufReader};

/// `coguest token` with a secret and these extra arguments.
fn token(args: &[&str]) -> tokio::process::Command {
    let mut cmd = clean(&[
        "token", "--secret", "s3cret", "--user", "alice", "--role", "owner",
    ]);
    cmd.args(args);
    cmd
}

#[tokio::test]
async fn a_token_lifetime_of_zero_is_refused() {
    let out = output(token(&["--ttl", "0"]), WAIT).await;
    assert!(!out.status.success(), "--ttl 0 minted a token");
    assert!(out.stdout.is_empty(), "no token printed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--ttl"), "{stderr}");
    assert!(stderr.contains("at least 1 second"), "{stderr}");
    let out = output(token(&["--ttl", "1"]), WAIT).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn lifecycle_flags_take_durations() {
    for (flag, value, ok) in [
        ("--room-ttl", "7d", true),
        ("--room-ttl", "0", true),
        ("--room-idle-unload", "90s", true),
        ("--room-idle-unload", "5m", true),
        ("--room-ttl", "7 weeks", false),
        ("--room-ttl", "1y", false),
        ("--room-creation", "anyone", true),
        ("--room-creation", "everybody", false),
    ] {
        // `--help` after the flag: the value is parsed (and refused) first; nothing starts.
        let out = output(clean(&["serve", flag, value, "--help"]), WAIT).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.success(), ok, "{flag} {value}: {stderr}");
        if !ok {
            assert!(
                stderr.contains(&format!("invalid value '{value}' for '{flag}")),
                "{stderr}"
            );
        }
    }
}

#[tokio::test]
async fn logs_written_to_a_file_have_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut cmd = serve(&dir.path().join("data"));
    cmd.env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .kill_on_drop(true);
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .unwrap()
        .unwrap();
    assert!(first.is_some_and(|l| l.contains("listening")));
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    sigterm(&child).await;
    assert!(exit_within(&mut child, WAIT).await.success());
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(text.contains("coguest server listening"), "{text}");
    assert!(text.contains("INFO"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "ANSI escape codes in a log file: {text:?}"
    );
}
