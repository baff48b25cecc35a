//! Property test of the application queue: through random applies, cancels, timeouts,
//! accepts (by name and first in line), rejects, leaves and restarts (snapshot, JSON,
//! restore), every applicant's last announced place is its rank in arrival order, 1..n,
//! and the hosts' `applicants` list is in that order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coguest_core::{
    Audience, Command, OutputBody, Profile, QueuePosition, Role, Room, RoomConfig, SeatChoice,
    Timestamp, UserId, ViewChange,
};
use proptest::prelude::*;
use std::collections::BTreeMap;

const GUESTS: [&str; 6] = ["u1", "u2", "u3", "u4", "u5", "u6"];
const HOSTS: [&str; 2] = ["owner", "admin"];

#[derive(Debug, Clone)]
enum Op {
    Apply { guest: usize, timeout_s: u32 },
    Cancel { guest: usize },
    Accept { host: usize, guest: usize },
    AcceptNext { host: usize },
    Reject { host: usize, guest: usize },
    Leave { guest: usize },
    Join { guest: usize },
    Advance { ms: u64 },
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    let g = || 0..GUESTS.len();
    let h = || 0..HOSTS.len();
    prop_oneof![
        6 => (g(), 1u32..30).prop_map(|(guest, timeout_s)| Op::Apply { guest, timeout_s }),
        2 => g().prop_map(|guest| Op::Cancel { guest }),
        2 => (h(), g()).prop_map(|(host, guest)| Op::Accept { host, guest }),
        2 => h().prop_map(|host| Op::AcceptNext { host }),
        1 => (h(), g()).prop_map(|(host, guest)| Op::Reject { host, guest }),
        1 => g().prop_map(|guest| Op::Leave { guest }),
        2 => g().prop_map(|guest| Op::Join { guest }),
        3 => (0u64..15_000).prop_map(|ms| Op::Advance { ms }),
        1 => Just(Op::Restart),
    ]
}

struct World {
    room: Room,
    now: Timestamp,
    /// Pending applicants in the order their `apply` succeeded.
    arrivals: Vec<UserId>,
    /// Each member's place as its client knows it: its join snapshot, then every
    /// `QueuePosition` change addressed to it.
    seen: BTreeMap<UserId, Option<QueuePosition>>,
}

impl World {
    fn new(seats: u16) -> Self {
        let now = Timestamp::from_millis(1_700_000_000_000);
        let config = RoomConfig {
            max_seat_count: seats,
            ..RoomConfig::default()
        };
        let mut w = World {
            room: Room::new(config, now).unwrap(),
            now,
            arrivals: Vec::new(),
            seen: BTreeMap::new(),
        };
        for (name, role) in [("owner", Role::Owner), ("admin", Role::Admin)] {
            w.join(name, role);
        }
        for g in GUESTS {
            w.join(g, Role::Audience);
        }
        w
    }

    fn join(&mut self, name: &str, role: Role) {
        let user = UserId::from(name);
        let joined = self.room.member(&user).is_none();
        let command = Command::Join {
            profile: Profile::default(),
            role,
        };
        if self.cmd(&user, command).is_ok() && joined {
            // A newcomer's client starts from its snapshot.
            self.seen
                .insert(user.clone(), self.room.view_for(&user).queue);
        }
    }

    fn cmd(&mut self, actor: &UserId, command: Command) -> Result<(), ()> {
        let applying = matches!(command, Command::ApplyForSeat { .. });
        let result = self.room.handle_command(self.now, actor, command);
        self.drain();
        if applying && result.is_ok() {
            self.arrivals.push(actor.clone());
        }
        result.map(|_| ()).map_err(|_| ())
    }

    fn drain(&mut self) {
        while let Some(out) = self.room.poll_output() {
            if let OutputBody::Change(ViewChange::QueuePosition(place)) = out.body {
                let Audience::User(user) = out.to else {
                    panic!("a queue position addressed to {:?}", out.to);
                };
                assert!(self.room.member(&user).is_some(), "told a non-member");
                self.seen.insert(user, place);
            }
        }
    }

    fn step(&mut self, op: &Op) {
        let guest = |i: usize| UserId::from(GUESTS[i]);
        let host = |i: usize| UserId::from(HOSTS[i]);
        match op {
            Op::Apply {
                guest: g,
                timeout_s,
            } => {
                let command = Command::ApplyForSeat {
                    seat: SeatChoice::Any,
                    timeout_s: *timeout_s,
                    extra_info: None,
                };
                let _ = self.cmd(&guest(*g), command);
            }
            Op::Cancel { guest: g } => {
                let _ = self.cmd(&guest(*g), Command::CancelApplication);
            }
            Op::Accept { host: h, guest: g } => {
                let _ = self.cmd(&host(*h), Command::AcceptApplication { user: guest(*g) });
            }
            Op::AcceptNext { host: h } => {
                let first = self.arrivals.first().cloned();
                let ok = self.cmd(&host(*h), Command::AcceptNextApplication).is_ok();
                if ok {
                    // Time does not move between steps, so nothing expired first.
                    let first = first.expect("accept-next with an empty queue succeeded");
                    let seated = self.room.member(&first).unwrap();
                    assert!(seated.state.seat().is_some(), "accept-next seated another");
                }
            }
            Op::Reject { host: h, guest: g } => {
                let _ = self.cmd(&host(*h), Command::RejectApplication { user: guest(*g) });
            }
            Op::Leave { guest: g } => {
                if self.cmd(&guest(*g), Command::Leave).is_ok() {
                    self.seen.remove(&guest(*g));
                }
            }
            Op::Join { guest: g } => self.join(GUESTS[*g], Role::Audience),
            Op::Advance { ms } => {
                self.now = self.now.plus_millis(*ms);
                self.room.handle_timeout(self.now);
                self.drain();
            }
            Op::Restart => {
                let json = serde_json::to_string(&self.room.snapshot()).unwrap();
                self.room = Room::restore(serde_json::from_str(&json).unwrap()).unwrap();
                assert!(self.room.poll_output().is_none());
            }
        }
        self.arrivals.retain(|u| {
            self.room
                .member(u)
                .is_some_and(|m| m.state.application().is_some())
        });
        self.check();
    }

    fn check(&self) {
        let n = self.arrivals.len() as u32;
        let pending: usize = self
            .room
            .members()
            .filter(|m| m.state.application().is_some())
            .count();
        assert_eq!(
            pending,
            self.arrivals.len(),
            "an application the test missed"
        );
        for (i, user) in self.arrivals.iter().enumerate() {
            let want = Some(QueuePosition {
                position: i as u32 + 1,
                length: n,
            });
            assert_eq!(self.seen.get(user), Some(&want), "{user}'s place");
            assert_eq!(self.room.queue_position(user), want, "{user}'s view");
        }
        for (user, place) in &self.seen {
            if !self.arrivals.contains(user) {
                assert_eq!(*place, None, "{user} left the queue but was not told");
            }
        }
        for h in HOSTS {
            let view = self.room.view_for(&UserId::from(h));
            let listed: Vec<UserId> = view
                .applicants
                .into_iter()
                .map(|a| a.user.user_id)
                .collect();
            assert_eq!(
                listed, self.arrivals,
                "{h}'s applicants are not in arrival order"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn places_are_arrival_ranks_after_every_step(
        seats in 2u16..5,
        ops in prop::collection::vec(op(), 1..150),
    ) {
        let mut world = World::new(seats);
        for op in &ops {
            world.step(op);
        }
    }
}
