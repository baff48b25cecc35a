//! Per-user state: `set_state`, the one place a `GuestState` changes, and the lookups `state`
//! and `info`.

use super::views::invitee_entry;
use super::{RequestRef, Room};
use crate::event::{Audience, NoticeKind, ViewChange};
use crate::id::{RequestId, UserId};
use crate::member::{DeviceFlags, GuestState, UserInfo};
use crate::time::Timestamp;
use crate::view::Applicant;

impl Room {
    /// The one place a user's [`GuestState`] changes. Keeps seats, timers, the request index
    /// and the candidate index in step, and emits the matching view changes.
    pub(super) fn set_state(&mut self, user: &UserId, new: GuestState) {
        let Some(member) = self.members.get_mut(user) else {
            return;
        };
        let join_seq = member.join_seq;
        let old = std::mem::replace(&mut member.state, new.clone());
        if old == new {
            return;
        }
        self.dirty = true;
        // Seat.
        if new.seat().is_none() {
            member.devices_on = DeviceFlags::default();
        }
        if !self.quiet_seats {
            let u = user.clone();
            match (old.seat(), new.seat()) {
                (None, Some(seat)) => self.notice(NoticeKind::Seated { user: u, seat }),
                (Some(seat), None) => self.notice(NoticeKind::LeftSeat { user: u, seat }),
                (Some(from), Some(to)) if from != to => {
                    self.notice(NoticeKind::Moved { user: u, from, to })
                }
                _ => {}
            }
        }
        if let Some(seat) = old.seat() {
            if let Some(s) = self.seats.get_mut(usize::from(seat.0)) {
                s.occupant = None;
            }
            self.seats_dirty = true;
        }
        if let Some(seat) = new.seat() {
            if let Some(s) = self.seats.get_mut(usize::from(seat.0)) {
                s.occupant = Some(user.clone());
            }
            self.seats_dirty = true;
        }
        // Candidates.
        match (old == GuestState::Audience, new == GuestState::Audience) {
            (true, false) => {
                self.candidates.remove(&(join_seq, user.clone()));
            }
            (false, true) => {
                self.candidates.insert((join_seq, user.clone()));
            }
            _ => {}
        }
        // Application.
        let old_app = old.application().map(|a| a.id);
        let new_app = new.application();
        if old_app != new_app.map(|a| a.id) {
            self.queue_dirty = true;
        }
        if let Some(id) = old_app.filter(|id| new_app.map(|a| a.id) != Some(*id)) {
            self.drop_request(id, old.application().map(|a| a.deadline));
            self.change(
                Audience::HostsAnd(user.clone()),
                ViewChange::ApplicantRemoved { user: user.clone() },
            );
        }
        if let Some(app) = new_app.filter(|a| Some(a.id) != old_app) {
            self.requests.insert(
                app.id,
                RequestRef::Application {
                    applicant: user.clone(),
                },
            );
            self.timers.insert((app.deadline, app.id));
            let entry = Applicant {
                user: self.info(user),
                request_id: app.id,
                seat: app.seat,
                deadline: app.deadline,
                extra_info: app.extra_info.clone(),
            };
            self.change(
                Audience::HostsAnd(user.clone()),
                ViewChange::ApplicantAdded(entry),
            );
        }
        // Invitations.
        for (host, inv) in old.invitations() {
            if new.invitation_from(host).map(|i| i.id) != Some(inv.id) {
                self.drop_request(inv.id, Some(inv.deadline));
                self.change(
                    Audience::HostsAnd(user.clone()),
                    ViewChange::InviteeRemoved {
                        user: user.clone(),
                        host: host.clone(),
                    },
                );
            }
        }
        for (host, inv) in new.invitations() {
            if old.invitation_from(host).map(|i| i.id) != Some(inv.id) {
                self.requests.insert(
                    inv.id,
                    RequestRef::Invitation {
                        host: host.clone(),
                        invitee: user.clone(),
                    },
                );
                self.timers.insert((inv.deadline, inv.id));
                let entry = match self.members.get(user) {
                    Some(m) => invitee_entry(m, host, inv),
                    None => continue,
                };
                self.change(
                    Audience::HostsAnd(user.clone()),
                    ViewChange::InviteeAdded(entry),
                );
            }
        }
    }

    fn drop_request(&mut self, id: RequestId, deadline: Option<Timestamp>) {
        self.requests.remove(&id);
        if let Some(d) = deadline {
            self.timers.remove(&(d, id));
        }
    }

    pub(super) fn state(&self, user: &UserId) -> GuestState {
        self.members
            .get(user)
            .map(|m| m.state.clone())
            .unwrap_or_default()
    }

    pub(super) fn info(&self, user: &UserId) -> UserInfo {
        match self.members.get(user) {
            Some(m) => m.info(),
            None => UserInfo {
                user_id: user.clone(),
                user_name: String::new(),
                avatar_url: String::new(),
            },
        }
    }
}
