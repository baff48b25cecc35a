//! End-to-end tests: the SDK against the real server, in-process, over real WebSockets, with
//! SQLite in a temporary directory and the server's manual clock for timeouts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use coguest_client::{
    Client, CoGuestError, CoGuestStore, ConnectionStatus, GuestEvent, GuestListener, HostEvent,
    HostListener, NoResponseReason, Role as SdkRole,
};
use coguest_core::Role;
use common::*;
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn application_accept_reject_cancel_and_disconnect() {
    let h = Harness::start().await;
    let (owner_c, owner) = h.member("host_1", Role::Owner).await;
    let (bob_c, bob) = h.member("bob", Role::Audience).await;
    assert_eq!(owner_c.role(), SdkRole::Owner);
    assert_eq!(bob_c.user_id(), "bob");

    let (host_rec, mut host_log) = record_host(&owner);
    let (bob_rec, mut bob_log) = record_guest(&bob);
    let mut host_events = owner.host_events();
    let mut bob_events = bob.guest_events();

    let owner_state = owner.co_guest_state();
    let bob_state = bob.co_guest_state();
    assert_eq!(seats(&owner_state), [(0, "host_1".to_owned())]);
    let s = owner_state.connected.borrow()[0].clone();
    assert_eq!((s.role, s.live_id.as_str()), (SdkRole::Owner, ROOM));
    wait_for(&owner_state.candidates, "bob as a candidate", |c| {
        ids(c) == ["bob"]
    })
    .await;

    // Apply, then accept.
    bob.apply_for_seat(-1, 30, Some("{\"msg\":\"hi\"}"))
        .await
        .unwrap();
    host_log.expect("application_received bob").await;
    assert_eq!(
        host_events.recv().await.unwrap(),
        HostEvent::GuestApplicationReceived {
            guest_user: user("bob"),
            seat_index: -1,
            extra_info: Some("{\"msg\":\"hi\"}".into()),
        }
    );
    // The list was updated before the callback ran.
    assert_eq!(host_rec.seen.lock().unwrap()[0].1, ["bob"]);
    assert_eq!(ids(&owner_state.applicants.borrow()), ["bob"]);
    assert_eq!(ids(&bob_state.applicants.borrow()), ["bob"]);
    assert!(owner_state.candidates.borrow().is_empty());

    owner.accept_application("bob").await.unwrap();
    bob_log.expect("application_responded true by host_1").await;
    assert!(matches!(
        bob_events.recv().await.unwrap(),
        GuestEvent::GuestApplicationResponded {
            is_accept: true,
            ..
        }
    ));
    assert_eq!(
        bob_rec.seen.lock().unwrap()[0].3,
        ["host_1".to_owned(), "bob".to_owned()]
    );
    wait_for(&owner_state.connected, "bob seated", |c| c.len() == 2).await;
    assert_eq!(seats(&bob_state)[1], (1, "bob".to_owned()));
    assert_eq!(bob_state.connected.borrow()[1].role, SdkRole::GeneralUser);
    assert!(owner_state.applicants.borrow().is_empty());

    // Leave the seat.
    bob.disconnect().await.unwrap();
    wait_for(&owner_state.connected, "bob unseated", |c| c.len() == 1).await;
    wait_for(&bob_state.connected, "bob unseated (bob)", |c| c.len() == 1).await;
    let err = bob.disconnect().await.unwrap_err();
    assert_eq!(err.code(), -2345, "{err}");

    // Apply, then reject.
    bob.apply_for_seat(-1, 30, None).await.unwrap();
    host_log.expect("application_received bob").await;
    owner.reject_application("bob").await.unwrap();
    bob_log
        .expect("application_responded false by host_1")
        .await;
    wait_for(&owner_state.applicants, "no applicants", |a| a.is_empty()).await;

    // Apply, then cancel.
    bob.apply_for_seat(-1, 30, None).await.unwrap();
    host_log.expect("application_received bob").await;
    bob.cancel_application().await.unwrap();
    host_log.expect("application_cancelled bob").await;
    wait_for(&owner_state.applicants, "no applicants", |a| a.is_empty()).await;
    assert!(bob_state.applicants.borrow().is_empty());

    // Errors carry the server's codes.
    let err = bob.cancel_application().await.unwrap_err();
    assert_eq!(err.code(), -2311, "{err}");
    let err = bob.accept_application("host_1").await.unwrap_err();
    assert_eq!(err.code(), -2301, "{err}");
    assert!(!err.message().is_empty());

    settle(&[&owner_c, &bob_c]).await;
    assert!(host_log.drain().is_empty());
    assert!(bob_log.drain().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitation_accept_reject_cancel_kick_and_already_seated() {
    let h = Harness::start().await;
    let (owner_c, owner) = h.member("host_1", Role::Owner).await;
    let (bob_c, bob) = h.member("bob", Role::Audience).await;
    let (_, mut host_log) = record_host(&owner);
    let (bob_rec, mut bob_log) = record_guest(&bob);
    let owner_state = owner.co_guest_state();
    let bob_state = bob.co_guest_state();
    let mut bob_events = bob.guest_events();

    // Invite, reject.
    owner
        .invite_to_seat("bob", 2, 30, Some("{\"msg\":\"join me\"}"))
        .await
        .unwrap();
    bob_log.expect("invitation_received from host_1").await;
    assert_eq!(
        bob_events.recv().await.unwrap(),
        GuestEvent::HostInvitationReceived {
            host_user: user("host_1"),
            seat_index: 2,
            extra_info: Some("{\"msg\":\"join me\"}".into()),
        }
    );
    assert_eq!(bob_rec.seen.lock().unwrap()[0].2, ["bob"]);
    assert_eq!(ids(&owner_state.invitees.borrow()), ["bob"]);
    bob.reject_invitation("host_1").await.unwrap();
    host_log.expect("invitation_responded false bob").await;
    wait_for(&owner_state.invitees, "no invitees", |i| i.is_empty()).await;

    // Invite, cancel.
    owner.invite_to_seat("bob", 2, 30, None).await.unwrap();
    bob_log.expect("invitation_received from host_1").await;
    owner.cancel_invitation("bob").await.unwrap();
    bob_log.expect("invitation_cancelled by host_1").await;
    wait_for(&bob_state.invitees, "no invitation", |i| i.is_empty()).await;

    // Invite, accept: bob is on seat 2.
    owner.invite_to_seat("bob", 2, 30, None).await.unwrap();
    bob_log.expect("invitation_received from host_1").await;
    bob.accept_invitation("host_1").await.unwrap();
    host_log.expect("invitation_responded true bob").await;
    wait_for(&owner_state.connected, "bob on seat 2", |c| {
        c.iter().any(|s| s.user_id == "bob" && s.seat_index == 2)
    })
    .await;

    // Inviting a seated user: acknowledged, then "already seated".
    owner.invite_to_seat("bob", -1, 30, None).await.unwrap();
    host_log
        .expect("invitation_no_response bob already_seated")
        .await;

    // Kick.
    owner.kick_off_seat("bob").await.unwrap();
    bob_log.expect("kicked_off_seat 2 by host_1").await;
    wait_for(&bob_state.connected, "bob off seat", |c| c.len() == 1).await;

    // Seat lock errors come back with their codes.
    owner.lock_seat(3).await.unwrap();
    let err = owner.lock_seat(3).await.unwrap_err();
    assert_eq!(err.code(), -3023);
    owner.unlock_seat(3).await.unwrap();

    settle(&[&owner_c, &bob_c]).await;
    assert!(host_log.drain().is_empty());
    assert!(bob_log.drain().is_empty());
}

#[tokio::test]
async fn timeouts_on_the_server_clock() {
    let h = Harness::start().await;
    let (owner_c, owner) = h.member("host_1", Role::Owner).await;
    let (bob_c, bob) = h.member("bob", Role::Audience).await;
    let (_carol_c, carol) = h.member("carol", Role::Audience).await;
    let (_, mut host_log) = record_host(&owner);
    let (_, mut bob_log) = record_guest(&bob);
    let (_, mut carol_log) = record_guest(&carol);
    let owner_state = owner.co_guest_state();
    wait_for(&owner_state.candidates, "two candidates", |c| {
        ids(c) == ["bob", "carol"]
    })
    .await;

    bob.apply_for_seat(-1, 30, None).await.unwrap();
    host_log.expect("application_received bob").await;
    owner.invite_to_seat("carol", -1, 10, None).await.unwrap();
    carol_log.expect("invitation_received from host_1").await;
    assert_eq!(ids(&owner_state.invitees.borrow()), ["carol"]);

    h.advance_secs(11);
    host_log
        .expect("invitation_no_response carol timeout")
        .await;
    wait_for(&owner_state.invitees, "invitation gone", |i| i.is_empty()).await;
    wait_for(&carol.co_guest_state().invitees, "carol's gone", |i| {
        i.is_empty()
    })
    .await;

    h.advance_secs(20);
    bob_log.expect("application_no_response timeout").await;
    wait_for(&owner_state.applicants, "application gone", |a| {
        a.is_empty()
    })
    .await;
    wait_for(&owner_state.candidates, "both candidates again", |c| {
        c.len() == 2
    })
    .await;

    settle(&[&owner_c, &bob_c]).await;
    assert!(host_log.drain().is_empty());
    assert!(bob_log.drain().is_empty());
    assert!(carol_log.drain().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hosts_race_to_accept_one_application() {
    let h = Harness::start().await;
    let (owner_c, owner) = h.member("host_1", Role::Owner).await;
    let (admin_c, admin) = h.member("admin_1", Role::Admin).await;
    let (bob_c, bob) = h.member("bob", Role::Audience).await;
    let (_, mut owner_log) = record_host(&owner);
    let (_, mut admin_log) = record_host(&admin);
    let (_, mut bob_log) = record_guest(&bob);

    bob.apply_for_seat(-1, 30, None).await.unwrap();
    owner_log.expect("application_received bob").await;
    admin_log.expect("application_received bob").await;

    let (a, b) = tokio::join!(
        owner.accept_application("bob"),
        admin.accept_application("bob")
    );
    let (winner, loser_log) = match (&a, &b) {
        (Ok(()), Err(e)) => {
            assert_eq!(e.code(), -2311, "{e}");
            ("host_1", &mut admin_log)
        }
        (Err(e), Ok(())) => {
            assert_eq!(e.code(), -2311, "{e}");
            ("admin_1", &mut owner_log)
        }
        other => panic!("exactly one accept must win: {other:?}"),
    };
    loser_log
        .expect(&format!("processed_by_other_host bob by {winner}"))
        .await;
    bob_log
        .expect(&format!("application_responded true by {winner}"))
        .await;
    wait_for(&admin.co_guest_state().connected, "bob seated", |c| {
        c.iter().any(|s| s.user_id == "bob")
    })
    .await;

    settle(&[&owner_c, &admin_c, &bob_c]).await;
    assert!(owner_log.drain().is_empty());
    assert!(admin_log.drain().is_empty());
    assert!(bob_log.drain().is_empty());
}

#[tokio::test]
async fn callbacks_stop_after_remove_listener() {
    let h = Harness::start().await;
    let (owner_c, owner) = h.member("host_1", Role::Owner).await;
    let (bob_c, bob) = h.member("bob", Role::Audience).await;
    let (host_rec, mut host_log) = record_host(&owner);
    let (bob_rec, mut bob_log) = record_guest(&bob);

    bob.apply_for_seat(-1, 30, None).await.unwrap();
    host_log.expect("application_received bob").await;
    owner.reject_application("bob").await.unwrap();
    bob_log
        .expect("application_responded false by host_1")
        .await;

    let host_l: Arc<dyn HostListener> = host_rec;
    owner.remove_host_listener(&host_l);
    let bob_l: Arc<dyn GuestListener> = bob_rec;
    bob.remove_guest_listener(&bob_l);
    // The streams still see what the listeners no longer do.
    let mut host_events = owner.host_events();
    let mut bob_events = bob.guest_events();
    bob.apply_for_seat(-1, 30, None).await.unwrap();
    assert!(matches!(
        host_events.recv().await.unwrap(),
        HostEvent::GuestApplicationReceived { .. }
    ));
    owner.reject_application("bob").await.unwrap();
    assert!(matches!(
        bob_events.recv().await.unwrap(),
        GuestEvent::GuestApplicationResponded {
            is_accept: false,
            ..
        }
    ));
    settle(&[&owner_c, &bob_c]).await;
    assert!(host_log.drain().is_empty());
    assert!(bob_log.drain().is_empty());
}

#[tokio::test]
async fn one_store_per_room_and_dropping_it_leaves() {
    let h = Harness::start().await;
    let (owner_c, owner) = h.member("host_1", Role::Owner).await;
    let bob_c = h.client("bob", Role::Audience).await;
    let bob = CoGuestStore::create(&bob_c, ROOM).await.unwrap();
    let again = CoGuestStore::create(&bob_c, ROOM).await.unwrap();
    let (_, mut log) = record_guest(&bob);
    let owner_state = owner.co_guest_state();
    wait_for(&owner_state.candidates, "bob present", |c| {
        ids(c) == ["bob"]
    })
    .await;

    // `again` shares bob's listeners: an invitation reaches the recorder once.
    owner.invite_to_seat("bob", -1, 30, None).await.unwrap();
    log.expect("invitation_received from host_1").await;
    drop(bob);
    // Once everything already received has been dispatched: no second callback.
    settle(&[&owner_c, &bob_c]).await;
    assert!(log.drain().is_empty());
    // Still a member while a clone lives.
    owner.cancel_invitation("bob").await.unwrap();
    log.expect("invitation_cancelled by host_1").await;
    let mut events = again.guest_events();
    drop(again);
    // The last handle is gone: bob leaves, and the stream ends.
    wait_for(&owner_state.candidates, "bob gone", |c| c.is_empty()).await;
    assert_eq!(within("the stream's end", events.recv()).await, None);
    let err = owner.invite_to_seat("bob", -1, 30, None).await.unwrap_err();
    assert_eq!(err.code(), -2201, "{err}");
}

#[tokio::test]
async fn refused_tokens_and_bad_urls() {
    let h = Harness::start().await;
    let err = Client::connect(&h.url(), "not-a-token").await.unwrap_err();
    assert_eq!(err.code(), -3010, "{err}");
    let expired = h.token_with("bob", Role::Audience, 10, |c| c.exp = T0 / 1000 - 1);
    let err = Client::connect(&h.url(), &expired).await.unwrap_err();
    assert_eq!(err.code(), -3011, "{err}");
    let err = Client::connect("http://127.0.0.1:1", "t")
        .await
        .unwrap_err();
    assert_eq!(err.code(), CoGuestError::INVALID_URL);
    let err = Client::connect("ws://127.0.0.1:1", "t").await.unwrap_err();
    assert_eq!(err.code(), CoGuestError::CONNECT_FAILED);
    // A cluster list: the dead first address is skipped.
    let token = h.token("bob", Role::Audience);
    let c = Client::connect_any(&["ws://127.0.0.1:1", &h.url()], &token)
        .await
        .unwrap();
    c.ping().await.unwrap();
    c.close();
    let err = c.ping().await.unwrap_err();
    assert_eq!(err.code(), CoGuestError::CLOSED);
}

/// The server restarts (same data directory). A host's call made while it is down is sent
/// once it is back; the guest, reconnecting later, gets what it missed exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_across_restart_keeps_state_and_loses_no_event() {
    let mut h = Harness::start().await;
    let (owner_c, owner) = h.member("host_1", Role::Owner).await;
    // Bob reconnects slowly (backoff about 1 s), so the owner acts while bob is away.
    let (bob_c, bob) = h
        .member_with("bob", Role::Audience, |b| {
            b.reconnect_backoff(Duration::from_millis(1500), Duration::from_millis(6000))
        })
        .await;
    let (_, mut host_log) = record_host(&owner);
    let (_, mut bob_log) = record_guest(&bob);
    let mut bob_events = bob.guest_events();

    bob.apply_for_seat(-1, 300, None).await.unwrap();
    host_log.expect("application_received bob").await;

    h.stop().await;
    wait_reconnecting(&owner_c, "owner reconnecting").await;
    // Made while the server is down: queued, sent after the reconnect.
    let owner2 = owner.clone();
    let accept = tokio::spawn(async move { owner2.accept_application("bob").await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    h.start_again().await;
    accept.await.unwrap().unwrap();
    wait_for(
        &owner.co_guest_state().connected,
        "bob seated (owner)",
        |c| c.len() == 2,
    )
    .await;

    // Bob comes back and catches up.
    bob_log.expect("application_responded true by host_1").await;
    wait_for(&bob.co_guest_state().connected, "bob seated (bob)", |c| {
        c.len() == 2
    })
    .await;
    assert!(matches!(
        bob_events.recv().await.unwrap(),
        GuestEvent::GuestApplicationResponded {
            is_accept: true,
            ..
        }
    ));
    assert_eq!(*bob_c.status().borrow(), ConnectionStatus::Connected);

    // Life goes on after the resume, and nothing was delivered twice.
    bob.disconnect().await.unwrap();
    wait_for(&owner.co_guest_state().connected, "bob off", |c| {
        c.len() == 1
    })
    .await;
    settle(&[&owner_c, &bob_c]).await;
    assert!(host_log.drain().is_empty());
    assert!(bob_log.drain().is_empty());
    assert!(bob_events.try_recv().is_none());
}

#[test]
fn works_on_a_current_thread_runtime_too() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let h = Harness::start().await;
        let (_o, owner) = h.member("host_1", Role::Owner).await;
        let (_b, bob) = h.member("bob", Role::Audience).await;
        let mut events = bob.guest_events();
        let mut host_events = owner.host_events();
        // An invitation that times out on the server clock...
        owner.invite_to_seat("bob", -1, 10, None).await.unwrap();
        assert!(matches!(
            events.recv().await.unwrap(),
            GuestEvent::HostInvitationReceived { .. }
        ));
        h.advance_secs(11);
        match within("the invitation's timeout", host_events.recv()).await {
            Some(HostEvent::HostInvitationNoResponse { guest_user, reason }) => {
                assert_eq!(guest_user.user_id, "bob");
                assert_eq!(reason, NoResponseReason::Timeout);
            }
            other => panic!("expected a timed-out invitation, got {other:?}"),
        }
        // ...and one that is accepted.
        owner.invite_to_seat("bob", -1, 30, None).await.unwrap();
        assert!(matches!(
            events.recv().await.unwrap(),
            GuestEvent::HostInvitationReceived { .. }
        ));
        bob.accept_invitation("host_1").await.unwrap();
        assert!(matches!(
            host_events.recv().await.unwrap(),
            HostEvent::HostInvitationResponded {
                is_accept: true,
                ..
            }
        ));
        wait_for(&owner.co_guest_state().connected, "bob seated", |c| {
            c.len() == 2
        })
        .await;
    });
}

/// The answer to a call is lost with the connection: the SDK re-sends the call with the same
/// request id after reconnecting, the server answers it again without applying it twice, and
/// the outputs lost with the connection are replayed exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_whose_answer_is_lost_is_retried_with_the_same_id() {
    let h = Harness::start().await;
    h.create_room(ROOM).await;
    let proxy = Proxy::start(h.addr).await;
    let (bob_c, bob) = h.member("bob", Role::Audience).await;
    let (_, mut bob_log) = record_guest(&bob);
    let (owner_c, owner) = h.member_via(&proxy, "host_1", Role::Owner, |b| b).await;
    let (_, mut host_log) = record_host(&owner);

    bob.apply_for_seat(-1, 300, None).await.unwrap();
    host_log.expect("application_received bob").await;

    // The accept reaches the server and is applied; its answer never comes back.
    proxy.swallow_answers(true);
    let owner2 = owner.clone();
    let accept = tokio::spawn(async move { owner2.accept_application("bob").await });
    bob_log.expect("application_responded true by host_1").await;
    // Meanwhile bob cancels nothing and leaves the seat: an event for the owner, also lost.
    bob.disconnect().await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!accept.is_finished());
    proxy.swallow_answers(false);
    proxy.cut();

    // Re-sent with the same id: the first answer (success), not `REQUEST_ID_INVALID`.
    accept.await.unwrap().unwrap();
    let state = owner.co_guest_state();
    wait_for(&state.connected, "owner alone on seat", |c| c.len() == 1).await;
    assert!(state.applicants.borrow().is_empty());
    wait_for(&state.candidates, "bob a candidate again", |c| {
        ids(c) == ["bob"]
    })
    .await;
    settle(&[&owner_c, &bob_c]).await;
    assert!(host_log.drain().is_empty());
    assert!(bob_log.drain().is_empty());
}

