//! `coguest cluster status`: the nodes and room owners as Redis records them.

use crate::store::StoreError;
use crate::store::redis::{Keys, backend};
use serde::{Deserialize, Serialize};

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
    let client = crate::store::redis::RedisTarget::parse(redis_url)
        .map_err(backend)?
        .client()
        .await
        .map_err(backend)?;
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
