//! Server processes under test: spawned by the load generator, pinned to CPUs when asked, and
//! measured from outside through `/proc` (RSS, CPU time), so the figures are the server's own.

use super::wire::Target;
use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The secret every spawned coguest server signs tokens with.
pub const SECRET: &str = "coguest-bench-secret";

/// How to start the servers of a run.
#[derive(Debug, Clone)]
pub struct Spawn {
    /// Which server.
    pub target: Target,
    /// `taskset -c` CPU list for the servers (None: not pinned).
    pub cpus: Option<String>,
    /// The coguest binary (default: this executable).
    pub coguest_bin: PathBuf,
    /// The socket.io baseline's `server.js`.
    pub socketio_js: PathBuf,
    /// The nats-server binary.
    pub nats_bin: PathBuf,
    /// Extra `coguest serve` flags.
    pub extra: Vec<String>,
    /// Cluster mode: the Redis URL and the key prefix of this run's cluster (coguest only).
    pub cluster: Option<(String, String)>,
    /// TLS: the certificate and key files the coguest servers serve (`wss://localhost`).
    pub tls: Option<(PathBuf, PathBuf)>,
}

/// One running server process.
pub struct ServerProc {
    child: Child,
    /// Its WebSocket URL base (`ws://127.0.0.1:PORT`, or `wss://localhost:PORT` over TLS).
    pub ws: String,
    _dir: Option<TempDir>,
}

/// The server processes of a run.
pub struct Servers {
    /// Each one, in the order started.
    pub procs: Vec<ServerProc>,
}

impl Servers {
    /// Their WebSocket URL bases.
    pub fn urls(&self) -> Vec<String> {
        self.procs.iter().map(|p| p.ws.clone()).collect()
    }
    /// Their CPU time so far, in core-seconds.
    pub fn cpu(&self) -> f64 {
        self.cpu_time().total
    }
    /// Their CPU time so far, in all and in user space.
    pub fn cpu_time(&self) -> CpuTime {
        self.procs
            .iter()
            .map(ServerProc::cpu_time)
            .fold(CpuTime::default(), |a, b| a + b)
    }
    /// Their resident memory, in bytes.
    pub fn rss(&self) -> u64 {
        self.procs.iter().map(ServerProc::rss).sum()
    }
}

/// A directory removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

