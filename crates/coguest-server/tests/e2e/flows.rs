//! Every command and every event of the reference API, end to end.

use crate::common::*;
use coguest_core::Role;
use coguest_proto::{Change, ClientCommand, ErrorCode, Event, NoResponseReason, ServerMsg};

const ROOM: &str = "live-1";

fn seats_of(m: &ServerMsg) -> Option<Vec<(i32, String)>> {
    match m {
        // `connected` is the seat list's occupants.
        ServerMsg::Change {
            change: Change::Seats { seats },
            ..
        } => Some(
            seats
                .iter()
                .filter_map(|s| s.user.as_ref().map(|u| (u.seat_index, u.user_id.clone())))
                .collect(),
        ),
        _ => None,
    }
}

async fn expect_seats(c: &mut TestClient, want: &[(i32, &str)]) {
    let want: Vec<(i32, String)> = want.iter().map(|(i, u)| (*i, u.to_string())).collect();
    let what = format!("connected = {want:?}");
    c.expect(&what, |m| seats_of(m).as_ref() == Some(&want))
        .await;
}

#[tokio::test]
async fn application_accepted_reaches_guest_and_other_host() {
    let s = TestServer::start().await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut admin = s.member(ROOM, "admin", Role::Admin).await;
    let mut guest = s.member(ROOM, "guest", Role::Audience).await;

    let ack = guest.call(ROOM, apply(-1, 30)).await.unwrap();
    let rid = ack.request_id.expect("an application has a request id");
    for host in [&mut owner, &mut admin] {
        let e = host
            .event("application received", |e| {
                matches!(e, Event::GuestApplicationReceived { .. })
            })
            .await;
        let Event::GuestApplicationReceived {
            guest_user,
            request_id,
            seat_index,
            ..
        } = e
        else {
            unreachable!()
        };
        assert_eq!(guest_user.user_id, "guest");
        assert_eq!(guest_user.user_name, "guest name");
        assert_eq!((request_id, seat_index), (rid, -1));
    }

    admin.call(ROOM, accept_app("guest")).await.unwrap();
    let e = guest
        .event("responded", |e| {
            matches!(e, Event::GuestApplicationResponded { .. })
        })
        .await;
    assert!(matches!(
        e,
        Event::GuestApplicationResponded { is_accept: true, ref host_user } if host_user.user_id == "admin"
    ));
    let e = owner
        .event("processed by other host", |e| {
            matches!(e, Event::GuestApplicationProcessedByOtherHost { .. })
        })
        .await;
    assert!(matches!(
        e,
        Event::GuestApplicationProcessedByOtherHost { ref guest_user, ref host_user }
            if guest_user.user_id == "guest" && host_user.user_id == "admin"
    ));
    for c in [&mut owner, &mut admin, &mut guest] {
        expect_seats(c, &[(0, "owner"), (1, "guest")]).await;
    }
    // The accepting host is not told its own answer was processed by another host.
    admin.room_barrier(ROOM).await;
    assert!(
        !admin
            .drain_events()
            .iter()
            .any(|e| matches!(e, Event::GuestApplicationProcessedByOtherHost { .. }))
    );
}

#[tokio::test]
async fn application_rejected_and_cancelled() {
    let s = TestServer::start().await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut guest = s.member(ROOM, "guest", Role::Audience).await;

    guest.call(ROOM, apply(2, 30)).await.unwrap();
    owner
        .event("received", |e| {
            matches!(e, Event::GuestApplicationReceived { seat_index: 2, .. })
        })
        .await;
    owner.call(ROOM, reject_app("guest")).await.unwrap();
    guest
        .event("rejected", |e| {
            matches!(
                e,
                Event::GuestApplicationResponded {
                    is_accept: false,
                    ..
                }
            )
        })
        .await;

    guest.call(ROOM, apply(-1, 30)).await.unwrap();
    guest
        .call(ROOM, ClientCommand::CancelApplication)
        .await
        .unwrap();
    owner
        .event("cancelled", |e| {
            matches!(e, Event::GuestApplicationCancelled { guest_user } if guest_user.user_id == "guest")
        })
        .await;
    // Nothing left to answer.
    let err = owner.call(ROOM, accept_app("guest")).await.unwrap_err();
    assert_eq!(err.code, code(ErrorCode::RequestIdInvalid));
    let err = guest
        .call(ROOM, ClientCommand::CancelApplication)
        .await
        .unwrap_err();
    assert_eq!(err.code, code(ErrorCode::RequestIdInvalid));
}

