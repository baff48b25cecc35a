//! The admin HTTP API under `/v1/admin/...`: rooms, seats, requests and settings for an app's
//! backend. Every room change goes through the room's actor and the core as the operator
//! (`@operator`, a host that is not a member), so the rules and error codes are the
//! WebSocket's. The OpenAPI document (`GET /v1/openapi.json`) is generated from these handlers
//! and types (and the `PUT`/`GET /v1/rooms/{room}` ones in [`crate::http`]); the wire types
//! the responses embed (`CoGuestState`, `SeatInfo`, ...) get the JSON Schemas `coguest-proto`
//! derives for them, the ones of `protocol.schema.json`.

use crate::App;
use crate::actor::{RoomInfo, RoomMsg};
use crate::auth::AuthError;
use crate::http::{ApiError, bearer, inspect, room_id, settings, store_error};
use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use coguest_core::{Command, RoomConfig, SeatChoice, SeatIndex, UserId};
use coguest_proto::{
    ApplicantInfo, CoGuestState, ErrorCode, InviteeInfo, MovePolicy, SeatInfo, SeatMode,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use utoipa::openapi::schema::{ArrayBuilder, Ref};
use utoipa::{OpenApi, ToSchema};

pub(crate) fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/v1/openapi.json", get(openapi))
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

/// The OpenAPI document, generated from the handlers below.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "coguest admin API",
        description = "Rooms, seats, requests and settings for an app's backend. Authenticate with `Authorization: Bearer <admin token or API key>` (or `X-Api-Key`). Errors carry the WebSocket protocol's codes."
    ),
    paths(
        list_rooms,
        create_room,
        get_room,
        close_room,
        get_seats,
        pick,
        kick,
        move_user,
        lock,
        unlock,
        requests,
        change_settings,
        set_admin,
        crate::http::get_room,
        crate::http::put_room
    ),
    components(schemas(
        ErrorBody,
        RoomList,
        CreateRoom,
        RoomResponse,
        SeatsResponse,
        PickRequest,
        KickRequest,
        MoveRequest,
        ChangeResult,
        RequestsResponse,
        SettingsRequest,
        AdminRequest,
        MovePolicyName,
        SeatModeName,
        RoomSettings,
        RoomSettingsInput
    ))
)]
pub struct AdminApi;

async fn openapi() -> Response {
    Json(openapi_document()).into_response()
}

/// The wire types that responses embed by reference (`#/components/schemas/{name}`).
const WIRE_SCHEMAS: &[&str] = &["CoGuestState", "SeatInfo", "ApplicantInfo", "InviteeInfo"];

/// The OpenAPI document: [`AdminApi`] plus the JSON Schemas of [`WIRE_SCHEMAS`] and of every
/// type they use, taken from `coguest-proto`'s (JSON Schema 2020-12, which OpenAPI 3.1 uses).
pub fn openapi_document() -> Value {
    let mut doc = serde_json::to_value(AdminApi::openapi()).unwrap_or_default();
    let proto = coguest_proto::json_schema();
    let empty = Map::new();
    let defs = proto
        .get("$defs")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut todo: Vec<String> = WIRE_SCHEMAS.iter().map(|s| (*s).to_owned()).collect();
    let mut picked = Map::new();
    while let Some(name) = todo.pop() {
        if picked.contains_key(&name) {
            continue;
        }
        if let Some(def) = defs.get(&name) {
            let mut def = def.clone();
            rewrite_refs(&mut def, &mut todo);
            picked.insert(name, def);
        }
    }
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for (name, def) in picked {
            schemas.entry(name).or_insert(def);
        }
    }
    doc
}

/// Points `#/$defs/X` references at `#/components/schemas/X`, noting each `X` in `found`.
fn rewrite_refs(schema: &mut Value, found: &mut Vec<String>) {
    match schema {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                if key == "$ref" {
                    if let Some(name) = value.as_str().and_then(|r| r.strip_prefix("#/$defs/")) {
                        found.push(name.to_owned());
                        *value = Value::String(format!("#/components/schemas/{name}"));
                    }
                } else {
                    rewrite_refs(value, found);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                rewrite_refs(item, found);
            }
        }
        _ => {}
    }
}

