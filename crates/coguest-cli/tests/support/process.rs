//! The real `coguest` binary as a child process: `coguest serve` on a temporary data directory
//! and a free port, a newcomer's clean environment, signals, exits.

use super::common::{Endpoint, SECRET, WAIT, wall_clock};
use coguest_core::Timestamp;
use coguest_server::auth::Auth;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// `coguest serve` on a free loopback port with `data` as its data directory, signing tokens
/// with the tests' [`SECRET`]; add more flags to the returned command before passing it to
/// [`Served::spawn`] (or [`start`]).
pub fn serve(data: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coguest"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env("COGUEST_SECRET", std::str::from_utf8(SECRET).unwrap())
        .env("RUST_LOG", "warn");
    cmd
}

/// `coguest serve` running as a child process (killed when dropped): an [`Endpoint`] whose
/// tokens are signed with [`SECRET`] and dated by the wall clock.
pub struct Served {
    pub child: Child,
    pub addr: SocketAddr,
    auth: Auth,
}

impl Endpoint for Served {
    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn auth(&self) -> &Auth {
        &self.auth
    }

    fn now(&self) -> Timestamp {
        wall_clock()
    }
}

impl Served {
    /// `coguest serve` on `data`, once it listens.
    pub async fn start(data: &Path) -> Self {
        Self::spawn(serve(data)).await
    }

    /// Spawns `cmd` (a [`serve`] command, flags added) and returns once it listens.
    pub async fn spawn(cmd: Command) -> Self {
        let (child, addr) = start(cmd, WAIT).await;
        Served {
            child,
            addr,
            auth: Auth::new(SECRET),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("the server is still running")
    }

    /// Sends `sig` (`-STOP`, `-CONT`, ...) to the server.
    pub fn signal(&self, sig: &str) {
        signal(self.pid(), sig);
    }

    /// SIGTERM: a graceful shutdown.
    pub async fn sigterm(&self) {
        sigterm(&self.child).await;
    }

    /// `kill -9`: no shutdown path runs.
    pub async fn kill(&mut self) {
        self.child.kill().await.unwrap();
    }

    /// Waits for the server to exit within `wait`; its status.
    pub async fn exit_within(&mut self, wait: Duration) -> std::process::ExitStatus {
        exit_within(&mut self.child, wait).await
    }
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
pub fn serve_without_secret(data: &Path) -> Command {
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

/// Sends `sig` to process `pid` (through `kill`, no libc binding needed).
pub fn signal(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} {pid} failed");
}

/// Sends SIGTERM to `child`.
pub async fn sigterm(child: &Child) {
    signal(child.id().expect("the child is still running"), "-TERM");
}

/// Waits for `child` to exit within `wait`; its status.
pub async fn exit_within(child: &mut Child, wait: Duration) -> std::process::ExitStatus {
    tokio::time::timeout(wait, child.wait())
        .await
        .unwrap_or_else(|_| panic!("the server did not exit within {wait:?}"))
        .unwrap()
}
