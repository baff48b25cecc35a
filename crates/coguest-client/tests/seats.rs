//! The SDK's `LiveSeatStore` against the real server: the seat list as a watch receiver,
//! every seat command, seat listener callbacks and the seat event stream.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use coguest_client::{
    CoGuestState, Device, LiveSeatStore, LiveUserInfo, MovePolicy, Role as SdkRole, SeatEvent,
    SeatInfo, SeatListener, SeatMode,
};
use coguest_core::Role;
use common::*;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

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
    wait_seat_mode(&bob, SeatMode::FreeToTake, "free to take").await;

    let (_, mut seen) = record_seat(&bob);
    let mut bob_events = bob.seat_events();

    bob.take_seat(1).await.unwrap();
    carol.take_seat(-1).await.unwrap();
    wait_occupied(
        &list,
        "bob and carol seated",
        &[(0, "host_1"), (1, "bob"), (2, "carol")],
    )
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
            host_user: user("host_1"),
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
    wait_occupied(&list, "only the owner", &[(0, "host_1")]).await;

    // Admin grants reach the user as a seat event; its lists are replaced.
    owner.set_admin("bob", true).await.unwrap();
    match bob_events.recv().await.unwrap() {
        SeatEvent::RoleChanged {
            role: SdkRole::Admin,
            ..
        } => {}
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(seen.drain(), ["moved 1->2 by host_1", "kicked 2 by host_1"]);
}

