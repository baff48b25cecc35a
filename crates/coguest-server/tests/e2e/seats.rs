//! Seat management over real WebSockets: take/leave, every move policy, concurrent host
//! commands (first wins), devices and permissions, settings, admin grants.

use crate::common::*;
use coguest_core::Role;
use coguest_proto::{
    Change, ClientCommand as C, Device, ErrorCode, Event, MovePolicy, SeatInfo, SeatMode, ServerMsg,
};

const ROOM: &str = "seats";

fn seats_of(m: &ServerMsg) -> Option<Vec<SeatInfo>> {
    match m {
        ServerMsg::Change {
            change: Change::Seats { seats },
            ..
        } => Some(seats.clone()),
        _ => None,
    }
}

/// `(index, user)` of the occupied seats in the latest `seats` change buffered.
async fn occupied(c: &mut TestClient) -> Vec<(i32, String)> {
    c.barrier().await;
    let last = c
        .buf
        .iter()
        .rev()
        .find_map(seats_of)
        .expect("a seats change");
    last.iter()
        .filter_map(|s| s.user.as_ref().map(|u| (s.seat_index, u.user_id.clone())))
        .collect()
}

fn mv(user: &str, seat: i32, policy: MovePolicy) -> C {
    C::MoveToSeat {
        user_id: user.into(),
        seat_index: seat,
        policy,
    }
}

fn pairs(v: &[(i32, &str)]) -> Vec<(i32, String)> {
    v.iter().map(|(i, u)| (*i, (*u).to_owned())).collect()
}

async fn free_room(s: &TestServer) -> (TestClient, TestClient, TestClient, TestClient) {
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let admin = s.member(ROOM, "admin", Role::Admin).await;
    let bob = s.member(ROOM, "bob", Role::Audience).await;
    let carol = s.member(ROOM, "carol", Role::Audience).await;
    let settings = C::ChangeSettings {
        seat_mode: Some(SeatMode::FreeToTake),
        max_seat_count: Some(6),
    };
    owner.call(ROOM, settings).await.unwrap();
    (owner, admin, bob, carol)
}

#[tokio::test]
async fn take_leave_and_every_move_policy() {
    let s = TestServer::start().await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut bob = s.member(ROOM, "bob", Role::Audience).await;
    let err = bob
        .call(ROOM, C::TakeSeat { seat_index: 1 })
        .await
        .unwrap_err();
    assert_eq!(err.code, code(ErrorCode::SeatModeApplyToTake));
    let settings = C::ChangeSettings {
        seat_mode: Some(SeatMode::FreeToTake),
        max_seat_count: None,
    };
    owner.call(ROOM, settings).await.unwrap();
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
    bob.call(ROOM, C::TakeSeat { seat_index: 1 }).await.unwrap();
    carol
        .call(ROOM, C::TakeSeat { seat_index: -1 })
        .await
        .unwrap();
    assert_eq!(
        occupied(&mut owner).await,
        pairs(&[(0, "owner"), (1, "bob"), (2, "carol")])
    );

    // A guest may move itself to a free seat only.
    let err = bob
        .call(ROOM, mv("bob", 2, MovePolicy::AbortWhenOccupied))
        .await
        .unwrap_err();
    assert_eq!(err.code, code(ErrorCode::SeatOccupied));
    let err = bob
        .call(ROOM, mv("bob", 2, MovePolicy::Swap))
        .await
        .unwrap_err();
    assert_eq!(err.code, code(ErrorCode::NeedAdminPermission));
    bob.call(ROOM, mv("bob", 3, MovePolicy::AbortWhenOccupied))
        .await
        .unwrap();
    assert_eq!(
        occupied(&mut owner).await,
        pairs(&[(0, "owner"), (2, "carol"), (3, "bob")])
    );

    // Host: swap, then force-replace.
    owner
        .call(ROOM, mv("bob", 2, MovePolicy::Swap))
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
        .call(ROOM, mv("carol", 2, MovePolicy::ForceReplace))
        .await
        .unwrap();
    bob.event("kicked", |e| {
        matches!(e, Event::KickedOffSeat { seat_index: 2, .. })
    })
    .await;
    assert_eq!(
        occupied(&mut owner).await,
        pairs(&[(0, "owner"), (2, "carol")])
    );
    let err = owner
        .call(ROOM, mv("owner", 4, MovePolicy::AbortWhenOccupied))
        .await
        .unwrap_err();
    assert_eq!(err.code, code(ErrorCode::OwnerMustStayOnSeat));
    let err = owner
        .call(ROOM, mv("carol", 2, MovePolicy::AbortWhenOccupied))
        .await
        .unwrap_err();
    assert_eq!(err.code, code(ErrorCode::AlreadyOnTargetSeat));
    carol.call(ROOM, C::LeaveSeat).await.unwrap();
    let err = carol.call(ROOM, C::LeaveSeat).await.unwrap_err();
    assert_eq!(err.code, code(ErrorCode::UserNotInSeat));
    assert_eq!(occupied(&mut owner).await, pairs(&[(0, "owner")]));
}

