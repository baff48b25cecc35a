//! Graceful shutdown of the real single-node binary: SIGTERM answers what was read, closes
//! every WebSocket with 1012 (PROTOCOL.md: "server restarting or shutting down"), exits 0,
//! and keeps everything it acknowledged.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use coguest_core::Role;
use coguest_proto::ServerMsg;
use std::time::{Duration, Instant};
use support::*;

const ROOM: &str = "shutdown";
/// PROTOCOL.md, close codes: "server restarting or shutting down".
const CLOSE_RECONNECT: u16 = 1012;

/// `(seated user ids, applicant user ids)` of the room, over the HTTP API.
async fn seats_and_applicants(server: &Served) -> (Vec<String>, Vec<String>) {
    let room = server.room_json(ROOM).await;
    let ids = |list: &serde_json::Value, path: &[&str]| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|e| {
                path.iter()
                    .fold(e, |v, k| &v[*k])
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    (
        ids(&room["state"]["connected"], &["user_id"]),
        ids(&room["state"]["applicants"], &["user", "user_id"]),
    )
}

#[tokio::test]
async fn sigterm_answers_closes_with_1012_exits_0_and_keeps_what_it_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Served::start(&data).await;
    let addr = server.addr;

    let mut owner = server.member(ROOM, "owner", Role::Owner).await;
    let mut a = server.member(ROOM, "a", Role::Audience).await;
    let mut b = server.member(ROOM, "b", Role::Audience).await;
    // Answered before the signal.
    let ack = a.call(ROOM, apply(-1, 600)).await.expect("applied");
    assert!(ack.request_id.is_some(), "{ack:?}");
    b.call(ROOM, apply(-1, 600)).await.expect("applied");
    // In flight when the signal arrives: the server answers every frame it has read before
    // it closes the socket; one it had not read yet is not applied (the client retries it
    // after reconnecting).
    let in_flight = owner.send(Some(ROOM), accept_app("b")).await;

    server.sigterm().await;
    let signalled = Instant::now();
    for c in [&mut owner, &mut a, &mut b] {
        assert_eq!(
            c.closed().await,
            Some(CLOSE_RECONNECT),
            "{}: closed with 1012",
            c.user
        );
    }
    let answer = owner.buf.iter().find_map(|m| match m {
        ServerMsg::Ack { id, .. } if *id == in_flight => Some(true),
        ServerMsg::Error { id: Some(id), .. } if *id == in_flight => Some(false),
        _ => None,
    });
    let status = server.exit_within(Duration::from_secs(15)).await;
    assert!(status.success(), "exit status {status}");
    let took = signalled.elapsed();
    assert!(took < Duration::from_secs(10), "shutdown took {took:?}");

    // Gone: new connections are refused.
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "{addr} still accepts connections after the exit"
    );

    // Restarted on the same directory: everything acknowledged is there, nothing else.
    let server = Served::start(&data).await;
    let (seated, mut applicants) = seats_and_applicants(&server).await;
    applicants.sort();
    assert!(applicants.contains(&"a".to_owned()), "{applicants:?}");
    eprintln!("in-flight accept answered: {answer:?}");
    if answer == Some(true) {
        assert_eq!(seated, ["owner", "b"], "the acknowledged accept was kept");
        assert_eq!(applicants, ["a"]);
    } else {
        assert_eq!(
            seated,
            ["owner"],
            "an unacknowledged accept was not applied"
        );
        assert_eq!(applicants, ["a", "b"]);
    }
}

#[tokio::test]
async fn sigterm_with_no_client_exits_0_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Served::start(&dir.path().join("data")).await;
    let (status, _) = server.http("GET", "/healthz", None, "").await;
    assert_eq!(status, 200);
    server.sigterm().await;
    let status = server.exit_within(Duration::from_secs(10)).await;
    assert!(status.success(), "exit status {status}");
}

/// Once `coguest serve` has announced its address, SIGTERM must be a graceful shutdown (an
/// orchestrator may stop a server that just started).
#[tokio::test]
async fn sigterm_right_after_the_listening_line_is_graceful() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Served::start(&dir.path().join("data")).await;
    server.sigterm().await;
    let status = server.exit_within(Duration::from_secs(10)).await;
    assert!(status.success(), "exit status {status}");
}