#[tokio::test]
async fn invitations_accepted_rejected_cancelled() {
    let s = TestServer::start().await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut a = s.member(ROOM, "a", Role::Audience).await;
    let mut b = s.member(ROOM, "b", Role::Audience).await;
    let mut c = s.member(ROOM, "c", Role::Audience).await;

    let ack = owner.call(ROOM, invite("a", 3, 60)).await.unwrap();
    assert!(ack.request_id.is_some());
    let e = a
        .event("invited", |e| {
            matches!(e, Event::HostInvitationReceived { .. })
        })
        .await;
    assert!(matches!(
        e,
        Event::HostInvitationReceived { ref host_user, seat_index: 3, .. } if host_user.user_id == "owner"
    ));
    a.call(ROOM, accept_inv("owner")).await.unwrap();
    owner
        .event("a accepted", |e| {
            matches!(e, Event::HostInvitationResponded { is_accept: true, guest_user } if guest_user.user_id == "a")
        })
        .await;
    expect_seats(&mut c, &[(0, "owner"), (3, "a")]).await;

    owner.call(ROOM, invite("b", -1, 60)).await.unwrap();
    b.event("invited", |e| {
        matches!(e, Event::HostInvitationReceived { .. })
    })
    .await;
    b.call(ROOM, reject_inv("owner")).await.unwrap();
    owner
        .event("b rejected", |e| {
            matches!(e, Event::HostInvitationResponded { is_accept: false, guest_user } if guest_user.user_id == "b")
        })
        .await;

    owner.call(ROOM, invite("c", -1, 60)).await.unwrap();
    owner
        .call(
            ROOM,
            ClientCommand::CancelInvitation {
                invitee_id: "c".into(),
            },
        )
        .await
        .unwrap();
    c.event("invitation cancelled", |e| {
        matches!(e, Event::HostInvitationCancelled { host_user } if host_user.user_id == "owner")
    })
    .await;
    let err = c.call(ROOM, accept_inv("owner")).await.unwrap_err();
    assert_eq!(err.code, code(ErrorCode::RequestIdInvalid));
}

#[tokio::test]
async fn disconnect_kick_lock_unlock_leave_snapshot_ping() {
    let s = TestServer::start().await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut a = s.member(ROOM, "a", Role::Audience).await;

    owner.call(ROOM, invite("a", 1, 60)).await.unwrap();
    a.call(ROOM, accept_inv("owner")).await.unwrap();
    expect_seats(&mut a, &[(0, "owner"), (1, "a")]).await;
    a.call(ROOM, ClientCommand::Disconnect).await.unwrap();
    expect_seats(&mut owner, &[(0, "owner")]).await;
    let err = a.call(ROOM, ClientCommand::Disconnect).await.unwrap_err();
    assert_eq!(err.code, code(ErrorCode::UserNotInSeat));

    // Kick.
    owner.call(ROOM, invite("a", 1, 60)).await.unwrap();
    a.call(ROOM, accept_inv("owner")).await.unwrap();
    owner
        .call(
            ROOM,
            ClientCommand::KickOffSeat {
                user_id: "a".into(),
            },
        )
        .await
        .unwrap();
    a.event("kicked", |e| {
        matches!(e, Event::KickedOffSeat { seat_index: 1, host_user } if host_user.user_id == "owner")
    })
    .await;

    // Locking an occupied seat removes its occupant; a locked seat cannot be asked for.
    owner.call(ROOM, invite("a", 2, 60)).await.unwrap();
    a.call(ROOM, accept_inv("owner")).await.unwrap();
    owner
        .call(ROOM, ClientCommand::LockSeat { seat_index: 2 })
        .await
        .unwrap();
    a.event("kicked by lock", |e| {
        matches!(e, Event::KickedOffSeat { seat_index: 2, .. })
    })
    .await;
    let err = a.call(ROOM, apply(2, 30)).await.unwrap_err();
    assert_eq!(err.code, code(ErrorCode::SeatLocked));
    let err = owner
        .call(ROOM, ClientCommand::LockSeat { seat_index: 2 })
        .await
        .unwrap_err();
    assert_eq!(err.code, code(ErrorCode::SeatLockUnchanged));
    owner
        .call(ROOM, ClientCommand::UnlockSeat { seat_index: 2 })
        .await
        .unwrap();
    a.call(ROOM, apply(2, 30)).await.unwrap();

    // Snapshot: the host sees the application.
    let id = owner.send(Some(ROOM), ClientCommand::Snapshot).await;
    owner.answer(id).await.unwrap();
    let state = owner.take_snapshot(ROOM);
    assert_eq!(state.applicants.len(), 1);
    assert_eq!(state.applicants[0].user.user_id, "a");
    assert_eq!(state.connected.len(), 1);

    // Ping without a room.
    owner.barrier().await;

    // Leave closes the application and takes the member out of the room.
    a.call(ROOM, ClientCommand::Leave).await.unwrap();
    owner
        .event("cancelled by leave", |e| {
            matches!(e, Event::GuestApplicationCancelled { .. })
        })
        .await;
    let err = a.call(ROOM, apply(-1, 30)).await.unwrap_err();
    assert_eq!(err.code, code(ErrorCode::NotEnteredRoom));
    let (status, body) = s.get_room(ROOM).await;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["member_count"], 1);
}

