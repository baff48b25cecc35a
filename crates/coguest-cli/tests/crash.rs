//! Crash test: the real `coguest` binary, `kill -9`, restart on the same data directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use coguest_core::Role;
use coguest_proto::ServerMsg;
use support::*;

const ROOM: &str = "crash";

#[tokio::test]
async fn kill_9_then_restart_keeps_state_deadlines_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut p = Served::start(&data).await;

    let mut owner = p.member(ROOM, "owner", Role::Owner).await;
    let mut a = p.member(ROOM, "a", Role::Audience).await;
    let mut b = p.member(ROOM, "b", Role::Audience).await;
    let _c = p.member(ROOM, "c", Role::Audience).await;
    owner.call(ROOM, invite("a", 3, 600)).await.unwrap();
    a.call(ROOM, accept_inv("owner")).await.unwrap();
    owner.call(ROOM, invite("c", -1, 600)).await.unwrap();
    // The shortest timeout allowed: it passes around the crash.
    let b_ack = b.call(ROOM, apply(-1, 1)).await.unwrap();
    let before = p.room_json(ROOM).await;
    let owner_version = before["state"]["version"].as_u64().unwrap();

    // kill -9: no shutdown path runs.
    p.kill().await;
    let p = Served::start(&data).await;

    let after = p.room_json(ROOM).await;
    assert_eq!(after["settings"], before["settings"]);
    assert_eq!(after["state"]["connected"], before["state"]["connected"]);
    assert_eq!(
        after["state"]["invitees"], before["state"]["invitees"],
        "pending invitation and its deadline intact"
    );
    assert_eq!(after["member_count"], 4);
    assert_eq!(seated(&after["state"]), pairs(&[(0, "owner"), (3, "a")]));

    // b's application timed out (while down or just after restart); b hears it on resume.
    let mut b = p.connect("b", Role::Audience).await;
    b.join(ROOM, b_ack.version).await.unwrap();
    b.event("application timed out", application_timed_out)
        .await;

    // The owner resumes from its version and can act on the restored invitation state.
    let mut owner = p.connect("owner", Role::Owner).await;
    owner.join(ROOM, Some(owner_version)).await.unwrap();
    owner.expect("resumed", resumed).await;
    assert!(
        !owner
            .buf
            .iter()
            .any(|m| matches!(m, ServerMsg::Snapshot { .. })),
        "resumed by version, not by snapshot"
    );
    let mut c = p.connect("c", Role::Audience).await;
    c.join(ROOM, None).await.unwrap();
    c.call(ROOM, accept_inv("owner")).await.unwrap();
    owner.event("c accepted", invitation_accepted).await;
}
