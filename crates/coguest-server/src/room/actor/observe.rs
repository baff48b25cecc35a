//! A room actor's observers: `observe` and `unobserve` (answered by every node from its own
//! copy of the room: observing changes nothing), what observers are sent after a mutation
//! (the hosts' outputs and the event log), and the room's summary for the rooms feed.

use crate::room::msg::CommandMsg;
use crate::room::observers::{LogLine, for_observers};
use crate::wire::encode;

use super::{Answer, RoomActor};
use coguest_proto::{ClientCommand, ClosedReason, CoGuestState, ErrorCode, RoomSummary, ServerMsg};

impl RoomActor {
    /// Handles `observe` and `unobserve`, and refuses a `join` from a connection observing the
    /// room; `None` for any other command.
    pub(super) fn observer_command(&mut self, c: &CommandMsg) -> Option<()> {
        let result = match &c.cmd {
            ClientCommand::Observe { since } => self.observe(c, *since),
            ClientCommand::Unobserve => match self.observers.remove(c.conn.id) {
                Some(_) => Ok(Answer::to_send(self.ack_now(c.id, None))),
                None => Err((
                    ErrorCode::NotEnteredRoom,
                    "this connection does not observe the room".into(),
                )),
            },
            ClientCommand::Join { .. }
                if c.conn.remote_node().is_none() && self.observers.contains(c.conn.id) =>
            {
                Err((
                    ErrorCode::RequestNoPermission,
                    "this connection observes the room: join it from another connection".into(),
                ))
            }
            _ => return None,
        };
        let label = match result {
            Ok(answer) => {
                c.conn.send(answer.text);
                "ok".to_owned()
            }
            Err((code, message)) => {
                c.conn.error(Some(c.id), code, message);
                format!("{code:?}")
            }
        };
        self.count(c.cmd.kind(), &label, c);
        Some(())
    }

    /// `observe`: the connection (checked by the reader: a service admin allowed this room)
    /// gets the host view, or what it missed after `since` when the resume ring still has it,
    /// then the event log, and from now on what the hosts get and every transition.
    fn observe(
        &mut self,
        c: &CommandMsg,
        since: Option<u64>,
    ) -> Result<Answer, (ErrorCode, String)> {
        if self.peers.contains(c.conn.id) {
            return Err((
                ErrorCode::RequestNoPermission,
                "this connection joined the room: observe it from another connection".into(),
            ));
        }
        self.observers.insert(c.conn.clone());
        let version = self.room.version();
        let resumable = since.filter(|s| *s >= self.ring.floor && *s <= version);
        match resumable {
            Some(since) => {
                for e in self.ring.after(since) {
                    if for_observers(&e.to) && !c.conn.send(e.text.clone()) {
                        break;
                    }
                }
                for l in self.observers.log_after(Some(since)) {
                    c.conn.send(l.text.clone());
                }
                c.conn.send_msg(&ServerMsg::Resumed {
                    room: self.name().to_owned(),
                    version,
                });
            }
            None => {
                c.conn.send_msg(&self.observer_snapshot());
                for l in self.observers.log_after(None) {
                    c.conn.send(l.text.clone());
                }
            }
        }
        Ok(Answer::to_send(self.ack_now(c.id, None)))
    }

    /// The host view, with the times requests were made where known.
    pub(super) fn observer_snapshot(&self) -> ServerMsg {
        let mut state = CoGuestState::from(&self.room.host_view());
        self.request_times.fill(&mut state);
        ServerMsg::Snapshot {
            room: self.name().to_owned(),
            state,
        }
    }

    /// Sends a mutation's event-log lines to the observers (after its outputs).
    pub(super) fn send_log(&mut self, lines: &[LogLine]) {
        if lines.is_empty() || self.observers.is_empty() {
            return;
        }
        let mut gone = Vec::new();
        for o in self.observers.iter() {
            for l in lines {
                if !o.send(l.text.clone()) {
                    gone.push(o.id);
                    break;
                }
            }
        }
        for id in gone {
            self.observers.remove(id);
        }
    }

    /// Tells every observer on this node that the room was closed, and the rooms feed.
    pub(super) fn observers_closed(&mut self, reason: ClosedReason) {
        let msg = encode(&ServerMsg::RoomClosed {
            room: self.name().to_owned(),
            reason,
        });
        for o in self.observers.take_all() {
            o.send(msg.clone());
        }
        self.shared.feed.closed(&self.id);
    }

    /// The room at a glance.
    pub(super) fn summary(&self) -> RoomSummary {
        let (applicants, invitees) = self.room.request_counts();
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        RoomSummary {
            room: self.name().to_owned(),
            version: self.room.version(),
            seat_count: self.room.config().max_seat_count,
            seated: count(self.room.seated_count()),
            members: count(self.room.member_count()),
            applicants: count(applicants),
            invitees: count(invitees),
            seat_mode: self.room.config().seat_mode.into(),
            last_change_ms: self.last_change.map(|t| t.as_millis()),
        }
    }

    /// Reports the room's summary to the rooms feed, when anyone watches it.
    pub(super) fn report_summary(&self) {
        if self.shared.feed.watched() {
            self.shared.feed.changed(self.summary());
        }
    }
}
