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
    app_code: Option<i32>,
    reason: Option<String>,
}

impl CoGuestError {
    /// The server could not be reached, or the WebSocket handshake failed.
    pub const CONNECT_FAILED: i32 = -4100;
    /// The client was shut down ([`Client::close`](crate::Client::close)) or its connection
    /// task is gone.
    pub const CLOSED: i32 = -4101;
    /// The call's deadline ([`ClientBuilder::request_timeout`](crate::ClientBuilder::request_timeout))
    /// passed before it could be written to any connection: the client was disconnected or
    /// reconnecting the whole time.
    ///
    /// The caller may assume it was **not applied and never will be**: the SDK never wrote it
    /// and drops it at the deadline (it is not sent after a later reconnect). Nothing changed;
    /// calling again is safe.
    ///
    /// From [`CoGuestStore::create`](crate::CoGuestStore::create): the room's first join was
    /// not answered in time (sent or not). The caller may assume it is not a member through
    /// this client: if the join went out, the SDK sends a `leave` to undo whatever the server
    /// granted. No store exists; `create` may be called again.
    pub const TIMEOUT: i32 = -4102;
    /// The call was written to a connection, but no answer arrived before its deadline
    /// (re-sends with the same request id after reconnecting included).
    ///
    /// The caller may assume **nothing** about the outcome: the server may have applied it or
    /// not, and a copy still in flight may even be applied after this error; the SDK stops
    /// waiting and does not send it again. If it was applied, its effects reach the lists
    /// (`co_guest_state`, `seat_list`) and listeners like any change once connected: read the
    /// lists before deciding. Calling again sends a new request: while the first one's effect
    /// stands, the server refuses most repeats with a precise code (`-2312`
    /// `REQUEST_ID_REPEAT` for a second pending application or invitation, `-2311`
    /// `REQUEST_ID_INVALID` for answering an application twice, `-2345` `USER_NOT_IN_SEAT` for
    /// leaving a seat twice, ...), and settings-like commands (devices, permissions, seat
    /// mode) succeed again with no further change.
    ///
    /// Only a missing answer gives this error: a call whose answer was lost with a connection
    /// and that is answered after the reconnect, before the deadline, resolves with that
    /// answer (the server answers a re-sent id with its first answer, without applying it
    /// again).
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
    /// A `wss://` server's TLS certificate is not trusted: not issued by a trusted CA (the
    /// Mozilla roots, plus those added with
    /// [`ClientBuilder::ca_file`](crate::ClientBuilder::ca_file) or
    /// [`ClientBuilder::add_root_certificate`](crate::ClientBuilder::add_root_certificate)),
    /// not valid for the URL's host, or expired.
    pub const CERTIFICATE_UNTRUSTED: i32 = -4108;
    /// A CA certificate given to the [`ClientBuilder`](crate::ClientBuilder) cannot be used
    /// (unreadable file, neither PEM nor DER, not a certificate).
    pub const INVALID_CERTIFICATE: i32 = -4109;

    /// An error with this code and message.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        CoGuestError {
            code,
            message: message.into(),
            app_code: None,
            reason: None,
        }
    }

    /// This error with the app's answer from its approval hook (`APPROVAL_DENIED`).
    pub(crate) fn with_approval(mut self, app_code: Option<i32>, reason: Option<String>) -> Self {
        self.app_code = app_code;
        self.reason = reason;
        self
    }

    /// For `APPROVAL_DENIED` (-3050): the code the app's approval hook gave, if any.
    pub fn app_code(&self) -> Option<i32> {
        self.app_code
    }

    /// For `APPROVAL_DENIED` (-3050): the reason the app's approval hook gave, if any.
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
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
            CoGuestError::CERTIFICATE_UNTRUSTED,
            CoGuestError::INVALID_CERTIFICATE,
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
        assert_eq!((e.app_code(), e.reason()), (None, None));
        let denied = CoGuestError::new(-3050, "denied").with_approval(Some(7), Some("no".into()));
        assert_eq!(denied.error_code(), Some(ErrorCode::ApprovalDenied));
        assert_eq!((denied.app_code(), denied.reason()), (Some(7), Some("no")));
    }
}
