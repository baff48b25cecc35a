//! Cluster mode on Redis: many nodes, one owner per room, rooms survive node loss.
//!
//! Every node that has members of a room runs a room actor for it over the same core. Exactly
//! one of them, the *owner*, holds the room's lease in Redis (with a fencing epoch) and decides:
//! it applies commands and deadlines, appends each input to the Redis log with a fenced Lua
//! script that also publishes it once on the room's channel. Every other node with members of
//! the room (a *follower*) applies the published entries to its own copy of the room — the
//! core is deterministic, so it computes the same outputs — and delivers them to its own
//! connections. Followers forward their members' commands to the owner on the room's command
//! channel; the owner answers on the origin node's channel.
//!
//! This module holds the node-wide part: the Redis subscriptions and their dispatch to room
//! actors, the ordered publisher, node heartbeats and the live-node set. When the subscription
//! connection is lost (Redis restarted, or it dropped this subscriber), it reconnects with a
//! bounded backoff, subscribes to every channel it had again, and asks every room actor to
//! resynchronise, since whatever was published meanwhile is lost.

use crate::Metrics;
use crate::actor::RoomMsg;
use crate::registry::Registry;
use crate::store::StoreError;
use crate::store::redis::{Keys, RedisStore, RoomNotice};
use coguest_core::{Command, Profile, Role, RoomId};
use coguest_proto::ClientCommand;
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, PubSubSink, PubSubStream};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::mpsc;

/// Cluster settings.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// Redis URL, e.g. `redis://127.0.0.1:6379`.
    pub redis_url: String,
    /// This node's id (unique in the cluster).
    pub node_id: String,
    /// Prefix of every Redis key and channel.
    pub prefix: String,
    /// Room lease length. A dead owner's rooms are taken over after at most this long.
    pub lease: Duration,
    /// The address clients reach this node at (shown by `cluster status`).
    pub advertise: String,
}

impl ClusterConfig {
    /// Settings with a generated node id, prefix `coguest` and a 2 s lease.
    pub fn new(redis_url: impl Into<String>) -> Self {
        ClusterConfig {
            redis_url: redis_url.into(),
            node_id: format!("node-{:08x}", rand::random::<u32>()),
            prefix: "coguest".into(),
            lease: Duration::from_secs(2),
            advertise: String::new(),
        }
    }
}

/// A member command forwarded to a room's owner.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
pub(crate) enum CmdMsg {
    /// A command from a connection on another node.
    Command {
        node: String,
        conn: u64,
        user: String,
        profile: Profile,
        role: Role,
        id: u64,
        cmd: ClientCommand,
        core: Option<Command>,
    },
    /// A connection on another node left the room or closed.
    Detach { node: String, conn: u64 },
    /// Every connection a node has in the room (sent to a new owner).
    Presence {
        node: String,
        conns: Vec<(u64, String)>,
    },
    /// An admin API request received by another node; answered with an [`AdminAnswer`] on
    /// that node's channel (connection [`ADMIN_CONN`]).
    Admin { node: String, req: u64, op: AdminOp },
}

/// What the admin API asks a room's owner to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum AdminOp {
    /// Apply a command as the operator.
    Operator { command: Command },
    /// Close the room.
    Close,
}

/// The owner's answer to a forwarded admin request: the room version, or the refusal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AdminAnswer {
    pub req: u64,
    pub result: Result<u64, (coguest_proto::ErrorCode, String)>,
}

/// The connection id that marks an answer as an [`AdminAnswer`] (real connections start at 1).
pub(crate) const ADMIN_CONN: u64 = 0;

/// An answer for a connection on this node.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct NodeMsg {
    pub room: String,
    pub conn: u64,
    pub text: String,
}

/// The subscription connection's sink and every channel subscribed through it, under one
/// lock so that a reconnection restores exactly the channels subscribed at that moment.
struct Subs {
    sink: PubSubSink,
    channels: HashSet<String>,
}

/// The first retry of a lost subscription waits this long, doubling up to [`RESUBSCRIBE_MAX`].
const RESUBSCRIBE_MIN: Duration = Duration::from_millis(100);
const RESUBSCRIBE_MAX: Duration = Duration::from_secs(2);
/// One reconnection attempt (connect and subscribe) gives up after this long.
const RESUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(5);
/// Subscriptions sent at once when restoring them (one channel per request: the client
/// matches one reply to each request).
const RESUBSCRIBE_BATCH: usize = 64;

