//! Seat management over real WebSockets: take/leave, every move policy, concurrent host
//! commands (first wins), devices and permissions, settings, admin grants.

use crate::common::*;
use coguest_core::Role;
use coguest_proto::{
    Change, ClientCommand as C, Device, ErrorCode, Event, MovePolicy, SeatMode, ServerMsg,
};

const ROOM: &str = "seats";

async fn free_room(s: &TestServer) -> (TestClient, TestClient, TestClient, TestClient) {
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let admin = s.member(ROOM, "admin", Role::Admin).await;
    let bob = s.member(ROOM, "bob", Role::Audience).await;
    let carol = s.member(ROOM, "carol", Role::Audience).await;
    let free = settings(Some(SeatMode::FreeToTake), Some(6));
    owner.call(ROOM, free).await.unwrap();
    (owner, admin, bob, carol)
}

#[tokio::test]
async fn take_leave_and_every_move_policy() {
    let s = TestServer::start().await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut bob = s.member(ROOM, "bob", Role::Audience).await;
    assert_eq!(
        bob.refused(ROOM, take(1)).await,
        ErrorCode::SeatModeApplyToTake
    );
    let free = settings(Some(SeatMode::FreeToTake), None);
    owner.call(ROOM, free).await.unwrap();
    bob.expect("settings", |m| {
        matches!(
            m,
            ServerMsg::Change {
                change: Change::Settings {
                    seat_mode: SeatMode::FreeToTake,
                    ..
                },
                ..
            }
        )
    })
    .await;
    let mut carol = s.member(ROOM, "carol", Role::Audience).await;
    bob.call(ROOM, take(1)).await.unwrap();
    carol.call(ROOM, take(-1)).await.unwrap();
    assert_eq!(
        owner.occupied().await,
        pairs(&[(0, "owner"), (1, "bob"), (2, "carol")])
    );

    // A guest may move itself to a free seat only.
    assert_eq!(
        bob.refused(ROOM, move_to("bob", 2, MovePolicy::AbortWhenOccupied))
            .await,
        ErrorCode::SeatOccupied
    );
    assert_eq!(
        bob.refused(ROOM, move_to("bob", 2, MovePolicy::Swap)).await,
        ErrorCode::NeedAdminPermission
    );
    bob.call(ROOM, move_to("bob", 3, MovePolicy::AbortWhenOccupied))
        .await
        .unwrap();
    assert_eq!(
        owner.occupied().await,
        pairs(&[(0, "owner"), (2, "carol"), (3, "bob")])
    );

    // Host: swap, then force-replace.
    owner
        .call(ROOM, move_to("bob", 2, MovePolicy::Swap))
        .await
        .unwrap();
    carol
        .event("moved", |e| {
            matches!(
                e,
                Event::MovedToSeat {
                    from_seat_index: 2,
                    to_seat_index: 3,
                    ..
                }
            )
        })
        .await;
    bob.event("moved", |e| {
        matches!(
            e,
            Event::MovedToSeat {
                to_seat_index: 2,
                ..
            }
        )
    })
    .await;
    owner
        .call(ROOM, move_to("carol", 2, MovePolicy::ForceReplace))
        .await
        .unwrap();
    bob.event("kicked", |e| {
        matches!(e, Event::KickedOffSeat { seat_index: 2, .. })
    })
    .await;
    assert_eq!(owner.occupied().await, pairs(&[(0, "owner"), (2, "carol")]));
    assert_eq!(
        owner
            .refused(ROOM, move_to("owner", 4, MovePolicy::AbortWhenOccupied))
            .await,
        ErrorCode::OwnerMustStayOnSeat
    );
    assert_eq!(
        owner
            .refused(ROOM, move_to("carol", 2, MovePolicy::AbortWhenOccupied))
            .await,
        ErrorCode::AlreadyOnTargetSeat
    );
    carol.call(ROOM, C::LeaveSeat).await.unwrap();
    assert_eq!(
        carol.refused(ROOM, C::LeaveSeat).await,
        ErrorCode::UserNotInSeat
    );
    assert_eq!(owner.occupied().await, pairs(&[(0, "owner")]));
}

