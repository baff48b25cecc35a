//! The HTTP API's way to a room: parse its id, find (or create) its actor, and send it one
//! request and wait for the reply. Every handler reaches rooms through these.

use crate::api::error::{ApiError, bad, not_found, store_error, unavailable};
use crate::api::types::{ChangeResult, RoomResponse, room_response};
use crate::app::App;
use crate::room::msg::{RoomInfo, RoomMsg};
use crate::wire::valid_room_id;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use coguest_core::{Command, RoomConfig, RoomId, SeatChoice, SeatIndex, UserId};
use coguest_proto::ErrorCode;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

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

/// The actor of an existing room (never creates one).
pub(crate) async fn existing(app: &App, room: &str) -> Result<mpsc::Sender<RoomMsg>, ApiError> {
    let id = room_id(room)?;
    app.registry
        .open(&id, None)
        .await
        .map_err(store_error)?
        .map(|o| o.tx)
        .ok_or_else(|| not_found(room))
}

/// Sends the room actor one request carrying a reply channel, and waits for the reply.
async fn ask<T>(
    tx: &mpsc::Sender<RoomMsg>,
    msg: impl FnOnce(oneshot::Sender<T>) -> RoomMsg,
) -> Result<T, ApiError> {
    let (reply, rx) = oneshot::channel();
    tx.send(msg(reply)).await.map_err(|_| unavailable())?;
    rx.await.map_err(|_| unavailable())
}

/// Sends an existing room's actor one request and waits for the reply. An idle room whose
/// actor stopped just as the request came (it leaves memory) is opened again for a second
/// try.
async fn ask_room<T>(
    app: &App,
    room: &str,
    msg: impl Fn(oneshot::Sender<T>) -> RoomMsg,
) -> Result<T, ApiError> {
    for _ in 0..2 {
        let tx = existing(app, room).await?;
        let (reply, rx) = oneshot::channel();
        if tx.send(msg(reply)).await.is_err() {
            continue;
        }
        return rx.await.map_err(|_| unavailable());
    }
    Err(unavailable())
}

/// The room's settings, host view and member count.
pub(crate) async fn inspect(tx: &mpsc::Sender<RoomMsg>) -> Result<RoomInfo, ApiError> {
    ask(tx, RoomMsg::Inspect).await
}

/// An existing room's settings, host view and member count.
pub(crate) async fn inspect_room(app: &App, room: &str) -> Result<RoomInfo, ApiError> {
    ask_room(app, room, RoomMsg::Inspect).await
}

/// Applies `command` to an existing room as the operator: the room version after it.
pub(crate) async fn operate(
    app: &App,
    room: &str,
    command: Command,
) -> Result<Json<ChangeResult>, ApiError> {
    let reply = ask_room(app, room, |reply| RoomMsg::Operator {
        command: command.clone(),
        reply,
    })
    .await?;
    let version = reply.map_err(ApiError::refused)?;
    Ok(Json(ChangeResult { version }))
}

/// Closes an existing room.
pub(crate) async fn close(app: &App, room: &str) -> Result<(), ApiError> {
    ask_room(app, room, RoomMsg::Close)
        .await?
        .map_err(ApiError::refused)
}

/// Creates a room with `config`: `201` when created, `200` when it exists with the same
/// settings, `409` (`ROOM_ID_OCCUPIED`) when it exists with others.
pub(crate) async fn create(
    app: &Arc<App>,
    id: &RoomId,
    config: RoomConfig,
) -> Result<Response, ApiError> {
    let opened = app
        .registry
        .open(id, Some(config.clone()))
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
            format!("room {id} already exists with different settings"),
        ));
    }
    Ok((StatusCode::OK, Json(room_response(info))).into_response())
}

/// An existing room's settings, host view and member count.
pub(crate) async fn describe(app: &App, room: &str) -> Result<Json<RoomResponse>, ApiError> {
    Ok(Json(room_response(inspect_room(app, room).await?)))
}

/// A JSON request body: `Content-Type: application/json` (else `415`), read strictly (a key
/// repeated at any depth is refused, see `coguest_proto::strict`), refused with
/// `INVALID_PARAMETER` (400) when it does not parse.
pub(crate) struct JsonBody<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        require_json(req.headers())?;
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(e.status(), ErrorCode::InvalidParameter, e.body_text()))?;
        coguest_proto::strict::from_slice(&body)
            .map(JsonBody)
            .map_err(|e| bad(format!("invalid JSON body: {e}")))
    }
}

/// `415 INVALID_PARAMETER` unless the request says its body is JSON (`application/json`,
/// parameters such as `charset` allowed).
pub(crate) fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let essence = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim());
    match essence {
        Some(t) if t.eq_ignore_ascii_case("application/json") => Ok(()),
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::InvalidParameter,
            format!(
                "the body must be JSON sent as `Content-Type: application/json` (got {})",
                other.map_or("no Content-Type".to_owned(), |t| format!("{t:?}"))
            ),
        )),
    }
}

/// A route's path parameters: `axum`'s `Path`, refused with a `{code, message}` body
/// (`INVALID_PARAMETER`, 400) like every other error of the API.
pub(crate) struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| ApiPath(v))
            .map_err(|e| bad(format!("invalid path: {}", e.body_text())))
    }
}

pub(crate) fn user(v: &str) -> Result<UserId, ApiError> {
    if v.is_empty() {
        return Err(bad("user_id must not be empty"));
    }
    if v == UserId::OPERATOR {
        return Err(bad(format!(
            "user_id {v} is reserved for the admin API (its own actor), not a user"
        )));
    }
    Ok(UserId::from(v))
}

pub(crate) fn seat(v: i32) -> Result<SeatIndex, ApiError> {
    u16::try_from(v)
        .map(SeatIndex)
        .map_err(|_| bad(format!("seat_index {v} is not a seat")))
}

pub(crate) fn seat_choice(v: i32) -> Result<SeatChoice, ApiError> {
    SeatChoice::from_i32(v).ok_or_else(|| bad(format!("seat_index {v} is invalid")))
}
