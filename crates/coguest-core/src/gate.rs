//! [`Gate`]: what a command that puts a user forward would do, as
//! [`Room::check_request`](crate::Room::check_request) reports it for the app's approval.

use crate::id::SeatChoice;
use crate::member::UserInfo;

/// What a command that puts a user forward would do, for the app to approve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gate {
    /// Which kind of request.
    pub kind: GateKind,
    /// The user it puts forward: the applicant, the invitee, or the user taking the seat.
    pub user: UserInfo,
    /// The seat asked for.
    pub seat: SeatChoice,
    /// The request's free-form data (applications and invitations).
    pub extra_info: Option<String>,
}

/// The kinds of request an app may approve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GateKind {
    /// `ApplyForSeat`: an application about to be shown to the hosts.
    Application,
    /// `InviteToSeat`: an invitation about to reach its invitee.
    Invitation,
    /// `TakeSeat`: a seat about to be taken in a free-to-take room.
    TakeSeat,
}
