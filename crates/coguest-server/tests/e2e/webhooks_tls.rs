//! Webhooks over HTTPS against real TLS receivers (axum behind rustls on 127.0.0.1:0) whose
//! certificates are issued by private CAs generated here: the CA given as
//! `WebhookConfig::ca_file` is trusted and gets signed deliveries; a receiver whose CA is not
//! trusted never gets one (every attempt fails in the handshake and is retried).

use crate::common::*;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use coguest_proto::WebhookEvent;
use coguest_server::webhook::{SIGNATURE_HEADER, TIMESTAMP_HEADER, verify};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

const HOOK_SECRET: &[u8] = b"tls-hook-secret";

/// A private CA: its certificate (PEM) and what signs leaves.
struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let cert = params.self_signed(&key).unwrap();
    Ca {
        pem: cert.pem(),
        issuer: Issuer::new(params, key),
    }
}

/// A server certificate for 127.0.0.1 issued by `ca`.
fn leaf(ca: &Ca) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert = params.signed_by(&key, &ca.issuer).unwrap();
    let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    (cert.der().clone(), der)
}

#[derive(Default)]
struct Receiver {
    /// TLS handshakes that failed (the client refused the certificate).
    failed_handshakes: AtomicUsize,
    /// `(timestamp header, signature header, body)` of each delivery.
    got: Mutex<Vec<(String, String, String)>>,
}

/// Accepts TCP and completes the TLS handshake before handing the stream to axum.
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    receiver: Arc<Receiver>,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            match self.acceptor.accept(tcp).await {
                Ok(tls) => return (tls, addr),
                Err(_) => {
                    self.receiver
                        .failed_handshakes
                        .fetch_add(1, Ordering::SeqCst);
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

async fn hook(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> StatusCode {
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

/// An HTTPS receiver on 127.0.0.1:0 with a certificate issued by `ca`; its `https://` URL.
async fn https_receiver(ca: &Ca) -> (Arc<Receiver>, String) {
    let (cert, key) = leaf(ca);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let r = Arc::new(Receiver::default());
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/hook", tcp.local_addr().unwrap());
    let listener = TlsListener {
        tcp,
        acceptor: TlsAcceptor::from(Arc::new(config)),
        receiver: r.clone(),
    };
    let app = Router::new()
        .route("/hook", post(hook))
        .with_state(r.clone());
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
async fn https_delivers_to_a_trusted_private_ca_and_never_to_an_untrusted_one() {
    let trusted_ca = ca("coguest test trusted CA");
    let other_ca = ca("coguest test untrusted CA");
    let (trusted, trusted_url) = https_receiver(&trusted_ca).await;
    let (untrusted, untrusted_url) = https_receiver(&other_ca).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &trusted_ca.pem).unwrap();

    let s = TestServer::start_with(|c| {
        c.webhooks.endpoints = vec![trusted_url.clone(), untrusted_url.clone()];
        c.webhooks.ca_file = Some(ca_file.clone());
        c.webhooks.secret = HOOK_SECRET.to_vec();
        c.webhooks.backoff_initial = Duration::from_millis(5);
        c.webhooks.backoff_max = Duration::from_millis(20);
    })
    .await;
    let (status, _) = s
        .http(
            "POST",
            "/v1/admin/rooms",
            Some(&s.admin_token()),
            r#"{"room_id":"tls"}"#,
        )
        .await;
    assert_eq!(status, 201);

    until("a delivery over HTTPS", || {
        !trusted.got.lock().unwrap().is_empty()
    })
    .await;
    let (ts, sig, body) = trusted.got.lock().unwrap()[0].clone();
    let ts: u64 = ts.parse().unwrap();
    assert!(verify(HOOK_SECRET, ts, body.as_bytes(), &sig), "{body}");
    let event: WebhookEvent = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (event.kind.as_str(), event.room.as_str()),
        ("room_created", "tls")
    );

    // The untrusted receiver sees handshakes fail again and again (retries), never a request.
    until("retried handshakes to the untrusted receiver", || {
        untrusted.failed_handshakes.load(Ordering::SeqCst) >= 3
    })
    .await;
    assert!(untrusted.got.lock().unwrap().is_empty());
    assert_eq!(trusted.failed_handshakes.load(Ordering::SeqCst), 0);
    s.stop().await;
}

#[tokio::test]
async fn a_ca_file_without_certificates_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("empty.pem");
    std::fs::write(&ca_file, "not a certificate\n").unwrap();
    let mut config = coguest_server::ServerConfig::new(dir.path(), SECRET.to_vec());
    config.webhooks.endpoints = vec!["https://127.0.0.1:9/hook".into()];
    config.webhooks.ca_file = Some(ca_file);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = coguest_server::Server::builder(config)
        .start(listener)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("no usable PEM certificate"),
        "{err}"
    );

    let mut config = coguest_server::ServerConfig::new(dir.path(), SECRET.to_vec());
    config.webhooks.endpoints = vec!["ftp://127.0.0.1/hook".into()];
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = coguest_server::Server::builder(config)
        .start(listener)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("only http:// and https://"),
        "{err}"
    );
}
