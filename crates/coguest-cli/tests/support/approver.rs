//! An app's approval hook for tests: real HTTP (axum on 127.0.0.1:0) answering as told,
//! recording every request it receives, each checked to be signed with [`APPROVE_SECRET`].

use coguest_proto::ApprovalRequest;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::process::Command;
use tokio::sync::{Notify, oneshot};

/// The secret the servers under test sign approval requests with.
pub const APPROVE_SECRET: &str = "approve-secret";

/// How the hook answers.
#[derive(Debug, Clone)]
pub enum Answer {
    /// `{"allow": true}`.
    Allow,
    /// `{"allow": false, "code": code, "reason": reason}`.
    Deny { code: i32, reason: String },
    /// Never answers.
    Hang,
    /// `200` with a body that is not an answer.
    Garbage,
    /// Waits for [`ApprovalHook::release`] of the request's user, then allows.
    Hold,
}

#[derive(Default)]
struct State {
    answer: Mutex<Option<Answer>>,
    got: Mutex<Vec<ApprovalRequest>>,
    held: Mutex<HashMap<String, oneshot::Sender<()>>>,
    arrived: Notify,
}

/// A running approval hook.
pub struct ApprovalHook {
    pub url: String,
    state: Arc<State>,
}

impl ApprovalHook {
    /// A hook answering `answer`, on a free port.
    pub async fn start(answer: Answer) -> Self {
        let state = Arc::new(State::default());
        *state.answer.lock().unwrap() = Some(answer);
        let app = axum::Router::new()
            .route("/approve", axum::routing::post(handle))
            .with_state(state.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/approve", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        ApprovalHook { url, state }
    }

    /// Answers `answer` from now on.
    pub fn set(&self, answer: Answer) {
        *self.state.answer.lock().unwrap() = Some(answer);
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<ApprovalRequest> {
        self.state.got.lock().unwrap().clone()
    }

    /// Waits until a held request for `user` arrived.
    pub async fn wait_held(&self, user: &str) {
        let wait = async {
            loop {
                let notified = self.state.arrived.notified();
                if self.state.held.lock().unwrap().contains_key(user) {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(super::WAIT, wait)
            .await
            .unwrap_or_else(|_| panic!("no held approval request for {user}"));
    }

    /// Lets the held request of `user` be allowed.
    pub fn release(&self, user: &str) {
        let tx = self.state.held.lock().unwrap().remove(user);
        let _ = tx
            .unwrap_or_else(|| panic!("no held request for {user}"))
            .send(());
    }
}

async fn handle(
    axum::extract::State(state): axum::extract::State<Arc<State>>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> (axum::http::StatusCode, String) {
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let ts: u64 = h(coguest_server::webhook::TIMESTAMP_HEADER)
        .parse()
        .unwrap();
    let signature = h(coguest_server::webhook::SIGNATURE_HEADER);
    assert!(
        coguest_server::webhook::verify(APPROVE_SECRET.as_bytes(), ts, &body, &signature),
        "unsigned approval request"
    );
    let req: ApprovalRequest = serde_json::from_slice(&body).unwrap();
    assert_eq!(h(coguest_server::approval::REQUEST_ID_HEADER), req.id);
    assert_eq!(req.at_ms, ts);
    let user = req.user.user_id.clone();
    state.got.lock().unwrap().push(req);
    let answer = state.answer.lock().unwrap().clone().unwrap();
    let ok = axum::http::StatusCode::OK;
    match answer {
        Answer::Allow => (ok, r#"{"allow":true}"#.into()),
        Answer::Deny { code, reason } => (
            ok,
            serde_json::json!({"allow": false, "code": code, "reason": reason}).to_string(),
        ),
        Answer::Hang => std::future::pending().await,
        Answer::Garbage => (ok, "<html>surprise</html>".into()),
        Answer::Hold => {
            let (tx, rx) = oneshot::channel();
            state.held.lock().unwrap().insert(user, tx);
            state.arrived.notify_waiters();
            let _ = rx.await;
            (ok, r#"{"allow":true}"#.into())
        }
    }
}

/// A URL where nothing listens.
pub async fn down_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/approve")
}

/// Adds the approval flags to a `coguest serve` command: `urls` (each `[KIND=]URL`), signed
/// with [`APPROVE_SECRET`], then `extra` flags.
pub fn approve_with(cmd: &mut Command, urls: &[&str], extra: &[&str]) {
    for url in urls {
        cmd.args(["--approve-url", url]);
    }
    cmd.args(["--approve-secret", APPROVE_SECRET]).args(extra);
}
