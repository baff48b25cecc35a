//! Reconnect grace, graceful shutdown, health, metrics and the admin room API.

use crate::common::*;
use coguest_core::Role;
use coguest_proto::{CLOSE_RECONNECT, ErrorCode, ServerMsg};

const ROOM: &str = "life";

/// The users of a seat list (`connected`).
fn connected_ids(m: &ServerMsg) -> Option<Vec<String>> {
    seats_change(m).map(|seats| occupants(seats).into_iter().map(|(_, u)| u).collect())
}

#[tokio::test]
async fn reconnect_within_grace_keeps_the_seat_after_grace_loses_it() {
    let s = TestServer::start().await; // grace 30 s
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut g = s.member(ROOM, "g", Role::Audience).await;
    owner.call(ROOM, invite("g", 1, 60)).await.unwrap();
    let ack = g.call(ROOM, accept_inv("owner")).await.unwrap();
    g.close().await;
    owner.room_barrier(ROOM).await;
    s.clock.advance_secs(29);
    let mut g = s.connect("g", Role::Audience).await;
    g.join(ROOM, ack.version).await.unwrap();
    g.expect("resumed", resumed).await;
    s.clock.advance_secs(10);
    owner.room_barrier(ROOM).await;
    assert!(
        !owner
            .buf
            .iter()
            .any(|m| connected_ids(m).is_some_and(|ids| !ids.contains(&"g".to_owned()))),
        "the seat was kept"
    );

    owner.buf.clear();
    g.close().await;
    owner.room_barrier(ROOM).await;
    s.clock.advance_secs(29);
    owner.room_barrier(ROOM).await;
    assert!(owner.buf.iter().all(|m| connected_ids(m).is_none()));
    s.clock.advance_secs(1);
    let m = owner
        .expect("seat lost", |m| connected_ids(m).is_some())
        .await;
    assert_eq!(connected_ids(&m).unwrap(), vec!["owner".to_owned()]);
    assert_eq!(
        s.room_json(ROOM).await["member_count"],
        1,
        "g left the room"
    );
}

#[tokio::test]
async fn graceful_shutdown_closes_with_reconnect() {
    let s = TestServer::start().await;
    let mut a = s.member(ROOM, "a", Role::Owner).await;
    let mut idle = s.connect("idle", Role::Audience).await;
    s.stop().await;
    assert_eq!(a.closed().await, Some(CLOSE_RECONNECT));
    assert_eq!(idle.closed().await, Some(CLOSE_RECONNECT));
}

#[tokio::test]
async fn healthz_and_metrics() {
    let s = TestServer::start().await;
    let (status, body) = s.http("GET", "/healthz", None, "").await;
    assert_eq!((status, body.trim()), (200, "ok"));
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut g = s.member(ROOM, "g", Role::Audience).await;
    g.call(ROOM, apply(-1, 30)).await.unwrap();
    let _ = owner.call(ROOM, accept_app("nobody")).await;
    let (status, body) = s.http("GET", "/metrics", None, "").await;
    assert_eq!(status, 200);
    for needle in [
        "coguest_connections 2",
        "coguest_rooms 1",
        r#"coguest_commands_total{kind="apply_for_seat",result="ok"} 1"#,
        r#"coguest_commands_total{kind="accept_application",result="UserNotEntered"} 1"#,
        "coguest_command_latency_seconds_count",
        "coguest_timers_pending 1",
    ] {
        assert!(body.contains(needle), "missing {needle:?} in\n{body}");
    }
}

#[tokio::test]
async fn admin_creates_and_reads_rooms() {
    let s = TestServer::start().await;
    let t = s.admin_token();
    let path = "/v1/rooms/made";
    let (status, body) = s.http("GET", path, Some(&t), "").await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains(&code(ErrorCode::RoomIdNotExist).to_string()));

    let settings = r#"{"max_seat_count":4,"keep_owner_on_seat":false,"max_request_timeout_s":90}"#;
    let (status, body) = s.http("PUT", path, Some(&t), settings).await;
    assert_eq!(status, 201, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["settings"]["max_seat_count"], 4);
    assert_eq!(v["settings"]["keep_owner_on_seat"], false);
    assert_eq!(
        v["settings"]["max_members"], 20_000,
        "defaults fill the rest"
    );
    assert_eq!(s.http("PUT", path, Some(&t), settings).await.0, 200);
    let (status, body) = s
        .http("PUT", path, Some(&t), r#"{"max_seat_count":5}"#)
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains(&code(ErrorCode::RoomIdOccupied).to_string()));
    let (status, body) = s
        .http("PUT", "/v1/rooms/bad", Some(&t), r#"{"max_seat_count":0}"#)
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains(&code(ErrorCode::InvalidRoomSettings).to_string()));
    let (status, _) = s
        .http("PUT", "/v1/rooms/bad", Some(&t), r#"{"seats":3}"#)
        .await;
    assert_eq!(status, 400);
    let long = "r".repeat(49);
    let (status, body) = s
        .http("PUT", &format!("/v1/rooms/{long}"), Some(&t), "{}")
        .await;
    assert_eq!(status, 400);
    assert!(body.contains(&code(ErrorCode::RoomIdInvalid).to_string()));

    // The room's settings apply to members: the owner does not take seat 0, 4 seats.
    let mut owner = s.connect("owner", Role::Owner).await;
    owner.join("made", None).await.unwrap();
    assert!(owner.take_snapshot("made").connected.is_empty());
    let mut g = s.member("made", "g", Role::Audience).await;
    let err = g.call("made", apply(4, 30)).await.unwrap_err();
    assert_eq!(err.code, code(ErrorCode::SeatIndexNotExist));
    let err = g.call("made", apply(0, 91)).await.unwrap_err();
    assert_eq!(err.code, code(ErrorCode::TimeoutOutOfRange));
    g.call("made", apply(0, 90)).await.unwrap();
    let (_, body) = s.http("GET", path, Some(&t), "").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["member_count"], 2);
    assert_eq!(v["state"]["applicants"][0]["user"]["user_id"], "g");
    assert_eq!(v["state"]["candidates"][0]["user_id"], "owner");
}
