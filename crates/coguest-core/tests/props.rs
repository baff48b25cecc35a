//! Property tests: random command sequences and clock jumps against the room's invariants.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coguest_core::{
    Audience, Command, Device, Event, MovePolicy, NoticeKind, Output, OutputBody, Profile, Role,
    Room, RoomConfig, SeatChoice, SeatIndex, SeatMode, Timestamp, UserId,
};
use proptest::prelude::*;
use std::collections::BTreeMap;

const USERS: [(&str, Role); 7] = [
    ("owner", Role::Owner),
    ("admin1", Role::Admin),
    ("admin2", Role::Admin),
    ("u1", Role::Audience),
    ("u2", Role::Audience),
    ("u3", Role::Audience),
    ("u4", Role::Audience),
];

#[derive(Debug, Clone)]
enum Op {
    Cmd { actor: usize, command: Command },
    Advance { ms: u64 },
}

fn user(i: usize) -> UserId {
    UserId::from(USERS[i % USERS.len()].0)
}

fn seat() -> impl Strategy<Value = SeatChoice> {
    prop_oneof![
        Just(SeatChoice::Any),
        (0u16..6).prop_map(|i| SeatChoice::Exact(SeatIndex(i))),
    ]
}

fn policy() -> impl Strategy<Value = MovePolicy> {
    prop_oneof![
        Just(MovePolicy::AbortWhenOccupied),
        Just(MovePolicy::ForceReplace),
        Just(MovePolicy::Swap),
    ]
}

fn device() -> impl Strategy<Value = Device> {
    prop_oneof![Just(Device::Microphone), Just(Device::Camera)]
}

fn seat_mode() -> impl Strategy<Value = SeatMode> {
    prop_oneof![Just(SeatMode::ApplyToTake), Just(SeatMode::FreeToTake)]
}

fn command() -> impl Strategy<Value = Command> {
    let u = || (0..USERS.len()).prop_map(user);
    // Mostly audience members as targets, mostly hosts as inviters.
    let guest = || prop_oneof![4 => (3..USERS.len()).prop_map(user), 1 => u()];
    let host = || prop_oneof![4 => (0..3usize).prop_map(user), 1 => u()];
    let timeout = prop_oneof![8 => 1u32..40, 1 => Just(0u32), 1 => Just(700u32)];
    prop_oneof![
        1 => (0..USERS.len()).prop_map(|i| Command::Join {
            profile: Profile::default(),
            role: USERS[i].1, // overwritten with the actor's own role below
        }),
        1 => Just(Command::Leave),
        3 => (seat(), timeout.clone()).prop_map(|(seat, timeout_s)| Command::ApplyForSeat {
            seat,
            timeout_s,
            extra_info: None,
        }),
        1 => Just(Command::CancelApplication),
        3 => guest().prop_map(|user| Command::AcceptApplication { user }),
        1 => Just(Command::AcceptNextApplication),
        1 => guest().prop_map(|user| Command::RejectApplication { user }),
        4 => (guest(), seat(), timeout).prop_map(|(user, seat, timeout_s)| Command::InviteToSeat {
            user,
            seat,
            timeout_s,
            extra_info: None,
        }),
        1 => guest().prop_map(|user| Command::CancelInvitation { user }),
        3 => host().prop_map(|from| Command::AcceptInvitation { from }),
        1 => host().prop_map(|from| Command::RejectInvitation { from }),
        1 => Just(Command::Disconnect),
        1 => guest().prop_map(|user| Command::KickOffSeat { user }),
        1 => (0u16..6).prop_map(|i| Command::LockSeat { seat: SeatIndex(i) }),
        1 => (0u16..6).prop_map(|i| Command::UnlockSeat { seat: SeatIndex(i) }),
        2 => seat().prop_map(|seat| Command::TakeSeat { seat }),
        1 => Just(Command::LeaveSeat),
        3 => (u(), 0u16..6, policy()).prop_map(|(user, i, policy)| Command::MoveToSeat {
            user,
            seat: SeatIndex(i),
            policy,
        }),
        2 => (device(), any::<bool>()).prop_map(|(device, on)| Command::SetDevice { device, on }),
        1 => (guest(), device(), any::<bool>()).prop_map(|(user, device, allowed)| {
            Command::SetUserDevicePermission { user, device, allowed }
        }),
        1 => (0u16..6, device(), any::<bool>()).prop_map(|(i, device, allowed)| {
            Command::SetSeatDevicePermission { seat: SeatIndex(i), device, allowed }
        }),
        1 => (prop::option::of(seat_mode()), prop::option::of(0u16..7)).prop_map(
            |(seat_mode, max_seat_count)| Command::ChangeSettings { seat_mode, max_seat_count }
        ),
        1 => (u(), any::<bool>()).prop_map(|(user, admin)| Command::SetAdmin { user, admin }),
        1 => (guest(), seat()).prop_map(|(user, seat)| Command::PickToSeat { user, seat }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..USERS.len(), command()).prop_map(|(actor, command)| {
            // Host commands come mostly from hosts, guest commands mostly from guests.
            let actor = match &command {
                Command::AcceptApplication { .. }
                | Command::AcceptNextApplication
                | Command::RejectApplication { .. }
                | Command::InviteToSeat { .. }
                | Command::CancelInvitation { .. }
                | Command::KickOffSeat { .. }
                | Command::LockSeat { .. }
                | Command::UnlockSeat { .. }
                | Command::MoveToSeat { .. }
                | Command::SetUserDevicePermission { .. }
                | Command::SetSeatDevicePermission { .. }
                | Command::ChangeSettings { .. }
                | Command::SetAdmin { .. }
                | Command::PickToSeat { .. } if actor % 5 != 0 => actor % 3,
                _ => actor,
            };
            let command = match command {
                Command::Join { profile, .. } => Command::Join { profile, role: USERS[actor].1 },
                c => c,
            };
            Op::Cmd { actor, command }
        }),
        // Clock jumps, including backwards ones the room must ignore.
        2 => prop_oneof![0u64..3_000, 0u64..60_000, Just(u64::MAX)].prop_map(|ms| Op::Advance { ms }),
    ]
}

