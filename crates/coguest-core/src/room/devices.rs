//! Devices: opening microphone and camera, and per-user and per-seat device permissions.

use super::Room;
use crate::error::CommandError;
use crate::event::{Audience, Event, NoticeKind};
use crate::id::{SeatIndex, UserId};
use crate::member::{Device, Member};

impl Room {
    /// Whether `member` may open `device` on the seat it sits on (or would sit on).
    pub(super) fn device_allowed(&self, member: &Member, device: Device) -> bool {
        let seat_ok = member
            .state
            .seat()
            .and_then(|s| self.seats.get(usize::from(s.0)))
            .is_none_or(|s| !s.disallowed.get(device));
        seat_ok && !member.devices_disallowed.get(device)
    }

    /// Closes the devices `user` may no longer open where it sits.
    pub(super) fn enforce_devices(&mut self, user: &UserId) {
        let Some(member) = self.members.get(user) else {
            return;
        };
        let mut on = member.devices_on;
        for device in [Device::Microphone, Device::Camera] {
            if on.get(device) && !self.device_allowed(member, device) {
                on.set(device, false);
            }
        }
        if let Some(m) = self.members.get_mut(user) {
            if m.devices_on != on {
                m.devices_on = on;
                self.dirty = true;
                self.seats_dirty = true;
            }
        }
    }

    pub(super) fn set_device(
        &mut self,
        actor: &UserId,
        device: Device,
        on: bool,
    ) -> Result<(), CommandError> {
        let member = self.require_member(actor)?;
        if member.state.seat().is_none() {
            return Err(CommandError::NotSeated(actor.clone()));
        }
        if on && !self.device_allowed(member, device) {
            return Err(CommandError::DeviceDisallowed(device.name()));
        }
        if member.devices_on.get(device) == on {
            return Ok(());
        }
        if let Some(m) = self.members.get_mut(actor) {
            m.devices_on.set(device, on);
        }
        self.dirty = true;
        self.seats_dirty = true;
        Ok(())
    }

    pub(super) fn set_user_device_permission(
        &mut self,
        host: &UserId,
        user: &UserId,
        device: Device,
        allowed: bool,
    ) -> Result<(), CommandError> {
        self.require_host(host)?;
        let target = self.require_target(user)?;
        if target.devices_disallowed.get(device) != allowed {
            return Ok(());
        }
        let seated = target.state.seat().is_some();
        if let Some(m) = self.members.get_mut(user) {
            m.devices_disallowed.set(device, !allowed);
        }
        self.notice(NoticeKind::DevicePermissionChanged {
            user: Some(user.clone()),
            seat: None,
            device,
            allowed,
        });
        self.dirty = true;
        self.seats_dirty |= seated;
        self.enforce_devices(user);
        let effective = self
            .members
            .get(user)
            .is_some_and(|m| self.device_allowed(m, device));
        let host = self.info(host);
        self.event(
            Audience::User(user.clone()),
            Event::DevicePermissionChanged {
                device,
                allowed: effective,
                seat: None,
                host,
            },
        );
        Ok(())
    }

    pub(super) fn set_seat_device_permission(
        &mut self,
        host: &UserId,
        seat: SeatIndex,
        device: Device,
        allowed: bool,
    ) -> Result<(), CommandError> {
        self.require_host(host)?;
        let s = self
            .seats
            .get_mut(usize::from(seat.0))
            .ok_or(CommandError::NoSuchSeat(seat))?;
        if s.disallowed.get(device) != allowed {
            return Ok(());
        }
        s.disallowed.set(device, !allowed);
        let occupant = s.occupant.clone();
        self.notice(NoticeKind::DevicePermissionChanged {
            user: None,
            seat: Some(seat),
            device,
            allowed,
        });
        self.dirty = true;
        self.seats_dirty = true;
        if let Some(user) = occupant {
            self.enforce_devices(&user);
            let effective = self
                .members
                .get(&user)
                .is_some_and(|m| self.device_allowed(m, device));
            let host = self.info(host);
            self.event(
                Audience::User(user),
                Event::DevicePermissionChanged {
                    device,
                    allowed: effective,
                    seat: Some(seat),
                    host,
                },
            );
        }
        Ok(())
    }
}
