//! The application state behind every route: settings, token checks, the rooms, the
//! connection table.

use crate::auth::Auth;
use crate::clock::Clock;
use crate::config::ServerConfig;
use crate::conns::Conns;
use crate::metrics::Metrics;
use crate::room::registry::Registry;
use std::sync::Arc;

/// The application state behind every route.
pub(crate) struct App {
    pub config: Arc<ServerConfig>,
    pub auth: Auth,
    pub clock: Arc<dyn Clock>,
    pub registry: Arc<Registry>,
    pub metrics: Arc<Metrics>,
    pub conns: Arc<Conns>,
}
