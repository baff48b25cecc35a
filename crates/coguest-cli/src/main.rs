//! `coguest`: run the server and mint tokens.
//!
//! ```text
//! coguest serve                      # 127.0.0.1:7700, data in ./coguest-data
//! coguest token --data-dir ./coguest-data --user alice --role owner
//! ```

mod bench;
mod demo;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use coguest_core::{Role, RoomConfig, Timestamp};
use coguest_server::auth::{Auth, Claims, load_or_create_secret};
use coguest_server::cluster::ClusterConfig;
use coguest_server::{IpNet, Limits, RoomCreation, ServerConfig, TlsFiles};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Parser, Debug)]
#[command(
    name = "coguest",
    version,
    about = "Co-guest seats for live rooms: server and tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run the server.
    Serve(Box<ServeArgs>),
    /// Print a token signed with the data directory's secret (or COGUEST_SECRET).
    Token(TokenArgs),
    /// Play a short co-guest session through the SDK against an in-process server.
    Demo(demo::DemoArgs),
    /// Load-test a server (coguest or a baseline) it spawns: latency, fan-out, memory, knee.
    Bench(Box<bench::BenchArgs>),
    /// One load process of `coguest bench hold` (spawned by it, speaks JSON lines).
    #[command(hide = true)]
    BenchWorker(bench::WorkerArgs),
    /// Cluster tools (Redis mode).
    #[command(subcommand)]
    Cluster(ClusterCmd),
}