fn state_schema() -> Ref {
    Ref::from_schema_name("CoGuestState")
}

fn seats_schema() -> utoipa::openapi::schema::Array {
    ArrayBuilder::new()
        .items(Ref::from_schema_name("SeatInfo"))
        .build()
}

fn applicants_schema() -> utoipa::openapi::schema::Array {
    ArrayBuilder::new()
        .items(Ref::from_schema_name("ApplicantInfo"))
        .build()
}

fn invitees_schema() -> utoipa::openapi::schema::Array {
    ArrayBuilder::new()
        .items(Ref::from_schema_name("InviteeInfo"))
        .build()
}

/// An error: the same `code` as over WebSocket, and a message.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable numeric code (PROTOCOL.md's error table).
    pub code: i32,
    /// Human-readable explanation.
    pub message: String,
}

/// Every stored room id.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct RoomList {
    /// Room ids, sorted.
    pub rooms: Vec<String>,
}

/// A room to create.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct CreateRoom {
    /// The room id (1 to 48 printable ASCII bytes).
    pub room_id: String,
    /// Room settings, each optional; server defaults fill the rest.
    #[schema(value_type = Option<RoomSettingsInput>)]
    #[serde(default)]
    pub settings: Option<serde_json::Value>,
}

/// A room's settings (`RoomConfig`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RoomSettings {
    /// Number of seats, indices `0..max_seat_count` (1..=64, default 9).
    pub max_seat_count: u16,
    /// How members get onto seats (default `apply_to_take`).
    pub seat_mode: SeatModeName,
    /// The owner takes seat 0 on joining and cannot leave it (default true).
    pub keep_owner_on_seat: bool,
    /// Shortest request timeout accepted, in seconds (default 1).
    pub min_request_timeout_s: u32,
    /// Longest request timeout accepted, in seconds (default 600, at most 86 400).
    pub max_request_timeout_s: u32,
    /// Largest `extra_info` accepted, in bytes of UTF-8 (default 2048, at most 65 536).
    pub max_extra_info_bytes: u32,
    /// Most entries in the hosts' `candidates` view (1..=1000, default 100).
    pub max_candidates: u32,
    /// Most members in the room at once (default 20 000).
    pub max_members: u32,
}

impl From<&RoomConfig> for RoomSettings {
    fn from(c: &RoomConfig) -> Self {
        // Destructured, so a new setting does not compile until it is documented here.
        let RoomConfig {
            max_seat_count,
            seat_mode,
            keep_owner_on_seat,
            min_request_timeout_s,
            max_request_timeout_s,
            max_extra_info_bytes,
            max_candidates,
            max_members,
        } = *c;
        RoomSettings {
            max_seat_count,
            seat_mode: SeatMode::from(seat_mode).into(),
            keep_owner_on_seat,
            min_request_timeout_s,
            max_request_timeout_s,
            max_extra_info_bytes,
            max_candidates,
            max_members,
        }
    }
}

/// Room settings to create a room with: the fields of `RoomSettings`, each optional (the
/// server's defaults fill the rest); an unknown field is refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RoomSettingsInput {
    /// Number of seats (1..=64).
    pub max_seat_count: Option<u16>,
    /// How members get onto seats.
    pub seat_mode: Option<SeatModeName>,
    /// The owner takes seat 0 on joining and cannot leave it.
    pub keep_owner_on_seat: Option<bool>,
    /// Shortest request timeout accepted, in seconds.
    pub min_request_timeout_s: Option<u32>,
    /// Longest request timeout accepted, in seconds.
    pub max_request_timeout_s: Option<u32>,
    /// Largest `extra_info` accepted, in bytes.
    pub max_extra_info_bytes: Option<u32>,
    /// Most entries in the hosts' `candidates` view.
    pub max_candidates: Option<u32>,
    /// Most members in the room at once.
    pub max_members: Option<u32>,
}

