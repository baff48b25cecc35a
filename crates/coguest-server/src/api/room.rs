//! The HTTP API's way to a room: parse its id, find (or create) its actor, and send it one
//! request and wait for the reply. Every handler reaches rooms through these.

use crate::api::error::{ApiError, bad, not_found, store_error, unavailable};
use crate::api::types::{ChangeResult, RoomResponse, room_response};
use crate::app::App;
use crate::room::msg::{RoomInfo, RoomMsg};
use crate::wire::valid_room_id;
use axum::Json;
use axum::body::Bytes;
use axum::extract::FromRequest;
use axum::extract::Request;
use axum::http::StatusCode;
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

/// The room's settings, host view and member count.
pub(crate) async fn inspect(tx: &mpsc::Sender<RoomMsg>) -> Result<RoomInfo, ApiError> {
    ask(tx, RoomMsg::Inspect).await
}

/// Applies `command` to an existing room as the operator: the room version after it.
pub(crate) async fn operate(
    app: &App,
    room: &str,
    command: Command,
) -> Result<Json<ChangeResult>, ApiError> {
    let tx = existing(app, room).await?;
    let reply = ask(&tx, |reply| RoomMsg::Operator { command, reply }).await?;
    let version = reply.map_err(ApiError::refused)?;
    Ok(Json(ChangeResult { version }))
}

/// Closes an existing room.
pub(crate) async fn close(app: &App, room: &str) -> Result<(), ApiError> {
    let tx = existing(app, room).await?;
    ask(&tx, RoomMsg::Close).await?.map_err(ApiError::refused)
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
    let tx = existing(app, room).await?;
    Ok(Json(room_response(inspect(&tx).await?)))
}

/// A JSON request body, refused with `INVALID_PARAMETER` (400) when it does not parse.
pub(crate) struct JsonBody<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let body = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        serde_json::from_slice(&body)
            .map(JsonBody)
            .map_err(|e| bad(format!("invalid JSON body: {e}")).into_response())
    }
}

pub(crate) fn user(v: &str) -> Result<UserId, ApiError> {
    if v.is_empty() {
        return Err(bad("user_id must not be empty"));
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
