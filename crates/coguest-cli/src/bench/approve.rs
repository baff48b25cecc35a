//! `--approve-delay-ms N`: an app's approval hook for the command scenarios, run in this
//! process on a thread of its own. It checks each request's signature (as a backend would)
//! and allows it N ms later, so a run measures the op round trip with the hook in the path.

use anyhow::{Context, Result};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::serve::ListenerExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The secret the servers under test sign approval requests with.
pub const SECRET: &str = "bench-approve-secret";

/// The running hook: its URL and how many requests it allowed.
pub struct ApproveHook {
    pub url: String,
    allowed: Arc<AtomicU64>,
}

impl ApproveHook {
    /// Requests allowed so far.
    pub fn allowed(&self) -> u64 {
        self.allowed.load(Ordering::Relaxed)
    }
}

#[derive(Clone)]
struct Hook {
    delay: Duration,
    allowed: Arc<AtomicU64>,
}

/// Starts the hook on a free loopback port; it runs until the process exits.
pub fn start(delay: Duration) -> Result<ApproveHook> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding the hook")?;
    listener.set_nonblocking(true)?;
    let url = format!("http://{}/approve", listener.local_addr()?);
    let allowed = Arc::new(AtomicU64::new(0));
    let hook = Hook {
        delay,
        allowed: allowed.clone(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the hook's runtime")?;
    std::thread::Builder::new()
        .name("approve-hook".into())
        .spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                // As a backend tuned for latency would.
                let listener = listener.tap_io(|tcp| {
                    let _ = tcp.set_nodelay(true);
                });
                let app = axum::Router::new()
                    .route("/approve", axum::routing::post(answer))
                    .with_state(hook);
                if let Err(e) = axum::serve(listener, app).await {
                    eprintln!("the approval hook stopped: {e}");
                }
            });
        })
        .context("starting the hook's thread")?;
    Ok(ApproveHook { url, allowed })
}

async fn answer(
    State(hook): State<Hook>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> (StatusCode, &'static str) {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signed = header(coguest_server::webhook::TIMESTAMP_HEADER)
        .and_then(|ts| ts.parse::<u64>().ok())
        .zip(header(coguest_server::webhook::SIGNATURE_HEADER))
        .is_some_and(|(ts, sig)| {
            coguest_server::webhook::verify(SECRET.as_bytes(), ts, &body, sig)
        });
    if !signed {
        return (StatusCode::UNAUTHORIZED, "bad signature");
    }
    tokio::time::sleep(hook.delay).await;
    hook.allowed.fetch_add(1, Ordering::Relaxed);
    (StatusCode::OK, r#"{"allow":true}"#)
}
