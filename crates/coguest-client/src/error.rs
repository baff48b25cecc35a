//! [`CoGuestError`]: what every SDK call returns on failure.

use coguest_proto::ErrorCode;
use std::fmt;

/// Why a call failed: a numeric [`code`](CoGuestError::code) and a human-readable
/// [`message`](CoGuestError::message), like the reference `CompletionHandler`.
///
/// Codes from the server are the protocol's (`PROTOCOL.md`, [`ErrorCode`]): `-2311`
/// (`REQUEST_ID_INVALID`) when another host answered an application first, `-2342`
/// (`SEAT_OCCUPIED`), and so on. A refused command changed nothing. Failures detected by the SDK
/// itself have codes of their own, from `-4100` down (the associated constants below); `0` is
/// never an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoGuestError {
    code: i32,
    message: String,
}

impl CoGuestError {
    /// The server could not be reached, or the WebSocket handshake failed.
    pub const CONNECT_FAILED: i32 = -4100;
    /// The client was shut down ([`Client::close`](crate::Client::close)) or its connection
    /// task is gone.
    pub const CLOSED: i32 = -4101;
    /// The call could not be sent before its deadline (the client was reconnecting). It was
    /// never sent, so it was not applied: it is safe to call again.
    pub const TIMEOUT: i32 = -4102;
    /// The call was sent but no answer arrived before its deadline, even after resending it.
    /// It may or may not have been applied; the state lists show which. Retrying is safe for
    /// the server, which refuses a repeated request with a clear code.
    pub const OUTCOME_UNKNOWN: i32 = -4103;
    /// The server closed the connection with close code 4001 (token refused or expired)
    /// without saying more. When it did say more, the error carries the server's code
    /// instead (`-3010` `UNAUTHENTICATED`, `-3011` `TOKEN_EXPIRED`, `-3012` `WRONG_ROOM`).
    /// The client stops reconnecting: connect again with a new token.
    pub const UNAUTHORIZED: i32 = -4104;
    /// The server sent something this SDK does not understand (no `welcome`, another protocol
    /// version).
    pub const PROTOCOL: i32 = -4105;
    /// The room was closed by the server; the store is no longer a member.
    pub const ROOM_CLOSED: i32 = -4106;
    /// A server URL given to [`Client::connect`](crate::Client::connect) is not valid.
    pub const INVALID_URL: i32 = -4107;

    /// An error with this code and message.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        CoGuestError {
            code,
            message: message.into(),
        }
    }

    /// The numeric code: the server's (see [`ErrorCode`]) or one of the SDK constants above.
    /// Never `0`.
    pub fn code(&self) -> i32 {
        self.code
    }

    /// A human-readable explanation.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The protocol error code, when the code is one of the server's.
    pub fn error_code(&self) -> Option<ErrorCode> {
        ErrorCode::from_code(self.code)
    }

    pub(crate) fn closed() -> Self {
        CoGuestError::new(Self::CLOSED, "the client is closed")
    }
}

impl fmt::Display for CoGuestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)
    }
}

impl std::error::Error for CoGuestError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_codes_do_not_clash_with_server_codes() {
        for code in [
            CoGuestError::CONNECT_FAILED,
            CoGuestError::CLOSED,
            CoGuestError::TIMEOUT,
            CoGuestError::OUTCOME_UNKNOWN,
            CoGuestError::UNAUTHORIZED,
            CoGuestError::PROTOCOL,
            CoGuestError::ROOM_CLOSED,
            CoGuestError::INVALID_URL,
        ] {
            assert_ne!(code, 0);
            assert_eq!(ErrorCode::from_code(code), None, "{code} is a server code");
        }
    }

    #[test]
    fn display_and_accessors() {
        let e = CoGuestError::new(-2311, "no pending application");
        assert_eq!(e.code(), -2311);
        assert_eq!(e.message(), "no pending application");
        assert_eq!(e.error_code(), Some(ErrorCode::RequestIdInvalid));
        assert_eq!(e.to_string(), "no pending application (code -2311)");
    }
}
