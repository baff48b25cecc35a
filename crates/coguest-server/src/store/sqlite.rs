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
//! often (at 5,700 commands/s, a restart every 1.5 s, each one holding the writer).

use super::{
    LogEntry, LogInput, OutboxFor, OutboxItem, OutboxRow, RoomStore, StoreError, StoredRoom,
    TIMEOUT_MARKER,
};
use async_trait::async_trait;
use coguest_core::{Command, RoomId, RoomSnapshot, Timestamp, UserId};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use tokio::sync::oneshot;

/// Most requests committed in one transaction.
pub const MAX_BATCH: usize = 256;

/// When the checkpointer copies the WAL into the database file.
#[derive(Debug, Clone, Copy)]
pub struct WalOptions {
    /// Least time between two checkpoints while commits arrive (none while idle).
    pub checkpoint_interval: std::time::Duration,
    /// Length of the log (bytes, when a passive checkpoint begins) above which the next
    /// checkpoint waits for the writer and restarts the log, truncating it to this size.
    pub restart_bytes: u64,
    /// Page size of a database created by this open (a power of two, 512 to 65,536); an
    /// existing database keeps the size it was created with.
    pub page_size: u32,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            checkpoint_interval: std::time::Duration::from_millis(500),
            // Seconds of the heaviest load between restarts, one short stall each.
            restart_bytes: 64 << 20,
            page_size: 1024,
        }
    }
}

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// `(seq, at_ms, actor, command, client_req_id)` as stored.
type RawEntry = (i64, i64, Option<String>, String, Option<i64>);

/// Sends one request's answer once its transaction's fate is known.
type Deferred = Box<dyn FnOnce(Option<&StoreError>)>;

struct RawRoom {
    base: String,
    base_seq: i64,
    checkpoint_seq: Option<i64>,
    log: Vec<RawEntry>,
}

enum Req {
    RoomIds(Reply<Vec<String>>),
    Load(String, Reply<Option<RawRoom>>),
    /// A new room, and the webhook deliveries built for its incarnation; answers the
    /// incarnation, `None` if the room exists.
    Create(String, String, Option<OutboxFor>, Reply<Option<u64>>),
    Incarnation(String, Reply<u64>),
    Append {
        room: String,
        seq: i64,
        at: i64,
        actor: Option<String>,
        command: String,
        client_req_id: Option<i64>,
        outbox: Vec<OutboxItem>,
        reply: Reply<()>,
    },
    Enqueue(Vec<OutboxItem>, Reply<()>),
    OutboxNext(String, i64, Reply<Vec<OutboxRow>>),
    OutboxRemove(i64, Reply<()>),
    Compact(String, i64, String, Reply<()>),
    /// Deletes a room and queues the deliveries that announce it, in one savepoint.
    Delete(String, Vec<OutboxItem>, Reply<()>),
    Close(oneshot::Sender<()>),
}

