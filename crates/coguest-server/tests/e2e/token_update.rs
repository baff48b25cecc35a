//! `update_token`: a connection presents a new token before its own expires and stays open;
//! a refused one changes nothing. Expiry is driven by the manual clock, never by sleeping.

use crate::common::*;
use coguest_core::Role;
use coguest_proto::{CLOSE_UNAUTHORIZED, ClientCommand, ErrorCode, ServerMsg};
use coguest_server::auth::{Auth, Claims};

const ROOM: &str = "token-room";

/// Claims for `user` expiring `secs` seconds from the server's now.
fn expiring(s: &TestServer, user: &str, role: Role, secs: u64) -> Claims {
    let mut c = s.claims(user, role);
    c.exp = s.now().as_millis() / 1000 + secs;
    c
}

/// Connects with `claims`, waits for the welcome and joins [`ROOM`] (created first).
async fn connect_with(s: &TestServer, claims: &Claims) -> TestClient {
    s.create_room(ROOM).await;
    let token = s.auth.mint(claims).unwrap();
    let mut c = TestClient::connect(&s.ws_url(Some(&token)), &claims.sub).await;
    assert!(matches!(c.next().await, ServerMsg::Welcome { .. }));
    c.join(ROOM, None).await.unwrap();
    c.take_snapshot(ROOM);
    c
}

async fn update(c: &mut TestClient, room: Option<&str>, token: String) -> Result<Ack, Refused> {
    let id = c.send(room, ClientCommand::UpdateToken { token }).await;
    c.answer(id).await
}

/// Waits for the sweep's expiry error (no `id`), then the close.
async fn expect_expired(c: &mut TestClient) {
    c.expect("the expiry error", |m| {
        matches!(m, ServerMsg::Error { id: None, code: k, .. } if *k == code(ErrorCode::TokenExpired))
    })
    .await;
    assert_eq!(c.closed().await, Some(CLOSE_UNAUTHORIZED));
}

fn has_expiry_error(c: &TestClient) -> bool {
    c.buf.iter().any(
        |m| matches!(m, ServerMsg::Error { code: k, .. } if *k == code(ErrorCode::TokenExpired)),
    )
}

#[tokio::test]
async fn a_renewed_token_keeps_the_connection_open_until_the_new_expiry() {
    let s = TestServer::start().await;
    let mut renewed = connect_with(&s, &expiring(&s, "g", Role::Audience, 60)).await;
    // Expires with `renewed`'s first token: once the sweep closed it, the same sweep pass has
    // looked at `renewed` too.
    let mut control = connect_with(&s, &expiring(&s, "c", Role::Audience, 60)).await;

    s.clock.advance_secs(50);
    let fresh = s
        .auth
        .mint(&expiring(&s, "g", Role::Audience, 3600))
        .unwrap();
    // Without a room; a room given is ignored.
    update(&mut renewed, None, fresh.clone()).await.unwrap();
    assert_eq!(
        update(&mut renewed, Some(ROOM), fresh).await.unwrap(),
        Ack {
            version: None,
            request_id: None
        }
    );

    s.clock.advance_secs(20); // 10 s past the first token's expiry
    expect_expired(&mut control).await;
    renewed.barrier().await;
    assert!(!has_expiry_error(&renewed), "{:?}", renewed.buf);
    // Frames are checked against the new expiry too.
    renewed
        .call(ROOM, apply(-1, 30))
        .await
        .expect("a command after the first token's expiry");

    // The new token's expiry closes it as usual.
    s.clock.advance_secs(3600);
    expect_expired(&mut renewed).await;
}

#[tokio::test]
async fn a_refused_token_changes_nothing() {
    let s = TestServer::start().await;
    let mut c = connect_with(&s, &expiring(&s, "g", Role::Audience, 60)).await;
    let mut scoped = expiring(&s, "g", Role::Audience, 3600);
    scoped.room = Some(ROOM.into());
    let mut expired = expiring(&s, "g", Role::Audience, 0);
    expired.exp -= 1;
    let refusals = [
        // Another user, another role, a room limit the connection does not have.
        (
            s.auth
                .mint(&expiring(&s, "h", Role::Audience, 3600))
                .unwrap(),
            ErrorCode::TokenMismatch,
        ),
        (
            s.auth.mint(&expiring(&s, "g", Role::Owner, 3600)).unwrap(),
            ErrorCode::TokenMismatch,
        ),
        (s.auth.mint(&scoped).unwrap(), ErrorCode::TokenMismatch),
        // The checks made at connect.
        (s.auth.mint(&expired).unwrap(), ErrorCode::TokenExpired),
        ("not.a.jwt".to_owned(), ErrorCode::Unauthenticated),
        (String::new(), ErrorCode::Unauthenticated),
        (
            Auth::new(b"another secret")
                .mint(&expiring(&s, "g", Role::Audience, 3600))
                .unwrap(),
            ErrorCode::Unauthenticated,
        ),
    ];
    for (token, want) in refusals {
        let err = update(&mut c, None, token).await.unwrap_err();
        assert_eq!(err.code, code(want), "{}", err.message);
    }
    // Still open and in its room, and still expiring with its first token.
    c.room_barrier(ROOM).await;
    s.clock.advance_secs(61);
    expect_expired(&mut c).await;
}

#[tokio::test]
async fn a_room_limited_connection_renews_with_a_token_of_the_same_room() {
    let s = TestServer::start().await;
    let mut first = expiring(&s, "g", Role::Admin, 60);
    first.room = Some(ROOM.into());
    let mut c = connect_with(&s, &first).await;
    let mut next = expiring(&s, "g", Role::Admin, 3600);
    next.room = Some(ROOM.into());
    // A new name is accepted (it shows from the next connection on).
    next.name = "G renamed".into();
    update(&mut c, None, s.auth.mint(&next).unwrap())
        .await
        .unwrap();
    s.clock.advance_secs(120);
    c.room_barrier(ROOM).await;
    assert!(!has_expiry_error(&c), "{:?}", c.buf);
}
