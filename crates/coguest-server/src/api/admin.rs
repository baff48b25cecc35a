//! The admin API under `/v1/admin/...`: rooms, seats, requests and settings for an app's
//! backend. Every room change goes through the room's actor and the core as the operator
//! (`@operator`, a host that is not a member), so the rules and error codes are the
//! WebSocket's. Each handler takes [`AdminKeyOrToken`], so none runs without credentials.

use crate::api::access::AdminKeyOrToken;
use crate::api::error::{ApiError, ErrorBody, store_error};
use crate::api::room::{
    ApiPath, JsonBody, close, create, describe, inspect_room, operate, room_id, seat, seat_choice,
    user,
};
use crate::api::types::{
    AdminRequest, ChangeResult, CreateRoom, KickRequest, MovePolicyName, MoveRequest, PickRequest,
    RequestsResponse, RoomList, RoomResponse, SeatModeName, SeatsResponse, SettingsRequest,
    settings,
};
use crate::app::App;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use coguest_core::Command;
use coguest_proto::{MovePolicy, SeatMode};
use std::sync::Arc;

pub(crate) fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/v1/admin/rooms", get(list_rooms).post(create_room))
        .route("/v1/admin/rooms/{room}", get(get_room).delete(close_room))
        .route("/v1/admin/rooms/{room}/seats", get(get_seats))
        .route("/v1/admin/rooms/{room}/seats/pick", post(pick))
        .route("/v1/admin/rooms/{room}/seats/kick", post(kick))
        .route("/v1/admin/rooms/{room}/seats/move", post(move_user))
        .route("/v1/admin/rooms/{room}/seats/{seat}/lock", post(lock))
        .route("/v1/admin/rooms/{room}/seats/{seat}/unlock", post(unlock))
        .route("/v1/admin/rooms/{room}/requests", get(requests))
        .route("/v1/admin/rooms/{room}/settings", post(change_settings))
        .route("/v1/admin/rooms/{room}/admins", post(set_admin))
}

type Changed = Result<Json<ChangeResult>, ApiError>;

/// Lists every room (a token limited to one room: that room, if it exists).
#[utoipa::path(get, path = "/v1/admin/rooms", responses(
    (status = 200, body = RoomList), (status = 401, body = ErrorBody)))]
pub(crate) async fn list_rooms(
    AdminKeyOrToken(scope): AdminKeyOrToken,
    State(app): State<Arc<App>>,
) -> Result<Json<RoomList>, ApiError> {
    let ids = app.registry.room_ids().await.map_err(store_error)?;
    Ok(Json(RoomList {
        rooms: ids
            .into_iter()
            .map(|r| r.as_str().to_owned())
            .filter(|r| scope.allows(r))
            .collect(),
    }))
}

/// Creates a room. `201` when created, `200` when it exists with the same settings, `409`
/// (`ROOM_ID_OCCUPIED`) when it exists with others.
#[utoipa::path(post, path = "/v1/admin/rooms", request_body = CreateRoom, responses(
    (status = 201, body = RoomResponse), (status = 200, body = RoomResponse),
    (status = 409, body = ErrorBody), (status = 400, body = ErrorBody)))]
pub(crate) async fn create_room(
    AdminKeyOrToken(scope): AdminKeyOrToken,
    State(app): State<Arc<App>>,
    JsonBody(req): JsonBody<CreateRoom>,
) -> Result<Response, ApiError> {
    scope.check(&req.room_id)?;
    let id = room_id(&req.room_id)?;
    let raw = req
        .settings
        .map(|v| serde_json::to_vec(&v).unwrap_or_default())
        .unwrap_or_default();
    let config = settings(&app.config.default_room, &raw)?;
    create(&app, &id, config).await
}

/// A room's settings, host view and member count.
#[utoipa::path(get, path = "/v1/admin/rooms/{room}", params(("room" = String, Path)),
    responses((status = 200, body = RoomResponse), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_room(
    _: AdminKeyOrToken,
    State(app): State<Arc<App>>,
    ApiPath(room): ApiPath<String>,
) -> Result<Json<RoomResponse>, ApiError> {
    describe(&app, &room).await
}

/// Closes a room: every member gets `room_closed`, every pending request ends, the room is
/// deleted from storage.
#[utoipa::path(delete, path = "/v1/admin/rooms/{room}", params(("room" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub(crate) async fn close_room(
    _: AdminKeyOrToken,
    State(app): State<Arc<App>>,
    ApiPath(room): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    close(&app, &room).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every seat, empty ones included, with lock and device flags.
#[utoipa::path(get, path = "/v1/admin/rooms/{room}/seats", params(("room" = String, Path)),
    responses((status = 200, body = SeatsResponse), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_seats(
    _: AdminKeyOrToken,
    State(app): State<Arc<App>>,
    ApiPath(room): ApiPath<String>,
) -> Result<Json<SeatsResponse>, ApiError> {
    let info = inspect_room(&app, &room).await?;
    Ok(Json(SeatsResponse {
        version: info.state.version,
        seat_mode: info.state.seat_mode.into(),
        seats: info.state.seats,
    }))
}

/// Pending applications and invitations.
#[utoipa::path(get, path = "/v1/admin/rooms/{room}/requests", operation_id = "get_requests", params(("room" = String, Path)),
    responses((status = 200, body = RequestsResponse), (status = 404, body = ErrorBody)))]
