//! Server settings and limits, each with its documented default.

use crate::cluster::ClusterConfig;
use coguest_core::RoomConfig;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Everything the server needs to run. [`ServerConfig::new`] gives the documented defaults.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Directory holding the SQLite database (`coguest.db`). Default `./coguest-data`.
    pub data_dir: PathBuf,
    /// HS256 signing secret for tokens.
    pub secret: Vec<u8>,
    /// How long a member keeps its seat and requests after its last connection to a room
    /// drops. Default 30 s.
    pub grace_period: Duration,
    /// Settings of rooms created implicitly by a first join, and the defaults for fields
    /// missing from `PUT /v1/rooms/{room}`. `max_extra_info_bytes` (default 2048) and
    /// `max_members` (default 20 000) are the per-room limits.
    pub default_room: RoomConfig,
    /// Limits applied to every connection.
    pub limits: Limits,
    /// Outputs kept per room so a reconnecting client can resume by version instead of
    /// receiving a snapshot. Default 4096.
    pub resume_ring: usize,
    /// Bytes of those outputs kept per room, at most (the older ones go first). Bounds the
    /// history's memory per room however large its messages. Default 64 KiB.
    pub resume_ring_bytes: usize,
    /// Log entries between two snapshots of a room in storage. Default 1000.
    pub compact_every: u64,
    /// A static key accepted by the admin HTTP API (`Authorization: Bearer <key>` or
    /// `X-Api-Key: <key>`), besides admin tokens. Default none.
    pub api_key: Option<String>,
    /// Webhook endpoints and delivery settings. Default: no endpoints.
    pub webhooks: WebhookConfig,
    /// The approval hook asked before applications, invitations and free seat takes.
    /// Default: none.
    pub approval: ApprovalConfig,
    /// Cluster mode on Redis (`None`: single node on SQLite, the default).
    pub cluster: Option<ClusterConfig>,
    /// TLS, deadlines and limits applied to connections before any route sees them.
    pub edge: EdgeConfig,
    /// Who creates a room by joining one that does not exist. Default [`RoomCreation::Owner`].
    pub room_creation: RoomCreation,
    /// An idle room (no members, no pending request) leaves memory this long after it became
    /// idle (after its last member's grace period ended, say); it is loaded again from
    /// storage when next used. Default 60 s; zero keeps rooms loaded. Single node only.
    pub room_idle_unload: Duration,
    /// An idle room unused for this long (no stored command, join or deadline) is deleted,
    /// with a `room_closed` webhook whose `reason` is `expired`. Default 7 days; zero keeps
    /// rooms forever. Single node only.
    pub room_ttl: Duration,
}

/// Who creates a room by joining one that does not exist (`join` of an unknown room). The
/// admin API (`POST /v1/admin/rooms`, `PUT /v1/rooms/{room}`) always may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RoomCreation {
    /// A token whose role is `owner` (the default). Others get `ROOM_ID_NOT_EXIST`.
    #[default]
    Owner,
    /// Any token.
    Anyone,
    /// Nobody: rooms are created through the admin API only.
    AdminApi,
}

impl RoomCreation {
    /// Whether a member with `role` creates the room it joins.
    pub fn allows(self, role: coguest_core::Role) -> bool {
        match self {
            RoomCreation::Owner => role == coguest_core::Role::Owner,
            RoomCreation::Anyone => true,
            RoomCreation::AdminApi => false,
        }
    }
}

/// The connection edge: what every TCP connection goes through before its first request
/// reaches a route. Each limit is counted in `coguest_edge_refused_total{reason}`.
#[derive(Debug, Clone)]
pub struct EdgeConfig {
    /// Serve TLS with this certificate and key (`wss://`, `https://`); `None` (default):
    /// plain TCP. The files are watched and reloaded when they change.
    pub tls: Option<TlsFiles>,
    /// How long a new connection has to finish its TLS handshake and send its first request
    /// head (a WebSocket upgrade is one); a kept-alive HTTP connection gets as long for each
    /// later head, waiting included. Past it the connection is closed without an answer.
    /// Default 10 s; zero: no deadline.
    pub handshake_timeout: Duration,
    /// Open connections per client address (an IPv6 address counts by its /64). One more is
    /// answered `429 Too Many Requests` and closed. Default 64; zero: no limit.
    pub max_connections_per_ip: usize,
    /// Connections accepted whose first request head has not arrived yet. One more is
    /// answered `503 Service Unavailable` and closed. Default 256; zero: no limit.
    pub max_handshakes: usize,
    /// Open connections in all; one more is answered `503 Service Unavailable` and closed,
    /// so `accept` never runs out of file descriptors. `None` (default): 90 % of the file
    /// descriptors the process may still open when it starts (`RLIMIT_NOFILE` minus those
    /// open); zero: no limit.
    pub max_connections: Option<usize>,
    /// Reverse proxies (addresses or CIDR blocks) whose `X-Forwarded-For` names the client.
    /// The per-address limit then counts that client (the header's last hop that is not a
    /// trusted proxy) instead of the proxy. Default none: the header is ignored.
    pub trusted_proxies: Vec<IpNet>,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        EdgeConfig {
            tls: None,
            handshake_timeout: Duration::from_secs(10),
            max_connections_per_ip: 64,
            max_handshakes: 256,
            max_connections: None,
            trusted_proxies: Vec::new(),
        }
    }
}

