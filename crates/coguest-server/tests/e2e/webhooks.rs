//! Webhooks against a real receiver (axum on 127.0.0.1:0): signed, in room order, nothing
//! missing, across a server restart while the receiver is down; ids unique across a room's
//! incarnations; a room's creation and its close stored atomically with their events.

use crate::common::*;
use coguest_core::Role;
use coguest_proto::WebhookEvent;
use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

const ROOM: &str = "hooks";

#[tokio::test]
async fn signed_in_order_and_complete_across_a_restart_with_the_receiver_down() {
    let (rx, url) = hook_sink(false).await;
    let s = TestServer::start_with(|c| post_webhooks_to(c, vec![url])).await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut bob = s.member(ROOM, "bob", Role::Audience).await;
    bob.call(ROOM, apply(-1, 30)).await.unwrap();
    owner.call(ROOM, accept_app("bob")).await.unwrap();
    // The endpoint is down: deliveries are tried and fail; the room is not slowed.
    wait_until("a failed attempt", || rx.attempts() >= 2).await;
    assert!(rx.raw().is_empty());
    drop((owner, bob));

    let s = s.restart().await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    // Fresh request ids: the server remembers the answers of this user's earlier ones.
    for (id, cmd) in [(101, kick("bob")), (102, lock(3))] {
        owner.send_with_id(id, Some(ROOM), cmd).await;
        owner.answer(id).await.unwrap();
    }
    assert_eq!(close_room(&s, ROOM).await, 204);
    owner.expect("room closed", room_closed).await;
    rx.up.store(true, Ordering::SeqCst);
    let expected = [
        "room_created",
        "member_joined",
        "seated",
        "member_joined",
        "application_created",
        "application_accepted",
        "seated",
        "left_seat",
        "kicked",
        "seat_locked",
        "room_closed",
    ];
    let enough = || rx.count() >= expected.len();
    let deadline = tokio::time::Instant::now() + WAIT;
    while !enough() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let kinds = |g: &[(String, String, String)]| -> Vec<String> {
        g.iter()
            .map(|(_, _, b)| serde_json::from_str::<WebhookEvent>(b).unwrap().kind)
            .collect()
    };
    assert!(
        enough(),
        "got {:?}, {} attempts",
        kinds(&rx.raw()),
        rx.attempts()
    );
    // Nothing more arrives late (a redelivery would repeat an id).
    tokio::time::sleep(Duration::from_millis(100)).await;
    let events = rx.signed_events();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds, expected,
        "in room order, nothing missing, nothing twice"
    );
    let versions: Vec<u64> = events.iter().map(|e| e.version).collect();
    assert!(versions.windows(2).all(|w| w[0] <= w[1]), "{versions:?}");
    let accepted = &events[5];
    assert_eq!(accepted.actor.as_deref(), Some("owner"));
    assert_eq!(accepted.data["user_id"], "bob");
    assert_eq!(events[10].actor.as_deref(), Some("@operator"));
    let kicked = &events[8];
    assert_eq!(
        (kicked.room.as_str(), kicked.data["seat_index"].as_i64()),
        (ROOM, Some(1))
    );
    let ids: HashSet<&str> = events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), events.len(), "event ids are unique: {events:?}");
    assert_eq!(events[0].id, format!("{ROOM}/1/0/room_created"));
    s.stop().await;
}

/// `DELETE /v1/admin/rooms/{room}`: the status.
async fn close_room(s: &TestServer, room: &str) -> u16 {
    let path = format!("/v1/admin/rooms/{room}");
    s.admin_api().delete(&path).await.0
}

/// A room closed and created again restarts at version 0, but in a new incarnation: no event
/// id repeats, even across a restart between incarnations.
#[tokio::test]
async fn ids_never_repeat_when_a_room_is_closed_and_created_again() {
    const AGAIN: &str = "again";
    let (mut s, rx) = webhook_server().await;
    let per_incarnation = [
        "room_created",
        "member_joined",
        "seated",
        "member_joined",
        "application_created",
        "application_accepted",
        "seated",
        "room_closed",
    ];
    for incarnation in 1..=3usize {
        if incarnation == 3 {
            // The counter is stored, not kept in memory.
            s = s.restart().await;
        }
        let mut owner = s.member(AGAIN, "owner", Role::Owner).await;
        let mut bob = s.member(AGAIN, "bob", Role::Audience).await;
        bob.call(AGAIN, apply(-1, 30)).await.unwrap();
        owner.call(AGAIN, accept_app("bob")).await.unwrap();
        assert_eq!(close_room(&s, AGAIN).await, 204);
        for c in [&mut owner, &mut bob] {
            c.expect("room closed", room_closed).await;
        }
        let want = incarnation * per_incarnation.len();
        wait_until("this incarnation's events", || rx.count() >= want).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let events = rx.events();
    assert_eq!(events.len(), 3 * per_incarnation.len(), "{events:?}");
    let ids: HashSet<&str> = events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), events.len(), "an id repeats: {events:?}");
    // The incarnations really collide on (room, version, position): only the number differs.
    let chunks: Vec<&[WebhookEvent]> = events.chunks(per_incarnation.len()).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let kinds: Vec<&str> = chunk.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, per_incarnation);
        let versions: Vec<u64> = chunk.iter().map(|e| e.version).collect();
        let first: Vec<u64> = chunks[0].iter().map(|e| e.version).collect();
        assert_eq!(versions, first, "every incarnation starts at version 0");
        assert_eq!(chunk[0].id, format!("{AGAIN}/{}/0/room_created", i + 1));
        for e in *chunk {
            assert!(
                e.id.starts_with(&format!("{AGAIN}/{}/{}/", i + 1, e.version)),
                "{}",
                e.id
            );
        }
    }
    s.stop().await;
}