/// A room with five free-to-take seats, bob on seat 1 and carol on seat 2.
async fn bob_and_carol_seated(
    h: &Harness,
) -> (
    [coguest_client::Client; 3],
    LiveSeatStore,
    LiveSeatStore,
    LiveSeatStore,
) {
    let (oc, owner) = h.member("host_1", Role::Owner).await;
    let (bc, bob) = h.member("bob", Role::Audience).await;
    let (cc, carol) = h.member("carol", Role::Audience).await;
    let (owner, bob, carol) = (
        owner.live_seat_store(),
        bob.live_seat_store(),
        carol.live_seat_store(),
    );
    owner
        .change_settings(Some(SeatMode::FreeToTake), Some(5))
        .await
        .unwrap();
    wait_seat_mode(&bob, SeatMode::FreeToTake, "free to take (bob)").await;
    wait_seat_mode(&carol, SeatMode::FreeToTake, "free to take (carol)").await;
    bob.take_seat(1).await.unwrap();
    carol.take_seat(2).await.unwrap();
    for s in [&owner, &bob, &carol] {
        wait_occupied(
            &s.seat_list(),
            "bob and carol seated",
            &[(0, "host_1"), (1, "bob"), (2, "carol")],
        )
        .await;
    }
    ([oc, bc, cc], owner, bob, carol)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn move_user_to_seat_force_replace_and_abort_when_occupied() {
    let h = Harness::start().await;
    let (clients, owner, bob, carol) = bob_and_carol_seated(&h).await;
    let list = owner.seat_list();
    let (_, mut bob_seen) = record_seat(&bob);
    let (_, mut carol_seen) = record_seat(&carol);
    let mut bob_events = bob.seat_events();
    let mut carol_events = carol.seat_events();

    // AbortWhenOccupied onto an occupied seat: refused, nothing moves.
    let err = owner
        .move_user_to_seat("bob", 2, MovePolicy::AbortWhenOccupied)
        .await
        .unwrap_err();
    assert_eq!(err.code(), -2342, "{err}");
    assert_eq!(
        occupied(&list.borrow()),
        [(0, "host_1".into()), (1, "bob".into()), (2, "carol".into())]
    );

    // ForceReplace onto carol's seat: carol is kicked off it, bob moves there.
    owner
        .move_user_to_seat("bob", 2, MovePolicy::ForceReplace)
        .await
        .unwrap();
    assert_eq!(
        carol_events.recv().await.unwrap(),
        SeatEvent::KickedOffSeat {
            seat_index: 2,
            host_user: user("host_1"),
        }
    );
    assert_eq!(
        bob_events.recv().await.unwrap(),
        SeatEvent::MovedToSeat {
            from_seat_index: 1,
            to_seat_index: 2,
            host_user: user("host_1"),
        }
    );
    // Bob's list was updated before its event was delivered.
    assert_eq!(
        occupied(&bob.seat_list().borrow()),
        [(0, "host_1".into()), (2, "bob".into())]
    );
    wait_occupied(
        &list,
        "bob on 2, carol off (owner)",
        &[(0, "host_1"), (2, "bob")],
    )
    .await;

    // AbortWhenOccupied onto a free seat: moves.
    owner
        .move_user_to_seat("bob", 3, MovePolicy::AbortWhenOccupied)
        .await
        .unwrap();
    assert_eq!(
        bob_events.recv().await.unwrap(),
        SeatEvent::MovedToSeat {
            from_seat_index: 2,
            to_seat_index: 3,
            host_user: user("host_1"),
        }
    );
    assert_eq!(
        occupied(&bob.seat_list().borrow()),
        [(0, "host_1".into()), (3, "bob".into())]
    );

    // A seated user may move itself to a free seat (no event: it did it), only with
    // AbortWhenOccupied.
    carol.take_seat(1).await.unwrap();
    bob.move_user_to_seat("bob", 4, MovePolicy::AbortWhenOccupied)
        .await
        .unwrap();
    wait_occupied(
        &list,
        "bob moved himself to 4",
        &[(0, "host_1"), (1, "carol"), (4, "bob")],
    )
    .await;
    let err = bob
        .move_user_to_seat("bob", 1, MovePolicy::AbortWhenOccupied)
        .await
        .unwrap_err();
    assert_eq!(err.code(), -2342, "{err}");
    let err = bob
        .move_user_to_seat("bob", 1, MovePolicy::ForceReplace)
        .await
        .unwrap_err();
    assert_eq!(err.code(), -2301, "{err}");
    let err = owner
        .move_user_to_seat("bob", 4, MovePolicy::ForceReplace)
        .await
        .unwrap_err();
    assert_eq!(err.code(), -3027, "{err}");
    assert_eq!(
        occupied(&list.borrow()),
        [(0, "host_1".into()), (1, "carol".into()), (4, "bob".into())]
    );

    let [oc, bc, cc] = &clients;
    settle(&[oc, bc, cc]).await;
    assert_eq!(bob_events.try_recv(), None);
    assert_eq!(carol_events.try_recv(), None);
    assert_eq!(
        bob_seen.drain(),
        ["moved 1->2 by host_1", "moved 2->3 by host_1"]
    );
    assert_eq!(carol_seen.drain(), ["kicked 2 by host_1"]);
}

/// Records device-permission and role callbacks with what the lists held when each ran.
struct Watching {
    seats: watch::Receiver<Vec<SeatInfo>>,
    state: CoGuestState,
    tx: mpsc::UnboundedSender<String>,
}

impl Watching {
    fn new(store: &LiveSeatStore) -> (Arc<Self>, mpsc::UnboundedReceiver<String>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let w = Watching {
            seats: store.seat_list(),
            state: store.co_guest_store().co_guest_state(),
            tx,
        };
        (Arc::new(w), rx)
    }
}

/// Waits for the next callback line. Each command below waits for its callback first: a
/// callback runs on the dispatch task and sees lists *at least* as new as its change, so a
/// later command's change could otherwise show too.
async fn next_line(rx: &mut mpsc::UnboundedReceiver<String>) -> String {
    within("a callback", rx.recv())
        .await
        .expect("listener gone")
}

/// Seat 1 as one line: occupant, its microphone, and the disallow flags.
fn seat_1(seats: &[SeatInfo]) -> String {
    let s = &seats[1];
    format!(
        "seat 1: {} mic_on={} user_mic_off={} seat_cam_off={}",
        s.user.as_ref().map_or("-", |u| u.user_id.as_str()),
        s.user.as_ref().is_some_and(|u| u.microphone_on),
        s.user_microphone_disallowed,
        s.seat_camera_disallowed,
    )
}

/// Bob's role in `connected` and the candidates he sees.
fn role_view(state: &CoGuestState) -> String {
    let bob = state
        .connected
        .borrow()
        .iter()
        .find(|u| u.user_id == "bob")
        .map(|u| u.role);
    format!(
        "connected role {bob:?}, candidates {:?}",
        ids(&state.candidates.borrow())
    )
}

impl SeatListener for Watching {
    fn on_device_permission_changed(
        &self,
        device: Device,
        allowed: bool,
        seat_index: Option<i32>,
        host_user: &LiveUserInfo,
    ) {
        let line = format!(
            "{device:?} allowed={allowed} seat={seat_index:?} by {} | {}",
            host_user.user_id,
            seat_1(&self.seats.borrow())
        );
        let _ = self.tx.send(line);
    }
    fn on_role_changed(&self, role: SdkRole, by_user: &LiveUserInfo) {
        let line = format!(
            "role {role:?} by {} | {}",
            by_user.user_id,
            role_view(&self.state)
        );
        let _ = self.tx.send(line);
    }
}

/// `on_device_permission_changed` and `on_role_changed`, as callbacks and as stream events:
/// when each runs, the lists already show the change of the same server version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_permission_and_role_callbacks_see_the_updated_lists() {
    let h = Harness::start().await;
    let (clients, owner, bob, carol) = bob_and_carol_seated(&h).await;
    // Carol stands up: a candidate only hosts see.
    carol.leave_seat().await.unwrap();
    bob.set_device(Device::Microphone, true).await.unwrap();
    let list = bob.seat_list();
    wait_for(&list, "bob's mic on, carol off", |s| {
        occupied(s) == [(0, "host_1".into()), (1, "bob".into())]
            && s[1].user.as_ref().is_some_and(|u| u.microphone_on)
    })
    .await;
    let state = bob.co_guest_store().co_guest_state();
    assert_eq!(
        role_view(&state),
        "connected role Some(GeneralUser), candidates []"
    );
    let (watching, mut lines) = Watching::new(&bob);
    bob.add_seat_listener(watching);
    let mut events = bob.seat_events();

    // The stream event arrives with the list already updated (checked without waiting).
    owner
        .set_user_device_permission("bob", Device::Microphone, false)
        .await
        .unwrap();
    assert_eq!(
        events.recv().await.unwrap(),
        SeatEvent::DevicePermissionChanged {
            device: Device::Microphone,
            allowed: false,
            seat_index: None,
            host_user: user("host_1"),
        }
    );
    assert_eq!(
        seat_1(&list.borrow()),
        "seat 1: bob mic_on=false user_mic_off=true seat_cam_off=false"
    );
    assert_eq!(
        next_line(&mut lines).await,
        "Microphone allowed=false seat=None by host_1 | \
         seat 1: bob mic_on=false user_mic_off=true seat_cam_off=false"
    );

    owner
        .set_seat_device_permission(1, Device::Camera, false)
        .await
        .unwrap();
    assert_eq!(
        events.recv().await.unwrap(),
        SeatEvent::DevicePermissionChanged {
            device: Device::Camera,
            allowed: false,
            seat_index: Some(1),
            host_user: user("host_1"),
        }
    );
    assert_eq!(
        seat_1(&list.borrow()),
        "seat 1: bob mic_on=false user_mic_off=true seat_cam_off=true"
    );
    assert_eq!(
        next_line(&mut lines).await,
        "Camera allowed=false seat=Some(1) by host_1 | \
         seat 1: bob mic_on=false user_mic_off=true seat_cam_off=true"
    );

    owner
        .set_user_device_permission("bob", Device::Microphone, true)
        .await
        .unwrap();
    assert_eq!(
        events.recv().await.unwrap(),
        SeatEvent::DevicePermissionChanged {
            device: Device::Microphone,
            allowed: true,
            seat_index: None,
            host_user: user("host_1"),
        }
    );
    assert_eq!(
        seat_1(&list.borrow()),
        "seat 1: bob mic_on=false user_mic_off=false seat_cam_off=true"
    );
    assert_eq!(
        next_line(&mut lines).await,
        "Microphone allowed=true seat=None by host_1 | \
         seat 1: bob mic_on=false user_mic_off=false seat_cam_off=true"
    );

    // Granted admin: bob's lists are replaced with a host's (carol shows as a candidate, his
    // seat shows his new role) before the callback.
    owner.set_admin("bob", true).await.unwrap();
    assert_eq!(
        events.recv().await.unwrap(),
        SeatEvent::RoleChanged {
            role: SdkRole::Admin,
            by_user: user("host_1"),
        }
    );
    assert_eq!(
        role_view(&state),
        "connected role Some(Admin), candidates [\"carol\"]"
    );
    assert_eq!(
        next_line(&mut lines).await,
        "role Admin by host_1 | connected role Some(Admin), candidates [\"carol\"]"
    );
    owner.set_admin("bob", false).await.unwrap();
    assert_eq!(
        events.recv().await.unwrap(),
        SeatEvent::RoleChanged {
            role: SdkRole::GeneralUser,
            by_user: user("host_1"),
        }
    );
    assert_eq!(
        role_view(&state),
        "connected role Some(GeneralUser), candidates []"
    );
    assert_eq!(
        next_line(&mut lines).await,
        "role GeneralUser by host_1 | connected role Some(GeneralUser), candidates []"
    );

    let [oc, bc, cc] = &clients;
    settle(&[oc, bc, cc]).await;
    assert_eq!(events.try_recv(), None);
    assert!(lines.try_recv().is_err(), "no other callback");
}
