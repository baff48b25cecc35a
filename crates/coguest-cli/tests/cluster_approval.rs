//! The approval hook in cluster mode: three real `coguest serve --redis` nodes asking a real
//! approval server over HTTP. The room's owner asks, once per command, whichever node the
//! member is on; its answer (allowed or denied, with the app's code) reaches the member's
//! node; and a command pending a decision when the owner is killed is decided by the next
//! owner, never left unanswered.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use coguest_core::Role;
use coguest_proto::{ApprovalKind, ErrorCode, SeatMode, ServerMsg};
use std::time::{Duration, Instant};
use support::approver::{APPROVE_SECRET, Answer, ApprovalHook};
use support::*;

/// A cluster of three nodes asking `hook` about every kind.
async fn cluster(name: &str, hook: &ApprovalHook) -> Cluster {
    let flags = [
        "--approve-url",
        &hook.url,
        "--approve-secret",
        APPROVE_SECRET,
        "--approve-timeout-ms",
        "10000",
    ];
    Cluster::start_with(name, 3, &flags).await
}

fn answers_to(m: &ServerMsg, id: u64) -> bool {
    match m {
        ServerMsg::Ack { id: i, .. } | ServerMsg::Error { id: Some(i), .. } => *i == id,
        _ => false,
    }
}

/// Sends `kind`'s command: the guest applies or takes seat 2, the owner invites the guest to
/// seat 1. The raw answer.
async fn ask(
    kind: ApprovalKind,
    room: &str,
    owner: &mut TestClient,
    guest: &mut TestClient,
) -> ServerMsg {
    let (who, cmd) = match kind {
        ApprovalKind::Apply => (guest, apply(-1, 60)),
        ApprovalKind::Invite => (owner, invite(&guest.user.clone(), 1, 60)),
        ApprovalKind::TakeSeat => (guest, take(2)),
    };
    let id = who.send(Some(room), cmd).await;
    who.expect("the answer", |m| answers_to(m, id)).await
}

/// The owner of `room` on node 0 (which so owns it) and a guest on node 1; `take_seat` rooms
/// are free-to-take.
async fn room_for(c: &Cluster, kind: ApprovalKind, room: &str) -> (TestClient, TestClient) {
    let mut owner = c.node(0).member(room, "owner", Role::Owner).await;
    let guest = c.node(1).member(room, "guest", Role::Audience).await;
    if kind == ApprovalKind::TakeSeat {
        owner
            .call(room, settings(Some(SeatMode::FreeToTake), None))
            .await
            .unwrap();
    }
    (owner, guest)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_asks_once_and_the_answer_reaches_every_node() {
    let hook = ApprovalHook::start(Answer::Allow).await;
    let c = cluster("approve", &hook).await;
    for kind in ApprovalKind::ALL {
        let room = format!("r-allow-{}", kind.as_str());
        let (mut owner, mut guest) = room_for(&c, kind, &room).await;
        let answer = ask(kind, &room, &mut owner, &mut guest).await;
        assert!(
            matches!(answer, ServerMsg::Ack { .. }),
            "{kind:?}: {answer:?}"
        );
        let asked: Vec<_> = hook
            .requests()
            .into_iter()
            .filter(|r| r.room == room)
            .collect();
        assert_eq!(asked.len(), 1, "{kind:?}: asked {asked:?}");
        assert_eq!(asked[0].kind, kind);
        // Every node's copy has the request.
        let state = c.converge(&[0, 1, 2], &room).await;
        let field = match kind {
            ApprovalKind::Apply => "applicants",
            ApprovalKind::Invite => "invitees",
            ApprovalKind::TakeSeat => "connected",
        };
        assert_eq!(
            state[field].as_array().unwrap().len(),
            1 + usize::from(kind == ApprovalKind::TakeSeat)
        );
    }

    hook.set(Answer::Deny {
        code: 7,
        reason: "not in this room".into(),
    });
    for kind in ApprovalKind::ALL {
        let room = format!("r-deny-{}", kind.as_str());
        let (mut owner, mut guest) = room_for(&c, kind, &room).await;
        let before = c.converge(&[0, 1, 2], &room).await;
        let answer = ask(kind, &room, &mut owner, &mut guest).await;
        let ServerMsg::Error {
            code,
            app_code,
            reason,
            ..
        } = answer
        else {
            panic!("{kind:?}: not denied: {answer:?}");
        };
        assert_eq!(ErrorCode::from_code(code), Some(ErrorCode::ApprovalDenied));
        assert_eq!(
            (app_code, reason.as_deref()),
            (Some(7), Some("not in this room"))
        );
        assert_eq!(c.converge(&[0, 1, 2], &room).await, before, "{kind:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_pending_when_the_owner_dies_is_taken_by_the_next_owner() {
    let hook = ApprovalHook::start(Answer::Hold).await;
    let mut c = cluster("approve-kill", &hook).await;
    let room = "r-approve-kill";
    let owner = c.node(0).member(room, "owner", Role::Owner).await;
    let mut guest = c.node(1).member(room, "guest", Role::Audience).await;
    let mut other = c.node(2).member(room, "other", Role::Audience).await;

    let id = guest.send(Some(room), apply(-1, 60)).await;
    hook.wait_held("guest").await;
    assert_eq!(hook.requests().len(), 1);
    // The owner node dies while its hook call is in flight; the app answers from now on.
    hook.set(Answer::Allow);
    c.kill(0).await;
    let killed = Instant::now();

    // The guest's node sends the command to the next owner, which asks again.
    let answer = guest.expect("the answer", |m| answers_to(m, id)).await;
    let waited = killed.elapsed();
    eprintln!("owner killed mid-decision: answered after {waited:?}");
    assert!(matches!(answer, ServerMsg::Ack { .. }), "{answer:?}");
    assert!(waited < Duration::from_secs(5), "took {waited:?}");
    let asked = hook.requests();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert_ne!(
        asked[0].id, asked[1].id,
        "a question asked again has a new id"
    );
    assert_eq!(asked[1].user.user_id, "guest");

    // Applied once; every surviving node agrees; the room goes on.
    let state = c.converge(&[1, 2], room).await;
    let applicants = state["applicants"].as_array().unwrap();
    assert_eq!(applicants.len(), 1, "{state}");
    assert_eq!(applicants[0]["user"]["user_id"], "guest");
    assert!(other.call(room, apply(-1, 60)).await.is_ok());
    drop(owner);
}
