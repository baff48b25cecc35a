//! The room state machine: every co-guest rule, applied to one room.

use crate::command::{Command, MovePolicy};
use crate::config::{RoomConfig, SeatMode};
use crate::error::{CommandError, ConfigError, RestoreError};
use crate::event::{
    Audience, Event, NoResponseReason, Notice, NoticeKind, Output, OutputBody, ViewChange,
};
use crate::id::{RequestId, SeatChoice, SeatIndex, UserId};
use crate::member::{
    Application, Device, DeviceFlags, GuestState, Invitation, Member, Profile, Role, UserInfo,
};
use crate::snapshot::{RoomSnapshot, SeatSnapshot};
use crate::time::Timestamp;
use crate::view::{Applicant, Invitee, RoomView, SeatInfo, SeatUser};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// One seat. Its occupant is mirrored in the occupant's [`GuestState::Seated`]; both change
/// together in [`Room::set_state`] only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Seat {
    occupant: Option<UserId>,
    locked: bool,
    disallowed: DeviceFlags,
}

/// Where a pending request lives, so a timer or a lookup by id finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RequestRef {
    Application { applicant: UserId },
    Invitation { host: UserId, invitee: UserId },
}

/// A live room's seats, members and pending requests, and every rule that changes them.
///
/// The room does no IO and never reads a clock: each input carries `now`. After every
/// mutation ([`Room::handle_command`], [`Room::handle_timeout`]) the caller drains
/// [`Room::poll_output`] until it returns `None`, then sleeps until [`Room::poll_timeout`].
#[derive(Debug, Clone)]
pub struct Room {
    config: RoomConfig,
    version: u64,
    last_now: Timestamp,
    next_request_id: u64,
    next_join_seq: u64,
    members: BTreeMap<UserId, Member>,
    seats: Vec<Seat>,
    role_grants: BTreeMap<UserId, Role>,
    // Indexes derived from `members`, rebuilt on restore.
    requests: BTreeMap<RequestId, RequestRef>,
    timers: BTreeSet<(Timestamp, RequestId)>,
    candidates: BTreeSet<(u64, UserId)>,
    // Members who are hosts (owner, admins): a few, looked up once per recipient of every
    // host-only output.
    hosts: BTreeSet<UserId>,
    // The candidates view as last announced (a prefix of `candidates`, in its order), to emit
    // it as additions and removals.
    shown_candidates: Vec<(u64, UserId)>,
    // Per-mutation bookkeeping.
    outbox: VecDeque<Output>,
    dirty: bool,
    seats_dirty: bool,
    resets: BTreeSet<UserId>,
    // The actor of the command being applied (for notices); `None` for timeouts.
    actor: Option<UserId>,
    // Set while a swap parks a user, so the swap reports two moves instead.
    quiet_seats: bool,
}

impl Room {
    /// An empty room with these settings.
    pub fn new(config: RoomConfig, now: Timestamp) -> Result<Self, ConfigError> {
        config.validate()?;
        let seats = vec![Seat::default(); usize::from(config.max_seat_count)];
        Ok(Room {
            config,
            version: 0,
            last_now: now,
            next_request_id: 1,
            next_join_seq: 1,
            members: BTreeMap::new(),
            seats,
            role_grants: BTreeMap::new(),
            requests: BTreeMap::new(),
            timers: BTreeSet::new(),
            candidates: BTreeSet::new(),
            hosts: BTreeSet::new(),
            shown_candidates: Vec::new(),
            outbox: VecDeque::new(),
            dirty: false,
            seats_dirty: false,
            resets: BTreeSet::new(),
            actor: None,
            quiet_seats: false,
        })
    }

    /// The room's settings.
    pub fn config(&self) -> &RoomConfig {
        &self.config
    }

    /// The room version: bumped once by every mutation that changed something.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// A member, if present.
    pub fn member(&self, user: &UserId) -> Option<&Member> {
        self.members.get(user)
    }

