//! The SDK over `wss://` against the real server serving TLS, with certificates from private
//! CAs made here (rcgen): trusted through the builder (PEM file or DER), rotated on the server
//! while clients are connected, and refused with a clear error when no trusted CA issued them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coguest_client::{Client, CoGuestError, CoGuestStore, ConnectionStatus};
use coguest_core::{Role, Timestamp};
use coguest_server::auth::{Auth, Claims};
use coguest_server::{ManualClock, Server, ServerConfig, TlsFiles};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

const T0: u64 = 1_700_000_000_000;
const SECRET: &[u8] = b"tls-test-secret";
const WAIT: Duration = Duration::from_secs(10);

/// A private CA: its certificate (PEM and DER) and what signs server certificates.
struct Ca {
    pem: String,
    der: Vec<u8>,
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
        der: cert.der().to_vec(),
        issuer: Issuer::new(params, key),
    }
}

/// A server certificate for localhost and 127.0.0.1 issued by `ca`: (certificate, key) PEM.
fn leaf(ca: &Ca) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let cert = CertificateParams::new(names)
        .unwrap()
        .signed_by(&key, &ca.issuer)
        .unwrap();
    (cert.pem(), key.serialize_pem())
}

/// Replaces `path` at once (write aside, then rename), as certificate tools do.
fn replace(path: &Path, contents: &str) {
    let aside = path.with_extension("new");
    std::fs::write(&aside, contents).unwrap();
    std::fs::rename(&aside, path).unwrap();
}

struct TlsServer {
    server: Option<Server>,
    port: u16,
    files: TlsFiles,
    _dir: tempfile::TempDir,
}

impl TlsServer {
    async fn start(ca: &Ca) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let files = TlsFiles {
            cert: dir.path().join("server.crt"),
            key: dir.path().join("server.key"),
        };
        let (cert, key) = leaf(ca);
        replace(&files.cert, &cert);
        replace(&files.key, &key);
        let mut config = ServerConfig::new(dir.path().join("data"), SECRET);
        config.edge.tls = Some(files.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = Server::builder(config)
            .clock(Arc::new(ManualClock::new(Timestamp::from_millis(T0))))
            .start(listener)
            .await
            .unwrap();
        TlsServer {
            server: Some(server),
            port,
            files,
            _dir: dir,
        }
    }

    fn url(&self, host: &str) -> String {
        format!("wss://{host}:{}", self.port)
    }

    async fn stop(mut self) {
        let stop = self.server.take().unwrap().shutdown();
        tokio::time::timeout(WAIT, stop).await.unwrap().unwrap();
    }
}

/// A token: `alice` owns the rooms, everyone else is audience.
fn token(user: &str) -> String {
    let role = if user == "alice" {
        Role::Owner
    } else {
        Role::Audience
    };
    let claims = Claims::new(user, role, Timestamp::from_millis(T0), 3600);
    Auth::new(SECRET).mint(&claims).unwrap()
}

#[tokio::test]
async fn the_sdk_connects_over_wss_to_a_server_of_a_private_ca() {
    let ca = ca("private CA");
    let s = TlsServer::start(&ca).await;
    let ca_file = s._dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca.pem).unwrap();

    // By name, trusting a PEM CA file.
    let alice = Client::builder(&token("alice"))
        .url(&s.url("localhost"))
        .ca_file(&ca_file)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let store = CoGuestStore::create(&alice, "tls_room").await.unwrap();
    // By address, trusting the DER certificate.
    let bob = Client::builder(&token("bob"))
        .url(&s.url("127.0.0.1"))
        .add_root_certificate(&ca.der)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let _bob_store = CoGuestStore::create(&bob, "tls_room").await.unwrap();
    alice.ping().await.unwrap();
    bob.ping().await.unwrap();
    let seats = store.co_guest_state().connected.borrow().len();
    assert_eq!(seats, 1, "the owner is seated");
    drop((store, _bob_store));
    s.stop().await;
}

#[tokio::test]
async fn a_certificate_of_an_unknown_ca_is_refused_with_a_clear_error() {
    let server_ca = ca("server CA");
    let other_ca = ca("another CA");
    let s = TlsServer::start(&server_ca).await;
    // The Mozilla roots only, then another private CA.
    let plain = Client::builder(&token("alice"))
        .url(&s.url("localhost"))
        .connect()
        .await;
    let other = Client::builder(&token("alice"))
        .url(&s.url("localhost"))
        .add_root_certificate(other_ca.pem.as_bytes())
        .unwrap()
        .connect()
        .await;
    for refused in [plain, other] {
        let e = refused.unwrap_err();
        assert_eq!(e.code(), CoGuestError::CERTIFICATE_UNTRUSTED, "{e}");
        assert!(e.message().contains("is not trusted"), "{e}");
        assert!(e.message().contains("ca_file"), "{e}");
    }
    s.stop().await;
}

#[tokio::test]
async fn unusable_ca_certificates_are_refused_by_the_builder() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pem");
    std::fs::write(
        &junk,
        "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let builder = || Client::builder(&token("alice")).url("wss://localhost:1");
    let errors = [
        builder().add_root_certificate(b"junk").err(),
        builder().ca_file(&junk).err(),
        builder().ca_file(dir.path().join("missing.pem")).err(),
    ];
    for e in errors {
        let e = e.expect("refused");
        assert_eq!(e.code(), CoGuestError::INVALID_CERTIFICATE, "{e}");
    }
}

#[tokio::test]
async fn a_rotated_certificate_reaches_new_connections_and_old_ones_keep_working() {
    let (old_ca, new_ca) = (ca("old CA"), ca("new CA"));
    let s = TlsServer::start(&old_ca).await;
    let trusting = |ca: &Ca| {
        Client::builder(&token("alice"))
            .url(&s.url("localhost"))
            .connect_timeout(Duration::from_secs(2))
            .add_root_certificate(ca.pem.as_bytes())
            .unwrap()
    };
    // Connected before the rotation, trusting the old CA only: a reconnect after it would
    // be refused, so a working call below is this same connection.
    let old = trusting(&old_ca).connect().await.unwrap();
    let store = CoGuestStore::create(&old, "rotation").await.unwrap();
    let status = old.status();

    // Rotate: certificate first, then key (in between they do not match; the old pair stays
    // in use).
    let (cert, key) = leaf(&new_ca);
    replace(&s.files.cert, &cert);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    replace(&s.files.key, &key);

    // New connections see the new certificate within about a second.
    let until = Instant::now() + WAIT;
    let new = loop {
        match trusting(&new_ca).connect().await {
            Ok(client) => break client,
            Err(e) => {
                assert_eq!(e.code(), CoGuestError::CERTIFICATE_UNTRUSTED, "{e}");
                assert!(
                    Instant::now() < until,
                    "the new certificate never came: {e}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    new.ping().await.unwrap();
    let e = trusting(&old_ca).connect().await.unwrap_err();
    assert_eq!(e.code(), CoGuestError::CERTIFICATE_UNTRUSTED, "{e}");

    // The old connection carries on.
    old.ping().await.unwrap();
    assert!(store.co_guest_state().connected.borrow().len() == 1);
    assert!(!status.has_changed().unwrap(), "the old client reconnected");
    assert_eq!(*status.borrow(), ConnectionStatus::Connected);
    drop(store);
    s.stop().await;
}
