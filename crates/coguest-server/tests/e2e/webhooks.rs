//! Webhooks against a real receiver (axum on 127.0.0.1:0): signed, in room order, nothing
//! missing, across a server restart while the receiver is down.

use crate::common::*;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use coguest_core::Role;
use coguest_proto::{ClientCommand, WebhookEvent};
use coguest_server::webhook::{SIGNATURE_HEADER, TIMESTAMP_HEADER, verify};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ROOM: &str = "hooks";
const HOOK_SECRET: &[u8] = b"hook-secret";

#[derive(Default)]
struct Receiver {
    up: AtomicBool,
    attempts: AtomicUsize,
    /// `(timestamp header, signature header, body)` of each accepted delivery.
    got: Mutex<Vec<(String, String, String)>>,
}

async fn hook(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    r.attempts.fetch_add(1, Ordering::SeqCst);
    if !r.up.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let text = String::from_utf8_lossy(&body).to_string();
    r.got
        .lock()
        .unwrap()
        .push((h(TIMESTAMP_HEADER), h(SIGNATURE_HEADER), text));
    StatusCode::NO_CONTENT
}

async fn receiver() -> (Arc<Receiver>, String) {
    let r = Arc::new(Receiver::default());
    let app = Router::new()
        .route("/hook", post(hook))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (r, url)
}

async fn until(what: &str, f: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn signed_in_order_and_complete_across_a_restart_with_the_receiver_down() {
    let (rx, url) = receiver().await;
    let s = TestServer::start_with(|c| {
        c.webhooks.endpoints = vec![url.clone()];
        c.webhooks.secret = HOOK_SECRET.to_vec();
        c.webhooks.backoff_initial = Duration::from_millis(5);
        c.webhooks.backoff_max = Duration::from_millis(40);
    })
    .await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut bob = s.member(ROOM, "bob", Role::Audience).await;
    bob.call(ROOM, apply(-1, 30)).await.unwrap();
    owner.call(ROOM, accept_app("bob")).await.unwrap();
    // The endpoint is down: deliveries are tried and fail; the room is not slowed.
    until("a failed attempt", || {
        rx.attempts.load(Ordering::SeqCst) >= 2
    })
    .await;
    assert!(rx.got.lock().unwrap().is_empty());
    drop((owner, bob));

    let s = s.restart().await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    // Fresh request ids: the server remembers the answers of this user's earlier ones.
    for (id, cmd) in [
        (
            101,
            ClientCommand::KickOffSeat {
                user_id: "bob".into(),
            },
        ),
        (102, ClientCommand::LockSeat { seat_index: 3 }),
    ] {
        owner.send_with_id(id, Some(ROOM), cmd).await;
        owner.answer(id).await.unwrap();
    }
    let (status, _) = s
        .http(
            "DELETE",
            &format!("/v1/admin/rooms/{ROOM}"),
            Some(&s.admin_token()),
            "",
        )
        .await;
    assert_eq!(status, 204);
    owner
        .expect("room closed", |m| {
            matches!(m, coguest_proto::ServerMsg::RoomClosed { .. })
        })
        .await;
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
    let enough = || rx.got.lock().unwrap().len() >= expected.len();
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
        kinds(&rx.got.lock().unwrap()),
        rx.attempts.load(Ordering::SeqCst)
    );
    // Nothing more arrives late (a redelivery would repeat an id).
    tokio::time::sleep(Duration::from_millis(100)).await;
    let got = rx.got.lock().unwrap().clone();
    let mut events = Vec::new();
    for (ts, sig, body) in &got {
        let ts: u64 = ts.parse().unwrap();
        assert!(
            verify(HOOK_SECRET, ts, body.as_bytes(), sig),
            "bad signature on {body}"
        );
        assert!(!verify(b"other", ts, body.as_bytes(), sig));
        let e: WebhookEvent = serde_json::from_str(body).unwrap();
        events.push(e);
    }
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
    let mut ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), events.len(), "event ids are unique");
    s.stop().await;
}
