//! Opening rooms: finding a room's actor, or loading or creating the room and starting one;
//! and the rooms stored but not loaded (idle ones), each deleted when it expires.
//!
//! Opening a room that has no actor yet (loading it from storage, or creating it) and an idle
//! actor's stopping are serialized by one async lock (`Routes::opening`), which is rare next
//! to routing.

use crate::room::actor::{Exit, RoomActor};
use crate::room::dormant::Dormant;
use crate::room::msg::RoomMsg;
use crate::room::part::Part;
use crate::room::rebuild::Rebuilt;
use crate::room::ring::RingCap;
use crate::room::routes::{INBOX, Routes};
use crate::shared::Shared;
use crate::store::StoreError;
use crate::store::redis::Acquired;
use coguest_core::{Room, RoomConfig, RoomId, Timestamp};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub(crate) struct Registry {
    routes: Arc<Routes>,
    /// Rooms stored and not loaded, with the time each expires (single node, with a TTL).
    dormant: Dormant,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// Why a message could not reach a room.
pub(crate) enum RouteError {
    /// No such room (and the message does not create one).
    NoRoom,
    /// The server is stopping.
    ShuttingDown,
    /// Storage failed while opening the room.
    Store(StoreError),
}

/// Result of opening a room.
pub(crate) struct Opened {
    pub tx: mpsc::Sender<RoomMsg>,
    pub created: bool,
}

impl Registry {
    pub fn new(shared: Arc<Shared>, shutdown: watch::Receiver<bool>) -> Arc<Self> {
        let registry = Arc::new(Registry {
            routes: Arc::new(Routes::new(shared.metrics.clone())),
            dormant: Dormant::default(),
            shared,
            shutdown,
            tasks: Mutex::new(Vec::new()),
        });
        if registry.expires_rooms() {
            tokio::spawn(expire_dormant(Arc::downgrade(&registry)));
        }
        registry
    }

    /// Whether rooms leave memory when idle and are deleted once expired: single node only
    /// (a cluster keeps every room it loaded, as before).
    fn expires_rooms(&self) -> bool {
        self.shared.cluster.is_none()
    }

    /// The rooms feed (room summaries for the connections watching the rooms list).
    pub fn feed(&self) -> &Arc<crate::room::feed::RoomsFeed> {
        &self.shared.feed
    }

    /// The routing table (cluster messages are dispatched through it).
    pub fn routes(&self) -> &Arc<Routes> {
        &self.routes
    }

    fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Every stored room id.
    pub async fn room_ids(&self) -> Result<Vec<RoomId>, StoreError> {
        self.shared.store.room_ids().await
    }

    /// Loads every stored room, so deadlines that passed while the server was down fire now
    /// and members present then get their grace period: a room with members or pending
    /// requests gets its actor; an idle one (none of either) stays on disk, noted with the
    /// time it expires (single node; a cluster starts every room's actor).
    pub async fn load_all(self: &Arc<Self>) -> Result<usize, StoreError> {
        let ids = self.shared.store.room_ids().await?;
        let n = ids.len();
        for id in ids {
            self.open_with(&id, None, self.expires_rooms()).await?;
        }
        Ok(n)
    }

    /// Delivers `msg` to `room`'s actor if it is running here (never loads the room).
    pub async fn deliver_if_running(&self, room: &RoomId, msg: RoomMsg) {
        if let Some(tx) = self.routes.get(room) {
            let _ = tx.send(msg).await;
        }
    }

    /// The actor of `room`, loading it from storage if needed, or creating it with `create`
    /// if it is not stored. `None` when it does not exist and `create` is `None`.
    pub async fn open(
        self: &Arc<Self>,
        room: &RoomId,
        create: Option<RoomConfig>,
    ) -> Result<Option<Opened>, StoreError> {
        self.open_with(room, create, false).await
    }

    /// [`open`](Self::open); with `park_idle`, a stored room found idle is not started but
    /// noted as dormant (`Ok(None)`).
    async fn open_with(
        self: &Arc<Self>,
        room: &RoomId,
        create: Option<RoomConfig>,
        park_idle: bool,
    ) -> Result<Option<Opened>, StoreError> {
        if let Some(tx) = self.routes.get(room) {
            return Ok(Some(Opened { tx, created: false }));
        }
        let _guard = self.routes.opening.lock().await;
        if let Some(tx) = self.routes.get(room) {
            return Ok(Some(Opened { tx, created: false }));
        }
        let store = &self.shared.store;
        let ring = RingCap::of(&self.shared.config);
        let mut part = Part::Single;
        let stored;
        if let Some(cluster) = &self.shared.cluster {
            // Listen first, so no change published after loading is missed.
            cluster.subscribe_room(room).await?;
            cluster.subscribe_cmds(room).await?;
            let sent = Instant::now();
            part = match cluster.store.acquire(room).await? {
                Acquired::Owner(epoch) => Part::owner(epoch, sent, cluster.lease),
                Acquired::Taken => {
                    cluster.unsubscribe_cmds(room).await;
                    Part::Follower
                }
            };
            let mut loaded = store.load(room).await?;
            if loaded.is_none() && create.is_some() && matches!(part, Part::Follower) {
                // Another node owns the room and is creating it right now.
                for _ in 0..40 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    loaded = store.load(room).await?;
                    if loaded.is_some() {
                        break;
                    }
                }
                if loaded.is_none() {
                    return Err(StoreError::Backend(format!(
                        "room {room} is owned by another node but not stored"
                    )));
                }
            }
            stored = loaded;
            if stored.is_some() && matches!(part, Part::Owner { .. }) {
                self.shared.metrics.cluster_takeovers.inc();
            }
            if stored.is_none() && create.is_none() {
                if matches!(part, Part::Owner { .. }) {
                    cluster.unsubscribe_cmds(room).await;
                    cluster.store.release(room).await?;
                }
                // Nothing is kept for a room that does not exist (a join of a made-up id).
                cluster.unsubscribe_room(room).await;
                return Ok(None);
            }
        } else {
            stored = store.load(room).await?;
        }
        let webhooks = &self.shared.webhooks;
        // Webhook event ids carry it; only webhooks need it read.
        let mut incarnation = 0;
        let (rebuilt, loaded, created) = match stored {
            Some(stored) => {
                let rebuilt = Rebuilt::replay(room.as_str(), stored, ring)?;
                let idle =
                    rebuilt.room.member_count() == 0 && rebuilt.room.pending_request_count() == 0;
                if park_idle && idle {
                    if let Some(at) = self.expiry_of(&rebuilt.room) {
                        self.dormant.insert(room.clone(), at);
                    }
                    return Ok(None);
                }
                self.dormant.remove(room);
                if webhooks.enabled() {
                    incarnation = store.incarnation(room).await?;
                }
                (rebuilt, true, false)
            }
            None => {
                let Some(config) = create else {
                    return Ok(None);
                };
                if let Some(cluster) = &self.shared.cluster {
                    if cluster.recreating_lost(room) {
                        // Refusing would leave the room unusable for good; its members were
                        // told `lost`, and whoever joins now starts it again, empty.
                        tracing::warn!(room = %room, "creating a room that was lost with Redis's data: it starts empty");
                    }
                }
                let now = self.shared.clock.now();
                let new = Room::new(config, now)
                    .map_err(|e| StoreError::Corrupt(format!("room settings: {e}")))?;
                // The room and its `room_created` are stored in one transaction (SQLite), so
                // a room never exists unannounced; the event is numbered with the incarnation
                // the store gives the new room.
                let (hooks, name) = (webhooks.clone(), room.to_string());
                let outbox = Box::new(move |incarnation| {
                    let event = coguest_proto::WebhookEvent::lifecycle(
                        "room_created",
                        &name,
                        incarnation,
                        0,
                        now,
                        None,
                    );
                    hooks.items(&[event])
                });
                incarnation = match store
                    .create_with_outbox(room, &new.snapshot(), outbox)
                    .await?
                {
                    Some(i) => i,
                    // Already stored (it was not a moment ago): keep its number.
                    None => store.incarnation(room).await?,
                };
                webhooks.wake();
                (Rebuilt::new_room(new), false, true)
            }
        };
        let (tx, rx) = mpsc::channel(INBOX);
        let actor = RoomActor::new(
            room.clone(),
            rebuilt,
            self.shared.clone(),
            self.routes.clone(),
            rx,
            tx.clone(),
            self.shutdown.clone(),
            loaded,
            part,
            incarnation,
        );
        self.routes.insert(room.clone(), tx.clone());
        let registry = Arc::downgrade(self);
        let id = room.clone();
        let handle = tokio::spawn(async move {
            if let Exit::Unloaded { expires: Some(at) } = actor.run().await {
                if let Some(registry) = registry.upgrade() {
                    registry.dormant.insert(id, at);
                }
            }
        });
        if let Ok(mut tasks) = self.tasks.lock() {
            tasks.retain(|t| !t.is_finished());
            tasks.push(handle);
        }
        Ok(Some(Opened { tx, created }))
    }

    /// Delivers `msg` to `room`'s actor, opening the room first if needed (and creating it
    /// with `create` if given).
    pub async fn route(
        self: &Arc<Self>,
        room: &RoomId,
        msg: RoomMsg,
        create: Option<RoomConfig>,
    ) -> Result<(), RouteError> {
        let mut msg = msg;
        // The room's actor is usually running with space in its inbox: handed over without
        // awaiting anything, so this future (boxed per frame by the reader) stays small; the
        // rest (opening the room, waiting for space in the inbox) is boxed apart.
        if let Some(tx) = self.routes.get(room).filter(|_| !self.stopping()) {
            match tx.try_send(msg) {
                Ok(()) => return Ok(()),
                Err(mpsc::error::TrySendError::Full(m)) => msg = m,
                Err(mpsc::error::TrySendError::Closed(m)) => {
                    self.routes.forget(room, &tx);
                    msg = m;
                }
            }
        }
        Box::pin(self.open_and_send(room, msg, create)).await
    }

    async fn open_and_send(
        self: &Arc<Self>,
        room: &RoomId,
        msg: RoomMsg,
        create: Option<RoomConfig>,
    ) -> Result<(), RouteError> {
        let mut msg = msg;
        // A second attempt covers an actor that stopped between lookup and send.
        for _ in 0..2 {
            if self.stopping() {
                return Err(RouteError::ShuttingDown);
            }
            let opened = match self.open(room, create.clone()).await {
                Ok(Some(o)) => o,
                Ok(None) => return Err(RouteError::NoRoom),
                Err(e) => return Err(RouteError::Store(e)),
            };
            match opened.tx.send(msg).await {
                Ok(()) => return Ok(()),
                Err(mpsc::error::SendError(m)) => {
                    self.routes.forget(room, &opened.tx);
                    msg = m;
                }
            }
        }
        Err(RouteError::ShuttingDown)
    }

    /// When a stored room expires if unused: its latest input plus the room TTL (`None`: rooms
    /// do not expire).
    fn expiry_of(&self, room: &Room) -> Option<Timestamp> {
        let ttl = u64::try_from(self.shared.config.room_ttl.as_millis()).unwrap_or(u64::MAX);
        (ttl > 0).then(|| room.last_now().plus_millis(ttl))
    }

    /// Waits until every actor has finished its turn and stopped (after the shutdown signal).
    pub async fn join_all(&self) {
        let tasks = match self.tasks.lock() {
            Ok(mut t) => std::mem::take(&mut *t),
            Err(_) => return,
        };
        for t in tasks {
            let _ = t.await;
        }
    }
}

/// Deletes dormant rooms as they expire: each is loaded, and its actor, finding it idle and
/// expired, deletes it (with its `room_closed` webhook). Ends with the server.
async fn expire_dormant(registry: Weak<Registry>) {
    loop {
        let Some(this) = registry.upgrade() else {
            return;
        };
        if this.stopping() {
            return;
        }
        let clock = this.shared.clock.clone();
        let first = this.dormant.first();
        if let Some((at, room)) = first.clone().filter(|(at, _)| *at <= clock.now()) {
            this.dormant.remove(&room);
            if let Err(e) = this.open(&room, None).await {
                tracing::error!(room = %room, error = %e, "loading an expired room failed");
                // Tried again later, not in a loop.
                this.dormant.insert(room, at.plus_millis(60_000));
            }
            continue;
        }
        let mut shutdown = this.shutdown.clone();
        let sleep = match first {
            Some((at, _)) => clock.sleep_until(at),
            None => Box::pin(std::future::pending()),
        };
        tokio::select! {
            () = sleep => {}
            () = this.dormant.added() => {}
            _ = shutdown.changed() => return,
        }
    }
}
