//! Observers: service admins (an `adm` token, or the API key) watch a room's host view, its
//! event log and the rooms list live, without being members; everyone else is refused, and
//! an admin token limited to a room observes that room only.

use crate::common::*;
use coguest_core::Role;
use coguest_proto::{Change, ClientCommand, ErrorCode, RoomSummary, ServerMsg};

const ROOM: &str = "watched";
const KEY: &str = "observer-test-key";

fn observe(since: Option<u64>) -> ClientCommand {
    ClientCommand::Observe { since }
}

/// A service admin's connection (an `adm` token), optionally limited to `room`.
async fn admin(s: &TestServer, room: Option<&str>) -> TestClient {
    let mut claims = s.claims("ops", Role::Audience);
    claims.adm = true;
    claims.room = room.map(str::to_owned);
    s.connect_with(&claims).await
}

/// Waits for the log line of type `kind`; its actor.
async fn log_line(c: &mut TestClient, kind: &str) -> Option<String> {
    let what = format!("log {kind}");
    match c
        .expect(
            &what,
            |m| matches!(m, ServerMsg::Log { entry, .. } if entry.kind == kind),
        )
        .await
    {
        ServerMsg::Log { entry, .. } => entry.actor,
        _ => unreachable!(),
    }
}

/// Waits for a `rooms` message with `room` in it; that summary.
async fn summary_of(
    c: &mut TestClient,
    room: &str,
    pred: impl Fn(&RoomSummary) -> bool,
) -> RoomSummary {
    let found = |m: &ServerMsg| match m {
        ServerMsg::Rooms { rooms, .. } => rooms.iter().find(|r| r.room == room && pred(r)).cloned(),
        _ => None,
    };
    let m = c
        .expect(&format!("a summary of {room}"), |m| found(m).is_some())
        .await;
    found(&m).unwrap()
}

#[tokio::test]
async fn members_and_tokens_without_adm_cannot_observe() {
    let s = TestServer::start().await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut bob = s.member(ROOM, "bob", Role::Audience).await;
    for c in [&mut owner, &mut bob] {
        assert_eq!(
            c.refused(ROOM, observe(None)).await,
            ErrorCode::NeedAdminPermission
        );
        let id = c.send(None, ClientCommand::ObserveRooms).await;
        let refused = c.answer(id).await.unwrap_err();
        assert_eq!(refused.code, code(ErrorCode::NeedAdminPermission));
    }
    // Nothing was subscribed: a change reaches them as members only.
    bob.call(ROOM, apply(-1, 30)).await.unwrap();
    bob.barrier().await;
    assert!(
        !bob.buf.iter().any(|m| matches!(m, ServerMsg::Log { .. })),
        "no log lines for members: {:?}",
        bob.buf
    );
}

