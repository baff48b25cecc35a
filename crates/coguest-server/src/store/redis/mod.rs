//! The Redis backend for cluster mode: the same event-sourced layout as SQLite (a base
//! snapshot, a checkpoint and the input log), plus room ownership leases with a fencing epoch.
//!
//! Every write is one Lua script that first checks that this node still holds the room's lease
//! *with the epoch it acquired*; a node that lost its lease (paused past it, partitioned) can
//! never write again, even if it has not noticed yet. The append script also publishes the
//! entry on the room's change channel, so a change is published exactly once, and only if it
//! was stored.
//!
//! Keys, under a prefix `P` (default `coguest`):
//!
//! | key | type | what |
//! |---|---|---|
//! | `P:room:{id}` | hash | `base_seq`, `checkpoint_seq`, `log_seq`; `base` inline for a new room |
//! | `P:snap:{id}:{seq}` | list | the snapshot after entry `seq` in 64 KiB chunks (base, checkpoint) |
//! | `P:log:{id}` | sorted set | log entries (JSON) scored by their sequence number |
//! | `P:rooms` | set | every room id |
//! | `P:lease:{id}` | string with TTL | `node|epoch` of the owner |
//! | `P:epoch:{id}` | counter | the last epoch handed out |
//! | `P:node:{node}` | string with TTL | a live node's address (heartbeat) |
//! | `P:nodes` | set | every node id seen |
//! | `P:generation` | string | a random marker set by the first node: gone or changed means Redis lost the data |
//! | `P:incarnation:{id}` | counter | how many times a room of this id was created |
//! | `P:hooks:{endpoint}` | sorted set | webhook deliveries `id|created|body` scored by `id` |
//! | `P:hookseq` | counter | the last delivery id handed out |
//! | `P:hooklease` | string with TTL | the node that delivers webhooks |
//!
//! Channels: `P:ch:room:{id}` (stored changes and ownership notices), `P:ch:cmd:{id}`
//! (commands for the room's owner), `P:ch:node:{node}` (answers to a node's connections).
//!
//! The files, lowest first: `connect.rs` (the `--redis` URL, and the check of Redis's
//! persistence at start), `link.rs` (the connection: to one Redis, or following Sentinel's
//! primary), `keys.rs` (the names above), `wire.rs` (what is stored and
//! published), `scripts.rs` (the Lua scripts), `store.rs` ([`RedisStore`]: the connection, the
//! leases this node holds, and the one way a script is called), then `lease.rs` (taking,
//! renewing and giving up leases), `snapshots.rs` (compaction in chunks, loading in pieces),
//! `hooks.rs` (the webhook outbox and its delivery lease) and
//! `rooms.rs` (the [`RoomStore`](super::RoomStore) impl).

mod connect;
mod hooks;
mod keys;
mod lease;
mod link;
mod rooms;
mod scripts;
mod snapshots;
mod store;
mod wire;

pub use connect::{Persistence, RedisAck, RedisTarget, SENTINEL_SCHEME, UrlError, redacted};
pub use keys::Keys;
pub use lease::{Acquired, parse_lease};
pub use link::RedisConn;
pub use store::{RedisStore, response_timeout};
pub use wire::{EntryAnswer, RoomNotice, WireEntry};

pub(crate) use crate::store::backend;