/// A token that expires while connected: the server refuses the next command and closes
/// with 4001; the client reports the server's code and stops reconnecting.
#[tokio::test]
async fn expired_token_stops_the_client() {
    let h = Harness::start().await;
    h.create_room(ROOM).await;
    let token = h.token_with("bob", Role::Audience, 60, |_| {});
    let bob_c = Client::connect(&h.url(), &token).await.unwrap();
    let bob = join(&bob_c).await;
    h.advance_secs(120);
    let err = bob.apply_for_seat(-1, 30, None).await.unwrap_err();
    assert_eq!(err.code(), -3011, "{err}");
    wait_for(
        &bob_c.status(),
        "closed",
        |s| matches!(s, ConnectionStatus::Closed { error: Some(e) } if e.code() == -3011),
    )
    .await;
    let err = bob.cancel_application().await.unwrap_err();
    assert_eq!(err.code(), -3011, "{err}");
}

/// A token renewed before it expires: the connection outlives the old token, a reconnect
/// after that presents the new one, and a token for another user is refused without
/// changing anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_token_keeps_the_connection_and_reconnects_with_the_new_token() {
    let h = Harness::start().await;
    h.create_room(ROOM).await;
    let proxy = Proxy::start(h.addr).await;
    let old = h.token_with("bob", Role::Audience, 60, |_| {});
    let bob_c = Client::builder(&old)
        .url(&proxy.url())
        .reconnect_backoff(Duration::from_millis(20), Duration::from_millis(80))
        .connect()
        .await
        .unwrap();
    let bob = join(&bob_c).await;

    let carol = h.token_with("carol", Role::Audience, 3600, |_| {});
    let err = bob_c.update_token(&carol).await.unwrap_err();
    assert_eq!(err.code(), -3014, "{err}");
    let err = bob_c.update_token("not.a.jwt").await.unwrap_err();
    assert_eq!(err.code(), -3010, "{err}");
    bob_c.ping().await.unwrap();

    bob_c
        .update_token(&h.token_with("bob", Role::Audience, 3600, |_| {}))
        .await
        .unwrap();
    h.advance_secs(120);
    bob.apply_for_seat(-1, 30, None).await.unwrap();

    // The old token has expired: only the new one gets back in.
    proxy.cut();
    wait_reconnecting(&bob_c, "cut").await;
    wait_connected(&bob_c, "reconnected with the new token").await;
    bob.cancel_application().await.unwrap();
}

