//! `coguest-server`: one actor per room over the pure core, WebSocket clients, SQLite
//! persistence.
//!
//! # Shape
//!
//! - [`run`] serves a bound listener until a shutdown future completes (mini-redis shape);
//!   [`Server`] does the same in the background for tests and embedders, with an injected
//!   [`Clock`] and [`RoomStore`].
//! - A routing table maps each room id to its room actor, the only owner of that room's
//!   `coguest_core::Room`. There is no lock around a room.
//! - **Every core mutation is followed by draining `poll_output` before the next mutation**,
//!   then by committing the input to storage, and only then by sending the outputs and the
//!   command's answer. Nothing acknowledged is lost.
//! - Storage is event-sourced: a snapshot plus the log of inputs since (see [`store`]).
//!   Restarting replays the log through the deterministic core, which rebuilds the room, the
//!   outputs a reconnecting client may have missed, and the answers to retried requests.
//!
//! # Endpoints
//!
//! - `GET /v1/ws?token=…` (or `Authorization: Bearer …`): the WebSocket protocol of
//!   `coguest-proto`.
//! - `GET /healthz`, `GET /metrics` (Prometheus text).
//! - `PUT /v1/rooms/{room}` (create with settings), `GET /v1/rooms/{room}` (settings, host
//!   view, member count); both need an admin token (`adm: true`) as `Authorization: Bearer`.
//! - `/v1/admin/...`: the admin API (rooms, seats, requests, settings), with an admin token or
//!   the configured API key; described by the OpenAPI document at `GET /v1/openapi.json`.
//!
//! # Defaults
//!
//! | Setting | Default | Answer when exceeded |
//! |---|---|---|
//! | Reconnect grace period | 30 s | the member leaves the room |
//! | Frame size | 64 KiB | `FRAME_TOO_LARGE` (-3003); over 2×+4 KiB: close 1009 |
//! | `extra_info` | 2048 bytes (room setting) | `EXTRA_INFO_TOO_LARGE` (-3004) |
//! | Commands per connection | 20/s, burst 40 | `FREQ_LIMIT` (-2) |
//! | Connections per user | 8 | `TOO_MANY_CONNECTIONS` (-3013), close 1008 |
//! | Members per room | 20 000 (room setting) | `ROOM_FULL` (-3020) |
//! | Outgoing queue per connection | 1024 frames | close 4008 (`CLOSE_TOO_SLOW`) |
//! | Resume ring per room | 4096 outputs | older `since` gets a snapshot |
//! | Log entries between snapshots | 1000 | — |
//! | Retried request ids remembered | 256 per user per room | — |
//!
//! Each refusal changes nothing.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod api;
mod app;
pub mod approval;
pub mod auth;
mod clock;
pub mod cluster;
mod config;
mod conn;
mod conns;
mod console;
mod edge;
mod http;
mod metrics;
mod retry_cache;
mod room;
mod shared;
mod socket;
pub mod store;
pub mod webhook;
mod wire;

pub use clock::{BoxFuture, Clock, ManualClock, SystemClock};
pub use config::{
    ApprovalConfig, EdgeConfig, IpNet, Limits, RoomCreation, ServerConfig, TlsFiles, WebhookConfig,
};
pub use conn::CLOSE_POLICY;
pub use metrics::Metrics;
pub use retry_cache::{RETRY_CACHE, RETRY_DEPARTED};
pub use room::msg::RoomInfo;
/// A connection's outgoing queue, public for the delivery benchmark (`benches/fanout.rs`).
#[doc(hidden)]
pub use room::outbox::{Live, Next, Outbox, Pushed};
#[doc(hidden)]
pub use socket::OutFrame;
pub use store::sqlite::SqliteStore;
pub use store::{RoomStore, StoreError};
pub use wire::valid_room_id;

use app::App;
use auth::Auth;
use room::registry::Registry;
use shared::Shared;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

/// The database file inside the data directory.
pub const DB_FILE: &str = "coguest.db";

/// Why the server could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Network or file IO failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// The webhook settings cannot be used (endpoint URL, CA file).
    #[error(transparent)]
    Webhook(#[from] webhook::WebhookSetupError),
    /// The configuration cannot be used (see [`check_config`]; also an unreachable Redis and
    /// TLS files that do not load): refused before the server accepts anyone; the message says
    /// why.
    #[error("{0}")]
    Config(String),
}