/// A [`RoomStore`] over one SQLite file.
pub struct SqliteStore {
    /// `None` once closed.
    open: Mutex<Option<Arc<Open>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

struct Open {
    tx: mpsc::Sender<Req>,
    /// The writer connection, shared by the storage thread and appends run in place; `None`
    /// once the thread has ended.
    writer: Arc<Mutex<Option<Connection>>>,
    kick: Kick,
    /// Up while the checkpointer waits for the writer's lock to restart the log.
    restarting: Arc<AtomicBool>,
}

thread_local! {
    /// Set while an append runs on its caller's thread: a writer lock held by a checkpoint
    /// is not waited for there (the append goes to the storage thread instead).
    static IN_PLACE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore { .. }")
    }
}

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

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and starts the storage thread.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, WalOptions::default())
    }

    /// [`open`](Self::open) with the checkpointer's settings.
    pub fn open_with(path: &Path, wal: WalOptions) -> Result<Self, StoreError> {
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
        let (tx, kicked) = mpsc::channel();
        let restarting = Arc::new(AtomicBool::new(false));
        let pending = Arc::new(AtomicBool::new(false));
        let kick = Kick {
            pending: pending.clone(),
            tx,
        };
        let checkpointer = std::thread::Builder::new()
            .name("coguest-sqlite-ckpt".into())
            .spawn({
                let restarting = restarting.clone();
                move || checkpointer(checkpoints, kicked, pending, wal, restart_pages, restarting)
            })
            .map_err(backend)?;
        let (tx, rx) = mpsc::channel();
        let writer = Arc::new(Mutex::new(Some(conn)));
        let thread = std::thread::Builder::new()
            .name("coguest-sqlite".into())
            .spawn({
                let writer = writer.clone();
                let kick = kick.clone();
                let restarting = restarting.clone();
                move || {
                    worker(&writer, rx, &kick, &restarting);
                    // Closes the connection now, not when the store is dropped.
                    if let Ok(mut conn) = writer.lock() {
                        conn.take();
                    }
                    drop(kick);
                    // Every kick sender is gone once the store is closed: the checkpointer
                    // ends after its last checkpoint.
                    let _ = checkpointer.join();
                }
            })
            .map_err(backend)?;
        Ok(SqliteStore {
            open: Mutex::new(Some(Arc::new(Open {
                tx,
                writer,
                kick,
                restarting,
            }))),
            thread: Mutex::new(Some(thread)),
        })
    }

    async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Req) -> Result<T, StoreError> {
        self.submit(make, false).await
    }

    /// Queues a request for the storage thread, or with `in_place`, runs it here when the
    /// writer is free (see the module's documentation).
    async fn submit<T>(
        &self,
        make: impl FnOnce(Reply<T>) -> Req,
        in_place: bool,
    ) -> Result<T, StoreError> {
        let (reply, rx) = oneshot::channel();
        // Not held while a request runs in place: other callers queue meanwhile.
        let open = {
            let guard = self.open.lock().map_err(|_| StoreError::Closed)?;
            guard.as_ref().ok_or(StoreError::Closed)?.clone()
        };
        let mut req = Some(make(reply));
        if in_place {
            req = req.and_then(|r| open.run_here(r));
        }
        if let Some(req) = req {
            open.tx.send(req).map_err(|_| StoreError::Closed)?;
        }
        drop(open);
        rx.await.map_err(|_| StoreError::Closed)?
    }
}

impl Open {
    /// Runs `req` in its own transaction on this thread if the writer is free and its lock
    /// is granted without waiting; gives it back otherwise.
    fn run_here(&self, req: Req) -> Option<Req> {
        if self.restarting.load(Ordering::Acquire) {
            return Some(req);
        }
        let Ok(guard) = self.writer.try_lock() else {
            return Some(req);
        };
        let Some(conn) = guard.as_ref() else {
            return Some(req);
        };
        IN_PLACE.set(true);
        let began = exec_cached(conn, "BEGIN IMMEDIATE");
        IN_PLACE.set(false);
        if began.is_err() {
            // Busy: a checkpoint holds the lock (or the begin failed: the thread reports it).
            return Some(req);
        }
        run_begun(conn, Ok(()), &mut vec![req]);
        self.kick.kick();
        None
    }
}

#[async_trait]
impl RoomStore for SqliteStore {
    async fn room_ids(&self) -> Result<Vec<RoomId>, StoreError> {
        let ids = self.call(Req::RoomIds).await?;
        Ok(ids.into_iter().map(RoomId::from).collect())
    }

    async fn load(&self, room: &RoomId) -> Result<Option<StoredRoom>, StoreError> {
        let raw = self
            .call(|r| Req::Load(room.as_str().to_owned(), r))
            .await?;
        raw.map(|raw| decode(room, raw)).transpose()
    }

    async fn create(&self, room: &RoomId, snapshot: &RoomSnapshot) -> Result<bool, StoreError> {
        let json = serde_json::to_string(snapshot).map_err(backend)?;
        let created = self
            .call(|r| Req::Create(room.as_str().to_owned(), json, None, r))
            .await?;
        Ok(created.is_some())
    }

