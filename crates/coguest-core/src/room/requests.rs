//! Requests and deadlines: applications and invitations, their timers (`expire_due`), first
//! host wins (`answer_application`), and closing a seated user's other requests (`seat_user`).

use super::{RequestRef, Room};
use crate::error::CommandError;
use crate::event::{Audience, Event, NoResponseReason, NoticeKind};
use crate::id::{RequestId, SeatChoice, SeatIndex, UserId};
use crate::member::{Application, GuestState, Invitation, Member};
use crate::time::Timestamp;

impl Room {
    pub(super) fn expire_due(&mut self, now: Timestamp) {
        while let Some(&(deadline, id)) = self.timers.first() {
            if deadline > now {
                break;
            }
            match self.requests.get(&id).cloned() {
                Some(RequestRef::Application { applicant }) => {
                    self.notice(NoticeKind::ApplicationTimedOut {
                        user: applicant.clone(),
                    });
                    self.close_application(&applicant);
                    self.event(
                        Audience::User(applicant),
                        Event::GuestApplicationNoResponse {
                            reason: NoResponseReason::Timeout,
                        },
                    );
                }
                Some(RequestRef::Invitation { host, invitee }) => {
                    self.notice(NoticeKind::InvitationTimedOut {
                        user: invitee.clone(),
                        host: host.clone(),
                    });
                    self.close_invitation(&host, &invitee);
                    let guest = self.info(&invitee);
                    self.event(
                        Audience::User(host),
                        Event::HostInvitationNoResponse {
                            guest,
                            reason: NoResponseReason::Timeout,
                        },
                    );
                }
                None => {
                    // Unreachable while the invariants hold; drop the stray timer.
                    self.timers.remove(&(deadline, id));
                }
            }
            self.finish_mutation();
        }
    }

    fn close_application(&mut self, user: &UserId) {
        let (_, invitations) = self.state(user).into_requests();
        self.set_state(user, GuestState::from_requests(None, invitations));
    }

    fn close_invitation(&mut self, host: &UserId, invitee: &UserId) {
        let (app, mut invitations) = self.state(invitee).into_requests();
        invitations.remove(host);
        self.set_state(invitee, GuestState::from_requests(app, invitations));
    }

    fn next_request(&mut self) -> RequestId {
        let id = RequestId(self.next_request_id);
        self.next_request_id += 1;
        id
    }

    fn check_timeout(&self, timeout_s: u32) -> Result<(), CommandError> {
        let (min, max) = (
            self.config.min_request_timeout_s,
            self.config.max_request_timeout_s,
        );
        if (min..=max).contains(&timeout_s) {
            Ok(())
        } else {
            Err(CommandError::TimeoutOutOfRange {
                got: timeout_s,
                max,
                min,
            })
        }
    }

    fn check_extra_info(&self, extra: &Option<String>) -> Result<(), CommandError> {
        let got = extra.as_ref().map_or(0, String::len);
        let max = self.config.max_extra_info_bytes;
        if got > max as usize {
            Err(CommandError::ExtraInfoTooLarge { got, max })
        } else {
            Ok(())
        }
    }

    /// The rules [`Room::apply_for_seat`] checks before it changes anything: the applicant.
    pub(super) fn check_apply(
        &self,
        actor: &UserId,
        seat: SeatChoice,
        timeout_s: u32,
        extra_info: &Option<String>,
    ) -> Result<&Member, CommandError> {
        let member = self.require_member(actor)?;
        match &member.state {
            GuestState::Seated(s) => return Err(CommandError::AlreadySeated(*s)),
            s if s.application().is_some() => {
                return Err(CommandError::ApplicationAlreadyPending);
            }
            _ => {}
        }
        self.check_timeout(timeout_s)?;
        self.check_extra_info(extra_info)?;
        self.check_requested_seat(seat)?;
        Ok(member)
    }

