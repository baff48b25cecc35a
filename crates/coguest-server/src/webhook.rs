//! Webhook delivery: one task per endpoint drains that endpoint's outbox (SQLite, or Redis in
//! cluster mode) in order.
//!
//! Room actors write each transition's delivery rows in the same transaction as the log entry
//! that caused it, then wake the delivery tasks; they never wait for an endpoint. A task posts
//! the oldest row, retries it with exponential backoff until the endpoint answers 2xx or the
//! row expires, then deletes it. So delivery is at least once (a crash between a 2xx and the
//! delete redelivers; the event `id` is stable), in room order per endpoint, and survives a
//! restart.
//!
//! In cluster mode the outbox is in Redis and every node runs these tasks, but only the holder
//! of the store's delivery lease ([`RoomStore::outbox_turn`]) posts; the others wait to take
//! over. The holder polls ([`RoomStore::outbox_poll`]) for deliveries other nodes queued. A
//! node that dies mid-delivery leaves its row queued, so the next holder posts it again.
//!
//! Event ids carry the room's incarnation (how many times a room of that id was created, kept
//! in the store), so a room closed and created again never repeats an id. The registry reads it
//! when it opens a room and the room actor numbers its events with it.
//!
//! Endpoints may be `http://` or `https://`. HTTPS uses rustls (the `ring` provider) and trusts
//! the Mozilla roots (`webpki-roots`) plus, when configured, the certificates of a PEM file
//! ([`crate::WebhookConfig::ca_file`]) — a private CA. A certificate that none of these vouch
//! for fails the attempt like any other error: the event is retried, never delivered unverified.

use crate::clock::Clock;
use crate::config::ServerConfig;
use crate::metrics::Metrics;
use crate::store::OutboxItem;
use crate::store::RoomStore;
use coguest_core::Timestamp;
use coguest_proto::WebhookEvent;
use hmac::{Hmac, Mac};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use sha2::Sha256;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

/// Header with the signing time (Unix ms).
pub const TIMESTAMP_HEADER: &str = "coguest-timestamp";
/// Header with `v1=<hex HMAC-SHA256(secret, "{timestamp}.{body}")>`.
pub const SIGNATURE_HEADER: &str = "coguest-signature";
/// Header with the event id (also in the body).
pub const EVENT_ID_HEADER: &str = "coguest-event-id";

