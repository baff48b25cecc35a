//! The application queue in cluster mode: real Redis, three real `coguest serve --redis`
//! nodes. Places are told on every node, and the order survives the owner's `kill -9`: a
//! deadline set before it fires on the next owner and the applicants behind move up.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use coguest_core::Role;
use coguest_proto::{Change, ClientCommand, QueuePosition, ServerMsg};
use support::*;

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

fn applicants(state: &serde_json::Value) -> Vec<String> {
    state["applicants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["user"]["user_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_keeps_its_order_through_a_takeover() {
    let mut c = Cluster::start("queue", 3).await;
    let room = "r-queue";
    // The owner joins first on node 0, which so owns the room; applicants on nodes 1 and 2.
    let mut owner = c.node(0).member(room, "owner", Role::Owner).await;
    let mut a = c.node(1).member(room, "a", Role::Audience).await;
    let mut b = c.node(2).member(room, "b", Role::Audience).await;
    let mut d = c.node(1).member(room, "d", Role::Audience).await;
    // `a`'s application is due after the lease has expired, so it fires on the next owner.
    a.call(room, apply(-1, 3)).await.unwrap();
    b.call(room, apply(-1, 60)).await.unwrap();
    d.call(room, apply(-1, 60)).await.unwrap();
    place(&mut a, Some((1, 1))).await;
    place(&mut a, Some((1, 2))).await;
    place(&mut a, Some((1, 3))).await;
    place(&mut b, Some((2, 2))).await;
    place(&mut b, Some((2, 3))).await;
    place(&mut d, Some((3, 3))).await;
    owner.barrier().await;
    let state = c.converge(&[0, 1, 2], room).await;
    assert_eq!(applicants(&state), ["a", "b", "d"]);

    c.kill(0).await;
    // The deadline fires once, on whichever node took over: the others move up.
    place(&mut b, Some((1, 2))).await;
    place(&mut d, Some((2, 2))).await;
    place(&mut a, None).await;

    // The owner comes back through node 2 and takes the first in line.
    let mut owner = c.node(2).connect("owner", Role::Owner).await;
    owner.join(room, None).await.unwrap();
    let snapshot = owner.take_snapshot(room);
    let order: Vec<&str> = snapshot
        .applicants
        .iter()
        .map(|x| x.user.user_id.as_str())
        .collect();
    assert_eq!(order, ["b", "d"]);
    owner
        .call(room, ClientCommand::AcceptNextApplication)
        .await
        .unwrap();
    place(&mut b, None).await;
    place(&mut d, Some((1, 1))).await;
    let state = c.converge(&[1, 2], room).await;
    assert_eq!(applicants(&state), ["d"]);
    assert_eq!(seated(&state), pairs(&[(0, "owner"), (1, "b")]));
}
