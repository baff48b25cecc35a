//! The pure client reducer: server messages in, views and listener events out. No IO, no
//! clock, no tasks, so it is tested without a network.
//!
//! One [`ClientState`] per joined room. It keeps the room's views as this user sees them and
//! where it is in the room's version sequence, so that after a reconnect it can ask the server
//! to resume exactly where it stopped ([`ClientState::resume_from`]) and drop anything the
//! server sends twice.
//!
//! A single room mutation (one version) may produce several messages for one user (an event
//! and a few view changes, all carrying that version), and a connection can drop in the middle
//! of them. The reducer therefore counts how many messages of the newest version it has
//! applied; when that version might be incomplete it resumes from the version before and skips
//! the messages of the newest version it already has. Replays are deterministic (the server
//! replays the same outputs in the same order), so nothing is lost or applied twice.

use crate::types::{
    GuestEvent, HostEvent, LiveUserInfo, QueuePosition, SeatEvent, SeatInfo, SeatUserInfo,
};
use coguest_proto::{self as proto, Event, ServerMsg};

/// An event for one store's listeners and streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StoreEvent {
    /// For [`HostListener`](crate::HostListener)s.
    Host(HostEvent),
    /// For [`GuestListener`](crate::GuestListener)s.
    Guest(GuestEvent),
    /// For [`SeatListener`](crate::SeatListener)s.
    Seat(SeatEvent),
}

/// The four SDK-level lists of [`CoGuestState`](crate::CoGuestState).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Views {
    pub(crate) connected: Vec<SeatUserInfo>,
    pub(crate) invitees: Vec<LiveUserInfo>,
    pub(crate) applicants: Vec<LiveUserInfo>,
    pub(crate) candidates: Vec<LiveUserInfo>,
    pub(crate) seats: Vec<SeatInfo>,
    pub(crate) seat_mode: proto::SeatMode,
    pub(crate) queue_position: Option<QueuePosition>,
}

/// One room as this client sees it.
#[derive(Debug, Clone)]
pub(crate) struct ClientState {
    room: String,
    view: proto::CoGuestState,
    /// A snapshot has been applied, so the views are meaningful and a reconnect can resume.
    has_snapshot: bool,
    /// The newest version applied.
    version: u64,
    /// How many messages carrying `version` were applied.
    seen_at_version: usize,
    /// Whether every message of `version` is known to be applied (after a snapshot or a
    /// `resumed`, or once a newer version arrived).
    complete: bool,
    /// Messages of `version` still to drop: the server is replaying ones already applied.
    skip: usize,
}

impl ClientState {
    /// An empty state for `room`, before its first snapshot.
    pub(crate) fn new(room: impl Into<String>) -> Self {
        ClientState {
            room: room.into(),
            view: proto::CoGuestState::default(),
            has_snapshot: false,
            version: 0,
            seen_at_version: 0,
            complete: true,
            skip: 0,
        }
    }

