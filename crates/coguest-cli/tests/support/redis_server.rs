//! A test's own `redis-server` (or `redis-server --sentinel`) on a free loopback port, in a
//! temporary directory, `kill -9`ed when dropped: for tests that change Redis's settings,
//! kill, pause (SIGSTOP), restart empty, flush or flood it, which the shared Redis must not
//! see.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free loopback port (bound then released; Redis binds it right after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `redis-server` process of this test.
pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    /// The settings it was started with (a restart uses them again).
    args: Vec<String>,
}

impl RedisServer {
    /// `redis-server --port P` plus `args`, once it answers `PING`.
    pub fn start(args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let child = spawn_server(port, dir.path(), &args);
        let server = RedisServer {
            port,
            child: Some(child),
            dir,
            args,
        };
        server.wait_ready();
        server
    }

    /// Without persistence (`--save "" --appendonly no`): a restart loses everything.
    pub fn without_persistence() -> Self {
        Self::start(&["--save", "", "--appendonly", "no"])
    }

    /// `kill -9`, then the same server again on the same port and settings: without
    /// persistence every key is gone, and every client's connection was cut.
    pub fn restart(&mut self) {
        self.kill();
        self.child = Some(spawn_server(self.port, self.dir.path(), &self.args));
        self.wait_ready();
    }

    /// SIGSTOP: the server keeps its connections and answers nothing until [`resume`].
    ///
    /// [`resume`]: Self::resume
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT.
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().expect("the server runs").id();
        let ok = Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig} {pid} failed");
    }

    /// How many clients subscribe to `channel` (`PUBSUB NUMSUB`).
    pub fn subscribers(&self, channel: &str) -> u64 {
        let reply = self.cmd(&["PUBSUB", "NUMSUB", channel]);
        reply
            .get(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("PUBSUB NUMSUB answered {reply:?}"))
    }

    /// `redis-server CONF --sentinel` on a config file written from `lines` (Sentinel
    /// rewrites its config file, so it must be a file of its own).
    pub fn sentinel(lines: &[String]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let conf = dir.path().join("sentinel.conf");
        let mut text = format!(
            "port {port}\nbind 127.0.0.1\ndir {}\n",
            dir.path().display()
        );
        for l in lines {
            text.push_str(l);
            text.push('\n');
        }
        std::fs::write(&conf, text).unwrap();
        let child = Command::new("redis-server")
            .arg(&conf)
            .arg("--sentinel")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("redis-server --sentinel does not start ({e})"));
        let server = RedisServer {
            port,
            child: Some(child),
            dir,
            args: Vec::new(),
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.try_cmd(&["PING"]).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis on {} did not start",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// One command on a fresh connection; the reply's scalars, flattened.
    pub fn try_cmd(&self, args: &[&str]) -> std::io::Result<Vec<String>> {
        let stream = TcpStream::connect(self.addr())?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut out = format!("*{}\r\n", args.len());
        for a in args {
            out.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        (&stream).write_all(out.as_bytes())?;
        read_reply(&mut BufReader::new(&stream))
    }

    pub fn cmd(&self, args: &[&str]) -> Vec<String> {
        self.try_cmd(args)
            .unwrap_or_else(|e| panic!("redis {} {args:?}: {e}", self.port))
    }

    /// `kill -9`.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn spawn_server(port: u16, dir: &std::path::Path, args: &[String]) -> Child {
    Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .arg("--dir")
        .arg(dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("redis-server does not start ({e}); .ci/run installs it"))
}

/// Publishes `payload` on `channel` of the Redis on `port`, `n` times in one pipelined write (a
/// storm of cluster messages; a free function, to run on a thread of its own); returns once
/// Redis answered them all.
pub fn publish_many(port: u16, channel: &str, payload: &str, n: usize) {
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
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
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

fn read_reply(r: &mut impl BufRead) -> std::io::Result<Vec<String>> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(std::io::Error::other("closed"));
    }
    let line = line.trim_end().to_owned();
    let bad = || std::io::Error::other(format!("reply {line:?}"));
    match line.split_at_checked(1) {
        Some(("+" | ":", v)) => Ok(vec![v.to_owned()]),
        Some(("$" | "*", "-1")) => Ok(Vec::new()),
        Some(("$", n)) => {
            let n: usize = n.parse().map_err(|_| bad())?;
            let mut buf = vec![0; n + 2];
            r.read_exact(&mut buf)?;
            Ok(vec![String::from_utf8_lossy(&buf[..n]).into_owned()])
        }
        Some(("*", n)) => {
            let n: usize = n.parse().map_err(|_| bad())?;
            let mut all = Vec::new();
            for _ in 0..n {
                all.extend(read_reply(r)?);
            }
            Ok(all)
        }
        _ => Err(bad()),
    }
}
