//! `coguest demo` over TLS on the real binary: its server serves a certificate of a private CA
//! made here, and its SDK clients trust that CA through `--ca-file`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Stdio;
use std::time::Duration;
use support::tls::TestCerts;
use tokio::process::Command;

#[tokio::test]
async fn the_demo_plays_over_wss_trusting_a_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    let TestCerts {
        cert: cert_file,
        key: key_file,
        ca: ca_file,
    } = TestCerts::new(dir.path());

    let run = Command::new(env!("CARGO_BIN_EXE_coguest"))
        .arg("demo")
        .arg("--tls-cert")
        .arg(&cert_file)
        .arg("--tls-key")
        .arg(&key_file)
        .arg("--ca-file")
        .arg(&ca_file)
        .env("RUST_LOG", "warn")
        .env("TMPDIR", dir.path())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the demo finishes")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}:\n{stdout}\n{stderr}", out.status);
    assert!(stdout.contains("a server on wss://localhost:"), "{stdout}");
    assert!(stdout.contains("\nDone."), "{stdout}");

    // Without the CA, the SDK refuses the certificate and says so.
    let run = Command::new(env!("CARGO_BIN_EXE_coguest"))
        .arg("demo")
        .arg("--tls-cert")
        .arg(&cert_file)
        .arg("--tls-key")
        .arg(&key_file)
        .env("RUST_LOG", "warn")
        .env("TMPDIR", dir.path())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the demo finishes")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("is not trusted"), "{stderr}");
}
