//! Commands per second through the pure state machine: a room of one owner and 19 guests
//! cycling through apply → accept → leave seat, invite → accept, apply → reject, with every
//! output drained after each command (the run-loop contract).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use coguest_core::{Command, Profile, Role, Room, RoomConfig, SeatChoice, Timestamp, UserId};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn profile(name: &str) -> Profile {
    Profile {
        user_name: name.to_owned(),
        avatar_url: String::new(),
    }
}

fn room_with_members(n: usize) -> (Room, UserId, Vec<UserId>) {
    let now = Timestamp::from_millis(1_000);
    let mut room = Room::new(RoomConfig::default(), now).unwrap();
    let host = UserId::from("host");
    let join = |room: &mut Room, user: &UserId, role| {
        room.handle_command(
            now,
            user,
            Command::Join {
                profile: profile(user.as_str()),
                role,
            },
        )
        .unwrap();
        while room.poll_output().is_some() {}
    };
    join(&mut room, &host, Role::Owner);
    let guests: Vec<UserId> = (0..n).map(|i| UserId::from(format!("g{i}"))).collect();
    for g in &guests {
        join(&mut room, g, Role::Audience);
    }
    (room, host, guests)
}

/// One round of 7 commands for guest `g`.
fn round(room: &mut Room, now: Timestamp, host: &UserId, g: &UserId) -> usize {
    let mut outputs = 0;
    let mut cmd = |room: &mut Room, actor: &UserId, c: Command| {
        black_box(room.handle_command(now, actor, c).unwrap());
        while let Some(o) = room.poll_output() {
            black_box(&o);
            outputs += 1;
        }
    };
    let apply = || Command::ApplyForSeat {
        seat: SeatChoice::Any,
        timeout_s: 60,
        extra_info: None,
    };
    cmd(room, g, apply());
    cmd(room, host, Command::AcceptApplication { user: g.clone() });
    cmd(room, g, Command::Disconnect);
    cmd(
        room,
        host,
        Command::InviteToSeat {
            user: g.clone(),
            seat: SeatChoice::Any,
            timeout_s: 60,
            extra_info: None,
        },
    );
    cmd(room, g, Command::AcceptInvitation { from: host.clone() });
    cmd(room, g, Command::Disconnect);
    cmd(room, g, apply());
    cmd(room, host, Command::RejectApplication { user: g.clone() });
    outputs
}

fn commands(c: &mut Criterion) {
    let mut group = c.benchmark_group("core");
    for members in [20usize, 1000] {
        let (mut room, host, guests) = room_with_members(members - 1);
        let mut i = 0usize;
        let mut ms = 2_000u64;
        group.throughput(Throughput::Elements(8));
        group.bench_function(format!("8 commands, room of {members}"), |b| {
            b.iter(|| {
                ms += 1;
                i = (i + 1) % guests.len();
                round(&mut room, Timestamp::from_millis(ms), &host, &guests[i])
            })
        });
    }
    group.finish();
}

criterion_group!(benches, commands);
criterion_main!(benches);
