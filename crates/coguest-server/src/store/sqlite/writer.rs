//! The writer: one connection, on which a request commits either in place, on its caller's
//! thread when the writer is free (an append), or on the storage thread, which commits what is
//! queued in groups (a savepoint per request, one transaction per batch).

use super::checkpoint::{self, Kick, WalOptions};
use super::request::{Deferred, Req, apply, fail};
use super::schema::{Connections, without_waiting};
use crate::store::{StoreError, backend};
use rusqlite::Connection;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use tokio::sync::oneshot;

/// Most requests committed in one transaction.
pub const MAX_BATCH: usize = 256;

/// The running writer, as the store holds it.
pub(super) struct Open {
    tx: mpsc::Sender<Req>,
    /// The writer connection, shared by the storage thread and appends run in place; `None`
    /// once the thread has ended.
    writer: Arc<Mutex<Option<Connection>>>,
    kick: Kick,
    /// Up while the checkpointer waits for the writer's lock to restart the log.
    restarting: Arc<AtomicBool>,
}

impl Open {
    /// Starts the checkpointer and the storage thread. The thread ends on [`Req::Close`] or
    /// once every [`Open`] is dropped; it then closes the writer and waits for the
    /// checkpointer's last checkpoint.
    pub(super) fn start(
        conns: Connections,
        wal: WalOptions,
    ) -> Result<(Open, JoinHandle<()>), StoreError> {
        let checkpoint::Checkpointer {
            kick,
            restarting,
            thread: checkpointer,
        } = checkpoint::start(conns.checkpoints, wal, conns.restart_pages)?;
        let (tx, rx) = mpsc::channel();
        let writer = Arc::new(Mutex::new(Some(conns.writer)));
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
        let open = Open {
            tx,
            writer,
            kick,
            restarting,
        };
        Ok((open, thread))
    }

    /// Hands `req` to the writer: with `in_place`, runs it here when the writer is free, else
    /// queues it for the storage thread.
    pub(super) fn submit(&self, req: Req, in_place: bool) -> Result<(), StoreError> {
        let req = if in_place {
            self.run_here(req)
        } else {
            Some(req)
        };
        match req {
            Some(req) => self.tx.send(req).map_err(|_| StoreError::Closed),
            None => Ok(()),
        }
    }

    /// Asks the storage thread to stop after what is queued; false if it has stopped.
    pub(super) fn close(&self, done: oneshot::Sender<()>) -> bool {
        self.tx.send(Req::Close(done)).is_ok()
    }

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
        let began = without_waiting(|| exec_cached(conn, "BEGIN IMMEDIATE"));
        if began.is_err() {
            // Busy: a checkpoint holds the lock (or the begin failed: the thread reports it).
            return Some(req);
        }
        run_begun(conn, Ok(()), &mut vec![req]);
        self.kick.kick();
        None
    }
}

/// The storage thread: takes what is queued (up to [`MAX_BATCH`]) and commits it together.
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