#[derive(Subcommand, Debug)]
enum ClusterCmd {
    /// List the nodes and which node owns which room.
    Status {
        /// Redis URL of the cluster.
        #[arg(long, env = "COGUEST_REDIS", default_value = "redis://127.0.0.1:6379")]
        redis: String,
        /// Key prefix of the cluster.
        #[arg(long, env = "COGUEST_REDIS_PREFIX", default_value = "coguest")]
        redis_prefix: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Parser, Debug)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "COGUEST_LISTEN", default_value = "127.0.0.1:7700")]
    listen: SocketAddr,
    /// Directory for the SQLite database and the signing secret (created if missing).
    #[arg(long, env = "COGUEST_DATA_DIR", default_value = "./coguest-data")]
    data_dir: PathBuf,
    /// Token signing secret. When unset, a random one is created in the data directory.
    #[arg(long, env = "COGUEST_SECRET", hide_env_values = true)]
    secret: Option<String>,
    /// Log format.
    #[arg(long, env = "COGUEST_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Seconds a member keeps its seat after its last connection drops.
    #[arg(long, env = "COGUEST_GRACE_PERIOD_SECS", default_value_t = 30)]
    grace_period_secs: u64,
    /// Largest frame accepted, in bytes (larger: error -3003).
    #[arg(long, env = "COGUEST_MAX_FRAME_BYTES", default_value_t = 65536)]
    max_frame_bytes: usize,
    /// Largest extra_info in new rooms, in bytes (larger: error -3004; at most 65536).
    #[arg(long, env = "COGUEST_MAX_EXTRA_INFO_BYTES", default_value_t = 2048)]
    max_extra_info_bytes: u32,
    /// Sustained commands per second per connection (more: error -2).
    #[arg(long, env = "COGUEST_COMMANDS_PER_SEC", default_value_t = 20)]
    commands_per_sec: u32,
    /// Commands a connection may send in a burst.
    #[arg(long, env = "COGUEST_COMMAND_BURST", default_value_t = 40)]
    command_burst: u32,
    /// Open connections per user (more: error -3013, close 1008).
    #[arg(long, env = "COGUEST_MAX_CONNECTIONS_PER_USER", default_value_t = 8)]
    max_connections_per_user: u32,
    /// Members per room in new rooms (more: error -3020).
    #[arg(long, env = "COGUEST_MAX_MEMBERS", default_value_t = 20000)]
    max_members: u32,
    /// Frames queued per connection before it is closed as too slow (close 4008).
    #[arg(long, env = "COGUEST_OUTGOING_QUEUE", default_value_t = 1024)]
    outgoing_queue: usize,
    /// Close a connection silent (no frame, ping or pong) for this many seconds (0: never).
    #[arg(long, env = "COGUEST_IDLE_TIMEOUT_SECS", default_value_t = 60)]
    idle_timeout_secs: u64,
    /// A static key for the admin HTTP API (`/v1/admin/...`), accepted besides admin tokens.
    #[arg(long, env = "COGUEST_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Webhook endpoint (http:// or https://) for room transitions; repeat for several (env:
    /// comma-separated). HTTPS trusts the Mozilla roots and --webhook-ca-file.
    #[arg(long = "webhook", env = "COGUEST_WEBHOOKS", value_delimiter = ',')]
    webhooks: Vec<String>,
    /// HMAC-SHA256 key for webhook signatures (required with --webhook).
    #[arg(long, env = "COGUEST_WEBHOOK_SECRET", hide_env_values = true)]
    webhook_secret: Option<String>,
    /// PEM file of CA certificates trusted for https:// webhook and approval endpoints besides
    /// the Mozilla roots (a private CA).
    #[arg(long, env = "COGUEST_WEBHOOK_CA_FILE", value_name = "PEM")]
    webhook_ca_file: Option<PathBuf>,
    /// Undelivered webhook events are dropped this long after they happened.
    #[arg(long, env = "COGUEST_WEBHOOK_RETENTION_SECS", default_value_t = 86400)]
    webhook_retention_secs: u64,
    /// Approval hook asked before an application is shown to hosts, an invitation reaches its
    /// invitee or a free seat is taken: `URL` for all three, or `KIND=URL` (KIND: apply,
    /// invite, take_seat); repeatable (env: comma-separated). See docs/APPROVAL.md.
    #[arg(
        long = "approve-url",
        env = "COGUEST_APPROVE_URLS",
        value_delimiter = ',',
        value_name = "[KIND=]URL"
    )]
    approve_urls: Vec<String>,
    /// HMAC-SHA256 key for approval request signatures (required with --approve-url).
    #[arg(long, env = "COGUEST_APPROVE_SECRET", hide_env_values = true)]
    approve_secret: Option<String>,
    /// How long to wait for the approval hook's answer.
    #[arg(long, env = "COGUEST_APPROVE_TIMEOUT_MS", default_value_t = 500)]
    approve_timeout_ms: u64,
    /// What happens when the approval hook times out, is down or answers garbage: `deny`
    /// (APPROVAL_UNAVAILABLE) or `allow` (the request goes ahead).
    #[arg(long, env = "COGUEST_APPROVE_ON_ERROR", value_enum, default_value_t = OnError::Deny)]
    approve_on_error: OnError,
    /// Join a cluster on this Redis (rooms, leases and routing in Redis) instead of running
    /// alone on SQLite: `redis://[user:password@]HOST:PORT[/DB]`, or the primary that Sentinel
    /// names: `redis+sentinel://[user:password@]HOST:PORT,HOST:PORT,.../MASTER`.
    #[arg(long, env = "COGUEST_REDIS")]
    redis: Option<String>,
    /// When a write to Redis counts as done (and its command is acknowledged): `local` (the
    /// primary has it) or `replicas=N` (N replicas have it too, checked with WAIT; fewer in
    /// time and the command fails with "may or may not have been applied").
    #[arg(long, env = "COGUEST_REDIS_ACK", default_value = "local")]
    redis_ack: coguest_server::store::redis::RedisAck,
    /// With --redis-ack replicas=N: how long a write waits for its replicas.
    #[arg(long, env = "COGUEST_REDIS_ACK_TIMEOUT_MS", default_value_t = 500)]
    redis_ack_timeout_ms: u64,
    /// This node's id in the cluster (default: generated).
    #[arg(long, env = "COGUEST_NODE_ID")]
    node_id: Option<String>,
    /// Prefix of every Redis key and channel of the cluster.
    #[arg(long, env = "COGUEST_REDIS_PREFIX", default_value = "coguest")]
    redis_prefix: String,
    /// Room lease in milliseconds: a dead node's rooms are taken over after at most this.
    #[arg(long, env = "COGUEST_LEASE_MS", default_value_t = 2000)]
    lease_ms: u64,
    /// Serve TLS (wss://, https://) with this PEM certificate chain; needs --tls-key. Both
    /// files are reloaded when they change (certificate rotation without a restart).
    #[arg(
        long,
        env = "COGUEST_TLS_CERT",
        value_name = "PEM",
        requires = "tls_key"
    )]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(
        long,
        env = "COGUEST_TLS_KEY",
        value_name = "PEM",
        requires = "tls_cert"
    )]
    tls_key: Option<PathBuf>,
    /// A reverse proxy (address or CIDR block) whose X-Forwarded-For names the client, for the
    /// per-address limit; repeat for several (env: comma-separated).
    #[arg(
        long = "trusted-proxy",
        env = "COGUEST_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_name = "CIDR"
    )]
    trusted_proxies: Vec<IpNet>,
    /// Seconds a new connection has to finish its TLS handshake and send its first request
    /// head; past it, it is closed (0: no deadline).
    #[arg(long, env = "COGUEST_HANDSHAKE_TIMEOUT_SECS", default_value_t = 10)]
    handshake_timeout_secs: u64,
    /// Open connections per client address, IPv6 by /64 (more: 429 and closed; 0: no limit).
    #[arg(long, env = "COGUEST_MAX_CONNECTIONS_PER_IP", default_value_t = 64)]
    max_connections_per_ip: usize,
    /// Connections still in their handshake at once (more: 503 and closed; 0: no limit).
    #[arg(long, env = "COGUEST_MAX_HANDSHAKES", default_value_t = 256)]
    max_handshakes: usize,
    /// Open connections in all (more: 503 and closed). Default: 90 % of the file descriptors
    /// left at start (RLIMIT_NOFILE, whose soft limit is first raised to the hard one); 0: no
    /// limit.
    #[arg(long, env = "COGUEST_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
    /// Who creates a room by joining one that does not exist (the admin API always may):
    /// owner tokens, any token, or nobody (admin API only).
    #[arg(long, env = "COGUEST_ROOM_CREATION", value_enum, default_value_t = RoomCreationArg::Owner)]
    room_creation: RoomCreationArg,
    /// An idle room (no members, nothing pending) leaves memory this long after it became
    /// idle, and is loaded again when used (`60s`, `5m`, ...; 0: never).
    #[arg(long, env = "COGUEST_ROOM_IDLE_UNLOAD", default_value = "60s", value_parser = duration)]
    room_idle_unload: Duration,
    /// An idle room unused this long (no command, join or deadline) is deleted, with a
    /// `room_closed` webhook (reason `expired`) (`7d`, `12h`, ...; 0: never).
    #[arg(long, env = "COGUEST_ROOM_TTL", default_value = "7d", value_parser = duration)]
    room_ttl: Duration,
}

