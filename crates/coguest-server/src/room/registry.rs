//! Opening rooms: finding a room's actor, or loading or creating the room and starting one.
//!
//! Opening a room that has no actor yet
//! (loading it from storage, or creating it) is serialized by one async lock, which is rare
//! next to routing.

use crate::room::actor::RoomActor;
use crate::room::msg::RoomMsg;
use crate::room::part::Part;
use crate::room::rebuild::Rebuilt;
use crate::room::ring::RingCap;
use crate::room::routes::Routes;
use crate::shared::Shared;
use crate::store::StoreError;
use crate::store::redis::Acquired;
use coguest_core::{Room, RoomConfig, RoomId};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// Messages queued per room actor before senders wait.
const INBOX: usize = 1024;

pub(crate) struct Registry {
    routes: Arc<Routes>,
    open_lock: tokio::sync::Mutex<()>,
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
        Arc::new(Registry {
            routes: Arc::new(Routes::new(shared.metrics.clone())),
            open_lock: tokio::sync::Mutex::new(()),
            shared,
            shutdown,
            tasks: Mutex::new(Vec::new()),
        })
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

    /// Loads every stored room and starts its actor, so deadlines that passed while the
    /// server was down fire now.
    pub async fn load_all(self: &Arc<Self>) -> Result<usize, StoreError> {
        let ids = self.shared.store.room_ids().await?;
        let n = ids.len();
        for id in ids {
            self.open(&id, None).await?;
        }
        Ok(n)
    }

    /// The actor of `room`, loading it from storage if needed, or creating it with `create`
    /// if it is not stored. `None` when it does not exist and `create` is `None`.
    pub async fn open(
        self: &Arc<Self>,
        room: &RoomId,
        create: Option<RoomConfig>,
    ) -> Result<Option<Opened>, StoreError> {
        if let Some(tx) = self.routes.get(room) {
            return Ok(Some(Opened { tx, created: false }));
        }
        let _guard = self.open_lock.lock().await;
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
                if webhooks.enabled() {
                    incarnation = store.incarnation(room).await?;
                }
                (rebuilt, true, false)
            }
            None => {
                let Some(config) = create else {
                    return Ok(None);
                };
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
        let handle = tokio::spawn(actor.run());
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
