//! Test support for the CLI's integration tests, written once: each test file declares
//! `mod support;` and reads as its scenario.
//!
//! - [`common`]: the server's own test support (`coguest-server/tests/common`): the
//!   [`Endpoint`] trait (tokens, connect and join, room JSON, metrics, admin API), the
//!   WebSocket [`TestClient`] and its waits, command shorthands and predicates.
//! - [`process`]: the real `coguest` binary as a child process: `coguest serve` on a temporary
//!   data directory and a free port ([`Served`], an [`Endpoint`]), a newcomer's clean
//!   environment, signals, waiting for an exit.
//! - [`cluster`]: several `coguest serve --redis` nodes on one Redis prefix ([`Cluster`]):
//!   kill, stop, restart, wait until they agree on a room.
//! - [`approver`]: an app's approval hook over real HTTP, answering as a test tells it.
//! - [`redis`]: the test Redis without a client library: one command, and a tap on every
//!   message a cluster publishes.
//! - [`redis_server`]: a test's own `redis-server` (or Sentinel) on a free port, killed when
//!   dropped; [`sentinel`]: a primary, two replicas and three sentinels of such.
//! - [`tls`]: a private CA and a server certificate for `localhost`, made at test time.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod approver;
pub mod cluster;
#[path = "../../../coguest-server/tests/common/mod.rs"]
pub mod common;
pub mod process;
pub mod redis;
pub mod redis_server;
pub mod sentinel;
pub mod tls;

// What most tests use, at `support::` (each test binary uses some of it).
#[allow(unused_imports)]
pub use {cluster::Cluster, common::*, process::Served, redis::redis_url};
