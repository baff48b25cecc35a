//! HTTP routes: the WebSocket endpoint, health, metrics and the admin room API.

use crate::actor::{RoomInfo, RoomMsg};
use crate::admin::{ErrorBody as ErrorSchema, RoomResponse, RoomSettingsInput, room_response};
use crate::auth::AuthError;
use crate::{App, socket, valid_room_id};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use coguest_core::{RoomConfig, RoomId};
use coguest_proto::ErrorCode;
use hyper::upgrade::OnUpgrade;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::sync::oneshot;
use tungstenite::protocol::WebSocketConfig;

pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/v1/ws", get(ws))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/v1/rooms/{room}", get(get_room).put(put_room))
        .merge(crate::admin::router())
        .with_state(app)
}

/// An HTTP error: a status and a `{code, message}` body.
#[derive(Debug)]
pub struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: ErrorCode,
    pub(crate) message: String,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: i32,
    message: &'a str,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code.code(),
            message: &self.message,
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        let status = match e {
            AuthError::NotAdmin | AuthError::WrongRoom(_) => StatusCode::FORBIDDEN,
            _ => StatusCode::UNAUTHORIZED,
        };
        ApiError::new(status, e.code(), e.to_string())
    }
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?;
    Some(token.trim().to_owned())
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

fn require_admin(app: &App, headers: &HeaderMap) -> Result<(), ApiError> {
    let identity = app
        .auth
        .verify(bearer(headers).as_deref(), app.clock.now())?;
    if !identity.admin {
        return Err(AuthError::NotAdmin.into());
    }
    Ok(())
}

pub(crate) fn room_id(room: &str) -> Result<RoomId, ApiError> {
    if valid_room_id(room) {
        Ok(RoomId::from(room))
    } else {
        Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::RoomIdInvalid,
            "room ids are 1 to 48 printable ASCII bytes",
        ))
    }
}

pub(crate) async fn inspect(tx: &tokio::sync::mpsc::Sender<RoomMsg>) -> Result<RoomInfo, ApiError> {
    let unavailable = || {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::ShuttingDown,
            "the room is not available",
        )
    };
    let (reply, rx) = oneshot::channel();
    tx.send(RoomMsg::Inspect(reply))
        .await
        .map_err(|_| unavailable())?;
    rx.await.map_err(|_| unavailable())
}

pub(crate) fn store_error(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::Failed,
        format!("storage failed: {e}"),
    )
}

/// A room's settings, host view and member count (admin token only, not the API key).
#[utoipa::path(get, path = "/v1/rooms/{room}", tag = "rooms", params(("room" = String, Path)),
    responses((status = 200, body = RoomResponse), (status = 401, body = ErrorSchema),
        (status = 403, body = ErrorSchema), (status = 404, body = ErrorSchema)))]
pub(crate) async fn get_room(
    State(app): State<Arc<App>>,
    Path(room): Path<String>,
    headers: HeaderMap,
) -> Result<Json<RoomResponse>, ApiError> {
    require_admin(&app, &headers)?;
    let id = room_id(&room)?;
    let opened = app
        .registry
        .open(&id, None)
        .await
        .map_err(store_error)?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::RoomIdNotExist,
                format!("room {room} does not exist"),
            )
        })?;
    Ok(Json(room_response(inspect(&opened.tx).await?)))
}

/// Creates a room with settings: a JSON object of `RoomConfig` fields, each optional (the
/// server's defaults fill the rest; an empty body or `null` is all defaults). `201` when
/// created, `200` when it exists with the same settings, `409` when it exists with different
/// ones. Admin token only, not the API key.
#[utoipa::path(put, path = "/v1/rooms/{room}", tag = "rooms", params(("room" = String, Path)),
    request_body(content = Option<RoomSettingsInput>,
        description = "Settings, each optional; an empty body or `null` means all defaults."),
    responses((status = 201, body = RoomResponse), (status = 200, body = RoomResponse),
        (status = 409, body = ErrorSchema), (status = 400, body = ErrorSchema),
        (status = 401, body = ErrorSchema), (status = 403, body = ErrorSchema)))]
pub(crate) async fn put_room(
    State(app): State<Arc<App>>,
    Path(room): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_admin(&app, &headers)?;
    let id = room_id(&room)?;
    let config = settings(&app.config.default_room, &body)?;
    let opened = app
        .registry
        .open(&id, Some(config.clone()))
        .await
        .map_err(store_error)?
        .ok_or_else(|| store_error("the room could not be created"))?;
    let info = inspect(&opened.tx).await?;
    if opened.created {
        return Ok((StatusCode::CREATED, Json(room_response(info))).into_response());
    }
    if info.settings != config {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::RoomIdOccupied,
            format!("room {room} already exists with different settings"),
        ));
    }
    Ok((StatusCode::OK, Json(room_response(info))).into_response())
}

/// Parses room settings: every field optional, missing ones from `defaults` (all of them for
/// an empty body or `null`).
pub(crate) fn settings(defaults: &RoomConfig, body: &[u8]) -> Result<RoomConfig, ApiError> {
    let bad = |m: String| ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidRoomSettings, m);
    let mut merged = serde_json::to_value(defaults).map_err(|e| bad(e.to_string()))?;
    if !body.iter().all(u8::is_ascii_whitespace) {
        let given: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| bad(format!("not JSON: {e}")))?;
        let given = match given {
            serde_json::Value::Null => serde_json::Value::Object(serde_json::Map::new()),
            other => other,
        };
        let serde_json::Value::Object(given) = given else {
            return Err(bad("settings must be a JSON object".into()));
        };
        let known = merged
            .as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>());
        if let (Some(known), serde_json::Value::Object(target)) = (known, &mut merged) {
            for (k, v) in given {
                if !known.contains(&k) {
                    return Err(bad(format!("unknown setting {k:?}")));
                }
                target.insert(k, v);
            }
        }
    }
    let config: RoomConfig =
        serde_json::from_value(merged).map_err(|e| bad(format!("invalid settings: {e}")))?;
    config.validate().map_err(|e| bad(e.to_string()))?;
    Ok(config)
}