impl Spawn {
    /// Starts one server and waits until it listens.
    pub fn start(&self, index: usize) -> Result<ServerProc> {
        let port = free_port()?;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "coguest-bench-{}-{index}-{stamp}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir)?;
        let (program, args): (PathBuf, Vec<String>) = match self.target {
            Target::Coguest => {
                let mut args = vec![
                    "serve".into(),
                    "--listen".into(),
                    format!("127.0.0.1:{port}"),
                    "--data-dir".into(),
                    dir.display().to_string(),
                    "--secret".into(),
                    SECRET.into(),
                    "--log-format".into(),
                    "text".into(),
                    // Load connections join in any order, audience members before their
                    // room's owner too (the baselines have no such rule).
                    "--room-creation".into(),
                    "anyone".into(),
                    // Every load connection comes from 127.0.0.1: no per-address limit.
                    "--max-connections-per-ip".into(),
                    "0".into(),
                    "--max-handshakes".into(),
                    "0".into(),
                ];
                args.extend(self.extra.iter().cloned());
                if let Some((cert, key)) = &self.tls {
                    args.extend([
                        "--tls-cert".into(),
                        cert.display().to_string(),
                        "--tls-key".into(),
                        key.display().to_string(),
                    ]);
                }
                if let Some((redis, prefix)) = &self.cluster {
                    args.extend([
                        "--redis".into(),
                        redis.clone(),
                        "--redis-prefix".into(),
                        prefix.clone(),
                        "--node-id".into(),
                        format!("bench-node-{index}"),
                    ]);
                }
                (self.coguest_bin.clone(), args)
            }
            Target::Socketio => (
                PathBuf::from("node"),
                vec![self.socketio_js.display().to_string(), port.to_string()],
            ),
            Target::Nats => {
                let conf = dir.join("nats.conf");
                let client_port = free_port()?;
                std::fs::write(
                    &conf,
                    format!(
                        "listen: 127.0.0.1:{client_port}\nmax_payload: 1MB\nwrite_deadline: \"30s\"\nwebsocket {{\n  listen: \"127.0.0.1:{port}\"\n  no_tls: true\n  compression: false\n}}\n"
                    ),
                )?;
                (
                    self.nats_bin.clone(),
                    vec!["-c".into(), conf.display().to_string()],
                )
            }
        };
        let mut cmd = match &self.cpus {
            Some(cpus) => {
                let mut c = Command::new("taskset");
                c.arg("-c").arg(cpus).arg(&program);
                c
            }
            None => Command::new(&program),
        };
        // The server's warnings and errors (and a panic's message) are kept when
        // `COGUEST_BENCH_SERVER_LOGS` names a directory (bench/run.sh sets it), so that a
        // failed run says what the server saw.
        let mut log = std::env::var_os("COGUEST_BENCH_SERVER_LOGS").and_then(|d| {
            let d = PathBuf::from(d);
            std::fs::create_dir_all(&d).ok()?;
            let name = format!(
                "{:?}-{}-{index}-port{port}.log",
                self.target,
                std::process::id()
            )
            .to_lowercase();
            std::fs::File::create(d.join(name)).ok()
        });
        let stderr = match log.as_ref().map(std::fs::File::try_clone) {
            Some(Ok(f)) => Stdio::from(f),
            _ => Stdio::null(),
        };
        cmd.args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .env("RUST_LOG", "warn");
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        // Drain stdout in the background so the server never blocks on it.
        if let Some(out) = child.stdout.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    if let Some(f) = log.as_mut() {
                        let _ = writeln!(f, "{line}");
                    }
                }
            });
        }
        let proc = ServerProc {
            child,
            ws: match self.tls {
                // The name the certificate is for; the server listens on 127.0.0.1.
                Some(_) => format!("wss://localhost:{port}"),
                None => format!("ws://127.0.0.1:{port}"),
            },
            _dir: Some(TempDir(dir)),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!(
                    "{} did not listen on port {port} within 20 s",
                    program.display()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(proc)
    }
}

impl ServerProc {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's (the pinned program's, not `taskset`'s: it execs) resident memory in bytes.
    pub fn rss(&self) -> u64 {
        proc_rss(self.pid()).unwrap_or(0)
    }

    /// CPU seconds used so far.
    pub fn cpu_time(&self) -> CpuTime {
        proc_times(self.pid()).map_or(CpuTime::default(), |(user, system)| CpuTime {
            total: user + system,
            user,
        })
    }
}

/// CPU seconds used by one or more processes: in all, and the part in user space (the rest is
/// the kernel's, which on loopback includes the receivers' TCP work for what was sent).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuTime {
    /// User + system.
    pub total: f64,
    /// User space only.
    pub user: f64,
}

impl CpuTime {
    /// The system (kernel) part.
    pub fn kernel(self) -> f64 {
        (self.total - self.user).max(0.0)
    }
}

impl std::ops::Add for CpuTime {
    type Output = CpuTime;
    fn add(self, o: CpuTime) -> CpuTime {
        CpuTime {
            total: self.total + o.total,
            user: self.user + o.user,
        }
    }
}

impl std::ops::Sub for CpuTime {
    type Output = CpuTime;
    fn sub(self, o: CpuTime) -> CpuTime {
        CpuTime {
            total: self.total - o.total,
            user: self.user - o.user,
        }
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        // SIGTERM first (graceful), then kill.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident set size of a process, from `/proc/PID/status`.
pub fn proc_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// User + system CPU seconds of a process.
pub fn proc_cpu(pid: u32) -> Option<f64> {
    proc_times(pid).map(|(user, system)| user + system)
}

/// User and system CPU seconds of a process, from `/proc/PID/stat` (clock ticks of 1/100 s).
/// On loopback, system time includes the receiving side's TCP work for what the process sends
/// (it runs in the sender's context), which over a network the receivers' machines would pay.
pub fn proc_times(pid: u32) -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime / 100.0, stime / 100.0))
}

/// This process's own CPU seconds.
pub fn self_cpu() -> f64 {
    proc_cpu(std::process::id()).unwrap_or(0.0)
}
