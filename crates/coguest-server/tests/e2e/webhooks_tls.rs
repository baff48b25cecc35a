//! Webhooks over HTTPS against real TLS receivers (axum behind rustls on 127.0.0.1:0) whose
//! certificates are issued by private CAs generated here: the CA given as
//! `WebhookConfig::ca_file` is trusted and gets signed deliveries; a receiver whose CA is not
//! trusted never gets one (every attempt fails in the handshake and is retried).

use crate::common::*;
use coguest_proto::WebhookEvent;
use coguest_server::webhook::verify;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

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

/// Accepts TCP and completes the TLS handshake before handing the stream to axum.
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    sink: Arc<HookSink>,
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
                    self.sink.failed_handshakes.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// An HTTPS receiver on 127.0.0.1:0 with a certificate issued by `ca`; its `https://` URL.
async fn https_receiver(ca: &Ca) -> (Arc<HookSink>, String) {
    let (cert, key) = leaf(ca);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let sink = HookSink::new(true);
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/hook", tcp.local_addr().unwrap());
    let listener = TlsListener {
        tcp,
        acceptor: TlsAcceptor::from(Arc::new(config)),
        sink: sink.clone(),
    };
    let app = sink.router();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (sink, url)
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
        post_webhooks_to(c, vec![trusted_url, untrusted_url]);
        c.webhooks.ca_file = Some(ca_file.clone());
    })
    .await;
    let (status, _) = s
        .admin_api()
        .post("/v1/admin/rooms", json!({"room_id": "tls"}))
        .await;
    assert_eq!(status, 201);

    wait_until("a delivery over HTTPS", || trusted.count() > 0).await;
    let (ts, sig, body) = trusted.raw()[0].clone();
    let ts: u64 = ts.parse().unwrap();
    assert!(
        verify(HOOK_SINK_SECRET, ts, body.as_bytes(), &sig),
        "{body}"
    );
    let event: WebhookEvent = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (event.kind.as_str(), event.room.as_str()),
        ("room_created", "tls")
    );

    // The untrusted receiver sees handshakes fail again and again (retries), never a request.
    wait_until("retried handshakes to the untrusted receiver", || {
        untrusted.failed_handshakes.load(Ordering::SeqCst) >= 3
    })
    .await;
    assert!(untrusted.raw().is_empty());
    assert_eq!(trusted.failed_handshakes.load(Ordering::SeqCst), 0);
    s.stop().await;
}

/// Why a server with `webhooks` set by `f` refuses to start.
async fn refused_at_start(
    data: &std::path::Path,
    f: impl FnOnce(&mut coguest_server::WebhookConfig),
) -> String {
    let mut config = coguest_server::ServerConfig::new(data, SECRET.to_vec());
    f(&mut config.webhooks);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = coguest_server::Server::builder(config)
        .start(listener)
        .await
        .unwrap_err();
    err.to_string()
}

#[tokio::test]
async fn a_ca_file_without_certificates_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("empty.pem");
    std::fs::write(&ca_file, "not a certificate\n").unwrap();
    let err = refused_at_start(dir.path(), |w| {
        w.endpoints = vec!["https://127.0.0.1:9/hook".into()];
        w.ca_file = Some(ca_file);
    })
    .await;
    assert!(err.contains("no usable PEM certificate"), "{err}");

    let err = refused_at_start(dir.path(), |w| {
        w.endpoints = vec!["ftp://127.0.0.1/hook".into()];
    })
    .await;
    assert!(err.contains("only http:// and https://"), "{err}");
}
