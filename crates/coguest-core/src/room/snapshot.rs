//! Snapshot and restore: the state to persist, and rebuilding (and checking) a room from it.

use super::{RequestRef, Room};
use crate::error::RestoreError;
use crate::member::GuestState;
use crate::snapshot::{RoomSnapshot, SeatSnapshot};

impl Room {
    /// The state to persist, from which [`Room::restore`] rebuilds an identical room.
    pub fn snapshot(&self) -> RoomSnapshot {
        RoomSnapshot {
            config: self.config.clone(),
            version: self.version,
            last_now: self.last_now,
            next_request_id: self.next_request_id,
            next_join_seq: self.next_join_seq,
            seats: self
                .seats
                .iter()
                .map(|s| SeatSnapshot {
                    locked: s.locked,
                    devices_disallowed: s.disallowed,
                })
                .collect(),
            members: self.members.values().cloned().collect(),
            role_grants: self.role_grants.clone(),
        }
    }

    /// Rebuilds a room from a snapshot, checking that it describes a valid room (it comes
    /// from storage). Outputs not drained before the snapshot are not part of it.
    pub fn restore(snapshot: RoomSnapshot) -> Result<Self, RestoreError> {
        let err = |m: String| Err(RestoreError(m));
        let mut room = Room::new(snapshot.config, snapshot.last_now)
            .map_err(|e| RestoreError(e.to_string()))?;
        if snapshot.seats.len() != room.seats.len() {
            return err(format!(
                "{} seats for max_seat_count {}",
                snapshot.seats.len(),
                room.seats.len()
            ));
        }
        room.version = snapshot.version;
        room.next_request_id = snapshot.next_request_id;
        room.next_join_seq = snapshot.next_join_seq;
        for (seat, s) in room.seats.iter_mut().zip(&snapshot.seats) {
            seat.locked = s.locked;
            seat.disallowed = s.devices_disallowed;
        }
        room.role_grants = snapshot.role_grants;
        for member in snapshot.members {
            let user = member.user_id.clone();
            if member.join_seq >= room.next_join_seq {
                return err(format!("{user} joined after next_join_seq"));
            }
            if room.members.insert(user.clone(), member).is_some() {
                return err(format!("{user} appears twice"));
            }
        }
        room.rebuild_indexes()?;
        room.shown_candidates = room.candidate_head();
        room.shown_queue = room.queue().collect();
        if let Err(e) = room.check_invariants() {
            return err(e);
        }
        Ok(room)
    }

    fn rebuild_indexes(&mut self) -> Result<(), RestoreError> {
        let err = |m: String| Err(RestoreError(m));
        for member in self.members.values() {
            let user = &member.user_id;
            if member.role.is_host() {
                self.hosts.insert(user.clone());
            }
            match &member.state {
                GuestState::Audience => {
                    self.candidates.insert((member.join_seq, user.clone()));
                }
                GuestState::Seated(seat) => {
                    let Some(slot) = self.seats.get_mut(usize::from(seat.0)) else {
                        return err(format!("{user} sits on missing seat {seat}"));
                    };
                    if slot.occupant.is_some() {
                        return err(format!("seat {seat} holds two users"));
                    }
                    slot.occupant = Some(user.clone());
                }
                GuestState::Pending(_) => {
                    let state = &member.state;
                    let app = state.application().map(|a| {
                        (
                            a.id,
                            a.deadline,
                            RequestRef::Application {
                                applicant: user.clone(),
                            },
                        )
                    });
                    let invs = state.invitations().map(|(host, i)| {
                        (
                            i.id,
                            i.deadline,
                            RequestRef::Invitation {
                                host: host.clone(),
                                invitee: user.clone(),
                            },
                        )
                    });
                    for (id, deadline, r) in app.into_iter().chain(invs) {
                        if id.0 >= self.next_request_id {
                            return err(format!("request {id} is newer than next_request_id"));
                        }
                        if self.requests.insert(id, r).is_some() {
                            return err(format!("request id {id} used twice"));
                        }
                        self.timers.insert((deadline, id));
                    }
                }
            }
        }
        Ok(())
    }
}
