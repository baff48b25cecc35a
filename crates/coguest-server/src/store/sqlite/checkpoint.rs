//! The checkpointer thread: copies the WAL into the database file on its own connection, at
//! nice 10, woken by the writer's commits; and [`WalOptions`], its settings.

use crate::store::{StoreError, backend};
use rusqlite::Connection;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

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

/// The running checkpointer, as the writer holds it.
pub(super) struct Checkpointer {
    /// Wakes it after commits; it ends once every clone is dropped.
    pub(super) kick: Kick,
    /// Up while it waits for the writer's lock to restart the log.
    pub(super) restarting: Arc<AtomicBool>,
    pub(super) thread: JoinHandle<()>,
}

/// Starts the checkpointer thread on `conn` (its own connection); `restart_pages` is
/// [`WalOptions::restart_bytes`] in the database's pages.
pub(super) fn start(
    conn: Connection,
    wal: WalOptions,
    restart_pages: i64,
) -> Result<Checkpointer, StoreError> {
    let (tx, kicked) = mpsc::channel();
    let restarting = Arc::new(AtomicBool::new(false));
    let pending = Arc::new(AtomicBool::new(false));
    let kick = Kick {
        pending: pending.clone(),
        tx,
    };
    let thread = std::thread::Builder::new()
        .name("coguest-sqlite-ckpt".into())
        .spawn({
            let restarting = restarting.clone();
            move || checkpointer(conn, kicked, pending, wal, restart_pages, restarting)
        })
        .map_err(backend)?;
    Ok(Checkpointer {
        kick,
        restarting,
        thread,
    })
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
pub(super) struct Kick {
    pending: Arc<AtomicBool>,
    tx: mpsc::Sender<()>,
}

impl Kick {
    /// Commits happened: a checkpoint is due (one is pending already, or the checkpointer
    /// is woken once).
    pub(super) fn kick(&self) {
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
