//! Fuzzing the frame decoder on stable Rust (proptest): arbitrary bytes, JSON-ish frames with
//! repeated keys and mistyped fields, valid frames, and random frames from random roles
//! through the core. Never a panic; an accepted frame re-encodes to the same command; every
//! refusal is a documented code; the room's invariants always hold.
//!
//! `cargo test` runs a few hundred cases of each; the long runs are ignored by default:
//! `COGUEST_FUZZ_CASES=200000 cargo test --release -p coguest-proto --test fuzz -- --ignored`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/frames.rs"]
mod frames;

use coguest_core::{Command, Profile, Room, RoomConfig, Timestamp, UserId};
use coguest_proto::{ClientCommand, ErrorCode, WireError, decode_frame};
use frames::{J, USERS, cases, client_text, documented_codes, frame, frame_like};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Runs `test` over `cases` inputs of `strategy`, failing with the shrunk input.
fn run<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let started = std::time::Instant::now();
    if let Err(e) = TestRunner::new(config).run(&strategy, test) {
        panic!("{name}: {e}");
    }
    eprintln!("{name}: {cases} cases in {:.1?}", started.elapsed());
}

/// Decodes `text`: an accepted frame re-encodes to itself; a refused one has one of the two
/// frame codes.
fn decodes_sanely(text: &str) -> Result<(), TestCaseError> {
    match decode_frame(text) {
        Ok(frame) => {
            let again = serde_json::to_string(&frame).unwrap();
            prop_assert_eq!(decode_frame(&again), Ok(frame), "{}", text);
        }
        Err(e) => {
            prop_assert!(
                matches!(
                    e.code,
                    ErrorCode::MalformedFrame | ErrorCode::UnknownCommand
                ),
                "{text}: {e:?}"
            );
        }
    }
    Ok(())
}

fn bytes_never_panic(cases: u32) {
    let strategy = proptest::collection::vec(any::<u8>(), 0..200);
    run("arbitrary bytes", cases, strategy, |bytes| {
        decodes_sanely(&String::from_utf8_lossy(&bytes))
    });
}

/// A JSON-ish frame is accepted only when no key repeats and its `cmd` is the name of the
/// command it decodes to; a refusal's `id` is the frame's only `id`.
fn json_frames(cases: u32) {
    let strategy = prop_oneof![3 => frame_like(), 1 => frames::value()];
    run("JSON-ish frames", cases, strategy, |j: J| {
        let text = j.render();
        decodes_sanely(&text)?;
        match decode_frame(&text) {
            Ok(frame) => {
                prop_assert!(!j.has_repeated_key(), "{text}");
                let cmd = j.values_of("cmd");
                prop_assert!(
                    matches!(cmd.as_slice(), [J::Str(name)] if name == frame.command.kind()),
                    "{text}"
                );
            }
            Err(e) => {
                if let Some(id) = e.id {
                    let ids = j.values_of("id");
                    prop_assert!(
                        matches!(ids.as_slice(), [J::UInt(v)] if *v == id)
                            || matches!(ids.as_slice(), [J::Int(v)] if u64::try_from(*v) == Ok(id)),
                        "{text}: {e:?}"
                    );
                }
                if e.code == ErrorCode::UnknownCommand {
                    let cmd = j.values_of("cmd");
                    prop_assert!(
                        matches!(cmd.as_slice(), [J::Str(n)] if !ClientCommand::NAMES.contains(&n.as_str())),
                        "{text}: {e:?}"
                    );
                }
            }
        }
        Ok(())
    });
}

/// Every valid frame decodes to itself.
fn valid_frames(cases: u32) {
    run("valid frames", cases, frame(), |f| {
        let text = serde_json::to_string(&f).unwrap();
        prop_assert_eq!(decode_frame(&text), Ok(f));
        Ok(())
    });
}

/// Random frames from random members, decoded and applied to a room as the server does
/// (`join` is the core's join with the token's role); the clock moves between some. Every
/// refusal is documented, the room's invariants hold after every step.
fn frames_through_the_core(cases: u32) {
    let documented = documented_codes();
    let step = (
        0..USERS.len(),
        client_text(),
        prop_oneof![4 => Just(0u64), 1 => 0u64..40_000],
    );
    let steps = proptest::collection::vec(step, 1..40);
    run("frames through the core", cases, steps, |steps| {
        let mut now = Timestamp::from_millis(1_700_000_000_000);
        let mut room = Room::new(RoomConfig::default(), now).unwrap();
        for (actor, text, advance) in steps {
            now = now.plus_millis(advance);
            let (user, role) = USERS[actor];
            let user = UserId::from(user);
            let core = match decode_frame(&text) {
                Err(e) => {
                    prop_assert!(documented.contains(&e.code.code()), "{text}: {e:?}");
                    continue;
                }
                Ok(frame) => match frame.command {
                    ClientCommand::Join { .. } => Some(Command::Join {
                        profile: Profile {
                            user_name: user.to_string(),
                            avatar_url: String::new(),
                        },
                        role,
                    }),
                    other => match other.to_core() {
                        Ok(core) => core,
                        Err(e) => {
                            prop_assert!(documented.contains(&e.code.code()), "{text}: {e:?}");
                            None
                        }
                    },
                },
            };
            match core {
                Some(command) => {
                    if let Err(e) = room.handle_command(now, &user, command) {
                        let w = WireError::from(&e);
                        prop_assert!(documented.contains(&w.code.code()), "{text}: {w:?}");
                    }
                }
                None => room.handle_timeout(now),
            }
            while room.poll_output().is_some() {}
            if let Err(e) = room.check_invariants() {
                return Err(TestCaseError::fail(format!("after {text}: {e}")));
            }
        }
        Ok(())
    });
}

#[test]
fn arbitrary_bytes_never_panic() {
    bytes_never_panic(256);
}

#[test]
fn json_ish_frames_are_accepted_only_when_unambiguous() {
    json_frames(256);
}

#[test]
fn valid_frames_decode_to_themselves() {
    valid_frames(256);
}

#[test]
fn random_frames_from_random_roles_keep_the_room_valid() {
    frames_through_the_core(64);
}

/// The long run of every target above: `COGUEST_FUZZ_CASES` cases each (default 100 000).
#[test]
#[ignore = "long fuzz run: cargo test --release -p coguest-proto --test fuzz -- --ignored"]
fn long_run() {
    let n = cases(100_000);
    bytes_never_panic(n);
    json_frames(n);
    valid_frames(n);
    frames_through_the_core(n / 10);
}