    /// The newest room version applied.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn version(&self) -> u64 {
        self.version
    }

    /// The wire view (with request ids and deadlines).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn wire_view(&self) -> &proto::CoGuestState {
        &self.view
    }

    /// The `since` to send with `join` on a reconnect, or `None` for a fresh join (no snapshot
    /// yet). Call once per join attempt: it arms the duplicate filter for the replay.
    pub(crate) fn resume_from(&mut self) -> Option<u64> {
        if !self.has_snapshot {
            return None;
        }
        if self.complete || self.version == 0 {
            self.skip = 0;
            Some(self.version)
        } else {
            self.skip = self.seen_at_version;
            Some(self.version - 1)
        }
    }

    /// Applies one server message about this room and returns the listener events it
    /// produced, in order. Messages for other rooms, acks and errors are ignored here.
    pub(crate) fn apply(&mut self, msg: &ServerMsg) -> Vec<StoreEvent> {
        match msg {
            ServerMsg::Snapshot { room, state } if *room == self.room => {
                self.view = state.clone();
                self.has_snapshot = true;
                self.version = state.version;
                self.seen_at_version = 0;
                self.complete = true;
                self.skip = 0;
                Vec::new()
            }
            ServerMsg::Resumed { room, version } if *room == self.room => {
                if *version > self.version {
                    self.version = *version;
                    self.seen_at_version = 0;
                }
                self.view.version = self.version;
                self.complete = true;
                self.skip = 0;
                Vec::new()
            }
            ServerMsg::Change {
                room,
                version,
                change,
            } if *room == self.room => {
                if self.admit(*version) {
                    self.view.apply(*version, change);
                }
                Vec::new()
            }
            ServerMsg::Event {
                room,
                version,
                event,
            } if *room == self.room => {
                if self.admit(*version) {
                    let mut out = vec![map_event(event)];
                    // A kick is both a guest callback (reference) and a seat callback.
                    if let Event::KickedOffSeat {
                        seat_index,
                        host_user,
                    } = event
                    {
                        out.push(StoreEvent::Seat(SeatEvent::KickedOffSeat {
                            seat_index: *seat_index,
                            host_user: host_user.into(),
                        }));
                    }
                    out
                } else {
                    Vec::new()
                }
            }
            _ => Vec::new(),
        }
    }

    /// Decides whether a versioned message is new, updating the counters.
    fn admit(&mut self, version: u64) -> bool {
        use std::cmp::Ordering;
        match version.cmp(&self.version) {
            Ordering::Less => false,
            Ordering::Equal => {
                if self.skip > 0 {
                    self.skip -= 1;
                    false
                } else if self.complete {
                    // Everything of `version` came with a snapshot or before `resumed`.
                    false
                } else {
                    self.seen_at_version += 1;
                    true
                }
            }
            Ordering::Greater => {
                self.version = version;
                self.seen_at_version = 1;
                self.complete = false;
                self.skip = 0;
                true
            }
        }
    }

    /// The SDK-level lists.
    pub(crate) fn views(&self) -> Views {
        let mut invitees: Vec<LiveUserInfo> = Vec::new();
        for i in &self.view.invitees {
            if !invitees.iter().any(|u| u.user_id == i.user.user_id) {
                invitees.push((&i.user).into());
            }
        }
        Views {
            connected: self
                .view
                .connected
                .iter()
                .map(|s| {
                    let devices = self
                        .view
                        .seats
                        .iter()
                        .find(|x| x.seat_index == s.seat_index)
                        .map(|seat| seat.devices_on)
                        .unwrap_or_default();
                    SeatUserInfo::from_wire(s, devices, &self.room)
                })
                .collect(),
            seats: self
                .view
                .seats
                .iter()
                .map(|s| SeatInfo::from_wire(s, &self.room))
                .collect(),
            seat_mode: self.view.seat_mode,
            invitees,
            applicants: self
                .view
                .applicants
                .iter()
                .map(|a| (&a.user).into())
                .collect(),
            candidates: self.view.candidates.iter().map(Into::into).collect(),
            queue_position: self.view.queue.map(Into::into),
        }
    }
}

