//! Rooms stored but not loaded (idle rooms their actor left, rooms found idle at start), each
//! with the time it expires: the registry's expiry task deletes a room when its time comes.
//! An entry is a room id and a time; the room itself costs no memory until it is used again.

use coguest_core::{RoomId, Timestamp};
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use tokio::sync::Notify;

#[derive(Default)]
pub(crate) struct Dormant {
    inner: Mutex<Inner>,
    /// Woken when an entry is added (it may expire before the one the task waits for).
    added: Notify,
}

#[derive(Default)]
struct Inner {
    by_time: BTreeSet<(Timestamp, RoomId)>,
    expiry: HashMap<RoomId, Timestamp>,
}

impl Dormant {
    /// `room` is stored, not loaded, and expires at `at`.
    pub fn insert(&self, room: RoomId, at: Timestamp) {
        if let Ok(mut inner) = self.inner.lock() {
            if let Some(old) = inner.expiry.insert(room.clone(), at) {
                inner.by_time.remove(&(old, room.clone()));
            }
            inner.by_time.insert((at, room));
        }
        self.added.notify_one();
    }

    /// `room` is loaded (or gone).
    pub fn remove(&self, room: &RoomId) {
        if let Ok(mut inner) = self.inner.lock() {
            if let Some(at) = inner.expiry.remove(room) {
                inner.by_time.remove(&(at, room.clone()));
            }
        }
    }

    /// The room that expires first, and when.
    pub fn first(&self) -> Option<(Timestamp, RoomId)> {
        self.inner.lock().ok()?.by_time.first().cloned()
    }

    /// Rooms stored and not loaded.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.inner.lock().map_or(0, |i| i.expiry.len())
    }

    /// Completes once an entry was added since the last call returned (at once if one was).
    pub async fn added(&self) {
        self.added.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_to_expire_comes_first_and_a_new_time_replaces_the_old() {
        let d = Dormant::default();
        let t = Timestamp::from_millis;
        d.insert(RoomId::from("a"), t(30));
        d.insert(RoomId::from("b"), t(20));
        assert_eq!(d.first(), Some((t(20), RoomId::from("b"))));
        d.insert(RoomId::from("b"), t(40));
        assert_eq!(d.first(), Some((t(30), RoomId::from("a"))));
        d.remove(&RoomId::from("a"));
        assert_eq!(d.first(), Some((t(40), RoomId::from("b"))));
        assert_eq!(d.len(), 1);
    }
}
