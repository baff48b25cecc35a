//! The one table of stable numeric error codes.

use coguest_core::CommandError;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $name:ident = $code:expr, )*) => {
        /// Stable numeric error codes. Negative codes from `-1` to `-2399` reuse TUIRoomEngine's
        /// `TUIError` numbers where the meaning is the same, so code ported from the reference
        /// keeps working; coguest's own codes are `-3000` and below. `0` is never an error.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( $(#[$doc])* $name, )*
        }

        impl ErrorCode {
            /// Every code, in table order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$name,)*];

            /// The numeric value sent on the wire.
            pub fn code(self) -> i32 {
                match self { $(ErrorCode::$name => $code,)* }
            }

            /// The code with this numeric value.
            pub fn from_code(code: i32) -> Option<Self> {
                match code { $($code => Some(ErrorCode::$name),)* _ => None }
            }
        }
    };
}

error_codes! {
    /// Unclassified server failure (storage unavailable, ...). TUIError `ERR_FAILED`.
    Failed = -1,
    /// Too many commands per second on this connection. TUIError `ERR_FREQ_LIMIT`.
    FreqLimit = -2,
    /// A parameter is invalid (seat index below -1, empty id, ...). TUIError `ERR_INVALID_PARAMETER`.
    InvalidParameter = -1001,
    /// The room does not exist (HTTP API; or a `join` by a token that may not create it).
    /// TUIError `ERR_ROOM_ID_NOT_EXIST`.
    RoomIdNotExist = -2100,
    /// The command needs the room joined first. TUIError `ERR_OPERATION_INVALID_BEFORE_ENTER_ROOM`.
    NotEnteredRoom = -2101,
    /// The room id is not valid (1 to 48 printable ASCII bytes). TUIError `ERR_ROOM_ID_INVALID`.
    RoomIdInvalid = -2105,
    /// A room with this id already exists with other settings. TUIError `ERR_ROOM_ID_OCCUPIED`.
    RoomIdOccupied = -2106,
    /// The target user is not in the room. TUIError `ERR_USER_NOT_ENTERED`.
    UserNotEntered = -2201,
    /// The owner's permission is needed. TUIError `ERR_NEED_OWNER_PERMISSION`.
    NeedOwnerPermission = -2300,
    /// A host's (owner or admin) permission is needed. TUIError `ERR_NEED_ADMIN_PERMISSION`.
    NeedAdminPermission = -2301,
    /// Not allowed on this request (e.g. inviting oneself). TUIError `ERR_REQUEST_NO_PERMISSION`.
    RequestNoPermission = -2310,
    /// No such pending request, or it was already processed. TUIError `ERR_REQUEST_ID_INVALID`.
    RequestIdInvalid = -2311,
    /// The same request is already pending. TUIError `ERR_REQUEST_ID_REPEAT`.
    RequestIdRepeat = -2312,
    /// The user is already on a seat. TUIError `ERR_ALREADY_IN_SEAT`.
    AlreadyInSeat = -2341,
    /// The seat is occupied (or reserved for the owner). TUIError `ERR_SEAT_OCCUPIED`.
    SeatOccupied = -2342,
    /// The seat is locked. TUIError `ERR_SEAT_LOCKED`.
    SeatLocked = -2343,
    /// No seat with this index. TUIError `ERR_SEAT_INDEX_NOT_EXIST`.
    SeatIndexNotExist = -2344,
    /// The user is not on a seat. TUIError `ERR_USER_NOT_IN_SEAT`.
    UserNotInSeat = -2345,
    /// Every seat is taken. TUIError `ERR_ALL_SEAT_OCCUPIED`.
    AllSeatOccupied = -2346,
    /// The frame is not valid JSON, or not a valid message (wrong types, missing fields).
    MalformedFrame = -3001,
    /// The `cmd` is not a known command.
    UnknownCommand = -3002,
    /// The frame is larger than the server accepts.
    FrameTooLarge = -3003,
    /// `extra_info` is larger than the room accepts.
    ExtraInfoTooLarge = -3004,
    /// The timeout is outside the room's bounds.
    TimeoutOutOfRange = -3005,
    /// No token, or a token that is forged or malformed.
    Unauthenticated = -3010,
    /// The token has expired.
    TokenExpired = -3011,
    /// The token is for another room.
    WrongRoom = -3012,
    /// The user has too many connections open.
    TooManyConnections = -3013,
    /// `update_token`: the new token is for another user, role or room than the connection's.
    TokenMismatch = -3014,
    /// The room has its maximum number of members.
    RoomFull = -3020,
    /// Another owner is already in the room.
    OwnerAlreadyPresent = -3021,
    /// The owner stays on seat 0 in this room (`keep_owner_on_seat`).
    OwnerMustStayOnSeat = -3022,
    /// The seat is already in the requested lock state.
    SeatLockUnchanged = -3023,
    /// `take_seat` in an apply-to-take room: apply instead.
    SeatModeApplyToTake = -3024,
    /// A host disallowed opening this device (for the user or its seat).
    DeviceDisallowed = -3025,
    /// `max_seat_count` would drop an occupied seat: empty it first.
    SeatCountBelowOccupied = -3026,
    /// The user is already on the target seat.
    AlreadyOnTargetSeat = -3027,
    /// The owner's role cannot be changed.
    CannotChangeOwnerRole = -3028,
    /// `accept_next_application` with no application pending.
    QueueEmpty = -3029,
    /// The server is shutting down; reconnect.
    ShuttingDown = -3030,
    /// The room settings are invalid.
    InvalidRoomSettings = -3040,
    /// The app's approval hook turned the request down; the error carries the app's
    /// `app_code` and `reason` (see docs/APPROVAL.md).
    ApprovalDenied = -3050,
    /// The app's approval hook could not be asked (timed out, unreachable, or answered
    /// something else than an answer) and the server refuses in that case; retry later.
    ApprovalUnavailable = -3051,
}

