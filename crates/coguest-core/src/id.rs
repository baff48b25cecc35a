//! Identifier newtypes, so a user id cannot be passed where a room id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// A user's id, as given by the application (and carried in its token). Shared, not copied:
/// every command's events, views and answers name users.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(Arc<str>);

impl UserId {
    /// The id the server's admin API acts under. It has host powers (and the owner's, for
    /// granting admin), cannot join a room, and sends no invitations.
    pub const OPERATOR: &'static str = "@operator";

    /// The admin API's actor id.
    pub fn operator() -> Self {
        UserId(Arc::from(Self::OPERATOR))
    }

    /// Whether this is [`UserId::operator`].
    pub fn is_operator(&self) -> bool {
        &*self.0 == Self::OPERATOR
    }
}

/// A live room's id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RoomId(Arc<str>);

macro_rules! string_id {
    ($t:ident) => {
        impl $t {
            /// Wraps a string id.
            pub fn new(id: impl Into<String>) -> Self {
                $t(Arc::from(id.into()))
            }

            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $t {
            fn from(s: &str) -> Self {
                $t(Arc::from(s))
            }
        }

        impl From<String> for $t {
            fn from(s: String) -> Self {
                $t(Arc::from(s))
            }
        }
    };
}

string_id!(UserId);
string_id!(RoomId);

/// A seat's index, `0..max_seat_count`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct SeatIndex(pub u16);

impl fmt::Display for SeatIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The id of one application or invitation, unique within its room.
///
/// Drawn from a counter in the room, so the same inputs give the same ids.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct RequestId(pub u64);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Which seat a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeatChoice {
    /// The first free, unlocked seat at the time the request is accepted (`-1` in the reference API).
    Any,
    /// This seat.
    Exact(SeatIndex),
}

impl SeatChoice {
    /// The reference API's encoding: `-1` for any seat, the index otherwise.
    pub fn to_i32(self) -> i32 {
        match self {
            SeatChoice::Any => -1,
            SeatChoice::Exact(i) => i32::from(i.0),
        }
    }

    /// Parses the reference API's encoding; `None` for values below `-1` or above `u16::MAX`.
    pub fn from_i32(v: i32) -> Option<Self> {
        match v {
            -1 => Some(SeatChoice::Any),
            v => u16::try_from(v)
                .ok()
                .map(|i| SeatChoice::Exact(SeatIndex(i))),
        }
    }
}
