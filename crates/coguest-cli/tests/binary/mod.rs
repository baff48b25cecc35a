//! Runs the real `coguest serve` binary for process-level tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// `coguest serve` on a free loopback port with `data` as its data directory; add more flags
/// to the returned command before passing it to [`start`].
pub fn serve(data: &std::path::Path, secret: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coguest"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env("COGUEST_SECRET", secret)
        .env("RUST_LOG", "warn");
    cmd
}

/// Spawns `cmd` and returns the child with the address its first stdout line announces
/// ("coguest listening on ws://127.0.0.1:PORT/v1/ws ...").
pub async fn start(mut cmd: Command, wait: Duration) -> (Child, SocketAddr) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(wait, lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let addr = first
        .split("ws://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .parse()
        .unwrap();
    // Keep reading stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, addr)
}
