//! The approval hook (`--approve-url`) against the real binary: a real approval server over
//! HTTP allowing, denying with the app's code, timing out, answering garbage and being down,
//! for each of the three kinds (apply, invite, take_seat); the room never waits for it, and
//! requests of one kind complete in arrival order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use coguest_core::Role;
use coguest_proto::{ApprovalKind, ErrorCode, SeatMode, ServerMsg};
use support::approver::{Answer, ApprovalHook, approve_with, down_url};
use support::*;

/// `coguest serve` asking `urls`, with `extra` flags.
async fn server(urls: &[&str], extra: &[&str]) -> (tempfile::TempDir, Served) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = process::serve(dir.path());
    approve_with(&mut cmd, urls, extra);
    let s = Served::spawn(cmd).await;
    (dir, s)
}

/// A room for one kind: its owner and a guest. `take_seat` rooms are free-to-take.
async fn room_for(s: &Served, kind: ApprovalKind, room: &str) -> (TestClient, TestClient) {
    let mut host = s.member(room, "host", Role::Owner).await;
    let guest = s.member(room, "guest", Role::Audience).await;
    if kind == ApprovalKind::TakeSeat {
        host.call(room, settings(Some(SeatMode::FreeToTake), None))
            .await
            .unwrap();
    }
    (host, guest)
}

/// Sends `kind`'s command (the guest applies or takes seat 2; the host invites the guest to
/// seat 1): its sender and the raw answer.
async fn ask<'a>(
    kind: ApprovalKind,
    room: &str,
    host: &'a mut TestClient,
    guest: &'a mut TestClient,
) -> ServerMsg {
    let (who, cmd) = match kind {
        ApprovalKind::Apply => (guest, apply_with_info(-1, 30, "hello".into())),
        ApprovalKind::Invite => (host, invite("guest", 1, 30)),
        ApprovalKind::TakeSeat => (guest, take(2)),
    };
    let id = who.send(Some(room), cmd).await;
    who.expect("the answer", |m| answers_to(m, id)).await
}

fn answers_to(m: &ServerMsg, id: u64) -> bool {
    match m {
        ServerMsg::Ack { id: i, .. } | ServerMsg::Error { id: Some(i), .. } => *i == id,
        _ => false,
    }
}

fn is_ack(m: &ServerMsg) -> bool {
    matches!(m, ServerMsg::Ack { .. })
}

/// The error's `(code, app_code, reason)`.
fn refusal(m: &ServerMsg) -> (Option<ErrorCode>, Option<i32>, Option<String>) {
    match m {
        ServerMsg::Error {
            code,
            app_code,
            reason,
            ..
        } => (ErrorCode::from_code(*code), *app_code, reason.clone()),
        other => panic!("not refused: {other:?}"),
    }
}

/// Whether the request of `kind` reached the other side: hosts saw the application, the
/// guest the invitation, the seat list the guest.
async fn went_through(kind: ApprovalKind, s: &Served, room: &str) -> bool {
    let state = s.room_json(room).await["state"].clone();
    let has = |field: &str| {
        state[field].as_array().unwrap().iter().any(|e| {
            // Seated users carry their id; requests their user.
            e["user_id"] == "guest" || e["user"]["user_id"] == "guest"
        })
    };
    match kind {
        ApprovalKind::Apply => has("applicants"),
        ApprovalKind::Invite => has("invitees"),
        ApprovalKind::TakeSeat => has("connected"),
    }
}

