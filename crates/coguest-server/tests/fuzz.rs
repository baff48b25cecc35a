//! Fuzzing a real server on stable Rust (proptest): random frames from random roles over real
//! WebSockets (every frame answered once, every refusal a documented code, the room consistent
//! and the same after a restart), and random bodies to every admin route (never a 500, every
//! error a documented `{code, message}`).
//!
//! `cargo test` runs a few dozen cases of each; the long run is ignored by default:
//! `COGUEST_FUZZ_CASES=2000 cargo test --release -p coguest-server --test fuzz -- --ignored`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/mod.rs"]
mod common;
#[path = "../../coguest-proto/tests/support/frames.rs"]
mod frames;

use coguest_proto::{ServerMsg, decode_frame};
use common::*;
use frames::{J, USERS, cases, client_text, documented_codes};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;
use std::collections::BTreeSet;

/// The room every fuzzed frame is for (`frames.rs` frames name it).
const ROOM: &str = "r";
const KEY: &str = "fuzz-key";

/// Runs `test` over `cases` inputs of `strategy` on one tokio runtime.
fn run<S: Strategy>(
    name: &str,
    cases: u32,
    strategy: S,
    test: impl Fn(&tokio::runtime::Runtime, S::Value) -> Result<(), TestCaseError>,
) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let started = std::time::Instant::now();
    if let Err(e) = TestRunner::new(config).run(&strategy, |v| test(&rt, v)) {
        panic!("{name}: {e}");
    }
    eprintln!("{name}: {cases} cases in {:.1?}", started.elapsed());
}

/// The answer the server owes a frame: an ack or error with its id, or an error without one.
async fn answer_to(c: &mut TestClient, text: &str) -> Result<(), (Option<u64>, i32)> {
    let id = match decode_frame(text) {
        Ok(f) => Some(f.id),
        Err(e) => e.id,
    };
    c.send_text(text).await;
    let answered = |m: &ServerMsg| match m {
        ServerMsg::Ack { id: got, .. } => id == Some(*got),
        ServerMsg::Error { id: got, .. } => *got == id,
        _ => false,
    };
    match c.expect("the answer", answered).await {
        ServerMsg::Error { id, code, .. } => Err((id, code)),
        _ => Ok(()),
    }
}

/// A host view read over HTTP is consistent: a user on one seat at most, `connected` the
/// seats' occupants, no seated user with a pending request.
fn consistent(state: &Value) -> Result<(), String> {
    let seated: Vec<&str> = state["seats"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["user"]["user_id"].as_str())
        .collect();
    let unique: BTreeSet<&str> = seated.iter().copied().collect();
    if unique.len() != seated.len() {
        return Err(format!("a user on two seats: {seated:?}"));
    }
    let connected: Vec<&str> = state["connected"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["user_id"].as_str())
        .collect();
    if connected != seated {
        return Err(format!(
            "connected {connected:?} is not the seats' {seated:?}"
        ));
    }
    for list in ["applicants", "invitees"] {
        for entry in state[list].as_array().unwrap() {
            let user = entry["user"]["user_id"].as_str().unwrap_or_default();
            if unique.contains(user) {
                return Err(format!("{user} is seated and in {list}"));
            }
        }
    }
    Ok(())
}

/// One case: the owner creates the room, everyone joins, then each step one member sends a
/// frame (and the clock may move). After the steps, the room is consistent and a restart
/// rebuilds the same room.
fn frames_case(
    rt: &tokio::runtime::Runtime,
    steps: Vec<(usize, String, u32)>,
    documented: &BTreeSet<i32>,
) -> Result<(), TestCaseError> {
    rt.block_on(async {
        let s = TestServer::start().await;
        let mut members = Vec::new();
        for (user, role) in USERS {
            let mut claims = s.claims(user, *role);
            claims.exp += 24 * 3600;
            let mut c = s.connect_with(&claims).await;
            c.enter(ROOM).await;
            members.push(c);
        }
        for (actor, text, advance) in &steps {
            if *advance > 0 {
                s.clock.advance_secs(*advance);
            }
            let c = &mut members[*actor];
            if let Err((id, code)) = answer_to(c, text).await {
                prop_assert!(documented.contains(&code), "{text}: {code} (id {id:?})");
            }
            c.buf.clear();
        }
        let before = s.room_json(ROOM).await;
        if let Err(e) = consistent(&before["state"]) {
            return Err(TestCaseError::fail(format!("{e}\n{before}")));
        }
        drop(members);
        let s = s.restart().await;
        let after = s.room_json(ROOM).await;
        prop_assert_eq!(
            &after["state"],
            &before["state"],
            "a restart rebuilt another room"
        );
        prop_assert_eq!(&after["settings"], &before["settings"]);
        s.stop().await;
        Ok(())
    })
}

fn frames_against_a_server(cases: u32) {
    let documented = documented_codes();
    let step = (
        0..USERS.len(),
        client_text(),
        prop_oneof![6 => Just(0u32), 1 => 1u32..40],
    );
    let steps = proptest::collection::vec(step, 1..30);
    run("frames against a server", cases, steps, |rt, steps| {
        frames_case(rt, steps, &documented)
    });
}