/// Opens the server's database beside it (tests only: to make a write fail).
fn side_db(s: &TestServer) -> rusqlite::Connection {
    let db = rusqlite::Connection::open(s.config.data_dir.join(coguest_server::DB_FILE)).unwrap();
    db.busy_timeout(Duration::from_secs(5)).unwrap();
    db
}

fn count(db: &rusqlite::Connection, sql: &str) -> i64 {
    db.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// `room_created` is stored with the room and `room_closed` with its deletion, in one
/// transaction each: when the write fails, neither the change nor its event happens.
#[tokio::test]
async fn room_created_and_room_closed_are_stored_atomically_with_the_room() {
    const ROOM2: &str = "atomic";
    let (s, rx) = webhook_server().await;
    let db = side_db(&s);
    let admin = s.admin_token();
    let create = format!(r#"{{"room_id":"{ROOM2}"}}"#);

    // The outbox refuses rows: the room is not created either.
    db.execute_batch(
        "CREATE TRIGGER refuse_outbox BEFORE INSERT ON webhook_outbox \
         BEGIN SELECT RAISE(ABORT, 'injected'); END;",
    )
    .unwrap();
    let (status, body) = s
        .http("POST", "/v1/admin/rooms", Some(&admin), &create)
        .await;
    assert_eq!(status, 500, "{body}");
    let (_, body) = s.http("GET", "/v1/admin/rooms", Some(&admin), "").await;
    assert_eq!(body, r#"{"rooms":[]}"#);
    assert_eq!(count(&db, "SELECT count(*) FROM rooms"), 0);
    db.execute_batch("DROP TRIGGER refuse_outbox").unwrap();
    let (status, _) = s
        .http("POST", "/v1/admin/rooms", Some(&admin), &create)
        .await;
    assert_eq!(status, 201);

    let mut owner = s.member(ROOM2, "owner", Role::Owner).await;
    wait_until("created, joined, seated", || rx.count() >= 3).await;
    let events = rx.events();
    // The failed attempt used no incarnation: its number was rolled back with it.
    assert_eq!(events[0].id, format!("{ROOM2}/1/0/room_created"));

    // The delete fails: no room_closed is queued, the room stays and works.
    db.execute_batch(
        "CREATE TRIGGER refuse_delete BEFORE DELETE ON rooms \
         BEGIN SELECT RAISE(ABORT, 'injected'); END;",
    )
    .unwrap();
    assert_eq!(close_room(&s, ROOM2).await, 500);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM webhook_outbox WHERE body LIKE '%room_closed%'"
        ),
        0
    );
    let (status, _) = s
        .http("GET", &format!("/v1/admin/rooms/{ROOM2}"), Some(&admin), "")
        .await;
    assert_eq!(status, 200);
    owner.call(ROOM2, lock(2)).await.unwrap();
    owner.barrier().await;
    assert!(
        !owner.buf.iter().any(room_closed),
        "members were told of a close that did not happen"
    );
    wait_until("seat_locked", || rx.count() >= 4).await;

    // Once the delete works, the room closes with exactly one room_closed.
    db.execute_batch("DROP TRIGGER refuse_delete").unwrap();
    assert_eq!(close_room(&s, ROOM2).await, 204);
    owner.expect("room closed", room_closed).await;
    wait_until("room_closed", || rx.count() >= 5).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let events = rx.events();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "room_created",
            "member_joined",
            "seated",
            "seat_locked",
            "room_closed"
        ]
    );
    assert_eq!(events[4].id, format!("{ROOM2}/1/2/room_closed"));
    s.stop().await;
}

