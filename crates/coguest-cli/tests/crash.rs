//! Crash test: the real `coguest` binary, `kill -9`, restart on the same data directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod binary;
#[path = "../../coguest-server/tests/common/mod.rs"]
mod common;

use coguest_core::{Role, Timestamp};
use coguest_proto::{Event, NoResponseReason, ServerMsg};
use coguest_server::auth::{Auth, Claims};
use common::*;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::process::Child;

const SECRET: &str = "crash-test-secret";
const ROOM: &str = "crash";

struct Proc {
    child: Child,
    addr: SocketAddr,
}

async fn spawn(data: &Path) -> Proc {
    let (child, addr) = binary::start(binary::serve(data, SECRET), WAIT).await;
    Proc { child, addr }
}

fn now() -> Timestamp {
    Timestamp::from_millis(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64,
    )
}

fn token(user: &str, role: Role, admin: bool) -> String {
    let mut c = Claims::new(user, role, now(), 3600);
    c.adm = admin;
    Auth::new(SECRET.as_bytes()).mint(&c).unwrap()
}

async fn connect(addr: SocketAddr, user: &str, role: Role) -> TestClient {
    let url = format!("ws://{addr}/v1/ws?token={}", token(user, role, false));
    let mut c = TestClient::connect(&url, user).await;
    assert!(matches!(c.next().await, ServerMsg::Welcome { .. }));
    c
}

async fn member(addr: SocketAddr, user: &str, role: Role) -> TestClient {
    let mut c = connect(addr, user, role).await;
    c.join(ROOM, None).await.unwrap();
    c.take_snapshot(ROOM);
    c
}

async fn room(addr: SocketAddr) -> serde_json::Value {
    let (status, body) = http(
        addr,
        "GET",
        &format!("/v1/rooms/{ROOM}"),
        Some(&token("ops", Role::Audience, true)),
        "",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

#[tokio::test]
async fn kill_9_then_restart_keeps_state_deadlines_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut p = spawn(&data).await;

    let mut owner = member(p.addr, "owner", Role::Owner).await;
    let mut a = member(p.addr, "a", Role::Audience).await;
    let mut b = member(p.addr, "b", Role::Audience).await;
    let _c = member(p.addr, "c", Role::Audience).await;
    owner.call(ROOM, invite("a", 3, 600)).await.unwrap();
    a.call(ROOM, accept_inv("owner")).await.unwrap();
    owner.call(ROOM, invite("c", -1, 600)).await.unwrap();
    // The shortest timeout allowed: it passes around the crash.
    let b_ack = b.call(ROOM, apply(-1, 1)).await.unwrap();
    let before = room(p.addr).await;
    let owner_version = before["state"]["version"].as_u64().unwrap();

    // kill -9: no shutdown path runs.
    p.child.kill().await.unwrap();
    let p = spawn(&data).await;

    let after = room(p.addr).await;
    assert_eq!(after["settings"], before["settings"]);
    assert_eq!(after["state"]["connected"], before["state"]["connected"]);
    assert_eq!(
        after["state"]["invitees"], before["state"]["invitees"],
        "pending invitation and its deadline intact"
    );
    assert_eq!(after["member_count"], 4);
    let seats: Vec<(u64, String)> = after["state"]["connected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["seat_index"].as_u64().unwrap(),
                s["user_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(seats, vec![(0, "owner".into()), (3, "a".into())]);

    // b's application timed out (while down or just after restart); b hears it on resume.
    let mut b = connect(p.addr, "b", Role::Audience).await;
    b.join(ROOM, b_ack.version).await.unwrap();
    b.event("application timed out", |e| {
        matches!(
            e,
            Event::GuestApplicationNoResponse {
                reason: NoResponseReason::Timeout
            }
        )
    })
    .await;

    // The owner resumes from its version and can act on the restored invitation state.
    let mut owner = connect(p.addr, "owner", Role::Owner).await;
    owner.join(ROOM, Some(owner_version)).await.unwrap();
    owner
        .expect("resumed", |m| matches!(m, ServerMsg::Resumed { .. }))
        .await;
    assert!(
        !owner
            .buf
            .iter()
            .any(|m| matches!(m, ServerMsg::Snapshot { .. })),
        "resumed by version, not by snapshot"
    );
    let mut c = connect(p.addr, "c", Role::Audience).await;
    c.join(ROOM, None).await.unwrap();
    c.call(ROOM, accept_inv("owner")).await.unwrap();
    owner
        .event("c accepted", |e| {
            matches!(
                e,
                Event::HostInvitationResponded {
                    is_accept: true,
                    ..
                }
            )
        })
        .await;
}
