//! Room lifecycle: who creates a room (an owner's join or the admin API; others' joins of an
//! unknown room change nothing), idle rooms leaving memory and coming back as they were,
//! pending deadlines across a restart, and unused rooms expiring with a webhook. Time is the
//! manual clock's; memory is the `coguest_rooms` gauge (running actors), rows the admin list.

use crate::common::*;
use coguest_core::Role;
use coguest_proto::{ClientCommand, ErrorCode};
use coguest_server::RoomCreation;
use serde_json::{Value, json};
use std::time::Duration;

const DAY: u32 = 24 * 3600;

/// Waits until `coguest_rooms` (rooms with a running actor) is `n`.
async fn rooms_loaded(s: &TestServer, n: usize) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let now = s.metric("coguest_rooms").await;
        if now == n as f64 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "coguest_rooms stayed {now}, not {n}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Stays `n` for a while (nothing due has happened).
async fn still_loaded(s: &TestServer, n: usize) {
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(s.metric("coguest_rooms").await, n as f64);
}

/// The stored room ids (the admin list).
async fn stored(s: &TestServer) -> Vec<String> {
    let (status, body) = s.admin_api().get("/v1/admin/rooms").await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body["rooms"].clone()).unwrap()
}

/// Joins `room`, which must be refused as not existing.
async fn refused_join(c: &mut TestClient, room: &str) {
    let r = c.join(room, None).await.unwrap_err();
    assert_eq!(r.code, code(ErrorCode::RoomIdNotExist), "{room}: {r:?}");
    assert!(r.message.contains("does not exist"), "{r:?}");
}

#[tokio::test]
async fn only_an_owner_creates_a_room_by_joining_it() {
    let s = TestServer::start().await;
    let mut aud = s.connect("aud", Role::Audience).await;
    let mut admin = s.connect("adm", Role::Admin).await;
    refused_join(&mut aud, "ghost").await;
    refused_join(&mut admin, "ghost").await;
    // Refused again (nothing was half made), and the connection is still usable.
    refused_join(&mut aud, "ghost").await;
    aud.barrier().await;
    let r = aud.call("ghost", apply(-1, 30)).await.unwrap_err();
    assert_eq!(r.code, code(ErrorCode::NotEnteredRoom), "{r:?}");
    assert_eq!(stored(&s).await, Vec::<String>::new(), "no row");
    still_loaded(&s, 0).await;

    let mut owner = s.connect("owner", Role::Owner).await;
    owner.enter("ghost").await;
    aud.enter("ghost").await;
    admin.enter("ghost").await;
    assert_eq!(stored(&s).await, vec!["ghost".to_owned()]);
    assert_eq!(s.room_json("ghost").await["member_count"], 3);
    s.stop().await;
}

#[tokio::test]
async fn who_creates_rooms_is_a_setting() {
    let s = TestServer::start_with(|c| c.room_creation = RoomCreation::Anyone).await;
    let _aud = s.member("open", "aud", Role::Audience).await;
    assert_eq!(stored(&s).await, vec!["open".to_owned()]);
    s.stop().await;

    let s = TestServer::start_with(|c| c.room_creation = RoomCreation::AdminApi).await;
    let mut owner = s.connect("owner", Role::Owner).await;
    refused_join(&mut owner, "closed").await;
    assert!(stored(&s).await.is_empty());
    s.create_room("closed").await;
    owner.enter("closed").await;
    s.stop().await;
}

/// The finding: one audience token joining made-up rooms left a room (an actor and a row)
/// for each. Now memory and rows stay flat; and an owner's rooms, once left, leave memory
/// after the idle time and storage after the time to live.
#[tokio::test]
async fn joining_many_rooms_keeps_memory_and_rows_flat() {
    let s = TestServer::start().await;
    let mut aud = s.connect("aud", Role::Audience).await;
    for i in 0..300 {
        refused_join(&mut aud, &format!("made-up-{i}")).await;
    }
    still_loaded(&s, 0).await;
    assert!(stored(&s).await.is_empty());

    let mut owner = s.connect("owner", Role::Owner).await;
    for i in 0..100 {
        let room = format!("owned-{i}");
        owner.enter(&room).await;
        owner.call(&room, ClientCommand::Leave).await.unwrap();
    }
    assert_eq!(stored(&s).await.len(), 100);
    rooms_loaded(&s, 100).await;
    s.clock.advance_secs(60);
    rooms_loaded(&s, 0).await;
    assert_eq!(stored(&s).await.len(), 100, "unloaded, still stored");
    s.clock.advance_secs(7 * DAY);
    let deadline = tokio::time::Instant::now() + WAIT;
    while !stored(&s).await.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "rooms not expired");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    rooms_loaded(&s, 0).await;
    s.stop().await;
}

#[tokio::test]
async fn an_idle_room_leaves_memory_and_comes_back_as_it_was() {
    let s = TestServer::start().await;
    let room = "idle";
    let mut owner = s.member(room, "owner", Role::Owner).await;
    owner.call(room, settings(None, Some(5))).await.unwrap();
    owner.call(room, lock(2)).await.unwrap();
    let version = s.room_json(room).await["state"]["version"].clone();
    owner.call(room, ClientCommand::Leave).await.unwrap();
    rooms_loaded(&s, 1).await;
    s.clock.advance_secs(59);
    still_loaded(&s, 1).await;
    s.clock.advance_secs(1);
    rooms_loaded(&s, 0).await;

    // Read over HTTP, joined by an audience member: the room as it was.
    let got = s.room_json(room).await;
    assert_eq!(got["settings"]["max_seat_count"], 5);
    rooms_loaded(&s, 1).await;
    s.clock.advance_secs(60);
    rooms_loaded(&s, 0).await;
    let mut bob = s.connect("bob", Role::Audience).await;
    bob.join(room, None).await.unwrap();
    let state = bob.take_snapshot(room);
    assert_eq!(state.seats.len(), 5);
    assert!(state.seats[2].locked);
    assert!(state.version > version.as_u64().unwrap());
    rooms_loaded(&s, 1).await;
    s.stop().await;
}