    async fn create_with_outbox(
        &self,
        room: &RoomId,
        snapshot: &RoomSnapshot,
        outbox: OutboxFor,
    ) -> Result<Option<u64>, StoreError> {
        let json = serde_json::to_string(snapshot).map_err(backend)?;
        self.call(|r| Req::Create(room.as_str().to_owned(), json, Some(outbox), r))
            .await
    }

    async fn incarnation(&self, room: &RoomId) -> Result<u64, StoreError> {
        self.call(|r| Req::Incarnation(room.as_str().to_owned(), r))
            .await
    }

    async fn append(&self, room: &RoomId, entry: &LogEntry) -> Result<(), StoreError> {
        self.append_with_outbox(room, entry, &[]).await
    }

    async fn append_with_outbox(
        &self,
        room: &RoomId,
        entry: &LogEntry,
        outbox: &[OutboxItem],
    ) -> Result<(), StoreError> {
        let (actor, command) = match &entry.input {
            LogInput::Command { actor, command } => (
                Some(actor.as_str().to_owned()),
                serde_json::to_string(command).map_err(backend)?,
            ),
            LogInput::Timeout => (None, TIMEOUT_MARKER.to_owned()),
        };
        let append = |reply| Req::Append {
            room: room.as_str().to_owned(),
            seq: to_i64(entry.seq),
            at: to_i64(entry.at.as_millis()),
            actor,
            command,
            client_req_id: entry.client_req_id.map(to_i64),
            outbox: outbox.to_vec(),
            reply,
        };
        self.submit(append, true).await
    }

    async fn enqueue(&self, outbox: &[OutboxItem]) -> Result<(), StoreError> {
        if outbox.is_empty() {
            return Ok(());
        }
        self.call(|r| Req::Enqueue(outbox.to_vec(), r)).await
    }

    async fn outbox_next(
        &self,
        endpoint: &str,
        limit: usize,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.call(|r| Req::OutboxNext(endpoint.to_owned(), limit, r))
            .await
    }

    async fn outbox_remove(&self, id: u64) -> Result<(), StoreError> {
        self.call(|r| Req::OutboxRemove(to_i64(id), r)).await
    }

    async fn compact(
        &self,
        room: &RoomId,
        seq: u64,
        snapshot: &RoomSnapshot,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(snapshot).map_err(backend)?;
        self.call(|r| Req::Compact(room.as_str().to_owned(), to_i64(seq), json, r))
            .await
    }

    async fn delete(&self, room: &RoomId) -> Result<(), StoreError> {
        self.delete_with_outbox(room, &[]).await
    }

    async fn delete_with_outbox(
        &self,
        room: &RoomId,
        outbox: &[OutboxItem],
    ) -> Result<(), StoreError> {
        self.call(|r| Req::Delete(room.as_str().to_owned(), outbox.to_vec(), r))
            .await
    }