    /// All members, by id.
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }

    /// Number of members.
    pub fn member_count(&self) -> usize {
        self.members.len()
    }

    /// Whether `user` is a member with a host role.
    pub fn is_host(&self, user: &UserId) -> bool {
        self.hosts.contains(user)
    }

    /// The members who are hosts (the owner and the admins).
    pub fn hosts(&self) -> impl Iterator<Item = &UserId> {
        self.hosts.iter()
    }

    /// Number of pending requests (each has exactly one deadline).
    pub fn pending_request_count(&self) -> usize {
        self.requests.len()
    }

    /// Applies one command on behalf of `actor`.
    ///
    /// Requests whose deadline is at or before `now` expire first, so a late caller never
    /// accepts an expired request. On `Ok` the command took effect (with the id of the request
    /// it created, if any); on `Err` nothing changed and nothing was emitted for the command.
    pub fn handle_command(
        &mut self,
        now: Timestamp,
        actor: &UserId,
        command: Command,
    ) -> Result<Option<RequestId>, CommandError> {
        let now = self.observe(now);
        self.expire_due(now);
        let before = self.outbox.len();
        self.actor = Some(actor.clone());
        let result = self.apply(now, actor, command);
        self.actor = None;
        match &result {
            Ok(_) => self.finish_mutation(),
            Err(_) => debug_assert_eq!(self.outbox.len(), before, "a refused command emitted"),
        }
        result
    }

    /// Expires every request whose deadline is at or before `now`, in deadline order.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let now = self.observe(now);
        self.expire_due(now);
    }

    /// The earliest pending deadline: call [`Room::handle_timeout`] then.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.timers.first().map(|(t, _)| *t)
    }

    /// The next output of the last mutations, oldest first.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outbox.pop_front()
    }

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

    // ---- mutation plumbing ----

    /// Ignores time going backwards.
    fn observe(&mut self, now: Timestamp) -> Timestamp {
        self.last_now = self.last_now.max(now);
        self.last_now
    }

    fn emit(&mut self, to: Audience, body: OutputBody) {
        self.dirty = true;
        self.outbox.push_back(Output {
            version: self.version + 1,
            to,
            body,
        });
    }

    fn notice(&mut self, kind: NoticeKind) {
        let actor = self.actor.clone();
        self.emit(
            Audience::Backend,
            OutputBody::Notice(Notice { actor, kind }),
        );
    }

    fn event(&mut self, to: Audience, event: Event) {
        self.emit(to, OutputBody::Event(event));
    }

    fn change(&mut self, to: Audience, change: ViewChange) {
        self.emit(to, OutputBody::Change(change));
    }

    /// Ends a mutation: emits derived view changes, then bumps the version if anything changed.
    fn finish_mutation(&mut self) {
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

    fn candidate_head(&self) -> Vec<(u64, UserId)> {
        self.candidates
            .iter()
            .take(self.config.max_candidates as usize)
            .cloned()
            .collect()
    }

    fn expire_due(&mut self, now: Timestamp) {
        while let Some(&(deadline, id)) = self.timers.first() {
            if deadline > now {
                break;
            }
            match self.requests.get(&id).cloned() {
                Some(RequestRef::Application { applicant }) => {
                    self.notice(NoticeKind::ApplicationTimedOut {
                        user: applicant.clone(),
                    });
                    self.close_application(&applicant);
                    self.event(
                        Audience::User(applicant),
                        Event::GuestApplicationNoResponse {
                            reason: NoResponseReason::Timeout,
                        },
                    );
                }
                Some(RequestRef::Invitation { host, invitee }) => {
                    self.notice(NoticeKind::InvitationTimedOut {
                        user: invitee.clone(),
                        host: host.clone(),
                    });
                    self.close_invitation(&host, &invitee);
                    let guest = self.info(&invitee);
                    self.event(
                        Audience::User(host),
                        Event::HostInvitationNoResponse {
                            guest,
                            reason: NoResponseReason::Timeout,
                        },
                    );
                }
                None => {
                    // Unreachable while the invariants hold; drop the stray timer.
                    self.timers.remove(&(deadline, id));
                }
            }
            self.finish_mutation();
        }
    }

    /// The one place a user's [`GuestState`] changes. Keeps seats, timers, the request index
    /// and the candidate index in step, and emits the matching view changes.
    fn set_state(&mut self, user: &UserId, new: GuestState) {
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

    fn state(&self, user: &UserId) -> GuestState {
        self.members
            .get(user)
            .map(|m| m.state.clone())
            .unwrap_or_default()
    }

    fn info(&self, user: &UserId) -> UserInfo {
        match self.members.get(user) {
            Some(m) => m.info(),
            None => UserInfo {
                user_id: user.clone(),
                user_name: String::new(),
                avatar_url: String::new(),
            },
        }
    }

    fn close_application(&mut self, user: &UserId) {
        let (_, invitations) = self.state(user).into_requests();
        self.set_state(user, GuestState::from_requests(None, invitations));
    }

    fn close_invitation(&mut self, host: &UserId, invitee: &UserId) {
        let (app, mut invitations) = self.state(invitee).into_requests();
        invitations.remove(host);
        self.set_state(invitee, GuestState::from_requests(app, invitations));
    }

    fn next_request(&mut self) -> RequestId {
        let id = RequestId(self.next_request_id);
        self.next_request_id += 1;
        id
    }

    // ---- validation helpers (no mutation) ----

    fn require_member(&self, user: &UserId) -> Result<&Member, CommandError> {
        self.members.get(user).ok_or(CommandError::NotMember)
    }

    /// A host: a member with a host role, or the operator (the server's admin API).
    fn require_host(&self, user: &UserId) -> Result<(), CommandError> {
        if user.is_operator() {
            return Ok(());
        }
        self.require_member_host(user)
    }

    /// A host who is a member (requests need one: invitations come from a person).
    fn require_member_host(&self, user: &UserId) -> Result<(), CommandError> {
        if self.require_member(user)?.role.is_host() {
            Ok(())
        } else {
            Err(CommandError::NotHost)
        }
    }

    fn require_target(&self, user: &UserId) -> Result<&Member, CommandError> {
        self.members
            .get(user)
            .ok_or_else(|| CommandError::UserNotInRoom(user.clone()))
    }

    fn check_timeout(&self, timeout_s: u32) -> Result<(), CommandError> {
        let (min, max) = (
            self.config.min_request_timeout_s,
            self.config.max_request_timeout_s,
        );
        if (min..=max).contains(&timeout_s) {
            Ok(())
        } else {
            Err(CommandError::TimeoutOutOfRange {
                got: timeout_s,
                max,
                min,
            })
        }
    }

    fn check_extra_info(&self, extra: &Option<String>) -> Result<(), CommandError> {
        let got = extra.as_ref().map_or(0, String::len);
        let max = self.config.max_extra_info_bytes;
        if got > max as usize {
            Err(CommandError::ExtraInfoTooLarge { got, max })
        } else {
            Ok(())
        }
    }

    fn is_reserved(&self, seat: SeatIndex) -> bool {
        self.config.keep_owner_on_seat && seat.0 == 0
    }

    /// Checks a seat asked for in a new request: it must exist, not be locked and not be the
    /// owner's. Whether it is free is checked when the request is accepted.
    fn check_requested_seat(&self, choice: SeatChoice) -> Result<(), CommandError> {
        match choice {
            SeatChoice::Any => Ok(()),
            SeatChoice::Exact(seat) => {
                let s = self
                    .seats
                    .get(usize::from(seat.0))
                    .ok_or(CommandError::NoSuchSeat(seat))?;
                if self.is_reserved(seat) {
                    Err(CommandError::SeatReservedForOwner)
                } else if s.locked {
                    Err(CommandError::SeatLocked(seat))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// The seat an accepted request takes now.
    fn resolve_seat(&self, choice: SeatChoice) -> Result<SeatIndex, CommandError> {
        match choice {
            SeatChoice::Exact(seat) => {
                self.check_requested_seat(choice)?;
                match self.seats.get(usize::from(seat.0)) {
                    Some(s) if s.occupant.is_none() => Ok(seat),
                    Some(_) => Err(CommandError::SeatOccupied(seat)),
                    None => Err(CommandError::NoSuchSeat(seat)),
                }
            }
            SeatChoice::Any => self
                .seats
                .iter()
                .enumerate()
                .map(|(i, s)| (SeatIndex(i as u16), s))
                .find(|(i, s)| !self.is_reserved(*i) && !s.locked && s.occupant.is_none())
                .map(|(i, _)| i)
                .ok_or(CommandError::AllSeatsOccupied),
        }
    }

    // ---- commands ----

    fn apply(
        &mut self,
        now: Timestamp,
        actor: &UserId,
        command: Command,
    ) -> Result<Option<RequestId>, CommandError> {
        match command {
            Command::Join { profile, role } => self.join(actor, profile, role).map(|()| None),
            Command::Leave => self.leave(actor).map(|()| None),
            Command::ApplyForSeat {
                seat,
                timeout_s,
                extra_info,
            } => self
                .apply_for_seat(now, actor, seat, timeout_s, extra_info)
                .map(Some),
            Command::CancelApplication => self.cancel_application(actor).map(|()| None),
            Command::AcceptApplication { user } => {
                self.answer_application(actor, &user, true).map(|()| None)
            }
            Command::RejectApplication { user } => {
                self.answer_application(actor, &user, false).map(|()| None)
            }
            Command::InviteToSeat {
                user,
                seat,
                timeout_s,
                extra_info,
            } => self.invite_to_seat(now, actor, &user, seat, timeout_s, extra_info),
            Command::CancelInvitation { user } => {
                self.cancel_invitation(actor, &user).map(|()| None)
            }
            Command::AcceptInvitation { from } => {
                self.answer_invitation(actor, &from, true).map(|()| None)
            }
            Command::RejectInvitation { from } => {
                self.answer_invitation(actor, &from, false).map(|()| None)
            }
            Command::Disconnect => self.disconnect(actor).map(|()| None),
            Command::KickOffSeat { user } => self.kick_off_seat(actor, &user).map(|()| None),
            Command::LockSeat { seat } => self.set_seat_lock(actor, seat, true).map(|()| None),
            Command::UnlockSeat { seat } => self.set_seat_lock(actor, seat, false).map(|()| None),
            Command::TakeSeat { seat } => self.take_seat(actor, seat).map(|()| None),
            Command::LeaveSeat => self.disconnect(actor).map(|()| None),
            Command::MoveToSeat { user, seat, policy } => {
                self.move_to_seat(actor, &user, seat, policy).map(|()| None)
            }
            Command::SetDevice { device, on } => self.set_device(actor, device, on).map(|()| None),
            Command::SetUserDevicePermission {
                user,
                device,
                allowed,
            } => self
                .set_user_device_permission(actor, &user, device, allowed)
                .map(|()| None),
            Command::SetSeatDevicePermission {
                seat,
                device,
                allowed,
            } => self
                .set_seat_device_permission(actor, seat, device, allowed)
                .map(|()| None),
            Command::ChangeSettings {
                seat_mode,
                max_seat_count,
            } => self
                .change_settings(actor, seat_mode, max_seat_count)
                .map(|()| None),
            Command::SetAdmin { user, admin } => self.set_admin(actor, &user, admin).map(|()| None),
            Command::PickToSeat { user, seat } => {
                self.pick_to_seat(actor, &user, seat).map(|()| None)
            }
        }
    }

    fn join(&mut self, actor: &UserId, profile: Profile, role: Role) -> Result<(), CommandError> {
        if actor.is_operator() {
            return Err(CommandError::ReservedUserId);
        }
        if self.members.contains_key(actor) {
            // Profile and role are fixed for a membership; a repeated join is a no-op.
            return Ok(());
        }
        if self.members.len() >= self.config.max_members as usize {
            return Err(CommandError::RoomFull(self.config.max_members));
        }
        if role == Role::Owner {
            if let Some(owner) = self.members.values().find(|m| m.role == Role::Owner) {
                return Err(CommandError::OwnerAlreadyPresent(owner.user_id.clone()));
            }
        }
        let role = match (role, self.role_grants.get(actor)) {
            (Role::Owner, _) | (_, None) => role,
            (_, Some(granted)) => *granted,
        };
        let join_seq = self.next_join_seq;
        self.next_join_seq += 1;
        self.members.insert(
            actor.clone(),
            Member {
                user_id: actor.clone(),
                profile,
                role,
                join_seq,
                state: GuestState::Audience,
                devices_on: DeviceFlags::default(),
                devices_disallowed: DeviceFlags::default(),
            },
        );
        self.candidates.insert((join_seq, actor.clone()));
        if role.is_host() {
            self.hosts.insert(actor.clone());
        }
        self.dirty = true;
        self.notice(NoticeKind::MemberJoined {
            user: actor.clone(),
            role,
        });
        if role == Role::Owner && self.config.keep_owner_on_seat {
            self.set_state(actor, GuestState::Seated(SeatIndex(0)));
        }
        Ok(())
    }

    fn leave(&mut self, actor: &UserId) -> Result<(), CommandError> {
        let member = self.require_member(actor)?;
        let guest = member.info();
        let state = member.state.clone();
        if state.application().is_some() {
            self.notice(NoticeKind::ApplicationCancelled {
                user: actor.clone(),
            });
            self.event(
                Audience::HostsExcept(actor.clone()),
                Event::GuestApplicationCancelled {
                    guest: guest.clone(),
                },
            );
        }
        for (host, _) in state.invitations() {
            self.notice(NoticeKind::InvitationRejected {
                user: actor.clone(),
                host: host.clone(),
            });
            self.event(
                Audience::User(host.clone()),
                Event::HostInvitationResponded {
                    accepted: false,
                    guest: guest.clone(),
                },
            );
        }
        self.cancel_sent_invitations(actor);
        self.set_state(actor, GuestState::Audience);
        if let Some(m) = self.members.remove(actor) {
            self.candidates.remove(&(m.join_seq, actor.clone()));
            self.hosts.remove(actor);
        }
        self.notice(NoticeKind::MemberLeft {
            user: actor.clone(),
        });
        self.dirty = true;
        Ok(())
    }

    fn apply_for_seat(
        &mut self,
        now: Timestamp,
        actor: &UserId,
        seat: SeatChoice,
        timeout_s: u32,
        extra_info: Option<String>,
    ) -> Result<RequestId, CommandError> {
        let member = self.require_member(actor)?;
        match &member.state {
            GuestState::Seated(s) => return Err(CommandError::AlreadySeated(*s)),
            s if s.application().is_some() => {
                return Err(CommandError::ApplicationAlreadyPending);
            }
            _ => {}
        }
        self.check_timeout(timeout_s)?;
        self.check_extra_info(&extra_info)?;
        self.check_requested_seat(seat)?;
        let guest = member.info();
        let id = self.next_request();
        let application = Application {
            id,
            seat,
            deadline: now.plus_secs(timeout_s),
            extra_info: extra_info.clone(),
        };
        let (_, invitations) = self.state(actor).into_requests();
        self.set_state(
            actor,
            GuestState::from_requests(Some(application), invitations),
        );
        self.notice(NoticeKind::ApplicationCreated {
            user: actor.clone(),
            request_id: id,
            seat,
        });
        self.event(
            Audience::HostsExcept(actor.clone()),
            Event::GuestApplicationReceived {
                guest,
                request_id: id,
                seat,
                extra_info,
            },
        );
        Ok(id)
    }

    fn cancel_application(&mut self, actor: &UserId) -> Result<(), CommandError> {
        let member = self.require_member(actor)?;
        if member.state.application().is_none() {
            return Err(CommandError::NoSuchApplication(actor.clone()));
        }
        let guest = member.info();
        self.notice(NoticeKind::ApplicationCancelled {
            user: actor.clone(),
        });
        self.close_application(actor);
        self.event(
            Audience::HostsExcept(actor.clone()),
            Event::GuestApplicationCancelled { guest },
        );
        Ok(())
    }

    fn answer_application(
        &mut self,
        host: &UserId,
        applicant: &UserId,
        accept: bool,
    ) -> Result<(), CommandError> {
        self.require_host(host)?;
        let member = self.require_target(applicant)?;
        let Some(app) = member.state.application() else {
            return Err(CommandError::NoSuchApplication(applicant.clone()));
        };
        let guest = member.info();
        let seat = if accept {
            Some(self.resolve_seat(app.seat)?)
        } else {
            None
        };
        // Checks are done: from here on the command succeeds.
        let user = applicant.clone();
        self.notice(if accept {
            NoticeKind::ApplicationAccepted { user }
        } else {
            NoticeKind::ApplicationRejected { user }
        });
        let host_info = self.info(host);
        self.event(
            Audience::User(applicant.clone()),
            Event::GuestApplicationResponded {
                accepted: accept,
                host: host_info.clone(),
            },
        );
        self.event(
            Audience::HostsExcept(host.clone()),
            Event::GuestApplicationProcessedByOtherHost {
                guest,
                host: host_info,
            },
        );
        self.close_application(applicant);
        if let Some(seat) = seat {
            self.seat_user(applicant, seat);
        }
        Ok(())
    }

    /// Seats `user` on `seat` (already checked free) and closes its other pending requests
    /// with [`NoResponseReason::AlreadySeated`] to their senders.
    fn seat_user(&mut self, user: &UserId, seat: SeatIndex) {
        let state = self.state(user);
        let guest = self.info(user);
        self.set_state(user, GuestState::Seated(seat));
        // The caller closed and reported the request that seated the user; the rest close here.
        for (host, _) in state.invitations() {
            self.notice(NoticeKind::InvitationClosedAlreadySeated {
                user: user.clone(),
                host: host.clone(),
            });
            self.event(
                Audience::User(host.clone()),
                Event::HostInvitationNoResponse {
                    guest: guest.clone(),
                    reason: NoResponseReason::AlreadySeated,
                },
            );
        }
        if state.application().is_some() {
            self.notice(NoticeKind::ApplicationClosedAlreadySeated { user: user.clone() });
            self.event(
                Audience::User(user.clone()),
                Event::GuestApplicationNoResponse {
                    reason: NoResponseReason::AlreadySeated,
                },
            );
        }
    }

    fn invite_to_seat(
        &mut self,
        now: Timestamp,
        host: &UserId,
        invitee: &UserId,
        seat: SeatChoice,
        timeout_s: u32,
        extra_info: Option<String>,
    ) -> Result<Option<RequestId>, CommandError> {
        self.require_member_host(host)?;
        if host == invitee {
            return Err(CommandError::CannotInviteSelf);
        }
        let target = self.require_target(invitee)?;
        self.check_timeout(timeout_s)?;
        self.check_extra_info(&extra_info)?;
        self.check_requested_seat(seat)?;
        if target.state.invitation_from(host).is_some() {
            return Err(CommandError::InvitationAlreadyPending(invitee.clone()));
        }
        let guest = target.info();
        if target.state.seat().is_some() {
            self.notice(NoticeKind::InvitationClosedAlreadySeated {
                user: invitee.clone(),
                host: host.clone(),
            });
            self.event(
                Audience::User(host.clone()),
                Event::HostInvitationNoResponse {
                    guest,
                    reason: NoResponseReason::AlreadySeated,
                },
            );
            return Ok(None);
        }
        let id = self.next_request();
        let invitation = Invitation {
            id,
            seat,
            deadline: now.plus_secs(timeout_s),
            extra_info: extra_info.clone(),
        };
        let (app, mut invitations) = self.state(invitee).into_requests();
        invitations.insert(host.clone(), invitation);
        self.set_state(invitee, GuestState::from_requests(app, invitations));
        self.notice(NoticeKind::InvitationCreated {
            user: invitee.clone(),
            host: host.clone(),
            request_id: id,
            seat,
        });
        let host_info = self.info(host);
        self.event(
            Audience::User(invitee.clone()),
            Event::HostInvitationReceived {
                host: host_info,
                request_id: id,
                seat,
                extra_info,
            },
        );
        Ok(Some(id))
    }

    fn cancel_invitation(&mut self, host: &UserId, invitee: &UserId) -> Result<(), CommandError> {
        self.require_member_host(host)?;
        let target = self.require_target(invitee)?;
        if target.state.invitation_from(host).is_none() {
            return Err(CommandError::NoSuchInvitation {
                host: host.clone(),
                invitee: invitee.clone(),
            });
        }
        self.notice(NoticeKind::InvitationCancelled {
            user: invitee.clone(),
            host: host.clone(),
        });
        self.close_invitation(host, invitee);
        let host_info = self.info(host);
        self.event(
            Audience::User(invitee.clone()),
            Event::HostInvitationCancelled { host: host_info },
        );
        Ok(())
    }

    fn answer_invitation(
        &mut self,
        invitee: &UserId,
        host: &UserId,
        accept: bool,
    ) -> Result<(), CommandError> {
        let member = self.require_member(invitee)?;
        let Some(invitation) = member.state.invitation_from(host) else {
            return Err(CommandError::NoSuchInvitation {
                host: host.clone(),
                invitee: invitee.clone(),
            });
        };
        let guest = member.info();
        let seat = if accept {
            Some(self.resolve_seat(invitation.seat)?)
        } else {
            None
        };
        // Checks are done: from here on the command succeeds.
        let (user, h) = (invitee.clone(), host.clone());
        self.notice(if accept {
            NoticeKind::InvitationAccepted { user, host: h }
        } else {
            NoticeKind::InvitationRejected { user, host: h }
        });
        self.event(
            Audience::User(host.clone()),
            Event::HostInvitationResponded {
                accepted: accept,
                guest,
            },
        );
        self.close_invitation(host, invitee);
        if let Some(seat) = seat {
            self.seat_user(invitee, seat);
        }
        Ok(())
    }

    fn disconnect(&mut self, actor: &UserId) -> Result<(), CommandError> {
        let member = self.require_member(actor)?;
        if member.state.seat().is_none() {
            return Err(CommandError::NotSeated(actor.clone()));
        }
        if member.role == Role::Owner && self.config.keep_owner_on_seat {
            return Err(CommandError::OwnerMustStayOnSeat);
        }
        self.set_state(actor, GuestState::Audience);
        Ok(())
    }

    fn kick_off_seat(&mut self, host: &UserId, user: &UserId) -> Result<(), CommandError> {
        self.require_host(host)?;
        let target = self.require_target(user)?;
        let Some(seat) = target.state.seat() else {
            return Err(CommandError::NotSeated(user.clone()));
        };
        if target.role == Role::Owner && self.config.keep_owner_on_seat {
            return Err(CommandError::CannotKickOwner);
        }
        self.set_state(user, GuestState::Audience);
        self.notice(NoticeKind::Kicked {
            user: user.clone(),
            seat,
        });
        let host_info = self.info(host);
        self.event(
            Audience::User(user.clone()),
            Event::KickedOffSeat {
                seat,
                host: host_info,
            },
        );
        Ok(())
    }

    fn set_seat_lock(
        &mut self,
        host: &UserId,
        seat: SeatIndex,
        lock: bool,
    ) -> Result<(), CommandError> {
        self.require_host(host)?;
        let s = self
            .seats
            .get(usize::from(seat.0))
            .ok_or(CommandError::NoSuchSeat(seat))?;
        if s.locked == lock {
            let what = if lock { "locked" } else { "unlocked" };
            return Err(CommandError::SeatLockUnchanged(seat, what));
        }
        if lock && self.is_reserved(seat) {
            return Err(CommandError::SeatReservedForOwner);
        }
        if let Some(occupant) = s.occupant.clone() {
            self.set_state(&occupant, GuestState::Audience);
            self.notice(NoticeKind::Kicked {
                user: occupant.clone(),
                seat,
            });
            let host_info = self.info(host);
            self.event(
                Audience::User(occupant),
                Event::KickedOffSeat {
                    seat,
                    host: host_info,
                },
            );
        }
        if let Some(s) = self.seats.get_mut(usize::from(seat.0)) {
            s.locked = lock;
        }
        self.notice(if lock {
            NoticeKind::SeatLocked { seat }
        } else {
            NoticeKind::SeatUnlocked { seat }
        });
        self.dirty = true;
        self.seats_dirty = true;
        Ok(())
    }

    /// Closes every invitation `host` sent, telling each invitee it was cancelled.
    fn cancel_sent_invitations(&mut self, host: &UserId) {
        let host_info = self.info(host);
        let sent: Vec<UserId> = self
            .requests
            .values()
            .filter_map(|r| match r {
                RequestRef::Invitation { host: h, invitee } if h == host => Some(invitee.clone()),
                _ => None,
            })
            .collect();
        for invitee in sent {
            self.notice(NoticeKind::InvitationCancelled {
                user: invitee.clone(),
                host: host.clone(),
            });
            self.close_invitation(host, &invitee);
            self.event(
                Audience::User(invitee),
                Event::HostInvitationCancelled {
                    host: host_info.clone(),
                },
            );
        }
    }

    fn pick_to_seat(
        &mut self,
        host: &UserId,
        user: &UserId,
        choice: SeatChoice,
    ) -> Result<(), CommandError> {
        self.require_host(host)?;
        let target = self.require_target(user)?;
        if let Some(s) = target.state.seat() {
            return Err(CommandError::AlreadySeated(s));
        }
        let seat = self.resolve_seat(choice)?;
        self.seat_user(user, seat);
        Ok(())
    }

    fn take_seat(&mut self, actor: &UserId, choice: SeatChoice) -> Result<(), CommandError> {
        let member = self.require_member(actor)?;
        if let Some(s) = member.state.seat() {
            return Err(CommandError::AlreadySeated(s));
        }
        if self.config.seat_mode != SeatMode::FreeToTake {
            return Err(CommandError::SeatModeApplyToTake);
        }
        let seat = self.resolve_seat(choice)?;
        self.seat_user(actor, seat);
        Ok(())
    }

    /// Whether `member` may open `device` on the seat it sits on (or would sit on).
    fn device_allowed(&self, member: &Member, device: Device) -> bool {
        let seat_ok = member
            .state
            .seat()
            .and_then(|s| self.seats.get(usize::from(s.0)))
            .is_none_or(|s| !s.disallowed.get(device));
        seat_ok && !member.devices_disallowed.get(device)
    }

    /// Closes the devices `user` may no longer open where it sits.
    fn enforce_devices(&mut self, user: &UserId) {
        let Some(member) = self.members.get(user) else {
            return;
        };
        let mut on = member.devices_on;
        for device in [Device::Microphone, Device::Camera] {
            if on.get(device) && !self.device_allowed(member, device) {
                on.set(device, false);
            }
        }
        if let Some(m) = self.members.get_mut(user) {
            if m.devices_on != on {
                m.devices_on = on;
                self.dirty = true;
                self.seats_dirty = true;
            }
        }
    }

    /// Moves a seated `user` to the free `seat`, keeping the devices it may keep open there.
    fn relocate(&mut self, user: &UserId, seat: SeatIndex) {
        let devices = self.members.get(user).map(|m| m.devices_on);
        self.set_state(user, GuestState::Seated(seat));
        if let (Some(m), Some(d)) = (self.members.get_mut(user), devices) {
            m.devices_on = d;
        }
        self.enforce_devices(user);
    }

    fn move_to_seat(
        &mut self,
        actor: &UserId,
        user: &UserId,
        seat: SeatIndex,
        policy: MovePolicy,
    ) -> Result<(), CommandError> {
        let actor_is_host = actor.is_operator() || self.require_member(actor)?.role.is_host();
        let self_move = actor == user;
        let self_move_allowed = self_move && policy == MovePolicy::AbortWhenOccupied;
        if !actor_is_host && !self_move_allowed {
            return Err(CommandError::NotHost);
        }
        let target = self.require_target(user)?;
        let Some(from) = target.state.seat() else {
            return Err(CommandError::NotSeated(user.clone()));
        };
        if target.role == Role::Owner && self.config.keep_owner_on_seat {
            return Err(CommandError::OwnerMustStayOnSeat);
        }
        let s = self
            .seats
            .get(usize::from(seat.0))
            .ok_or(CommandError::NoSuchSeat(seat))?;
        if self.is_reserved(seat) {
            return Err(CommandError::SeatReservedForOwner);
        }
        if s.locked {
            return Err(CommandError::SeatLocked(seat));
        }
        if from == seat {
            return Err(CommandError::AlreadyOnSeat(user.clone(), seat));
        }
        let occupant = s.occupant.clone();
        if occupant.is_some() && policy == MovePolicy::AbortWhenOccupied {
            return Err(CommandError::SeatOccupied(seat));
        }
        // Checks are done: from here on the command succeeds.
        let host = self.info(actor);
        match (occupant, policy) {
            (None, _) => self.relocate(user, seat),
            (Some(other), MovePolicy::Swap) => {
                // Park the other user, move, then seat it where `user` was.
                let devices = self.members.get(&other).map(|m| m.devices_on);
                self.quiet_seats = true;
                self.set_state(&other, GuestState::Audience);
                self.relocate(user, seat);
                self.set_state(&other, GuestState::Seated(from));
                self.quiet_seats = false;
                self.notice(NoticeKind::Moved {
                    user: user.clone(),
                    from,
                    to: seat,
                });
                self.notice(NoticeKind::Moved {
                    user: other.clone(),
                    from: seat,
                    to: from,
                });
                if let (Some(m), Some(d)) = (self.members.get_mut(&other), devices) {
                    m.devices_on = d;
                }
                self.enforce_devices(&other);
                self.event(
                    Audience::User(other),
                    Event::MovedToSeat {
                        from: seat,
                        to: from,
                        host: host.clone(),
                    },
                );
            }
            (Some(other), _) => {
                self.set_state(&other, GuestState::Audience);
                self.notice(NoticeKind::Kicked {
                    user: other.clone(),
                    seat,
                });
                self.event(
                    Audience::User(other),
                    Event::KickedOffSeat {
                        seat,
                        host: host.clone(),
                    },
                );
                self.relocate(user, seat);
            }
        }
        if !self_move {
            self.event(
                Audience::User(user.clone()),
                Event::MovedToSeat {
                    from,
                    to: seat,
                    host,
                },
            );
        }
        Ok(())
    }

    fn set_device(&mut self, actor: &UserId, device: Device, on: bool) -> Result<(), CommandError> {
        let member = self.require_member(actor)?;
        if member.state.seat().is_none() {
            return Err(CommandError::NotSeated(actor.clone()));
        }
        if on && !self.device_allowed(member, device) {
            return Err(CommandError::DeviceDisallowed(device.name()));
        }
        if member.devices_on.get(device) == on {
            return Ok(());
        }
        if let Some(m) = self.members.get_mut(actor) {
            m.devices_on.set(device, on);
        }
        self.dirty = true;
        self.seats_dirty = true;
        Ok(())
    }

    fn set_user_device_permission(
        &mut self,
        host: &UserId,
        user: &UserId,
        device: Device,
        allowed: bool,
    ) -> Result<(), CommandError> {
        self.require_host(host)?;
        let target = self.require_target(user)?;
        if target.devices_disallowed.get(device) != allowed {
            return Ok(());
        }
        let seated = target.state.seat().is_some();
        if let Some(m) = self.members.get_mut(user) {
            m.devices_disallowed.set(device, !allowed);
        }
        self.notice(NoticeKind::DevicePermissionChanged {
            user: Some(user.clone()),
            seat: None,
            device,
            allowed,
        });
        self.dirty = true;
        self.seats_dirty |= seated;
        self.enforce_devices(user);
        let effective = self
            .members
            .get(user)
            .is_some_and(|m| self.device_allowed(m, device));
        let host = self.info(host);
        self.event(
            Audience::User(user.clone()),
            Event::DevicePermissionChanged {
                device,
                allowed: effective,
                seat: None,
                host,
            },
        );
        Ok(())
    }

    fn set_seat_device_permission(
        &mut self,
        host: &UserId,
        seat: SeatIndex,
        device: Device,
        allowed: bool,
    ) -> Result<(), CommandError> {
        self.require_host(host)?;
        let s = self
            .seats
            .get_mut(usize::from(seat.0))
            .ok_or(CommandError::NoSuchSeat(seat))?;
        if s.disallowed.get(device) != allowed {
            return Ok(());
        }
        s.disallowed.set(device, !allowed);
        let occupant = s.occupant.clone();
        self.notice(NoticeKind::DevicePermissionChanged {
            user: None,
            seat: Some(seat),
            device,
            allowed,
        });
        self.dirty = true;
        self.seats_dirty = true;
        if let Some(user) = occupant {
            self.enforce_devices(&user);
            let effective = self
                .members
                .get(&user)
                .is_some_and(|m| self.device_allowed(m, device));
            let host = self.info(host);
            self.event(
                Audience::User(user),
                Event::DevicePermissionChanged {
                    device,
                    allowed: effective,
                    seat: Some(seat),
                    host,
                },
            );
        }
        Ok(())
    }

    fn change_settings(
        &mut self,
        host: &UserId,
        seat_mode: Option<SeatMode>,
        max_seat_count: Option<u16>,
    ) -> Result<(), CommandError> {
        self.require_host(host)?;
        let mut config = self.config.clone();
        if let Some(mode) = seat_mode {
            config.seat_mode = mode;
        }
        if let Some(count) = max_seat_count {
            if count == 0 || count > RoomConfig::SEAT_COUNT_LIMIT {
                return Err(CommandError::InvalidSetting(
                    "max_seat_count must be 1..=64",
                ));
            }
            let beyond = self.seats.iter().enumerate().skip(usize::from(count));
            if let Some((i, _)) = beyond.clone().find(|(_, s)| s.occupant.is_some()) {
                return Err(CommandError::ShrinkBelowOccupiedSeat(
                    SeatIndex(i as u16),
                    count,
                ));
            }
            config.max_seat_count = count;
        }
        if config == self.config {
            return Ok(());
        }
        self.seats
            .resize(usize::from(config.max_seat_count), Seat::default());
        self.config = config;
        self.dirty = true;
        self.seats_dirty = true;
        self.notice(NoticeKind::SettingsChanged {
            seat_mode: self.config.seat_mode,
            max_seat_count: self.config.max_seat_count,
        });
        self.change(
            Audience::Room,
            ViewChange::Settings {
                seat_mode: self.config.seat_mode,
                max_seat_count: self.config.max_seat_count,
            },
        );
        Ok(())
    }

    fn set_admin(
        &mut self,
        owner: &UserId,
        user: &UserId,
        admin: bool,
    ) -> Result<(), CommandError> {
        if !owner.is_operator() && self.require_member(owner)?.role != Role::Owner {
            return Err(CommandError::NotOwner);
        }
        let current = self.members.get(user).map(|m| m.role);
        if owner == user || current == Some(Role::Owner) {
            return Err(CommandError::CannotChangeOwnerRole);
        }
        let role = if admin { Role::Admin } else { Role::Audience };
        if self.role_grants.get(user) != Some(&role) {
            self.role_grants.insert(user.clone(), role);
            self.dirty = true;
            self.notice(NoticeKind::RoleChanged {
                user: user.clone(),
                role,
            });
        }
        if current.is_none() || current == Some(role) {
            return Ok(());
        }
        if !admin {
            self.cancel_sent_invitations(user);
        }
        if let Some(m) = self.members.get_mut(user) {
            m.role = role;
            if role.is_host() {
                self.hosts.insert(user.clone());
            } else {
                self.hosts.remove(user);
            }
        }
        // The role shows in `connected` and `seats`.
        if self
            .members
            .get(user)
            .is_some_and(|m| m.state.seat().is_some())
        {
            self.seats_dirty = true;
        }
        let by = self.info(owner);
        self.event(
            Audience::User(user.clone()),
            Event::RoleChanged { role, by },
        );
        self.resets.insert(user.clone());
        Ok(())
    }
}

fn invitee_entry(member: &Member, host: &UserId, inv: &Invitation) -> Invitee {
    Invitee {
        user: member.info(),
        host: host.clone(),
        request_id: inv.id,
        seat: inv.seat,
        deadline: inv.deadline,
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