/// Away for longer than the server's resume history: the server sends a fresh snapshot, the
/// lists are replaced, and no callback fires twice (nor for what happened meanwhile).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_beyond_the_history_falls_back_to_a_snapshot() {
    let h = Harness::start_with(|c| c.resume_ring = 4).await;
    let proxy = Proxy::start(h.addr).await;
    let (owner_c, owner) = h.member("host_1", Role::Owner).await;
    let (_carol_c, carol) = h.member("carol", Role::Audience).await;
    let (bob_c, bob) = h.member_via(&proxy, "bob", Role::Audience, |b| b).await;
    let (_, mut bob_log) = record_guest(&bob);
    owner.invite_to_seat("bob", -1, 300, None).await.unwrap();
    bob_log.expect("invitation_received from host_1").await;

    // Bob hears nothing while the room moves on well past the resume history.
    proxy.swallow_answers(true);
    owner.cancel_invitation("bob").await.unwrap();
    for _ in 0..4 {
        carol.apply_for_seat(-1, 300, None).await.unwrap();
        carol.cancel_application().await.unwrap();
    }
    owner.invite_to_seat("carol", -1, 300, None).await.unwrap();
    carol.accept_invitation("host_1").await.unwrap();
    proxy.swallow_answers(false);
    proxy.cut();

    let state = bob.co_guest_state();
    wait_for(&state.connected, "carol seated (bob's view)", |c| {
        c.iter().any(|s| s.user_id == "carol")
    })
    .await;
    wait_for(&state.invitees, "bob's invitation gone", |i| i.is_empty()).await;
    settle(&[&owner_c, &bob_c]).await;
    assert!(bob_log.drain().is_empty());

    // And the store keeps working from the snapshot's version on.
    owner.invite_to_seat("bob", -1, 300, None).await.unwrap();
    bob_log.expect("invitation_received from host_1").await;
    assert_eq!(ids(&state.invitees.borrow()), ["bob"]);
}

