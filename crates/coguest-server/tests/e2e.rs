//! End-to-end tests: a real server in-process, real WebSockets, a real SQLite file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/mod.rs"]
mod common;

mod e2e {
    pub mod admin_api;
    pub mod auth;
    pub mod console;
    pub mod flows;
    pub mod lifecycle;
    pub mod limits;
    pub mod observe;
    pub mod persistence;
    pub mod queue;
    pub mod room_lifecycle;
    pub mod scoped;
    pub mod seats;
    pub mod strict;
    pub mod token_update;
    pub mod transport;
    pub mod webhooks;
    pub mod webhooks_tls;
}
