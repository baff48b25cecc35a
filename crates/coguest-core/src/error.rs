//! Why a command was refused. A refused command changes nothing.

use crate::id::{SeatIndex, UserId};

/// One variant per broken rule. The core cannot fail on IO, so there is no IO variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The actor has not joined the room.
    #[error("you are not a member of this room")]
    NotMember,
    /// The target user is not in the room.
    #[error("user {0} is not in this room")]
    UserNotInRoom(UserId),
    /// Only the owner and admins may do this.
    #[error("only the owner or an admin may do this")]
    NotHost,
    /// A different user is already the room's owner.
    #[error("the room already has an owner present ({0})")]
    OwnerAlreadyPresent(UserId),
    /// The room holds `max_members` members already.
    #[error("the room is full ({0} members)")]
    RoomFull(u32),
    /// The actor is already seated.
    #[error("you are already on seat {0}")]
    AlreadySeated(SeatIndex),
    /// The actor (or target) is not seated.
    #[error("{0} is not on a seat")]
    NotSeated(UserId),
    /// The owner cannot leave seat 0 while `keep_owner_on_seat` is on.
    #[error("the owner stays on seat 0 in this room (keep_owner_on_seat)")]
    OwnerMustStayOnSeat,
    /// The seat index is not in `0..max_seat_count`.
    #[error("seat {0} does not exist")]
    NoSuchSeat(SeatIndex),
    /// The seat is occupied.
    #[error("seat {0} is occupied")]
    SeatOccupied(SeatIndex),
    /// Seat 0 belongs to the owner while `keep_owner_on_seat` is on.
    #[error("seat 0 is reserved for the owner (keep_owner_on_seat)")]
    SeatReservedForOwner,
    /// The seat is locked.
    #[error("seat {0} is locked")]
    SeatLocked(SeatIndex),
    /// No free, unlocked seat is left.
    #[error("all seats are occupied")]
    AllSeatsOccupied,
    /// The actor already has a pending application.
    #[error("you already have a pending application")]
    ApplicationAlreadyPending,
    /// The actor already has a pending invitation to this user.
    #[error("you already have a pending invitation to {0}")]
    InvitationAlreadyPending(UserId),
    /// No pending application from this user: none was made, or it was already processed.
    #[error("no pending application from {0} (it may have been processed already)")]
    NoSuchApplication(UserId),
    /// No pending invitation between these users: none was made, or it was already processed.
    #[error("no pending invitation from {host} to {invitee} (it may have been processed already)")]
    NoSuchInvitation {
        /// The inviting host.
        host: UserId,
        /// The invitee.
        invitee: UserId,
    },
    /// A user cannot invite itself.
    #[error("you cannot invite yourself")]
    CannotInviteSelf,
    /// The owner cannot be kicked off seat 0 while `keep_owner_on_seat` is on.
    #[error("the owner cannot be removed from seat 0 (keep_owner_on_seat)")]
    CannotKickOwner,
    /// The timeout is outside the room's bounds.
    #[error("timeout {got}s is outside {min}..={max}s")]
    TimeoutOutOfRange {
        /// The timeout asked for.
        got: u32,
        /// Shortest allowed.
        min: u32,
        /// Longest allowed.
        max: u32,
    },
    /// `extra_info` is larger than the room allows.
    #[error("extra_info is {got} bytes, more than the {max} allowed")]
    ExtraInfoTooLarge {
        /// Its size.
        got: usize,
        /// The limit.
        max: u32,
    },
    /// Taking a seat directly needs a free-to-take room.
    #[error("this room is apply-to-take: apply for a seat instead")]
    SeatModeApplyToTake,
    /// Only the owner may do this.
    #[error("only the owner may do this")]
    NotOwner,
    /// The user is already on the target seat.
    #[error("{0} is already on seat {1}")]
    AlreadyOnSeat(UserId, SeatIndex),
    /// A host or the owner has disallowed opening this device.
    #[error("opening the {0} is disallowed by a host")]
    DeviceDisallowed(&'static str),
    /// `max_seat_count` cannot shrink below an occupied seat.
    #[error("seat {0} is occupied: empty it before shrinking to {1} seats")]
    ShrinkBelowOccupiedSeat(SeatIndex, u16),
    /// A setting is outside its bounds.
    #[error("invalid setting: {0}")]
    InvalidSetting(&'static str),
    /// This user id is reserved for the server's admin API.
    #[error("user id {} is reserved for the admin API", UserId::OPERATOR)]
    ReservedUserId,
    /// The owner's role cannot be changed.
    #[error("the owner's role cannot be changed")]
    CannotChangeOwnerRole,
    /// `accept_next_application` with no application pending.
    #[error("the application queue is empty")]
    QueueEmpty,
    /// The seat is already in the asked lock state.
    #[error("seat {0} is already {1}")]
    SeatLockUnchanged(SeatIndex, &'static str),
}

/// A room setting outside its documented bounds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid room settings: {field}")]
pub struct ConfigError {
    /// Which bound was broken.
    pub field: &'static str,
}

/// A snapshot that does not describe a valid room (it came from storage, so it is checked).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid room snapshot: {0}")]
pub struct RestoreError(pub String);
