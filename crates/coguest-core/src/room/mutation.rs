//! Mutation plumbing: outputs go into the outbox (`emit`, `notice`, `event`, `change`), and
//! `finish_mutation` ends each mutation (derived view changes, the version bump, views before
//! events).

use super::Room;
use crate::event::{Audience, Event, Notice, NoticeKind, Output, OutputBody, ViewChange};
use crate::member::Member;

impl Room {
    fn emit(&mut self, to: Audience, body: OutputBody) {
        self.dirty = true;
        self.outbox.push_back(Output {
            version: self.version + 1,
            to,
            body,
        });
    }

    pub(super) fn notice(&mut self, kind: NoticeKind) {
        let actor = self.actor.clone();
        self.emit(
            Audience::Backend,
            OutputBody::Notice(Notice { actor, kind }),
        );
    }

    pub(super) fn event(&mut self, to: Audience, event: Event) {
        self.emit(to, OutputBody::Event(event));
    }

    pub(super) fn change(&mut self, to: Audience, change: ViewChange) {
        self.emit(to, OutputBody::Change(change));
    }

    /// Ends a mutation: emits derived view changes, then bumps the version if anything changed.
    pub(super) fn finish_mutation(&mut self) {
        if std::mem::take(&mut self.seats_dirty) {
            let seats = self.seat_list();
            self.change(Audience::Room, ViewChange::Seats { seats });
        }
        // Compared in place: most mutations leave the head as it was (no allocation then).
        let limit = self.config.max_candidates as usize;
        if !self
            .candidates
            .iter()
            .take(limit)
            .eq(self.shown_candidates.iter())
        {
            let head = self.candidate_head();
            let old = std::mem::take(&mut self.shown_candidates);
            let (removed, added) = sorted_difference(&old, &head);
            for (_, user) in removed {
                self.change(
                    Audience::HostsAnd(user.clone()),
                    ViewChange::CandidateRemoved { user: user.clone() },
                );
            }
            for (_, user) in added {
                if let Some(info) = self.members.get(user).map(Member::info) {
                    self.change(
                        Audience::HostsAnd(user.clone()),
                        ViewChange::CandidateAdded(info),
                    );
                }
            }
            self.shown_candidates = head;
        }
        if std::mem::take(&mut self.queue_dirty) {
            self.announce_queue();
        }
        for user in std::mem::take(&mut self.resets) {
            if self.members.contains_key(&user) {
                let mut view = self.view_for(&user);
                view.version = self.version + 1;
                self.change(Audience::User(user), ViewChange::Reset(Box::new(view)));
            }
        }
        if std::mem::take(&mut self.dirty) {
            self.version += 1;
            self.views_before_events();
        }
    }

    /// Puts this mutation's view changes ahead of its events (stable otherwise), so a client
    /// that applies messages in order has its lists updated before the callback fires.
    fn views_before_events(&mut self) {
        let version = self.version;
        let outbox = self.outbox.make_contiguous();
        let start = outbox
            .iter()
            .rposition(|o| o.version != version)
            .map_or(0, |i| i + 1);
        outbox[start..].sort_by_key(|o| !matches!(o.body, OutputBody::Change(_)));
    }
}

/// What is only in `old` and what is only in `new`, both sorted ascending: one merge, in
/// their order.
fn sorted_difference<'a, T: Ord>(old: &'a [T], new: &'a [T]) -> (Vec<&'a T>, Vec<&'a T>) {
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    let (mut o, mut n) = (old.iter().peekable(), new.iter().peekable());
    loop {
        match (o.peek(), n.peek()) {
            (Some(a), Some(b)) => match a.cmp(b) {
                std::cmp::Ordering::Less => removed.extend(o.next()),
                std::cmp::Ordering::Greater => added.extend(n.next()),
                std::cmp::Ordering::Equal => {
                    o.next();
                    n.next();
                }
            },
            (Some(_), None) => removed.extend(o.next()),
            (None, Some(_)) => added.extend(n.next()),
            (None, None) => return (removed, added),
        }
    }
}
