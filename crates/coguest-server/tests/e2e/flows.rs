//! Every command and every event of the reference API, end to end.

use crate::common::*;
use coguest_core::Role;
use coguest_proto::{Change, ClientCommand, ErrorCode, Event, NoResponseReason, ServerMsg};

const ROOM: &str = "live-1";

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
            .event("application received", application_received)
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
        c.expect_seats(&[(0, "owner"), (1, "guest")]).await;
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
    guest.event("rejected", application_rejected).await;

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
    assert_eq!(
        owner.refused(ROOM, accept_app("guest")).await,
        ErrorCode::RequestIdInvalid
    );
    assert_eq!(
        guest.refused(ROOM, ClientCommand::CancelApplication).await,
        ErrorCode::RequestIdInvalid
    );
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
    let e = a.event("invited", invitation_received).await;
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
    c.expect_seats(&[(0, "owner"), (3, "a")]).await;

    owner.call(ROOM, invite("b", -1, 60)).await.unwrap();
    b.event("invited", invitation_received).await;
    b.call(ROOM, reject_inv("owner")).await.unwrap();
    owner
        .event("b rejected", |e| {
            matches!(e, Event::HostInvitationResponded { is_accept: false, guest_user } if guest_user.user_id == "b")
        })
        .await;

    owner.call(ROOM, invite("c", -1, 60)).await.unwrap();
    owner.call(ROOM, cancel_invitation("c")).await.unwrap();
    c.event("invitation cancelled", |e| {
        matches!(e, Event::HostInvitationCancelled { host_user } if host_user.user_id == "owner")
    })
    .await;
    assert_eq!(
        c.refused(ROOM, accept_inv("owner")).await,
        ErrorCode::RequestIdInvalid
    );
}

#[tokio::test]
async fn disconnect_kick_lock_unlock_leave_snapshot_ping() {
    let s = TestServer::start().await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut a = s.member(ROOM, "a", Role::Audience).await;

    owner.call(ROOM, invite("a", 1, 60)).await.unwrap();
    a.call(ROOM, accept_inv("owner")).await.unwrap();
    a.expect_seats(&[(0, "owner"), (1, "a")]).await;
    a.call(ROOM, ClientCommand::Disconnect).await.unwrap();
    owner.expect_seats(&[(0, "owner")]).await;
    assert_eq!(
        a.refused(ROOM, ClientCommand::Disconnect).await,
        ErrorCode::UserNotInSeat
    );

    // Kick.
    owner.call(ROOM, invite("a", 1, 60)).await.unwrap();
    a.call(ROOM, accept_inv("owner")).await.unwrap();
    owner.call(ROOM, kick("a")).await.unwrap();
    a.event("kicked", |e| {
        matches!(e, Event::KickedOffSeat { seat_index: 1, host_user } if host_user.user_id == "owner")
    })
    .await;

    // Locking an occupied seat removes its occupant; a locked seat cannot be asked for.
    owner.call(ROOM, invite("a", 2, 60)).await.unwrap();
    a.call(ROOM, accept_inv("owner")).await.unwrap();
    owner.call(ROOM, lock(2)).await.unwrap();
    a.event("kicked by lock", |e| {
        matches!(e, Event::KickedOffSeat { seat_index: 2, .. })
    })
    .await;
    assert_eq!(a.refused(ROOM, apply(2, 30)).await, ErrorCode::SeatLocked);
    assert_eq!(
        owner.refused(ROOM, lock(2)).await,
        ErrorCode::SeatLockUnchanged
    );
    owner.call(ROOM, unlock(2)).await.unwrap();
    a.call(ROOM, apply(2, 30)).await.unwrap();

    // Snapshot: the host sees the application.
    let state = owner.snapshot(ROOM).await;
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
    assert_eq!(
        a.refused(ROOM, apply(-1, 30)).await,
        ErrorCode::NotEnteredRoom
    );
    assert_eq!(s.room_json(ROOM).await["member_count"], 1);
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
    g.event("application closed", application_closed_as_seated)
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
    admin.event("accepted", invitation_accepted).await;

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
    assert_eq!(
        g.refused(ROOM, apply(-1, 30)).await,
        ErrorCode::AlreadyInSeat
    );
}

#[tokio::test]
async fn requests_time_out_on_the_manual_clock() {
    let s = TestServer::start().await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut g = s.member(ROOM, "g", Role::Audience).await;
    let mut h = s.member(ROOM, "h", Role::Audience).await;

    g.call(ROOM, apply(-1, 30)).await.unwrap();
    owner.call(ROOM, invite("h", -1, 10)).await.unwrap();
    h.event("invited", invitation_received).await;

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
    assert_eq!(
        h.refused(ROOM, accept_inv("owner")).await,
        ErrorCode::RequestIdInvalid
    );

    s.clock.advance_secs(20);
    g.event("application timed out", application_timed_out)
        .await;
    owner
        .expect("applicant removed", |m| {
            matches!(m, ServerMsg::Change { change: Change::ApplicantRemoved { user_id }, .. } if user_id == "g")
        })
        .await;
    assert_eq!(
        owner.refused(ROOM, accept_app("g")).await,
        ErrorCode::RequestIdInvalid
    );
}

#[tokio::test]
async fn first_host_wins_under_concurrent_accepts() {
    let s = TestServer::start().await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut admin = s.member(ROOM, "admin", Role::Admin).await;
    let mut g = s.member(ROOM, "g", Role::Audience).await;
    g.call(ROOM, apply(-1, 30)).await.unwrap();
    owner.event("received", application_received).await;
    admin.event("received", application_received).await;

    let a = owner.send(Some(ROOM), accept_app("g")).await;
    let b = admin.send(Some(ROOM), accept_app("g")).await;
    let (ra, rb) = tokio::join!(owner.answer(a), admin.answer(b));
    let (winner, loser) = match (&ra, &rb) {
        (Ok(_), Err(e)) => ("owner", e.clone()),
        (Err(e), Ok(_)) => ("admin", e.clone()),
        _ => panic!("exactly one accept must win: {ra:?} {rb:?}"),
    };
    assert_eq!(loser.code, code(ErrorCode::RequestIdInvalid));
    let e = g.event("accepted", application_accepted).await;
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
    s.create_room("r1").await;
    s.create_room("r2").await;
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
    let ack = guest.call(ROOM, accept_inv("host")).await.unwrap();
    let v = ack.version.unwrap();
    assert!(
        guest
            .buf
            .iter()
            .any(|m| version_of(m) == Some(v) && seats_change(m).is_some()),
        "the guest's seat change of version {v} did not come before its ack: {:?}",
        guest.buf
    );
    for w in &mut watchers {
        w.expect("the seat change", |m| {
            version_of(m) == Some(v) && seats_change(m).is_some()
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
