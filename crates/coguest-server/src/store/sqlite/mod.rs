//! The SQLite backend: one writer connection, a storage thread that commits in groups.
//!
//! Requests from every room actor arrive on one channel. The thread takes whatever is queued
//! (up to [`MAX_BATCH`]), applies each in its own savepoint inside one transaction, commits
//! once, then answers each request. Many rooms so share one writer.
//!
//! An append (the hot path: one per command) is committed on its caller's thread instead when
//! the writer is free and takes its lock at once: waking the storage thread and being woken
//! back cost a fifth of the server's CPU per command, and two context switches of latency. A
//! commit is a few pwrites into the page cache (no fsync, see below), tens of µs; when a
//! checkpoint holds the lock, or the thread is committing, the append queues as before.
//!
//! The database runs in WAL mode with `synchronous=NORMAL`: a commit is durable against a
//! crash of the process (`kill -9`), which is what "acknowledged means stored" promises here.
//! A power loss may lose the last transactions; use `synchronous=FULL` (not exposed yet) if
//! that matters more than write latency.
//!
//! Checkpoints (copying the WAL into the database file, two fsyncs) run on a second thread
//! with its own connection, never inside a commit: SQLite's automatic checkpoint runs in the
//! commit that crosses 1,000 pages, and each one held every queued command for 5 to 40 ms on
//! this project's benchmark machine. A passive checkpoint does not block the writer; when the
//! log still grows past [`WalOptions::restart_bytes`] (it cannot restart while commits keep
//! arriving), one checkpoint waits for the writer and restarts it. The checkpointer thread runs
//! at nice 10: copying the log is ~10 ms of CPU at a time, which on a core shared with the
//! runtime's worker held every command behind it.
//!
//! A new database gets 1 KiB pages ([`WalOptions::page_size`]): a commit writes every page it
//! touched to the WAL, and an appended log entry (a few hundred bytes) touches one leaf, so
//! 4 KiB pages wrote four times the bytes and made the log reach its restart four times as
//!
//! The files, lowest first: `checkpoint.rs` (the checkpointer thread and [`WalOptions`]),
//! `schema.rs` (the tables, opening a connection, the lock wait), `queries.rs` and `outbox.rs`
//! (the SQL of rooms and their log, and of the webhook outbox), `request.rs` (what the store
//! asks its writer, applied and answered), `writer.rs` (in place or in groups on the storage
//! thread), and `store.rs` ([`SqliteStore`] and its [`RoomStore`](super::RoomStore) impl).

mod checkpoint;
mod outbox;
mod queries;
mod request;
mod schema;
mod store;
mod writer;

pub use checkpoint::WalOptions;
pub use store::SqliteStore;
pub use writer::MAX_BATCH;
