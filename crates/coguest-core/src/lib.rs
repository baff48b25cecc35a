//! `coguest-core`: the co-guest rules of a live room as a pure, deterministic state machine.
//!
//! A [`Room`] owns a room's seats, members and pending applications and invitations, and
//! applies every rule of the reference `CoGuestStore` API: who may do what, seat capacity,
//! first host wins, timeouts, and closing requests as already-seated.
//!
//! The crate does no IO, reads no clock and draws no randomness. Time enters as an argument
//! ([`Timestamp`], Unix milliseconds, so deadlines can be persisted and read by another
//! process). The same inputs always give the same outputs.
//!
//! # The run-loop contract
//!
//! 1. Feed one input: [`Room::handle_command`] or [`Room::handle_timeout`], with `now`.
//! 2. Drain [`Room::poll_output`] until it returns `None`, delivering each [`Output`] to its
//!    [`Audience`]. Every mutation is followed by draining output before the next mutation.
//! 3. Sleep until [`Room::poll_timeout`] (or the next command), then go to 1.
//!
//! Time that goes backwards is ignored: a room clamps `now` to the latest time it has seen.
//!
//! ```
//! use coguest_core::{Command, Profile, Role, Room, RoomConfig, SeatChoice, Timestamp, UserId};
//!
//! let mut now = Timestamp::from_millis(1_700_000_000_000);
//! let mut room = Room::new(RoomConfig::default(), now).unwrap();
//! let (host, guest) = (UserId::from("host"), UserId::from("guest"));
//! let join = |role| Command::Join { profile: Profile::default(), role };
//! room.handle_command(now, &host, join(Role::Owner)).unwrap();
//! room.handle_command(now, &guest, join(Role::Audience)).unwrap();
//! let apply = Command::ApplyForSeat { seat: SeatChoice::Any, timeout_s: 30, extra_info: None };
//! room.handle_command(now, &guest, apply).unwrap();
//! while let Some(output) = room.poll_output() {
//!     // deliver output.body to output.to
//!     # let _ = output;
//! }
//! // Nobody answers: the application times out after 30 s.
//! now = room.poll_timeout().unwrap();
//! room.handle_timeout(now);
//! let events: Vec<_> = std::iter::from_fn(|| room.poll_output()).collect();
//! assert!(events.iter().any(|o| matches!(
//!     o.body,
//!     coguest_core::OutputBody::Event(coguest_core::Event::GuestApplicationNoResponse { .. })
//! )));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod command;
mod config;
mod error;
mod event;
mod gate;
mod id;
mod member;
mod room;
mod snapshot;
mod time;
mod view;

pub use command::{Command, MovePolicy};
pub use config::{RoomConfig, SeatMode};
pub use error::{CommandError, ConfigError, RestoreError};
pub use event::{
    Audience, Event, NoResponseReason, Notice, NoticeKind, Output, OutputBody, ViewChange,
};
pub use gate::{Gate, GateKind};
pub use id::{RequestId, RoomId, SeatChoice, SeatIndex, UserId};
pub use member::{
    Application, Device, DeviceFlags, GuestState, Invitation, Member, PendingRequests, Profile,
    Role, UserInfo,
};
pub use room::Room;
pub use snapshot::{RoomSnapshot, SeatSnapshot};
pub use time::Timestamp;
pub use view::{Applicant, Invitee, QueuePosition, RoomView, SeatInfo, SeatUser};
