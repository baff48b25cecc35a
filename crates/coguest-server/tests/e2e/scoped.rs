//! Scoped credentials: an admin token with a `room` claim reaches that room only, on every
//! route of the HTTP API (the routes are read from the served OpenAPI document, which another
//! test checks against the router, so a new route is covered without being listed here);
//! unscoped tokens and the API key reach every room; the document declares both credentials.

use crate::common::*;
use coguest_core::Role;
use coguest_proto::ErrorCode;
use serde_json::{Value, json};

const KEY: &str = "scoped-key";
const MINE: &str = "room-a";
const THEIRS: &str = "room-b";

/// The credentials a route is called with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Credential {
    /// An admin token limited to [`MINE`].
    Scoped,
    /// An admin token for every room.
    Unscoped,
    /// The API key (`X-Api-Key`).
    Key,
    /// A token limited to [`MINE`] without `adm`.
    NotAdmin,
}

/// Every `(method, path template)` of the served OpenAPI document.
async fn documented_routes(s: &TestServer) -> Vec<(String, String)> {
    let (status, text) = s.http("GET", "/v1/openapi.json", None, "").await;
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&text).unwrap();
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            routes.push((method.to_uppercase(), path.clone()));
        }
    }
    routes
}

/// A body for `method path` naming `room` and `user` where the route takes one (whatever
/// the route's answer, it is not about the credential).
fn body_for(method: &str, path: &str, room: &str) -> Value {
    match (method, path.rsplit('/').next().unwrap_or_default()) {
        ("POST", "rooms") => json!({"room_id": room}),
        ("POST", "pick") => json!({"user_id": "bob", "seat_index": 1}),
        ("POST", "kick") => json!({"user_id": "bob"}),
        ("POST", "move") => json!({"user_id": "bob", "seat_index": 2}),
        ("POST", "settings") => json!({"max_seat_count": 6}),
        ("POST", "admins") => json!({"user_id": "bob", "admin": true}),
        ("PUT", _) => json!({}),
        _ => Value::Null,
    }
}

struct Setup {
    s: TestServer,
    scoped: String,
    unscoped: String,
    not_admin: String,
}

impl Setup {
    async fn start() -> Self {
        let s = TestServer::start_with(|c| c.api_key = Some(KEY.into())).await;
        let mut claims = s.claims("ops", Role::Audience);
        claims.adm = true;
        claims.room = Some(MINE.into());
        let scoped = s.mint(&claims);
        claims.adm = false;
        let not_admin = s.mint(&claims);
        let unscoped = s.admin_token();
        Setup {
            s,
            scoped,
            unscoped,
            not_admin,
        }
    }

    /// Both rooms exist, with bob in them (so the seat routes have someone to act on):
    /// created again, and joined by a new connection of bob's, when a call deleted one.
    async fn rooms(&self, members: &mut Vec<(String, TestClient)>) {
        let key = AdminApi::with_key(self.s.addr, KEY);
        for room in [MINE, THEIRS] {
            let (status, _) = key.get(&format!("/v1/admin/rooms/{room}")).await;
            if status == 200 {
                continue;
            }
            let (status, body) = key.post("/v1/admin/rooms", json!({"room_id": room})).await;
            assert_eq!(status, 201, "{body}");
            members.retain(|(r, _)| r != room);
            members.push((
                room.to_owned(),
                self.s.member(room, "bob", Role::Audience).await,
            ));
        }
    }