/// The signature header value for `body` signed at `timestamp_ms`.
pub fn sign(secret: &[u8], timestamp_ms: u64, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(timestamp_ms.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("v1={hex}")
}

/// Checks a signature header in constant time.
pub fn verify(secret: &[u8], timestamp_ms: u64, body: &[u8], header: &str) -> bool {
    let want = sign(secret, timestamp_ms, body);
    want.len() == header.len()
        && want
            .bytes()
            .zip(header.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Why the webhook settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WebhookSetupError {
    /// An endpoint is not an `http://` or `https://` URL.
    #[error("webhook endpoint {0:?}: only http:// and https:// URLs are supported")]
    Scheme(String),
    /// The CA file could not be read.
    #[error("reading the webhook CA file {path}: {source}")]
    CaFile {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// The CA file holds no usable certificate.
    #[error("the webhook CA file {path} holds no usable PEM certificate: {reason}")]
    CaCert {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// rustls refused the configuration.
    #[error("TLS setup: {0}")]
    Tls(String),
}

/// Checks that every endpoint is an `http://` or `https://` URL.
pub fn check_endpoints(endpoints: &[String]) -> Result<(), WebhookSetupError> {
    for e in endpoints {
        // `get`, not `[..]`: an endpoint may start with a multi-byte character.
        let ok = ["http://", "https://"].iter().any(|p| {
            e.len() > p.len()
                && e.get(..p.len())
                    .is_some_and(|scheme| scheme.eq_ignore_ascii_case(p))
        });
        if !ok || e.parse::<hyper::Uri>().is_err() {
            return Err(WebhookSetupError::Scheme(e.clone()));
        }
    }
    Ok(())
}

/// The rustls client settings for webhook delivery: Mozilla roots plus every certificate in
/// `ca_file` (PEM), TLS 1.2 and 1.3, the `ring` provider.
pub fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, WebhookSetupError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        use rustls_pki_types::pem::PemObject;
        let shown = path.display().to_string();
        let pem = std::fs::read(path).map_err(|source| WebhookSetupError::CaFile {
            path: shown.clone(),
            source,
        })?;
        let mut added = 0;
        for cert in rustls_pki_types::CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| WebhookSetupError::CaCert {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
            roots.add(cert).map_err(|e| WebhookSetupError::CaCert {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
            added += 1;
        }
        if added == 0 {
            return Err(WebhookSetupError::CaCert {
                path: shown,
                reason: "no CERTIFICATE block".into(),
            });
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| WebhookSetupError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The endpoints and their wake-up signals.
pub(crate) struct Webhooks {
    endpoints: Vec<(String, Arc<Notify>)>,
    tls: Arc<rustls::ClientConfig>,
}

impl Webhooks {
    /// Checks the endpoints and loads the trusted certificates.
    pub fn new(config: &crate::config::WebhookConfig) -> Result<Self, WebhookSetupError> {
        check_endpoints(&config.endpoints)?;
        Ok(Webhooks {
            endpoints: config
                .endpoints
                .iter()
                .map(|e| (e.clone(), Arc::new(Notify::new())))
                .collect(),
            tls: Arc::new(tls_config(config.ca_file.as_deref())?),
        })
    }

    pub fn enabled(&self) -> bool {
        !self.endpoints.is_empty()
    }

    /// One outbox row per endpoint for each event (none without endpoints).
    pub fn items(&self, events: &[WebhookEvent]) -> Vec<OutboxItem> {
        let mut out = Vec::new();
        for event in events {
            let Ok(body) = serde_json::to_string(event) else {
                continue;
            };
            for (endpoint, _) in &self.endpoints {
                out.push(OutboxItem {
                    endpoint: endpoint.clone(),
                    created: Timestamp::from_millis(event.at_ms),
                    body: body.clone(),
                });
            }
        }
        out
    }

    /// Wakes every delivery task (new rows were committed).
    pub fn wake(&self) {
        for (_, n) in &self.endpoints {
            n.notify_one();
        }
    }

    /// Starts one delivery task per endpoint.
    pub fn spawn(
        &self,
        shared: Arc<DeliveryContext>,
        shutdown: watch::Receiver<bool>,
    ) -> Vec<JoinHandle<()>> {
        self.endpoints
            .iter()
            .map(|(endpoint, notify)| {
                tokio::spawn(deliver_loop(
                    endpoint.clone(),
                    self.tls.clone(),
                    notify.clone(),
                    shared.clone(),
                    shutdown.clone(),
                ))
            })
            .collect()
    }
}

/// What a delivery task reads its queue from and reports to.
pub(crate) struct DeliveryContext {
    pub store: Arc<dyn RoomStore>,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<ServerConfig>,
    pub metrics: Arc<Metrics>,
}

pub(crate) type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A client for `http://` and `https://` endpoints (webhooks and the approval hook).
pub(crate) fn client(tls: Arc<rustls::ClientConfig>) -> HttpClient {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config((*tls).clone())
        .https_or_http()
        .enable_http1()
        .build();
    Client::builder(TokioExecutor::new()).build(connector)
}

/// Waits `d` or until shutdown; `false` on shutdown.
async fn pause(d: Duration, shutdown: &mut watch::Receiver<bool>) -> bool {
    if *shutdown.borrow() {
        return false;
    }
    tokio::select! {
        () = tokio::time::sleep(d) => true,
        _ = shutdown.changed() => false,
    }
}

/// Waits for a wake-up, the store's poll interval (deliveries queued by other nodes), or
/// shutdown; `false` on shutdown.
async fn idle(
    notify: &Notify,
    poll: Option<Duration>,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    if *shutdown.borrow() {
        return false;
    }
    let poll = async {
        match poll {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = notify.notified() => true,
        () = poll => true,
        _ = shutdown.changed() => false,
    }
}

/// Whether this node delivers now (see [`RoomStore::outbox_turn`]); a failed check waits a
/// second and counts as no. `None` on shutdown.
async fn turn(
    shared: &DeliveryContext,
    endpoint: &str,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<bool> {
    match shared.store.outbox_turn().await {
        Ok(t) => Some(t),
        Err(e) => {
            tracing::warn!(endpoint, error = %e, "checking the webhook delivery lease failed");
            pause(Duration::from_secs(1), shutdown)
                .await
                .then_some(false)
        }
    }
}

async fn deliver_loop(
    endpoint: String,
    tls: Arc<rustls::ClientConfig>,
    notify: Arc<Notify>,
    shared: Arc<DeliveryContext>,
    mut shutdown: watch::Receiver<bool>,
) {
    let client = client(tls);
    let cfg = &shared.config.webhooks;
    let retention = u64::try_from(cfg.retention.as_millis()).unwrap_or(u64::MAX);
    let poll = shared.store.outbox_poll();
    'outbox: loop {
        match turn(&shared, &endpoint, &mut shutdown).await {
            None => return,
            Some(true) => {}
            Some(false) => {
                // Another node delivers; try again later.
                if !idle(&notify, poll, &mut shutdown).await {
                    return;
                }
                continue;
            }
        }
        let rows = match shared.store.outbox_next(&endpoint, 64).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(endpoint, error = %e, "reading the webhook outbox failed");
                if !pause(Duration::from_secs(1), &mut shutdown).await {
                    return;
                }
                continue;
            }
        };
        if rows.is_empty() {
            if !idle(&notify, poll, &mut shutdown).await {
                return;
            }
            continue;
        }
        for row in rows {
            let mut backoff = cfg.backoff_initial;
            loop {
                // Checked before each attempt: a node that lost the lease stops at once, so
                // two nodes post the same event only while one attempt is in flight.
                match turn(&shared, &endpoint, &mut shutdown).await {
                    None => return,
                    Some(true) => {}
                    Some(false) => continue 'outbox,
                }
                let now = shared.clock.now();
                if now.as_millis() > row.created.as_millis().saturating_add(retention) {
                    tracing::warn!(endpoint, id = row.id, "webhook event expired undelivered");
                    shared.metrics.webhook("expired");
                    break;
                }
                match post(
                    &client,
                    &endpoint,
                    &row.body,
                    &cfg.secret,
                    now,
                    cfg.request_timeout,
                )
                .await
                {
                    Ok(()) => {
                        shared.metrics.webhook("delivered");
                        break;
                    }
                    Err(e) => {
                        shared.metrics.webhook("failed");
                        tracing::debug!(endpoint, id = row.id, error = %e, "webhook delivery failed; retrying");
                        if !pause(backoff, &mut shutdown).await {
                            return;
                        }
                        backoff = (backoff * 2).min(cfg.backoff_max);
                    }
                }
            }
            if let Err(e) = shared.store.outbox_remove(&endpoint, row.id).await {
                // Delivered but not removed: it will be delivered again (at least once).
                tracing::warn!(endpoint, error = %e, "removing a delivered webhook event failed");
            }
        }
    }
}

/// A JSON POST of `body` to `endpoint` signed at `now` (the timestamp and signature headers);
/// add headers, then the body.
pub(crate) fn signed_post(
    endpoint: &str,
    body: &str,
    secret: &[u8],
    now: Timestamp,
) -> hyper::http::request::Builder {
    let ts = now.as_millis();
    hyper::Request::post(endpoint)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(TIMESTAMP_HEADER, ts.to_string())
        .header(SIGNATURE_HEADER, sign(secret, ts, body.as_bytes()))
}

async fn post(
    client: &HttpClient,
    endpoint: &str,
    body: &str,
    secret: &[u8],
    now: Timestamp,
    timeout: Duration,
) -> Result<(), String> {
    let id = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["id"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let req = signed_post(endpoint, body, secret, now)
        .header(EVENT_ID_HEADER, id)
        .body(Full::new(Bytes::from(body.to_owned())))
        .map_err(|e| e.to_string())?;
    let resp = tokio::time::timeout(timeout, client.request(req))
        .await
        .map_err(|_| "timed out".to_owned())?
        .map_err(|e| e.to_string())?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(format!("status {}", resp.status()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_need_an_http_scheme_and_never_panic_on_non_ascii() {
        for ok in ["http://127.0.0.1:9000/hook", "HTTPS://hooks.example.com/x"] {
            assert!(check_endpoints(&[ok.to_owned()]).is_ok(), "{ok}");
        }
        // Byte 7 or 8 falls inside a multi-byte character: slicing there would panic.
        for bad in [
            "http:/\u{e9}x",
            "https:/\u{e9}x",
            "\u{1f600}\u{1f600}",
            "\u{e9}",
            "http://",
            "ftp://x",
            "",
        ] {
            assert!(
                matches!(
                    check_endpoints(&[bad.to_owned()]),
                    Err(WebhookSetupError::Scheme(_))
                ),
                "{bad:?}"
            );
        }
    }
}
