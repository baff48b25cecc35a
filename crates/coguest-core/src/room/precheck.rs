//! Checking a command without applying it: whether a command that puts a user forward (an
//! application shown to the hosts, an invitation reaching its invitee, a free seat taken)
//! would be accepted now. The server asks the app's approval hook only about those, and only
//! when they would be accepted; the rules are the ones the commands apply (`check_apply`,
//! `check_invite`, `check_take_seat`), so they live here once.

use super::Room;
use crate::command::Command;
use crate::error::CommandError;
use crate::gate::{Gate, GateKind};
use crate::id::UserId;

impl Room {
    /// Whether `actor`'s `command` would be accepted now, without applying it: `Err` with the
    /// refusal `handle_command` would give, `Ok(Some(gate))` when it would put a user forward,
    /// `Ok(None)` when it would be accepted and puts nobody forward (every other command,
    /// and an invitation to a user already seated, which only tells the host so).
    ///
    /// Call it after [`Room::handle_timeout`] at the same `now`: requests that are due count
    /// as pending until they expire. The answer holds until the room next changes; apply the
    /// command with `handle_command`, which checks again.
    pub fn check_request(
        &self,
        actor: &UserId,
        command: &Command,
    ) -> Result<Option<Gate>, CommandError> {
        match command {
            Command::ApplyForSeat {
                seat,
                timeout_s,
                extra_info,
            } => {
                let member = self.check_apply(actor, *seat, *timeout_s, extra_info)?;
                Ok(Some(Gate {
                    kind: GateKind::Application,
                    user: member.info(),
                    seat: *seat,
                    extra_info: extra_info.clone(),
                }))
            }
            Command::InviteToSeat {
                user,
                seat,
                timeout_s,
                extra_info,
            } => {
                let target = self.check_invite(actor, user, *seat, *timeout_s, extra_info)?;
                if target.state.seat().is_some() {
                    return Ok(None);
                }
                Ok(Some(Gate {
                    kind: GateKind::Invitation,
                    user: target.info(),
                    seat: *seat,
                    extra_info: extra_info.clone(),
                }))
            }
            Command::TakeSeat { seat } => {
                self.check_take_seat(actor, *seat)?;
                let user = self.require_member(actor)?.info();
                Ok(Some(Gate {
                    kind: GateKind::TakeSeat,
                    user,
                    seat: *seat,
                    extra_info: None,
                }))
            }
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{RoomConfig, SeatMode};
    use crate::id::{SeatChoice, SeatIndex};
    use crate::member::{Profile, Role};
    use crate::time::Timestamp;

    fn room(mode: SeatMode) -> Room {
        let config = RoomConfig {
            seat_mode: mode,
            ..RoomConfig::default()
        };
        let now = Timestamp::from_millis(0);
        let mut room = Room::new(config, now).unwrap_or_else(|e| panic!("{e}"));
        for (u, role) in [("host", Role::Owner), ("a", Role::Audience)] {
            let join = Command::Join {
                profile: Profile {
                    user_name: u.to_uppercase(),
                    avatar_url: String::new(),
                },
                role,
            };
            room.handle_command(now, &UserId::from(u), join)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        while room.poll_output().is_some() {}
        room
    }

    fn apply() -> Command {
        Command::ApplyForSeat {
            seat: SeatChoice::Any,
            timeout_s: 30,
            extra_info: Some("hi".into()),
        }
    }

    /// The check agrees with `handle_command` and changes nothing.
    #[test]
    fn the_check_agrees_with_the_command() {
        let now = Timestamp::from_millis(1);
        let a = UserId::from("a");
        let mut r = room(SeatMode::ApplyToTake);
        let gate = r
            .check_request(&a, &apply())
            .unwrap_or_else(|e| panic!("{e}"));
        let gate = gate.unwrap_or_else(|| panic!("an application is gated"));
        assert_eq!(gate.kind, GateKind::Application);
        assert_eq!(gate.user.user_name, "A");
        assert_eq!(gate.extra_info.as_deref(), Some("hi"));
        assert!(r.poll_output().is_none(), "the check emitted");
        let version = r.version();
        assert!(r.handle_command(now, &a, apply()).is_ok());
        assert!(r.version() > version);
        // Now pending: both refuse alike.
        let checked = r.check_request(&a, &apply());
        assert_eq!(checked, Err(CommandError::ApplicationAlreadyPending));
        assert_eq!(
            r.handle_command(now, &a, apply()),
            Err(CommandError::ApplicationAlreadyPending)
        );
        // Taking a seat in an apply-to-take room is refused by both.
        let take = Command::TakeSeat {
            seat: SeatChoice::Exact(SeatIndex(1)),
        };
        assert_eq!(
            r.check_request(&a, &take),
            Err(CommandError::SeatModeApplyToTake)
        );
        // Other commands are not gated.
        assert_eq!(r.check_request(&a, &Command::CancelApplication), Ok(None));
    }

    #[test]
    fn invitations_and_free_seats_are_gated() {
        let r = room(SeatMode::FreeToTake);
        let (host, a) = (UserId::from("host"), UserId::from("a"));
        let invite = Command::InviteToSeat {
            user: a.clone(),
            seat: SeatChoice::Exact(SeatIndex(2)),
            timeout_s: 30,
            extra_info: None,
        };
        let gate = r.check_request(&host, &invite).ok().flatten();
        assert_eq!(
            gate.map(|g| (g.kind, g.user.user_id)),
            Some((GateKind::Invitation, a.clone()))
        );
        assert_eq!(r.check_request(&a, &invite), Err(CommandError::NotHost));
        let take = Command::TakeSeat {
            seat: SeatChoice::Any,
        };
        let gate = r.check_request(&a, &take).ok().flatten();
        assert_eq!(gate.map(|g| g.kind), Some(GateKind::TakeSeat));
    }
}