/// A room: its settings, the full host view and the member count.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct RoomResponse {
    /// The room id.
    pub room: String,
    /// Its settings.
    pub settings: RoomSettings,
    /// The host view (`CoGuestState` of PROTOCOL.md).
    #[schema(schema_with = state_schema)]
    pub state: CoGuestState,
    /// Members present.
    pub member_count: usize,
}

/// Every seat of a room.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct SeatsResponse {
    /// Room version.
    pub version: u64,
    /// Seat mode.
    pub seat_mode: SeatModeName,
    /// Every seat (`SeatInfo` of PROTOCOL.md), empty ones included.
    #[schema(schema_with = seats_schema)]
    pub seats: Vec<SeatInfo>,
}

/// Pending requests of a room.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct RequestsResponse {
    /// Room version.
    pub version: u64,
    /// Pending applications (`ApplicantInfo`).
    #[schema(schema_with = applicants_schema)]
    pub applicants: Vec<ApplicantInfo>,
    /// Pending invitations (`InviteeInfo`).
    #[schema(schema_with = invitees_schema)]
    pub invitees: Vec<InviteeInfo>,
}

/// Seat a member directly.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct PickRequest {
    /// The member.
    pub user_id: String,
    /// The seat; `-1` for the first free one.
    pub seat_index: i32,
}

/// Remove a user from its seat.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct KickRequest {
    /// The seated user.
    pub user_id: String,
}

/// `abort_when_occupied`, `force_replace` or `swap`.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MovePolicyName {
    /// Refuse when the target is occupied.
    AbortWhenOccupied,
    /// Remove the occupant, then move.
    ForceReplace,
    /// Exchange the two users.
    Swap,
}

/// `apply_to_take` or `free_to_take`.
#[derive(Debug, Serialize, Deserialize, ToSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SeatModeName {
    /// Members apply; `take_seat` is refused.
    ApplyToTake,
    /// Members may take a free seat directly.
    FreeToTake,
}

impl From<SeatMode> for SeatModeName {
    fn from(m: SeatMode) -> Self {
        match m {
            SeatMode::ApplyToTake => SeatModeName::ApplyToTake,
            SeatMode::FreeToTake => SeatModeName::FreeToTake,
        }
    }
}

/// Move a seated user.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct MoveRequest {
    /// The seated user.
    pub user_id: String,
    /// The target seat.
    pub seat_index: i32,
    /// What to do when it is occupied (default `abort_when_occupied`).
    #[serde(default)]
    pub policy: Option<MovePolicyName>,
}

/// Change room settings; absent fields stay.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct SettingsRequest {
    /// New seat mode.
    #[serde(default)]
    pub seat_mode: Option<SeatModeName>,
    /// New number of seats (1..=64; shrinking below an occupied seat is refused).
    #[serde(default)]
    pub max_seat_count: Option<u16>,
}

/// Grant or revoke admin.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct AdminRequest {
    /// The user (need not be in the room yet).
    pub user_id: String,
    /// Grant (`true`) or revoke.
    pub admin: bool,
}

/// A change was applied.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ChangeResult {
    /// Room version after the change.
    pub version: u64,
}

/// Admin token (`adm: true`) or the configured API key.
fn authorize(app: &App, headers: &HeaderMap) -> Result<(), ApiError> {
    let given = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| bearer(headers));
    if let (Some(key), Some(given)) = (&app.config.api_key, &given) {
        if !key.is_empty() && constant_time_eq(key.as_bytes(), given.as_bytes()) {
            return Ok(());
        }
    }
    let identity = app.auth.verify(given.as_deref(), app.clock.now())?;
    if !identity.admin {
        return Err(AuthError::NotAdmin.into());
    }
    Ok(())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn not_found(room: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::RoomIdNotExist,
        format!("room {room} does not exist"),
    )
}

