//! `PUT`/`GET /v1/rooms/{room}`: create a room with settings, and read it (admin token only,
//! not the API key).

use crate::api::access::AdminToken;
use crate::api::error::{ApiError, ErrorBody as ErrorSchema};
use crate::api::room::{ApiPath, create, describe, require_json, room_id};
use crate::api::types::{RoomResponse, RoomSettingsInput, settings};
use crate::app::App;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use std::sync::Arc;

/// A room's settings, host view and member count (admin token only, not the API key).
#[utoipa::path(get, path = "/v1/rooms/{room}", tag = "rooms", operation_id = "describe_room",
    params(("room" = String, Path)),
    responses((status = 200, body = RoomResponse), (status = 401, body = ErrorSchema),
        (status = 403, body = ErrorSchema), (status = 404, body = ErrorSchema)))]
pub(crate) async fn get_room(
    _: AdminToken,
    State(app): State<Arc<App>>,
    ApiPath(room): ApiPath<String>,
) -> Result<Json<RoomResponse>, ApiError> {
    describe(&app, &room).await
}

/// Creates a room with settings: a JSON object of `RoomConfig` fields, each optional (the
/// server's defaults fill the rest; an empty body or `null` is all defaults). `201` when
/// created, `200` when it exists with the same settings, `409` when it exists with different
/// ones. A body that is not empty must be sent as `Content-Type: application/json` (`415`
/// otherwise). Admin token only, not the API key.
#[utoipa::path(put, path = "/v1/rooms/{room}", tag = "rooms", params(("room" = String, Path)),
    request_body(content = Option<RoomSettingsInput>,
        description = "Settings, each optional; an empty body or `null` means all defaults."),
    responses((status = 201, body = RoomResponse), (status = 200, body = RoomResponse),
        (status = 409, body = ErrorSchema), (status = 400, body = ErrorSchema),
        (status = 401, body = ErrorSchema), (status = 403, body = ErrorSchema)))]
pub(crate) async fn put_room(
    _: AdminToken,
    State(app): State<Arc<App>>,
    ApiPath(room): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if !body.iter().all(u8::is_ascii_whitespace) {
        require_json(&headers)?;
    }
    let id = room_id(&room)?;
    let config = settings(&app.config.default_room, &body)?;
    create(&app, &id, config).await
}