/// The wire event as an SDK event.
fn map_event(e: &Event) -> StoreEvent {
    match e.clone() {
        Event::GuestApplicationReceived {
            guest_user,
            seat_index,
            extra_info,
            ..
        } => StoreEvent::Host(HostEvent::GuestApplicationReceived {
            guest_user: guest_user.into(),
            seat_index,
            extra_info,
        }),
        Event::GuestApplicationCancelled { guest_user } => {
            StoreEvent::Host(HostEvent::GuestApplicationCancelled {
                guest_user: guest_user.into(),
            })
        }
        Event::GuestApplicationProcessedByOtherHost {
            guest_user,
            host_user,
        } => StoreEvent::Host(HostEvent::GuestApplicationProcessedByOtherHost {
            guest_user: guest_user.into(),
            host_user: host_user.into(),
        }),
        Event::HostInvitationResponded {
            is_accept,
            guest_user,
        } => StoreEvent::Host(HostEvent::HostInvitationResponded {
            is_accept,
            guest_user: guest_user.into(),
        }),
        Event::HostInvitationNoResponse { guest_user, reason } => {
            StoreEvent::Host(HostEvent::HostInvitationNoResponse {
                guest_user: guest_user.into(),
                reason: reason.into(),
            })
        }
        Event::HostInvitationReceived {
            host_user,
            seat_index,
            extra_info,
            ..
        } => StoreEvent::Guest(GuestEvent::HostInvitationReceived {
            host_user: host_user.into(),
            seat_index,
            extra_info,
        }),
        Event::HostInvitationCancelled { host_user } => {
            StoreEvent::Guest(GuestEvent::HostInvitationCancelled {
                host_user: host_user.into(),
            })
        }
        Event::GuestApplicationResponded {
            is_accept,
            host_user,
        } => StoreEvent::Guest(GuestEvent::GuestApplicationResponded {
            is_accept,
            host_user: host_user.into(),
        }),
        Event::GuestApplicationNoResponse { reason } => {
            StoreEvent::Guest(GuestEvent::GuestApplicationNoResponse {
                reason: reason.into(),
            })
        }
        Event::KickedOffSeat {
            seat_index,
            host_user,
        } => StoreEvent::Guest(GuestEvent::KickedOffSeat {
            seat_index,
            host_user: host_user.into(),
        }),
        Event::MovedToSeat {
            from_seat_index,
            to_seat_index,
            host_user,
        } => StoreEvent::Seat(SeatEvent::MovedToSeat {
            from_seat_index,
            to_seat_index,
            host_user: host_user.into(),
        }),
        Event::DevicePermissionChanged {
            device,
            allowed,
            seat_index,
            host_user,
        } => StoreEvent::Seat(SeatEvent::DevicePermissionChanged {
            device,
            allowed,
            seat_index,
            host_user: host_user.into(),
        }),
        Event::RoleChanged { role, by_user } => StoreEvent::Seat(SeatEvent::RoleChanged {
            role: role.into(),
            by_user: by_user.into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{NoResponseReason, Role};
    use coguest_proto::{ApplicantInfo, Change, CoGuestState, InviteeInfo};

    const ROOM: &str = "r1";

    fn user(id: &str) -> proto::LiveUserInfo {
        proto::LiveUserInfo {
            user_id: id.into(),
            user_name: id.to_uppercase(),
            avatar_url: String::new(),
        }
    }

    fn seat(i: i32, id: &str, role: proto::Role) -> proto::SeatUserInfo {
        proto::SeatUserInfo {
            seat_index: i,
            user_id: id.into(),
            user_name: id.to_uppercase(),
            avatar_url: String::new(),
            role,
        }
    }

    fn snapshot(version: u64) -> ServerMsg {
        ServerMsg::Snapshot {
            room: ROOM.into(),
            state: CoGuestState {
                version,
                connected: vec![seat(0, "host", proto::Role::Owner)],
                invitees: vec![],
                applicants: vec![],
                candidates: vec![user("bob"), user("carol")],
                ..CoGuestState::default()
            },
        }
    }

    fn change(version: u64, change: Change) -> ServerMsg {
        ServerMsg::Change {
            room: ROOM.into(),
            version,
            change,
        }
    }

    fn event(version: u64, event: Event) -> ServerMsg {
        ServerMsg::Event {
            room: ROOM.into(),
            version,
            event,
        }
    }

    fn applied(id: &str) -> Change {
        Change::ApplicantAdded {
            applicant: ApplicantInfo {
                user: user(id),
                request_id: 1,
                seat_index: -1,
                deadline_ms: 0,
                extra_info: None,
                requested_ms: None,
            },
        }
    }

    fn received(id: &str) -> Event {
        Event::GuestApplicationReceived {
            guest_user: user(id),
            request_id: 1,
            seat_index: -1,
            extra_info: Some("hi".into()),
        }
    }

    /// The messages of one application by bob (version 11) and its acceptance (version 12).
    fn bob_applies_and_is_accepted() -> Vec<ServerMsg> {
        vec![
            event(11, received("bob")),
            change(11, applied("bob")),
            change(
                11,
                Change::CandidateRemoved {
                    user_id: "bob".into(),
                },
            ),
            change(
                12,
                Change::ApplicantRemoved {
                    user_id: "bob".into(),
                },
            ),
            change(
                12,
                Change::Seats {
                    seats: [
                        seat(0, "host", proto::Role::Owner),
                        seat(1, "bob", proto::Role::Audience),
                    ]
                    .into_iter()
                    .map(|user| proto::SeatInfo {
                        seat_index: user.seat_index,
                        user: Some(user),
                        locked: false,
                        devices_on: proto::DeviceFlags::default(),
                        seat_disallowed: proto::DeviceFlags::default(),
                        user_disallowed: proto::DeviceFlags::default(),
                    })
                    .collect(),
                },
            ),
        ]
    }

    fn ids(users: &[LiveUserInfo]) -> Vec<&str> {
        users.iter().map(|u| u.user_id.as_str()).collect()
    }

    #[test]
    fn snapshot_sets_views_and_version() {
        let mut s = ClientState::new(ROOM);
        assert_eq!(s.resume_from(), None);
        assert!(s.apply(&snapshot(10)).is_empty());
        let v = s.views();
        assert_eq!(v.connected.len(), 1);
        assert_eq!(v.connected[0].role, Role::Owner);
        assert_eq!(v.connected[0].live_id, ROOM);
        assert!(!v.connected[0].microphone_on && !v.connected[0].camera_on);
        assert_eq!(ids(&v.candidates), ["bob", "carol"]);
        assert_eq!(s.version(), 10);
        assert_eq!(s.resume_from(), Some(10));
    }

    /// The server's device flags (a seat's `devices_on`) reach `SeatUserInfo` in both lists,
    /// from a snapshot and from a seat change.
    #[test]
    fn seated_users_carry_their_open_devices() {
        let seat_list = |mic: bool, cam: bool| {
            vec![proto::SeatInfo {
                seat_index: 0,
                user: Some(seat(0, "host", proto::Role::Owner)),
                locked: false,
                devices_on: proto::DeviceFlags {
                    microphone: mic,
                    camera: cam,
                },
                seat_disallowed: proto::DeviceFlags::default(),
                user_disallowed: proto::DeviceFlags::default(),
            }]
        };
        let mut s = ClientState::new(ROOM);
        let mut state = CoGuestState {
            version: 3,
            connected: vec![seat(0, "host", proto::Role::Owner)],
            ..CoGuestState::default()
        };
        state.seats = seat_list(false, true);
        s.apply(&ServerMsg::Snapshot {
            room: ROOM.into(),
            state,
        });
        let devices = |v: &Views| {
            let c = &v.connected[0];
            let seat = v.seats[0]
                .user
                .as_ref()
                .map(|u| (u.microphone_on, u.camera_on));
            ((c.microphone_on, c.camera_on), seat)
        };
        assert_eq!(devices(&s.views()), ((false, true), Some((false, true))));
        s.apply(&change(
            4,
            Change::Seats {
                seats: seat_list(true, false),
            },
        ));
        assert_eq!(devices(&s.views()), ((true, false), Some((true, false))));
    }

    #[test]
    fn events_and_changes_in_order() {
        let mut s = ClientState::new(ROOM);
        s.apply(&snapshot(10));
        let mut events = Vec::new();
        for m in bob_applies_and_is_accepted() {
            events.extend(s.apply(&m));
        }
        assert_eq!(
            events,
            [StoreEvent::Host(HostEvent::GuestApplicationReceived {
                guest_user: LiveUserInfo {
                    user_id: "bob".into(),
                    user_name: "BOB".into(),
                    avatar_url: String::new()
                },
                seat_index: -1,
                extra_info: Some("hi".into()),
            })]
        );
        let v = s.views();
        assert!(v.applicants.is_empty());
        assert_eq!(ids(&v.candidates), ["carol"]);
        assert_eq!(v.connected[1].user_id, "bob");
        assert_eq!(v.connected[1].role, Role::GeneralUser);
        assert_eq!(s.version(), 12);
    }

    #[test]
    fn other_rooms_and_old_versions_are_ignored() {
        let mut s = ClientState::new(ROOM);
        s.apply(&snapshot(10));
        let other = ServerMsg::Event {
            room: "other".into(),
            version: 11,
            event: received("bob"),
        };
        assert!(s.apply(&other).is_empty());
        assert!(s.apply(&event(9, received("bob"))).is_empty());
        // Version 10 came with the snapshot: nothing of it is applied again.
        assert!(s.apply(&event(10, received("bob"))).is_empty());
        assert!(s.views().applicants.is_empty());
    }

    /// Every prefix of the stream, then a reconnect: the replay from `resume_from` gives the
    /// same final state and the same events, each exactly once.
    #[test]
    fn resume_after_any_cut_loses_and_repeats_nothing() {
        let msgs = bob_applies_and_is_accepted();
        let mut whole = ClientState::new(ROOM);
        whole.apply(&snapshot(10));
        let mut expected_events = Vec::new();
        for m in &msgs {
            expected_events.extend(whole.apply(m));
        }
        for cut in 0..=msgs.len() {
            let mut s = ClientState::new(ROOM);
            s.apply(&snapshot(10));
            let mut events = Vec::new();
            for m in &msgs[..cut] {
                events.extend(s.apply(m));
            }
            let since = s.resume_from().unwrap_or(0);
            // The server replays every message with a version above `since`, then `resumed`.
            for m in msgs.iter().filter(|m| version_of(m) > since) {
                events.extend(s.apply(m));
            }
            s.apply(&ServerMsg::Resumed {
                room: ROOM.into(),
                version: 12,
            });
            assert_eq!(events, expected_events, "cut at {cut}");
            assert_eq!(s.views(), whole.views(), "cut at {cut}");
            assert_eq!(s.resume_from(), Some(12));
        }
    }

    fn version_of(m: &ServerMsg) -> u64 {
        match m {
            ServerMsg::Event { version, .. } | ServerMsg::Change { version, .. } => *version,
            _ => 0,
        }
    }

    #[test]
    fn fresh_snapshot_on_resume_replaces_views_without_events() {
        let mut s = ClientState::new(ROOM);
        s.apply(&snapshot(10));
        s.apply(&event(11, received("bob")));
        s.apply(&change(11, applied("bob")));
        assert_eq!(s.resume_from(), Some(10));
        // The server no longer holds version 10: it sends a snapshot at 20 instead.
        let events = s.apply(&snapshot(20));
        assert!(events.is_empty());
        assert!(s.views().applicants.is_empty());
        assert_eq!(s.version(), 20);
        // Old replays are dropped, newer messages apply.
        assert!(s.apply(&event(11, received("bob"))).is_empty());
        assert_eq!(s.apply(&event(21, received("dave"))).len(), 1);
    }

    #[test]
    fn resumed_moves_the_version_forward() {
        let mut s = ClientState::new(ROOM);
        s.apply(&snapshot(10));
        s.apply(&ServerMsg::Resumed {
            room: ROOM.into(),
            version: 15,
        });
        assert_eq!(s.resume_from(), Some(15));
        assert!(s.apply(&event(15, received("bob"))).is_empty());
        assert_eq!(s.apply(&event(16, received("bob"))).len(), 1);
    }

    #[test]
    fn invitees_are_listed_once_per_user() {
        let mut s = ClientState::new(ROOM);
        s.apply(&snapshot(10));
        for (v, inviter) in [(11, "host"), (12, "admin")] {
            s.apply(&change(
                v,
                Change::InviteeAdded {
                    invitee: InviteeInfo {
                        user: user("bob"),
                        inviter_id: inviter.into(),
                        request_id: v,
                        seat_index: -1,
                        deadline_ms: 0,
                        requested_ms: None,
                    },
                },
            ));
        }
        assert_eq!(s.wire_view().invitees.len(), 2);
        assert_eq!(ids(&s.views().invitees), ["bob"]);
        s.apply(&change(
            13,
            Change::InviteeRemoved {
                user_id: "bob".into(),
                inviter_id: "host".into(),
            },
        ));
        assert_eq!(ids(&s.views().invitees), ["bob"]);
    }

    #[test]
    fn every_wire_event_maps_to_its_side() {
        let host = |e: Event| matches!(map_event(&e), StoreEvent::Host(_));
        let h = || user("host");
        let g = || user("bob");
        assert!(host(received("bob")));
        assert!(host(Event::GuestApplicationCancelled { guest_user: g() }));
        assert!(host(Event::GuestApplicationProcessedByOtherHost {
            guest_user: g(),
            host_user: h()
        }));
        assert!(host(Event::HostInvitationResponded {
            is_accept: true,
            guest_user: g()
        }));
        assert_eq!(
            map_event(&Event::HostInvitationNoResponse {
                guest_user: g(),
                reason: proto::NoResponseReason::AlreadySeated
            }),
            StoreEvent::Host(HostEvent::HostInvitationNoResponse {
                guest_user: g().into(),
                reason: NoResponseReason::AlreadySeated
            })
        );
        assert!(!host(Event::HostInvitationReceived {
            host_user: h(),
            request_id: 1,
            seat_index: 2,
            extra_info: None
        }));
        assert!(!host(Event::HostInvitationCancelled { host_user: h() }));
        assert!(!host(Event::GuestApplicationResponded {
            is_accept: false,
            host_user: h()
        }));
        assert_eq!(
            map_event(&Event::GuestApplicationNoResponse {
                reason: proto::NoResponseReason::Timeout
            }),
            StoreEvent::Guest(GuestEvent::GuestApplicationNoResponse {
                reason: NoResponseReason::Timeout
            })
        );
        assert!(!host(Event::KickedOffSeat {
            seat_index: 1,
            host_user: h()
        }));
    }
}