/// Keys of the admin API's bodies.
const BODY_KEYS: &[&str] = &[
    "room_id",
    "settings",
    "user_id",
    "seat_index",
    "policy",
    "admin",
    "seat_mode",
    "max_seat_count",
    "keep_owner_on_seat",
    "min_request_timeout_s",
    "max_request_timeout_s",
    "max_extra_info_bytes",
    "max_candidates",
    "max_members",
];

/// A body for the admin API: an object of its keys (values of any kind, nested settings), any
/// JSON value, or bytes.
fn admin_body() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        6 => proptest::sample::select(BODY_KEYS).prop_map(str::to_owned),
        1 => frames::key(),
    ];
    let value = prop_oneof![
        4 => frames::leaf(),
        1 => proptest::sample::select(&["r", "bob", "@operator", "nope", ""][..])
            .prop_map(|s| J::Str(s.to_owned())),
        1 => frames::value(),
    ];
    let object = proptest::collection::vec((key, value), 0..6).prop_map(|e| J::Obj(e).render());
    prop_oneof![
        6 => object,
        1 => frames::value().prop_map(|j| j.render()),
        1 => proptest::collection::vec(any::<u8>(), 0..40)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        1 => Just(String::new()),
    ]
}

/// A room id for a path: the room, an unknown one, invalid ones.
fn path_room() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => Just(ROOM.to_owned()),
        1 => Just("nope".to_owned()),
        1 => Just("x".repeat(49)),
        1 => Just("%FF".to_owned()),
        1 => Just("a%20b".to_owned()),
    ]
}

fn path_seat() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (-2i32..12).prop_map(|i| i.to_string()),
        1 => Just("one".to_owned()),
        1 => Just("99999999999".to_owned()),
    ]
}

/// Every documented `(method, path)` of the server's OpenAPI document.
async fn routes(s: &TestServer) -> Vec<(String, String)> {
    let (_, text) = s.http("GET", "/v1/openapi.json", None, "").await;
    let doc: Value = serde_json::from_str(&text).unwrap();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            out.push((method.to_uppercase(), path.clone()));
        }
    }
    out
}

fn bodies_to_admin_routes(cases: u32) {
    let documented = documented_codes();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (s, routes) = rt.block_on(async {
        let s = TestServer::start_with(|c| c.api_key = Some(KEY.into())).await;
        let routes = routes(&s).await;
        (s, routes)
    });
    let bob = rt.block_on(async {
        s.create_room(ROOM).await;
        s.member(ROOM, "bob", coguest_core::Role::Audience).await
    });
    let content_type = prop_oneof![
        8 => Just(Some("application/json")),
        1 => Just(Some("text/plain")),
        1 => Just(None),
    ];
    let call = (
        any::<proptest::sample::Index>(),
        path_room(),
        path_seat(),
        admin_body(),
        content_type,
        any::<bool>(),
    );
    let admin = s.admin_token();
    let started = std::time::Instant::now();
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let result = TestRunner::new(config).run(&call, |(at, room, seat, body, ctype, token)| {
        let (method, template) = &routes[at.index(routes.len())];
        let path = template.replace("{room}", &room).replace("{seat}", &seat);
        rt.block_on(async {
            // The room exists (a call may have deleted it; settings calls change it).
            let created = s
                .admin_api()
                .post("/v1/admin/rooms", serde_json::json!({"room_id": ROOM}))
                .await;
            prop_assert!([200, 201, 409].contains(&created.0), "{created:?}");
            let bearer = format!("Bearer {admin}");
            let mut headers = vec![if token || template.starts_with("/v1/rooms/") {
                ("Authorization", bearer.as_str())
            } else {
                ("X-Api-Key", KEY)
            }];
            if let Some(t) = ctype {
                headers.push(("Content-Type", t));
            }
            let (status, text) = http_with(s.addr, method, &path, &headers, &body).await;
            let what = format!("{method} {path} {body:?} ({ctype:?}): {status} {text}");
            prop_assert!(status < 500, "{what}");
            if status >= 400 {
                let err: Value = serde_json::from_str(&text)
                    .map_err(|e| TestCaseError::fail(format!("not a JSON error ({e}): {what}")))?;
                let code = err["code"].as_i64().unwrap_or_default();
                prop_assert!(documented.contains(&(code as i32)), "{what}");
                prop_assert!(
                    err["message"].as_str().is_some_and(|m| !m.is_empty()),
                    "{what}"
                );
            }
            Ok(())
        })
    });
    drop(bob);
    rt.block_on(s.stop());
    if let Err(e) = result {
        panic!("bodies to admin routes: {e}");
    }
    eprintln!(
        "bodies to admin routes: {cases} cases in {:.1?}",
        started.elapsed()
    );
}

#[test]
fn random_frames_from_random_roles_against_a_real_server() {
    frames_against_a_server(64);
}

#[test]
fn random_bodies_to_every_admin_route() {
    bodies_to_admin_routes(256);
}

/// The long run of both targets: `COGUEST_FUZZ_CASES` cases each (default 2 000).
#[test]
#[ignore = "long fuzz run: cargo test --release -p coguest-server --test fuzz -- --ignored"]
fn long_run() {
    let n = cases(2_000);
    frames_against_a_server(n);
    bodies_to_admin_routes(n * 4);
}