/// The node-wide cluster state.
pub(crate) struct Cluster {
    pub store: Arc<RedisStore>,
    pub keys: Keys,
    pub node: String,
    pub lease: Duration,
    advertise: String,
    client: redis::Client,
    conn: ConnectionManager,
    subs: tokio::sync::Mutex<Subs>,
    out: mpsc::UnboundedSender<(String, String)>,
    alive: Mutex<HashSet<String>>,
    registry: Mutex<Weak<Registry>>,
    metrics: Arc<Metrics>,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl Cluster {
    /// Connects to Redis, subscribes to this node's channel and starts the dispatcher, the
    /// publisher and the heartbeat.
    pub async fn start(
        config: &ClusterConfig,
        store: Arc<RedisStore>,
        metrics: Arc<Metrics>,
    ) -> Result<Arc<Self>, StoreError> {
        let client = redis::Client::open(config.redis_url.as_str()).map_err(backend)?;
        let pubsub = client.get_async_pubsub().await.map_err(backend)?;
        let (mut sink, stream) = pubsub.split();
        let keys = store.keys().clone();
        let node_channel = keys.node_channel(&config.node_id);
        sink.subscribe(&node_channel).await.map_err(backend)?;
        let conn = store.connection();
        let (out, mut out_rx) = mpsc::unbounded_channel::<(String, String)>();
        let cluster = Arc::new(Cluster {
            store,
            keys,
            node: config.node_id.clone(),
            lease: config.lease,
            advertise: config.advertise.clone(),
            client,
            conn,
            subs: tokio::sync::Mutex::new(Subs {
                sink,
                channels: HashSet::from([node_channel]),
            }),
            out,
            alive: Mutex::new(HashSet::new()),
            registry: Mutex::new(Weak::new()),
            metrics,
        });
        // Publisher: one task, so answers to a node leave in the order they were sent.
        let mut pub_conn = cluster.conn.clone();
        tokio::spawn(async move {
            while let Some((channel, payload)) = out_rx.recv().await {
                let r: Result<i64, _> = redis::cmd("PUBLISH")
                    .arg(&channel)
                    .arg(&payload)
                    .query_async(&mut pub_conn)
                    .await;
                if let Err(e) = r {
                    tracing::warn!(error = %e, "publishing an answer failed");
                }
            }
        });
        // Dispatcher: every subscribed message goes to its room actor's inbox, in order.
        let weak = Arc::downgrade(&cluster);
        tokio::spawn(async move {
            let mut stream = stream;
            loop {
                while let Some(msg) = stream.next().await {
                    let Some(cluster) = weak.upgrade() else {
                        return;
                    };
                    cluster.dispatch(msg.get_channel_name(), msg.get_payload_bytes());
                }
                match Self::resubscribe(&weak).await {
                    Some(s) => stream = s,
                    None => return,
                }
            }
        });
        // Heartbeat and live-node set.
        let weak = Arc::downgrade(&cluster);
        tokio::spawn(async move {
            loop {
                let Some(cluster) = weak.upgrade() else {
                    return;
                };
                if let Err(e) = cluster.heartbeat().await {
                    tracing::warn!(error = %e, "cluster heartbeat failed");
                }
                let period = cluster.lease / 3;
                drop(cluster);
                tokio::time::sleep(period.max(Duration::from_millis(50))).await;
            }
        });
        cluster.heartbeat().await?;
        Ok(cluster)
    }

    pub fn set_registry(&self, registry: &Arc<Registry>) {
        if let Ok(mut r) = self.registry.lock() {
            *r = Arc::downgrade(registry);
        }
    }

    fn registry(&self) -> Option<Arc<Registry>> {
        self.registry.lock().ok()?.upgrade()
    }

    /// The subscription connection is gone, and with it whatever was published since: opens
    /// a new one with a bounded backoff, restores every channel, then has every room actor
    /// resynchronise. `None` once the node is shutting down.
    async fn resubscribe(weak: &Weak<Cluster>) -> Option<PubSubStream> {
        tracing::warn!("the Redis subscription ended; reconnecting");
        let mut delay = RESUBSCRIBE_MIN;
        loop {
            let cluster = weak.upgrade()?;
            let attempt = tokio::time::timeout(RESUBSCRIBE_TIMEOUT, cluster.reconnect()).await;
            match attempt {
                Ok(Ok((stream, channels))) => {
                    cluster.metrics.cluster_resubscribes.inc();
                    let rooms = cluster.registry().map_or(0, |r| r.resync_all());
                    tracing::warn!(
                        channels,
                        rooms,
                        "resubscribed to Redis; room actors resynchronise"
                    );
                    return Some(stream);
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "resubscribing to Redis failed"),
                Err(_) => tracing::warn!("resubscribing to Redis timed out"),
            }
            drop(cluster);
            // Jitter, so that nodes cut off together do not all retry at once.
            let jitter = 0.5 + rand::random::<f64>() / 2.0;
            tokio::time::sleep(delay.mul_f64(jitter)).await;
            delay = (delay * 2).min(RESUBSCRIBE_MAX);
        }
    }

    /// A new subscription connection, subscribed to every channel the lost one had. The lock
    /// is held throughout, so a concurrent (un)subscribe lands on one side of the swap.
    async fn reconnect(&self) -> Result<(PubSubStream, usize), StoreError> {
        let pubsub = self.client.get_async_pubsub().await.map_err(backend)?;
        let (sink, stream) = pubsub.split();
        let mut subs = self.subs.lock().await;
        let channels: Vec<String> = subs.channels.iter().cloned().collect();
        let n = channels.len();
        let results: Vec<redis::RedisResult<()>> = futures_util::stream::iter(channels)
            .map(|ch| {
                let mut sink = sink.clone();
                async move { sink.subscribe(ch).await }
            })
            .buffer_unordered(RESUBSCRIBE_BATCH)
            .collect()
            .await;
        if let Some(Err(e)) = results.into_iter().find(Result::is_err) {
            return Err(backend(e));
        }
        subs.sink = sink;
        Ok((stream, n))
    }

    async fn heartbeat(&self) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let ttl = u64::try_from(self.lease.as_millis() * 2).unwrap_or(u64::MAX);
        let nodes: Vec<String> = redis::pipe()
            .cmd("SET")
            .arg(self.keys.node(&self.node))
            .arg(&self.advertise)
            .arg("PX")
            .arg(ttl)
            .ignore()
            .cmd("SADD")
            .arg(self.keys.nodes())
            .arg(&self.node)
            .ignore()
            .cmd("SMEMBERS")
            .arg(self.keys.nodes())
            .query_async::<(Vec<String>,)>(&mut conn)
            .await
            .map_err(backend)?
            .0;
        let mut alive = HashSet::new();
        if !nodes.is_empty() {
            let mut cmd = redis::cmd("MGET");
            for n in &nodes {
                cmd.arg(self.keys.node(n));
            }
            let addrs: Vec<Option<String>> = cmd.query_async(&mut conn).await.map_err(backend)?;
            for (n, a) in nodes.iter().zip(addrs) {
                if a.is_some() {
                    alive.insert(n.clone());
                }
            }
        }
        if let Ok(mut a) = self.alive.lock() {
            *a = alive;
        }
        Ok(())
    }

