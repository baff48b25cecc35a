//! Who may call the HTTP API: the credentials of a request, checked once per route by an
//! extractor (an admin token, or for the admin API also the static API key).

use crate::api::error::ApiError;
use crate::app::App;
use crate::auth::AuthError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use std::sync::Arc;

/// The token of `Authorization: Bearer <token>`.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?;
    Some(token.trim().to_owned())
}

/// A request made with an admin token (`adm: true`) or the configured API key: the admin
/// API's routes take it as an argument, so none runs without it.
pub(crate) struct AdminKeyOrToken;

impl FromRequestParts<Arc<App>> for AdminKeyOrToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let headers = &parts.headers;
        let given = headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .or_else(|| bearer(headers));
        if let (Some(key), Some(given)) = (&app.config.api_key, &given) {
            if !key.is_empty() && constant_time_eq(key.as_bytes(), given.as_bytes()) {
                return Ok(AdminKeyOrToken);
            }
        }
        admin_token(app, given.as_deref())?;
        Ok(AdminKeyOrToken)
    }
}

/// A request made with an admin token (`PUT`/`GET /v1/rooms/{room}`: not the API key).
pub(crate) struct AdminToken;

impl FromRequestParts<Arc<App>> for AdminToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        admin_token(app, bearer(&parts.headers).as_deref())?;
        Ok(AdminToken)
    }
}

fn admin_token(app: &App, token: Option<&str>) -> Result<(), ApiError> {
    let identity = app.auth.verify(token, app.clock.now())?;
    if !identity.admin {
        return Err(AuthError::NotAdmin.into());
    }
    Ok(())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