#[tokio::test]
async fn an_observer_sees_the_host_view_and_every_transition_without_being_a_member() {
    let s = TestServer::start().await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut bob = s.member(ROOM, "bob", Role::Audience).await;
    bob.call(ROOM, apply(-1, 30)).await.unwrap();

    let mut ops = admin(&s, None).await;
    ops.call(ROOM, observe(None)).await.unwrap();
    let state = ops.take_snapshot(ROOM);
    // The host view: bob's application with its id, seat, deadline and when it was made.
    assert_eq!(state.applicants.len(), 1);
    let app = &state.applicants[0];
    assert_eq!(app.user.user_id, "bob");
    assert_eq!(app.requested_ms, Some(T0));
    assert_eq!(app.deadline_ms, T0 + 30_000);
    assert_eq!(state.connected.len(), 1, "the owner on seat 0");
    assert!(!state.seats.is_empty());

    // Not a member: not counted, not a candidate, and the hosts are told nothing about it.
    let room = s.room_json(ROOM).await;
    assert_eq!(room["member_count"], 2, "{room}");
    let candidates = owner.snapshot(ROOM).await.candidates;
    assert!(
        candidates.iter().all(|c| c.user_id != "ops"),
        "{candidates:?}"
    );

    // Live: carol joins and applies, the owner accepts bob; the observer gets the host's
    // changes and one log line per transition, with who did it.
    s.clock.advance_secs(2);
    let mut carol = s.member(ROOM, "carol", Role::Audience).await;
    assert_eq!(
        log_line(&mut ops, "member_joined").await.as_deref(),
        Some("carol")
    );
    carol.call(ROOM, apply(-1, 60)).await.unwrap();
    let added = ops
        .expect("carol's applicant_added", |m| {
            matches!(m, ServerMsg::Change { change: Change::ApplicantAdded { applicant }, .. }
                if applicant.user.user_id == "carol")
        })
        .await;
    let ServerMsg::Change {
        change: Change::ApplicantAdded { applicant },
        ..
    } = added
    else {
        unreachable!()
    };
    assert_eq!(applicant.requested_ms, Some(T0 + 2_000));
    assert_eq!(
        log_line(&mut ops, "application_created").await.as_deref(),
        Some("carol")
    );
    owner.call(ROOM, accept_app("bob")).await.unwrap();
    ops.expect_seats(&[(0, "owner"), (1, "bob")]).await;
    assert_eq!(
        log_line(&mut ops, "application_accepted").await.as_deref(),
        Some("owner")
    );
    assert_eq!(log_line(&mut ops, "seated").await.as_deref(), Some("owner"));
    // The admin API acts as the operator.
    let (status, _) = s
        .admin_api()
        .post(
            &format!("/v1/admin/rooms/{ROOM}/seats/kick"),
            serde_json::json!({"user_id": "bob"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        log_line(&mut ops, "kicked").await.as_deref(),
        Some("@operator")
    );
    // A deadline has no actor.
    s.clock.advance_secs(61);
    assert_eq!(log_line(&mut ops, "application_timed_out").await, None);

    // An observer sends no room commands, and cannot join the room it observes.
    assert_eq!(
        ops.refused(ROOM, ClientCommand::Join { since: None }).await,
        ErrorCode::RequestNoPermission
    );
    assert_eq!(
        ops.refused(ROOM, apply(-1, 30)).await,
        ErrorCode::NotEnteredRoom
    );
    // A member cannot observe the room it joined on the same connection.
    let mut admin_member = {
        let mut claims = s.claims("boss", Role::Admin);
        claims.adm = true;
        s.connect_with(&claims).await
    };
    admin_member.enter(ROOM).await;
    assert_eq!(
        admin_member.refused(ROOM, observe(None)).await,
        ErrorCode::RequestNoPermission
    );

    // Closing the room tells the observer.
    let (status, _) = s
        .admin_api()
        .delete(&format!("/v1/admin/rooms/{ROOM}"))
        .await;
    assert_eq!(status, 204);
    ops.expect("room_closed", |m| matches!(m, ServerMsg::RoomClosed { .. }))
        .await;
    // An unknown room cannot be observed.
    assert_eq!(
        ops.refused("nowhere", observe(None)).await,
        ErrorCode::RoomIdNotExist
    );
}

#[tokio::test]
async fn a_new_observer_gets_the_log_kept_since_the_room_was_first_observed_and_resumes_by_version()
{
    let s = TestServer::start().await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut first = admin(&s, None).await;
    first.call(ROOM, observe(None)).await.unwrap();
    let version = first.take_snapshot(ROOM).version;
    let _bob = s.member(ROOM, "bob", Role::Audience).await;
    assert_eq!(
        log_line(&mut first, "member_joined").await.as_deref(),
        Some("bob")
    );
    first.close().await;

    // While nobody watches, the room keeps logging (it was observed here once).
    owner.call(ROOM, lock(3)).await.unwrap();

    // Resuming from the version seen: the missed changes and log lines, then `resumed`.
    let mut again = admin(&s, None).await;
    again.call(ROOM, observe(Some(version + 1))).await.unwrap();
    assert!(
        again
            .buf
            .iter()
            .any(|m| matches!(m, ServerMsg::Resumed { .. })),
        "{:?}",
        again.buf
    );
    assert!(
        !again
            .buf
            .iter()
            .any(|m| matches!(m, ServerMsg::Snapshot { .. }))
    );
    assert_eq!(
        log_line(&mut again, "seat_locked").await.as_deref(),
        Some("owner")
    );
    assert!(
        !again
            .buf
            .iter()
            .any(|m| matches!(m, ServerMsg::Log { entry, .. } if entry.kind == "member_joined")),
        "nothing before `since` is sent again"
    );

    // A fresh observer gets the snapshot and the whole log kept so far.
    let mut fresh = admin(&s, None).await;
    fresh.call(ROOM, observe(None)).await.unwrap();
    let kinds: Vec<String> = fresh
        .buf
        .iter()
        .filter_map(|m| match m {
            ServerMsg::Log { entry, .. } => Some(entry.kind.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, ["member_joined", "seat_locked"]);
    fresh.call(ROOM, ClientCommand::Unobserve).await.unwrap();
    assert_eq!(
        fresh.refused(ROOM, ClientCommand::Unobserve).await,
        ErrorCode::NotEnteredRoom
    );
}

#[tokio::test]
async fn an_admin_token_limited_to_a_room_observes_that_room_only() {
    let s = TestServer::start().await;
    let _a = s.member("room_a", "owner", Role::Owner).await;
    let _b = s.member("room_b", "owner2", Role::Owner).await;
    let mut ops = admin(&s, Some("room_a")).await;
    ops.call("room_a", observe(None)).await.unwrap();
    let id = ops.send(None, ClientCommand::ObserveRooms).await;
    let refused = ops.answer(id).await.unwrap_err();
    assert_eq!(refused.code, code(ErrorCode::WrongRoom));
    assert_eq!(
        ops.refused("room_b", observe(None)).await,
        ErrorCode::WrongRoom
    );
    assert_eq!(ops.closed().await, Some(coguest_proto::CLOSE_UNAUTHORIZED));
}

#[tokio::test]
async fn the_api_key_opens_a_connection_that_may_only_observe() {
    let s = TestServer::start_with(|c| c.api_key = Some(KEY.into())).await;
    let _owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut console = TestClient::connect(&s.ws_url(Some(KEY)), "@api-key").await;
    match console.next().await {
        ServerMsg::Welcome { user_id, .. } => assert_eq!(user_id, "@api-key"),
        other => panic!("expected welcome, got {other:?}"),
    }
    console.call(ROOM, observe(None)).await.unwrap();
    console.take_snapshot(ROOM);
    assert_eq!(
        console
            .refused("elsewhere", ClientCommand::Join { since: None })
            .await,
        ErrorCode::RequestNoPermission
    );
    let id = console.send(None, ClientCommand::ObserveRooms).await;
    console.answer(id).await.unwrap();
    // A wrong key is a refused token.
    let mut wrong = TestClient::connect(&s.ws_url(Some("not-the-key")), "x").await;
    assert!(matches!(wrong.next().await, ServerMsg::Error { .. }));
    assert_eq!(
        wrong.closed().await,
        Some(coguest_proto::CLOSE_UNAUTHORIZED)
    );
}

#[tokio::test]
async fn the_rooms_list_is_pushed_as_rooms_change() {
    let s = TestServer::start().await;
    let mut owner = s.member("first", "owner", Role::Owner).await;
    let mut ops = admin(&s, None).await;
    let id = ops.send(None, ClientCommand::ObserveRooms).await;
    ops.answer(id).await.unwrap();
    let full = ops
        .expect("the full list", |m| {
            matches!(m, ServerMsg::Rooms { full: true, .. })
        })
        .await;
    let ServerMsg::Rooms { rooms, .. } = full else {
        unreachable!()
    };
    assert_eq!(rooms.len(), 1);
    assert_eq!((rooms[0].room.as_str(), rooms[0].members), ("first", 1));
    assert_eq!(rooms[0].seated, 1);

    // A change in a room, and a new room, are pushed without asking.
    let mut bob = s.member("first", "bob", Role::Audience).await;
    bob.call("first", apply(-1, 30)).await.unwrap();
    let first = summary_of(&mut ops, "first", |r| r.applicants == 1).await;
    assert_eq!(first.members, 2);
    assert_eq!(first.last_change_ms, Some(T0));
    owner.call("first", lock(2)).await.unwrap();
    let _second = s.member("second", "owner", Role::Owner).await;
    summary_of(&mut ops, "second", |r| r.members == 1).await;

    // A closed room is announced.
    let (status, _) = s.admin_api().delete("/v1/admin/rooms/second").await;
    assert_eq!(status, 204);
    ops.expect(
        "second closed",
        |m| matches!(m, ServerMsg::Rooms { closed, .. } if closed.iter().any(|r| r == "second")),
    )
    .await;
    let id = ops.send(None, ClientCommand::UnobserveRooms).await;
    ops.answer(id).await.unwrap();
}
