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
//! This module holds the node-wide part (the room actor's own part is `room/actor/cluster.rs`): the Redis subscriptions and their dispatch to room
//! actors, the ordered publisher, node heartbeats and the live-node set. When the subscription
//! connection is lost (Redis restarted, or it dropped this subscriber), it reconnects with a
//! bounded backoff, subscribes to every channel it had again, and asks every room actor to
//! resynchronise, since whatever was published meanwhile is lost.

mod generation;
pub(crate) mod msg;
mod status;

pub use status::{ClusterStatus, NodeStatus, RoomOwner, status};

use crate::metrics::Metrics;
use crate::store::StoreError;
use crate::store::redis::{
    Keys, RedisAck, RedisConn, RedisStore, RedisTarget, RoomNotice, backend,
};
use coguest_core::RoomId;
use futures_util::StreamExt;
use msg::{CmdMsg, NodeMsg};
use redis::aio::{PubSubSink, PubSubStream};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::mpsc;

/// Cluster settings.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// Redis URL, e.g. `redis://127.0.0.1:6379`, or Sentinel's
    /// `redis+sentinel://H:P,H:P,H:P/MASTER`.
    pub redis_url: String,
    /// This node's id (unique in the cluster).
    pub node_id: String,
    /// Prefix of every Redis key and channel.
    pub prefix: String,
    /// Room lease length. A dead owner's rooms are taken over after at most this long.
    pub lease: Duration,
    /// The address clients reach this node at (shown by `cluster status`).
    pub advertise: String,
    /// How durable a write is before its command is acknowledged (`--redis-ack`).
    pub ack: RedisAck,
    /// How long a write waits for its replicas (`--redis-ack-timeout-ms`).
    pub ack_timeout: Duration,
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
            ack: RedisAck::Local,
            ack_timeout: Duration::from_millis(500),
        }
    }
}

/// A message for a room actor running on this node, read from a subscribed channel.
#[derive(Debug)]
pub(crate) enum Inbound {
    /// Something published on the room's channel.
    Notice(RoomNotice),
    /// A message for the owner from another node.
    Remote(Box<CmdMsg>),
    /// The owner's answer to a forwarded command.
    Answer(NodeMsg),
}

/// Where the node's subscription hands what it reads: the room actors running here. The
/// cluster knows rooms only through this, so it sits below them.
pub(crate) trait Dispatch: Send + Sync {
    /// Hands `msg` to `room`'s actor if it runs here (never opens the room).
    fn deliver(&self, room: &RoomId, msg: Inbound);
    /// Asks every running room actor to resynchronise; how many were asked.
    fn resync_all(&self) -> usize;
    /// Tells every running room actor that its data is gone from Redis; their rooms.
    fn lost_all(&self) -> Vec<RoomId>;
    /// Asks every running room actor to announce this node's members to the owner again;
    /// how many were asked.
    fn reannounce_all(&self) -> usize;
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
    target: RedisTarget,
    conn: RedisConn,
    subs: tokio::sync::Mutex<Subs>,
    out: mpsc::UnboundedSender<(String, String)>,
    alive: Mutex<HashSet<String>>,
    dispatch: Mutex<Option<Weak<dyn Dispatch>>>,
    metrics: Arc<Metrics>,
    /// The generation marker this node serves (see `generation.rs`).
    generation: generation::Generation,
    /// Whether a heartbeat was written already (the first finds no earlier one, normally).
    beaten: std::sync::atomic::AtomicBool,
}