/// Checks what can be checked of `config` without opening anything (webhook and approval
/// endpoints, secrets and CA file, the Redis URL), so that a binary refuses a bad configuration before it listens.
/// [`run`] checks it again.
pub fn check_config(config: &ServerConfig) -> Result<(), ServerError> {
    let hooks = &config.webhooks;
    webhook::Webhooks::new(hooks).map_err(|e| ServerError::Config(e.to_string()))?;
    if !hooks.endpoints.is_empty() && hooks.secret.is_empty() {
        return Err(ServerError::Config(
            "webhook endpoints need a signing secret".into(),
        ));
    }
    let approval = &config.approval;
    let urls: Vec<String> = approval.urls.iter().map(|(_, u)| u.clone()).collect();
    webhook::check_endpoints(&urls).map_err(|e| ServerError::Config(e.to_string()))?;
    if !urls.is_empty() && approval.secret.is_empty() {
        return Err(ServerError::Config(
            "approval endpoints need a signing secret".into(),
        ));
    }
    if let Some(cc) = &config.cluster {
        store::redis::RedisTarget::parse(&cc.redis_url)
            .map_err(|e| ServerError::Config(e.to_string()))?;
    }
    Ok(())
}

/// Serves `listener` until `shutdown` completes, then shuts down gracefully: stop accepting,
/// let every room actor finish its turn (everything acknowledged is already stored), close
/// every WebSocket with `CLOSE_RECONNECT` (1012).
pub async fn run(
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    ServerBuilder::new(config).serve(listener, shutdown).await
}

/// Configures a server: clock and storage can be injected (tests use a [`ManualClock`]).
pub struct ServerBuilder {
    config: ServerConfig,
    clock: Option<Arc<dyn Clock>>,
    store: Option<Arc<dyn RoomStore>>,
    metrics: Option<Arc<Metrics>>,
}

impl ServerBuilder {
    /// A builder with this configuration, the system clock and SQLite in `config.data_dir`.
    pub fn new(config: ServerConfig) -> Self {
        ServerBuilder {
            config,
            clock: None,
            store: None,
            metrics: None,
        }
    }

    /// Uses this clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Uses this store instead of SQLite in the data directory.
    pub fn store(mut self, store: Arc<dyn RoomStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Starts serving `listener` in the background.
    pub async fn start(self, listener: TcpListener) -> Result<Server, ServerError> {
        let addr = listener.local_addr()?;
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let (ready_tx, ready_rx) = oneshot::channel();
        let task = tokio::spawn(self.serve_inner(
            listener,
            async {
                let _ = stop_rx.await;
            },
            Some(ready_tx),
        ));
        match ready_rx.await {
            Ok(()) => Ok(Server {
                addr,
                stop: Some(stop_tx),
                task,
            }),
            // Start-up failed: the task holds the error.
            Err(_) => match task.await {
                Ok(Err(e)) => Err(e),
                _ => Err(ServerError::Io(std::io::Error::other(
                    "server failed to start",
                ))),
            },
        }
    }

    /// Serves `listener` until `shutdown` completes.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        self.serve_inner(listener, shutdown, None).await
    }

