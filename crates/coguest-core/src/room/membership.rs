//! Membership: who is a member or a host (`require_*`), join, leave, and admin grants.

use super::Room;
use crate::error::CommandError;
use crate::event::{Audience, Event, NoticeKind};
use crate::id::{SeatIndex, UserId};
use crate::member::{DeviceFlags, GuestState, Member, Profile, Role};

impl Room {
    pub(super) fn require_member(&self, user: &UserId) -> Result<&Member, CommandError> {
        self.members.get(user).ok_or(CommandError::NotMember)
    }

    /// A host: a member with a host role, or the operator (the server's admin API).
    pub(super) fn require_host(&self, user: &UserId) -> Result<(), CommandError> {
        if user.is_operator() {
            return Ok(());
        }
        self.require_member_host(user)
    }

    /// A host who is a member (requests need one: invitations come from a person).
    pub(super) fn require_member_host(&self, user: &UserId) -> Result<(), CommandError> {
        if self.require_member(user)?.role.is_host() {
            Ok(())
        } else {
            Err(CommandError::NotHost)
        }
    }

    pub(super) fn require_target(&self, user: &UserId) -> Result<&Member, CommandError> {
        self.members
            .get(user)
            .ok_or_else(|| CommandError::UserNotInRoom(user.clone()))
    }

    pub(super) fn join(
        &mut self,
        actor: &UserId,
        profile: Profile,
        role: Role,
    ) -> Result<(), CommandError> {
        if actor.is_operator() {
            return Err(CommandError::ReservedUserId);
        }
        if self.members.contains_key(actor) {
            // Profile and role are fixed for a membership; a repeated join is a no-op.
            return Ok(());
        }
        if self.members.len() >= self.config.max_members as usize {
            return Err(CommandError::RoomFull(self.config.max_members));
        }
        if role == Role::Owner {
            if let Some(owner) = self.members.values().find(|m| m.role == Role::Owner) {
                return Err(CommandError::OwnerAlreadyPresent(owner.user_id.clone()));
            }
        }
        let role = match (role, self.role_grants.get(actor)) {
            (Role::Owner, _) | (_, None) => role,
            (_, Some(granted)) => *granted,
        };
        let join_seq = self.next_join_seq;
        self.next_join_seq += 1;
        self.members.insert(
            actor.clone(),
            Member {
                user_id: actor.clone(),
                profile,
                role,
                join_seq,
                state: GuestState::Audience,
                devices_on: DeviceFlags::default(),
                devices_disallowed: DeviceFlags::default(),
            },
        );
        self.candidates.insert((join_seq, actor.clone()));
        if role.is_host() {
            self.hosts.insert(actor.clone());
        }
        self.dirty = true;
        self.notice(NoticeKind::MemberJoined {
            user: actor.clone(),
            role,
        });
        if role == Role::Owner && self.config.keep_owner_on_seat {
            self.set_state(actor, GuestState::Seated(SeatIndex(0)));
        }
        Ok(())
    }

    pub(super) fn leave(&mut self, actor: &UserId) -> Result<(), CommandError> {
        let member = self.require_member(actor)?;
        let guest = member.info();
        let state = member.state.clone();
        if state.application().is_some() {
            self.notice(NoticeKind::ApplicationCancelled {
                user: actor.clone(),
            });
            self.event(
                Audience::HostsExcept(actor.clone()),
                Event::GuestApplicationCancelled {
                    guest: guest.clone(),
                },
            );
        }
        for (host, _) in state.invitations() {
            self.notice(NoticeKind::InvitationRejected {
                user: actor.clone(),
                host: host.clone(),
            });
            self.event(
                Audience::User(host.clone()),
                Event::HostInvitationResponded {
                    accepted: false,
                    guest: guest.clone(),
                },
            );
        }
        self.cancel_sent_invitations(actor);
        self.set_state(actor, GuestState::Audience);
        if let Some(m) = self.members.remove(actor) {
            self.candidates.remove(&(m.join_seq, actor.clone()));
            self.hosts.remove(actor);
        }
        self.notice(NoticeKind::MemberLeft {
            user: actor.clone(),
        });
        self.dirty = true;
        Ok(())
    }

    pub(super) fn set_admin(
        &mut self,
        owner: &UserId,
        user: &UserId,
        admin: bool,
    ) -> Result<(), CommandError> {
        if !owner.is_operator() && self.require_member(owner)?.role != Role::Owner {
            return Err(CommandError::NotOwner);
        }
        if user.is_operator() {
            // Not a user: the admin API's own actor has no role to grant or revoke.
            return Err(CommandError::ReservedUserId);
        }
        let current = self.members.get(user).map(|m| m.role);
        if owner == user || current == Some(Role::Owner) {
            return Err(CommandError::CannotChangeOwnerRole);
        }
        let role = if admin { Role::Admin } else { Role::Audience };
        if self.role_grants.get(user) != Some(&role) {
            self.role_grants.insert(user.clone(), role);
            self.dirty = true;
            self.notice(NoticeKind::RoleChanged {
                user: user.clone(),
                role,
            });
        }
        if current.is_none() || current == Some(role) {
            return Ok(());
        }
        if !admin {
            self.cancel_sent_invitations(user);
        }
        if let Some(m) = self.members.get_mut(user) {
            m.role = role;
            if role.is_host() {
                self.hosts.insert(user.clone());
            } else {
                self.hosts.remove(user);
            }
        }
        // The role shows in `connected` and `seats`.
        if self
            .members
            .get(user)
            .is_some_and(|m| m.state.seat().is_some())
        {
            self.seats_dirty = true;
        }
        let by = self.info(owner);
        self.event(
            Audience::User(user.clone()),
            Event::RoleChanged { role, by },
        );
        self.resets.insert(user.clone());
        Ok(())
    }
}