/// One room drives every webhook type of docs/WEBHOOKS.md: the types delivered are exactly the
/// documented ones (the doc's headings, parsed), every delivery is signed, ids are unique and
/// of the documented form, actors and data are those of the commands that caused them.
#[tokio::test]
async fn every_documented_event_type_is_delivered_signed_and_unique() {
    const EVERY: &str = "every";
    let (s, sink) = webhook_server().await;
    drive_every_webhook_type(&s, &sink, EVERY).await;
    let events = sink.signed_events();
    assert!(events.iter().all(|e| e.room == EVERY), "{events:?}");

    let documented: Vec<String> = documented_webhook_types();
    let documented_set: std::collections::BTreeSet<&str> =
        documented.iter().map(String::as_str).collect();
    assert_eq!(documented_set.len(), documented.len(), "{documented:?}");
    assert_eq!(
        documented_set,
        coguest_proto::WEBHOOK_TYPES.iter().copied().collect(),
        "the doc and WEBHOOK_TYPES disagree"
    );
    let delivered: std::collections::BTreeSet<&str> =
        events.iter().map(|e| e.kind.as_str()).collect();
    let missing: Vec<_> = documented_set.difference(&delivered).collect();
    let undocumented: Vec<_> = delivered.difference(&documented_set).collect();
    assert!(
        missing.is_empty() && undocumented.is_empty(),
        "documented but not delivered: {missing:?}; delivered but not documented: {undocumented:?}"
    );

    // The exact sequence, in room order.
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    let expected = [
        "room_created",
        "member_joined",
        "seated",
        "member_joined",
        "member_joined",
        "member_joined",
        "application_created",
        "application_cancelled",
        "application_created",
        "application_rejected",
        "application_created",
        "application_accepted",
        "seated",
        "application_created",
        "application_timed_out",
        "invitation_created",
        "invitation_cancelled",
        "invitation_created",
        "invitation_rejected",
        "invitation_created",
        "invitation_timed_out",
        "application_created",
        "invitation_created",
        "invitation_accepted",
        "seated",
        "application_closed_already_seated",
        "invitation_closed_already_seated",
        "moved",
        "left_seat",
        "kicked",
        "seat_locked",
        "seat_unlocked",
        "settings_changed",
        "role_changed",
        "device_permission_changed",
        "device_permission_changed",
        "left_seat",
        "member_left",
        "room_closed",
    ];
    assert_eq!(kinds, expected);

    // Ids: unique, `{room}/1/{version}/{n}` with n counting from 0 within a version.
    let ids: HashSet<&str> = events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), events.len(), "an id repeats: {events:?}");
    let mut position = std::collections::HashMap::<u64, u64>::new();
    for e in &events {
        let suffix = if ["room_created", "room_closed"].contains(&e.kind.as_str()) {
            e.kind.clone()
        } else {
            let n = position.entry(e.version).or_default();
            *n += 1;
            (*n - 1).to_string()
        };
        assert_eq!(e.id, format!("{EVERY}/1/{}/{suffix}", e.version));
    }
    let versions: Vec<u64> = events.iter().map(|e| e.version).collect();
    assert!(versions.windows(2).all(|w| w[0] <= w[1]), "{versions:?}");

    // Actors: null for deadlines and the creation, @operator for the admin API.
    let find = |kind: &str| {
        events
            .iter()
            .find(|e| e.kind == kind)
            .unwrap_or_else(|| panic!("no {kind}"))
    };
    for kind in [
        "room_created",
        "application_timed_out",
        "invitation_timed_out",
    ] {
        assert_eq!(find(kind).actor, None, "{kind}");
    }
    for kind in ["seat_unlocked", "room_closed"] {
        assert_eq!(find(kind).actor.as_deref(), Some("@operator"), "{kind}");
    }
    assert_eq!(find("application_cancelled").actor.as_deref(), Some("bob"));
    assert_eq!(find("invitation_rejected").actor.as_deref(), Some("carol"));
    let accepted = find("invitation_accepted");
    assert_eq!(
        (
            accepted.data["user_id"].as_str(),
            accepted.data["inviter_id"].as_str()
        ),
        (Some("carol"), Some("owner"))
    );
    let moved = find("moved");
    assert_eq!(
        (
            moved.data["from_seat_index"].as_i64(),
            moved.data["to_seat_index"].as_i64()
        ),
        (Some(3), Some(4))
    );
    let role = find("role_changed");
    assert_eq!(
        (role.data["user_id"].as_str(), role.data["role"].as_str()),
        (Some("dave"), Some("admin"))
    );
    let devices: Vec<&WebhookEvent> = events
        .iter()
        .filter(|e| e.kind == "device_permission_changed")
        .collect();
    assert_eq!(devices[0].data["user_id"], "bob");
    assert!(devices[0].data["seat_index"].is_null());
    assert!(devices[1].data["user_id"].is_null());
    assert_eq!(devices[1].data["seat_index"], 2);
    assert_eq!(devices[1].actor.as_deref(), Some("dave"));
    s.stop().await;
}