    async fn close(&self) {
        let (done, rx) = oneshot::channel();
        let sent = match self.open.lock() {
            Ok(mut guard) => guard
                .take()
                .is_some_and(|open| open.tx.send(Req::Close(done)).is_ok()),
            Err(_) => false,
        };
        if sent {
            let _ = rx.await;
        }
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

fn decode(room: &RoomId, raw: RawRoom) -> Result<StoredRoom, StoreError> {
    let corrupt = |what: String| StoreError::Corrupt(format!("room {room}: {what}"));
    let base: RoomSnapshot =
        serde_json::from_str(&raw.base).map_err(|e| corrupt(format!("snapshot: {e}")))?;
    let mut log = Vec::with_capacity(raw.log.len());
    for (seq, at, actor, command, client_req_id) in raw.log {
        let input = match actor {
            None if command == TIMEOUT_MARKER => LogInput::Timeout,
            Some(actor) => LogInput::Command {
                actor: UserId::from(actor),
                command: serde_json::from_str::<Command>(&command)
                    .map_err(|e| corrupt(format!("log entry {seq}: {e}")))?,
            },
            None => return Err(corrupt(format!("log entry {seq} has no actor"))),
        };
        log.push(LogEntry {
            seq: to_u64(seq),
            at: Timestamp::from_millis(to_u64(at)),
            input,
            client_req_id: client_req_id.map(to_u64),
        });
    }
    Ok(StoredRoom {
        room_id: room.clone(),
        base,
        base_seq: to_u64(raw.base_seq),
        checkpoint_seq: to_u64(raw.checkpoint_seq.unwrap_or(raw.base_seq)),
        log,
    })
}

fn worker(
    writer: &Mutex<Option<Connection>>,
    rx: mpsc::Receiver<Req>,
    kick: &Kick,
    restarting: &AtomicBool,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Ok(first) = rx.recv() {
        // Commits that follow each other closely would starve the checkpointer's wait for
        // the lock (the log would then grow without bound): they let it in first.
        for _ in 0..100 {
            if !restarting.load(Ordering::Acquire) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_micros(100));
        }
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(req) => batch.push(req),
                Err(_) => break,
            }
        }
        // Poisoned: an append in place panicked mid-transaction; nothing more is stored.
        let go_on = match writer.lock() {
            Ok(conn) => match conn.as_ref() {
                Some(conn) => run_batch(conn, &mut batch),
                None => false,
            },
            Err(_) => false,
        };
        kick.kick();
        if !go_on {
            for req in batch.drain(..) {
                fail(req, StoreError::Closed);
            }
            return;
        }
    }
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

/// Lowers this thread's priority (nice 10): a checkpoint copies the log into the database for
/// ~10 ms of CPU at a time, and on a core shared with the runtime's worker it held every
/// command that long (`perf sched`: the worker waited 5.6 ms behind it in the `heavy` mix).
/// Under a busy worker it still gets about a tenth of the core, so the log keeps being copied.
fn yield_to_serving() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 10) {
        tracing::warn!(error = %e, "could not lower the checkpointer's priority");
    }
}

/// The writer's side of the checkpointer: one wake per checkpoint, not per commit.
#[derive(Clone)]
struct Kick {
    pending: Arc<AtomicBool>,
    tx: mpsc::Sender<()>,
}

impl Kick {
    /// Commits happened: a checkpoint is due (one is pending already, or the checkpointer
    /// is woken once).
    fn kick(&self) {
        if !self.pending.swap(true, Ordering::AcqRel) {
            // Disconnected: the checkpointer stopped (it logged why).
            let _ = self.tx.send(());
        }
    }
}

/// Copies the WAL into the database file after commits, at most once per interval, on its
/// own connection so that no commit waits for the fsyncs. Ends when the writer does.
fn checkpointer(
    conn: Connection,
    kicked: mpsc::Receiver<()>,
    pending: Arc<AtomicBool>,
    wal: WalOptions,
    restart_pages: i64,
    restarting: Arc<AtomicBool>,
) {
    yield_to_serving();
    let mut restart = false;
    while kicked.recv().is_ok() {
        // The commits of the next interval share this checkpoint; nothing is sent meanwhile
        // (the flag is up), so this wait ends early only when the writer stops.
        if let Err(mpsc::RecvTimeoutError::Disconnected) =
            kicked.recv_timeout(wal.checkpoint_interval)
        {
            return;
        }
        pending.store(false, Ordering::Release);
        let result = if restart {
            // A passive pass first copies the interval's pages without holding the writer:
            // the RESTART then holds it only for what was committed during that pass.
            checkpoint(&conn, "PASSIVE").and_then(|_| {
                restarting.store(true, Ordering::Release);
                let restarted = checkpoint(&conn, "RESTART");
                restarting.store(false, Ordering::Release);
                restarted
            })
        } else {
            checkpoint(&conn, "PASSIVE")
        };
        match result {
            // A RESTART that timed out waiting for the writer is tried again.
            Ok((busy, _)) if restart => restart = busy,
            // `log` is the log's length when the checkpoint began: commits during a passive
            // one add pages after it, so the log is never all copied at a writer's start and
            // never restarts by itself while commits keep arriving.
            Ok((_, log)) => restart = log > restart_pages,
            Err(e) => tracing::warn!(error = %e, "sqlite checkpoint failed"),
        }
    }
}

