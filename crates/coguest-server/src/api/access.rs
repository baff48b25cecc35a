//! Who may call the HTTP API: the credentials of a request, checked once per route by an
//! extractor (an admin token, or for the admin API also the static API key), and which rooms
//! they reach ([`Scope`]): a token's `room` claim limits it to that room, checked here against
//! the route's `{room}` for every route that has one.

use crate::api::error::ApiError;
use crate::app::App;
use crate::auth::AuthError;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use coguest_proto::ErrorCode;
use std::sync::Arc;

/// The token of `Authorization: Bearer <token>`.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?;
    Some(token.trim().to_owned())
}

/// The rooms a credential reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Every room: the API key, or an admin token without a `room` claim.
    All,
    /// One room: an admin token with a `room` claim.
    Room(String),
}

impl Scope {
    /// Whether this credential reaches `room`.
    pub(crate) fn allows(&self, room: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Room(only) => only == room,
        }
    }

    /// `403 WRONG_ROOM` unless this credential reaches `room`.
    pub(crate) fn check(&self, room: &str) -> Result<(), ApiError> {
        match self {
            Scope::Room(only) if only != room => Err(AuthError::WrongRoom(only.clone()).into()),
            _ => Ok(()),
        }
    }
}

/// A request made with an admin token (`adm: true`) or the configured API key: the admin
/// API's routes take it as an argument, so none runs without it. A route's `{room}` is
/// checked against the token's scope before the handler runs.
pub(crate) struct AdminKeyOrToken(pub(crate) Scope);

impl FromRequestParts<Arc<App>> for AdminKeyOrToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let headers = &parts.headers;
        let key = headers
            .get("x-api-key")
            .map(|v| v.to_str().map(str::to_owned).unwrap_or_default());
        let given = key.clone().or_else(|| bearer(headers));
        let configured = app.config.api_key.as_deref().filter(|k| !k.is_empty());
        if let (Some(configured), Some(given)) = (configured, &given) {
            if constant_time_eq(configured.as_bytes(), given.as_bytes()) {
                return Ok(AdminKeyOrToken(Scope::All));
            }
        }
        let scope = match admin_token(app, given.as_deref()) {
            Ok(scope) => scope,
            // A credential that is not even a JWT was meant as the API key.
            Err(AuthError::Invalid(_)) if key.is_some() || !looks_like_jwt(given.as_deref()) => {
                return Err(not_the_key(configured.is_some()));
            }
            Err(e) => return Err(e.into()),
        };
        check_room(parts, app, &scope).await?;
        Ok(AdminKeyOrToken(scope))
    }
}

/// A request made with an admin token (`PUT`/`GET /v1/rooms/{room}`: not the API key), the
/// route's `{room}` checked against its scope.
pub(crate) struct AdminToken;

impl FromRequestParts<Arc<App>> for AdminToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let scope = admin_token(app, bearer(&parts.headers).as_deref())?;
        check_room(parts, app, &scope).await?;
        Ok(AdminToken)
    }
}

/// Verifies an admin token: the rooms it reaches.
fn admin_token(app: &App, token: Option<&str>) -> Result<Scope, AuthError> {
    let identity = app.auth.verify(token, app.clock.now())?;
    if !identity.admin {
        return Err(AuthError::NotAdmin);
    }
    Ok(identity.room.map_or(Scope::All, Scope::Room))
}

/// `403 WRONG_ROOM` when the route names a `{room}` the scope does not reach.
async fn check_room(parts: &mut Parts, app: &Arc<App>, scope: &Scope) -> Result<(), ApiError> {
    if *scope == Scope::All {
        return Ok(());
    }
    match RawPathParams::from_request_parts(parts, app).await {
        Ok(params) => match params.iter().find(|(name, _)| *name == "room") {
            Some((_, room)) => scope.check(room),
            None => Ok(()),
        },
        // A route without parameters names no room.
        Err(axum::extract::rejection::RawPathParamsRejection::MissingPathParams(_)) => Ok(()),
        Err(_) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::RoomIdInvalid,
            "the room id in the path is not UTF-8",
        )),
    }
}

/// Whether `token` has a JWT's shape (three dot-separated parts).
fn looks_like_jwt(token: Option<&str>) -> bool {
    token.is_some_and(|t| t.split('.').count() == 3)
}

/// The refusal of a credential that is neither the API key nor a token.
fn not_the_key(key_configured: bool) -> ApiError {
    let message = if key_configured {
        "the API key is wrong (and the credential is not an admin token either)"
    } else {
        "the credential is not a token, and this server has no API key configured (`--api-key`)"
    };
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        ErrorCode::Unauthenticated,
        message,
    )
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