impl Cluster {
    /// Connects to Redis, subscribes to this node's channel and starts the dispatcher, the
    /// publisher and the heartbeat.
    pub async fn start(
        config: &ClusterConfig,
        store: Arc<RedisStore>,
        metrics: Arc<Metrics>,
    ) -> Result<Arc<Self>, StoreError> {
        let target = store.target().clone();
        let pubsub = target
            .client()
            .await
            .map_err(backend)?
            .get_async_pubsub()
            .await
            .map_err(backend)?;
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
            target,
            conn,
            subs: tokio::sync::Mutex::new(Subs {
                sink,
                channels: HashSet::from([node_channel]),
            }),
            out,
            alive: Mutex::new(HashSet::new()),
            dispatch: Mutex::new(None),
            metrics,
            generation: generation::Generation::default(),
            beaten: std::sync::atomic::AtomicBool::new(false),
        });
        cluster.adopt_generation().await?;
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

    /// Where subscribed messages go from now on.
    pub fn set_dispatch(&self, dispatch: Arc<dyn Dispatch>) {
        if let Ok(mut d) = self.dispatch.lock() {
            *d = Some(Arc::downgrade(&dispatch));
        }
    }

    fn dispatch_to(&self) -> Option<Arc<dyn Dispatch>> {
        self.dispatch.lock().ok()?.as_ref()?.upgrade()
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
                    let rooms = cluster.dispatch_to().map_or(0, |d| d.resync_all());
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
        let client = self.target.client().await.map_err(backend)?;
        let pubsub = client.get_async_pubsub().await.map_err(backend)?;
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

    /// Writes this node's heartbeat and reads the live-node set. A heartbeat that had expired
    /// (the node was paused or cut off past its TTL: owners took its members for gone) has
    /// every room announce its members again; a generation marker that changed means Redis
    /// lost the cluster's data.
    async fn heartbeat(&self) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let ttl = u64::try_from(self.lease.as_millis() * 2).unwrap_or(u64::MAX);
        let (previous, nodes): (Option<String>, Vec<String>) = redis::pipe()
            .cmd("SET")
            .arg(self.keys.node(&self.node))
            .arg(&self.advertise)
            .arg("PX")
            .arg(ttl)
            .arg("GET")
            .cmd("SADD")
            .arg(self.keys.nodes())
            .arg(&self.node)
            .ignore()
            .cmd("SMEMBERS")
            .arg(self.keys.nodes())
            .query_async(&mut conn)
            .await
            .map_err(backend)?;
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
        self.detect_loss().await?;
        let first = !self.beaten.swap(true, std::sync::atomic::Ordering::SeqCst);
        if previous.is_none() && !first {
            self.metrics.cluster_reannounces.inc();
            let rooms = self.dispatch_to().map_or(0, |d| d.reannounce_all());
            tracing::warn!(
                rooms,
                "this node's heartbeat had expired (paused or cut off); announcing its members again"
            );
        }
        Ok(())
    }

    /// Counts `node` as alive until the next heartbeat says otherwise: it just announced its
    /// members, so it is not dead whatever the last look at the heartbeats said.
    pub fn mark_alive(&self, node: &str) {
        if let Ok(mut a) = self.alive.lock() {
            a.insert(node.to_owned());
        }
    }

    /// Whether `node` sent a heartbeat recently (this node always is).
    pub fn is_alive(&self, node: &str) -> bool {
        node == self.node || self.alive.lock().map(|a| a.contains(node)).unwrap_or(true)
    }

    fn dispatch(&self, channel: &str, payload: &[u8]) {
        let Some(dispatch) = self.dispatch_to() else {
            return;
        };
        let (room, msg) = if let Some(room) = channel.strip_prefix(&self.keys.room_channel_prefix())
        {
            match serde_json::from_slice::<RoomNotice>(payload) {
                Ok(n) => (RoomId::from(room), Inbound::Notice(n)),
                Err(e) => {
                    tracing::warn!(error = %e, channel, "unreadable room notice");
                    return;
                }
            }
        } else if let Some(room) = channel.strip_prefix(&self.keys.cmd_channel_prefix()) {
            match serde_json::from_slice::<CmdMsg>(payload) {
                Ok(c) => (RoomId::from(room), Inbound::Remote(Box::new(c))),
                Err(e) => {
                    tracing::warn!(error = %e, channel, "unreadable forwarded command");
                    return;
                }
            }
        } else {
            match serde_json::from_slice::<NodeMsg>(payload) {
                Ok(a) => (RoomId::from(a.room.as_str()), Inbound::Answer(a)),
                Err(e) => {
                    tracing::warn!(error = %e, channel, "unreadable answer");
                    return;
                }
            }
        };
        dispatch.deliver(&room, msg);
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

    /// Stops listening to a room's change channel (the room does not exist).
    pub async fn unsubscribe_room(&self, room: &RoomId) {
        let channel = self.keys.room_channel(room.as_str());
        let mut subs = self.subs.lock().await;
        subs.channels.remove(&channel);
        if let Err(e) = subs.sink.unsubscribe(&channel).await {
            tracing::warn!(error = %e, "unsubscribing failed");
        }
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
