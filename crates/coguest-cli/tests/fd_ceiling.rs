//! The real `coguest serve` under a low open-files limit (`ulimit -n` in the shell that execs
//! it): a flood of connections meets the ceiling derived from that limit with `503` answers,
//! `accept` never runs out of descriptors, and the server keeps serving.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coguest_core::{Role, Timestamp};
use coguest_server::auth::{Auth, Claims};
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};
use tokio::process::{Child, Command};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

const SECRET: &str = "fd-ceiling-secret";
const NOFILE: u32 = 128;
const WAIT: Duration = Duration::from_secs(15);

/// `coguest serve` with at most [`NOFILE`] open files, its address, and its stderr as it
/// comes.
async fn serve_limited(data: &std::path::Path) -> (Child, SocketAddr, Arc<Mutex<String>>) {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n {NOFILE} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_coguest"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env("COGUEST_SECRET", SECRET)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap_or_default();
    let addr = first
        .split("ws://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let stderr = Arc::new(Mutex::new(String::new()));
    let mut err_lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let sink = stderr.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = err_lines.next_line().await {
            sink.lock().unwrap().push_str(&(line + "\n"));
        }
    });
    (child, addr, stderr)
}

fn token(user: &str) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let claims = Claims::new(
        user,
        Role::Audience,
        Timestamp::from_millis(now.as_millis() as u64),
        3600,
    );
    Auth::new(SECRET.as_bytes()).mint(&claims).unwrap()
}

async fn tcp_from(src: &str, addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{src}:0").parse().unwrap()).unwrap();
    socket.connect(addr).await.unwrap()
}

/// A WebSocket from `src` once welcomed, or the HTTP status it was refused with.
async fn ws_from(
    src: &str,
    addr: SocketAddr,
    user: &str,
) -> Result<WebSocketStream<TcpStream>, u16> {
    let url = format!("ws://{addr}/v1/ws?token={}", token(user));
    let tcp = tcp_from(src, addr).await;
    let connect = tokio_tungstenite::client_async(url, tcp);
    match tokio::time::timeout(WAIT, connect).await.unwrap() {
        Ok((mut ws, _)) => match tokio::time::timeout(WAIT, ws.next()).await.unwrap() {
            Some(Ok(Message::Text(t))) if t.contains("\"welcome\"") => Ok(ws),
            other => panic!("expected welcome, got {other:?}"),
        },
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("websocket from {src}: {e}"),
    }
}

/// `GET path` on a new connection: the status and body.
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: fd\r\nConnection: close\r\n\r\n");
    let _ = s.write_all(req.as_bytes()).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(WAIT, s.read_to_end(&mut out))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, body.to_owned())
}

fn sample(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .map_or(-1.0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn a_flood_under_a_low_fd_limit_is_refused_with_503_and_the_server_keeps_serving() {
    let data = tempfile::tempdir().unwrap();
    let (mut child, addr, stderr) = serve_limited(data.path()).await;
    let (status, metrics) = get(addr, "/metrics").await;
    assert_eq!(status, 200, "{metrics}");
    let ceiling = sample(&metrics, "coguest_edge_connection_limit");
    assert!(
        ceiling > 50.0 && ceiling < f64::from(NOFILE),
        "ceiling {ceiling} from a limit of {NOFILE}"
    );
    let ceiling = ceiling as usize;

    // Four "machines" (64 connections each at most, the default) open 150 WebSockets.
    let mut open = Vec::new();
    let mut refused = Vec::new();
    for i in 0..150 {
        let src = format!("127.0.0.{}", 2 + i % 4);
        match ws_from(&src, addr, &format!("u{i}")).await {
            Ok(ws) => open.push(ws),
            Err(status) => refused.push(status),
        }
    }
    assert_eq!(open.len(), ceiling);
    assert!(refused.iter().all(|s| *s == 503), "{refused:?}");
    assert_eq!(refused.len(), 150 - ceiling);
    assert_eq!(get(addr, "/healthz").await.0, 503);

    // Connections already in keep working; closing some lets new ones in.
    for ws in open.iter_mut().take(5) {
        ws.send(Message::Ping(b"fd".to_vec().into())).await.unwrap();
        let pong = tokio::time::timeout(WAIT, ws.next()).await.unwrap();
        assert!(matches!(pong, Some(Ok(Message::Pong(_)))), "{pong:?}");
    }
    for mut ws in open.drain(..10) {
        ws.close(None).await.unwrap();
    }
    let until = tokio::time::Instant::now() + WAIT;
    while get(addr, "/healthz").await.0 != 200 {
        assert!(
            tokio::time::Instant::now() < until,
            "the server never answered again"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ws_from("127.0.0.9", addr, "late").await.is_ok());
    let (_, metrics) = get(addr, "/metrics").await;
    let capacity = "coguest_edge_refused_total{reason=\"capacity\"}";
    assert!(
        sample(&metrics, capacity) >= (150 - ceiling) as f64,
        "{metrics}"
    );
    assert_eq!(sample(&metrics, "coguest_edge_accept_errors_total"), 0.0);
    let log = stderr.lock().unwrap().clone();
    assert!(!log.contains("accept failed"), "{log}");
    assert!(!log.to_lowercase().contains("too many open files"), "{log}");
    child.kill().await.unwrap();
}