/// A room closed by the admin API: the store's lists empty, its streams end, its calls fail
/// with `ROOM_CLOSED`, and `create` joins a new room of the same name with a fresh store.
#[tokio::test]
async fn a_room_closed_by_the_backend_ends_the_store() {
    let h = Harness::start().await;
    let (_owner_c, owner) = h.member("host_1", Role::Owner).await;
    let (bob_c, bob) = h.member("bob", Role::Audience).await;
    let mut host_events = owner.host_events();
    bob.apply_for_seat(-1, 300, None).await.unwrap();
    let state = owner.co_guest_state();
    let first = within("the application", host_events.recv()).await;
    assert!(
        matches!(first, Some(HostEvent::GuestApplicationReceived { .. })),
        "{first:?}"
    );
    assert_eq!(ids(&state.applicants.borrow()), ["bob"]);

    assert_eq!(h.close_room(ROOM).await, 204);

    let ended = within("the stream's end", host_events.recv()).await;
    assert!(ended.is_none(), "the stream ends, got {ended:?}");
    wait_for(&state.connected, "connected emptied", Vec::is_empty).await;
    assert!(state.applicants.borrow().is_empty());
    assert!(owner.is_closed());
    wait_for(
        &bob.co_guest_state().connected,
        "bob's view emptied",
        Vec::is_empty,
    )
    .await;
    assert!(bob.is_closed());
    let err = bob.cancel_application().await.unwrap_err();
    assert_eq!(err.code(), CoGuestError::ROOM_CLOSED, "{err}");

    // A new room of the same name: a fresh store, not the dead one.
    h.create_room(ROOM).await;
    let again = CoGuestStore::create(&bob_c, ROOM).await.unwrap();
    assert!(!again.is_closed());
    again.apply_for_seat(-1, 300, None).await.unwrap();
    assert!(bob.is_closed(), "the old handle stays closed");
}

