//! The server's side of the wire format: server messages encoded once as shared text frames,
//! and the rule for room ids.

use axum::extract::ws::Utf8Bytes;
use coguest_proto::ServerMsg;

/// Serializes a server message once; the bytes are shared by every recipient.
pub(crate) fn encode(msg: &ServerMsg) -> Utf8Bytes {
    match serde_json::to_string(msg) {
        Ok(s) => Utf8Bytes::from(s),
        Err(_) => Utf8Bytes::from_static(r#"{"t":"error","code":-1,"message":"encoding failed"}"#),
    }
}

/// Room ids are 1 to 48 printable ASCII bytes.
pub fn valid_room_id(room: &str) -> bool {
    (1..=48).contains(&room.len()) && room.bytes().all(|b| (0x20..=0x7e).contains(&b))
}