/// One checkpoint: (busy, pages in the log); busy when a RESTART timed out waiting.
fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<(bool, i64)> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
        Ok((row.get::<_, i64>(0)? != 0, row.get::<_, i64>(1)?))
    })
}

/// Runs one statement without parameters through the statement cache (no SQL parsing after
/// the first time).
fn exec_cached(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Runs one batch in one transaction. Returns false when asked to stop.
fn run_batch(conn: &Connection, batch: &mut Vec<Req>) -> bool {
    let began = exec_cached(conn, "BEGIN IMMEDIATE").map_err(backend);
    run_begun(conn, began, batch)
}

/// [`run_batch`] after its `BEGIN`.
fn run_begun(conn: &Connection, began: Result<(), StoreError>, batch: &mut Vec<Req>) -> bool {
    let mut answers: Vec<Deferred> = Vec::new();
    let mut close = None;
    // A request alone in its transaction (an append committed in place, mostly) needs no
    // savepoint: if it fails, the transaction is rolled back instead of committed.
    let alone = batch.iter().filter(|r| !matches!(r, Req::Close(_))).count() == 1;
    let mut rolled_back = false;
    for req in batch.drain(..) {
        if let Req::Close(done) = req {
            close = Some(done);
            continue;
        }
        if let Err(e) = &began {
            fail(req, e.clone());
            continue;
        }
        if alone {
            let (ok, answer) = apply(conn, req);
            if !ok {
                if let Err(e) = conn.execute_batch("ROLLBACK") {
                    tracing::error!(error = %e, "sqlite rollback failed");
                }
                rolled_back = true;
            }
            answers.push(answer);
            continue;
        }
        let sp = exec_cached(conn, "SAVEPOINT req").map_err(backend);
        let answer = match sp {
            Ok(()) => apply(conn, req),
            Err(e) => {
                fail(req, e);
                continue;
            }
        };
        let ok = answer.0;
        let release = if ok {
            exec_cached(conn, "RELEASE req")
        } else {
            conn.execute_batch("ROLLBACK TO req; RELEASE req")
        };
        if let Err(e) = release {
            tracing::error!(error = %e, "sqlite savepoint failed");
        }
        answers.push(answer.1);
    }
    let commit = match began {
        // Nothing to commit: the answer is the request's own error.
        Ok(()) if rolled_back => Ok(()),
        Ok(()) => exec_cached(conn, "COMMIT").map_err(backend),
        Err(e) => Err(e),
    };
    if commit.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    for answer in answers {
        answer(commit.as_ref().err());
    }
    match close {
        Some(done) => {
            let _ = done.send(());
            false
        }
        None => true,
    }
}

type Answer = (bool, Deferred);

/// Sends `result` now if the transaction cannot commit, else after the commit.
fn answer_after_commit<T: Send + 'static>(
    reply: Reply<T>,
    result: Result<T, StoreError>,
) -> Answer {
    let ok = result.is_ok();
    (
        ok,
        Box::new(move |commit_err: Option<&StoreError>| {
            let result = match (result, commit_err) {
                (Ok(_), Some(e)) => Err(e.clone()),
                (r, _) => r,
            };
            let _ = reply.send(result);
        }),
    )
}

