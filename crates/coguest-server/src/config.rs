//! Server settings and limits, each with its documented default.

use crate::cluster::ClusterConfig;
use coguest_core::RoomConfig;
use std::path::PathBuf;
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
    /// Cluster mode on Redis (`None`: single node on SQLite, the default).
    pub cluster: Option<ClusterConfig>,
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
            cluster: None,
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