fn unavailable() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::ShuttingDown,
        "the room is not available",
    )
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidParameter,
        message,
    )
}

/// The actor of an existing room (never creates one).
async fn existing(app: &Arc<App>, room: &str) -> Result<mpsc::Sender<RoomMsg>, ApiError> {
    let id = room_id(room)?;
    app.registry
        .open(&id, None)
        .await
        .map_err(store_error)?
        .map(|o| o.tx)
        .ok_or_else(|| not_found(room))
}

/// The HTTP status for a refused command (the code is the WebSocket's).
fn status_for(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidParameter | ErrorCode::InvalidRoomSettings => StatusCode::BAD_REQUEST,
        ErrorCode::UserNotEntered | ErrorCode::RoomIdNotExist => StatusCode::NOT_FOUND,
        ErrorCode::Failed => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::CONFLICT,
    }
}

async fn operate(
    app: &Arc<App>,
    room: &str,
    command: Command,
) -> Result<Json<ChangeResult>, ApiError> {
    let tx = existing(app, room).await?;
    let (reply, rx) = oneshot::channel();
    tx.send(RoomMsg::Operator { command, reply })
        .await
        .map_err(|_| unavailable())?;
    match rx.await.map_err(|_| unavailable())? {
        Ok(version) => Ok(Json(ChangeResult { version })),
        Err((code, message)) => Err(ApiError::new(status_for(code), code, message)),
    }
}

fn user(v: &str) -> Result<UserId, ApiError> {
    if v.is_empty() {
        return Err(bad("user_id must not be empty"));
    }
    Ok(UserId::from(v))
}

fn seat(v: i32) -> Result<SeatIndex, ApiError> {
    u16::try_from(v)
        .map(SeatIndex)
        .map_err(|_| bad(format!("seat_index {v} is not a seat")))
}

fn seat_choice(v: i32) -> Result<SeatChoice, ApiError> {
    SeatChoice::from_i32(v).ok_or_else(|| bad(format!("seat_index {v} is invalid")))
}

pub(crate) fn room_response(info: RoomInfo) -> RoomResponse {
    RoomResponse {
        room: info.room,
        settings: RoomSettings::from(&info.settings),
        state: info.state,
        member_count: info.member_count,
    }
}

fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| bad(format!("invalid JSON body: {e}")))
}

/// Lists every room.
#[utoipa::path(get, path = "/v1/admin/rooms", responses(
    (status = 200, body = RoomList), (status = 401, body = ErrorBody)))]
async fn list_rooms(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> Result<Json<RoomList>, ApiError> {
    authorize(&app, &headers)?;
    let ids = app.registry.room_ids().await.map_err(store_error)?;
    Ok(Json(RoomList {
        rooms: ids.into_iter().map(|r| r.as_str().to_owned()).collect(),
    }))
}

/// Creates a room. `201` when created, `200` when it exists with the same settings, `409`
/// (`ROOM_ID_OCCUPIED`) when it exists with others.
#[utoipa::path(post, path = "/v1/admin/rooms", request_body = CreateRoom, responses(
    (status = 201, body = RoomResponse), (status = 200, body = RoomResponse),
    (status = 409, body = ErrorBody), (status = 400, body = ErrorBody)))]
async fn create_room(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    authorize(&app, &headers)?;
    let req: CreateRoom = json_body(&body)?;
    let id = room_id(&req.room_id)?;
    let raw = req
        .settings
        .map(|v| serde_json::to_vec(&v).unwrap_or_default())
        .unwrap_or_default();
    let config = settings(&app.config.default_room, &raw)?;
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
            format!(
                "room {} already exists with different settings",
                req.room_id
            ),
        ));
    }
    Ok((StatusCode::OK, Json(room_response(info))).into_response())
}

/// A room's settings, host view and member count.
#[utoipa::path(get, path = "/v1/admin/rooms/{room}", params(("room" = String, Path)),
    responses((status = 200, body = RoomResponse), (status = 404, body = ErrorBody)))]