fn fail(req: Req, e: StoreError) {
    match req {
        Req::RoomIds(r) => drop(r.send(Err(e))),
        Req::Load(_, r) => drop(r.send(Err(e))),
        Req::Create(_, _, _, r) => drop(r.send(Err(e))),
        Req::Incarnation(_, r) => drop(r.send(Err(e))),
        Req::Append { reply, .. } => drop(reply.send(Err(e))),
        Req::Compact(_, _, _, r) => drop(r.send(Err(e))),
        Req::Delete(_, _, r) => drop(r.send(Err(e))),
        Req::Enqueue(_, r) => drop(r.send(Err(e))),
        Req::OutboxNext(_, _, r) => drop(r.send(Err(e))),
        Req::OutboxRemove(_, r) => drop(r.send(Err(e))),
        Req::Close(done) => drop(done.send(())),
    }
}

fn apply(conn: &Connection, req: Req) -> Answer {
    match req {
        Req::RoomIds(r) => answer_after_commit(r, room_ids(conn)),
        Req::Load(room, r) => answer_after_commit(r, load(conn, &room)),
        Req::Create(room, snapshot, outbox, r) => {
            let res = create(conn, &room, &snapshot).and_then(|incarnation| {
                match (incarnation, outbox) {
                    (Some(i), Some(outbox)) => insert_outbox(conn, &outbox(i)).map(|()| Some(i)),
                    (i, _) => Ok(i),
                }
            });
            answer_after_commit(r, res)
        }
        Req::Incarnation(room, r) => {
            let res = conn
                .query_row(
                    "SELECT incarnation FROM room_incarnations WHERE room_id = ?1",
                    params![room],
                    |row| row.get::<_, i64>(0),
                )
                .optional()
                .map(|i| i.map_or(0, to_u64))
                .map_err(backend);
            answer_after_commit(r, res)
        }
        Req::Append {
            room,
            seq,
            at,
            actor,
            command,
            client_req_id,
            outbox,
            reply,
        } => {
            // Cached statements: the hot path parses no SQL.
            let res = conn
                .prepare_cached(
                    "INSERT INTO room_log (room_id, seq, at_ms, actor, command, client_req_id) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .and_then(|mut s| s.execute(params![room, seq, at, actor, command, client_req_id]))
                .and_then(|_| {
                    // Answered from the primary-key index alone: the room's row holds its
                    // snapshots (megabytes for a large room), and updating any column of it
                    // rewrote them on every append. (Not `INSERT .. SELECT .. WHERE EXISTS`:
                    // a statement that may insert several rows keeps a statement journal.)
                    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM rooms WHERE room_id = ?1)")
                        .and_then(|mut s| s.query_row(params![room], |row| row.get::<_, bool>(0)))
                })
                .map_err(backend)
                .and_then(|stored| {
                    if stored {
                        Ok(())
                    } else {
                        Err(StoreError::Backend(format!("room {room} is not stored")))
                    }
                })
                .and_then(|()| insert_outbox(conn, &outbox));
            answer_after_commit(reply, res)
        }
        Req::Enqueue(outbox, r) => answer_after_commit(r, insert_outbox(conn, &outbox)),
        Req::OutboxNext(endpoint, limit, r) => {
            answer_after_commit(r, outbox_next(conn, &endpoint, limit))
        }
        Req::OutboxRemove(id, r) => {
            let res = conn
                .execute("DELETE FROM webhook_outbox WHERE id = ?1", params![id])
                .map(|_| ())
                .map_err(backend);
            answer_after_commit(r, res)
        }
        Req::Compact(room, seq, snapshot, r) => {
            let res = conn
                .execute(
                    "UPDATE rooms SET \
                       base_snapshot = COALESCE(checkpoint_snapshot, base_snapshot), \
                       base_seq = COALESCE(checkpoint_seq, base_seq), \
                       checkpoint_snapshot = ?2, checkpoint_seq = ?3 \
                     WHERE room_id = ?1",
                    params![room, snapshot, seq],
                )
                .and_then(|_| {
                    conn.execute(
                        "DELETE FROM room_log WHERE room_id = ?1 AND seq <= \
                         (SELECT base_seq FROM rooms WHERE room_id = ?1)",
                        params![room],
                    )
                })
                .map(|_| ())
                .map_err(backend);
            answer_after_commit(r, res)
        }
        Req::Delete(room, outbox, r) => {
            // One savepoint: if the delete fails, the deliveries announcing it are not queued.
            let res = conn
                .execute("DELETE FROM room_log WHERE room_id = ?1", params![room])
                .and_then(|_| conn.execute("DELETE FROM rooms WHERE room_id = ?1", params![room]))
                .map(|_| ())
                .map_err(backend)
                .and_then(|()| insert_outbox(conn, &outbox));
            answer_after_commit(r, res)
        }
        Req::Close(done) => {
            let _ = done.send(());
            (true, Box::new(|_| {}))
        }
    }
}

