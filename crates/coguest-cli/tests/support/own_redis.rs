//! A `redis-server` of the test's own, on a free loopback port and without persistence, for
//! the faults a shared Redis must not suffer: pausing it (SIGSTOP), restarting it (its data
//! gone) and flushing it. Killed when dropped.

use super::redis::try_redis_at;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a start waits for the server to answer `PING`.
const READY_WAIT: Duration = Duration::from_secs(10);

/// A `redis-server` child process on `127.0.0.1:{port}`.
pub struct OwnRedis {
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

impl OwnRedis {
    /// Starts one on a free port; returns once it answers.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = spawn(port, dir.path());
        let r = OwnRedis { port, child, dir };
        r.wait_ready();
        r
    }

    /// `redis://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn hostport(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// One command; the reply as text.
    pub fn cmd(&self, args: &[&str]) -> String {
        try_redis_at(&self.hostport(), args).unwrap()
    }

    /// How many clients subscribe to `channel` (`PUBSUB NUMSUB`).
    pub fn subscribers(&self, channel: &str) -> u64 {
        let reply = self.cmd(&["PUBSUB", "NUMSUB", channel]);
        reply
            .strip_prefix(channel)
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("PUBSUB NUMSUB answered {reply:?}"))
    }

    /// SIGSTOP: the server keeps its connections and answers nothing until [`resume`].
    ///
    /// [`resume`]: Self::resume
    pub fn pause(&self) {
        signal(self.child.id(), "-STOP");
    }

    /// SIGCONT.
    pub fn resume(&self) {
        signal(self.child.id(), "-CONT");
    }

    /// `kill -9` and a new server on the same port: every key is gone (no persistence), every
    /// connection cut.
    pub fn restart_empty(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn(self.port, self.dir.path());
        self.wait_ready();
    }

    /// `FLUSHALL`.
    pub fn flushall(&self) {
        assert_eq!(self.cmd(&["FLUSHALL"]), "OK");
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + READY_WAIT;
        while try_redis_at(&self.hostport(), &["PING"]).as_deref() != Ok("PONG") {
            assert!(
                Instant::now() < deadline,
                "redis-server on port {} did not answer within {READY_WAIT:?}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        // A paused server ignores SIGTERM; SIGKILL ends it either way.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Publishes `payload` on `channel` of the Redis on `port`, `n` times in one pipelined write (a
/// storm of cluster messages; a free function, to run on a thread of its own); returns once
/// Redis answered them all.
pub fn publish_many(port: u16, channel: &str, payload: &str, n: usize) {
    use std::io::{BufRead, BufReader, Write};
    let mut out = Vec::new();
    for _ in 0..n {
        write!(
            out,
            "*3\r\n$7\r\nPUBLISH\r\n${}\r\n{channel}\r\n${}\r\n{payload}\r\n",
            channel.len(),
            payload.len()
        )
        .unwrap();
    }
    let stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    (&stream).write_all(&out).unwrap();
    let mut r = BufReader::new(&stream);
    let mut line = String::new();
    for _ in 0..n {
        line.clear();
        r.read_line(&mut line).unwrap();
        assert!(line.starts_with(':'), "PUBLISH answered {line:?}");
    }
}

/// A loopback port free a moment ago.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn spawn(port: u16, dir: &std::path::Path) -> Child {
    Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start redis-server (is it installed?): {e}"))
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} {pid} failed");
}
