//! Views: what a viewer sees (`view_for`, `host_view`), the seat list, `connected`, and the
//! entries of `applicants`, `invitees` and `candidates`.

use super::{RequestRef, Room};
use crate::id::{SeatIndex, UserId};
use crate::member::{Invitation, Member};
use crate::view::{Applicant, Invitee, RoomView, SeatInfo, SeatUser};

impl Room {
    /// The views as `viewer` sees them: hosts see every entry, others only entries about
    /// themselves (and `connected`, which everyone sees).
    pub fn view_for(&self, viewer: &UserId) -> RoomView {
        self.view(Some(viewer), self.is_host(viewer))
    }

    /// The views as a host sees them (every entry), for operators and admin APIs that are
    /// not members themselves.
    pub fn host_view(&self) -> RoomView {
        self.view(None, true)
    }

    fn view(&self, viewer: Option<&UserId>, is_host: bool) -> RoomView {
        let about_viewer = |u: &UserId| is_host || Some(u) == viewer;
        RoomView {
            version: self.version,
            connected: self.connected(),
            applicants: self
                .applicants()
                .filter(|a| about_viewer(&a.user.user_id))
                .collect(),
            invitees: self
                .invitees()
                .filter(|i| about_viewer(&i.user.user_id))
                .collect(),
            candidates: self
                .shown_candidates
                .iter()
                .map(|(_, u)| u)
                .filter(|u| about_viewer(u))
                .filter_map(|u| self.members.get(u).map(Member::info))
                .collect(),
            seats: self.seat_list(),
            seat_mode: self.config.seat_mode,
            queue: viewer.and_then(|v| self.queue_position(v)),
        }
    }

    /// Every seat in index order, empty ones included, with lock and device flags.
    pub fn seat_list(&self) -> Vec<SeatInfo> {
        self.seats
            .iter()
            .enumerate()
            .map(|(i, seat)| {
                let member = seat.occupant.as_ref().and_then(|u| self.members.get(u));
                SeatInfo {
                    seat_index: SeatIndex(i as u16),
                    user: member.map(|m| SeatUser {
                        seat_index: SeatIndex(i as u16),
                        user: m.info(),
                        role: m.role,
                    }),
                    locked: seat.locked,
                    devices_on: member.map(|m| m.devices_on).unwrap_or_default(),
                    seat_disallowed: seat.disallowed,
                    user_disallowed: member.map(|m| m.devices_disallowed).unwrap_or_default(),
                }
            })
            .collect()
    }

    /// Seated users in seat order.
    pub fn connected(&self) -> Vec<SeatUser> {
        self.seats
            .iter()
            .enumerate()
            .filter_map(|(i, seat)| {
                let member = self.members.get(seat.occupant.as_ref()?)?;
                Some(SeatUser {
                    seat_index: SeatIndex(i as u16),
                    user: member.info(),
                    role: member.role,
                })
            })
            .collect()
    }

    /// Number of occupied seats, without building the seat list.
    pub fn seated_count(&self) -> usize {
        self.seats.iter().filter(|s| s.occupant.is_some()).count()
    }

    /// Pending applications and pending invitations, counted without building a view.
    pub fn request_counts(&self) -> (usize, usize) {
        let applications = self
            .requests
            .values()
            .filter(|r| matches!(r, RequestRef::Application { .. }))
            .count();
        (applications, self.requests.len() - applications)
    }

    /// Whether seat `seat` is locked (`None` if it does not exist).
    pub fn seat_locked(&self, seat: SeatIndex) -> Option<bool> {
        self.seats.get(usize::from(seat.0)).map(|s| s.locked)
    }

    fn applicants(&self) -> impl Iterator<Item = Applicant> + '_ {
        self.requests.values().filter_map(|r| match r {
            RequestRef::Application { applicant } => {
                let member = self.members.get(applicant)?;
                let app = member.state.application()?;
                Some(Applicant {
                    user: member.info(),
                    request_id: app.id,
                    seat: app.seat,
                    deadline: app.deadline,
                    extra_info: app.extra_info.clone(),
                })
            }
            RequestRef::Invitation { .. } => None,
        })
    }

    fn invitees(&self) -> impl Iterator<Item = Invitee> + '_ {
        self.requests.values().filter_map(|r| match r {
            RequestRef::Invitation { host, invitee } => {
                let member = self.members.get(invitee)?;
                let inv = member.state.invitation_from(host)?;
                Some(invitee_entry(member, host, inv))
            }
            RequestRef::Application { .. } => None,
        })
    }

    pub(super) fn candidate_head(&self) -> Vec<(u64, UserId)> {
        self.candidates
            .iter()
            .take(self.config.max_candidates as usize)
            .cloned()
            .collect()
    }
}

pub(super) fn invitee_entry(member: &Member, host: &UserId, inv: &Invitation) -> Invitee {
    Invitee {
        user: member.info(),
        host: host.clone(),
        request_id: inv.id,
        seat: inv.seat,
        deadline: inv.deadline,
    }
}
