//! A room's connections on this node, by connection id and by user: outputs for hosts or for
//! one user reach their few connections without a scan of the whole audience, and "is this
//! user still connected" is one lookup.

use crate::room::handle::ConnHandle;
use coguest_core::UserId;
use std::collections::HashMap;

#[derive(Default)]
pub(crate) struct Peers {
    by_conn: HashMap<u64, ConnHandle>,
    by_user: HashMap<UserId, Vec<u64>>,
}

impl Peers {
    /// Adds (or replaces) a connection.
    pub fn insert(&mut self, conn: ConnHandle) {
        let id = conn.id;
        let user = conn.user().clone();
        if self.by_conn.insert(id, conn).is_none() {
            self.by_user.entry(user).or_default().push(id);
        }
    }

    /// Removes a connection.
    pub fn remove(&mut self, id: u64) -> Option<ConnHandle> {
        let conn = self.by_conn.remove(&id)?;
        if let Some(ids) = self.by_user.get_mut(conn.user()) {
            ids.retain(|i| *i != id);
            if ids.is_empty() {
                self.by_user.remove(conn.user());
            }
        }
        Some(conn)
    }

    /// Removes every connection of `user`.
    pub fn remove_user(&mut self, user: &UserId) {
        for id in self.by_user.remove(user).unwrap_or_default() {
            self.by_conn.remove(&id);
        }
    }

    /// Removes every connection, returning them.
    pub fn take_all(&mut self) -> Vec<ConnHandle> {
        self.by_user.clear();
        self.by_conn.drain().map(|(_, c)| c).collect()
    }

    pub fn get(&self, id: u64) -> Option<&ConnHandle> {
        self.by_conn.get(&id)
    }

    pub fn contains(&self, id: u64) -> bool {
        self.by_conn.contains_key(&id)
    }

    /// Whether `user` has a connection here.
    pub fn has_user(&self, user: &UserId) -> bool {
        self.by_user.contains_key(user)
    }

    /// The connections of `user`.
    pub fn of_user<'a>(&'a self, user: &UserId) -> impl Iterator<Item = &'a ConnHandle> + 'a {
        self.by_user
            .get(user)
            .into_iter()
            .flatten()
            .filter_map(|id| self.by_conn.get(id))
    }

    pub fn is_empty(&self) -> bool {
        self.by_conn.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &ConnHandle> {
        self.by_conn.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Identity;
    use crate::room::handle::ConnHandle;
    use crate::room::outbox::Outbox;
    use std::sync::Arc;

    fn conn(id: u64, user: &str) -> ConnHandle {
        let outbox = Arc::new(Outbox::new(1));
        let identity = Arc::new(Identity {
            user: user.into(),
            profile: coguest_core::Profile::default(),
            role: coguest_core::Role::Audience,
            room: None,
            expires: coguest_core::Timestamp::from_millis(0),
            admin: false,
        });
        ConnHandle::new(id, identity, outbox)
    }

    #[test]
    fn both_indexes_agree_through_inserts_and_removals() {
        let mut p = Peers::default();
        p.insert(conn(1, "a"));
        p.insert(conn(2, "a"));
        p.insert(conn(3, "b"));
        p.insert(conn(3, "b"));
        assert_eq!(p.of_user(&"a".into()).count(), 2);
        assert_eq!(p.of_user(&"b".into()).count(), 1);
        assert!(p.remove(1).is_some());
        assert!(p.has_user(&"a".into()));
        assert!(p.remove(2).is_some());
        assert!(!p.has_user(&"a".into()));
        assert!(p.remove(2).is_none());
        p.insert(conn(4, "b"));
        p.remove_user(&"b".into());
        assert!(p.is_empty());
        assert!(!p.has_user(&"b".into()));
        p.insert(conn(5, "c"));
        assert_eq!(p.take_all().len(), 1);
        assert!(p.is_empty() && !p.has_user(&"c".into()));
    }
}
