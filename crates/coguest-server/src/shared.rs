//! What every room actor shares: storage, clock, settings, metrics, webhooks, the approval
//! hook, the cluster,
//! the rooms feed.

use crate::approval::Approver;
use crate::clock::Clock;
use crate::cluster::Cluster;
use crate::config::ServerConfig;
use crate::metrics::Metrics;
use crate::room::feed::RoomsFeed;
use crate::store::RoomStore;
use crate::webhook::Webhooks;
use std::sync::Arc;

/// What every room actor shares.
pub(crate) struct Shared {
    pub store: Arc<dyn RoomStore>,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<ServerConfig>,
    pub metrics: Arc<Metrics>,
    pub webhooks: Arc<Webhooks>,
    /// The app's approval hook.
    pub approver: Arc<Approver>,
    pub cluster: Option<Arc<Cluster>>,
    /// Room summaries for the connections watching the rooms list.
    pub feed: Arc<RoomsFeed>,
}