    /// Whether `node` sent a heartbeat recently (this node always is).
    pub fn is_alive(&self, node: &str) -> bool {
        node == self.node || self.alive.lock().map(|a| a.contains(node)).unwrap_or(true)
    }

    fn dispatch(&self, channel: &str, payload: &[u8]) {
        let Some(registry) = self.registry() else {
            return;
        };
        let (room, msg) = if let Some(room) = channel.strip_prefix(&self.keys.room_channel_prefix())
        {
            match serde_json::from_slice::<RoomNotice>(payload) {
                Ok(n) => (RoomId::from(room), RoomMsg::Notice(n)),
                Err(e) => {
                    tracing::warn!(error = %e, channel, "unreadable room notice");
                    return;
                }
            }
        } else if let Some(room) = channel.strip_prefix(&self.keys.cmd_channel_prefix()) {
            match serde_json::from_slice::<CmdMsg>(payload) {
                Ok(c) => (RoomId::from(room), RoomMsg::Remote(Box::new(c))),
                Err(e) => {
                    tracing::warn!(error = %e, channel, "unreadable forwarded command");
                    return;
                }
            }
        } else {
            match serde_json::from_slice::<NodeMsg>(payload) {
                Ok(a) => (RoomId::from(a.room.as_str()), RoomMsg::Answer(a)),
                Err(e) => {
                    tracing::warn!(error = %e, channel, "unreadable answer");
                    return;
                }
            }
        };
        registry.deliver_local(&room, msg);
    }

    /// Subscribes to `channel` and remembers it, to restore it after a reconnection.
    async fn subscribe(&self, channel: String) -> Result<(), StoreError> {
        let mut subs = self.subs.lock().await;
        subs.sink.subscribe(&channel).await.map_err(backend)?;
        subs.channels.insert(channel);
        Ok(())
    }

    /// Subscribes to a room's change channel (before loading it, so nothing is missed).
    pub async fn subscribe_room(&self, room: &RoomId) -> Result<(), StoreError> {
        self.subscribe(self.keys.room_channel(room.as_str())).await
    }

