//! The webhook outbox in Redis: deliveries are queued by the room scripts (`scripts.rs`) with
//! the change that caused them; here they are read, removed once delivered, and the cluster
//! -wide delivery lease (`P:hooklease`) is taken, kept and given up.
//!
//! One node delivers at a time, the holder of the delivery lease, not each room's owner: a
//! room that closed, or whose owner died and that nobody reopened, still has its events
//! delivered. Order per room holds because each room's deliveries are numbered (`P:hookseq`)
//! in the order its log is written, and one endpoint's queue is posted oldest first.

use super::store::RedisStore;
use crate::store::{OutboxItem, OutboxRow, StoreError};
use coguest_core::Timestamp;
use std::time::{Duration, Instant};

impl RedisStore {
    /// The keys and arguments a room script takes for `outbox`: one `P:hooks:{endpoint}` key
    /// and one `created|body` argument per delivery.
    pub(super) fn hook_args(&self, outbox: &[OutboxItem]) -> (Vec<String>, Vec<String>) {
        outbox
            .iter()
            .map(|item| {
                (
                    self.keys.hooks(&item.endpoint),
                    format!("{}|{}", item.created.as_millis(), item.body),
                )
            })
            .unzip()
    }

    /// How long the delivery lease may go unrenewed here: a third of it, so it is renewed
    /// well before another node may take it.
    fn hook_renew_every(&self) -> Duration {
        Duration::from_millis(self.lease_ms / 3)
    }

    /// Takes or keeps the delivery lease: whether this node delivers now.
    pub(super) async fn hook_turn(&self) -> Result<bool, StoreError> {
        let fresh = self
            .hook_turn
            .lock()
            .ok()
            .and_then(|t| *t)
            .is_some_and(|at| at.elapsed() < self.hook_renew_every());
        if fresh {
            return Ok(true);
        }
        let started = Instant::now();
        let got: i64 = self
            .run(
                &self.scripts.hook_turn,
                self.keys.hooklease(),
                (&self.node, self.lease_ms),
            )
            .await?;
        if let Ok(mut t) = self.hook_turn.lock() {
            // Counted from before the call: the lease may have been renewed that long ago.
            *t = (got == 1).then_some(started);
        }
        Ok(got == 1)
    }

    /// Gives the delivery lease up (shutdown), so another node delivers at once.
    pub(super) async fn hook_release(&self) -> Result<(), StoreError> {
        if let Ok(mut t) = self.hook_turn.lock() {
            *t = None;
        }
        let _: i64 = self
            .run(
                &self.scripts.hook_release,
                self.keys.hooklease(),
                &self.node,
            )
            .await?;
        Ok(())
    }

    /// The oldest `limit` deliveries queued for `endpoint`.
    pub(super) async fn hooks_next(
        &self,
        endpoint: &str,
        limit: usize,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let last = isize::try_from(limit).unwrap_or(isize::MAX).max(1) - 1;
        let members: Vec<String> = self
            .query(
                redis::cmd("ZRANGE")
                    .arg(self.keys.hooks(endpoint))
                    .arg(0)
                    .arg(last),
            )
            .await?;
        members.iter().map(|m| parse_member(m)).collect()
    }

    /// Removes delivery `id` from `endpoint`'s queue.
    pub(super) async fn hooks_remove(&self, endpoint: &str, id: u64) -> Result<(), StoreError> {
        let _: i64 = self
            .query(
                redis::cmd("ZREMRANGEBYSCORE")
                    .arg(self.keys.hooks(endpoint))
                    .arg(id)
                    .arg(id),
            )
            .await?;
        Ok(())
    }

    /// The room id's incarnation (0 when it was never created with one).
    pub(super) async fn read_incarnation(&self, room: &str) -> Result<u64, StoreError> {
        let v: Option<String> = self
            .query(redis::cmd("GET").arg(self.keys.incarnation(room)))
            .await?;
        v.map(|v| {
            v.parse()
                .map_err(|_| StoreError::Corrupt(format!("room {room}: incarnation {v:?}")))
        })
        .transpose()
        .map(Option::unwrap_or_default)
    }
}

/// A queued delivery, `id|created|body`, as a row.
fn parse_member(m: &str) -> Result<OutboxRow, StoreError> {
    let corrupt = || StoreError::Corrupt(format!("webhook delivery {m:.40}"));
    let mut parts = m.splitn(3, '|');
    let mut number = || -> Result<u64, StoreError> {
        parts
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(corrupt)
    };
    let id = number()?;
    let created = Timestamp::from_millis(number()?);
    let body = parts.next().ok_or_else(corrupt)?.to_owned();
    Ok(OutboxRow { id, created, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_keeps_a_body_with_bars() {
        let row = parse_member("7|1000|{\"a\":\"x|y\"}").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((row.id, row.created.as_millis()), (7, 1000));
        assert_eq!(row.body, "{\"a\":\"x|y\"}");
        assert!(parse_member("7|x|{}").is_err());
        assert!(parse_member("7|1").is_err());
    }
}
