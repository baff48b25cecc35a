//! The connection edge against real sockets on loopback: slowloris connections closed at the
//! handshake deadline, the per-address, handshake and connection limits under floods (a good
//! client still gets in), forwarded addresses from a trusted proxy, and TLS on the listener.
//! Clients take other loopback addresses (127.0.0.2, ...) to stand for other machines.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coguest_core::{Role, Timestamp};
use coguest_server::auth::{Auth, Claims};
use coguest_server::{ManualClock, Server, ServerConfig, TlsFiles};
use futures_util::{SinkExt, StreamExt};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const T0: u64 = 1_700_000_000_000;
const SECRET: &[u8] = b"edge-secret";
/// Longest any single wait may take when things work.
const WAIT: Duration = Duration::from_secs(10);

struct Edge {
    server: Option<Server>,
    addr: SocketAddr,
    auth: Auth,
    /// Set when the server speaks TLS: trusts its CA.
    tls: Option<tokio_rustls::TlsConnector>,
    _dir: tempfile::TempDir,
}

async fn start(f: impl FnOnce(&mut ServerConfig)) -> Edge {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path().join("data"), SECRET);
    config.limits.idle_timeout = Duration::ZERO;
    f(&mut config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Server::builder(config)
        .clock(Arc::new(ManualClock::new(Timestamp::from_millis(T0))))
        .start(listener)
        .await
        .unwrap();
    Edge {
        server: Some(server),
        addr,
        auth: Auth::new(SECRET),
        tls: None,
        _dir: dir,
    }
}

impl Edge {
    fn token(&self, user: &str) -> String {
        let claims = Claims::new(user, Role::Audience, Timestamp::from_millis(T0), 3600);
        self.auth.mint(&claims).unwrap()
    }

    /// A TCP connection from `src` (a loopback address: another "machine").
    async fn tcp_from(&self, src: &str) -> TcpStream {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind(format!("{src}:0").parse().unwrap()).unwrap();
        socket.connect(self.addr).await.unwrap()
    }

    /// A WebSocket from `src`, with extra request headers, once the server said `welcome`;
    /// or the HTTP status it was refused with.
    async fn ws_from(
        &self,
        src: &str,
        user: &str,
        headers: &[(&str, &str)],
    ) -> Result<WebSocketStream<TcpStream>, u16> {
        let url = format!("ws://{}/v1/ws?token={}", self.addr, self.token(user));
        let mut req = url.into_client_request().unwrap();
        for (k, v) in headers {
            let name = tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(k.as_bytes());
            req.headers_mut().append(name.unwrap(), v.parse().unwrap());
        }
        let tcp = self.tcp_from(src).await;
        let connect = tokio_tungstenite::client_async(req, tcp);
        match tokio::time::timeout(WAIT, connect).await.unwrap() {
            Ok((mut ws, _)) => {
                welcome(&mut ws).await;
                Ok(ws)
            }
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
            Err(e) => panic!("websocket from {src}: {e}"),
        }
    }

    async fn ws(&self, user: &str) -> WebSocketStream<TcpStream> {
        self.ws_from("127.0.0.1", user, &[]).await.unwrap()
    }

    /// `GET path` on a new connection from `src`: the status and the body.
    async fn get_from(&self, src: &str, path: &str) -> (u16, String) {
        let tcp = self.tcp_from(src).await;
        match &self.tls {
            None => get_on(tcp, path).await,
            Some(tls) => {
                let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
                get_on(tls.connect(name, tcp).await.unwrap(), path).await
            }
        }
    }

    async fn get(&self, path: &str) -> (u16, String) {
        self.get_from("127.0.0.1", path).await
    }

    /// One sample of `/metrics` (`name{labels}` as printed).
    async fn metric(&self, sample: &str) -> f64 {
        let (status, text) = self.get("/metrics").await;
        assert_eq!(status, 200, "{text}");
        text.lines()
            .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' '))
            .map_or(0.0, |v| v.trim().parse().unwrap())
    }

    /// Polls `GET /healthz` from `src` until it answers 200.
    async fn gets_in_from(&self, src: &str) {
        let until = Instant::now() + WAIT;
        loop {
            let (status, _) = self.get_from(src, "/healthz").await;
            if status == 200 {
                return;
            }
            assert!(Instant::now() < until, "{src} still refused ({status})");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn stop(mut self) {
        let stopped = tokio::time::timeout(WAIT, self.server.take().unwrap().shutdown()).await;
        stopped.unwrap().unwrap();
    }
}

async fn welcome<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>) {
    let first = tokio::time::timeout(WAIT, ws.next()).await.unwrap();
    match first {
        Some(Ok(Message::Text(t))) => assert!(t.contains("\"welcome\""), "{t}"),
        other => panic!("expected welcome, got {other:?}"),
    }
}

