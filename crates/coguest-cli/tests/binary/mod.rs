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

/// `coguest <args>` as a newcomer runs it: no `COGUEST_*` variable inherited from the test's
/// environment (no `COGUEST_SECRET`, no `COGUEST_DATA_DIR`, ...), so flags and defaults decide.
pub fn clean(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coguest"));
    cmd.args(args).env("RUST_LOG", "warn");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("COGUEST_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// `coguest serve` on a free loopback port with `data` as its data directory and no
/// `COGUEST_SECRET`: the secret comes from (or is created in) the data directory.
pub fn serve_without_secret(data: &std::path::Path) -> Command {
    let mut cmd = clean(&["serve", "--listen", "127.0.0.1:0", "--data-dir"]);
    cmd.arg(data);
    cmd
}

/// Runs `cmd` to completion within `wait` (killed if it takes longer: the test fails).
pub async fn output(mut cmd: Command, wait: Duration) -> std::process::Output {
    let run = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(wait, run)
        .await
        .unwrap_or_else(|_| panic!("{cmd:?} did not finish within {wait:?}"))
        .unwrap()
}

/// Sends SIGTERM to `child` (through `kill -TERM`, no libc binding needed).
pub async fn sigterm(child: &Child) {
    let pid = child.id().expect("the child is still running");
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .await
        .unwrap();
    assert!(status.success(), "kill -TERM {pid}: {status}");
}

/// Waits for `child` to exit within `wait`; its status.
pub async fn exit_within(child: &mut Child, wait: Duration) -> std::process::ExitStatus {
    tokio::time::timeout(wait, child.wait())
        .await
        .unwrap_or_else(|_| panic!("the server did not exit within {wait:?}"))
        .unwrap()
}