fn config() -> impl Strategy<Value = RoomConfig> {
    (1u16..6, any::<bool>(), 1u32..4, seat_mode()).prop_map(
        |(seats, keep_owner, candidates, mode)| RoomConfig {
            max_seat_count: seats,
            keep_owner_on_seat: keep_owner,
            seat_mode: mode,
            max_candidates: candidates,
            max_request_timeout_s: 600,
            ..RoomConfig::default()
        },
    )
}

/// Runs `ops`, checking invariants after each step; returns every output and result.
struct Run {
    room: Room,
    now: Timestamp,
    trace: Vec<String>,
    /// Who sits where, according to the backend notices alone.
    noticed: BTreeMap<UserId, SeatIndex>,
}

impl Run {
    fn new(config: RoomConfig) -> Self {
        let now = Timestamp::from_millis(1_700_000_000_000);
        Run {
            room: Room::new(config, now).unwrap(),
            now,
            trace: Vec::new(),
            noticed: BTreeMap::new(),
        }
    }

    fn step(&mut self, op: &Op, ledger: &mut Ledger) {
        match op {
            Op::Cmd { actor, command } => {
                let actor = user(*actor);
                let result = self.room.handle_command(self.now, &actor, command.clone());
                self.trace
                    .push(format!("{actor} {command:?} -> {result:?}"));
                // Timeouts that fired before the command come first in the outbox.
                let outputs = self.drain();
                let (before, after) =
                    split_at_command(&outputs, result.is_ok(), self.room.version());
                ledger.observe(before, &self.room);
                ledger.command(&actor, command, &result, after, &self.room);
            }
            Op::Advance { ms } => {
                self.now = if *ms == u64::MAX {
                    Timestamp::from_millis(self.now.as_millis().saturating_sub(5_000))
                } else {
                    self.now.plus_millis(*ms)
                };
                self.room.handle_timeout(self.now);
                let outputs = self.drain();
                ledger.observe(&outputs, &self.room);
                if let Some(next) = self.room.poll_timeout() {
                    // Every request due by the latest time seen has resolved.
                    assert!(
                        next > self.now || self.now < self.latest(),
                        "a due request is still pending"
                    );
                }
            }
        }
        self.room.check_invariants().unwrap();
        ledger.matches(&self.room);
        // The notices alone tell the backend who sits where.
        let seated: BTreeMap<UserId, SeatIndex> = self
            .room
            .connected()
            .into_iter()
            .map(|s| (s.user.user_id, s.seat_index))
            .collect();
        assert_eq!(self.noticed, seated, "notices disagree with the seats");
    }

    fn latest(&self) -> Timestamp {
        self.room.snapshot().last_now
    }

    fn drain(&mut self) -> Vec<Output> {
        let outputs: Vec<Output> = std::iter::from_fn(|| self.room.poll_output()).collect();
        for o in &outputs {
            self.trace.push(format!("{o:?}"));
            if let OutputBody::Notice(n) = &o.body {
                assert_eq!(o.to, Audience::Backend, "a notice addressed to members");
                match &n.kind {
                    NoticeKind::Seated { user, seat } => {
                        assert!(self.noticed.insert(user.clone(), *seat).is_none());
                    }
                    NoticeKind::LeftSeat { user, seat } => {
                        assert_eq!(self.noticed.remove(user), Some(*seat));
                    }
                    NoticeKind::Moved { user, from, to } => {
                        assert_eq!(self.noticed.insert(user.clone(), *to), Some(*from));
                    }
                    _ => {}
                }
            } else {
                assert_ne!(
                    o.to,
                    Audience::Backend,
                    "a member output addressed to the backend"
                );
            }
        }
        outputs
    }
}

