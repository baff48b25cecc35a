//! Time at the edge: the server reads the clock here and passes `now` into the core.

use coguest_core::Timestamp;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;

/// A boxed, sendable future (what [`Clock::sleep_until`] returns).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where the server gets `now` from, and how it waits for a deadline.
///
/// Room deadlines are Unix-millisecond [`Timestamp`]s (they are persisted), so the clock speaks
/// the same unit. Tests inject a [`ManualClock`] and move time forward explicitly.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> Timestamp;
    /// A future that completes once [`Clock::now`] has reached `t` (at once if it has).
    fn sleep_until(&self, t: Timestamp) -> BoxFuture<'static, ()>;
}

/// The wall clock, read once at start-up and advanced by the monotonic tokio clock, so a
/// wall-clock step while running does not fire or delay deadlines.
#[derive(Debug, Clone)]
pub struct SystemClock {
    anchor_ms: u64,
    start: tokio::time::Instant,
}

impl SystemClock {
    /// Anchors the clock to the wall clock now.
    pub fn new() -> Self {
        let anchor_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        SystemClock {
            anchor_ms,
            start: tokio::time::Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let elapsed = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        Timestamp::from_millis(self.anchor_ms.saturating_add(elapsed))
    }

    fn sleep_until(&self, t: Timestamp) -> BoxFuture<'static, ()> {
        let wait = t.as_millis().saturating_sub(self.now().as_millis());
        Box::pin(tokio::time::sleep(Duration::from_millis(wait)))
    }
}

/// A clock that only moves when told to: [`ManualClock::advance`]. Sleepers wake through a
/// `watch` of the current time. Cheap to clone; clones share the time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<watch::Sender<Timestamp>>,
}

impl ManualClock {
    /// A clock reading `start`.
    pub fn new(start: Timestamp) -> Self {
        ManualClock {
            now: Arc::new(watch::Sender::new(start)),
        }
    }

    /// Moves time forward by `ms` milliseconds, waking every sleeper whose deadline passed.
    pub fn advance(&self, ms: u64) {
        self.now.send_modify(|t| *t = t.plus_millis(ms));
    }

    /// Moves time forward by `secs` seconds.
    pub fn advance_secs(&self, secs: u32) {
        self.advance(u64::from(secs) * 1000);
    }

    /// Sets the time (ignored if it would go backwards).
    pub fn set(&self, t: Timestamp) {
        self.now.send_if_modified(|now| {
            let later = t > *now;
            if later {
                *now = t;
            }
            later
        });
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.borrow()
    }

    fn sleep_until(&self, t: Timestamp) -> BoxFuture<'static, ()> {
        let mut rx = self.now.subscribe();
        Box::pin(async move {
            if rx.wait_for(|now| *now >= t).await.is_err() {
                // The clock is gone, so time never reaches `t`.
                std::future::pending::<()>().await;
            }
        })
    }
}