#[tokio::test]
async fn a_member_in_its_grace_period_keeps_the_room_loaded() {
    let s = TestServer::start().await; // grace 30 s, idle unload 60 s
    let room = "grace";
    let owner = s.member(room, "owner", Role::Owner).await;
    owner.close().await;
    // The grace period ends at 30 s and the owner leaves then; from there the room is idle.
    s.clock.advance_secs(61);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(s.room_json(room).await["member_count"], 0);
    still_loaded(&s, 1).await;
    s.clock.advance_secs(60);
    rooms_loaded(&s, 0).await;
    s.stop().await;
}

#[tokio::test]
async fn pending_deadlines_fire_after_a_restart_and_idle_rooms_stay_on_disk() {
    let s = TestServer::start().await;
    s.create_room("quiet").await;
    let _owner = s.member("busy", "owner", Role::Owner).await;
    let mut bob = s.member("busy", "bob", Role::Audience).await;
    bob.call("busy", apply(-1, 60)).await.unwrap();
    let s = s.restart_after_secs(120).await;
    // The room with members and a request is loaded; the quiet one is not.
    rooms_loaded(&s, 1).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let got = s.room_json("busy").await;
        if got["state"]["applicants"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the deadline did not fire: {got}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    still_loaded(&s, 1).await;
    let mut carol = s.connect("carol", Role::Audience).await;
    carol.enter("quiet").await;
    rooms_loaded(&s, 2).await;
    s.stop().await;
}

#[tokio::test]
async fn an_unused_room_expires_with_a_webhook_and_a_used_one_does_not() {
    let (sink, url) = hook_sink(true).await;
    let s = TestServer::start_with(|c| post_webhooks_to(c, vec![url])).await;
    // A token good for the weeks the clock jumps.
    let mut claims = s.claims("owner", Role::Owner);
    claims.exp += u64::from(30 * DAY);
    let mut owner = s.connect_with(&claims).await;
    for room in ["old", "used"] {
        owner.enter(room).await;
        owner.call(room, ClientCommand::Leave).await.unwrap();
    }
    s.clock.advance_secs(60);
    rooms_loaded(&s, 0).await;
    s.clock.advance_secs(6 * DAY);
    owner.enter("used").await;
    owner.call("used", ClientCommand::Leave).await.unwrap();
    s.clock.advance_secs(DAY);
    wait_until("the expired room's room_closed", || {
        sink.events().iter().any(|e| e.kind == "room_closed")
    })
    .await;
    let closed: Vec<_> = sink
        .events()
        .into_iter()
        .filter(|e| e.kind == "room_closed")
        .collect();
    assert_eq!(closed.len(), 1, "{closed:?}");
    assert_eq!(closed[0].room, "old");
    assert_eq!(closed[0].actor, None);
    assert_eq!(
        Value::Object(closed[0].data.clone()),
        json!({"reason": "expired"})
    );
    assert_eq!(stored(&s).await, vec!["used".to_owned()]);
    assert_eq!(s.get_room("old").await.0, 404);
    // Created again by its owner, it is a new room.
    owner.enter("old").await;
    assert_eq!(s.room_json("old").await["member_count"], 1);
    s.stop().await;
}

#[tokio::test]
async fn an_admin_close_says_why_in_its_webhook() {
    let (sink, url) = hook_sink(true).await;
    let s = TestServer::start_with(|c| post_webhooks_to(c, vec![url])).await;
    s.create_room("shut").await;
    let (status, body) = s.admin_api().delete("/v1/admin/rooms/shut").await;
    assert_eq!(status, 204, "{body}");
    wait_until("room_closed", || {
        sink.events().iter().any(|e| e.kind == "room_closed")
    })
    .await;
    let e = sink
        .events()
        .into_iter()
        .find(|e| e.kind == "room_closed")
        .unwrap();
    assert_eq!(e.actor.as_deref(), Some("@operator"));
    assert_eq!(Value::Object(e.data), json!({"reason": "closed"}));
    s.stop().await;
}

/// A join (or an admin read) arriving as the idle room leaves memory is served: by the actor
/// staying, or by the room loaded again.
#[tokio::test]
async fn requests_racing_the_unload_are_served() {
    let s = TestServer::start().await;
    let room = "race";
    let mut owner = s.connect("owner", Role::Owner).await;
    let mut bob = s.connect("bob", Role::Audience).await;
    for _ in 0..30 {
        owner.enter(room).await;
        owner.call(room, ClientCommand::Leave).await.unwrap();
        bob.barrier().await;
        s.clock.advance_secs(60);
        let (joined, read) = tokio::join!(bob.join(room, None), s.get_room(room));
        joined.unwrap();
        bob.take_snapshot(room);
        assert_eq!(read.0, 200, "{read:?}");
        bob.call(room, ClientCommand::Leave).await.unwrap();
    }
    s.stop().await;
}