/// A WebSocket still served: a ping is answered.
async fn alive<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>) {
    ws.send(Message::Ping(b"edge".to_vec().into()))
        .await
        .unwrap();
    loop {
        match tokio::time::timeout(WAIT, ws.next()).await.unwrap() {
            Some(Ok(Message::Pong(p))) => {
                assert_eq!(&p[..], b"edge");
                return;
            }
            Some(Ok(_)) => {}
            other => panic!("connection lost: {other:?}"),
        }
    }
}

/// A minimal HTTP/1.1 `GET` with `Connection: close`.
async fn get_on<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, path: &str) -> (u16, String) {
    let req = format!("GET {path} HTTP/1.1\r\nHost: edge\r\nConnection: close\r\n\r\n");
    // The server may answer (a refusal) and close before the request is written.
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
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, body.to_owned())
}

/// How long until the server closes `s` (reading whatever it sends).
async fn closed_after(mut s: TcpStream, started: Instant) -> Duration {
    let mut buf = [0u8; 256];
    loop {
        match tokio::time::timeout(WAIT, s.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => {}
            Err(_) => panic!("the server never closed the connection"),
        }
    }
}

#[tokio::test]
async fn slowloris_connections_close_at_the_deadline_and_a_good_client_gets_in() {
    let s = start(|c| {
        c.edge.handshake_timeout = Duration::from_secs(1);
        c.edge.max_connections_per_ip = 8;
        c.edge.max_handshakes = 64;
    })
    .await;
    let mut early = s.ws("early").await;
    let started = Instant::now();
    let mut slow = Vec::new();
    for src in ["127.0.0.2", "127.0.0.3", "127.0.0.4"] {
        for i in 0..8 {
            let mut tcp = s.tcp_from(src).await;
            if i % 2 == 0 {
                // Half a request head; the other half sends nothing at all.
                tcp.write_all(b"GET /v1/ws HTTP/1.1\r\nHost: edge\r\n")
                    .await
                    .unwrap();
            }
            slow.push(tcp);
        }
    }
    // A trickler: one byte of head every 200 ms is still bounded by the deadline.
    let mut trickler = s.tcp_from("127.0.0.5").await;
    let trickle = tokio::spawn(async move {
        for b in b"GET /healthz HTTP/1.1\r\nHost: edge\r\nX-Slow: yes\r\n".iter() {
            if trickler.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        trickler
    });
    // Meanwhile good clients get in: a WebSocket and plain HTTP.
    let mut late = s.ws("late").await;
    assert_eq!(s.get("/healthz").await, (200, "ok\n".to_owned()));
    assert_eq!(s.metric("coguest_edge_handshakes").await, 25.0);

    let closes = slow
        .into_iter()
        .map(|tcp| tokio::spawn(closed_after(tcp, started)));
    for close in closes {
        let after = close.await.unwrap();
        assert!(
            after >= Duration::from_millis(900) && after < Duration::from_secs(3),
            "closed after {after:?}"
        );
    }
    let trickler = trickle.await.unwrap();
    let after = closed_after(trickler, started).await;
    assert!(
        after < Duration::from_secs(3),
        "trickler closed after {after:?}"
    );

    // The upgraded connections outlive the deadline.
    alive(&mut early).await;
    alive(&mut late).await;
    let timeouts = "coguest_edge_refused_total{reason=\"handshake_timeout\"}";
    assert_eq!(s.metric(timeouts).await, 25.0);
    assert_eq!(s.metric("coguest_edge_handshakes").await, 0.0);
    s.stop().await;
}

#[tokio::test]
async fn one_address_is_limited_and_others_get_in() {
    let s = start(|c| c.edge.max_connections_per_ip = 4).await;
    let mut held = Vec::new();
    for i in 0..4 {
        held.push(s.ws_from("127.0.0.2", &format!("u{i}"), &[]).await.unwrap());
    }
    assert_eq!(s.ws_from("127.0.0.2", "u4", &[]).await.err(), Some(429));
    let (status, body) = s.get_from("127.0.0.2", "/healthz").await;
    assert_eq!(status, 429);
    assert_eq!(body, "too many connections from this address");
    // Another address is not affected.
    assert_eq!(s.get_from("127.0.0.3", "/healthz").await.0, 200);
    assert!(s.ws_from("127.0.0.3", "v", &[]).await.is_ok());
    // A connection of the first address closes: its share is free again.
    let mut one = held.pop().unwrap();
    one.close(None).await.unwrap();
    drop(one);
    s.gets_in_from("127.0.0.2").await;
    for ws in &mut held {
        alive(ws).await;
    }
    let refused = s
        .metric("coguest_edge_refused_total{reason=\"per_ip\"}")
        .await;
    assert!(refused >= 2.0, "{refused}");
    s.stop().await;
}

#[tokio::test]
async fn handshakes_in_progress_are_capped_until_they_time_out() {
    let s = start(|c| {
        c.edge.handshake_timeout = Duration::from_secs(1);
        c.edge.max_handshakes = 6;
        c.edge.max_connections_per_ip = 0;
    })
    .await;
    let mut good = s.ws("good").await;
    let mut silent = Vec::new();
    for _ in 0..6 {
        silent.push(s.tcp_from("127.0.0.2").await);
    }
    // Accepted in order: the six hold every handshake slot.
    let (status, body) = s.get_from("127.0.0.3", "/healthz").await;
    assert_eq!(
        (status, body.as_str()),
        (503, "the server is at its connection limit")
    );
    // An established connection is not in a handshake.
    alive(&mut good).await;
    // The silent ones are dropped at the deadline; then new clients get in.
    s.gets_in_from("127.0.0.3").await;
    let refused = "coguest_edge_refused_total{reason=\"handshakes\"}";
    assert!(s.metric(refused).await >= 1.0);
    let timeouts = "coguest_edge_refused_total{reason=\"handshake_timeout\"}";
    assert_eq!(s.metric(timeouts).await, 6.0);
    drop(silent);
    s.stop().await;
}

#[tokio::test]
async fn a_connection_flood_meets_the_ceiling_with_503_and_a_good_client_gets_in_after() {
    let s = start(|c| {
        c.edge.max_connections = Some(12);
        c.edge.max_connections_per_ip = 5;
    })
    .await;
    let mut open = Vec::new();
    let mut refused = Vec::new();
    for (n, src) in ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"]
        .iter()
        .enumerate()
    {
        for i in 0..5 {
            match s.ws_from(src, &format!("f{n}-{i}"), &[]).await {
                Ok(ws) => open.push(ws),
                Err(status) => refused.push(status),
            }
        }
    }
    assert_eq!(open.len(), 12);
    assert_eq!(refused, vec![503; 8]);
    let (status, _) = s.get_from("127.0.0.9", "/healthz").await;
    assert_eq!(status, 503);
    // The flood ends: the good client gets in.
    for mut ws in open.drain(..3) {
        ws.close(None).await.unwrap();
    }
    s.gets_in_from("127.0.0.9").await;
    assert!(s.ws_from("127.0.0.9", "good", &[]).await.is_ok());
    assert_eq!(s.metric("coguest_edge_connection_limit").await, 12.0);
    let capacity = "coguest_edge_refused_total{reason=\"capacity\"}";
    assert!(s.metric(capacity).await >= 9.0);
    for ws in &mut open {
        alive(ws).await;
    }
    s.stop().await;
}

#[tokio::test]
async fn a_trusted_proxy_forwards_its_clients_addresses() {
    let s = start(|c| {
        c.edge.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        c.edge.max_connections_per_ip = 2;
    })
    .await;
    let via = |xff: &'static str| [("x-forwarded-for", xff)];
    // Through the proxy: two connections of 203.0.113.7; a third is refused even when the
    // client wrote a hop of its own in front.
    let a = s
        .ws_from("127.0.0.1", "a", &via("203.0.113.7"))
        .await
        .unwrap();
    let b = s
        .ws_from("127.0.0.1", "b", &via("203.0.113.7"))
        .await
        .unwrap();
    let spoofed = via("198.51.100.99, 203.0.113.7");
    assert_eq!(s.ws_from("127.0.0.1", "c", &spoofed).await.err(), Some(429));
    // Other clients of the same proxy are not: the proxy itself has no limit.
    let mut d = s
        .ws_from("127.0.0.1", "d", &via("203.0.113.8"))
        .await
        .unwrap();
    let _e = s
        .ws_from("127.0.0.1", "e", &via("198.51.100.99"))
        .await
        .unwrap();
    // An untrusted peer's header is ignored: it is limited by its own address.
    let f = s
        .ws_from("127.0.0.2", "f", &via("203.0.113.50"))
        .await
        .unwrap();
    let _g = s
        .ws_from("127.0.0.2", "g", &via("203.0.113.51"))
        .await
        .unwrap();
    assert_eq!(
        s.ws_from("127.0.0.2", "h", &via("203.0.113.52"))
            .await
            .err(),
        Some(429)
    );
    let proxied = "coguest_edge_refused_total{reason=\"proxied_per_ip\"}";
    assert_eq!(s.metric(proxied).await, 1.0);
    // One of 203.0.113.7's connections ends: it may open another.
    drop((a, f));
    let until = Instant::now() + WAIT;
    loop {
        match s.ws_from("127.0.0.1", "c", &via("203.0.113.7")).await {
            Ok(_) => break,
            Err(status) => assert!(Instant::now() < until, "still refused ({status})"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    alive(&mut d).await;
    drop(b);
    s.stop().await;
}

/// A private CA and a certificate for 127.0.0.1 it issued, written as PEM files.
fn tls_files(dir: &std::path::Path) -> (TlsFiles, String) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "edge test CA");
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let files = TlsFiles {
        cert: dir.join("server.crt"),
        key: dir.join("server.key"),
    };
    std::fs::write(&files.cert, leaf.pem()).unwrap();
    std::fs::write(&files.key, key.serialize_pem()).unwrap();
    (files, ca_pem)
}

fn connector(ca_pem: &str) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

#[tokio::test]
async fn tls_serves_https_and_wss_and_drops_stalled_handshakes() {
    let certs = tempfile::tempdir().unwrap();
    let (files, ca_pem) = tls_files(certs.path());
    let mut s = start(|c| {
        c.edge.tls = Some(files);
        c.edge.handshake_timeout = Duration::from_secs(1);
    })
    .await;
    s.tls = Some(connector(&ca_pem));
    assert_eq!(s.get("/healthz").await, (200, "ok\n".to_owned()));

    // wss:// through the same listener.
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let tcp = s.tcp_from("127.0.0.1").await;
    let tls = s.tls.as_ref().unwrap().connect(name, tcp).await.unwrap();
    let url = format!("wss://{}/v1/ws?token={}", s.addr, s.token("w"));
    let (mut ws, _) = tokio_tungstenite::client_async(url, tls).await.unwrap();
    welcome(&mut ws).await;

    // A silent connection and a ClientHello cut short are closed at the deadline.
    let started = Instant::now();
    let silent = s.tcp_from("127.0.0.2").await;
    let mut cut = s.tcp_from("127.0.0.2").await;
    cut.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .await
        .unwrap();
    for tcp in [silent, cut] {
        let after = closed_after(tcp, started).await;
        assert!(after < Duration::from_secs(3), "closed after {after:?}");
    }
    // Plain HTTP on the TLS port fails its handshake.
    let mut plain = s.tcp_from("127.0.0.2").await;
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: edge\r\n\r\n")
        .await
        .unwrap();
    closed_after(plain, Instant::now()).await;

    alive(&mut ws).await;
    let timeouts = "coguest_edge_refused_total{reason=\"handshake_timeout\"}";
    assert_eq!(s.metric(timeouts).await, 2.0);
    assert_eq!(
        s.metric("coguest_edge_refused_total{reason=\"tls\"}").await,
        1.0
    );
    s.stop().await;
}

#[tokio::test]
async fn unusable_tls_files_stop_the_start_and_change_nothing() {
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (files, _) = tls_files(one.path());
    let (other, _) = tls_files(two.path());
    let missing = TlsFiles {
        cert: files.cert.clone(),
        key: one.path().join("missing.key"),
    };
    let mismatched = TlsFiles {
        cert: files.cert.clone(),
        key: other.key.clone(),
    };
    let swapped = TlsFiles {
        cert: files.key.clone(),
        key: files.cert.clone(),
    };
    for (bad, says) in [
        (missing, "missing.key"),
        (mismatched, "is not the key of"),
        (swapped, "server.key"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::new(dir.path().join("data"), SECRET);
        config.edge.tls = Some(bad);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let err = Server::builder(config).start(listener).await.unwrap_err();
        assert!(err.to_string().contains(says), "{err}");
        assert!(
            !dir.path().join("data").exists(),
            "the data directory was created"
        );
    }
}

#[tokio::test]
async fn shutdown_does_not_wait_for_stalled_handshakes() {
    let s = start(|c| c.edge.handshake_timeout = Duration::from_secs(30)).await;
    let mut stalled = s.tcp_from("127.0.0.2").await;
    stalled
        .write_all(b"GET /healthz HTTP/1.1\r\n")
        .await
        .unwrap();
    let _silent = s.tcp_from("127.0.0.3").await;
    assert_eq!(s.get("/healthz").await.0, 200);
    let started = Instant::now();
    s.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    closed_after(stalled, started).await;
}
