//! Invariants: `check_invariants`, run on every restore and by tests after every step.

use super::Room;
use crate::id::SeatIndex;
use crate::member::{Device, DeviceFlags, GuestState, Role};

impl Room {
    /// Checks every structural invariant; `Err` names the first one broken. Used by restore
    /// and by tests after every step.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut occupied = 0usize;
        for (i, seat) in self.seats.iter().enumerate() {
            if let Some(u) = &seat.occupant {
                occupied += 1;
                let state = self.members.get(u).map(|m| &m.state);
                if state != Some(&GuestState::Seated(SeatIndex(i as u16))) {
                    return Err(format!("seat {i} names {u}, who is not seated there"));
                }
                if seat.locked {
                    return Err(format!("locked seat {i} is occupied"));
                }
            }
        }
        if occupied > usize::from(self.config.max_seat_count) {
            return Err("more seated users than seats".into());
        }
        let mut owners = 0;
        let mut request_count = 0;
        for m in self.members.values() {
            if m.role == Role::Owner {
                owners += 1;
                if self.config.keep_owner_on_seat && m.state != GuestState::Seated(SeatIndex(0)) {
                    return Err("the owner is not on seat 0".into());
                }
            }
            if m.state.seat().is_none() && m.devices_on != DeviceFlags::default() {
                return Err(format!("{} has a device open off seat", m.user_id));
            }
            if let GuestState::Seated(s) = m.state {
                for device in [Device::Microphone, Device::Camera] {
                    if m.devices_on.get(device) && !self.device_allowed(m, device) {
                        return Err(format!("{} has a disallowed {device:?} open", m.user_id));
                    }
                }
                let seat = self.seats.get(usize::from(s.0));
                if seat.and_then(|s| s.occupant.as_ref()) != Some(&m.user_id) {
                    return Err(format!("{} thinks it sits on {s}", m.user_id));
                }
                if self.config.keep_owner_on_seat && s.0 == 0 && m.role != Role::Owner {
                    return Err("a guest sits on the owner's seat".into());
                }
            }
            if let GuestState::Pending(p) = &m.state {
                if p.application().is_none() && p.invitations().is_empty() {
                    return Err(format!("{} is pending with nothing pending", m.user_id));
                }
            }
            if self.hosts.contains(&m.user_id) != m.role.is_host() {
                return Err(format!("{} host index is stale", m.user_id));
            }
            let is_candidate = self.candidates.contains(&(m.join_seq, m.user_id.clone()));
            if is_candidate != (m.state == GuestState::Audience) {
                return Err(format!("{} candidate index is stale", m.user_id));
            }
            let app = m.state.application().map(|a| (a.id, a.deadline));
            let invs = m.state.invitations().map(|(_, i)| (i.id, i.deadline));
            for (id, deadline) in app.into_iter().chain(invs) {
                request_count += 1;
                if !self.timers.contains(&(deadline, id)) || !self.requests.contains_key(&id) {
                    return Err(format!("request {id} has no timer or index entry"));
                }
            }
            for (host, _) in m.state.invitations() {
                if !self.members.get(host).is_some_and(|h| h.role.is_host()) {
                    return Err(format!("invitation from {host}, who is not a host here"));
                }
            }
        }
        if owners > 1 {
            return Err("two owners".into());
        }
        if self.timers.len() != request_count || self.requests.len() != request_count {
            return Err("timers or request index hold closed requests".into());
        }
        if self.candidates.len() + occupied + self.count_pending_members() != self.members.len() {
            return Err("candidate index size is wrong".into());
        }
        if !self.queue().eq(self.shown_queue.iter().cloned()) {
            return Err("the announced queue is stale".into());
        }
        if self.hosts.iter().any(|h| !self.members.contains_key(h)) {
            return Err("the host index names a non-member".into());
        }
        Ok(())
    }

    fn count_pending_members(&self) -> usize {
        self.members
            .values()
            .filter(|m| matches!(m.state, GuestState::Pending(_)))
            .count()
    }
}