#[tokio::test]
async fn already_seated_closes_other_requests() {
    let s = TestServer::start().await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut admin = s.member(ROOM, "admin", Role::Admin).await;
    let mut g = s.member(ROOM, "g", Role::Audience).await;

    // Accepting an invitation while applying: the application closes as already seated.
    g.call(ROOM, apply(-1, 30)).await.unwrap();
    owner.call(ROOM, invite("g", -1, 30)).await.unwrap();
    g.call(ROOM, accept_inv("owner")).await.unwrap();
    g.event("application closed", |e| {
        matches!(
            e,
            Event::GuestApplicationNoResponse {
                reason: NoResponseReason::AlreadySeated
            }
        )
    })
    .await;
    g.call(ROOM, ClientCommand::Disconnect).await.unwrap();

    // Two invitations, one accepted: the other host hears "already seated".
    owner.call(ROOM, invite("g", -1, 30)).await.unwrap();
    admin.call(ROOM, invite("g", -1, 30)).await.unwrap();
    g.call(ROOM, accept_inv("admin")).await.unwrap();
    owner
        .event("invitation closed", |e| {
            matches!(e, Event::HostInvitationNoResponse { reason: NoResponseReason::AlreadySeated, guest_user } if guest_user.user_id == "g")
        })
        .await;
    admin
        .event("accepted", |e| {
            matches!(
                e,
                Event::HostInvitationResponded {
                    is_accept: true,
                    ..
                }
            )
        })
        .await;

    // Inviting a seated user answers at once, without a request.
    let ack = owner.call(ROOM, invite("g", -1, 30)).await.unwrap();
    assert_eq!(ack.request_id, None);
    owner
        .event("already seated", |e| {
            matches!(
                e,
                Event::HostInvitationNoResponse {
                    reason: NoResponseReason::AlreadySeated,
                    ..
                }
            )
        })
        .await;
    // Applying while seated is refused.
    let err = g.call(ROOM, apply(-1, 30)).await.unwrap_err();
    assert_eq!(err.code, code(ErrorCode::AlreadyInSeat));
}

#[tokio::test]
async fn requests_time_out_on_the_manual_clock() {
    let s = TestServer::start().await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut g = s.member(ROOM, "g", Role::Audience).await;
    let mut h = s.member(ROOM, "h", Role::Audience).await;

    g.call(ROOM, apply(-1, 30)).await.unwrap();
    owner.call(ROOM, invite("h", -1, 10)).await.unwrap();
    h.event("invited", |e| {
        matches!(e, Event::HostInvitationReceived { .. })
    })
    .await;

    // Just before the deadlines nothing fires.
    s.clock.advance(9_999);
    owner.room_barrier(ROOM).await;
    g.room_barrier(ROOM).await;
    assert!(
        !owner
            .drain_events()
            .iter()
            .any(|e| matches!(e, Event::HostInvitationNoResponse { .. }))
    );
    s.clock.advance(1);
    owner
        .event("invitation timed out", |e| {
            matches!(e, Event::HostInvitationNoResponse { reason: NoResponseReason::Timeout, guest_user } if guest_user.user_id == "h")
        })
        .await;
    let err = h.call(ROOM, accept_inv("owner")).await.unwrap_err();
    assert_eq!(err.code, code(ErrorCode::RequestIdInvalid));

    s.clock.advance_secs(20);
    g.event("application timed out", |e| {
        matches!(
            e,
            Event::GuestApplicationNoResponse {
                reason: NoResponseReason::Timeout
            }
        )
    })
    .await;
    owner
        .expect("applicant removed", |m| {
            matches!(m, ServerMsg::Change { change: Change::ApplicantRemoved { user_id }, .. } if user_id == "g")
        })
        .await;
    let err = owner.call(ROOM, accept_app("g")).await.unwrap_err();
    assert_eq!(err.code, code(ErrorCode::RequestIdInvalid));
}