impl From<&CommandError> for ErrorCode {
    fn from(e: &CommandError) -> Self {
        use CommandError as E;
        match e {
            E::NotMember => ErrorCode::NotEnteredRoom,
            E::UserNotInRoom(_) => ErrorCode::UserNotEntered,
            E::NotHost => ErrorCode::NeedAdminPermission,
            E::OwnerAlreadyPresent(_) => ErrorCode::OwnerAlreadyPresent,
            E::RoomFull(_) => ErrorCode::RoomFull,
            E::AlreadySeated(_) => ErrorCode::AlreadyInSeat,
            E::NotSeated(_) => ErrorCode::UserNotInSeat,
            E::OwnerMustStayOnSeat | E::CannotKickOwner => ErrorCode::OwnerMustStayOnSeat,
            E::NoSuchSeat(_) => ErrorCode::SeatIndexNotExist,
            E::SeatOccupied(_) | E::SeatReservedForOwner => ErrorCode::SeatOccupied,
            E::SeatLocked(_) => ErrorCode::SeatLocked,
            E::AllSeatsOccupied => ErrorCode::AllSeatOccupied,
            E::ApplicationAlreadyPending | E::InvitationAlreadyPending(_) => {
                ErrorCode::RequestIdRepeat
            }
            E::NoSuchApplication(_) | E::NoSuchInvitation { .. } => ErrorCode::RequestIdInvalid,
            E::CannotInviteSelf => ErrorCode::RequestNoPermission,
            E::TimeoutOutOfRange { .. } => ErrorCode::TimeoutOutOfRange,
            E::ExtraInfoTooLarge { .. } => ErrorCode::ExtraInfoTooLarge,
            E::SeatLockUnchanged(..) => ErrorCode::SeatLockUnchanged,
            E::SeatModeApplyToTake => ErrorCode::SeatModeApplyToTake,
            E::NotOwner => ErrorCode::NeedOwnerPermission,
            E::AlreadyOnSeat(..) => ErrorCode::AlreadyOnTargetSeat,
            E::DeviceDisallowed(_) => ErrorCode::DeviceDisallowed,
            E::ShrinkBelowOccupiedSeat(..) => ErrorCode::SeatCountBelowOccupied,
            E::InvalidSetting(_) => ErrorCode::InvalidRoomSettings,
            E::CannotChangeOwnerRole => ErrorCode::CannotChangeOwnerRole,
            E::ReservedUserId => ErrorCode::InvalidParameter,
            E::QueueEmpty => ErrorCode::QueueEmpty,
            _ => ErrorCode::Failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for &c in ErrorCode::ALL {
            assert!(seen.insert(c.code()), "duplicate code {}", c.code());
            assert_ne!(c.code(), 0);
            assert_eq!(ErrorCode::from_code(c.code()), Some(c));
        }
    }
}
