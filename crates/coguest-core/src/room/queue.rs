//! The application queue: pending applications in arrival order (`queue`), each applicant's
//! place in it (`queue_position`), telling applicants when theirs changed (`announce_queue`),
//! and `accept_next_application`.
//!
//! Arrival order is request id order: ids come from the room's counter, so the order is the
//! room's own (no client clock), is stored with the applications, and is the same after a
//! restore or on another node replaying the log.

use super::{RequestRef, Room};
use crate::error::CommandError;
use crate::event::{Audience, ViewChange};
use crate::id::{RequestId, UserId};
use crate::view::QueuePosition;

impl Room {
    /// Pending applications in arrival order, with their applicants.
    pub(super) fn queue(&self) -> impl Iterator<Item = (RequestId, UserId)> + '_ {
        self.requests.iter().filter_map(|(id, r)| match r {
            RequestRef::Application { applicant } => Some((*id, applicant.clone())),
            RequestRef::Invitation { .. } => None,
        })
    }

    /// `user`'s place in the queue, if it has a pending application.
    pub fn queue_position(&self, user: &UserId) -> Option<QueuePosition> {
        let id = self.members.get(user)?.state.application()?.id;
        let (mut ahead, mut length) = (0u32, 0u32);
        for (other, _) in self.queue() {
            length += 1;
            if other < id {
                ahead += 1;
            }
        }
        Some(QueuePosition {
            position: ahead + 1,
            length,
        })
    }

    /// Tells each applicant whose place or queue length changed since the last announcement
    /// its new place, and each member who left the queue that it did. Called at the end of a
    /// mutation that opened or closed an application.
    pub(super) fn announce_queue(&mut self) {
        let new: Vec<(RequestId, UserId)> = self.queue().collect();
        let old = std::mem::take(&mut self.shown_queue);
        let length = new.len() as u32;
        let length_changed = old.len() != new.len();
        // Both lists are sorted by request id, so a place in the old one is a binary search.
        let old_index = |id: RequestId| old.binary_search_by_key(&id, |(i, _)| *i).ok();
        for (id, user) in &old {
            let still_queued = new.binary_search_by_key(id, |(i, _)| *i).is_ok();
            if !still_queued && self.members.contains_key(user) {
                self.change(
                    Audience::User(user.clone()),
                    ViewChange::QueuePosition(None),
                );
            }
        }
        for (index, (id, user)) in new.iter().enumerate() {
            if length_changed || old_index(*id) != Some(index) {
                let place = QueuePosition {
                    position: index as u32 + 1,
                    length,
                };
                self.change(
                    Audience::User(user.clone()),
                    ViewChange::QueuePosition(Some(place)),
                );
            }
        }
        self.shown_queue = new;
    }

    pub(super) fn accept_next_application(&mut self, host: &UserId) -> Result<(), CommandError> {
        self.require_host(host)?;
        let Some((_, first)) = self.queue().next() else {
            return Err(CommandError::QueueEmpty);
        };
        self.answer_application(host, &first, true)
    }
}
