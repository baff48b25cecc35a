//! The admin HTTP API over real HTTP against the running server: the same rules and error
//! codes as over WebSocket, members told of every change, and the OpenAPI document.

use crate::common::*;
use coguest_core::Role;
use coguest_proto::{Change, ErrorCode, Event, ServerMsg};
use serde_json::{Value, json};

const ROOM: &str = "adm";
const KEY: &str = "test-api-key";

/// A server with an API key, and its admin API under that key.
async fn server_with_key() -> (TestServer, AdminApi) {
    let s = TestServer::start_with(|c| c.api_key = Some(KEY.into())).await;
    let api = AdminApi::with_key(s.addr, KEY);
    (s, api)
}

#[tokio::test]
async fn rooms_seats_requests_and_settings_over_http() {
    let (s, api) = server_with_key().await;
    // Authentication: the API key, or an admin token; nothing else.
    let (status, _) = s.http("GET", "/v1/admin/rooms", None, "").await;
    assert_eq!(status, 401);
    let user_token = s.token("bob", Role::Audience);
    let (status, _) = s
        .http("GET", "/v1/admin/rooms", Some(&user_token), "")
        .await;
    assert_eq!(status, 403);
    let (status, _) = s.admin_api().get("/v1/admin/rooms").await;
    assert_eq!(status, 200);

    let create = json!({"room_id": ROOM, "settings": {"max_seat_count": 4}});
    let (status, body) = api.post("/v1/admin/rooms", create.clone()).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["settings"]["max_seat_count"], 4);
    assert_eq!(api.post("/v1/admin/rooms", create).await.0, 200);
    let other = json!({"room_id": ROOM, "settings": {"max_seat_count": 5}});
    let answer = api.post("/v1/admin/rooms", other).await;
    assert_eq!(refusal(&answer), (409, Some(ErrorCode::RoomIdOccupied)));
    let (_, body) = api.get("/v1/admin/rooms").await;
    assert_eq!(body["rooms"], json!([ROOM]));
    let answer = api.get("/v1/admin/rooms/nope").await;
    assert_eq!(refusal(&answer), (404, Some(ErrorCode::RoomIdNotExist)));

    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut bob = s.member(ROOM, "bob", Role::Audience).await;
    let mut carol = s.member(ROOM, "carol", Role::Audience).await;
    carol.call(ROOM, apply(-1, 60)).await.unwrap();
    let (_, body) = api.get(&format!("/v1/admin/rooms/{ROOM}/requests")).await;
    assert_eq!(body["applicants"][0]["user"]["user_id"], "carol");

    // Pick: bob onto seat 2; carol's application closes as already seated when picked.
    let path = format!("/v1/admin/rooms/{ROOM}/seats/pick");
    let (status, body) = api.post(&path, pick("bob", 2)).await;
    assert_eq!(status, 200, "{body}");
    let answer = api.post(&path, pick("carol", 2)).await;
    assert_eq!(refusal(&answer), (409, Some(ErrorCode::SeatOccupied)));
    let answer = api.post(&path, pick("zed", 1)).await;
    assert_eq!(refusal(&answer), (404, Some(ErrorCode::UserNotEntered)));
    api.post(&path, pick("carol", -1)).await;
    carol
        .event("closed as seated", |e| {
            matches!(e, Event::GuestApplicationNoResponse { .. })
        })
        .await;
    let seats = api.get(&format!("/v1/admin/rooms/{ROOM}/seats")).await.1;
    assert_eq!(
        occupied_seats(&seats),
        pairs(&[(0, "owner"), (1, "carol"), (2, "bob")])
    );
    assert_eq!(seats["seats"].as_array().unwrap().len(), 4);

    // Move (swap), lock (removes the occupant), unlock, kick.
    let path = format!("/v1/admin/rooms/{ROOM}/seats/move");
    let swap = json!({"user_id": "bob", "seat_index": 1, "policy": "swap"});
    let (status, _) = api.post(&path, swap).await;
    assert_eq!(status, 200);
    bob.event("moved", |e| matches!(e, Event::MovedToSeat { to_seat_index: 1, host_user, .. } if host_user.user_id == "@operator"))
        .await;
    let answer = api
        .post(&path, json!({"user_id": "bob", "seat_index": 0}))
        .await;
    assert_eq!(refusal(&answer), (409, Some(ErrorCode::SeatOccupied)));
    let lock = format!("/v1/admin/rooms/{ROOM}/seats/2/lock");
    let (status, _) = api.post(&lock, Value::Null).await;
    assert_eq!(status, 200);
    carol
        .event("kicked by lock", |e| {
            matches!(e, Event::KickedOffSeat { seat_index: 2, .. })
        })
        .await;
    let answer = api.post(&lock, Value::Null).await;
    assert_eq!(refusal(&answer), (409, Some(ErrorCode::SeatLockUnchanged)));
    let unlock = format!("/v1/admin/rooms/{ROOM}/seats/2/unlock");
    assert_eq!(api.post(&unlock, Value::Null).await.0, 200);
    let path = format!("/v1/admin/rooms/{ROOM}/seats/kick");
    assert_eq!(api.post(&path, json!({"user_id": "bob"})).await.0, 200);
    bob.event("kicked", kicked).await;
    let answer = api.post(&path, json!({"user_id": "bob"})).await;
    assert_eq!(refusal(&answer), (409, Some(ErrorCode::UserNotInSeat)));
    let answer = api.post(&path, json!({"user_id": ""})).await;
    assert_eq!(refusal(&answer), (400, Some(ErrorCode::InvalidParameter)));

    // Settings and admins.
    let path = format!("/v1/admin/rooms/{ROOM}/settings");
    let free = json!({"seat_mode": "free_to_take", "max_seat_count": 3});
    let (status, _) = api.post(&path, free).await;
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
    bob.call(ROOM, take(2)).await.unwrap();
    let answer = api.post(&path, json!({"max_seat_count": 2})).await;
    assert_eq!(
        refusal(&answer),
        (409, Some(ErrorCode::SeatCountBelowOccupied))
    );
    let path = format!("/v1/admin/rooms/{ROOM}/admins");
    let grant = json!({"user_id": "carol", "admin": true});
    assert_eq!(api.post(&path, grant).await.0, 200);
    carol
        .event("granted", |e| matches!(e, Event::RoleChanged { .. }))
        .await;
    let r = carol.call(ROOM, invite("owner", -1, 30)).await;
    assert!(r.is_ok(), "{r:?}");
    // Effective at once: carol may now kick.
    carol.call(ROOM, kick("bob")).await.unwrap();

    // Close: every member is told, and the room is gone.
    // A pending request ends with the room.
    owner.call(ROOM, invite("bob", -1, 30)).await.unwrap();
    let (status, _) = api.delete(&format!("/v1/admin/rooms/{ROOM}")).await;
    assert_eq!(status, 204);
    for c in [&mut owner, &mut bob, &mut carol] {
        c.expect("room closed", room_closed).await;
    }
    let (status, _) = api.get(&format!("/v1/admin/rooms/{ROOM}")).await;
    assert_eq!(status, 404);
    let (_, body) = api.get("/v1/admin/rooms").await;
    assert_eq!(body["rooms"], json!([]));
}