#[tokio::test]
async fn concurrent_kicks_and_moves_from_two_hosts_first_wins() {
    let s = TestServer::start().await;
    let (mut owner, mut admin, mut bob, mut carol) = free_room(&s).await;
    bob.call(ROOM, take(1)).await.unwrap();
    carol.call(ROOM, take(2)).await.unwrap();

    // Both hosts move a different user onto seat 4.
    let a = owner
        .send(Some(ROOM), move_to("bob", 4, MovePolicy::AbortWhenOccupied))
        .await;
    let b = admin
        .send(
            Some(ROOM),
            move_to("carol", 4, MovePolicy::AbortWhenOccupied),
        )
        .await;
    let (ra, rb) = tokio::join!(owner.answer(a), admin.answer(b));
    let loser = match (&ra, &rb) {
        (Ok(_), Err(e)) | (Err(e), Ok(_)) => e.clone(),
        _ => panic!("exactly one move must win: {ra:?} {rb:?}"),
    };
    assert_eq!(loser.code, code(ErrorCode::SeatOccupied));

    // Both hosts kick bob.
    let a = owner.send(Some(ROOM), kick("bob")).await;
    let b = admin.send(Some(ROOM), kick("bob")).await;
    let (ra, rb) = tokio::join!(owner.answer(a), admin.answer(b));
    let loser = match (&ra, &rb) {
        (Ok(_), Err(e)) | (Err(e), Ok(_)) => e.clone(),
        _ => panic!("exactly one kick must win: {ra:?} {rb:?}"),
    };
    assert_eq!(loser.code, code(ErrorCode::UserNotInSeat));
    let kicks = bob.count_events(kicked).await;
    assert_eq!(kicks, 1, "bob hears one kick");
}

#[tokio::test]
async fn devices_permissions_settings_and_admin_grants() {
    let s = TestServer::start().await;
    let (mut owner, mut admin, mut bob, mut carol) = free_room(&s).await;
    bob.call(ROOM, take(1)).await.unwrap();
    bob.call(ROOM, set_device(Device::Microphone, true))
        .await
        .unwrap();
    let mic_off = user_device_permission("bob", Device::Microphone, false);
    admin.call(ROOM, mic_off).await.unwrap();
    bob.event("mic disallowed", |e| {
        matches!(
            e,
            Event::DevicePermissionChanged {
                device: Device::Microphone,
                allowed: false,
                seat_index: None,
                ..
            }
        )
    })
    .await;
    assert_eq!(
        bob.refused(ROOM, set_device(Device::Microphone, true))
            .await,
        ErrorCode::DeviceDisallowed
    );
    let camera_off = seat_device_permission(1, Device::Camera, false);
    owner.call(ROOM, camera_off).await.unwrap();
    bob.event("cam disallowed on seat", |e| {
        matches!(
            e,
            Event::DevicePermissionChanged {
                device: Device::Camera,
                seat_index: Some(1),
                ..
            }
        )
    })
    .await;
    carol.barrier().await;
    let seat1 = carol.buf.iter().rev().find_map(seats_change).unwrap()[1].clone();
    assert!(!seat1.devices_on.microphone && seat1.user_disallowed.microphone);
    assert!(seat1.seat_disallowed.camera);

    // Settings: shrinking below an occupied seat is refused until it is emptied.
    let shrink = || settings(None, Some(1));
    assert_eq!(
        owner.refused(ROOM, shrink()).await,
        ErrorCode::SeatCountBelowOccupied
    );
    assert_eq!(
        carol.refused(ROOM, shrink()).await,
        ErrorCode::NeedAdminPermission
    );
    owner.call(ROOM, kick("bob")).await.unwrap();
    owner.call(ROOM, shrink()).await.unwrap();
    carol.barrier().await;
    assert_eq!(
        carol.buf.iter().rev().find_map(seats_change).unwrap().len(),
        1
    );

    // Admin grants: only the owner; effective at once; a revoked admin's invitations close.
    assert_eq!(
        admin.refused(ROOM, set_admin("carol", true)).await,
        ErrorCode::NeedOwnerPermission
    );
    owner.call(ROOM, settings(None, Some(4))).await.unwrap();
    admin.call(ROOM, invite("bob", -1, 60)).await.unwrap();
    owner.call(ROOM, set_admin("admin", false)).await.unwrap();
    bob.event("invitation cancelled", |e| {
        matches!(e, Event::HostInvitationCancelled { .. })
    })
    .await;
    admin
        .event("role changed", |e| {
            matches!(
                e,
                Event::RoleChanged {
                    role: coguest_proto::Role::Audience,
                    ..
                }
            )
        })
        .await;
    admin.expect("reset", reset).await;
    assert_eq!(
        admin.refused(ROOM, invite("bob", -1, 60)).await,
        ErrorCode::NeedAdminPermission
    );
    owner.call(ROOM, set_admin("carol", true)).await.unwrap();
    carol.call(ROOM, invite("bob", -1, 60)).await.unwrap();
}

