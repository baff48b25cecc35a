//! The room state machine: the `Room` struct and its public entry points (`new`, accessors,
//! `handle_command` and its dispatch, `handle_timeout`, `poll_output`, `poll_timeout`). Every
//! co-guest rule, applied to one room, lives in a child module below, one concern each.

mod devices;
mod invariants;
mod membership;
mod mutation;
mod precheck;
mod queue;
mod requests;
mod seats;
mod snapshot;
mod state;
mod views;

use crate::command::Command;
use crate::config::RoomConfig;
use crate::error::{CommandError, ConfigError};
use crate::event::Output;
use crate::id::{RequestId, UserId};
use crate::member::{DeviceFlags, Member, Role};
use crate::time::Timestamp;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// One seat. Its occupant is mirrored in the occupant's [`GuestState::Seated`](crate::member::GuestState::Seated); both change
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
    // The application queue as last announced to its applicants (arrival order), to tell
    // each one only when its place or the queue's length changed.
    shown_queue: Vec<(RequestId, UserId)>,
    // Per-mutation bookkeeping.
    outbox: VecDeque<Output>,
    dirty: bool,
    seats_dirty: bool,
    queue_dirty: bool,
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
            shown_queue: Vec::new(),
            outbox: VecDeque::new(),
            dirty: false,
            seats_dirty: false,
            queue_dirty: false,
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

    /// The latest time this room has seen: the `now` of its latest input (time never goes
    /// backwards for a room). A room restored from storage reports its last stored input's.
    pub fn last_now(&self) -> Timestamp {
        self.last_now
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

    /// Ignores time going backwards.
    fn observe(&mut self, now: Timestamp) -> Timestamp {
        self.last_now = self.last_now.max(now);
        self.last_now
    }

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
            Command::AcceptNextApplication => self.accept_next_application(actor).map(|()| None),
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
}