async fn get_room(
    State(app): State<Arc<App>>,
    Path(room): Path<String>,
    headers: HeaderMap,
) -> Result<Json<RoomResponse>, ApiError> {
    authorize(&app, &headers)?;
    let tx = existing(&app, &room).await?;
    Ok(Json(room_response(inspect(&tx).await?)))
}

/// Closes a room: every member gets `room_closed`, every pending request ends, the room is
/// deleted from storage.
#[utoipa::path(delete, path = "/v1/admin/rooms/{room}", params(("room" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn close_room(
    State(app): State<Arc<App>>,
    Path(room): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    authorize(&app, &headers)?;
    let tx = existing(&app, &room).await?;
    let (reply, rx) = oneshot::channel();
    tx.send(RoomMsg::Close(reply))
        .await
        .map_err(|_| unavailable())?;
    match rx.await.map_err(|_| unavailable())? {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err((code, message)) => Err(ApiError::new(status_for(code), code, message)),
    }
}

/// Every seat, empty ones included, with lock and device flags.
#[utoipa::path(get, path = "/v1/admin/rooms/{room}/seats", params(("room" = String, Path)),
    responses((status = 200, body = SeatsResponse), (status = 404, body = ErrorBody)))]
async fn get_seats(
    State(app): State<Arc<App>>,
    Path(room): Path<String>,
    headers: HeaderMap,
) -> Result<Json<SeatsResponse>, ApiError> {
    authorize(&app, &headers)?;
    let info = inspect(&existing(&app, &room).await?).await?;
    Ok(Json(SeatsResponse {
        version: info.state.version,
        seat_mode: info.state.seat_mode.into(),
        seats: info.state.seats,
    }))
}

/// Pending applications and invitations.
#[utoipa::path(get, path = "/v1/admin/rooms/{room}/requests", params(("room" = String, Path)),
    responses((status = 200, body = RequestsResponse), (status = 404, body = ErrorBody)))]
async fn requests(
    State(app): State<Arc<App>>,
    Path(room): Path<String>,
    headers: HeaderMap,
) -> Result<Json<RequestsResponse>, ApiError> {
    authorize(&app, &headers)?;
    let info = inspect(&existing(&app, &room).await?).await?;
    Ok(Json(RequestsResponse {
        version: info.state.version,
        applicants: info.state.applicants,
        invitees: info.state.invitees,
    }))
}

/// Seats a member directly (its pending requests close as already seated).
#[utoipa::path(post, path = "/v1/admin/rooms/{room}/seats/pick", params(("room" = String, Path)),
    request_body = PickRequest,
    responses((status = 200, body = ChangeResult), (status = 409, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn pick(
    State(app): State<Arc<App>>,
    Path(room): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<ChangeResult>, ApiError> {
    authorize(&app, &headers)?;
    let req: PickRequest = json_body(&body)?;
    let command = Command::PickToSeat {
        user: user(&req.user_id)?,
        seat: seat_choice(req.seat_index)?,
    };
    operate(&app, &room, command).await
}

/// Removes a user from its seat (it gets `kicked_off_seat`).
#[utoipa::path(post, path = "/v1/admin/rooms/{room}/seats/kick", params(("room" = String, Path)),
    request_body = KickRequest,
    responses((status = 200, body = ChangeResult), (status = 409, body = ErrorBody)))]
async fn kick(
    State(app): State<Arc<App>>,
    Path(room): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<ChangeResult>, ApiError> {
    authorize(&app, &headers)?;
    let req: KickRequest = json_body(&body)?;
    let command = Command::KickOffSeat {
        user: user(&req.user_id)?,
    };
    operate(&app, &room, command).await
}

/// Moves a seated user (policies as `move_to_seat`).
#[utoipa::path(post, path = "/v1/admin/rooms/{room}/seats/move", params(("room" = String, Path)),
    request_body = MoveRequest,
    responses((status = 200, body = ChangeResult), (status = 409, body = ErrorBody)))]
