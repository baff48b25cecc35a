//! The admin HTTP API over real HTTP against the running server: the same rules and error
//! codes as over WebSocket, members told of every change, and the OpenAPI document.

use crate::common::*;
use coguest_core::Role;
use coguest_proto::{Change, ErrorCode, Event, ServerMsg};
use serde_json::{Value, json};

const ROOM: &str = "adm";
const KEY: &str = "test-api-key";

async fn api(s: &TestServer, method: &str, path: &str, body: Value) -> (u16, Value) {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let (status, text) = s.http(method, path, Some(KEY), &body).await;
    let value = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, value)
}

#[tokio::test]
async fn rooms_seats_requests_and_settings_over_http() {
    let s = TestServer::start_with(|c| c.api_key = Some(KEY.into())).await;
    // Authentication: the API key, or an admin token; nothing else.
    let (status, _) = s.http("GET", "/v1/admin/rooms", None, "").await;
    assert_eq!(status, 401);
    let user_token = s.token("bob", Role::Audience);
    let (status, _) = s
        .http("GET", "/v1/admin/rooms", Some(&user_token), "")
        .await;
    assert_eq!(status, 403);
    let (status, _) = s
        .http("GET", "/v1/admin/rooms", Some(&s.admin_token()), "")
        .await;
    assert_eq!(status, 200);

    let create = json!({"room_id": ROOM, "settings": {"max_seat_count": 4}});
    let (status, body) = api(&s, "POST", "/v1/admin/rooms", create.clone()).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["settings"]["max_seat_count"], 4);
    assert_eq!(api(&s, "POST", "/v1/admin/rooms", create).await.0, 200);
    let other = json!({"room_id": ROOM, "settings": {"max_seat_count": 5}});
    let (status, body) = api(&s, "POST", "/v1/admin/rooms", other).await;
    assert_eq!(
        (status, body["code"].as_i64()),
        (409, Some(i64::from(code(ErrorCode::RoomIdOccupied))))
    );
    let (_, body) = api(&s, "GET", "/v1/admin/rooms", Value::Null).await;
    assert_eq!(body["rooms"], json!([ROOM]));
    let (status, body) = api(&s, "GET", "/v1/admin/rooms/nope", Value::Null).await;
    assert_eq!(
        (status, body["code"].as_i64()),
        (404, Some(i64::from(code(ErrorCode::RoomIdNotExist))))
    );

    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut bob = s.member(ROOM, "bob", Role::Audience).await;
    let mut carol = s.member(ROOM, "carol", Role::Audience).await;
    carol.call(ROOM, apply(-1, 60)).await.unwrap();
    let (_, body) = api(
        &s,
        "GET",
        &format!("/v1/admin/rooms/{ROOM}/requests"),
        Value::Null,
    )
    .await;
    assert_eq!(body["applicants"][0]["user"]["user_id"], "carol");

    // Pick: bob onto seat 2; carol's application closes as already seated when picked.
    let path = format!("/v1/admin/rooms/{ROOM}/seats/pick");
    let (status, body) = api(
        &s,
        "POST",
        &path,
        json!({"user_id": "bob", "seat_index": 2}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = api(
        &s,
        "POST",
        &path,
        json!({"user_id": "carol", "seat_index": 2}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_i64()),
        (409, Some(i64::from(code(ErrorCode::SeatOccupied))))
    );
    let (status, body) = api(
        &s,
        "POST",
        &path,
        json!({"user_id": "zed", "seat_index": 1}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_i64()),
        (404, Some(i64::from(code(ErrorCode::UserNotEntered))))
    );
    api(
        &s,
        "POST",
        &path,
        json!({"user_id": "carol", "seat_index": -1}),
    )
    .await;
    carol
        .event("closed as seated", |e| {
            matches!(e, Event::GuestApplicationNoResponse { .. })
        })
        .await;
    let (_, body) = api(
        &s,
        "GET",
        &format!("/v1/admin/rooms/{ROOM}/seats"),
        Value::Null,
    )
    .await;
    let seated: Vec<(i64, String)> = body["seats"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| !s["user"].is_null())
        .map(|s| {
            (
                s["seat_index"].as_i64().unwrap(),
                s["user"]["user_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        seated,
        vec![(0, "owner".into()), (1, "carol".into()), (2, "bob".into())]
    );
    assert_eq!(body["seats"].as_array().unwrap().len(), 4);

    // Move (swap), lock (removes the occupant), unlock, kick.
    let path = format!("/v1/admin/rooms/{ROOM}/seats/move");
    let (status, _) = api(
        &s,
        "POST",
        &path,
        json!({"user_id": "bob", "seat_index": 1, "policy": "swap"}),
    )
    .await;
    assert_eq!(status, 200);
    bob.event("moved", |e| matches!(e, Event::MovedToSeat { to_seat_index: 1, host_user, .. } if host_user.user_id == "@operator"))
        .await;
    let (status, body) = api(
        &s,
        "POST",
        &path,
        json!({"user_id": "bob", "seat_index": 0}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_i64()),
        (409, Some(i64::from(code(ErrorCode::SeatOccupied))))
    );
    let (status, _) = api(
        &s,
        "POST",
        &format!("/v1/admin/rooms/{ROOM}/seats/2/lock"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200);
    carol
        .event("kicked by lock", |e| {
            matches!(e, Event::KickedOffSeat { seat_index: 2, .. })
        })
        .await;
    let (status, body) = api(
        &s,
        "POST",
        &format!("/v1/admin/rooms/{ROOM}/seats/2/lock"),
        Value::Null,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_i64()),
        (409, Some(i64::from(code(ErrorCode::SeatLockUnchanged))))
    );
    assert_eq!(
        api(
            &s,
            "POST",
            &format!("/v1/admin/rooms/{ROOM}/seats/2/unlock"),
            Value::Null
        )
        .await
        .0,
        200
    );
    let path = format!("/v1/admin/rooms/{ROOM}/seats/kick");
    assert_eq!(
        api(&s, "POST", &path, json!({"user_id": "bob"})).await.0,
        200
    );
    bob.event("kicked", |e| matches!(e, Event::KickedOffSeat { .. }))
        .await;
    let (status, body) = api(&s, "POST", &path, json!({"user_id": "bob"})).await;
    assert_eq!(
        (status, body["code"].as_i64()),
        (409, Some(i64::from(code(ErrorCode::UserNotInSeat))))
    );
    let (status, body) = api(&s, "POST", &path, json!({"user_id": ""})).await;
    assert_eq!(
        (status, body["code"].as_i64()),
        (400, Some(i64::from(code(ErrorCode::InvalidParameter))))
    );

    // Settings and admins.
    let path = format!("/v1/admin/rooms/{ROOM}/settings");
    let (status, _) = api(
        &s,
        "POST",
        &path,
        json!({"seat_mode": "free_to_take", "max_seat_count": 3}),
    )
    .await;
    assert_eq!(status, 200);
    owner
        .expect("settings", |m| {
            matches!(
                m,
                ServerMsg::Change {
                    change: Change::Settings {
                        max_seat_count: 3,
                        ..
                    },
                    ..
                }
            )
        })
        .await;
    bob.call(
        ROOM,
        coguest_proto::ClientCommand::TakeSeat { seat_index: 2 },
    )
    .await
    .unwrap();
    let (status, body) = api(&s, "POST", &path, json!({"max_seat_count": 2})).await;
    assert_eq!(
        (status, body["code"].as_i64()),
        (
            409,
            Some(i64::from(code(ErrorCode::SeatCountBelowOccupied)))
        )
    );
    let path = format!("/v1/admin/rooms/{ROOM}/admins");
    assert_eq!(
        api(
            &s,
            "POST",
            &path,
            json!({"user_id": "carol", "admin": true})
        )
        .await
        .0,
        200
    );
    carol
        .event("granted", |e| matches!(e, Event::RoleChanged { .. }))
        .await;
    let r = carol.call(ROOM, invite("owner", -1, 30)).await;
    assert!(r.is_ok(), "{r:?}");
    // Effective at once: carol may now kick.
    carol
        .call(
            ROOM,
            coguest_proto::ClientCommand::KickOffSeat {
                user_id: "bob".into(),
            },
        )
        .await
        .unwrap();

    // Close: every member is told, and the room is gone.
    // A pending request ends with the room.
    owner.call(ROOM, invite("bob", -1, 30)).await.unwrap();
    let (status, _) = api(
        &s,
        "DELETE",
        &format!("/v1/admin/rooms/{ROOM}"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 204);
    for c in [&mut owner, &mut bob, &mut carol] {
        c.expect("room closed", |m| matches!(m, ServerMsg::RoomClosed { .. }))
            .await;
    }
    let (status, _) = api(&s, "GET", &format!("/v1/admin/rooms/{ROOM}"), Value::Null).await;
    assert_eq!(status, 404);
    let (_, body) = api(&s, "GET", "/v1/admin/rooms", Value::Null).await;
    assert_eq!(body["rooms"], json!([]));
}

/// The OpenAPI document served by the running server lists every admin route, and every
/// admin route the server answers is in it.
#[tokio::test]
async fn openapi_document_describes_the_running_api() {
    let s = TestServer::start_with(|c| c.api_key = Some(KEY.into())).await;
    let (status, text) = s.http("GET", "/v1/openapi.json", None, "").await;
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let mut ops = Vec::new();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            ops.push((method.to_uppercase(), path.clone()));
        }
    }
    assert_eq!(ops.len(), 13, "{ops:?}");
    api(&s, "POST", "/v1/admin/rooms", json!({"room_id": "doc"})).await;
    // Every documented operation exists on the server: with the room and seat filled in and
    // no body, it answers anything but 404/405 from the router (a JSON error at worst).
    for (method, path) in ops {
        let concrete = path.replace("{room}", "doc").replace("{seat}", "1");
        let (status, text) = s.http(&method, &concrete, Some(KEY), "").await;
        let routed = status != 405 && !(status == 404 && text.is_empty());
        assert!(routed, "{method} {path}: {status} {text}");
    }
}