const KINDS: [ApprovalKind; 3] = ApprovalKind::ALL;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_requests_go_ahead_and_the_hook_hears_who_and_what() {
    let hook = ApprovalHook::start(Answer::Allow).await;
    let (_dir, s) = server(&[&hook.url], &[]).await;
    for kind in KINDS {
        let room = format!("allow-{}", kind.as_str());
        let (mut host, mut guest) = room_for(&s, kind, &room).await;
        let answer = ask(kind, &room, &mut host, &mut guest).await;
        assert!(is_ack(&answer), "{kind:?}: {answer:?}");
        assert!(went_through(kind, &s, &room).await, "{kind:?}");
        let req = hook.requests().pop().unwrap();
        assert_eq!((req.kind, req.room.as_str()), (kind, room.as_str()));
        assert_eq!(req.user.user_id, "guest");
        assert_eq!(req.user.user_name, "guest name");
        let (actor, seat, extra) = match kind {
            ApprovalKind::Apply => ("guest", -1, Some("hello")),
            ApprovalKind::Invite => ("host", 1, None),
            ApprovalKind::TakeSeat => ("guest", 2, None),
        };
        assert_eq!(req.actor.user_id, actor);
        assert_eq!(req.seat_index, seat);
        assert_eq!(req.extra_info.as_deref(), extra);
        if kind == ApprovalKind::TakeSeat {
            // A command the room would refuse anyway is refused at once, unasked.
            let asked = hook.requests().len();
            assert_eq!(
                guest.refused(&room, take(3)).await,
                ErrorCode::AlreadyInSeat
            );
            assert_eq!(
                hook.requests().len(),
                asked,
                "asked about a refused command"
            );
        }
    }
    assert_eq!(hook.requests().len(), 3);
    // Ids are unique per question.
    let mut ids: Vec<String> = hook.requests().into_iter().map(|r| r.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 3);

    let metric = |kind: &str| {
        format!("coguest_approval_decisions_total{{kind=\"{kind}\",decision=\"allow\"}}")
    };
    for kind in KINDS {
        assert_eq!(s.metric(&metric(kind.as_str())).await, 1.0, "{kind:?}");
    }
    assert!(
        s.metric("coguest_approval_latency_seconds_count{kind=\"apply\"}")
            .await
            >= 1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denial_carries_the_apps_code_and_reason_and_changes_nothing() {
    let hook = ApprovalHook::start(Answer::Deny {
        code: 4031,
        reason: "guest is muted".into(),
    })
    .await;
    let (_dir, s) = server(&[&hook.url], &[]).await;
    for kind in KINDS {
        let room = format!("deny-{}", kind.as_str());
        let (mut host, mut guest) = room_for(&s, kind, &room).await;
        let before = s.room_json(&room).await["state"].clone();
        let answer = ask(kind, &room, &mut host, &mut guest).await;
        assert_eq!(
            refusal(&answer),
            (
                Some(ErrorCode::ApprovalDenied),
                Some(4031),
                Some("guest is muted".to_owned())
            ),
            "{kind:?}"
        );
        // Nothing changed, and nobody heard of the request.
        assert_eq!(s.room_json(&room).await["state"], before, "{kind:?}");
        assert_eq!(host.count_events(application_received).await, 0);
        assert_eq!(guest.count_events(invitation_received).await, 0);
    }
    // A retry with the same id gets the same answer without asking again.
    let room = "deny-apply";
    let mut guest = s.member(room, "guest2", Role::Audience).await;
    let id = guest.send(Some(room), apply(-1, 30)).await;
    let first = guest.expect("denial", |m| answers_to(m, id)).await;
    let asked = hook.requests().len();
    guest.send_with_id(id, Some(room), apply(-1, 30)).await;
    let again = guest.expect("denial again", |m| answers_to(m, id)).await;
    assert_eq!(refusal(&first), refusal(&again));
    assert_eq!(hook.requests().len(), asked);
    let metric = "coguest_approval_decisions_total{kind=\"invite\",decision=\"deny\"}";
    assert_eq!(s.metric(metric).await, 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_that_times_out_or_answers_garbage_refuses_as_unavailable() {
    let hook = ApprovalHook::start(Answer::Hang).await;
    let (_dir, s) = server(&[&hook.url], &["--approve-timeout-ms", "300"]).await;
    for (answer, why) in [(Answer::Hang, "timeout"), (Answer::Garbage, "invalid")] {
        hook.set(answer);
        for kind in KINDS {
            let room = format!("{why}-{}", kind.as_str());
            let (mut host, mut guest) = room_for(&s, kind, &room).await;
            let before = s.room_json(&room).await["state"].clone();
            let answer = ask(kind, &room, &mut host, &mut guest).await;
            assert_eq!(
                refusal(&answer),
                (Some(ErrorCode::ApprovalUnavailable), None, None),
                "{why} {kind:?}"
            );
            assert_eq!(s.room_json(&room).await["state"], before);
            let metric = format!(
                "coguest_approval_errors_total{{kind=\"{}\",reason=\"{why}\"}}",
                kind.as_str()
            );
            assert_eq!(s.metric(&metric).await, 1.0, "{metric}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hook_that_is_down_refuses_or_lets_through_as_configured() {
    let down = down_url().await;
    let (_d1, deny) = server(&[&down], &[]).await;
    let (_d2, allow) = server(&[&down], &["--approve-on-error", "allow"]).await;
    for kind in KINDS {
        let room = format!("down-{}", kind.as_str());
        let (mut host, mut guest) = room_for(&deny, kind, &room).await;
        let answer = ask(kind, &room, &mut host, &mut guest).await;
        assert_eq!(
            refusal(&answer).0,
            Some(ErrorCode::ApprovalUnavailable),
            "{kind:?}"
        );
        assert!(!went_through(kind, &deny, &room).await);

        let (mut host, mut guest) = room_for(&allow, kind, &room).await;
        let answer = ask(kind, &room, &mut host, &mut guest).await;
        assert!(is_ack(&answer), "{kind:?}: {answer:?}");
        assert!(went_through(kind, &allow, &room).await, "{kind:?}");
        let metric = format!(
            "coguest_approval_errors_total{{kind=\"{}\",reason=\"unreachable\"}}",
            kind.as_str()
        );
        assert_eq!(allow.metric(&metric).await, 1.0, "{metric}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_the_hook_blocks_nobody_and_keeps_arrival_order() {
    let hook = ApprovalHook::start(Answer::Hold).await;
    // Only applications are asked about here.
    let url = format!("apply={}", hook.url);
    let (_dir, s) = server(&[&url], &["--approve-timeout-ms", "10000"]).await;
    let room = "hold";
    let mut host = s.member(room, "host", Role::Owner).await;
    let mut a = s.member(room, "a", Role::Audience).await;
    let mut b = s.member(room, "b", Role::Audience).await;
    let mut c = s.member(room, "c", Role::Audience).await;

    let id_a = a.send(Some(room), apply(-1, 30)).await;
    hook.wait_held("a").await;
    let id_b = b.send(Some(room), apply(-1, 30)).await;
    hook.wait_held("b").await;

    // While both wait: other members' commands go on, invitations are not asked about.
    host.call(room, lock(3)).await.unwrap();
    host.call(room, invite("c", 1, 30)).await.unwrap();
    c.event("invitation", invitation_received).await;
    c.call(room, accept_inv("host")).await.unwrap();
    assert_eq!(hook.requests().len(), 2);

    // b's verdict comes first, but b's application waits for a's.
    hook.release("b");
    b.barrier().await;
    host.barrier().await;
    assert!(
        !b.buf.iter().any(|m| answers_to(m, id_b)),
        "b went ahead of a"
    );
    assert!(!host.buf.iter().any(|m| matches!(
        m,
        ServerMsg::Event { event, .. } if application_received(event)
    )));
    hook.release("a");
    assert!(a.answer(id_a).await.is_ok());
    assert!(b.answer(id_b).await.is_ok());
    let first = host.event("a's application", application_received).await;
    let second = host.event("b's application", application_received).await;
    let who = |e: &coguest_proto::Event| match e {
        coguest_proto::Event::GuestApplicationReceived { guest_user, .. } => {
            guest_user.user_id.clone()
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (who(&first), who(&second)),
        ("a".to_owned(), "b".to_owned())
    );

    // A command whose connection closes while it waits is dropped: nothing is stored.
    let mut d = s.member(room, "d", Role::Audience).await;
    d.send(Some(room), apply(-1, 30)).await;
    hook.wait_held("d").await;
    d.close().await;
    hook.release("d");
    // The verdict reached the room (it is counted just before it is sent there).
    let decided = "coguest_approval_decisions_total{kind=\"apply\",decision=\"allow\"}";
    let deadline = std::time::Instant::now() + WAIT;
    while s.metric(decided).await < 3.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "d's verdict never came"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    host.room_barrier(room).await;
    let state = s.room_json(room).await["state"].clone();
    let applicants: Vec<&str> = state["applicants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["user"]["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(applicants, ["a", "b"]);
}