#[tokio::test]
async fn concurrent_kicks_and_moves_from_two_hosts_first_wins() {
    let s = TestServer::start().await;
    let (mut owner, mut admin, mut bob, mut carol) = free_room(&s).await;
    bob.call(ROOM, C::TakeSeat { seat_index: 1 }).await.unwrap();
    carol
        .call(ROOM, C::TakeSeat { seat_index: 2 })
        .await
        .unwrap();

    // Both hosts move a different user onto seat 4.
    let a = owner
        .send(Some(ROOM), mv("bob", 4, MovePolicy::AbortWhenOccupied))
        .await;
    let b = admin
        .send(Some(ROOM), mv("carol", 4, MovePolicy::AbortWhenOccupied))
        .await;
    let (ra, rb) = tokio::join!(owner.answer(a), admin.answer(b));
    let loser = match (&ra, &rb) {
        (Ok(_), Err(e)) | (Err(e), Ok(_)) => e.clone(),
        _ => panic!("exactly one move must win: {ra:?} {rb:?}"),
    };
    assert_eq!(loser.code, code(ErrorCode::SeatOccupied));

    // Both hosts kick bob.
    let a = owner
        .send(
            Some(ROOM),
            C::KickOffSeat {
                user_id: "bob".into(),
            },
        )
        .await;
    let b = admin
        .send(
            Some(ROOM),
            C::KickOffSeat {
                user_id: "bob".into(),
            },
        )
        .await;
    let (ra, rb) = tokio::join!(owner.answer(a), admin.answer(b));
    let loser = match (&ra, &rb) {
        (Ok(_), Err(e)) | (Err(e), Ok(_)) => e.clone(),
        _ => panic!("exactly one kick must win: {ra:?} {rb:?}"),
    };
    assert_eq!(loser.code, code(ErrorCode::UserNotInSeat));
    bob.barrier().await;
    let kicks = bob
        .drain_events()
        .into_iter()
        .filter(|e| matches!(e, Event::KickedOffSeat { .. }))
        .count();
    assert_eq!(kicks, 1, "bob hears one kick");
}

#[tokio::test]
async fn devices_permissions_settings_and_admin_grants() {
    let s = TestServer::start().await;
    let (mut owner, mut admin, mut bob, mut carol) = free_room(&s).await;
    bob.call(ROOM, C::TakeSeat { seat_index: 1 }).await.unwrap();
    bob.call(
        ROOM,
        C::SetDevice {
            device: Device::Microphone,
            on: true,
        },
    )
    .await
    .unwrap();
    admin
        .call(
            ROOM,
            C::SetUserDevicePermission {
                user_id: "bob".into(),
                device: Device::Microphone,
                allowed: false,
            },
        )
        .await
        .unwrap();
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
    let err = bob
        .call(
            ROOM,
            C::SetDevice {
                device: Device::Microphone,
                on: true,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, code(ErrorCode::DeviceDisallowed));
    owner
        .call(
            ROOM,
            C::SetSeatDevicePermission {
                seat_index: 1,
                device: Device::Camera,
                allowed: false,
            },
        )
        .await
        .unwrap();
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
    let seat1 = carol.buf.iter().rev().find_map(seats_of).unwrap()[1].clone();
    assert!(!seat1.devices_on.microphone && seat1.user_disallowed.microphone);
    assert!(seat1.seat_disallowed.camera);

    // Settings: shrinking below an occupied seat is refused until it is emptied.
    let shrink = || C::ChangeSettings {
        seat_mode: None,
        max_seat_count: Some(1),
    };
    let err = owner.call(ROOM, shrink()).await.unwrap_err();
    assert_eq!(err.code, code(ErrorCode::SeatCountBelowOccupied));
    let err = carol.call(ROOM, shrink()).await.unwrap_err();
    assert_eq!(err.code, code(ErrorCode::NeedAdminPermission));
    owner
        .call(
            ROOM,
            C::KickOffSeat {
                user_id: "bob".into(),
            },
        )
        .await
        .unwrap();
    owner.call(ROOM, shrink()).await.unwrap();
    carol.barrier().await;
    assert_eq!(carol.buf.iter().rev().find_map(seats_of).unwrap().len(), 1);

    // Admin grants: only the owner; effective at once; a revoked admin's invitations close.
    let err = admin
        .call(
            ROOM,
            C::SetAdmin {
                user_id: "carol".into(),
                admin: true,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, code(ErrorCode::NeedOwnerPermission));
    owner
        .call(
            ROOM,
            C::ChangeSettings {
                seat_mode: None,
                max_seat_count: Some(4),
            },
        )
        .await
        .unwrap();
    admin.call(ROOM, invite("bob", -1, 60)).await.unwrap();
    owner
        .call(
            ROOM,
            C::SetAdmin {
                user_id: "admin".into(),
                admin: false,
            },
        )
        .await
        .unwrap();
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
    admin
        .expect("reset", |m| {
            matches!(
                m,
                ServerMsg::Change {
                    change: Change::Reset { .. },
                    ..
                }
            )
        })
        .await;
    let err = admin.call(ROOM, invite("bob", -1, 60)).await.unwrap_err();
    assert_eq!(err.code, code(ErrorCode::NeedAdminPermission));
    owner
        .call(
            ROOM,
            C::SetAdmin {
                user_id: "carol".into(),
                admin: true,
            },
        )
        .await
        .unwrap();
    carol.call(ROOM, invite("bob", -1, 60)).await.unwrap();
}