/// The body of a `seats/pick`.
fn pick(user: &str, seat: i32) -> Value {
    json!({"user_id": user, "seat_index": seat})
}

/// Methods probed on every route path.
const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "PATCH"];

/// Paths passed to `.route(...)` in the server's HTTP sources, under `/v1/admin` and
/// `/v1/rooms`: where to look for routes the document may have missed.
fn routed_paths() -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    for file in ["src/http.rs", "src/api/admin.rs"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let text = std::fs::read_to_string(path).unwrap();
        for piece in text.split(".route(\"").skip(1) {
            let route = piece.split('"').next().unwrap();
            if route.starts_with("/v1/admin") || route.starts_with("/v1/rooms") {
                out.insert(route.to_owned());
            }
        }
    }
    out
}

/// Whether the running server routes `method path` (anything but the router's own bare
/// 404 or 405).
async fn served(s: &TestServer, method: &str, path: &str) -> bool {
    let concrete = path.replace("{room}", "doc").replace("{seat}", "1");
    let (status, text) = s.http(method, &concrete, Some(KEY), "").await;
    status != 405 && !(status == 404 && text.is_empty())
}

/// The OpenAPI document served by the running server lists exactly the operations it serves
/// under `/v1/admin` and `/v1/rooms`, and every reference in it resolves.
#[tokio::test]
async fn openapi_document_describes_the_running_api() {
    let (s, api) = server_with_key().await;
    let (status, text) = s.http("GET", "/v1/openapi.json", None, "").await;
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut documented = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        assert!(
            path.starts_with("/v1/admin/") || path.starts_with("/v1/rooms/"),
            "{path}"
        );
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let mut paths = routed_paths();
    assert!(paths.len() >= 11, "the route scan found {paths:?}");
    paths.extend(documented.iter().map(|(_, p)| p.clone()));
    api.post("/v1/admin/rooms", json!({"room_id": "doc"})).await;
    let mut serving = std::collections::BTreeSet::new();
    for path in &paths {
        for method in METHODS {
            if served(&s, method, path).await {
                serving.insert(((*method).to_owned(), path.clone()));
            }
        }
    }
    let undocumented: Vec<_> = serving.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&serving).collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "served but not documented: {undocumented:?}; documented but not served: {unserved:?}"
    );
    assert_eq!(documented.len(), 15, "{documented:?}");
    // That every `$ref` resolves is the unit test `the_document_has_every_schema_it_references`.
    s.stop().await;
}

