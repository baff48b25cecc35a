//! The HTTP router: the WebSocket endpoint, health, metrics, the HTTP API's routes, and the
//! web console.

use crate::api::access::bearer;
use crate::api::{admin, openapi, rooms};
use crate::app::App;
use crate::socket;
use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper::upgrade::OnUpgrade;
use serde::Deserialize;
use std::sync::Arc;
use tungstenite::protocol::WebSocketConfig;

pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/v1/ws", get(ws))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route(
            "/v1/rooms/{room}",
            get(rooms::get_room).put(rooms::put_room),
        )
        .route("/v1/openapi.json", get(openapi::openapi))
        .merge(admin::router())
        .merge(crate::console::router())
        .with_state(app)
}

#[derive(Deserialize)]
struct WsQuery {
    token: Option<String>,
}

/// Bytes a WebSocket reads at a time (tungstenite's default is 128 KiB): a command frame is a
/// few hundred bytes at most; a larger one takes several reads.
const WS_READ_BUFFER: usize = 256;

/// The WebSocket endpoint. The upgrade is taken here rather than through axum's
/// `WebSocketUpgrade`, which hands over tungstenite's whole socket; the connection reads with
/// tungstenite and writes its own frames (see [`crate::socket`]).
async fn ws(State(app): State<Arc<App>>, Query(q): Query<WsQuery>, request: Request) -> Response {
    let (mut parts, _) = request.into_parts();
    let on_upgrade = parts.extensions.remove::<OnUpgrade>();
    let (response, on_upgrade) =
        match socket::accept(&parts.method, parts.version, &parts.headers, on_upgrade) {
            Ok(accepted) => accepted,
            Err(e) => return e.into_response(),
        };
    let token = q.token.or_else(|| bearer(&parts.headers));
    let max = app.config.transport_max_message();
    // tungstenite's default read buffer (128 KiB, allocated per connection) suits a few busy
    // sockets, not tens of thousands of quiet ones: read in small chunks (a larger frame
    // still grows the buffer as needed). Its writes are pong and close replies only, which
    // go nowhere (the connection's writer sends them).
    let config = WebSocketConfig::default()
        .max_message_size(Some(max))
        .max_frame_size(Some(max))
        .read_buffer_size(WS_READ_BUFFER)
        .write_buffer_size(0);
    // This task ends once the connection is set up: what it holds is not kept for the
    // connection's life.
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let (read, write) = socket::split(upgraded, config).await;
                tokio::spawn(crate::conn::handle(read, write, app, token));
            }
            Err(e) => tracing::debug!(error = %e, "websocket upgrade failed"),
        }
    });
    response
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.encode(),
    )
        .into_response()
}
