//! The HTTP API for an app's backend: the admin API under `/v1/admin/...`, the rooms routes
//! (`/v1/rooms/{room}`) and the OpenAPI document that describes both.
//!
//! Dependencies point one way: `openapi` → `admin`, `rooms` → `room` (reaching room actors),
//! `access` (credentials) → `types` (JSON bodies), `error`.

pub(crate) mod access;
pub(crate) mod admin;
pub(crate) mod error;
pub(crate) mod openapi;
pub(crate) mod room;
pub(crate) mod rooms;
pub(crate) mod types;
