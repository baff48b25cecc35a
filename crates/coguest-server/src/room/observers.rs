//! A room's observers on this node (service admins watching it without being members), its
//! event log for them, and when each pending request was made.
//!
//! The log is kept only once the room has been observed here (encoding a line per
//! transition costs every room otherwise): the newest [`LOG_LINES`] transitions, each encoded
//! once as a `log` message and shared by every observer.

use crate::room::handle::ConnHandle;
use crate::wire::encode;
use axum::extract::ws::Utf8Bytes;
use coguest_core::{Audience, NoticeKind, Output, OutputBody, RequestId, Timestamp, UserId};
use coguest_proto::{CoGuestState, ServerMsg, WebhookEvent};
use std::collections::{HashMap, VecDeque};

/// Transitions a room's event log keeps for observers.
pub(crate) const LOG_LINES: usize = 200;

/// One transition, encoded as a `log` message.
#[derive(Clone)]
pub(crate) struct LogLine {
    pub version: u64,
    pub text: Utf8Bytes,
}

/// A room's observers on this node and its event log.
#[derive(Default)]
pub(crate) struct Observers {
    conns: HashMap<u64, ConnHandle>,
    /// The newest transitions, oldest first; `None` until the room is first observed here.
    log: Option<VecDeque<LogLine>>,
}

impl Observers {
    pub fn insert(&mut self, conn: ConnHandle) {
        self.log.get_or_insert_with(VecDeque::new);
        self.conns.insert(conn.id, conn);
    }

    pub fn remove(&mut self, conn: u64) -> Option<ConnHandle> {
        self.conns.remove(&conn)
    }

    pub fn contains(&self, conn: u64) -> bool {
        self.conns.contains_key(&conn)
    }

    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &ConnHandle> {
        self.conns.values()
    }

    /// Removes every observer, returning them.
    pub fn take_all(&mut self) -> Vec<ConnHandle> {
        self.conns.drain().map(|(_, c)| c).collect()
    }

    /// The log lines of a mutation's backend notices (none while not logging), added to the
    /// log.
    pub fn log_outputs(&mut self, room: &str, at: Timestamp, outputs: &[Output]) -> Vec<LogLine> {
        let Some(log) = &mut self.log else {
            return Vec::new();
        };
        let mut lines = Vec::new();
        let mut n = 0u32;
        let mut version = None;
        for o in outputs {
            let OutputBody::Notice(notice) = &o.body else {
                continue;
            };
            if version != Some(o.version) {
                version = Some(o.version);
                n = 0;
            }
            let entry = WebhookEvent::from_notice(room, 0, o.version, n as usize, at, notice)
                .into_log_entry(n);
            n += 1;
            let text = encode(&ServerMsg::Log {
                room: room.to_owned(),
                entry,
            });
            let line = LogLine {
                version: o.version,
                text,
            };
            log.push_back(line.clone());
            if log.len() > LOG_LINES {
                log.pop_front();
            }
            lines.push(line);
        }
        lines
    }

    /// The logged lines after `since` (all of them for `None`).
    pub fn log_after(&self, since: Option<u64>) -> impl Iterator<Item = &LogLine> {
        self.log
            .iter()
            .flatten()
            .filter(move |l| since.is_none_or(|s| l.version > s))
    }
}

/// Whether observers receive an output of this audience: they see what the hosts see.
pub(crate) fn for_observers(to: &Audience) -> bool {
    matches!(
        to,
        Audience::Room | Audience::Hosts | Audience::HostsExcept(_) | Audience::HostsAnd(_)
    )
}

/// When each pending request was made (the core keeps deadlines only): applications by
/// applicant, invitations by invitee and host, kept in step with the backend notices, which
/// announce every request's creation and its end.
#[derive(Debug, Default, Clone)]
pub(crate) struct RequestTimes {
    made: HashMap<(UserId, Option<UserId>), (RequestId, Timestamp)>,
}

impl RequestTimes {
    /// Follows a mutation's notices.
    pub fn track(&mut self, at: Timestamp, outputs: &[Output]) {
        for o in outputs {
            let OutputBody::Notice(n) = &o.body else {
                continue;
            };
            match &n.kind {
                NoticeKind::ApplicationCreated {
                    user, request_id, ..
                } => {
                    self.made.insert((user.clone(), None), (*request_id, at));
                }
                NoticeKind::InvitationCreated {
                    user,
                    host,
                    request_id,
                    ..
                } => {
                    self.made
                        .insert((user.clone(), Some(host.clone())), (*request_id, at));
                }
                NoticeKind::ApplicationCancelled { user }
                | NoticeKind::ApplicationAccepted { user }
                | NoticeKind::ApplicationRejected { user }
                | NoticeKind::ApplicationTimedOut { user }
                | NoticeKind::ApplicationClosedAlreadySeated { user } => {
                    self.made.remove(&(user.clone(), None));
                }
                NoticeKind::InvitationCancelled { user, host }
                | NoticeKind::InvitationAccepted { user, host }
                | NoticeKind::InvitationRejected { user, host }
                | NoticeKind::InvitationTimedOut { user, host }
                | NoticeKind::InvitationClosedAlreadySeated { user, host } => {
                    self.made.remove(&(user.clone(), Some(host.clone())));
                }
                _ => {}
            }
        }
    }

    /// Fills in `requested_ms` of a view's applicants and invitees where known.
    pub fn fill(&self, state: &mut CoGuestState) {
        if self.made.is_empty() {
            return;
        }
        let made = |user: &str, host: Option<&str>, id: u64| {
            let key = (UserId::from(user), host.map(UserId::from));
            self.made
                .get(&key)
                .filter(|(r, _)| r.0 == id)
                .map(|(_, at)| at.as_millis())
        };
        for a in &mut state.applicants {
            a.requested_ms = made(&a.user.user_id, None, a.request_id);
        }
        for i in &mut state.invitees {
            i.requested_ms = made(&i.user.user_id, Some(&i.inviter_id), i.request_id);
        }
    }
}
