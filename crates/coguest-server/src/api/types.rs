//! The JSON bodies of the HTTP API (requests and responses), with their OpenAPI schemas, and
//! the parsing of room settings.

use crate::api::error::ApiError;
use crate::room::msg::RoomInfo;
use axum::http::StatusCode;
use coguest_core::RoomConfig;
use coguest_proto::{ApplicantInfo, CoGuestState, ErrorCode, InviteeInfo, SeatInfo, SeatMode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{ArrayBuilder, Ref};

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

pub(crate) fn room_response(info: RoomInfo) -> RoomResponse {
    RoomResponse {
        room: info.room,
        settings: RoomSettings::from(&info.settings),
        state: info.state,
        member_count: info.member_count,
    }
}

/// Parses room settings: every field optional, missing ones from `defaults` (all of them for
/// an empty body or `null`).
pub(crate) fn settings(defaults: &RoomConfig, body: &[u8]) -> Result<RoomConfig, ApiError> {
    let bad = |m: String| ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidRoomSettings, m);
    let mut merged = serde_json::to_value(defaults).map_err(|e| bad(e.to_string()))?;
    if !body.iter().all(u8::is_ascii_whitespace) {
        let given: serde_json::Value =
            coguest_proto::strict::from_slice(body).map_err(|e| bad(format!("not JSON: {e}")))?;
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
}
