//! `coguest bench` flags: the scenario, its sizes, and the servers to run it against.

use super::wire::Target;
use clap::{Parser, ValueEnum};
use std::path::PathBuf;

/// What to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// 1,000 connections, 10 rooms, 100 ops/s: op round trip.
    Latency,
    /// 10,000 connections, 500 rooms of 20, 2,000 ops/s of the realistic mix.
    Heavy,
    /// One room of N audience members: seat change to the last member.
    Fanout,
    /// N idle joined connections: server RSS per connection and idle CPU.
    Connections,
    /// Raise the rate until p99 > 50 ms in two steps in a row: the knee and ops per server
    /// core-second.
    Saturate,
    /// `--members` in one room over `--servers` (a cluster with `--redis`) and `--load-procs`
    /// load processes, held `--duration` s with heartbeats; a seat change every
    /// `--interval-ms` (default 5000), timed to the last member.
    Hold,
}

/// `coguest bench` flags. Sizes default per scenario (see `--help`); small values make smoke
/// tests of a few seconds.
#[derive(Parser, Debug, Clone)]
pub struct BenchArgs {
    /// The scenario.
    #[arg(value_enum)]
    pub scenario: Scenario,
    /// The server under test.
    #[arg(long, value_enum, default_value_t = Target::Coguest)]
    pub target: Target,
    /// Connections (latency 1000, heavy 10000, saturate 2000, connections 10000).
    #[arg(long)]
    pub connections: Option<usize>,
    /// Rooms (latency 10, heavy 500, saturate 100; connections: rooms of 1000).
    #[arg(long)]
    pub rooms: Option<usize>,
    /// Operations per second (latency 100, heavy 2000; saturate: the first step, 500).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Seconds of load (per step for saturate; idle time for connections).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Seconds of load before recording starts.
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    /// Fan-out, hold: audience members in the room.
    #[arg(long, default_value_t = 10_000)]
    pub members: usize,
    /// Fan-out: seat changes made.
    #[arg(long, default_value_t = 40)]
    pub changes: u64,
    /// Fan-out, hold: milliseconds between seat changes (fanout 250, hold 5000).
    #[arg(long)]
    pub interval_ms: Option<u64>,
    /// Hold: load processes (each holds at most ~19,000 connections).
    #[arg(long, default_value_t = 1)]
    pub load_procs: usize,
    /// Hold: seconds between two WebSocket pings of a member (0: none).
    #[arg(long, default_value_t = 20.0)]
    pub heartbeat_secs: f64,
    /// Run the coguest servers as one cluster on this Redis (a fresh key prefix per run,
    /// removed at the end); the command scenarios then place every guest on another node than
    /// its room's owner.
    #[arg(long)]
    pub redis: Option<String>,
    /// latency, heavy, saturate: every operation is a `ping` of the room instead of a seat
    /// command (answered by the room's actor; nothing stored, nothing delivered): the floor of
    /// the round trip through coguest on this machine. With `--target nats`, each operation is
    /// a publish on a subject only its own connection subscribes to, delivered back to it: the
    /// same round trip through a mature broker (the machine's floor).
    #[arg(long)]
    pub ping_only: bool,
    /// latency, heavy, saturate: ask an approval hook before every application and invitation
    /// (`--approve-url`), served in this process and allowing each request after this many ms.
    #[arg(long)]
    pub approve_delay_ms: Option<u64>,
    /// Saturate: rate multiplier per step.
    #[arg(long, default_value_t = 1.5)]
    pub step_factor: f64,
    /// Saturate: the p99 (ms) that ends the ramp.
    #[arg(long, default_value_t = 50.0)]
    pub p99_limit_ms: f64,
    /// Saturate: highest rate tried.
    #[arg(long, default_value_t = 100_000.0)]
    pub max_rate: f64,
    /// Server processes (rooms are spread over them; at most 20,000 open files each).
    #[arg(long, default_value_t = 1)]
    pub servers: usize,
    /// Pin the servers to these CPUs (`taskset -c` list); pin the load generator itself by
    /// running it under `taskset`.
    #[arg(long)]
    pub server_cpus: Option<String>,
    /// Serve the coguest servers over TLS with this PEM certificate, which must be valid for
    /// `localhost` (the load connects to wss://localhost:PORT); needs --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// PEM file of CA certificates the load connections trust besides the Mozilla roots: the
    /// private CA that issued --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub ca_file: Option<PathBuf>,
    /// The coguest binary to serve with (default: this one).
    #[arg(long)]
    pub coguest_bin: Option<PathBuf>,
    /// The socket.io baseline server.
    #[arg(long, default_value = "bench/baselines/socketio/server.js")]
    pub socketio_js: PathBuf,
    /// The nats-server binary.
    #[arg(long, default_value = "nats-server")]
    pub nats_bin: PathBuf,
    /// Write the JSON result here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A free-form label stored in the result (conditions: pinned, noisy, ...).
    #[arg(long, default_value = "")]
    pub label: String,
}
