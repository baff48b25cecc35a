//! Strict input over real sockets: a frame's `cmd` is one of the documented names (never a
//! variant index), a key appears once, admin bodies are JSON sent as JSON, and `@operator`
//! is no user. Each refusal has a documented code and changes nothing.

use crate::common::*;
use coguest_core::Role;
use coguest_proto::ErrorCode;
use serde_json::{Value, json};

const ROOM: &str = "strict";

/// Sends `text` and returns the error answering frame `id`.
async fn refused_frame(c: &mut TestClient, id: u64, text: &str) -> Refused {
    c.send_text(text).await;
    c.answer(id).await.expect_err(text)
}

#[tokio::test]
async fn a_cmd_index_or_a_repeated_key_is_refused_and_changes_nothing() {
    let s = TestServer::start().await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut bob = s.member(ROOM, "bob", Role::Audience).await;
    let before = s.room_json(ROOM).await;

    // serde's variant index: 0 was `join`, 15 `leave_seat`; 22 `snapshot`.
    for (id, cmd) in [
        (100, "0"),
        (101, "15"),
        (102, "22"),
        (103, "true"),
        (104, "null"),
    ] {
        let text = format!(r#"{{"id":{id},"room":"{ROOM}","cmd":{cmd}}}"#);
        let r = refused_frame(&mut bob, id, &text).await;
        assert_eq!(r.code, code(ErrorCode::MalformedFrame), "{text}: {r:?}");
        assert!(r.message.contains("`cmd` must be a command name"), "{r:?}");
    }
    // A repeated `cmd` ran the last one (`leave`), while a proxy reading the first saw a
    // snapshot; a repeated field anywhere is refused too.
    let repeated = [
        (110, r#""cmd":"snapshot","cmd":"leave""#, "cmd"),
        (111, r#""cmd":"leave","cmd":"leave""#, "cmd"),
        (
            112,
            r#""cmd":"apply_for_seat","seat_index":1,"seat_index":2,"timeout":30"#,
            "seat_index",
        ),
        (113, r#""cmd":"ping","room":"strict""#, "room"),
    ];
    for (id, fields, key) in repeated {
        let text = format!(r#"{{"id":{id},"room":"{ROOM}",{fields}}}"#);
        let r = refused_frame(&mut bob, id, &text).await;
        assert_eq!(r.code, code(ErrorCode::MalformedFrame), "{text}: {r:?}");
        assert!(
            r.message.contains(&format!("duplicate key `{key}`")),
            "{r:?}"
        );
    }
    // Nested: `extra_info` is a string, and an object in its place is refused however its
    // keys repeat.
    let nested = format!(
        r#"{{"id":120,"room":"{ROOM}","cmd":"apply_for_seat","seat_index":-1,"timeout":30,"extra_info":{{"a":1,"a":2}}}}"#
    );
    let r = refused_frame(&mut bob, 120, &nested).await;
    assert_eq!(r.code, code(ErrorCode::MalformedFrame), "{r:?}");
    // A repeated `id`: the answer cannot say which, so it has none.
    bob.send_text(&format!(
        r#"{{"id":130,"id":131,"room":"{ROOM}","cmd":"ping"}}"#
    ))
    .await;
    let err = bob
        .expect("an error without id", |m| {
            matches!(m, coguest_proto::ServerMsg::Error { id: None, .. })
        })
        .await;
    assert!(format!("{err:?}").contains("duplicate key `id`"), "{err:?}");
    // An unknown name is `UNKNOWN_COMMAND`, with the id.
    let text = format!(r#"{{"id":140,"room":"{ROOM}","cmd":"launch"}}"#);
    let r = refused_frame(&mut bob, 140, &text).await;
    assert_eq!(r.code, code(ErrorCode::UnknownCommand), "{r:?}");

    // Nothing changed: bob is still a member, the room is at the same version.
    bob.room_barrier(ROOM).await;
    owner.room_barrier(ROOM).await;
    let after = s.room_json(ROOM).await;
    assert_eq!(after["state"]["version"], before["state"]["version"]);
    assert_eq!(after["member_count"], 2);
    // The documented frames still work.
    bob.call(ROOM, apply(-1, 30)).await.unwrap();
    s.stop().await;
}

/// `(status, body)` of an admin API call made with the API key and exactly these headers.
async fn call(
    s: &TestServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Value) {
    let mut all = vec![("X-Api-Key", KEY)];
    all.extend_from_slice(headers);
    let (status, text) = http_with(s.addr, method, path, &all, body).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

const KEY: &str = "strict-key";

#[tokio::test]
async fn admin_bodies_must_be_sent_as_json_and_read_strictly() {
    let s = TestServer::start_with(|c| c.api_key = Some(KEY.into())).await;
    let body = json!({"room_id": "made"}).to_string();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/jsonx"),
        None,
    ] {
        let headers: Vec<(&str, &str)> = content_type
            .map(|t| ("Content-Type", t))
            .into_iter()
            .collect();
        let got = call(&s, "POST", "/v1/admin/rooms", &headers, &body).await;
        assert_eq!(
            refusal(&got),
            (415, Some(ErrorCode::InvalidParameter)),
            "{content_type:?}: {got:?}"
        );
        let message = got.1["message"].as_str().unwrap();
        assert!(
            message.contains("Content-Type: application/json"),
            "{message}"
        );
    }
    let form = call(
        &s,
        "POST",
        "/v1/admin/rooms",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "room_id=made",
    )
    .await;
    assert_eq!(form.0, 415, "{form:?}");
    // Nothing was created.
    let (status, _) = s.admin_api().get("/v1/admin/rooms/made").await;
    assert_eq!(status, 404);
    // A body to a room route too; `PUT /v1/rooms/{room}` with a body, not without one.
    let admin = s.admin_token();
    let bearer = format!("Bearer {admin}");
    let auth = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "text/plain"),
    ];
    let (status, text) = http_with(
        s.addr,
        "PUT",
        "/v1/rooms/made",
        &auth,
        r#"{"max_seat_count":4}"#,
    )
    .await;
    assert_eq!(status, 415, "{text}");
    let (status, text) = http_with(s.addr, "PUT", "/v1/rooms/made", &auth[..1], "").await;
    assert_eq!(status, 201, "an empty body needs no Content-Type: {text}");
    let got = call(
        &s,
        "POST",
        "/v1/admin/rooms/made/seats/kick",
        &[("Content-Type", "text/plain")],
        r#"{"user_id":"x"}"#,
    )
    .await;
    assert_eq!(
        refusal(&got),
        (415, Some(ErrorCode::InvalidParameter)),
        "{got:?}"
    );

    // JSON with a parameter is JSON; a repeated key is refused at any depth.
    let json_utf8 = [("Content-Type", "application/json; charset=utf-8")];
    let got = call(
        &s,
        "POST",
        "/v1/admin/rooms",
        &json_utf8,
        &json!({"room_id": "other"}).to_string(),
    )
    .await;
    assert_eq!(got.0, 201, "{got:?}");
    for body in [
        r#"{"room_id":"dup","room_id":"dup2"}"#,
        r#"{"room_id":"dup","settings":{"max_seat_count":4,"max_seat_count":5}}"#,
    ] {
        let got = call(&s, "POST", "/v1/admin/rooms", &json_utf8, body).await;
        assert_eq!(
            refusal(&got),
            (400, Some(ErrorCode::InvalidParameter)),
            "{body}: {got:?}"
        );
        assert!(
            got.1["message"].as_str().unwrap().contains("duplicate key"),
            "{got:?}"
        );
    }
    let (status, text) = http_with(
        s.addr,
        "PUT",
        "/v1/rooms/dup3",
        &[auth[0], json_utf8[0]],
        r#"{"max_seat_count":4,"max_seat_count":5}"#,
    )
    .await;
    assert_eq!(status, 400, "{text}");
    for room in ["dup", "dup2", "dup3"] {
        let (status, _) = s.admin_api().get(&format!("/v1/admin/rooms/{room}")).await;
        assert_eq!(status, 404, "{room}");
    }
    // A path parameter that does not parse is answered like every other error.
    let got = call(&s, "POST", "/v1/admin/rooms/made/seats/one/lock", &[], "").await;
    assert_eq!(
        refusal(&got),
        (400, Some(ErrorCode::InvalidParameter)),
        "{got:?}"
    );
    s.stop().await;
}

#[tokio::test]
async fn operator_is_no_user_of_the_admin_api() {
    let s = TestServer::start().await;
    let api = s.admin_api();
    let _owner = s.member(ROOM, "owner", Role::Owner).await;
    let before = s.room_json(ROOM).await;
    let path = format!("/v1/admin/rooms/{ROOM}");
    for (route, body) in [
        ("admins", json!({"user_id": "@operator", "admin": true})),
        ("admins", json!({"user_id": "@operator", "admin": false})),
        (
            "seats/pick",
            json!({"user_id": "@operator", "seat_index": 1}),
        ),
        ("seats/kick", json!({"user_id": "@operator"})),
    ] {
        let got = api.post(&format!("{path}/{route}"), body).await;
        assert_eq!(
            refusal(&got),
            (400, Some(ErrorCode::InvalidParameter)),
            "{route}: {got:?}"
        );
        let message = got.1["message"].as_str().unwrap();
        assert!(message.contains("@operator is reserved"), "{message}");
        assert!(!message.contains("owner"), "{message}");
    }
    // The owner cannot grant it anything over WebSocket either.
    let mut owner = s.connect("owner", Role::Owner).await;
    owner.enter(ROOM).await;
    assert_eq!(
        owner.refused(ROOM, set_admin("@operator", true)).await,
        ErrorCode::InvalidParameter
    );
    let after = s.room_json(ROOM).await;
    assert_eq!(after["state"]["version"], before["state"]["version"]);
    s.stop().await;
}
