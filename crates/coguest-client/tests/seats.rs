//! The SDK's `LiveSeatStore` against the real server: the seat list as a watch receiver,
//! every seat command, seat listener callbacks and the seat event stream.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use coguest_client::{
    Device, LiveSeatStore, LiveUserInfo, MovePolicy, Role as SdkRole, SeatEvent, SeatInfo,
    SeatListener, SeatMode,
};
use coguest_core::Role;
use common::*;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Seen(Mutex<Vec<String>>);

impl SeatListener for Seen {
    fn on_kicked_off_seat(&self, seat_index: i32, host_user: &LiveUserInfo) {
        self.0
            .lock()
            .unwrap()
            .push(format!("kicked {seat_index} by {}", host_user.user_id));
    }
    fn on_moved_to_seat(&self, from: i32, to: i32, host: &LiveUserInfo) {
        self.0
            .lock()
            .unwrap()
            .push(format!("moved {from}->{to} by {}", host.user_id));
    }
}

fn occupied(seats: &[SeatInfo]) -> Vec<(i32, String)> {
    seats
        .iter()
        .filter_map(|s| s.user.as_ref().map(|u| (s.seat_index, u.user_id.clone())))
        .collect()
}

#[tokio::test]
async fn live_seat_store_lists_every_seat_and_runs_every_seat_command() {
    let h = Harness::start().await;
    let (_oc, owner) = h.member("host_1", Role::Owner).await;
    let (_bc, bob) = h.member("bob", Role::Audience).await;
    let (_cc, _carol_guest) = h.member("carol", Role::Audience).await;
    let (owner, bob, carol) = (
        owner.live_seat_store(),
        bob.live_seat_store(),
        LiveSeatStore::create(&_cc, ROOM).await.unwrap(),
    );
    let list = bob.seat_list();
    assert_eq!(list.borrow().len(), 9, "every seat, empty ones included");
    assert_eq!(*bob.seat_mode().borrow(), SeatMode::ApplyToTake);
    let err = bob.take_seat(1).await.unwrap_err();
    assert_eq!(err.code(), -3024);

    owner
        .change_settings(Some(SeatMode::FreeToTake), Some(5))
        .await
        .unwrap();
    wait_for(&list, "five seats", |s| s.len() == 5).await;
    wait_for(&bob.seat_mode(), "free to take", |m| {
        *m == SeatMode::FreeToTake
    })
    .await;

    let seen = Arc::new(Seen::default());
    bob.add_seat_listener(seen.clone());
    let mut bob_events = bob.seat_events();

    bob.take_seat(1).await.unwrap();
    carol.take_seat(-1).await.unwrap();
    wait_for(&list, "bob and carol seated", |s| {
        occupied(s) == [(0, "host_1".into()), (1, "bob".into()), (2, "carol".into())]
    })
    .await;

    bob.set_device(Device::Microphone, true).await.unwrap();
    wait_for(&list, "bob's mic on", |s| {
        s[1].user.as_ref().is_some_and(|u| u.microphone_on)
    })
    .await;
    let connected = bob.co_guest_store().co_guest_state().connected;
    wait_for(&connected, "mic in connected", |c| {
        c.iter().any(|u| u.user_id == "bob" && u.microphone_on)
    })
    .await;

    owner
        .move_user_to_seat("bob", 2, MovePolicy::Swap)
        .await
        .unwrap();
    assert_eq!(
        bob_events.recv().await.unwrap(),
        SeatEvent::MovedToSeat {
            from_seat_index: 1,
            to_seat_index: 2,
            host_user: LiveUserInfo {
                user_id: "host_1".into(),
                user_name: "host_1 name".into(),
                avatar_url: String::new(),
            }
        }
    );
    owner
        .set_user_device_permission("bob", Device::Microphone, false)
        .await
        .unwrap();
    match bob_events.recv().await.unwrap() {
        SeatEvent::DevicePermissionChanged {
            device: Device::Microphone,
            allowed: false,
            seat_index: None,
            ..
        } => {}
        other => panic!("unexpected {other:?}"),
    }
    wait_for(&list, "mic closed and disallowed", |s| {
        s[2].user_microphone_disallowed && s[2].user.as_ref().is_some_and(|u| !u.microphone_on)
    })
    .await;
    assert_eq!(
        bob.set_device(Device::Microphone, true)
            .await
            .unwrap_err()
            .code(),
        -3025
    );
    owner
        .set_seat_device_permission(3, Device::Camera, false)
        .await
        .unwrap();
    wait_for(&list, "seat 3 camera disallowed", |s| {
        s[3].seat_camera_disallowed && !s[3].device_allowed(Device::Camera)
    })
    .await;

    owner.lock_seat(4).await.unwrap();
    wait_for(&list, "seat 4 locked", |s| s[4].is_locked).await;
    owner.unlock_seat(4).await.unwrap();
    owner.kick_user_off_seat("bob").await.unwrap();
    assert!(matches!(
        bob_events.recv().await.unwrap(),
        SeatEvent::KickedOffSeat { seat_index: 2, .. }
    ));
    carol.leave_seat().await.unwrap();
    wait_for(&list, "only the owner", |s| {
        occupied(s) == [(0, "host_1".into())]
    })
    .await;

    // Admin grants reach the user as a seat event; its lists are replaced.
    owner.set_admin("bob", true).await.unwrap();
    match bob_events.recv().await.unwrap() {
        SeatEvent::RoleChanged {
            role: SdkRole::Admin,
            ..
        } => {}
        other => panic!("unexpected {other:?}"),
    }
    let seen = seen.0.lock().unwrap().clone();
    assert_eq!(seen, ["moved 1->2 by host_1", "kicked 2 by host_1"]);
}
