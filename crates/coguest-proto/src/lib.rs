//! `coguest-proto`: the wire protocol between coguest clients and the server.
//!
//! JSON text frames over one WebSocket. A connection authenticates once (its token), then
//! joins one or more rooms. Every client frame carries a client request id (`id`); the server
//! answers each with exactly one [`ServerMsg::Ack`] or [`ServerMsg::Error`], and a retried id
//! gets the first answer again instead of acting twice. Events and view changes carry the room
//! version that produced them, so a client knows how far it is up to date and can resume from
//! there after a reconnect.
//!
//! This is the only crate that knows the wire format: the server and the SDK convert to and
//! from core types here. `PROTOCOL.md` documents every message; `protocol.schema.json` is
//! generated from these types (see [`json_schema`]) and a test fails when it is stale.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod approval;
mod codes;
mod command;
mod convert;
mod frame;
pub mod strict;
mod webhook;
mod wire;

pub use approval::{ApprovalKind, ApprovalRequest, ApprovalResponse};
pub use codes::ErrorCode;
pub use command::{ClientCommand, ClientFrame};
pub use convert::WireBody;
pub use frame::FrameError;
pub use webhook::{WEBHOOK_TYPES, WebhookEvent};
pub use wire::*;

use schemars::JsonSchema;

/// WebSocket close code asking the client to reconnect (server restarting or shutting down).
pub const CLOSE_RECONNECT: u16 = 1012;
/// WebSocket close code for a client that fell too far behind (its queue filled); it should
/// reconnect and resume.
pub const CLOSE_TOO_SLOW: u16 = 4008;
/// WebSocket close code for a refused or expired token.
pub const CLOSE_UNAUTHORIZED: u16 = 4001;
/// WebSocket close code for a connection silent (no frame, ping or pong) for the server's idle
/// timeout: its peer is taken for gone; a live client reconnects and resumes.
pub const CLOSE_IDLE: u16 = 4009;
/// WebSocket close code for a connection whose room state on the server could not be kept in
/// sync (cluster mode: storage did not answer in time, or the room dropped the member while its
/// socket was open); it should reconnect and resume with `since`.
pub const CLOSE_RESYNC: u16 = 4010;
/// WebSocket close code for a connection refused by policy (the user has too many open).
pub const CLOSE_POLICY: u16 = 1008;
/// WebSocket close code for a frame larger than the server accepts.
pub const CLOSE_FRAME_TOO_LARGE: u16 = 1009;

/// The JSON Schema of every message, generated from these types.
pub fn json_schema() -> serde_json::Value {
    #[derive(JsonSchema)]
    #[allow(dead_code)]
    /// Every message of the coguest protocol.
    struct Protocol {
        client: ClientFrame,
        server: ServerMsg,
        approval_request: ApprovalRequest,
        approval_response: ApprovalResponse,
        webhook_event: WebhookEvent,
    }
    serde_json::to_value(schemars::schema_for!(Protocol)).unwrap_or_default()
}

/// Decodes one client frame: the protocol's only reader of client frames (the server reads
/// every WebSocket frame with it). Stricter than `serde_json` with [`ClientFrame`]'s derived
/// `Deserialize`: a key repeated at any depth and a `cmd` that is not one of
/// [`ClientCommand::NAMES`] (a string: not a variant's index) are refused, so a frame means
/// what every reader of its JSON takes it to mean.
///
/// A refused frame is answered with `UNKNOWN_COMMAND` for a `cmd` naming no command, else
/// `MALFORMED_FRAME`, and the frame's `id` when it has one (see [`FrameError`]).
pub fn decode_frame(text: &str) -> Result<ClientFrame, FrameError> {
    frame::decode(text, ClientCommand::NAMES, |f: &ClientFrame| {
        f.command
            .takes_no_fields()
            .then_some(2 + usize::from(f.room.is_some()))
    })
}

/// The `id` of a frame that is not decoded (one too large, say): present when the frame is a
/// JSON object with exactly one `id`, an unsigned integer.
pub fn frame_id(text: &str) -> Option<u64> {
    frame::frame_id(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `kind()`, the serialized `cmd` tag and [`ClientCommand::NAMES`] agree for every variant.
    #[test]
    fn command_names_match_the_wire_tags() {
        let all = [
            ClientCommand::Join { since: None },
            ClientCommand::Leave,
            ClientCommand::ApplyForSeat {
                seat_index: -1,
                timeout: 1,
                extra_info: None,
            },
            ClientCommand::CancelApplication,
            ClientCommand::AcceptApplication {
                user_id: "u".into(),
            },
            ClientCommand::AcceptNextApplication,
            ClientCommand::RejectApplication {
                user_id: "u".into(),
            },
            ClientCommand::InviteToSeat {
                invitee_id: "u".into(),
                seat_index: 1,
                timeout: 1,
                extra_info: None,
            },
            ClientCommand::CancelInvitation {
                invitee_id: "u".into(),
            },
            ClientCommand::AcceptInvitation {
                inviter_id: "u".into(),
            },
            ClientCommand::RejectInvitation {
                inviter_id: "u".into(),
            },
            ClientCommand::Disconnect,
            ClientCommand::KickOffSeat {
                user_id: "u".into(),
            },
            ClientCommand::LockSeat { seat_index: 1 },
            ClientCommand::UnlockSeat { seat_index: 1 },
            ClientCommand::TakeSeat { seat_index: 1 },
            ClientCommand::LeaveSeat,
            ClientCommand::MoveToSeat {
                user_id: "u".into(),
                seat_index: 1,
                policy: MovePolicy::Swap,
            },
            ClientCommand::SetDevice {
                device: Device::Camera,
                on: true,
            },
            ClientCommand::SetUserDevicePermission {
                user_id: "u".into(),
                device: Device::Camera,
                allowed: true,
            },
            ClientCommand::SetSeatDevicePermission {
                seat_index: 1,
                device: Device::Camera,
                allowed: true,
            },
            ClientCommand::ChangeSettings {
                seat_mode: None,
                max_seat_count: Some(3),
            },
            ClientCommand::SetAdmin {
                user_id: "u".into(),
                admin: true,
            },
            ClientCommand::Snapshot,
            ClientCommand::Ping,
            ClientCommand::UpdateToken { token: "t".into() },
            ClientCommand::Observe { since: Some(3) },
            ClientCommand::Unobserve,
            ClientCommand::ObserveRooms,
            ClientCommand::UnobserveRooms,
        ];
        let names: Vec<&str> = all.iter().map(ClientCommand::kind).collect();
        assert_eq!(names, ClientCommand::NAMES);
        // Every command decodes from its own frame, and a field it does not take is refused
        // (`takes_no_fields` lists every command without fields).
        for cmd in &all {
            let frame = ClientFrame {
                id: 1,
                room: Some("r".into()),
                command: cmd.clone(),
            };
            let text = serde_json::to_string(&frame).unwrap_or_default();
            assert_eq!(decode_frame(&text), Ok(frame), "{text}");
            let extra = text.replacen('{', r#"{"zz":1,"#, 1);
            assert!(decode_frame(&extra).is_err(), "{extra} was accepted");
        }
        for cmd in all {
            let v = serde_json::to_value(&cmd).unwrap_or_default();
            assert_eq!(v["cmd"], cmd.kind());
        }
    }
}
