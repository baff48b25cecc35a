//! Room leases: taking one (a new epoch), keeping it, announcing it again, giving it up, and
//! reading who holds one.

use super::store::{NONE, RedisStore};
use crate::store::StoreError;
use coguest_core::RoomId;

/// The result of trying to own a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acquired {
    /// This node owns the room with this epoch.
    Owner(u64),
    /// Another node holds the lease.
    Taken,
}

/// Parses a lease value `node|epoch`.
pub fn parse_lease(v: &str) -> Option<(String, u64)> {
    let (node, epoch) = v.rsplit_once('|')?;
    Some((node.to_owned(), epoch.parse().ok()?))
}

impl RedisStore {
    /// Tries to own `room` (or confirms that this node owns it).
    pub async fn acquire(&self, room: &RoomId) -> Result<Acquired, StoreError> {
        let r = room.as_str();
        let keys = (
            self.keys.lease(r),
            self.keys.epoch(r),
            self.keys.room_channel(r),
        );
        let got: i64 = self
            .run(
                &self.scripts.acquire,
                keys,
                (&self.node, self.lease_ms, self.epoch_floor(room)),
            )
            .await?;
        match u64::try_from(got) {
            Ok(epoch) if epoch > 0 => {
                self.hold(room, epoch);
                Ok(Acquired::Owner(epoch))
            }
            _ => Ok(Acquired::Taken),
        }
    }

    /// Extends this node's lease on `room`; `Ok(false)` when it is lost.
    pub async fn renew(&self, room: &RoomId) -> Result<bool, StoreError> {
        let Some(fence) = self.fence(room) else {
            return Ok(false);
        };
        let code = self
            .run_fenced(&fence, &self.scripts.renew, NONE, self.lease_ms)
            .await?;
        Ok(self.kept(room, code))
    }

    /// Renews this node's lease on `room` and announces it again as the owner (a
    /// [`RoomNotice::Leader`](super::RoomNotice::Leader), fenced like every write), so that
    /// nodes whose messages it may have missed send them again. `Ok(false)` when the lease is
    /// lost.
    pub async fn reassert(&self, room: &RoomId) -> Result<bool, StoreError> {
        let Some(fence) = self.fence(room) else {
            return Ok(false);
        };
        let args = (self.lease_ms, &self.node, fence.epoch);
        let code = self
            .run_fenced(
                &fence,
                &self.scripts.reassert,
                self.keys.room_channel(room.as_str()),
                args,
            )
            .await?;
        Ok(self.kept(room, code))
    }

    /// Whether a renewal's `code` says the lease is still this node's; forgets it if not.
    fn kept(&self, room: &RoomId, code: i64) -> bool {
        if code != 1 {
            self.forget(room);
        }
        code == 1
    }

    /// Gives `room` up (graceful shutdown), so another node can take it at once.
    pub async fn release(&self, room: &RoomId) -> Result<(), StoreError> {
        let Some(fence) = self.fence(room) else {
            return Ok(());
        };
        self.forget(room);
        let channel = self.keys.room_channel(room.as_str());
        self.run_fenced(&fence, &self.scripts.release, channel, &self.node)
            .await?;
        Ok(())
    }

    /// The current owner of `room`: `(node, epoch)`.
    pub async fn owner(&self, room: &RoomId) -> Result<Option<(String, u64)>, StoreError> {
        let lease: Option<String> = self
            .query(redis::cmd("GET").arg(self.keys.lease(room.as_str())))
            .await?;
        let owner = lease.and_then(|v| parse_lease(&v));
        if let Some((_, epoch)) = &owner {
            self.note_epoch(room, *epoch);
        }
        Ok(owner)
    }
}