    /// `method path` with `credential`: the status and the body.
    async fn call(
        &self,
        credential: Credential,
        method: &str,
        path: &str,
        body: &Value,
    ) -> (u16, Value) {
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let bearer = |t: &str| format!("Bearer {t}");
        let header = match credential {
            Credential::Scoped => ("Authorization", bearer(&self.scoped)),
            Credential::Unscoped => ("Authorization", bearer(&self.unscoped)),
            Credential::NotAdmin => ("Authorization", bearer(&self.not_admin)),
            Credential::Key => ("X-Api-Key", KEY.to_owned()),
        };
        let headers = [
            (header.0, header.1.as_str()),
            ("Content-Type", "application/json"),
        ];
        let (status, text) = http_with(self.s.addr, method, path, &headers, &body).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

/// Every documented route, for both rooms, with every credential: a scoped token reaches its
/// room only (`403 WRONG_ROOM` elsewhere, and nothing changes), the others every room (the
/// API key: `/v1/admin` only), a token without `adm` none.
#[tokio::test]
async fn every_route_checks_the_token_scope() {
    let setup = Setup::start().await;
    let s = &setup.s;
    let routes = documented_routes(s).await;
    assert_eq!(routes.len(), 15, "{routes:?}");
    let mut checked = 0;
    let mut members = Vec::new();
    for (method, template) in &routes {
        for room in [MINE, THEIRS] {
            for credential in [
                Credential::Scoped,
                Credential::Unscoped,
                Credential::Key,
                Credential::NotAdmin,
            ] {
                setup.rooms(&mut members).await;
                let path = template.replace("{room}", room).replace("{seat}", "3");
                let body = body_for(method, template, room);
                let before = s.room_json(THEIRS).await;
                let got = setup.call(credential, method, &path, &body).await;
                let what = format!("{credential:?} {method} {path}: {got:?}");
                let names_room = template.contains("{room}") || body.get("room_id").is_some();
                let rooms_route = template.starts_with("/v1/rooms/");
                match credential {
                    Credential::NotAdmin => {
                        assert_eq!(
                            refusal(&got),
                            (403, Some(ErrorCode::NeedAdminPermission)),
                            "{what}"
                        );
                    }
                    Credential::Key if rooms_route => {
                        assert_eq!(got.0, 401, "the API key is not for /v1/rooms: {what}");
                    }
                    Credential::Scoped if names_room && room == THEIRS => {
                        assert_eq!(refusal(&got), (403, Some(ErrorCode::WrongRoom)), "{what}");
                        let message = got.1["message"].as_str().unwrap();
                        assert!(message.contains(MINE), "{message}");
                        let after = s.room_json(THEIRS).await;
                        assert_eq!(after, before, "a refused call changed nothing: {what}");
                    }
                    _ => assert!(![401, 403, 415].contains(&got.0), "{what}"),
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, routes.len() * 2 * 4);

    // The list shows a scoped token its room only.
    setup.rooms(&mut members).await;
    let list = |got: (u16, Value)| -> Vec<String> {
        assert_eq!(got.0, 200, "{got:?}");
        serde_json::from_value(got.1["rooms"].clone()).unwrap()
    };
    let all = list(
        setup
            .call(Credential::Unscoped, "GET", "/v1/admin/rooms", &Value::Null)
            .await,
    );
    assert!(
        all.contains(&MINE.to_owned()) && all.contains(&THEIRS.to_owned()),
        "{all:?}"
    );
    let mine = list(
        setup
            .call(Credential::Scoped, "GET", "/v1/admin/rooms", &Value::Null)
            .await,
    );
    assert_eq!(mine, vec![MINE.to_owned()]);
    setup.s.stop().await;
}

/// The finding: a scoped token deleted and created any room. Now it cannot, and what it was
/// refused did not happen.
#[tokio::test]
async fn a_scoped_token_cannot_delete_or_create_another_room() {
    let setup = Setup::start().await;
    let s = &setup.s;
    let mut members = Vec::new();
    setup.rooms(&mut members).await;
    let path = format!("/v1/admin/rooms/{THEIRS}");
    let got = setup
        .call(Credential::Scoped, "DELETE", &path, &Value::Null)
        .await;
    assert_eq!(refusal(&got), (403, Some(ErrorCode::WrongRoom)), "{got:?}");
    assert_eq!(s.get_room(THEIRS).await.0, 200, "still there");
    let body = json!({"room_id": "room-c"});
    let got = setup
        .call(Credential::Scoped, "POST", "/v1/admin/rooms", &body)
        .await;
    assert_eq!(refusal(&got), (403, Some(ErrorCode::WrongRoom)), "{got:?}");
    let got = setup
        .call(Credential::Scoped, "PUT", "/v1/rooms/room-c", &json!({}))
        .await;
    assert_eq!(refusal(&got), (403, Some(ErrorCode::WrongRoom)), "{got:?}");
    assert_eq!(s.get_room("room-c").await.0, 404, "not created");
    // Its own room it may close.
    let path = format!("/v1/admin/rooms/{MINE}");
    let got = setup
        .call(Credential::Scoped, "DELETE", &path, &Value::Null)
        .await;
    assert_eq!(got.0, 204, "{got:?}");
    setup.s.stop().await;
}

#[tokio::test]
async fn a_wrong_api_key_is_told_in_words() {
    let setup = Setup::start().await;
    let s = &setup.s;
    for headers in [
        [("X-Api-Key", "wrong-key")],
        [("Authorization", "Bearer wrong-key")],
    ] {
        let (status, text) = http_with(s.addr, "GET", "/v1/admin/rooms", &headers, "").await;
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(status, 401, "{text}");
        assert_eq!(body["code"], code(ErrorCode::Unauthenticated));
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("API key is wrong"), "{message}");
        assert!(!message.contains("InvalidToken"), "{message}");
    }
    // A token signed with another secret says so, without jsonwebtoken's variant names.
    let other = coguest_server::auth::Auth::new(b"another secret");
    let mut claims = s.claims("ops", Role::Audience);
    claims.adm = true;
    let forged = other.mint(&claims).unwrap();
    let (status, text) = s.http("GET", "/v1/admin/rooms", Some(&forged), "").await;
    assert_eq!(status, 401, "{text}");
    assert!(text.contains("bad signature"), "{text}");
    assert!(!text.contains("InvalidSignature"), "{text}");
    setup.s.stop().await;
}

/// Generated clients learn both credentials from the document: the schemes, a global
/// requirement (either one), and the admin token alone on `/v1/rooms`.
#[tokio::test]
async fn the_openapi_document_declares_its_credentials() {
    let setup = Setup::start().await;
    let (_, text) = setup.s.http("GET", "/v1/openapi.json", None, "").await;
    let doc: Value = serde_json::from_str(&text).unwrap();
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["type"], "http", "{schemes}");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["api_key"]["type"], "apiKey");
    assert_eq!(schemes["api_key"]["in"], "header");
    assert_eq!(schemes["api_key"]["name"], "X-Api-Key");
    assert_eq!(doc["security"], json!([{"bearer": []}, {"api_key": []}]));
    for method in ["get", "put"] {
        let op = &doc["paths"]["/v1/rooms/{room}"][method];
        assert_eq!(op["security"], json!([{"bearer": []}]), "{method}");
    }
    // Every operation documents the credential refusals.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for status in ["401", "403"] {
                assert!(
                    op["responses"][status].is_object(),
                    "{method} {path} {status}"
                );
            }
        }
    }
    setup.s.stop().await;
}
