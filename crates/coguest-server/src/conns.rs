//! The server's open connections, in one table: each user's count (the per-user limit), and
//! what one periodic sweep checks for all of them: when each was last heard from (the idle
//! timeout) and when its token expires. One sweep rather than a timer in every connection's
//! task: a timer, its deadline and a shutdown watch were ~0.3 KiB of every idle connection.
//! The sweep also stops the writer of a connection asked to close that could not (a client
//! that stopped reading), and shutdown closes them all through the same table.

use crate::auth::{AuthError, Identity};
use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::room::outbox::Outbox;
use crate::wire::encode;
use coguest_core::{Timestamp, UserId};
use coguest_proto::{
    CLOSE_IDLE, CLOSE_POLICY, CLOSE_RECONNECT, CLOSE_UNAUTHORIZED, ErrorCode, ServerMsg,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::AbortHandle;

/// How often the sweep runs: an idle connection or an expired token is closed within this
/// much of its deadline.
pub(crate) const SWEEP_MS: u64 = 1000;
/// How long a connection asked to close may take to do it. Its writer flushes for at most 4 s;
/// one still there after this is stuck writing to a client that stopped reading, and is
/// dropped (its socket closed without a close frame).
pub(crate) const CLOSE_WAIT_MS: u64 = 10_000;

/// Why a connection was not admitted: the error to send, and the close code.
pub(crate) type Refusal = (ErrorCode, String, u16);

/// The open connections.
pub(crate) struct Conns {
    table: Mutex<Table>,
    /// Woken when the last connection ends.
    none_open: Notify,
    next_id: AtomicU64,
    metrics: Arc<Metrics>,
}

#[derive(Default)]
struct Table {
    per_user: HashMap<UserId, u32>,
    open: HashMap<u64, Open>,
    /// Set at shutdown: every connection is asked to close, and so is any admitted after.
    closing: bool,
}

struct Open {
    outbox: Arc<Outbox>,
    expires: Timestamp,
    /// Stops the writer task when it is stuck (see [`CLOSE_WAIT_MS`]).
    writer: Option<AbortHandle>,
    /// When the sweep first saw a close asked for.
    closing_since: Option<Timestamp>,
}

impl Conns {
    pub(crate) fn new(metrics: Arc<Metrics>) -> Self {
        Conns {
            table: Mutex::default(),
            none_open: Notify::new(),
            next_id: AtomicU64::new(1),
            metrics,
        }
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        // The table's invariants hold between statements: a panic elsewhere leaves it usable.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes one of the user's `max_per_user` connection slots and numbers the connection;
    /// [`Conns::release`] gives it back. After shutdown began, the connection is admitted and
    /// asked to close at once, so its client is told to reconnect.
    pub(crate) fn admit(
        &self,
        identity: &Identity,
        max_per_user: u32,
        outbox: &Arc<Outbox>,
        now: Timestamp,
    ) -> Result<u64, Refusal> {
        let mut table = self.table();
        if table.per_user.get(&identity.user).copied().unwrap_or(0) >= max_per_user {
            let message = format!("at most {max_per_user} connections per user");
            return Err((ErrorCode::TooManyConnections, message, CLOSE_POLICY));
        }
        *table.per_user.entry(identity.user.clone()).or_insert(0) += 1;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        outbox.heard(now);
        table.open.insert(
            id,
            Open {
                outbox: outbox.clone(),
                expires: identity.expires,
                writer: None,
                closing_since: None,
            },
        );
        if table.closing {
            outbox.ask_close(CLOSE_RECONNECT);
        }
        self.metrics.connections.inc();
        Ok(id)
    }

    /// The writer task of connection `id`, for the sweep to stop if it is stuck.
    pub(crate) fn set_writer(&self, id: u64, writer: AbortHandle) {
        if let Some(open) = self.table().open.get_mut(&id) {
            open.writer = Some(writer);
        }
    }

    /// Connection `id` presented a new token (`update_token`): it expires at `expires` now.
    pub(crate) fn set_expiry(&self, id: u64, expires: Timestamp) {
        if let Some(open) = self.table().open.get_mut(&id) {
            open.expires = expires;
        }
    }

    /// The connection `id` of `user` ended.
    pub(crate) fn release(&self, id: u64, user: &UserId) {
        let mut table = self.table();
        if table.open.remove(&id).is_none() {
            return;
        }
        if let Some(n) = table.per_user.get_mut(user) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                table.per_user.remove(user);
            }
        }
        self.metrics.connections.dec();
        if table.open.is_empty() {
            self.none_open.notify_waiters();
        }
    }

    /// Closes what is due at `now`: a connection whose token expired (4001, after an error
    /// saying so), and one nothing was heard from for `idle_ms` (4009; 0 disables). Stops the
    /// writer of one asked to close [`CLOSE_WAIT_MS`] ago and still open.
    pub(crate) fn sweep(&self, now: Timestamp, idle_ms: u64) {
        let mut table = self.table();
        for (id, open) in &mut table.open {
            if open.outbox.closing() {
                let since = *open.closing_since.get_or_insert(now);
                if now >= since.plus_millis(CLOSE_WAIT_MS) {
                    if let Some(writer) = open.writer.take() {
                        tracing::debug!(conn = id, "stuck closing: the client stopped reading");
                        writer.abort();
                    }
                }
                continue;
            }
            if now >= open.expires {
                let e = AuthError::Expired;
                open.outbox.push(encode(&ServerMsg::Error {
                    id: None,
                    code: e.code().code(),
                    message: e.to_string(),
                    app_code: None,
                    reason: None,
                }));
                open.outbox.ask_close(CLOSE_UNAUTHORIZED);
            } else if idle_ms > 0 && now >= open.outbox.last_heard().plus_millis(idle_ms) {
                tracing::debug!(conn = id, "idle: nothing heard for the idle timeout");
                open.outbox.ask_close(CLOSE_IDLE);
            }
        }
    }

    /// Asks every connection, and any admitted from now on, to close with `code`.
    pub(crate) fn close_all(&self, code: u16) {
        let mut table = self.table();
        table.closing = true;
        for open in table.open.values() {
            open.outbox.ask_close(code);
        }
    }

    /// Completes once no connection is open.
    pub(crate) async fn none_open(&self) {
        loop {
            let notified = self.none_open.notified();
            if self.table().open.is_empty() {
                return;
            }
            notified.await;
        }
    }
}

/// Sweeps `conns` every [`SWEEP_MS`] of `clock` until aborted.
pub(crate) async fn sweep(conns: Arc<Conns>, clock: Arc<dyn Clock>, idle: Duration) {
    let idle_ms = u64::try_from(idle.as_millis()).unwrap_or(u64::MAX);
    loop {
        clock.sleep_until(clock.now().plus_millis(SWEEP_MS)).await;
        conns.sweep(clock.now(), idle_ms);
    }
}
