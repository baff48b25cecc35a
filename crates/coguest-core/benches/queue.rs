//! The application queue's cost when it is long: a room with `n` pending applications, where
//! each iteration the first in line cancels and applies again (so it goes to the back). Both
//! commands change every applicant's place or the queue's length, so each tells all `n`
//! applicants (`queue_position`); every output is drained (the run-loop contract). The same
//! file runs on a core without the queue (before issue 23 part 2) for the comparison in
//! BENCHMARKS.md.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use coguest_core::{Command, Profile, Role, Room, RoomConfig, SeatChoice, Timestamp, UserId};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::collections::VecDeque;
use std::hint::black_box;

fn cmd(room: &mut Room, now: Timestamp, actor: &UserId, c: Command) -> usize {
    black_box(room.handle_command(now, actor, c).unwrap());
    let mut outputs = 0;
    while let Some(o) = room.poll_output() {
        black_box(&o);
        outputs += 1;
    }
    outputs
}

fn apply() -> Command {
    Command::ApplyForSeat {
        seat: SeatChoice::Any,
        timeout_s: 600,
        extra_info: None,
    }
}

/// A room with `n` audience members, each with a pending application, in arrival order.
fn queue_of(n: usize, now: Timestamp) -> (Room, VecDeque<UserId>) {
    let config = RoomConfig {
        max_request_timeout_s: 600,
        ..RoomConfig::default()
    };
    let mut room = Room::new(config, now).unwrap();
    let join = |room: &mut Room, user: &UserId, role| {
        let profile = Profile {
            user_name: user.to_string(),
            avatar_url: String::new(),
        };
        cmd(room, now, user, Command::Join { profile, role });
    };
    join(&mut room, &UserId::from("host"), Role::Owner);
    let mut queue = VecDeque::new();
    for i in 0..n {
        let g = UserId::from(format!("g{i}"));
        join(&mut room, &g, Role::Audience);
        cmd(&mut room, now, &g, apply());
        queue.push_back(g);
    }
    (room, queue)
}

fn queue(c: &mut Criterion) {
    let mut group = c.benchmark_group("queue");
    group.throughput(Throughput::Elements(2));
    for n in [1usize, 1000] {
        let now = Timestamp::from_millis(1_000);
        let (mut room, mut line) = queue_of(n, now);
        group.bench_function(
            format!("first in line cancels and re-applies, {n} pending"),
            |b| {
                b.iter(|| {
                    let g = line.pop_front().unwrap();
                    let mut outputs = cmd(&mut room, now, &g, Command::CancelApplication);
                    outputs += cmd(&mut room, now, &g, apply());
                    line.push_back(g);
                    outputs
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, queue);
criterion_main!(benches);
