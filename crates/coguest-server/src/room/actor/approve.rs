//! Asking the app's approval hook before a member's command puts a user forward (an
//! application shown to the hosts, an invitation reaching its invitee, a free seat taken).
//!
//! The room never waits for the hook: the actor checks the command with the core
//! (`Room::check_request`; a command that would be refused is refused at once, unasked),
//! spawns the call, and goes on with its inbox. The verdict comes back as a message
//! ([`RoomMsg::Approval`]). Commands of one kind complete in their arrival order: a verdict
//! that arrives before an earlier one of its kind waits for it. An allowed command is then
//! applied like any other, so the core checks it again against the room as it is by then. A
//! waiting command is only in memory, never stored: a restart or a failover forgets it, and
//! its client (or its node, in cluster mode) sends it again.

use super::{Answer, RoomActor, not_entered};
use crate::approval::{Approver, Verdict};
use crate::retry_cache::Kept;
use crate::room::msg::{CommandMsg, RoomMsg};
use crate::wire::encode;
use coguest_core::Command;
use coguest_proto::{ApprovalKind, ApprovalRequest, ErrorCode, ServerMsg};
use std::collections::{HashMap, VecDeque};

/// Commands waiting for the hook, per kind in arrival order.
#[derive(Default)]
pub(super) struct Approvals {
    queues: HashMap<ApprovalKind, VecDeque<Waiting>>,
    next_token: u64,
}

struct Waiting {
    token: u64,
    c: CommandMsg,
    command: Command,
    verdict: Option<Verdict>,
}

impl Approvals {
    fn push(&mut self, kind: ApprovalKind, c: CommandMsg, command: Command) -> u64 {
        self.next_token += 1;
        let token = self.next_token;
        self.queues.entry(kind).or_default().push_back(Waiting {
            token,
            c,
            command,
            verdict: None,
        });
        token
    }

    /// Whether this command (same connection, same request id) is waiting already.
    pub fn waiting(&self, c: &CommandMsg) -> bool {
        self.queues.values().flatten().any(|w| {
            w.c.id == c.id
                && w.c.conn.id == c.conn.id
                && w.c.conn.remote_node() == c.conn.remote_node()
        })
    }

    /// Forgets the commands of a local connection that closed: nobody waits for their answer.
    pub fn forget_conn(&mut self, conn: u64) {
        for q in self.queues.values_mut() {
            q.retain(|w| !(w.c.conn.id == conn && w.c.conn.remote_node().is_none()));
        }
    }

    /// Every waiting command, to answer when the room stops.
    pub fn drain(&mut self) -> impl Iterator<Item = CommandMsg> + '_ {
        self.queues
            .drain()
            .flat_map(|(_, q)| q.into_iter().map(|w| w.c))
    }
}

impl RoomActor {
    /// A member's co-guest command before it is applied: `Some` when it goes ahead now (no
    /// hook for its kind, nobody put forward, or refused by the core: applying it answers
    /// that), `None` when it waits for the hook and is answered later.
    pub(super) async fn gate(
        &mut self,
        c: &CommandMsg,
        command: Command,
    ) -> Result<Option<Command>, (ErrorCode, String)> {
        let approver = self.shared.approver.clone();
        let hooked = ApprovalKind::ALL.into_iter().any(|k| approver.asks(k));
        if !hooked {
            return Ok(Some(command));
        }
        let now = self.shared.clock.now();
        self.expire_due(now).await?;
        let user = c.conn.user();
        let gate = match self.room.check_request(user, &command) {
            Ok(Some(gate)) if approver.asks(gate.kind.into()) => gate,
            _ => return Ok(Some(command)),
        };
        let Some(actor) = self.room.member(user).map(|m| m.info()) else {
            return Ok(Some(command));
        };
        let req = ApprovalRequest::new(Approver::new_id(), self.name(), &actor, &gate, now);
        let kind = req.kind;
        let token = self.approvals.push(kind, c.clone(), command);
        let me = self.me.clone();
        tokio::spawn(async move {
            let verdict = approver.ask(&req).await;
            // A stopped room has answered its waiting commands already.
            let _ = me
                .send(RoomMsg::Approval {
                    kind,
                    token,
                    verdict,
                })
                .await;
        });
        Ok(None)
    }

    /// The hook's verdict on a waiting command: completes the commands of its kind that are
    /// decided, oldest first, up to the first one still waiting.
    pub(super) async fn on_approval(&mut self, kind: ApprovalKind, token: u64, verdict: Verdict) {
        let Some(queue) = self.approvals.queues.get_mut(&kind) else {
            return;
        };
        if let Some(w) = queue.iter_mut().find(|w| w.token == token) {
            w.verdict = Some(verdict);
        }
        loop {
            let Some(queue) = self.approvals.queues.get_mut(&kind) else {
                return;
            };
            let decided = matches!(queue.front(), Some(w) if w.verdict.is_some());
            if !decided {
                return;
            }
            let Some(w) = queue.pop_front() else {
                return;
            };
            self.complete(w).await;
        }
    }

    async fn complete(&mut self, w: Waiting) {
        let Waiting {
            c,
            command,
            verdict,
            ..
        } = w;
        let allow_on_error = self.shared.approver.allow_on_error();
        let result = match verdict {
            Some(Verdict::Allow) => self.go_ahead(c, command).await,
            Some(Verdict::Failed(_)) if allow_on_error => self.go_ahead(c, command).await,
            Some(Verdict::Deny { code, reason }) => {
                self.deny(&c, code, reason);
                return;
            }
            Some(Verdict::Failed(why)) => Some((
                c,
                Err((
                    ErrorCode::ApprovalUnavailable,
                    format!("the app's approval hook failed ({why}); nothing changed, retry later"),
                )),
            )),
            None => return,
        };
        if let Some((c, result)) = result {
            self.reply(&c, result);
        }
    }

    /// Applies an approved command as if it had just arrived (the core checks it again).
    /// `None` when it was handed on instead (this node no longer owns the room).
    async fn go_ahead(
        &mut self,
        c: CommandMsg,
        command: Command,
    ) -> Option<(CommandMsg, Result<Answer, (ErrorCode, String)>)> {
        if self.cluster.is_some() && !self.ensure_owner().await {
            // A local member's command goes to the new owner, which asks again; a remote one
            // is sent again by its node.
            if c.conn.remote_node().is_none() {
                self.follow_command(c).await;
            }
            return None;
        }
        if !self.attached(&c.conn) {
            return Some((c, Err(not_entered())));
        }
        let result = self.co_guest(&c, command).await;
        Some((c, result))
    }

    /// Answers a denied command with the app's code and reason. Nothing else happens; a retry
    /// with the same id gets the same answer.
    fn deny(&mut self, c: &CommandMsg, app_code: Option<i32>, reason: Option<String>) {
        let message = match &reason {
            Some(r) => format!("the app turned the request down: {r}"),
            None => "the app turned the request down".to_owned(),
        };
        let text = encode(&ServerMsg::Error {
            id: Some(c.id),
            code: ErrorCode::ApprovalDenied.code(),
            message,
            app_code,
            reason,
        });
        self.answers
            .remember(c.conn.user(), c.id, Kept::Frame(text.clone()));
        c.conn.send(text);
        self.count(c.cmd.kind(), &format!("{:?}", ErrorCode::ApprovalDenied), c);
    }
}
