//! The application queue over real WebSockets: each applicant hears its place as others apply,
//! cancel, time out and are accepted; hosts accept the first in line; places survive a restart
//! of the SQLite server.

use crate::common::*;
use coguest_core::Role;
use coguest_proto::{Change, ClientCommand, ErrorCode, QueuePosition, ServerMsg};
use std::time::Duration;

const ROOM: &str = "queue";

/// Waits for `client`'s next `queue_position` change and checks it says `want`.
async fn place(client: &mut TestClient, want: Option<(u32, u32)>) {
    let m = client
        .expect("queue_position", |m| {
            matches!(
                m,
                ServerMsg::Change {
                    change: Change::QueuePosition { .. },
                    ..
                }
            )
        })
        .await;
    let ServerMsg::Change {
        change: Change::QueuePosition { queue },
        ..
    } = m
    else {
        unreachable!()
    };
    let want = want.map(|(position, length)| QueuePosition { position, length });
    assert_eq!(queue, want, "{}'s place", client.user);
}

fn applicant_ids(state: &coguest_proto::CoGuestState) -> Vec<String> {
    state
        .applicants
        .iter()
        .map(|a| a.user.user_id.clone())
        .collect()
}

#[tokio::test]
async fn applicants_hear_their_place_and_hosts_take_the_first_in_line() {
    let s = TestServer::start().await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut a = s.member(ROOM, "a", Role::Audience).await;
    let mut b = s.member(ROOM, "b", Role::Audience).await;
    let mut c = s.member(ROOM, "c", Role::Audience).await;

    assert_eq!(
        owner
            .refused(ROOM, ClientCommand::AcceptNextApplication)
            .await,
        ErrorCode::QueueEmpty
    );
    a.call(ROOM, apply(-1, 60)).await.unwrap();
    place(&mut a, Some((1, 1))).await;
    b.call(ROOM, apply(-1, 60)).await.unwrap();
    place(&mut a, Some((1, 2))).await;
    place(&mut b, Some((2, 2))).await;
    c.call(ROOM, apply(-1, 60)).await.unwrap();
    place(&mut c, Some((3, 3))).await;
    place(&mut a, Some((1, 3))).await;
    place(&mut b, Some((2, 3))).await;
    assert_eq!(
        c.snapshot(ROOM).await.queue,
        Some(QueuePosition {
            position: 3,
            length: 3
        })
    );
    assert_eq!(applicant_ids(&owner.snapshot(ROOM).await), ["a", "b", "c"]);

    // The middle one cancels: the last moves up, the first hears the new length.
    b.call(ROOM, ClientCommand::CancelApplication)
        .await
        .unwrap();
    place(&mut b, None).await;
    place(&mut c, Some((2, 2))).await;
    place(&mut a, Some((1, 2))).await;
    assert_eq!(
        a.refused(ROOM, ClientCommand::AcceptNextApplication).await,
        ErrorCode::NeedAdminPermission
    );

    // Accepting the first in line seats `a`; `c` is first now.
    owner
        .call(ROOM, ClientCommand::AcceptNextApplication)
        .await
        .unwrap();
    a.event("accepted", application_accepted).await;
    place(&mut a, None).await;
    place(&mut c, Some((1, 1))).await;
    owner.expect_seats(&[(0, "owner"), (1, "a")]).await;

    // A host may still pick anyone: `b` applies again (last in line) and is accepted first.
    b.call(ROOM, apply(-1, 60)).await.unwrap();
    place(&mut b, Some((2, 2))).await;
    place(&mut c, Some((1, 2))).await;
    owner.call(ROOM, accept_app("b")).await.unwrap();
    place(&mut b, None).await;
    place(&mut c, Some((1, 1))).await;
    assert_eq!(applicant_ids(&owner.snapshot(ROOM).await), ["c"]);
}

#[tokio::test]
async fn places_survive_a_restart_and_move_up_on_a_timeout_after_it() {
    let s = TestServer::start_with(|c| c.grace_period = Duration::from_secs(3600)).await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut a = s.member(ROOM, "a", Role::Audience).await;
    let mut b = s.member(ROOM, "b", Role::Audience).await;
    let mut c = s.member(ROOM, "c", Role::Audience).await;
    a.call(ROOM, apply(-1, 30)).await.unwrap();
    b.call(ROOM, apply(-1, 120)).await.unwrap();
    let last = c.call(ROOM, apply(-1, 120)).await.unwrap();
    place(&mut b, Some((2, 2))).await;
    place(&mut b, Some((2, 3))).await;
    owner.barrier().await;

    let s = s.restart().await;
    for client in [&mut owner, &mut a, &mut b, &mut c] {
        assert_eq!(client.closed().await, Some(coguest_proto::CLOSE_RECONNECT));
    }

    // A fresh join gets its place in the snapshot; a resume by version has nothing to redo.
    let mut b = s.connect("b", Role::Audience).await;
    b.join(ROOM, None).await.unwrap();
    let state = b.take_snapshot(ROOM);
    assert_eq!(
        state.queue,
        Some(QueuePosition {
            position: 2,
            length: 3
        })
    );
    let mut c = s.connect("c", Role::Audience).await;
    c.join(ROOM, last.version).await.unwrap();
    c.expect("resumed", resumed).await;
    let mut owner = s.connect("owner", Role::Owner).await;
    owner.join(ROOM, None).await.unwrap();
    assert_eq!(applicant_ids(&owner.take_snapshot(ROOM)), ["a", "b", "c"]);

    // `a`'s application times out on the restarted server: the others move up.
    s.clock.advance_secs(30);
    place(&mut b, Some((1, 2))).await;
    place(&mut c, Some((2, 2))).await;
    owner
        .call(ROOM, ClientCommand::AcceptNextApplication)
        .await
        .unwrap();
    place(&mut b, None).await;
    place(&mut c, Some((1, 1))).await;
    owner.expect_seats(&[(0, "owner"), (1, "b")]).await;
}