    pub(super) fn apply_for_seat(
        &mut self,
        now: Timestamp,
        actor: &UserId,
        seat: SeatChoice,
        timeout_s: u32,
        extra_info: Option<String>,
    ) -> Result<RequestId, CommandError> {
        let guest = self
            .check_apply(actor, seat, timeout_s, &extra_info)?
            .info();
        let id = self.next_request();
        let application = Application {
            id,
            seat,
            deadline: now.plus_secs(timeout_s),
            extra_info: extra_info.clone(),
        };
        let (_, invitations) = self.state(actor).into_requests();
        self.set_state(
            actor,
            GuestState::from_requests(Some(application), invitations),
        );
        self.notice(NoticeKind::ApplicationCreated {
            user: actor.clone(),
            request_id: id,
            seat,
        });
        self.event(
            Audience::HostsExcept(actor.clone()),
            Event::GuestApplicationReceived {
                guest,
                request_id: id,
                seat,
                extra_info,
            },
        );
        Ok(id)
    }

    pub(super) fn cancel_application(&mut self, actor: &UserId) -> Result<(), CommandError> {
        let member = self.require_member(actor)?;
        if member.state.application().is_none() {
            return Err(CommandError::NoSuchApplication(actor.clone()));
        }
        let guest = member.info();
        self.notice(NoticeKind::ApplicationCancelled {
            user: actor.clone(),
        });
        self.close_application(actor);
        self.event(
            Audience::HostsExcept(actor.clone()),
            Event::GuestApplicationCancelled { guest },
        );
        Ok(())
    }

    pub(super) fn answer_application(
        &mut self,
        host: &UserId,
        applicant: &UserId,
        accept: bool,
    ) -> Result<(), CommandError> {
        self.require_host(host)?;
        let member = self.require_target(applicant)?;
        let Some(app) = member.state.application() else {
            return Err(CommandError::NoSuchApplication(applicant.clone()));
        };
        let guest = member.info();
        let seat = if accept {
            Some(self.resolve_seat(app.seat)?)
        } else {
            None
        };
        // Checks are done: from here on the command succeeds.
        let user = applicant.clone();
        self.notice(if accept {
            NoticeKind::ApplicationAccepted { user }
        } else {
            NoticeKind::ApplicationRejected { user }
        });
        let host_info = self.info(host);
        self.event(
            Audience::User(applicant.clone()),
            Event::GuestApplicationResponded {
                accepted: accept,
                host: host_info.clone(),
            },
        );
        self.event(
            Audience::HostsExcept(host.clone()),
            Event::GuestApplicationProcessedByOtherHost {
                guest,
                host: host_info,
            },
        );
        self.close_application(applicant);
        if let Some(seat) = seat {
            self.seat_user(applicant, seat);
        }
        Ok(())
    }

    /// Seats `user` on `seat` (already checked free) and closes its other pending requests
    /// with [`NoResponseReason::AlreadySeated`] to their senders.
    pub(super) fn seat_user(&mut self, user: &UserId, seat: SeatIndex) {
        let state = self.state(user);
        let guest = self.info(user);
        self.set_state(user, GuestState::Seated(seat));
        // The caller closed and reported the request that seated the user; the rest close here.
        for (host, _) in state.invitations() {
            self.notice(NoticeKind::InvitationClosedAlreadySeated {
                user: user.clone(),
                host: host.clone(),
            });
            self.event(
                Audience::User(host.clone()),
                Event::HostInvitationNoResponse {
                    guest: guest.clone(),
                    reason: NoResponseReason::AlreadySeated,
                },
            );
        }
        if state.application().is_some() {
            self.notice(NoticeKind::ApplicationClosedAlreadySeated { user: user.clone() });
            self.event(
                Audience::User(user.clone()),
                Event::GuestApplicationNoResponse {
                    reason: NoResponseReason::AlreadySeated,
                },
            );
        }
    }

    /// The rules [`Room::invite_to_seat`] checks before it changes anything: the invitee.
    pub(super) fn check_invite(
        &self,
        host: &UserId,
        invitee: &UserId,
        seat: SeatChoice,
        timeout_s: u32,
        extra_info: &Option<String>,
    ) -> Result<&Member, CommandError> {
        self.require_member_host(host)?;
        if host == invitee {
            return Err(CommandError::CannotInviteSelf);
        }
        let target = self.require_target(invitee)?;
        self.check_timeout(timeout_s)?;
        self.check_extra_info(extra_info)?;
        self.check_requested_seat(seat)?;
        if target.state.invitation_from(host).is_some() {
            return Err(CommandError::InvitationAlreadyPending(invitee.clone()));
        }
        Ok(target)
    }

