//! Authorization: roles come only from tokens; bad tokens are refused and closed.

use crate::common::*;
use coguest_core::Role;
use coguest_proto::{CLOSE_UNAUTHORIZED, ClientCommand, ErrorCode, ServerMsg};
use coguest_server::auth::Auth;

const ROOM: &str = "auth-room";

fn host_commands() -> Vec<ClientCommand> {
    vec![
        accept_app("g"),
        reject_app("g"),
        invite("g", -1, 30),
        ClientCommand::CancelInvitation {
            invitee_id: "g".into(),
        },
        ClientCommand::KickOffSeat {
            user_id: "g".into(),
        },
        ClientCommand::LockSeat { seat_index: 3 },
        ClientCommand::UnlockSeat { seat_index: 3 },
    ]
}

#[tokio::test]
async fn every_host_command_needs_a_host_role() {
    let s = TestServer::start().await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut g = s.member(ROOM, "g", Role::Audience).await;
    let mut other = s.member(ROOM, "other", Role::Audience).await;
    g.call(ROOM, apply(-1, 60)).await.unwrap();
    let before = s
        .http(
            "GET",
            &format!("/v1/rooms/{ROOM}"),
            Some(&s.admin_token()),
            "",
        )
        .await;

    for cmd in host_commands() {
        let kind = cmd.kind();
        let err = other.call(ROOM, cmd).await.unwrap_err();
        assert_eq!(
            err.code,
            code(ErrorCode::NeedAdminPermission),
            "{kind} under audience: {err:?}"
        );
    }
    // Nothing changed.
    let after = s
        .http(
            "GET",
            &format!("/v1/rooms/{ROOM}"),
            Some(&s.admin_token()),
            "",
        )
        .await;
    assert_eq!(before, after);

    // The same commands pass the permission check for an admin and the owner.
    let mut admin = s.member(ROOM, "admin", Role::Admin).await;
    for host in [&mut admin, &mut owner] {
        for cmd in host_commands() {
            let kind = cmd.kind();
            if let Err(e) = host.call(ROOM, cmd).await {
                assert_ne!(
                    e.code,
                    code(ErrorCode::NeedAdminPermission),
                    "{kind} under a host role"
                );
            }
        }
    }
    // Guest commands work for any role.
    let err = other.call(ROOM, accept_inv("owner")).await.unwrap_err();
    assert_eq!(err.code, code(ErrorCode::RequestIdInvalid));
}

#[tokio::test]
async fn a_second_owner_is_refused() {
    let s = TestServer::start().await;
    let _owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut other = s.connect("owner2", Role::Owner).await;
    let err = other.join(ROOM, None).await.unwrap_err();
    assert_eq!(err.code, code(ErrorCode::OwnerAlreadyPresent));
}

async fn refused(s: &TestServer, url: String) -> (i32, Option<u16>) {
    let mut c = TestClient::connect(&url, "x").await;
    let m = c.next().await;
    let ServerMsg::Error { code, .. } = m else {
        panic!("expected an error, got {m:?}");
    };
    let _ = s;
    (code, c.closed().await)
}

#[tokio::test]
async fn bad_tokens_are_refused_and_closed() {
    let s = TestServer::start().await;
    // Missing.
    assert_eq!(
        refused(&s, s.ws_url(None)).await,
        (code(ErrorCode::Unauthenticated), Some(CLOSE_UNAUTHORIZED))
    );
    // Garbage.
    assert_eq!(
        refused(&s, s.ws_url(Some("not.a.jwt"))).await,
        (code(ErrorCode::Unauthenticated), Some(CLOSE_UNAUTHORIZED))
    );
    // Forged: signed with another secret.
    let forged = Auth::new(b"another secret")
        .mint(&s.claims("mallory", Role::Owner))
        .unwrap();
    assert_eq!(
        refused(&s, s.ws_url(Some(&forged))).await,
        (code(ErrorCode::Unauthenticated), Some(CLOSE_UNAUTHORIZED))
    );
    // Expired.
    let mut c = s.claims("late", Role::Audience);
    c.exp = s.now().as_millis() / 1000 - 1;
    let expired = s.auth.mint(&c).unwrap();
    assert_eq!(
        refused(&s, s.ws_url(Some(&expired))).await,
        (code(ErrorCode::TokenExpired), Some(CLOSE_UNAUTHORIZED))
    );
}

#[tokio::test]
async fn bearer_header_is_accepted() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let s = TestServer::start().await;
    let mut req = s.ws_url(None).into_client_request().unwrap();
    req.headers_mut().insert(
        "Authorization",
        format!("Bearer {}", s.token("bob", Role::Audience))
            .parse()
            .unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    use futures_util::StreamExt;
    let m = ws.next().await.unwrap().unwrap();
    assert!(m.to_text().unwrap().contains("welcome"), "{m:?}");
}

#[tokio::test]
async fn wrong_room_token_is_refused_and_closed() {
    let s = TestServer::start().await;
    let mut c = s.claims("g", Role::Audience);
    c.room = Some("only-this".into());
    let token = s.auth.mint(&c).unwrap();
    let mut client = TestClient::connect(&s.ws_url(Some(&token)), "g").await;
    client.next().await; // welcome
    client.join("only-this", None).await.unwrap();
    let err = client.join("another", None).await.unwrap_err();
    assert_eq!(err.code, code(ErrorCode::WrongRoom));
    assert_eq!(client.closed().await, Some(CLOSE_UNAUTHORIZED));
}

#[tokio::test]
async fn a_token_expiring_mid_connection_closes_it() {
    let s = TestServer::start().await;
    let mut c = s.claims("g", Role::Audience);
    c.exp = s.now().as_millis() / 1000 + 60;
    let token = s.auth.mint(&c).unwrap();
    let mut client = TestClient::connect(&s.ws_url(Some(&token)), "g").await;
    client.next().await;
    client.join(ROOM, None).await.unwrap();
    s.clock.advance_secs(61);
    let err = client.call(ROOM, apply(-1, 30)).await.unwrap_err();
    assert_eq!(err.code, code(ErrorCode::TokenExpired));
    assert_eq!(client.closed().await, Some(CLOSE_UNAUTHORIZED));
}

#[tokio::test]
async fn admin_http_needs_an_admin_token() {
    let s = TestServer::start().await;
    let path = "/v1/rooms/settings-room";
    let (status, body) = s.http("PUT", path, None, "{}").await;
    assert_eq!(status, 401, "{body}");
    let user = s.token("u", Role::Owner);
    let (status, body) = s.http("PUT", path, Some(&user), "{}").await;
    assert_eq!(status, 403, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["code"], code(ErrorCode::NeedAdminPermission));
    let (status, _) = s.http("GET", path, Some(&user), "").await;
    assert_eq!(status, 403);
}