/// A store dropped while disconnected queues a `leave`; a store of the same room created
/// before the reconnect queues a `join`. They reach the server in that order: the old
/// membership ends (its application closes), then the new store is in the room and stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leave_queued_while_disconnected_goes_before_the_new_stores_join() {
    let h = Harness::start().await;
    let proxy = Proxy::start(h.addr).await;
    let (owner_c, owner) = h.member("host_1", Role::Owner).await;
    let (_, mut host_log) = record_host(&owner);
    // A long backoff: the reconnect comes at least 500 ms after the cut.
    let (bob_c, bob) = h
        .member_via(&proxy, "bob", Role::Audience, |b| {
            b.reconnect_backoff(Duration::from_millis(1000), Duration::from_millis(1000))
        })
        .await;
    bob.apply_for_seat(-1, 300, None).await.unwrap();
    host_log.expect("application_received bob").await;

    proxy.cut();
    wait_reconnecting(&bob_c, "bob reconnecting").await;
    // While disconnected: the store goes (a `leave` is queued), a new one is created (its
    // `join` waits for the connection).
    drop(bob);
    let again = CoGuestStore::create(&bob_c, ROOM).await.unwrap();
    assert_eq!(*bob_c.status().borrow(), ConnectionStatus::Connected);

    // The old membership left first: its application was withdrawn...
    host_log.expect("application_cancelled bob").await;
    assert!(again.co_guest_state().applicants.borrow().is_empty());
    // ...and the new store is a member (not taken out by the old store's `leave`).
    again.apply_for_seat(-1, 300, None).await.unwrap();
    host_log.expect("application_received bob").await;
    assert_eq!(ids(&again.co_guest_state().applicants.borrow()), ["bob"]);
    settle(&[&owner_c, &bob_c]).await;
    assert_eq!(ids(&owner.co_guest_state().applicants.borrow()), ["bob"]);
    assert!(host_log.drain().is_empty());
}

