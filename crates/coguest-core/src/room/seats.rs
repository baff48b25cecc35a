//! Seats: which seat a request takes, taking, leaving (`disconnect`), kicking, locking, picking
//! and moving, and the room settings (seat mode, seat count).

use super::{Room, Seat};
use crate::command::MovePolicy;
use crate::config::{RoomConfig, SeatMode};
use crate::error::CommandError;
use crate::event::{Audience, Event, NoticeKind, ViewChange};
use crate::id::{SeatChoice, SeatIndex, UserId};
use crate::member::{GuestState, Role};

impl Room {
    fn is_reserved(&self, seat: SeatIndex) -> bool {
        self.config.keep_owner_on_seat && seat.0 == 0
    }

    /// Checks a seat asked for in a new request: it must exist, not be locked and not be the
    /// owner's. Whether it is free is checked when the request is accepted.
    pub(super) fn check_requested_seat(&self, choice: SeatChoice) -> Result<(), CommandError> {
        match choice {
            SeatChoice::Any => Ok(()),
            SeatChoice::Exact(seat) => {
                let s = self
                    .seats
                    .get(usize::from(seat.0))
                    .ok_or(CommandError::NoSuchSeat(seat))?;
                if self.is_reserved(seat) {
                    Err(CommandError::SeatReservedForOwner)
                } else if s.locked {
                    Err(CommandError::SeatLocked(seat))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// The seat an accepted request takes now.
    pub(super) fn resolve_seat(&self, choice: SeatChoice) -> Result<SeatIndex, CommandError> {
        match choice {
            SeatChoice::Exact(seat) => {
                self.check_requested_seat(choice)?;
                match self.seats.get(usize::from(seat.0)) {
                    Some(s) if s.occupant.is_none() => Ok(seat),
                    Some(_) => Err(CommandError::SeatOccupied(seat)),
                    None => Err(CommandError::NoSuchSeat(seat)),
                }
            }
            SeatChoice::Any => self
                .seats
                .iter()
                .enumerate()
                .map(|(i, s)| (SeatIndex(i as u16), s))
                .find(|(i, s)| !self.is_reserved(*i) && !s.locked && s.occupant.is_none())
                .map(|(i, _)| i)
                .ok_or(CommandError::AllSeatsOccupied),
        }
    }

    pub(super) fn disconnect(&mut self, actor: &UserId) -> Result<(), CommandError> {
        let member = self.require_member(actor)?;
        if member.state.seat().is_none() {
            return Err(CommandError::NotSeated(actor.clone()));
        }
        if member.role == Role::Owner && self.config.keep_owner_on_seat {
            return Err(CommandError::OwnerMustStayOnSeat);
        }
        self.set_state(actor, GuestState::Audience);
        Ok(())
    }

    pub(super) fn kick_off_seat(
        &mut self,
        host: &UserId,
        user: &UserId,
    ) -> Result<(), CommandError> {
        self.require_host(host)?;
        let target = self.require_target(user)?;
        let Some(seat) = target.state.seat() else {
            return Err(CommandError::NotSeated(user.clone()));
        };
        if target.role == Role::Owner && self.config.keep_owner_on_seat {
            return Err(CommandError::CannotKickOwner);
        }
        self.set_state(user, GuestState::Audience);
        self.notice(NoticeKind::Kicked {
            user: user.clone(),
            seat,
        });
        let host_info = self.info(host);
        self.event(
            Audience::User(user.clone()),
            Event::KickedOffSeat {
                seat,
                host: host_info,
            },
        );
        Ok(())
    }

    pub(super) fn set_seat_lock(
        &mut self,
        host: &UserId,
        seat: SeatIndex,
        lock: bool,
    ) -> Result<(), CommandError> {
        self.require_host(host)?;
        let s = self
            .seats
            .get(usize::from(seat.0))
            .ok_or(CommandError::NoSuchSeat(seat))?;
        if s.locked == lock {
            let what = if lock { "locked" } else { "unlocked" };
            return Err(CommandError::SeatLockUnchanged(seat, what));
        }
        if lock && self.is_reserved(seat) {
            return Err(CommandError::SeatReservedForOwner);
        }
        if let Some(occupant) = s.occupant.clone() {
            self.set_state(&occupant, GuestState::Audience);
            self.notice(NoticeKind::Kicked {
                user: occupant.clone(),
                seat,
            });
            let host_info = self.info(host);
            self.event(
                Audience::User(occupant),
                Event::KickedOffSeat {
                    seat,
                    host: host_info,
                },
            );
        }
        if let Some(s) = self.seats.get_mut(usize::from(seat.0)) {
            s.locked = lock;
        }
        self.notice(if lock {
            NoticeKind::SeatLocked { seat }
        } else {
            NoticeKind::SeatUnlocked { seat }
        });
        self.dirty = true;
        self.seats_dirty = true;
        Ok(())
    }

    pub(super) fn pick_to_seat(
        &mut self,
        host: &UserId,
        user: &UserId,
        choice: SeatChoice,
    ) -> Result<(), CommandError> {
        self.require_host(host)?;
        let target = self.require_target(user)?;
        if let Some(s) = target.state.seat() {
            return Err(CommandError::AlreadySeated(s));
        }
        let seat = self.resolve_seat(choice)?;
        self.seat_user(user, seat);
        Ok(())
    }

    /// The rules [`Room::take_seat`] checks before it changes anything: the seat it takes.
    pub(super) fn check_take_seat(
        &self,
        actor: &UserId,
        choice: SeatChoice,
    ) -> Result<SeatIndex, CommandError> {
        let member = self.require_member(actor)?;
        if let Some(s) = member.state.seat() {
            return Err(CommandError::AlreadySeated(s));
        }
        if self.config.seat_mode != SeatMode::FreeToTake {
            return Err(CommandError::SeatModeApplyToTake);
        }
        self.resolve_seat(choice)
    }

    pub(super) fn take_seat(
        &mut self,
        actor: &UserId,
        choice: SeatChoice,
    ) -> Result<(), CommandError> {
        let seat = self.check_take_seat(actor, choice)?;
        self.seat_user(actor, seat);
        Ok(())
    }

    /// Moves a seated `user` to the free `seat`, keeping the devices it may keep open there.
    fn relocate(&mut self, user: &UserId, seat: SeatIndex) {
        let devices = self.members.get(user).map(|m| m.devices_on);
        self.set_state(user, GuestState::Seated(seat));
        if let (Some(m), Some(d)) = (self.members.get_mut(user), devices) {
            m.devices_on = d;
        }
        self.enforce_devices(user);
    }

    pub(super) fn move_to_seat(
        &mut self,
        actor: &UserId,
        user: &UserId,
        seat: SeatIndex,
        policy: MovePolicy,
    ) -> Result<(), CommandError> {
        let actor_is_host = actor.is_operator() || self.require_member(actor)?.role.is_host();
        let self_move = actor == user;
        let self_move_allowed = self_move && policy == MovePolicy::AbortWhenOccupied;
        if !actor_is_host && !self_move_allowed {
            return Err(CommandError::NotHost);
        }
        let target = self.require_target(user)?;
        let Some(from) = target.state.seat() else {
            return Err(CommandError::NotSeated(user.clone()));
        };
        if target.role == Role::Owner && self.config.keep_owner_on_seat {
            return Err(CommandError::OwnerMustStayOnSeat);
        }
        let s = self
            .seats
            .get(usize::from(seat.0))
            .ok_or(CommandError::NoSuchSeat(seat))?;
        if self.is_reserved(seat) {
            return Err(CommandError::SeatReservedForOwner);
        }
        if s.locked {
            return Err(CommandError::SeatLocked(seat));
        }
        if from == seat {
            return Err(CommandError::AlreadyOnSeat(user.clone(), seat));
        }
        let occupant = s.occupant.clone();
        if occupant.is_some() && policy == MovePolicy::AbortWhenOccupied {
            return Err(CommandError::SeatOccupied(seat));
        }
        // Checks are done: from here on the command succeeds.
        let host = self.info(actor);
        match (occupant, policy) {
            (None, _) => self.relocate(user, seat),
            (Some(other), MovePolicy::Swap) => {
                // Park the other user, move, then seat it where `user` was.
                let devices = self.members.get(&other).map(|m| m.devices_on);
                self.quiet_seats = true;
                self.set_state(&other, GuestState::Audience);
                self.relocate(user, seat);
                self.set_state(&other, GuestState::Seated(from));
                self.quiet_seats = false;
                self.notice(NoticeKind::Moved {
                    user: user.clone(),
                    from,
                    to: seat,
                });
                self.notice(NoticeKind::Moved {
                    user: other.clone(),
                    from: seat,
                    to: from,
                });
                if let (Some(m), Some(d)) = (self.members.get_mut(&other), devices) {
                    m.devices_on = d;
                }
                self.enforce_devices(&other);
                self.event(
                    Audience::User(other),
                    Event::MovedToSeat {
                        from: seat,
                        to: from,
                        host: host.clone(),
                    },
                );
            }
            (Some(other), _) => {
                self.set_state(&other, GuestState::Audience);
                self.notice(NoticeKind::Kicked {
                    user: other.clone(),
                    seat,
                });
                self.event(
                    Audience::User(other),
                    Event::KickedOffSeat {
                        seat,
                        host: host.clone(),
                    },
                );
                self.relocate(user, seat);
            }
        }
        if !self_move {
            self.event(
                Audience::User(user.clone()),
                Event::MovedToSeat {
                    from,
                    to: seat,
                    host,
                },
            );
        }
        Ok(())
    }

    pub(super) fn change_settings(
        &mut self,
        host: &UserId,
        seat_mode: Option<SeatMode>,
        max_seat_count: Option<u16>,
    ) -> Result<(), CommandError> {
        self.require_host(host)?;
        let mut config = self.config.clone();
        if let Some(mode) = seat_mode {
            config.seat_mode = mode;
        }
        if let Some(count) = max_seat_count {
            if count == 0 || count > RoomConfig::SEAT_COUNT_LIMIT {
                return Err(CommandError::InvalidSetting(
                    "max_seat_count must be 1..=64",
                ));
            }
            let beyond = self.seats.iter().enumerate().skip(usize::from(count));
            if let Some((i, _)) = beyond.clone().find(|(_, s)| s.occupant.is_some()) {
                return Err(CommandError::ShrinkBelowOccupiedSeat(
                    SeatIndex(i as u16),
                    count,
                ));
            }
            config.max_seat_count = count;
        }
        if config == self.config {
            return Ok(());
        }
        self.seats
            .resize(usize::from(config.max_seat_count), Seat::default());
        self.config = config;
        self.dirty = true;
        self.seats_dirty = true;
        self.notice(NoticeKind::SettingsChanged {
            seat_mode: self.config.seat_mode,
            max_seat_count: self.config.max_seat_count,
        });
        self.change(
            Audience::Room,
            ViewChange::Settings {
                seat_mode: self.config.seat_mode,
                max_seat_count: self.config.max_seat_count,
            },
        );
        Ok(())
    }
}