/// Outputs of the command itself carry the newest version; earlier ones came from timeouts.
fn split_at_command(outputs: &[Output], ok: bool, version: u64) -> (&[Output], &[Output]) {
    let cut = if ok {
        outputs
            .iter()
            .position(|o| o.version == version)
            .unwrap_or(outputs.len())
    } else {
        outputs.len()
    };
    outputs.split_at(cut)
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    App(UserId),
    Inv { host: UserId, invitee: UserId },
}

/// Tracks every request from creation to its single resolution.
#[derive(Default)]
struct Ledger {
    open: BTreeMap<Key, u64>,
}

impl Ledger {
    fn close(&mut self, key: Key) {
        assert!(
            self.open.remove(&key).is_some(),
            "{key:?} resolved twice or never opened"
        );
    }

    /// Outcome events to senders close requests.
    fn observe(&mut self, outputs: &[Output], _room: &Room) {
        for o in outputs {
            let OutputBody::Event(e) = &o.body else {
                continue;
            };
            let Audience::User(to) = &o.to else { continue };
            match e {
                Event::GuestApplicationResponded { .. }
                | Event::GuestApplicationNoResponse { .. } => self.close(Key::App(to.clone())),
                Event::HostInvitationResponded { guest, .. } => self.close(Key::Inv {
                    host: to.clone(),
                    invitee: guest.user_id.clone(),
                }),
                Event::HostInvitationNoResponse { guest, .. } => self.close(Key::Inv {
                    host: to.clone(),
                    invitee: guest.user_id.clone(),
                }),
                _ => {}
            }
        }
    }

    fn command(
        &mut self,
        actor: &UserId,
        command: &Command,
        result: &Result<Option<coguest_core::RequestId>, coguest_core::CommandError>,
        outputs: &[Output],
        room: &Room,
    ) {
        let Ok(created) = result else {
            assert!(outputs.is_empty(), "a refused command emitted output");
            return;
        };
        // Closures by the sender itself, or by leaving, have no outcome event to the sender.
        match command {
            Command::CancelApplication => self.close(Key::App(actor.clone())),
            Command::CancelInvitation { user } => self.close(Key::Inv {
                host: actor.clone(),
                invitee: user.clone(),
            }),
            Command::Leave => {
                self.open.remove(&Key::App(actor.clone()));
                self.open
                    .retain(|k, _| !matches!(k, Key::Inv { host, .. } if host == actor));
            }
            // A revoked admin's invitations close; the invitees are told, not the sender.
            Command::SetAdmin { user, admin: false } => {
                self.open
                    .retain(|k, _| !matches!(k, Key::Inv { host, .. } if host == user));
            }
            _ => {}
        }
        let answered_at_once = matches!(command, Command::InviteToSeat { .. }) && created.is_none();
        if answered_at_once {
            // Inviting a seated user answers AlreadySeated at once and opens no request.
            let to_members = outputs
                .iter()
                .filter(|o| !matches!(o.body, OutputBody::Notice(_)))
                .count();
            assert_eq!(to_members, 1);
        } else {
            self.observe(outputs, room);
        }
        if let Some(id) = created {
            let key = match command {
                Command::ApplyForSeat { .. } => Key::App(actor.clone()),
                Command::InviteToSeat { user, .. } => Key::Inv {
                    host: actor.clone(),
                    invitee: user.clone(),
                },
                other => panic!("{other:?} created a request"),
            };
            assert!(
                self.open.insert(key.clone(), id.0).is_none(),
                "{key:?} opened twice"
            );
        }
    }

    /// The ledger's open requests are exactly the room's pending requests.
    fn matches(&self, room: &Room) {
        let mut pending = BTreeMap::new();
        for m in room.members() {
            if let Some(a) = m.state.application() {
                pending.insert(Key::App(m.user_id.clone()), a.id.0);
            }
            for (host, i) in m.state.invitations() {
                pending.insert(
                    Key::Inv {
                        host: host.clone(),
                        invitee: m.user_id.clone(),
                    },
                    i.id.0,
                );
            }
        }
        assert_eq!(
            self.open, pending,
            "ledger and room disagree on pending requests"
        );
        assert_eq!(room.pending_request_count(), pending.len());
    }
}

/// Everybody joins first, so most commands have someone to act on.
fn joins() -> Vec<Op> {
    (0..USERS.len())
        .map(|actor| Op::Cmd {
            actor,
            command: Command::Join {
                profile: Profile::default(),
                role: USERS[actor].1,
            },
        })
        .collect()
}

