//! The answers a room remembers so that a retried request id gets its first answer again,
//! bounded per member and over the members who left.
//!
//! Members keep their newest [`RETRY_CACHE`] answers. A user who leaves the room keeps only
//! its last answer (its `leave`'s ack, when it sent one: a client that lost the ack retries
//! it), and only the last [`RETRY_DEPARTED`] users to leave keep even that. Without the second
//! bound a long-lived room would hold answers for every user who ever passed through it.

use axum::extract::ws::Utf8Bytes;
use coguest_core::{RequestId, UserId};
use std::collections::{HashMap, VecDeque};

/// Answers kept per member per room for retried request ids.
pub const RETRY_CACHE: usize = 256;
/// Users gone from a room whose last answer is still kept.
pub const RETRY_DEPARTED: usize = 1024;

/// One remembered answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kept {
    /// An ack, encoded again when a retry asks for it (the bulk of answers: 40 bytes each in
    /// the list this way, where the encoded frame kept alive cost ~150 with its allocations).
    Ack {
        version: u64,
        request_id: Option<RequestId>,
    },
    /// The frame itself (refusals; answers given by another cluster node).
    Frame(Utf8Bytes),
}

#[derive(Default)]
struct Answers {
    /// Oldest first.
    list: VecDeque<(u64, Kept)>,
    /// The departure (a number in `RetryCache::departed`) if the user left and has not come
    /// back since.
    departed: Option<u64>,
}

/// A room's remembered answers, by user and request id.
#[derive(Default)]
pub(crate) struct RetryCache {
    by_user: HashMap<UserId, Answers>,
    /// Departures, oldest first, by number: the oldest beyond [`RETRY_DEPARTED`] are forgotten.
    departed: VecDeque<(u64, UserId)>,
    next_departure: u64,
}

impl RetryCache {
    /// `user`'s answer to request `id`, if remembered.
    pub fn get(&self, user: &UserId, id: u64) -> Option<&Kept> {
        self.by_user
            .get(user)?
            .list
            .iter()
            .rev()
            .find(|(i, _)| *i == id)
            .map(|(_, k)| k)
    }

    /// Remembers `user`'s answer to request `id` (a user that had left is a member again).
    pub fn remember(&mut self, user: &UserId, id: u64, answer: Kept) {
        let answers = self.by_user.entry(user.clone()).or_default();
        answers.departed = None;
        if answers.list.len() >= RETRY_CACHE {
            answers.list.pop_front();
        }
        answers.list.push_back((id, answer));
    }

    /// `user` left the room: all but its last answer are forgotten, and that one once
    /// [`RETRY_DEPARTED`] other users have left after it.
    pub fn departed(&mut self, user: &UserId) {
        let Some(answers) = self.by_user.get_mut(user) else {
            return;
        };
        let keep = answers.list.len().saturating_sub(1);
        answers.list.drain(..keep);
        // Its capacity too: a departed user's list held up to RETRY_CACHE slots.
        answers.list.shrink_to_fit();
        let n = self.next_departure;
        self.next_departure += 1;
        answers.departed = Some(n);
        self.departed.push_back((n, user.clone()));
        while self.departed.len() > RETRY_DEPARTED {
            let Some((n, gone)) = self.departed.pop_front() else {
                break;
            };
            // Unless it came back (or left again later) since.
            if self
                .by_user
                .get(&gone)
                .is_some_and(|a| a.departed == Some(n))
            {
                self.by_user.remove(&gone);
            }
        }
    }

    /// Answers held, over all users.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.by_user.values().map(|a| a.list.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(i: usize) -> UserId {
        UserId::from(format!("u{i}").as_str())
    }

    fn text(id: u64) -> Kept {
        if id % 2 == 0 {
            Kept::Ack {
                version: id,
                request_id: None,
            }
        } else {
            Kept::Frame(Utf8Bytes::from(format!("answer {id}")))
        }
    }

    #[test]
    fn an_ack_is_kept_in_place() {
        assert!(std::mem::size_of::<(u64, Kept)>() <= 48);
    }

    #[test]
    fn a_member_keeps_its_newest_answers() {
        let mut c = RetryCache::default();
        for id in 0..(RETRY_CACHE as u64 + 10) {
            c.remember(&user(0), id, text(id));
        }
        assert_eq!(c.len(), RETRY_CACHE);
        assert_eq!(c.get(&user(0), 9), None);
        assert_eq!(c.get(&user(0), 10), Some(&text(10)));
        assert_eq!(c.get(&user(1), 10), None);
    }

    #[test]
    fn a_user_who_left_keeps_its_last_answer_until_many_others_left() {
        let mut c = RetryCache::default();
        for id in 0..5 {
            c.remember(&user(0), id, text(id));
        }
        c.departed(&user(0));
        assert_eq!(c.get(&user(0), 3), None);
        assert_eq!(c.get(&user(0), 4), Some(&text(4)), "the leave's ack");
        assert!(
            c.by_user[&user(0)].list.capacity() < 4,
            "its slots are freed"
        );
        for i in 1..=RETRY_DEPARTED {
            c.remember(&user(i), 1, text(1));
            c.departed(&user(i));
        }
        assert_eq!(c.get(&user(0), 4), None);
        assert_eq!(c.get(&user(1), 1), Some(&text(1)));
        assert_eq!(c.len(), RETRY_DEPARTED);
        // A user with nothing remembered leaves nothing behind.
        c.departed(&user(RETRY_DEPARTED + 1));
        assert_eq!(c.len(), RETRY_DEPARTED);
    }

    #[test]
    fn a_user_who_came_back_is_not_forgotten_with_its_old_departure() {
        let mut c = RetryCache::default();
        c.remember(&user(0), 1, text(1));
        c.departed(&user(0));
        c.remember(&user(0), 2, text(2));
        for i in 1..=RETRY_DEPARTED {
            c.remember(&user(i), 1, text(1));
            c.departed(&user(i));
        }
        assert_eq!(c.get(&user(0), 1), Some(&text(1)));
        assert_eq!(c.get(&user(0), 2), Some(&text(2)));
        // Left again: its newer departure is the one that counts.
        c.departed(&user(0));
        for i in 1..RETRY_DEPARTED {
            c.departed(&user(i));
        }
        assert_eq!(c.get(&user(0), 2), Some(&text(2)));
    }
}