    pub(super) fn invite_to_seat(
        &mut self,
        now: Timestamp,
        host: &UserId,
        invitee: &UserId,
        seat: SeatChoice,
        timeout_s: u32,
        extra_info: Option<String>,
    ) -> Result<Option<RequestId>, CommandError> {
        let target = self.check_invite(host, invitee, seat, timeout_s, &extra_info)?;
        let guest = target.info();
        if target.state.seat().is_some() {
            self.notice(NoticeKind::InvitationClosedAlreadySeated {
                user: invitee.clone(),
                host: host.clone(),
            });
            self.event(
                Audience::User(host.clone()),
                Event::HostInvitationNoResponse {
                    guest,
                    reason: NoResponseReason::AlreadySeated,
                },
            );
            return Ok(None);
        }
        let id = self.next_request();
        let invitation = Invitation {
            id,
            seat,
            deadline: now.plus_secs(timeout_s),
            extra_info: extra_info.clone(),
        };
        let (app, mut invitations) = self.state(invitee).into_requests();
        invitations.insert(host.clone(), invitation);
        self.set_state(invitee, GuestState::from_requests(app, invitations));
        self.notice(NoticeKind::InvitationCreated {
            user: invitee.clone(),
            host: host.clone(),
            request_id: id,
            seat,
        });
        let host_info = self.info(host);
        self.event(
            Audience::User(invitee.clone()),
            Event::HostInvitationReceived {
                host: host_info,
                request_id: id,
                seat,
                extra_info,
            },
        );
        Ok(Some(id))
    }

    pub(super) fn cancel_invitation(
        &mut self,
        host: &UserId,
        invitee: &UserId,
    ) -> Result<(), CommandError> {
        self.require_member_host(host)?;
        let target = self.require_target(invitee)?;
        if target.state.invitation_from(host).is_none() {
            return Err(CommandError::NoSuchInvitation {
                host: host.clone(),
                invitee: invitee.clone(),
            });
        }
        self.notice(NoticeKind::InvitationCancelled {
            user: invitee.clone(),
            host: host.clone(),
        });
        self.close_invitation(host, invitee);
        let host_info = self.info(host);
        self.event(
            Audience::User(invitee.clone()),
            Event::HostInvitationCancelled { host: host_info },
        );
        Ok(())
    }

    pub(super) fn answer_invitation(
        &mut self,
        invitee: &UserId,
        host: &UserId,
        accept: bool,
    ) -> Result<(), CommandError> {
        let member = self.require_member(invitee)?;
        let Some(invitation) = member.state.invitation_from(host) else {
            return Err(CommandError::NoSuchInvitation {
                host: host.clone(),
                invitee: invitee.clone(),
            });
        };
        let guest = member.info();
        let seat = if accept {
            Some(self.resolve_seat(invitation.seat)?)
        } else {
            None
        };
        // Checks are done: from here on the command succeeds.
        let (user, h) = (invitee.clone(), host.clone());
        self.notice(if accept {
            NoticeKind::InvitationAccepted { user, host: h }
        } else {
            NoticeKind::InvitationRejected { user, host: h }
        });
        self.event(
            Audience::User(host.clone()),
            Event::HostInvitationResponded {
                accepted: accept,
                guest,
            },
        );
        self.close_invitation(host, invitee);
        if let Some(seat) = seat {
            self.seat_user(invitee, seat);
        }
        Ok(())
    }

    /// Closes every invitation `host` sent, telling each invitee it was cancelled.
    pub(super) fn cancel_sent_invitations(&mut self, host: &UserId) {
        let host_info = self.info(host);
        let sent: Vec<UserId> = self
            .requests
            .values()
            .filter_map(|r| match r {
                RequestRef::Invitation { host: h, invitee } if h == host => Some(invitee.clone()),
                _ => None,
            })
            .collect();
        for invitee in sent {
            self.notice(NoticeKind::InvitationCancelled {
                user: invitee.clone(),
                host: host.clone(),
            });
            self.close_invitation(host, &invitee);
            self.event(
                Audience::User(invitee),
                Event::HostInvitationCancelled {
                    host: host_info.clone(),
                },
            );
        }
    }
}