/// What a request does when the approval hook fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OnError {
    /// It goes ahead.
    Allow,
    /// It is refused with APPROVAL_UNAVAILABLE.
    Deny,
}

/// Who creates a room by joining it.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoomCreationArg {
    /// Tokens whose role is owner.
    Owner,
    /// Any token.
    Anyone,
    /// Nobody: only the admin API creates rooms.
    Admin,
}

impl From<RoomCreationArg> for RoomCreation {
    fn from(r: RoomCreationArg) -> Self {
        match r {
            RoomCreationArg::Owner => RoomCreation::Owner,
            RoomCreationArg::Anyone => RoomCreation::Anyone,
            RoomCreationArg::Admin => RoomCreation::AdminApi,
        }
    }
}

/// A duration: a whole number with a unit (`s`, `m`, `h`, `d`; seconds when none).
fn duration(text: &str) -> std::result::Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 60s, 5m, 12h or 7d"))?;
    let unit = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        other => return Err(format!("unknown unit {other:?}: use s, m, h or d")),
    };
    Ok(Duration::from_secs(n.saturating_mul(unit)))
}

/// A token lifetime: at least one second (a lifetime of 0 would mint an expired token).
fn token_ttl(text: &str) -> std::result::Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(0) => Err("must be at least 1 second (a token with --ttl 0 has already expired)".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{text:?} is not a number of seconds")),
    }
}

#[derive(Parser, Debug)]
struct TokenArgs {
    /// Data directory holding the secret (ignored when COGUEST_SECRET is set).
    #[arg(long, env = "COGUEST_DATA_DIR", default_value = "./coguest-data")]
    data_dir: PathBuf,
    /// Signing secret (defaults to the data directory's).
    #[arg(long, env = "COGUEST_SECRET", hide_env_values = true)]
    secret: Option<String>,
    /// User id.
    #[arg(long)]
    user: String,
    /// Role.
    #[arg(long, value_enum)]
    role: RoleArg,
    /// Limit the token to this room.
    #[arg(long)]
    room: Option<String>,
    /// Display name.
    #[arg(long, default_value = "")]
    name: String,
    /// Avatar URL.
    #[arg(long, default_value = "")]
    avatar: String,
    /// Lifetime in seconds (at least 1).
    #[arg(long, default_value_t = 86_400, value_parser = token_ttl)]
    ttl: u64,
    /// Grant service-admin rights (HTTP admin endpoints).
    #[arg(long)]
    admin: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleArg {
    Owner,
    Admin,
    Audience,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Owner => Role::Owner,
            RoleArg::Admin => Role::Admin,
            RoleArg::Audience => Role::Audience,
        }
    }
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Serve(args) => serve(*args),
        Cmd::Token(args) => {
            println!("{}", token(&args)?);
            Ok(())
        }
        Cmd::Demo(args) => demo::run(args),
        Cmd::Bench(args) => bench::run(*args),
        Cmd::BenchWorker(args) => bench::worker(args),
        Cmd::Cluster(ClusterCmd::Status {
            redis,
            redis_prefix,
            json,
        }) => cluster_status(&redis, &redis_prefix, json),
    }
}

