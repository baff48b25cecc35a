//! The schema, and opening the database: the writer's connection (page size, WAL mode, no
//! automatic checkpoint) and the checkpointer's, both waiting for a lock in short steps.

use super::checkpoint::WalOptions;
use crate::store::{StoreError, backend};
use rusqlite::Connection;
use std::path::Path;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS rooms (
    room_id TEXT PRIMARY KEY NOT NULL,
    base_snapshot TEXT NOT NULL,
    base_seq INTEGER NOT NULL,
    checkpoint_snapshot TEXT,
    checkpoint_seq INTEGER,
    -- Not maintained (the log's last seq is in room_log); kept for databases made before.
    log_seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS room_log (
    room_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    actor TEXT,
    command TEXT NOT NULL,
    client_req_id INTEGER,
    PRIMARY KEY (room_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS webhook_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_outbox_endpoint ON webhook_outbox (endpoint, id);
-- Kept when a room is deleted, so a room created again under the same id gets a new number
-- (webhook event ids include it). Rooms stored before this table existed are incarnation 0.
CREATE TABLE IF NOT EXISTS room_incarnations (
    room_id TEXT PRIMARY KEY NOT NULL,
    incarnation INTEGER NOT NULL
) WITHOUT ROWID;
";

/// An unsigned number as an `INTEGER` column holds it (saturating).
pub(super) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// An `INTEGER` column as an unsigned number (0 for a negative one).
pub(super) fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

thread_local! {
    /// Set while an append runs on its caller's thread: a writer lock held by a checkpoint
    /// is not waited for there (the append goes to the storage thread instead).
    static IN_PLACE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` (an append's `BEGIN` on its caller's thread) without waiting for a lock.
pub(super) fn without_waiting<T>(f: impl FnOnce() -> T) -> T {
    IN_PLACE.set(true);
    let out = f();
    IN_PLACE.set(false);
    out
}

/// Both connections' wait for a lock (a RESTART checkpoint holds the writer's for its fsyncs;
/// the checkpointer waits for a commit to end): steps of 100 µs for at least 5 s. SQLite's
/// own timeout sleeps 1, 2, 5, 10, 15, 20 ... ms, so either could go on waiting up to a step
/// after the other let go. An append running in place does not wait.
fn writer_busy(tries: i32) -> bool {
    if tries >= 50_000 || IN_PLACE.get() {
        return false;
    }
    std::thread::sleep(std::time::Duration::from_micros(100));
    true
}

/// The database's two connections.
pub(super) struct Connections {
    /// The writer (appends in place and the storage thread).
    pub(super) writer: Connection,
    /// The checkpointer's.
    pub(super) checkpoints: Connection,
    /// [`WalOptions::restart_bytes`] in the database's pages.
    pub(super) restart_pages: i64,
}

/// Opens (creating if needed) the database at `path`.
pub(super) fn open(path: &Path, wal: &WalOptions) -> Result<Connections, StoreError> {
    let conn = Connection::open(path).map_err(backend)?;
    // Only a database with no table yet takes it (and only before WAL mode is set).
    conn.pragma_update(None, "page_size", wal.page_size)
        .map_err(backend)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(backend)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(backend)?;
    // Checkpoints are the checkpointer's (see the module's documentation).
    conn.pragma_update(None, "wal_autocheckpoint", 0)
        .map_err(backend)?;
    conn.pragma_update(None, "journal_size_limit", to_i64(wal.restart_bytes))
        .map_err(backend)?;
    conn.busy_handler(Some(writer_busy)).map_err(backend)?;
    conn.execute_batch(SCHEMA).map_err(backend)?;
    let page_size: i64 = conn
        .query_row("PRAGMA page_size", [], |row| row.get(0))
        .map_err(backend)?;
    let restart_pages = to_i64(wal.restart_bytes) / page_size.max(512);
    let checkpoints = Connection::open(path).map_err(backend)?;
    checkpoints
        .pragma_update(None, "synchronous", "NORMAL")
        .map_err(backend)?;
    // In short steps: writers stand aside while it waits (`restarting`).
    checkpoints
        .busy_handler(Some(writer_busy))
        .map_err(backend)?;
    Ok(Connections {
        writer: conn,
        checkpoints,
        restart_pages,
    })
}