    async fn serve_inner(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
        ready: Option<oneshot::Sender<()>>,
    ) -> Result<(), ServerError> {
        let config = Arc::new(self.config);
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock::new()));
        // Endpoints and CA file are checked before anything is opened.
        check_config(&config)?;
        let webhooks = Arc::new(webhook::Webhooks::new(&config.webhooks)?);
        let metrics = self.metrics.unwrap_or_default();
        let approver = Arc::new(approval::Approver::new(
            &config.approval,
            config.webhooks.ca_file.as_deref(),
            metrics.clone(),
        )?);
        let edge = edge::Edge::new(&config.edge, metrics.clone())
            .map_err(|e| ServerError::Config(e.to_string()))?;
        let mut cluster = None;
        let store: Arc<dyn RoomStore> = match (self.store, &config.cluster) {
            (Some(s), _) => s,
            (None, Some(cc)) => {
                let lease_ms = u64::try_from(cc.lease.as_millis()).unwrap_or(u64::MAX);
                let url = store::redis::redacted(&cc.redis_url);
                let unreachable =
                    |e: StoreError| ServerError::Config(format!("cannot use Redis at {url}: {e}"));
                let redis = Arc::new(
                    store::redis::RedisStore::connect_acking(
                        &cc.redis_url,
                        &cc.prefix,
                        &cc.node_id,
                        lease_ms,
                        cc.ack,
                        cc.ack_timeout,
                    )
                    .await
                    .map_err(unreachable)?,
                );
                cluster = Some(
                    cluster::Cluster::start(cc, redis.clone(), metrics.clone())
                        .await
                        .map_err(unreachable)?,
                );
                tracing::info!(node = %cc.node_id, redis = %url, "cluster mode");
                redis
            }
            (None, None) => {
                std::fs::create_dir_all(&config.data_dir)?;
                Arc::new(SqliteStore::open(&config.data_dir.join(DB_FILE))?)
            }
        };
        let (actors_tx, actors_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            store: store.clone(),
            clock: clock.clone(),
            config: config.clone(),
            metrics: metrics.clone(),
            webhooks: webhooks.clone(),
            approver,
            cluster: cluster.clone(),
            feed: Default::default(),
        });
        let (hooks_tx, hooks_rx) = watch::channel(false);
        let delivery = Arc::new(webhook::DeliveryContext {
            store: store.clone(),
            clock: clock.clone(),
            config: config.clone(),
            metrics: metrics.clone(),
        });
        let deliveries = webhooks.spawn(delivery, hooks_rx);
        let registry = Registry::new(shared, actors_rx);
        if let Some(c) = &cluster {
            c.set_dispatch(registry.routes().clone());
        }
        let rooms = registry.load_all().await?;
        let app = Arc::new(App {
            config: config.clone(),
            auth: Auth::new(&config.secret),
            clock,
            registry: registry.clone(),
            conns: Arc::new(conns::Conns::new(metrics.clone())),
            metrics,
        });
        let sweeps = tokio::spawn(conns::sweep(
            app.conns.clone(),
            app.clock.clone(),
            config.limits.idle_timeout,
        ));
        tracing::info!(
            addr = %listener.local_addr()?,
            rooms,
            "coguest server listening"
        );
        if let Some(ready) = ready {
            let _ = ready.send(());
        }
        let router = http::router(app.clone());
        let served = edge.serve(listener, router, shutdown).await;
        tracing::info!("shutting down: finishing room turns");
        // Actors finish their current turn (already stored) and answer what is queued.
        let _ = actors_tx.send(true);
        registry.join_all().await;
        // Then sockets close, telling clients to reconnect.
        app.conns.close_all(coguest_proto::CLOSE_RECONNECT);
        let _ = tokio::time::timeout(Duration::from_secs(5), app.conns.none_open()).await;
        sweeps.abort();
        // Delivery tasks stop between attempts; what is undelivered stays in the outbox.
        let _ = hooks_tx.send(true);
        for d in deliveries {
            let _ = d.await;
        }
        if webhooks.enabled() {
            store.outbox_release().await;
        }
        store.close().await;
        tracing::info!("shut down");
        served.map_err(ServerError::Io)
    }
}

/// A server running in the background (see [`ServerBuilder::start`]).
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), ServerError>>,
}

impl Server {
    /// A builder.
    pub fn builder(config: ServerConfig) -> ServerBuilder {
        ServerBuilder::new(config)
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Runs until `shutdown` completes, then shuts down gracefully (as [`shutdown`](Self::shutdown));
    /// returns early with the server's error if it stops by itself.
    pub async fn run_until(
        mut self,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), ServerError> {
        let stopped = tokio::select! {
            () = shutdown => None,
            done = &mut self.task => Some(done),
        };
        match stopped {
            None => self.shutdown().await,
            Some(Ok(r)) => r,
            Some(Err(e)) => Err(ServerError::Io(std::io::Error::other(e.to_string()))),
        }
    }

    /// Shuts down gracefully and waits until everything is stored and closed.
    pub async fn shutdown(mut self) -> Result<(), ServerError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match (&mut self.task).await {
            Ok(r) => r,
            Err(e) => Err(ServerError::Io(std::io::Error::other(e.to_string()))),
        }
    }
}