/// A call made while the client cannot connect, whose deadline passes first: `TIMEOUT`. It
/// was never written, and the SDK drops it: it is not sent after the reconnect either, so
/// nothing changed and calling again is safe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_never_sent_before_its_deadline_fails_with_timeout_and_is_not_applied() {
    let h = Harness::start().await;
    let proxy = Proxy::start(h.addr).await;
    let (owner_c, owner) = h.member("host_1", Role::Owner).await;
    let (_, mut host_log) = record_host(&owner);
    let (bob_c, bob) = h
        .member_via(&proxy, "bob", Role::Audience, |b| {
            b.request_timeout(Duration::from_millis(300))
                .connect_timeout(Duration::from_millis(100))
        })
        .await;

    // Every reconnect attempt now dies before `welcome`: the client stays disconnected.
    proxy.swallow_answers(true);
    proxy.cut();
    wait_reconnecting(&bob_c, "bob reconnecting").await;
    let err = bob.apply_for_seat(-1, 300, None).await.unwrap_err();
    assert_eq!(err.code(), CoGuestError::TIMEOUT, "{err}");

    proxy.swallow_answers(false);
    wait_connected(&bob_c, "bob connected").await;
    // Not applied, and not re-sent after the reconnect: there is no application to cancel
    // (this command goes to the room after anything the reconnect re-sent).
    let err = bob.cancel_application().await.unwrap_err();
    assert_eq!(err.code(), -2311, "{err}");
    settle(&[&owner_c, &bob_c]).await;
    assert!(host_log.drain().is_empty());
    assert!(owner.co_guest_state().applicants.borrow().is_empty());
    // Calling again works.
    bob.apply_for_seat(-1, 300, None).await.unwrap();
    host_log.expect("application_received bob").await;
}