/// A PEM certificate chain (the server's certificate first) and its PEM private key
/// (PKCS#8, PKCS#1 or SEC1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain file.
    pub cert: PathBuf,
    /// The private key file.
    pub key: PathBuf,
}

/// An IP address block: `10.0.0.0/8`, `2001:db8::/32`, or one address (`192.0.2.7`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Whether `ip` is in this block (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not an IP address or CIDR block (10.0.0.0/8, ::1)");
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr = IpAddr::from_str(addr).map_err(|_| bad())?.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(IpNet { addr, prefix })
    }
}

impl std::fmt::Display for IpNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Where and how room transitions are posted (see `docs/WEBHOOKS.md`).
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Endpoint URLs (`http://` or `https://`), each with its own delivery task and queue.
    pub endpoints: Vec<String>,
    /// A PEM file of CA certificates trusted for `https://` endpoints besides the Mozilla
    /// roots (a private CA). Default none.
    pub ca_file: Option<PathBuf>,
    /// HMAC-SHA256 key for the `Coguest-Signature` header.
    pub secret: Vec<u8>,
    /// An undelivered event is dropped this long after it happened. Default 24 h.
    pub retention: Duration,
    /// First retry delay; doubles per failed attempt. Default 500 ms.
    pub backoff_initial: Duration,
    /// Longest retry delay. Default 60 s.
    pub backoff_max: Duration,
    /// How long one POST may take before it counts as failed. Default 10 s.
    pub request_timeout: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            endpoints: Vec::new(),
            ca_file: None,
            secret: Vec::new(),
            retention: Duration::from_secs(24 * 3600),
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(60),
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// The app's approval hook (see `docs/APPROVAL.md`): which requests it is asked about, where,
/// and what happens when it cannot answer.
#[derive(Debug, Clone)]
pub struct ApprovalConfig {
    /// The endpoint asked about each kind of request (`http://` or `https://`); a kind
    /// without one goes ahead unasked. Default none.
    pub urls: Vec<(coguest_proto::ApprovalKind, String)>,
    /// HMAC-SHA256 key for the `Coguest-Signature` header (the webhooks' scheme).
    pub secret: Vec<u8>,
    /// How long the server waits for an answer. Default 500 ms.
    pub timeout: Duration,
    /// Whether a request goes ahead when the hook times out, is unreachable or answers
    /// something else than an answer. Default: no (`APPROVAL_UNAVAILABLE`).
    pub allow_on_error: bool,
}

impl Default for ApprovalConfig {
    fn default() -> Self {
        ApprovalConfig {
            urls: Vec::new(),
            secret: Vec::new(),
            timeout: Duration::from_millis(500),
            allow_on_error: false,
        }
    }
}

impl ApprovalConfig {
    /// The endpoint asked about `kind`, if any.
    pub fn url(&self, kind: coguest_proto::ApprovalKind) -> Option<&str> {
        self.urls
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, u)| u.as_str())
    }

    /// Adds an `--approve-url` value: `URL` (every kind) or `KIND=URL` (`apply`, `invite`,
    /// `take_seat`); a later value for a kind replaces an earlier one. The URLs are checked
    /// when the server starts.
    pub fn add_url(&mut self, value: &str) -> Result<(), String> {
        let (kinds, url) = match value.split_once('=') {
            Some((k, url)) if !k.contains(':') && !k.contains('/') => {
                let kind = coguest_proto::ApprovalKind::parse(k).ok_or_else(|| {
                    format!(
                        "--approve-url {value:?}: unknown kind {k:?} (apply, invite, take_seat)"
                    )
                })?;
                (vec![kind], url)
            }
            _ => (coguest_proto::ApprovalKind::ALL.to_vec(), value),
        };
        for kind in kinds {
            self.urls.retain(|(k, _)| *k != kind);
            self.urls.push((kind, url.to_owned()));
        }
        Ok(())
    }
}

