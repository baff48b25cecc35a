//! Rooms on this node: one actor task per room, what it is sent, and how it is found.
//!
//! Dependencies point one way, from the top of this list down:
//! - `registry`: opens rooms (loading or creating them) and starts their actors, and deletes
//!   the stored rooms that expired;
//! - `actor/`: the room actor (its loop, command handling, commit path, cluster part, and
//!   its lifecycle: leaving memory when idle, deleting itself once expired);
//! - `dormant`: the rooms stored but not loaded, by the time they expire;
//! - `routes`: the table from room id to actor inbox, which cluster messages go through;
//! - `rebuild`, `ring`, `part`, `peers`, `observers`, `msg`, `handle`, `outbox`: what the
//!   actor is made of;
//! - `feed`: room summaries pushed to the connections watching the rooms list (every actor
//!   reports to it through `Shared`).

pub(crate) mod actor;
pub(crate) mod dormant;
pub(crate) mod feed;
pub(crate) mod handle;
pub(crate) mod msg;
pub(crate) mod observers;
pub(crate) mod outbox;
pub(crate) mod part;
pub(crate) mod peers;
pub(crate) mod rebuild;
pub(crate) mod registry;
pub(crate) mod ring;
pub(crate) mod routes;