async fn move_user(
    State(app): State<Arc<App>>,
    Path(room): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<ChangeResult>, ApiError> {
    authorize(&app, &headers)?;
    let req: MoveRequest = json_body(&body)?;
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
#[utoipa::path(post, path = "/v1/admin/rooms/{room}/seats/{seat}/lock",
    params(("room" = String, Path), ("seat" = i32, Path)),
    responses((status = 200, body = ChangeResult), (status = 409, body = ErrorBody)))]
async fn lock(
    State(app): State<Arc<App>>,
    Path((room, index)): Path<(String, i32)>,
    headers: HeaderMap,
) -> Result<Json<ChangeResult>, ApiError> {
    authorize(&app, &headers)?;
    let command = Command::LockSeat { seat: seat(index)? };
    operate(&app, &room, command).await
}

/// Unlocks a seat.
#[utoipa::path(post, path = "/v1/admin/rooms/{room}/seats/{seat}/unlock",
    params(("room" = String, Path), ("seat" = i32, Path)),
    responses((status = 200, body = ChangeResult), (status = 409, body = ErrorBody)))]
async fn unlock(
    State(app): State<Arc<App>>,
    Path((room, index)): Path<(String, i32)>,
    headers: HeaderMap,
) -> Result<Json<ChangeResult>, ApiError> {
    authorize(&app, &headers)?;
    let command = Command::UnlockSeat { seat: seat(index)? };
    operate(&app, &room, command).await
}

/// Changes the seat mode and/or the number of seats.
#[utoipa::path(post, path = "/v1/admin/rooms/{room}/settings", params(("room" = String, Path)),
    request_body = SettingsRequest,
    responses((status = 200, body = ChangeResult), (status = 409, body = ErrorBody),
        (status = 400, body = ErrorBody)))]
async fn change_settings(
    State(app): State<Arc<App>>,
    Path(room): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<ChangeResult>, ApiError> {
    authorize(&app, &headers)?;
    let req: SettingsRequest = json_body(&body)?;
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
async fn set_admin(
    State(app): State<Arc<App>>,
    Path(room): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<ChangeResult>, ApiError> {
    authorize(&app, &headers)?;
    let req: AdminRequest = json_body(&body)?;
    let command = Command::SetAdmin {
        user: user(&req.user_id)?,
        admin: req.admin,
    };
    operate(&app, &room, command).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// `RoomSettings` serializes exactly as `RoomConfig`, and the input type has its fields.
    #[test]
    fn settings_schemas_match_room_config() {
        let config = RoomConfig {
            seat_mode: coguest_core::SeatMode::FreeToTake,
            ..RoomConfig::default()
        };
        let want = serde_json::to_value(&config).unwrap();
        assert_eq!(
            serde_json::to_value(RoomSettings::from(&config)).unwrap(),
            want
        );
        let input: RoomSettingsInput = serde_json::from_value(want.clone()).unwrap();
        assert_eq!(serde_json::to_value(&input).unwrap(), want);
    }

    /// Every wire schema is in the document, none replaced a generated one, and every
    /// reference resolves.
    #[test]
    fn the_document_has_every_schema_it_references() {
        let generated = serde_json::to_value(AdminApi::openapi()).unwrap();
        let doc = openapi_document();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for (name, schema) in generated["components"]["schemas"].as_object().unwrap() {
            assert_eq!(&schemas[name], schema, "{name} was replaced");
        }
        for name in WIRE_SCHEMAS {
            assert!(schemas.contains_key(*name), "{name}");
        }
        let mut refs = Vec::new();
        collect_refs(&doc, &mut refs);
        assert!(refs.len() > 20, "{refs:?}");
        for r in refs {
            let pointer = r.strip_prefix('#').unwrap();
            assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
        }
    }

    fn collect_refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    match (k.as_str(), v.as_str()) {
                        ("$ref", Some(r)) => out.push(r.to_owned()),
                        _ => collect_refs(v, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
            _ => {}
        }
    }
}