/// Per-connection limits. Each is answered with its own error code and changes nothing.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest text frame read, in bytes (default 64 KiB): larger frames are answered with
    /// `FRAME_TOO_LARGE` (-3003). Frames over twice this plus 4 KiB close the connection
    /// with close code 1009.
    pub max_frame_bytes: usize,
    /// Sustained commands per second per connection (default 20), token bucket.
    pub commands_per_sec: u32,
    /// Token bucket size: commands a connection may send in a burst (default 40). A command
    /// over the limit is answered with `FREQ_LIMIT` (-2).
    pub command_burst: u32,
    /// Open connections per user (default 8). One more is answered with
    /// `TOO_MANY_CONNECTIONS` (-3013) and closed with code 1008.
    pub max_connections_per_user: u32,
    /// Frames queued for one connection (default 1024). A connection whose queue is full is
    /// closed with `CLOSE_TOO_SLOW` (4008) so it never slows its rooms down.
    pub outgoing_queue: usize,
    /// A connection from which nothing arrived (no frame, ping or pong) for this long is
    /// closed with `CLOSE_IDLE` (4009): a peer that vanished without closing (a dead network,
    /// a killed phone) would otherwise hold its seat forever. Default 60 s (the SDK pings every
    /// 20 s); zero disables it.
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame_bytes: 64 * 1024,
            commands_per_sec: 20,
            command_burst: 40,
            max_connections_per_user: 8,
            outgoing_queue: 1024,
            idle_timeout: Duration::from_secs(60),
        }
    }
}

impl ServerConfig {
    /// The documented defaults, with this data directory and secret.
    pub fn new(data_dir: impl Into<PathBuf>, secret: impl Into<Vec<u8>>) -> Self {
        ServerConfig {
            data_dir: data_dir.into(),
            secret: secret.into(),
            grace_period: Duration::from_secs(30),
            default_room: RoomConfig::default(),
            limits: Limits::default(),
            resume_ring: 4096,
            resume_ring_bytes: 64 * 1024,
            compact_every: 1000,
            api_key: None,
            webhooks: WebhookConfig::default(),
            approval: ApprovalConfig::default(),
            cluster: None,
            edge: EdgeConfig::default(),
            room_creation: RoomCreation::Owner,
            room_idle_unload: Duration::from_secs(60),
            room_ttl: Duration::from_secs(7 * 24 * 3600),
        }
    }

    /// The largest WebSocket message the transport accepts before closing the connection.
    pub(crate) fn transport_max_message(&self) -> usize {
        self.limits
            .max_frame_bytes
            .saturating_mul(2)
            .saturating_add(4096)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn approval_urls_per_kind_or_for_all() {
        use coguest_proto::ApprovalKind as K;
        let mut c = ApprovalConfig::default();
        assert!(c.add_url("http://127.0.0.1:9/all?x=1").is_ok());
        assert!(c.add_url("invite=https://hooks.example.com/inv").is_ok());
        assert_eq!(c.url(K::Apply), Some("http://127.0.0.1:9/all?x=1"));
        assert_eq!(c.url(K::TakeSeat), Some("http://127.0.0.1:9/all?x=1"));
        assert_eq!(c.url(K::Invite), Some("https://hooks.example.com/inv"));
        assert!(c.add_url("kick=http://x/").is_err());
    }

    #[test]
    fn ip_blocks_parse_and_match() {
        assert!(net("10.0.0.0/8").contains(ip("10.200.1.2")));
        assert!(!net("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(net("192.0.2.7").contains(ip("192.0.2.7")));
        assert!(!net("192.0.2.7").contains(ip("192.0.2.8")));
        assert!(net("0.0.0.0/0").contains(ip("203.0.113.1")));
        assert!(net("2001:db8::/32").contains(ip("2001:db8:1::5")));
        assert!(!net("2001:db8::/32").contains(ip("2001:db9::5")));
        assert!(net("::/0").contains(ip("::1")));
        // A v4-mapped peer address (dual-stack listener) is its IPv4 address.
        assert!(net("127.0.0.1").contains(ip("::ffff:127.0.0.1")));
        assert!(net("::ffff:127.0.0.1").contains(ip("127.0.0.1")));
        assert!(!net("10.0.0.0/8").contains(ip("::1")));
        assert_eq!(net(" 10.1.2.3/16 ").to_string(), "10.1.2.3/16");
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "host",
            "10.0.0.0/x",
            "1.2.3.4/",
        ] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad:?} parsed");
        }
    }
}