/// A structural check of `value` against a JSON Schema of the document: `$ref`, `type`,
/// `enum`, `const`, `required`, `properties`, `items`, `allOf`, `anyOf`, `oneOf`.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(r) = schema["$ref"].as_str() {
        let target = doc
            .pointer(r.strip_prefix('#').unwrap_or(r))
            .ok_or_else(|| format!("{at}: unresolved {r}"))?;
        check(doc, target, value, at)?;
    }
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let fits = |t: &str| match t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            _ => false,
        };
        if !types.iter().any(|t| fits(t)) {
            return Err(format!("{at}: {value} is not {types:?}"));
        }
    }
    if let Some(options) = schema["enum"].as_array() {
        if !options.contains(value) {
            return Err(format!("{at}: {value} is not one of {options:?}"));
        }
    }
    if let Some(c) = schema.get("const") {
        if c != value {
            return Err(format!("{at}: {value} is not {c}"));
        }
    }
    if let Some(object) = value.as_object() {
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap_or_default();
            if !object.contains_key(name) {
                return Err(format!("{at}: required property {name} is missing"));
            }
        }
        if let Some(props) = schema["properties"].as_object() {
            for (name, sub) in props {
                if let Some(v) = object.get(name) {
                    check(doc, sub, v, &format!("{at}.{name}"))?;
                }
            }
        }
    }
    if let (Some(items), Some(values)) = (schema.get("items"), value.as_array()) {
        for (i, v) in values.iter().enumerate() {
            check(doc, items, v, &format!("{at}[{i}]"))?;
        }
    }
    for sub in schema["allOf"].as_array().into_iter().flatten() {
        check(doc, sub, value, at)?;
    }
    if let Some(any) = schema["anyOf"].as_array() {
        if !any.iter().any(|sub| check(doc, sub, value, at).is_ok()) {
            return Err(format!("{at}: {value} matches no anyOf branch"));
        }
    }
    if let Some(one) = schema["oneOf"].as_array() {
        let n = one
            .iter()
            .filter(|sub| check(doc, sub, value, at).is_ok())
            .count();
        if n != 1 {
            return Err(format!("{at}: {value} matches {n} oneOf branches"));
        }
    }
    Ok(())
}

/// The documented JSON schema of `method path`'s `status` answer.
fn response_schema<'a>(doc: &'a Value, method: &str, path: &str, status: u16) -> &'a Value {
    let schema = &doc["paths"][path][method.to_lowercase()]["responses"][status.to_string()]["content"]
        ["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path} documents no JSON body for {status}"
    );
    schema
}