fn run_all(config: &RoomConfig, ops: &[Op]) -> Run {
    let mut run = Run::new(config.clone());
    let mut ledger = Ledger::default();
    for op in joins().iter().chain(ops) {
        run.step(op, &mut ledger);
    }
    run
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Seats, capacity, timers and request resolution hold after every step.
    #[test]
    fn invariants_hold_and_every_request_resolves_once(
        config in config(),
        ops in prop::collection::vec(op(), 1..120),
    ) {
        let run = run_all(&config, &ops);
        let occupied = run.room.connected().len();
        prop_assert!(occupied <= usize::from(run.room.config().max_seat_count));
        prop_assert_eq!(run.room.seat_list().len(), usize::from(run.room.config().max_seat_count));
    }

    /// The same inputs give the same outputs.
    #[test]
    fn same_inputs_same_outputs(config in config(), ops in prop::collection::vec(op(), 1..80)) {
        let a = run_all(&config, &ops);
        let b = run_all(&config, &ops);
        prop_assert_eq!(a.trace, b.trace);
        prop_assert_eq!(a.room.snapshot(), b.room.snapshot());
    }

    /// Snapshot, restore (through JSON, as storage does) and continue equals continue.
    #[test]
    fn snapshot_restore_continue_equals_continue(
        config in config(),
        ops in prop::collection::vec(op(), 2..100),
        cut in any::<prop::sample::Index>(),
    ) {
        let cut = cut.index(ops.len());
        let (head, tail) = ops.split_at(cut);
        let mut original = run_all(&config, head);
        let json = serde_json::to_string(&original.room.snapshot()).unwrap();
        let mut restored = Run {
            room: Room::restore(serde_json::from_str(&json).unwrap()).unwrap(),
            now: original.now,
            trace: Vec::new(),
            noticed: original.noticed.clone(),
        };
        original.trace.clear();
        let mut ledger_a = Ledger::default();
        let mut ledger_b = Ledger::default();
        seed_ledger(&mut ledger_a, &original.room);
        seed_ledger(&mut ledger_b, &restored.room);
        for op in tail {
            original.step(op, &mut ledger_a);
            restored.step(op, &mut ledger_b);
        }
        prop_assert_eq!(original.trace, restored.trace);
        prop_assert_eq!(original.room.snapshot(), restored.room.snapshot());
        prop_assert_eq!(original.room.poll_timeout(), restored.room.poll_timeout());
    }
}

fn seed_ledger(ledger: &mut Ledger, room: &Room) {
    for m in room.members() {
        if let Some(a) = m.state.application() {
            ledger.open.insert(Key::App(m.user_id.clone()), a.id.0);
        }
        for (host, i) in m.state.invitations() {
            ledger.open.insert(
                Key::Inv {
                    host: host.clone(),
                    invitee: m.user_id.clone(),
                },
                i.id.0,
            );
        }
    }
}

#[test]
fn restore_rejects_a_corrupt_snapshot() {
    let now = Timestamp::from_millis(0);
    let mut room = Room::new(RoomConfig::default(), now).unwrap();
    for (u, role) in [("owner", Role::Owner), ("bob", Role::Audience)] {
        room.handle_command(
            now,
            &UserId::from(u),
            Command::Join {
                profile: Profile::default(),
                role,
            },
        )
        .unwrap();
    }
    let mut snap = room.snapshot();
    // Two users on seat 0.
    snap.members[0].state = coguest_core::GuestState::Seated(SeatIndex(0));
    assert!(Room::restore(snap).is_err());
    let mut snap = room.snapshot();
    snap.seats.pop();
    assert!(Room::restore(snap).is_err());
}

/// Snapshots written before seat management (no device flags, no role grants) still load.
#[test]
fn snapshots_without_seat_management_fields_restore() {
    let now = Timestamp::from_millis(0);
    let mut room = Room::new(RoomConfig::default(), now).unwrap();
    for (u, role) in [("owner", Role::Owner), ("bob", Role::Audience)] {
        room.handle_command(
            now,
            &UserId::from(u),
            Command::Join {
                profile: Profile::default(),
                role,
            },
        )
        .unwrap();
    }
    let mut json = serde_json::to_value(room.snapshot()).unwrap();
    json.as_object_mut().unwrap().remove("role_grants");
    for seat in json["seats"].as_array_mut().unwrap() {
        seat.as_object_mut().unwrap().remove("devices_disallowed");
    }
    for m in json["members"].as_array_mut().unwrap() {
        let m = m.as_object_mut().unwrap();
        m.remove("devices_on");
        m.remove("devices_disallowed");
    }
    let restored = Room::restore(serde_json::from_value(json).unwrap()).unwrap();
    assert_eq!(restored.snapshot(), room.snapshot());
}