pub(crate) async fn requests(
    _: AdminKeyOrToken,
    State(app): State<Arc<App>>,
    ApiPath(room): ApiPath<String>,
) -> Result<Json<RequestsResponse>, ApiError> {
    let info = inspect_room(&app, &room).await?;
    Ok(Json(RequestsResponse {
        version: info.state.version,
        applicants: info.state.applicants,
        invitees: info.state.invitees,
    }))
}

/// Seats a member directly (its pending requests close as already seated).
#[utoipa::path(post, path = "/v1/admin/rooms/{room}/seats/pick", operation_id = "pick_seat", params(("room" = String, Path)),
    request_body = PickRequest,
    responses((status = 200, body = ChangeResult), (status = 409, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn pick(
    _: AdminKeyOrToken,
    State(app): State<Arc<App>>,
    ApiPath(room): ApiPath<String>,
    JsonBody(req): JsonBody<PickRequest>,
) -> Changed {
    let command = Command::PickToSeat {
        user: user(&req.user_id)?,
        seat: seat_choice(req.seat_index)?,
    };
    operate(&app, &room, command).await
}

/// Removes a user from its seat (it gets `kicked_off_seat`).
#[utoipa::path(post, path = "/v1/admin/rooms/{room}/seats/kick", operation_id = "kick_user", params(("room" = String, Path)),
    request_body = KickRequest,
    responses((status = 200, body = ChangeResult), (status = 409, body = ErrorBody)))]
pub(crate) async fn kick(
    _: AdminKeyOrToken,
    State(app): State<Arc<App>>,
    ApiPath(room): ApiPath<String>,
    JsonBody(req): JsonBody<KickRequest>,
) -> Changed {
    let command = Command::KickOffSeat {
        user: user(&req.user_id)?,
    };
    operate(&app, &room, command).await
}

/// Moves a seated user (policies as `move_to_seat`).
#[utoipa::path(post, path = "/v1/admin/rooms/{room}/seats/move", params(("room" = String, Path)),
    request_body = MoveRequest,
    responses((status = 200, body = ChangeResult), (status = 409, body = ErrorBody)))]
pub(crate) async fn move_user(
    _: AdminKeyOrToken,
    State(app): State<Arc<App>>,
    ApiPath(room): ApiPath<String>,
    JsonBody(req): JsonBody<MoveRequest>,
) -> Changed {
    let policy = match req.policy {
        None | Some(MovePolicyName::AbortWhenOccupied) => MovePolicy::AbortWhenOccupied,
        Some(MovePolicyName::ForceReplace) => MovePolicy::ForceReplace,
        Some(MovePolicyName::Swap) => MovePolicy::Swap,
    };
    let command = Command::MoveToSeat {
        user: user(&req.user_id)?,
        seat: seat(req.seat_index)?,
        policy: policy.into(),
    };
    operate(&app, &room, command).await
}

/// Locks a seat (its occupant, if any, is removed and told).
#[utoipa::path(post, path = "/v1/admin/rooms/{room}/seats/{seat}/lock", operation_id = "lock_seat",
    params(("room" = String, Path), ("seat" = i32, Path)),
    responses((status = 200, body = ChangeResult), (status = 409, body = ErrorBody)))]
pub(crate) async fn lock(
    _: AdminKeyOrToken,
    State(app): State<Arc<App>>,
    ApiPath((room, index)): ApiPath<(String, i32)>,
) -> Changed {
    let command = Command::LockSeat { seat: seat(index)? };
    operate(&app, &room, command).await
}

/// Unlocks a seat.
#[utoipa::path(post, path = "/v1/admin/rooms/{room}/seats/{seat}/unlock", operation_id = "unlock_seat",
    params(("room" = String, Path), ("seat" = i32, Path)),
    responses((status = 200, body = ChangeResult), (status = 409, body = ErrorBody)))]
pub(crate) async fn unlock(
    _: AdminKeyOrToken,
    State(app): State<Arc<App>>,
    ApiPath((room, index)): ApiPath<(String, i32)>,
) -> Changed {
    let command = Command::UnlockSeat { seat: seat(index)? };
    operate(&app, &room, command).await
}

/// Changes the seat mode and/or the number of seats.
#[utoipa::path(post, path = "/v1/admin/rooms/{room}/settings", params(("room" = String, Path)),
    request_body = SettingsRequest,
    responses((status = 200, body = ChangeResult), (status = 409, body = ErrorBody),
        (status = 400, body = ErrorBody)))]
pub(crate) async fn change_settings(
    _: AdminKeyOrToken,
    State(app): State<Arc<App>>,
    ApiPath(room): ApiPath<String>,
    JsonBody(req): JsonBody<SettingsRequest>,
) -> Changed {
    let command = Command::ChangeSettings {
        seat_mode: req.seat_mode.map(|m| match m {
            SeatModeName::ApplyToTake => SeatMode::ApplyToTake.into(),
            SeatModeName::FreeToTake => SeatMode::FreeToTake.into(),
        }),
        max_seat_count: req.max_seat_count,
    };
    operate(&app, &room, command).await
}

/// Grants or revokes admin (with the owner's authority).
#[utoipa::path(post, path = "/v1/admin/rooms/{room}/admins", params(("room" = String, Path)),
    request_body = AdminRequest,
    responses((status = 200, body = ChangeResult), (status = 409, body = ErrorBody)))]
pub(crate) async fn set_admin(
    _: AdminKeyOrToken,
    State(app): State<Arc<App>>,
    ApiPath(room): ApiPath<String>,
    JsonBody(req): JsonBody<AdminRequest>,
) -> Changed {
    let command = Command::SetAdmin {
        user: user(&req.user_id)?,
        admin: req.admin,
    };
    operate(&app, &room, command).await
}