/// Two hosts race, one kicking bob and the other moving bob to seat 4, sent together from two
/// connections, many rounds with the roles and the order alternated. Commands apply
/// in arrival order: when the kick lands first it wins alone and the move gets
/// `USER_NOT_IN_SEAT`; when the move lands first the kick still finds bob (now on seat 4) and
/// both succeed, the move's version before the kick's. Either way bob ends unseated, hears
/// exactly one kick naming the seat it was on and the kicker, and a move only if the move won.
#[tokio::test]
async fn a_kick_racing_a_move_of_the_same_user_applies_in_arrival_order() {
    let s = TestServer::start().await;
    let (mut owner, mut admin, mut bob, mut carol) = free_room(&s).await;
    let (mut kick_first, mut move_first) = (0, 0);
    for round in 0..16 {
        bob.call(ROOM, take(1)).await.unwrap();
        for c in [&mut owner, &mut admin, &mut bob, &mut carol] {
            c.barrier().await;
            c.buf.clear();
        }
        let (kicker, mover) = if round % 2 == 0 {
            (&mut owner, &mut admin)
        } else {
            (&mut admin, &mut owner)
        };
        let kick = kick("bob");
        // Sent at once, each half of the rounds polling the other one first: the order the
        // room sees them in is up to the sockets and the scheduler.
        let mov = move_to("bob", 4, MovePolicy::AbortWhenOccupied);
        let (k, m) = if round % 4 < 2 {
            tokio::join!(kicker.send(Some(ROOM), kick), mover.send(Some(ROOM), mov))
        } else {
            let (m, k) = tokio::join!(mover.send(Some(ROOM), mov), kicker.send(Some(ROOM), kick));
            (k, m)
        };
        let kicker_name = kicker.user.clone();
        let (rk, rm) = tokio::join!(kicker.answer(k), mover.answer(m));
        let rk =
            rk.unwrap_or_else(|e| panic!("round {round}: the kick is always applicable: {e:?}"));
        let moved = match rm {
            Err(e) => {
                assert_eq!(
                    e.code,
                    code(ErrorCode::UserNotInSeat),
                    "round {round}: the move lost to the kick with {e:?}"
                );
                kick_first += 1;
                false
            }
            Ok(am) => {
                assert!(
                    am.version < rk.version,
                    "round {round}: both applied, so the move came first: {am:?} {rk:?}"
                );
                move_first += 1;
                true
            }
        };

        // One consistent state, whoever won.
        assert_eq!(
            occupants(&carol.snapshot(ROOM).await.seats),
            pairs(&[(0, "owner")]),
            "round {round}"
        );
        bob.barrier().await;
        let events = bob.drain_events();
        let kicks: Vec<(i32, String)> = events
            .iter()
            .filter_map(|e| match e {
                Event::KickedOffSeat {
                    seat_index,
                    host_user,
                } => Some((*seat_index, host_user.user_id.clone())),
                _ => None,
            })
            .collect();
        let from = if moved { 4 } else { 1 };
        assert_eq!(
            kicks,
            vec![(from, kicker_name)],
            "round {round}: {events:?}"
        );
        let moves = events
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    Event::MovedToSeat {
                        from_seat_index: 1,
                        to_seat_index: 4,
                        ..
                    }
                )
            })
            .count();
        assert_eq!(moves, usize::from(moved), "round {round}: {events:?}");
        let err = bob.call(ROOM, C::LeaveSeat).await.unwrap_err();
        assert_eq!(err.code, code(ErrorCode::UserNotInSeat), "round {round}");
    }
    assert_eq!(kick_first + move_first, 16);
}
