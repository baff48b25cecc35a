//! The approval hook's client: one signed POST per question (`docs/APPROVAL.md`).
//!
//! A room actor never waits for it: it spawns `Approver::ask` as a task and gets the
//! `Verdict` back in its inbox (`room/actor/approve.rs`). The request is signed with the
//! webhooks' scheme and HTTP client (`webhook.rs`); one call is bounded by the configured
//! timeout from connecting to the last byte of the answer.

use crate::config::ApprovalConfig;
use crate::metrics::Metrics;
use crate::webhook::{
    HttpClient, WebhookSetupError, check_endpoints, client, signed_post, tls_config,
};
use coguest_core::Timestamp;
use coguest_proto::{ApprovalKind, ApprovalRequest, ApprovalResponse};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// Header with the request's `id` (also in the body).
pub const REQUEST_ID_HEADER: &str = "coguest-request-id";

/// Largest answer body read; an answer is a few dozen bytes.
const MAX_ANSWER_BYTES: usize = 16 * 1024;

/// What came of asking the hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The request goes ahead.
    Allow,
    /// The app turned it down, with its own code and reason.
    Deny {
        code: Option<i32>,
        reason: Option<String>,
    },
    /// No answer: `timeout`, `unreachable`, `status` (not 2xx) or `invalid` (not an answer).
    Failed(&'static str),
}

/// The hook's settings and HTTP client, shared by every room.
pub(crate) struct Approver {
    config: ApprovalConfig,
    client: Option<HttpClient>,
    metrics: Arc<Metrics>,
}

impl Approver {
    /// Checks the endpoints and loads the trusted certificates (the webhooks' CA file).
    pub fn new(
        config: &ApprovalConfig,
        ca_file: Option<&Path>,
        metrics: Arc<Metrics>,
    ) -> Result<Self, WebhookSetupError> {
        let urls: Vec<String> = config.urls.iter().map(|(_, u)| u.clone()).collect();
        check_endpoints(&urls)?;
        let client = if urls.is_empty() {
            None
        } else {
            Some(client(Arc::new(tls_config(ca_file)?)))
        };
        Ok(Approver {
            config: config.clone(),
            client,
            metrics,
        })
    }

    /// Whether the hook is asked about `kind`.
    pub fn asks(&self, kind: ApprovalKind) -> bool {
        self.client.is_some() && self.config.url(kind).is_some()
    }

    /// Whether a request goes ahead when the hook fails.
    pub fn allow_on_error(&self) -> bool {
        self.config.allow_on_error
    }

    /// A fresh request id.
    pub fn new_id() -> String {
        format!("{:016x}", rand::random::<u64>())
    }

    /// Asks the hook about `req`, counting the call in the metrics.
    pub async fn ask(&self, req: &ApprovalRequest) -> Verdict {
        let started = Instant::now();
        let verdict = match self.call(req).await {
            Ok(ApprovalResponse { allow: true, .. }) => Verdict::Allow,
            Ok(ApprovalResponse { code, reason, .. }) => Verdict::Deny { code, reason },
            Err(why) => Verdict::Failed(why),
        };
        let outcome = match &verdict {
            Verdict::Allow => Ok(true),
            Verdict::Deny { .. } => Ok(false),
            Verdict::Failed(why) => Err(*why),
        };
        self.metrics
            .approval(req.kind.as_str(), started.elapsed(), outcome);
        verdict
    }

    async fn call(&self, req: &ApprovalRequest) -> Result<ApprovalResponse, &'static str> {
        let (Some(client), Some(url)) = (&self.client, self.config.url(req.kind)) else {
            return Err("unreachable");
        };
        let body = serde_json::to_string(req).map_err(|_| "invalid")?;
        let signed_at = Timestamp::from_millis(req.at_ms);
        let request = signed_post(url, &body, &self.config.secret, signed_at)
            .header(REQUEST_ID_HEADER, req.id.as_str())
            .body(Full::new(Bytes::from(body)))
            .map_err(|_| "unreachable")?;
        let answer = async {
            let resp = client.request(request).await.map_err(|_| "unreachable")?;
            if !resp.status().is_success() {
                return Err("status");
            }
            let bytes = Limited::new(resp.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|_| "invalid")?
                .to_bytes();
            serde_json::from_slice::<ApprovalResponse>(&bytes).map_err(|_| "invalid")
        };
        tokio::time::timeout(self.config.timeout, answer)
            .await
            .map_err(|_| "timeout")?
    }
}