fn secret(given: Option<&str>, data_dir: &Path) -> Result<Vec<u8>> {
    match given {
        Some(s) if !s.is_empty() => Ok(s.as_bytes().to_vec()),
        _ => load_or_create_secret(data_dir)
            .with_context(|| format!("reading the secret in {}", data_dir.display())),
    }
}

fn token(args: &TokenArgs) -> Result<String> {
    if args.secret.is_none()
        && !args
            .data_dir
            .join(coguest_server::auth::SECRET_FILE)
            .exists()
    {
        bail!(
            "no secret in {} (start `coguest serve --data-dir {}` once, or set COGUEST_SECRET)",
            args.data_dir.display(),
            args.data_dir.display()
        );
    }
    let secret = secret(args.secret.as_deref(), &args.data_dir)?;
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let mut claims = Claims::new(
        args.user.clone(),
        args.role.into(),
        Timestamp::from_millis(now_ms),
        args.ttl,
    );
    claims.room = args.room.clone();
    claims.name = args.name.clone();
    claims.avatar = args.avatar.clone();
    claims.adm = args.admin;
    Ok(Auth::new(&secret).mint(&claims)?)
}

fn serve(args: ServeArgs) -> Result<()> {
    init_logs(args.log_format);
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    let secret = secret(args.secret.as_deref(), &args.data_dir)?;
    let mut config = ServerConfig::new(args.data_dir.clone(), secret);
    config.grace_period = Duration::from_secs(args.grace_period_secs);
    config.room_creation = args.room_creation.into();
    config.room_idle_unload = args.room_idle_unload;
    config.room_ttl = args.room_ttl;
    config.api_key = args.api_key.clone().filter(|k| !k.is_empty());
    if !args.webhooks.is_empty() {
        let secret = args
            .webhook_secret
            .clone()
            .filter(|s| !s.is_empty())
            .context("--webhook needs --webhook-secret (COGUEST_WEBHOOK_SECRET)")?;
        coguest_server::webhook::check_endpoints(&args.webhooks)?;
        config.webhooks.endpoints = args.webhooks.clone();
        config.webhooks.ca_file = args.webhook_ca_file.clone();
        config.webhooks.secret = secret.into_bytes();
        config.webhooks.retention = Duration::from_secs(args.webhook_retention_secs);
    }
    config.webhooks.ca_file = args.webhook_ca_file.clone();
    if !args.approve_urls.is_empty() {
        let secret = args
            .approve_secret
            .clone()
            .filter(|s| !s.is_empty())
            .context("--approve-url needs --approve-secret (COGUEST_APPROVE_SECRET)")?;
        for url in &args.approve_urls {
            config.approval.add_url(url).map_err(anyhow::Error::msg)?;
        }
        let urls: Vec<String> = config
            .approval
            .urls
            .iter()
            .map(|(_, u)| u.clone())
            .collect();
        coguest_server::webhook::check_endpoints(&urls)?;
        config.approval.secret = secret.into_bytes();
        config.approval.timeout = Duration::from_millis(args.approve_timeout_ms);
        config.approval.allow_on_error = args.approve_on_error == OnError::Allow;
    }
    config.limits = Limits {
        max_frame_bytes: args.max_frame_bytes,
        commands_per_sec: args.commands_per_sec,
        command_burst: args.command_burst,
        max_connections_per_user: args.max_connections_per_user,
        outgoing_queue: args.outgoing_queue,
        idle_timeout: Duration::from_secs(args.idle_timeout_secs),
    };
    config.default_room = RoomConfig {
        max_extra_info_bytes: args.max_extra_info_bytes,
        max_members: args.max_members,
        ..RoomConfig::default()
    };
    config
        .default_room
        .validate()
        .context("invalid room limits")?;
    if args.lease_ms < 300 {
        bail!("--lease-ms must be at least 300");
    }
    if args.redis_ack_timeout_ms == 0 {
        bail!("--redis-ack-timeout-ms must be at least 1");
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        config.edge.tls = Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        });
    }
    config.edge.trusted_proxies = args.trusted_proxies.clone();
    config.edge.handshake_timeout = Duration::from_secs(args.handshake_timeout_secs);
    config.edge.max_connections_per_ip = args.max_connections_per_ip;
    config.edge.max_handshakes = args.max_handshakes;
    config.edge.max_connections = args.max_connections;
    if let Some(url) = &args.redis {
        // Refused here, before the node binds its port, with the reason.
        coguest_server::store::redis::RedisTarget::parse(url)?;
    }
    // Before listening: a node that printed its address must be able to serve.
    coguest_server::check_config(&config)?;
    raise_fd_limit();
    let (ws, http) = match config.edge.tls {
        Some(_) => ("wss", "https"),
        None => ("ws", "http"),
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    runtime.block_on(async move {
        // Listen for signals before anything else: a SIGTERM during start-up must shut the
        // server down gracefully, not kill it.
        let shutdown = shutdown_signal()?;
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding {}", args.listen))?;
        let addr = listener.local_addr()?;
        if let Some(url) = &args.redis {
            let mut cc = ClusterConfig::new(url.clone());
            if let Some(id) = &args.node_id {
                cc.node_id = id.clone();
            }
            cc.prefix = args.redis_prefix.clone();
            cc.lease = Duration::from_millis(args.lease_ms);
            cc.ack = args.redis_ack;
            cc.ack_timeout = Duration::from_millis(args.redis_ack_timeout_ms);
            cc.advertise = format!("{ws}://{addr}/v1/ws");
            config.cluster = Some(cc);
        }
        let cluster = config.cluster.as_ref().map(|cc| {
            let url = coguest_server::store::redis::redacted(&cc.redis_url);
            format!("cluster node {} on {url}", cc.node_id)
        });
        // Every setting is checked and storage opened before "listening" is printed.
        let server = coguest_server::ServerBuilder::new(config)
            .start(listener)
            .await?;
        let data = args.data_dir.display();
        println!("coguest listening on {ws}://{addr}/v1/ws (health: {http}://{addr}/healthz)");
        println!("data: {data}");
        println!("mint a token: coguest token --data-dir {data} --user alice --role owner");
        if let Some(cluster) = cluster {
            println!("{cluster}");
        }
        server.run_until(shutdown).await?;
        Ok(())
    })
}