/// The running server's answers match the documented schemas, with the seats, requests and
/// members filled in.
#[tokio::test]
async fn responses_match_the_documented_schemas() {
    let (s, key) = server_with_key().await;
    let (_, text) = s.http("GET", "/v1/openapi.json", None, "").await;
    let doc: Value = serde_json::from_str(&text).unwrap();
    let admin = s.admin_api();
    let mut checked = Vec::new();
    let mut expect = |method: &str, template: &str, status: u16, got: (u16, Value)| {
        assert_eq!(got.0, status, "{method} {template}: {}", got.1);
        let schema = response_schema(&doc, method, template, status);
        if let Err(e) = check(&doc, schema, &got.1, "body") {
            panic!(
                "{method} {template} answered {status} off its schema: {e}\n{}",
                got.1
            );
        }
        checked.push(format!("{method} {template} {status}"));
    };

    let got = admin
        .call(
            "PUT",
            &format!("/v1/rooms/{ROOM}"),
            json!({"max_seat_count": 4}),
        )
        .await;
    expect("PUT", "/v1/rooms/{room}", 201, got);
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut bob = s.member(ROOM, "bob", Role::Audience).await;
    let _carol = s.member(ROOM, "carol", Role::Audience).await;
    bob.call(ROOM, apply(2, 60)).await.unwrap();
    owner.call(ROOM, invite("carol", -1, 60)).await.unwrap();

    let room = "/v1/admin/rooms/{room}";
    let filled = |t: &str| t.replace("{room}", ROOM);
    let got = key.get("/v1/admin/rooms").await;
    expect("GET", "/v1/admin/rooms", 200, got);
    let got = key.get(&filled(room)).await;
    assert_eq!(got.1["state"]["applicants"][0]["user"]["user_id"], "bob");
    expect("GET", room, 200, got);
    let got = admin.get(&format!("/v1/rooms/{ROOM}")).await;
    assert_eq!(got.1["member_count"], 3);
    expect("GET", "/v1/rooms/{room}", 200, got);
    let got = key.get(&filled(&format!("{room}/seats"))).await;
    assert!(!got.1["seats"][0]["user"].is_null(), "{}", got.1);
    expect("GET", &format!("{room}/seats"), 200, got);
    let got = key.get(&filled(&format!("{room}/requests"))).await;
    assert_eq!(
        got.1["invitees"][0]["user"]["user_id"], "carol",
        "{}",
        got.1
    );
    expect("GET", &format!("{room}/requests"), 200, got);
    let template = format!("{room}/seats/{{seat}}/lock");
    let got = key
        .post(&filled(&template).replace("{seat}", "3"), Value::Null)
        .await;
    expect("POST", &template, 200, got);
    let got = key
        .post("/v1/admin/rooms", json!({"room_id": "second"}))
        .await;
    expect("POST", "/v1/admin/rooms", 201, got);
    let got = key.get("/v1/admin/rooms/nope").await;
    expect("GET", room, 404, got);
    assert_eq!(checked.len(), 9);

    // The check is not vacuous: a body without a required property fails it.
    let (_, mut body) = key.get(&filled(room)).await;
    body["state"]["seats"][0]
        .as_object_mut()
        .unwrap()
        .remove("seat_index");
    let schema = response_schema(&doc, "GET", room, 200);
    let err = check(&doc, schema, &body, "body").unwrap_err();
    assert!(err.contains("seat_index"), "{err}");
    body["state"] = json!({"version": "one"});
    assert!(check(&doc, schema, &body, "body").is_err());
    s.stop().await;
}