/// A call written to the connection whose answer does not come back before its deadline:
/// `OUTCOME_UNKNOWN`. Here the server did apply it; the lists show it once reconnected, and
/// a repeat is refused with the server's precise code. A call whose answer is lost but
/// arrives, re-sent after a reconnect, before its deadline succeeds: it is never reported
/// failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_sent_but_unanswered_before_its_deadline_fails_with_outcome_unknown() {
    let h = Harness::start().await;
    let proxy = Proxy::start(h.addr).await;
    let (owner_c, owner) = h.member("host_1", Role::Owner).await;
    let (_, mut host_log) = record_host(&owner);
    // Long enough for a reconnect (phase 2), short for a test (phase 1 waits all of it).
    let (bob_c, bob) = h
        .member_via(&proxy, "bob", Role::Audience, |b| {
            b.request_timeout(Duration::from_millis(2000))
        })
        .await;
    let (_, mut bob_log) = record_guest(&bob);

    // Sent and applied, but the answer is swallowed and the connection stays up.
    proxy.swallow_answers(true);
    let err = bob.apply_for_seat(-1, 300, None).await.unwrap_err();
    assert_eq!(err.code(), CoGuestError::OUTCOME_UNKNOWN, "{err}");
    assert_eq!(*bob_c.status().borrow(), ConnectionStatus::Connected);
    host_log.expect("application_received bob").await;
    assert!(bob.co_guest_state().applicants.borrow().is_empty());

    // Once reconnected, the lists say what happened.
    proxy.swallow_answers(false);
    proxy.cut();
    wait_for(&bob.co_guest_state().applicants, "bob's application", |a| {
        ids(a) == ["bob"]
    })
    .await;
    let err = bob.apply_for_seat(-1, 300, None).await.unwrap_err();
    assert_eq!(err.code(), -2312, "{err}");

    // Answer lost, connection cut, re-sent with the same id and answered before the
    // deadline: the first answer (success), not a failure nor `REQUEST_ID_INVALID`.
    proxy.swallow_answers(true);
    let bob2 = bob.clone();
    let cancel = tokio::spawn(async move { bob2.cancel_application().await });
    host_log.expect("application_cancelled bob").await;
    proxy.swallow_answers(false);
    proxy.cut();
    cancel.await.unwrap().unwrap();
    wait_for(&bob.co_guest_state().applicants, "application gone", |a| {
        a.is_empty()
    })
    .await;
    settle(&[&owner_c, &bob_c]).await;
    assert!(host_log.drain().is_empty());
    assert!(bob_log.drain().is_empty());
}
