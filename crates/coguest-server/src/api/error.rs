//! The HTTP API's errors: a status and a `{code, message}` body whose code is the WebSocket
//! protocol's.

use crate::auth::AuthError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use coguest_proto::ErrorCode;
use serde::Serialize;
use utoipa::ToSchema;

/// An HTTP error: a status and a `{code, message}` body.
#[derive(Debug)]
pub struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: ErrorCode,
    pub(crate) message: String,
}

/// An error: the same `code` as over WebSocket, and a message.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable numeric code (PROTOCOL.md's error table).
    pub code: i32,
    /// Human-readable explanation.
    pub message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// A command the room refused, with the WebSocket's code.
    pub(crate) fn refused((code, message): (ErrorCode, String)) -> Self {
        ApiError::new(status_for(code), code, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code.code(),
            message: self.message,
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

pub(crate) fn not_found(room: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        ErrorCode::RoomIdNotExist,
        format!("room {room} does not exist"),
    )
}

pub(crate) fn unavailable() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::ShuttingDown,
        "the room is not available",
    )
}

pub(crate) fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        ErrorCode::InvalidParameter,
        message,
    )
}

pub(crate) fn store_error(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::Failed,
        format!("storage failed: {e}"),
    )
}