    /// Subscribes to a room's command channel (as its owner).
    pub async fn subscribe_cmds(&self, room: &RoomId) -> Result<(), StoreError> {
        self.subscribe(self.keys.cmd_channel(room.as_str())).await
    }

    /// Stops listening to a room's command channel (no longer its owner).
    pub async fn unsubscribe_cmds(&self, room: &RoomId) {
        let channel = self.keys.cmd_channel(room.as_str());
        let mut subs = self.subs.lock().await;
        // Forgotten even if the request fails: a lost connection took it anyway.
        subs.channels.remove(&channel);
        if let Err(e) = subs.sink.unsubscribe(&channel).await {
            tracing::warn!(error = %e, "unsubscribing failed");
        }
    }

    /// Sends a message to a room's owner; `Ok(false)` when no node owns it (nobody listens).
    pub async fn to_owner(&self, room: &RoomId, msg: &CmdMsg) -> Result<bool, StoreError> {
        let payload = serde_json::to_string(msg).map_err(backend)?;
        let mut conn = self.conn.clone();
        let n: i64 = redis::cmd("PUBLISH")
            .arg(self.keys.cmd_channel(room.as_str()))
            .arg(payload)
            .query_async(&mut conn)
            .await
            .map_err(backend)?;
        Ok(n > 0)
    }

    /// Queues a message for a room's owner (sent in order, without waiting).
    pub fn queue_to_owner(&self, room: &RoomId, msg: &CmdMsg) {
        if let Ok(payload) = serde_json::to_string(msg) {
            let _ = self
                .out
                .send((self.keys.cmd_channel(room.as_str()), payload));
        }
    }

    /// Queues an answer for a connection on `node` (sent in order, without waiting).
    pub fn answer(&self, node: &str, room: &RoomId, conn: u64, text: &str) {
        let msg = NodeMsg {
            room: room.as_str().to_owned(),
            conn,
            text: text.to_owned(),
        };
        if let Ok(payload) = serde_json::to_string(&msg) {
            let _ = self.out.send((self.keys.node_channel(node), payload));
        }
    }
}

/// One line of `cluster status`: a room and its owner.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RoomOwner {
    /// Room id.
    pub room: String,
    /// Owner node, if the lease is held.
    pub owner: Option<String>,
    /// Lease epoch.
    pub epoch: Option<u64>,
}

/// A node as `cluster status` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NodeStatus {
    /// Node id.
    pub node: String,
    /// Its advertised address, when alive.
    pub addr: Option<String>,
    /// Whether its heartbeat is recent.
    pub alive: bool,
}

/// The cluster as Redis records it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClusterStatus {
    /// Every node seen.
    pub nodes: Vec<NodeStatus>,
    /// Every room and its owner.
    pub rooms: Vec<RoomOwner>,
}

/// Reads the cluster's nodes and room owners from Redis (`coguest cluster status`).
pub async fn status(redis_url: &str, prefix: &str) -> Result<ClusterStatus, StoreError> {
    let client = redis::Client::open(redis_url).map_err(backend)?;
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .map_err(backend)?;
    let keys = Keys::new(prefix);
    let mut nodes: Vec<String> = redis::cmd("SMEMBERS")
        .arg(keys.nodes())
        .query_async(&mut conn)
        .await
        .map_err(backend)?;
    nodes.sort();
    let mut node_status = Vec::new();
    for n in nodes {
        let addr: Option<String> = redis::cmd("GET")
            .arg(keys.node(&n))
            .query_async(&mut conn)
            .await
            .map_err(backend)?;
        node_status.push(NodeStatus {
            node: n,
            alive: addr.is_some(),
            addr,
        });
    }
    let mut rooms: Vec<String> = redis::cmd("SMEMBERS")
        .arg(keys.rooms())
        .query_async(&mut conn)
        .await
        .map_err(backend)?;
    rooms.sort();
    let mut owners = Vec::new();
    for r in rooms {
        let lease: Option<String> = redis::cmd("GET")
            .arg(keys.lease(&r))
            .query_async(&mut conn)
            .await
            .map_err(backend)?;
        let parsed = lease.as_deref().and_then(crate::store::redis::parse_lease);
        owners.push(RoomOwner {
            room: r,
            owner: parsed.as_ref().map(|p| p.0.clone()),
            epoch: parsed.map(|p| p.1),
        });
    }
    Ok(ClusterStatus {
        nodes: node_status,
        rooms: owners,
    })
}
