//! The web console: its built bundle (`console/`, built from `clients/console/` and committed)
//! embedded in the binary and served under `/console`; `/` redirects there.
//!
//! The files are public (they hold no data); everything the console shows comes over the
//! WebSocket and the admin API with the credential the operator signs in with. Nothing is
//! fetched from elsewhere: the content security policy allows this origin only (and avatar
//! images from anywhere).

use crate::app::App;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use std::sync::Arc;

const INDEX_HTML: &str = include_str!("../console/index.html");
const APP_JS: &str = include_str!("../console/app.js");
const APP_CSS: &str = include_str!("../console/app.css");

/// What the console's pages may load: its own script, style and connections (the WebSocket
/// and the admin API of this server), and avatars from anywhere.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: https: http:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

pub(crate) fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(root))
        .route("/console", get(index))
        .route("/console/", get(index))
        .route("/console/app.js", get(app_js))
        .route("/console/app.css", get(app_css))
}

async fn root() -> Redirect {
    Redirect::to("/console")
}

async fn index() -> Response {
    file("text/html; charset=utf-8", INDEX_HTML)
}

async fn app_js() -> Response {
    file("text/javascript; charset=utf-8", APP_JS)
}

async fn app_css() -> Response {
    file("text/css; charset=utf-8", APP_CSS)
}

fn file(content_type: &'static str, body: &'static str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // The bundle changes with the binary: revalidate rather than keep a stale one.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