/// Raises the soft limit of open files to the hard one: the default connection ceiling is
/// derived from it, and the usual soft default (1024) is far below what a server holds.
fn raise_fd_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    // "Unlimited" is refused for open files; 2^20 is Linux's usual `nr_open`.
    let target = limit.maximum.unwrap_or(1 << 20);
    if limit.current.is_some_and(|soft| soft < target) {
        let raised = Rlimit {
            current: Some(target),
            maximum: limit.maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => tracing::info!(from = ?limit.current, to = target, "open files limit raised"),
            Err(e) => tracing::info!(error = %e, "open files limit left as it is"),
        }
    }
}

/// Completes on SIGTERM or Ctrl-C (SIGINT). The handlers are installed when this is called,
/// so a signal that arrives before the future is first polled is not lost.
#[cfg(unix)]
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        tracing::info!("signal received");
    })
}

/// Completes on Ctrl-C.
#[cfg(not(unix))]
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()> + Send + 'static> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("signal received");
    })
}

fn cluster_status(redis: &str, prefix: &str, json: bool) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    let status = runtime
        .block_on(coguest_server::cluster::status(redis, prefix))
        .with_context(|| format!("reading the cluster from {redis}"))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&status)?);
        return Ok(());
    }
    println!("nodes:");
    for n in &status.nodes {
        let state = if n.alive { "alive" } else { "gone" };
        println!(
            "  {:<24} {:<6} {}",
            n.node,
            state,
            n.addr.as_deref().unwrap_or("-")
        );
    }
    println!("rooms:");
    for r in &status.rooms {
        let owner = match (&r.owner, r.epoch) {
            (Some(o), Some(e)) => format!("{o} (epoch {e})"),
            _ => "no owner".to_owned(),
        };
        println!("  {:<24} {owner}", r.room);
    }
    Ok(())
}

fn init_logs(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only for a terminal: a log file or a pipe gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