/// `(seat, user)` of the occupied seats in a `GET .../seats` answer.
fn occupied_seats(body: &Value) -> Vec<(i32, String)> {
    body["seats"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| !s["user"].is_null())
        .map(|s| {
            (
                i32::try_from(s["seat_index"].as_i64().unwrap()).unwrap(),
                s["user"]["user_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// `(seat, user)` of the occupied seats, read over HTTP.
async fn seated_over_http(api: &AdminApi, room: &str) -> Vec<(i32, String)> {
    let (status, body) = api.get(&format!("/v1/admin/rooms/{room}/seats")).await;
    assert_eq!(status, 200, "{body}");
    occupied_seats(&body)
}

async fn room_version(api: &AdminApi, room: &str) -> u64 {
    let (_, body) = api.get(&format!("/v1/admin/rooms/{room}")).await;
    body["state"]["version"].as_u64().unwrap()
}

/// Moves over HTTP with `force_replace` (the occupant is kicked and told) and
/// `abort_when_occupied` (to a free seat: moved; onto an occupied one: `SEAT_OCCUPIED`,
/// nothing changes), each answering the room version the members see.
#[tokio::test]
async fn force_replace_and_abort_when_occupied_moves_over_http() {
    const R: &str = "adm-move";
    let (s, api) = server_with_key().await;
    let create = json!({"room_id": R, "settings": {"max_seat_count": 6}});
    assert_eq!(api.post("/v1/admin/rooms", create).await.0, 201);
    let mut owner = s.member(R, "owner", Role::Owner).await;
    let mut bob = s.member(R, "bob", Role::Audience).await;
    let mut carol = s.member(R, "carol", Role::Audience).await;
    let pick_path = format!("/v1/admin/rooms/{R}/seats/pick");
    for (user, seat) in [("bob", 1), ("carol", 2)] {
        let (status, body) = api.post(&pick_path, pick(user, seat)).await;
        assert_eq!(status, 200, "{body}");
    }
    let path = format!("/v1/admin/rooms/{R}/seats/move");

    // force_replace: carol onto bob's seat; bob is kicked off it and told.
    let replace = json!({"user_id": "carol", "seat_index": 1, "policy": "force_replace"});
    let (status, body) = api.post(&path, replace).await;
    assert_eq!(status, 200, "{body}");
    let version = body["version"].as_u64().unwrap();
    let kick = bob
        .expect("kicked by force_replace", |m| {
            matches!(
                m,
                ServerMsg::Event {
                    event: Event::KickedOffSeat { seat_index: 1, .. },
                    ..
                }
            )
        })
        .await;
    match kick {
        ServerMsg::Event {
            version: v,
            event: Event::KickedOffSeat { host_user, .. },
            ..
        } => {
            assert_eq!(v, version, "the answer's version is the kick's");
            assert_eq!(host_user.user_id, "@operator");
        }
        _ => unreachable!(),
    }
    carol
        .event("moved by force_replace", |e| {
            matches!(e, Event::MovedToSeat { from_seat_index: 2, to_seat_index: 1, host_user } if host_user.user_id == "@operator")
        })
        .await;
    assert_eq!(
        seated_over_http(&api, R).await,
        pairs(&[(0, "owner"), (1, "carol")])
    );
    // bob really left the seat: it is not seated any more.
    let err = bob
        .call(R, coguest_proto::ClientCommand::LeaveSeat)
        .await
        .unwrap_err();
    assert_eq!(err.code, code(ErrorCode::UserNotInSeat));
    let kicks = bob.count_events(kicked).await;
    assert_eq!(kicks, 0, "bob is told once");

    // abort_when_occupied to a free seat: moved.
    let to_free = json!({"user_id": "carol", "seat_index": 3, "policy": "abort_when_occupied"});
    let (status, body) = api.post(&path, to_free).await;
    assert_eq!(status, 200, "{body}");
    carol
        .event("moved to a free seat", |e| {
            matches!(
                e,
                Event::MovedToSeat {
                    from_seat_index: 1,
                    to_seat_index: 3,
                    ..
                }
            )
        })
        .await;
    assert_eq!(
        seated_over_http(&api, R).await,
        pairs(&[(0, "owner"), (3, "carol")])
    );

    // abort_when_occupied onto an occupied seat: SEAT_OCCUPIED, and nothing changes.
    let (status, body) = api.post(&pick_path, pick("bob", 4)).await;
    assert_eq!(status, 200, "{body}");
    let before = room_version(&api, R).await;
    for body in [
        json!({"user_id": "carol", "seat_index": 4, "policy": "abort_when_occupied"}),
        json!({"user_id": "carol", "seat_index": 4}),
    ] {
        let answer = api.post(&path, body.clone()).await;
        assert_eq!(
            refusal(&answer),
            (409, Some(ErrorCode::SeatOccupied)),
            "{body}: {}",
            answer.1
        );
    }
    assert_eq!(
        room_version(&api, R).await,
        before,
        "a refusal changes nothing"
    );
    assert_eq!(
        pairs(&[(0, "owner"), (3, "carol"), (4, "bob")]),
        seated_over_http(&api, R).await
    );
    for c in [&mut owner, &mut bob, &mut carol] {
        c.barrier().await;
        assert!(
            !c.buf.iter().any(|m| match m {
                ServerMsg::Event { version, .. } | ServerMsg::Change { version, .. } =>
                    *version > before,
                _ => false,
            }),
            "{} heard of a refused move: {:?}",
            c.user,
            c.buf
        );
    }
    s.stop().await;
}

/// Granting and revoking admin over HTTP takes effect at once: the granted user may act as a
/// host, the revoked one is refused with `NEED_ADMIN_PERMISSION` and its invitations are
/// cancelled (the invitee is told, the requests list is empty). The owner's role cannot be
/// changed; a user not yet in the room may be granted ahead of joining.
#[tokio::test]
async fn granting_and_revoking_admin_over_http_takes_effect_at_once() {
    const R: &str = "adm-role";
    let (s, api) = server_with_key().await;
    assert_eq!(
        api.post("/v1/admin/rooms", json!({"room_id": R})).await.0,
        201
    );
    let _owner = s.member(R, "owner", Role::Owner).await;
    let mut dave = s.member(R, "dave", Role::Audience).await;
    let mut erin = s.member(R, "erin", Role::Audience).await;
    let admins = format!("/v1/admin/rooms/{R}/admins");
    let requests = format!("/v1/admin/rooms/{R}/requests");
    let grant = |user: &str, admin: bool| json!({"user_id": user, "admin": admin});

    // Audience: refused.
    let err = dave.call(R, invite("erin", -1, 60)).await.unwrap_err();
    assert_eq!(err.code, code(ErrorCode::NeedAdminPermission));

    // Grant: dave is told (reset, then role_changed by the operator) and may invite at once.
    let (status, body) = api.post(&admins, grant("dave", true)).await;
    assert_eq!(status, 200, "{body}");
    dave.event("granted", |e| {
        matches!(e, Event::RoleChanged { role: coguest_proto::Role::Admin, by_user } if by_user.user_id == "@operator")
    })
    .await;
    dave.expect("reset", reset).await;
    let ack = dave.call(R, invite("erin", -1, 60)).await.unwrap();
    assert!(ack.request_id.is_some(), "{ack:?}");
    erin.event("invited by dave", |e| {
        matches!(e, Event::HostInvitationReceived { host_user, .. } if host_user.user_id == "dave")
    })
    .await;
    let (_, body) = api.get(&requests).await;
    assert_eq!(body["invitees"][0]["inviter_id"], "dave", "{body}");

    // Revoke: dave's invitation is cancelled, erin is told, dave may no longer act as a host.
    let (status, body) = api.post(&admins, grant("dave", false)).await;
    assert_eq!(status, 200, "{body}");
    erin.event("invitation cancelled", |e| {
        matches!(e, Event::HostInvitationCancelled { host_user } if host_user.user_id == "dave")
    })
    .await;
    dave.event("revoked", |e| {
        matches!(
            e,
            Event::RoleChanged {
                role: coguest_proto::Role::Audience,
                ..
            }
        )
    })
    .await;
    let (_, body) = api.get(&requests).await;
    assert_eq!(body["invitees"], json!([]), "{body}");
    let err = dave.call(R, invite("erin", -1, 60)).await.unwrap_err();
    assert_eq!(err.code, code(ErrorCode::NeedAdminPermission));
    let err = dave.call(R, lock(2)).await.unwrap_err();
    assert_eq!(err.code, code(ErrorCode::NeedAdminPermission));
    let err = erin.call(R, accept_inv("dave")).await.unwrap_err();
    assert_eq!(err.code, code(ErrorCode::RequestIdInvalid));

    // The owner's role cannot change.
    let answer = api.post(&admins, grant("owner", false)).await;
    assert_eq!(
        refusal(&answer),
        (409, Some(ErrorCode::CannotChangeOwnerRole))
    );

    // Granted ahead of joining: frank's audience token joins as an admin.
    let (status, body) = api.post(&admins, grant("frank", true)).await;
    assert_eq!(status, 200, "{body}");
    let mut frank = s.member(R, "frank", Role::Audience).await;
    let ack = frank.call(R, invite("erin", -1, 60)).await.unwrap();
    assert!(ack.request_id.is_some(), "{ack:?}");
    s.stop().await;
}
