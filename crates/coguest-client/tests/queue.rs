//! The application queue through the Rust SDK against the real server: `queue_position` is
//! live through applies, cancels, timeouts and accepts, hosts' `applicants` are in arrival
//! order, `accept_next_application` takes the first in line, and places are right again after
//! a server restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use coguest_client::{CoGuestError, CoGuestStore};
use coguest_core::Role;
use common::*;

/// Waits until `store`'s place is `want` (`(position, length)`, or `None`: not queued).
async fn place(store: &CoGuestStore, what: &str, want: Option<(u32, u32)>) {
    wait_for(&store.queue_position(), what, |q| {
        q.map(|q| (q.position, q.length)) == want
    })
    .await;
}

fn code(r: Result<(), CoGuestError>) -> i32 {
    r.unwrap_err().code()
}

#[tokio::test]
async fn places_are_live_and_hosts_take_the_first_in_line() {
    let h = Harness::start().await;
    let (_oc, owner) = h.member("host_1", Role::Owner).await;
    let (_ac, a) = h.member("a", Role::Audience).await;
    let (_bc, b) = h.member("b", Role::Audience).await;
    let (_cc, c) = h.member("c", Role::Audience).await;
    assert_eq!(*a.queue_position().borrow(), None);
    assert_eq!(code(owner.accept_next_application().await), -3029);

    a.apply_for_seat(-1, 60, None).await.unwrap();
    place(&a, "a 1/1", Some((1, 1))).await;
    b.apply_for_seat(-1, 60, None).await.unwrap();
    c.apply_for_seat(-1, 30, None).await.unwrap();
    place(&a, "a 1/3", Some((1, 3))).await;
    place(&b, "b 2/3", Some((2, 3))).await;
    place(&c, "c 3/3", Some((3, 3))).await;
    wait_for(&owner.co_guest_state().applicants, "in order", |l| {
        ids(l) == ["a", "b", "c"]
    })
    .await;

    b.cancel_application().await.unwrap();
    place(&b, "b out", None).await;
    place(&c, "c 2/2", Some((2, 2))).await;
    assert_eq!(code(a.accept_next_application().await), -2301);

    // `c`'s application times out: `a` is alone in line.
    h.advance_secs(30);
    place(&c, "c timed out", None).await;
    place(&a, "a 1/1", Some((1, 1))).await;

    owner.accept_next_application().await.unwrap();
    place(&a, "a seated", None).await;
    wait_for(&owner.co_guest_state().connected, "a seated", |s| {
        s.iter().any(|u| u.user_id == "a")
    })
    .await;
    assert_eq!(code(owner.accept_next_application().await), -3029);
}

#[tokio::test]
async fn places_are_right_again_after_a_restart() {
    let mut h =
        Harness::start_with(|c| c.grace_period = std::time::Duration::from_secs(3600)).await;
    let (_oc, owner) = h.member("host_1", Role::Owner).await;
    let (_ac, a) = h.member("a", Role::Audience).await;
    let (bc, b) = h.member("b", Role::Audience).await;
    a.apply_for_seat(-1, 300, None).await.unwrap();
    b.apply_for_seat(-1, 300, None).await.unwrap();
    place(&b, "b 2/2", Some((2, 2))).await;

    h.stop().await;
    wait_reconnecting(&bc, "b reconnecting").await;
    h.start_again().await;
    wait_connected(&bc, "b back").await;
    assert_eq!(
        b.queue_position().borrow().map(|q| (q.position, q.length)),
        Some((2, 2))
    );

    a.cancel_application().await.unwrap();
    place(&b, "b first", Some((1, 1))).await;
    owner.accept_next_application().await.unwrap();
    place(&b, "b seated", None).await;
}