/// Stores a new room with the id's next incarnation: that number, or `None` if it exists.
fn create(conn: &Connection, room: &str, snapshot: &str) -> Result<Option<u64>, StoreError> {
    let inserted = conn
        .execute(
            "INSERT OR IGNORE INTO rooms (room_id, base_snapshot, base_seq, log_seq) \
             VALUES (?1, ?2, 0, 0)",
            params![room, snapshot],
        )
        .map_err(backend)?;
    if inserted != 1 {
        return Ok(None);
    }
    conn.query_row(
        "INSERT INTO room_incarnations (room_id, incarnation) VALUES (?1, 1) \
         ON CONFLICT (room_id) DO UPDATE SET incarnation = incarnation + 1 \
         RETURNING incarnation",
        params![room],
        |row| row.get::<_, i64>(0),
    )
    .map(|i| Some(to_u64(i)))
    .map_err(backend)
}

fn insert_outbox(conn: &Connection, outbox: &[OutboxItem]) -> Result<(), StoreError> {
    if outbox.is_empty() {
        return Ok(());
    }
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO webhook_outbox (endpoint, created_ms, body) VALUES (?1, ?2, ?3)",
        )
        .map_err(backend)?;
    for item in outbox {
        stmt.execute(params![
            item.endpoint,
            to_i64(item.created.as_millis()),
            item.body
        ])
        .map_err(backend)?;
    }
    Ok(())
}

fn outbox_next(
    conn: &Connection,
    endpoint: &str,
    limit: i64,
) -> Result<Vec<OutboxRow>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, created_ms, body FROM webhook_outbox WHERE endpoint = ?1 \
             ORDER BY id LIMIT ?2",
        )
        .map_err(backend)?;
    let rows = stmt
        .query_map(params![endpoint, limit], |row| {
            Ok(OutboxRow {
                id: to_u64(row.get(0)?),
                created: Timestamp::from_millis(to_u64(row.get(1)?)),
                body: row.get(2)?,
            })
        })
        .map_err(backend)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(backend)
}

fn room_ids(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT room_id FROM rooms ORDER BY room_id")
        .map_err(backend)?;
    let rows = stmt
        .query_map([], |row| row.get::<_, String>(0))
        .map_err(backend)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(backend)
}

fn load(conn: &Connection, room: &str) -> Result<Option<RawRoom>, StoreError> {
    let head = conn
        .query_row(
            "SELECT base_snapshot, base_seq, checkpoint_seq FROM rooms WHERE room_id = ?1",
            params![room],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, Option<i64>>(2)?,
                ))
            },
        )
        .optional()
        .map_err(backend)?;
    let Some((base, base_seq, checkpoint_seq)) = head else {
        return Ok(None);
    };
    let mut stmt = conn
        .prepare_cached(
            "SELECT seq, at_ms, actor, command, client_req_id FROM room_log \
             WHERE room_id = ?1 AND seq > ?2 ORDER BY seq",
        )
        .map_err(backend)?;
    let rows = stmt
        .query_map(params![room, base_seq], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
            ))
        })
        .map_err(backend)?;
    let log = rows.collect::<Result<Vec<_>, _>>().map_err(backend)?;
    Ok(Some(RawRoom {
        base,
        base_seq,
        checkpoint_seq,
        log,
    }))
}