#[tokio::test]
async fn first_host_wins_under_concurrent_accepts() {
    let s = TestServer::start().await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut admin = s.member(ROOM, "admin", Role::Admin).await;
    let mut g = s.member(ROOM, "g", Role::Audience).await;
    g.call(ROOM, apply(-1, 30)).await.unwrap();
    owner
        .event("received", |e| {
            matches!(e, Event::GuestApplicationReceived { .. })
        })
        .await;
    admin
        .event("received", |e| {
            matches!(e, Event::GuestApplicationReceived { .. })
        })
        .await;

    let a = owner.send(Some(ROOM), accept_app("g")).await;
    let b = admin.send(Some(ROOM), accept_app("g")).await;
    let (ra, rb) = tokio::join!(owner.answer(a), admin.answer(b));
    let (winner, loser) = match (&ra, &rb) {
        (Ok(_), Err(e)) => ("owner", e.clone()),
        (Err(e), Ok(_)) => ("admin", e.clone()),
        _ => panic!("exactly one accept must win: {ra:?} {rb:?}"),
    };
    assert_eq!(loser.code, code(ErrorCode::RequestIdInvalid));
    let e = g
        .event("accepted", |e| {
            matches!(
                e,
                Event::GuestApplicationResponded {
                    is_accept: true,
                    ..
                }
            )
        })
        .await;
    assert!(
        matches!(e, Event::GuestApplicationResponded { host_user, .. } if host_user.user_id == winner)
    );
    g.room_barrier(ROOM).await;
    assert_eq!(
        g.drain_events()
            .iter()
            .filter(|e| matches!(e, Event::GuestApplicationResponded { .. }))
            .count(),
        0,
        "the guest hears one answer only"
    );
}

#[tokio::test]
async fn one_connection_joins_several_rooms() {
    let s = TestServer::start().await;
    let mut host = s.connect("host", Role::Admin).await;
    host.join("r1", None).await.unwrap();
    host.join("r2", None).await.unwrap();
    host.take_snapshot("r1");
    host.take_snapshot("r2");
    let mut g = s.member("r2", "g", Role::Audience).await;
    g.call("r2", apply(-1, 30)).await.unwrap();
    let m = host
        .expect("event in r2", |m| {
            matches!(
                m,
                ServerMsg::Event {
                    event: Event::GuestApplicationReceived { .. },
                    ..
                }
            )
        })
        .await;
    assert!(matches!(m, ServerMsg::Event { room, .. } if room == "r2"));
    // Commands for a room the connection has not joined are refused.
    let err = g.call("r1", apply(-1, 30)).await.unwrap_err();
    assert_eq!(err.code, code(ErrorCode::NotEnteredRoom));
}

/// A commander gets every output of its command before the answer (so a client's lists are
/// up to date when its call returns) and none after, now that the answer is queued with its
/// outputs ahead of the rest of the room's deliveries; the rest of the room still gets them.
#[tokio::test]
async fn the_commander_gets_its_outputs_then_its_answer() {
    let s = TestServer::start().await;
    let mut host = s.member(ROOM, "host", Role::Owner).await;
    let mut guest = s.member(ROOM, "guest", Role::Audience).await;
    let mut watchers = Vec::new();
    for i in 0..30 {
        watchers.push(s.member(ROOM, &format!("w{i}"), Role::Audience).await);
    }
    host.barrier().await;
    host.drain_events();
    let ack = host.call(ROOM, invite("guest", 2, 30)).await.unwrap();
    let v = ack.version.unwrap();
    // Everything of version v the host will get came before the ack: nothing more arrives.
    let before = host.buf.iter().filter(|m| version_of(m) == Some(v)).count();
    assert!(
        before > 0,
        "the host's own outputs of version {v} came after its ack"
    );
    host.buf.retain(|m| version_of(m) != Some(v));
    host.barrier().await;
    assert!(
        host.buf.iter().all(|m| version_of(m) != Some(v)),
        "outputs of version {v} after the ack: {:?}",
        host.buf
    );
    let ack = guest
        .call(
            ROOM,
            ClientCommand::AcceptInvitation {
                inviter_id: "host".into(),
            },
        )
        .await
        .unwrap();
    let v = ack.version.unwrap();
    assert!(
        guest
            .buf
            .iter()
            .any(|m| version_of(m) == Some(v) && seats_of(m).is_some()),
        "the guest's seat change of version {v} did not come before its ack: {:?}",
        guest.buf
    );
    for w in &mut watchers {
        w.expect("the seat change", |m| {
            version_of(m) == Some(v) && seats_of(m).is_some()
        })
        .await;
    }
}

fn version_of(m: &ServerMsg) -> Option<u64> {
    match m {
        ServerMsg::Change { version, .. } | ServerMsg::Event { version, .. } => Some(*version),
        _ => None,
    }
}
