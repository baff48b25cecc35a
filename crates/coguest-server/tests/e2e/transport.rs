//! The WebSocket layer under the protocol: what is not an upgrade is refused over HTTP, with
//! the reason; pings are answered with their payload. (The frame writer's length classes and
//! partial writes are unit-tested in `socket.rs`.)

use crate::common::*;
use coguest_core::Role;
use coguest_proto::ClientCommand;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

const ROOM: &str = "transport";

/// Sends a raw HTTP/1.1 request to the WebSocket endpoint; the first bytes of the answer.
async fn raw_request(s: &TestServer, method: &str, headers: &[(&str, &str)]) -> String {
    let mut tcp = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let token = s.token("u", Role::Audience);
    let mut req = format!("{method} /v1/ws?token={token} HTTP/1.1\r\nHost: test\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("Content-Length: 0\r\n\r\n");
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut out = vec![0u8; 4096];
    let n = tokio::time::timeout(WAIT, tcp.read(&mut out))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&out[..n]).to_string()
}

/// [`raw_request`]'s status and body.
async fn upgrade_request(s: &TestServer, method: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let text = raw_request(s, method, headers).await;
    let status = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned());
    (status, body.unwrap_or_default())
}

#[tokio::test]
async fn a_request_that_is_not_a_websocket_upgrade_is_refused_with_the_reason() {
    let s = TestServer::start().await;
    let good = [
        ("Connection", "keep-alive, Upgrade"),
        ("Upgrade", "websocket"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    let without = |name: &str| -> Vec<(&str, &str)> {
        good.iter().copied().filter(|(k, _)| *k != name).collect()
    };
    let cases = [
        ("Connection", 400, "Connection header"),
        ("Upgrade", 400, "Upgrade header"),
        ("Sec-WebSocket-Version", 400, "Sec-WebSocket-Version"),
        ("Sec-WebSocket-Key", 400, "Sec-WebSocket-Key"),
    ];
    for (missing, status, reason) in cases {
        let (got, body) = upgrade_request(&s, "GET", &without(missing)).await;
        assert_eq!(got, status, "without {missing}: {body}");
        assert!(body.contains(reason), "without {missing}: {body}");
    }
    let mut old = without("Sec-WebSocket-Version");
    old.push(("Sec-WebSocket-Version", "8"));
    assert_eq!(upgrade_request(&s, "GET", &old).await.0, 400);
    // The same headers on a GET upgrade: RFC 6455's sample key and its accept value.
    let text = raw_request(&s, "GET", &good).await.to_lowercase();
    assert!(text.starts_with("http/1.1 101"), "{text}");
    assert!(
        text.contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "{text}"
    );
    // Nothing about the room changed: no join happened.
    let (status, _) = s.get_room(ROOM).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_ping_is_answered_with_its_payload_in_order_with_the_protocol() {
    let s = TestServer::start().await;
    let mut c = s.member(ROOM, "pinger", Role::Owner).await;
    c.ws.send(Message::Ping(b"hello".to_vec().into()))
        .await
        .unwrap();
    let pong = tokio::time::timeout(WAIT, async {
        loop {
            match c.ws.next().await {
                Some(Ok(Message::Pong(p))) => return p,
                Some(Ok(_)) => continue,
                other => panic!("no pong: {other:?}"),
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(&pong[..], b"hello");
    // The connection goes on serving commands.
    c.call(ROOM, ClientCommand::Ping).await.unwrap();
}
