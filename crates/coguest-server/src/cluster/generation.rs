//! Lost Redis data is detected, never served as empty.
//!
//! The first node of a cluster writes a random generation marker (`P:generation`); every node
//! remembers the one it serves and compares it with Redis at each heartbeat, and whenever a
//! room finds its data gone. A marker that vanished or changed means Redis lost the cluster's
//! data (restarted without persistence, `FLUSHALL`, a different Redis behind the same
//! address): the node logs an error naming the loss, counts it
//! (`coguest_cluster_data_lost_total`), closes every room it runs with `room_closed` reason
//! `lost` (so members are not left in an empty room that merely looks like theirs), and
//! adopts the marker now in Redis (writing a new one if there is none) so that later rooms
//! are served again.

use super::Cluster;
use crate::store::StoreError;
use crate::store::redis::backend;
use coguest_core::RoomId;
use std::collections::HashSet;
use std::sync::Mutex;

/// The marker a node serves, and the rooms it closed as lost.
#[derive(Default)]
pub(super) struct Generation {
    /// The marker, once adopted.
    current: Mutex<String>,
    /// Held while a loss is detected and handled, so it is handled once.
    checking: tokio::sync::Mutex<()>,
    /// Rooms closed as lost and not created again since (their next creation is warned about).
    lost: Mutex<HashSet<RoomId>>,
}

impl Cluster {
    /// Adopts the marker in Redis, writing a new one if there is none (a new cluster, or one
    /// whose data was lost).
    pub(super) async fn adopt_generation(&self) -> Result<String, StoreError> {
        let fresh = format!("{:016x}", rand::random::<u64>());
        let mut conn = self.conn.clone();
        let (marker,): (String,) = redis::pipe()
            .cmd("SET")
            .arg(self.keys.generation())
            .arg(&fresh)
            .arg("NX")
            .ignore()
            .cmd("GET")
            .arg(self.keys.generation())
            .query_async(&mut conn)
            .await
            .map_err(backend)?;
        if let Ok(mut g) = self.generation.current.lock() {
            g.clone_from(&marker);
        }
        Ok(marker)
    }

    /// Whether Redis lost the cluster's data since this node adopted its marker; when it did,
    /// handles the loss (once, however many callers notice it): an error in the log, the
    /// metric, every room here closed as lost, the marker now in Redis adopted.
    pub async fn detect_loss(&self) -> Result<bool, StoreError> {
        let _once = self.generation.checking.lock().await;
        let stored: Option<String> = redis::cmd("GET")
            .arg(self.keys.generation())
            .query_async(&mut self.conn.clone())
            .await
            .map_err(backend)?;
        let served = self
            .generation
            .current
            .lock()
            .map(|g| g.clone())
            .unwrap_or_default();
        if stored.as_deref() == Some(served.as_str()) {
            return Ok(false);
        }
        let rooms = self.dispatch_to().map_or_else(Vec::new, |d| d.lost_all());
        self.metrics.cluster_data_lost.inc();
        tracing::error!(
            generation = %served,
            found = stored.as_deref().unwrap_or("nothing"),
            rooms = rooms.len(),
            "REDIS LOST THE CLUSTER'S DATA (restarted without persistence, flushed, or another \
             Redis): every room this node served is closed with reason `lost`; rooms joined \
             again start empty"
        );
        if let Ok(mut lost) = self.generation.lost.lock() {
            lost.extend(rooms);
        }
        self.adopt_generation().await?;
        Ok(true)
    }

    /// Whether `room` was closed as lost (and not created again since).
    pub fn was_lost(&self, room: &RoomId) -> bool {
        self.generation.lost.lock().is_ok_and(|l| l.contains(room))
    }

    /// A room is being created: whether it was closed as lost before (forgotten from now on).
    pub fn recreating_lost(&self, room: &RoomId) -> bool {
        self.generation
            .lost
            .lock()
            .is_ok_and(|mut l| l.remove(room))
    }
}
