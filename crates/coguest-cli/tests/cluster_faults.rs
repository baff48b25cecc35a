//! Cluster faults, each on a Redis of the test's own (`support::redis_server`: a real
//! `redis-server` on a free loopback port, without persistence) and real `coguest serve --redis`
//! processes: Redis restarted empty or flushed (the data loss is detected, never served as an
//! empty room), Redis or a node paused past the lease and the heartbeat TTL (no connection is
//! left orphaned: it converges, or is closed with 4010 and resumes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use coguest_core::Role;
use coguest_proto::{ClientCommand, ClosedReason, ErrorCode, ServerMsg};
use std::time::{Duration, Instant};
use support::cluster::LEASE_MS;
use support::redis_server::{RedisServer, publish_many};
use support::*;

/// `room_closed` with reason `lost`.
fn closed_lost(m: &ServerMsg) -> bool {
    matches!(
        m,
        ServerMsg::RoomClosed {
            reason: ClosedReason::Lost,
            ..
        }
    )
}

/// The epoch of `room`'s lease in `redis` (which must be held).
fn lease_epoch(redis: &RedisServer, c: &Cluster, room: &str) -> u64 {
    let lease = redis
        .cmd(&["GET", &format!("{}:lease:{room}", c.prefix)])
        .concat();
    let (_, epoch) = lease.rsplit_once('|').expect("a lease `node|epoch`");
    epoch.parse().unwrap()
}

/// Waits until node `i`'s metric `name` is at least `min`.
async fn metric_reaches(c: &Cluster, i: usize, name: &str, min: f64) {
    let deadline = Instant::now() + WAIT;
    loop {
        let v = c.node(i).metric(name).await;
        if v >= min {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "node {i}: {name} = {v}, want >= {min}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A room with its owner on node 0 (the room's owner node) and `a` seated from node 1; then
/// `fault` empties Redis. Both members hear `room_closed` with reason `lost`, both nodes count
/// the loss, the room is not served as an empty one, and joining it again starts a new room
/// whose lease epoch is above the lost one's.
async fn data_loss_is_detected(name: &str, fault: impl FnOnce(&mut RedisServer)) {
    let mut redis = RedisServer::without_persistence();
    let c = Cluster::start_on(name, 2, &redis.url(), &[]).await;
    let room = "r-lost";
    let mut owner = c.node(0).member(room, "owner", Role::Owner).await;
    let mut a = c.node(1).member(room, "a", Role::Audience).await;
    owner.call(room, invite("a", 1, 60)).await.unwrap();
    a.event("invited", invitation_received).await;
    a.call(room, accept_inv("owner")).await.unwrap();
    // A member through the Rust SDK, on node 1.
    let url = format!("ws://{}", c.node(1).addr);
    let sdk = coguest_client::Client::connect(&url, &c.node(1).token("sdk", Role::Audience))
        .await
        .unwrap();
    let store = coguest_client::CoGuestStore::create(&sdk, room)
        .await
        .unwrap();
    let generation = redis
        .cmd(&["GET", &format!("{}:generation", c.prefix)])
        .concat();
    assert!(
        !generation.is_empty(),
        "the first node wrote a generation marker"
    );
    let epoch = lease_epoch(&redis, &c, room);

    fault(&mut redis);

    owner
        .expect("room_closed (lost) on node 0", closed_lost)
        .await;
    a.expect("room_closed (lost) on node 1", closed_lost).await;
    wait_until("the SDK's store closed as lost", || {
        store.closed_reason() == Some(ClosedReason::Lost)
    })
    .await;
    metric_reaches(&c, 0, "coguest_cluster_data_lost_total", 1.0).await;
    metric_reaches(&c, 1, "coguest_cluster_data_lost_total", 1.0).await;
    // Not served as empty: the room is gone, not a fresh one under the old name.
    assert_eq!(
        a.refused(room, ClientCommand::Join { since: Some(2) })
            .await,
        ErrorCode::RoomIdNotExist
    );
    let after = redis
        .cmd(&["GET", &format!("{}:generation", c.prefix)])
        .concat();
    assert!(
        !after.is_empty() && after != generation,
        "a new marker: {after:?}"
    );

    // Joining again starts a new, empty room; its epoch never goes back.
    owner.join(room, None).await.unwrap();
    let state = c.converge(&[0, 1], room).await;
    assert_eq!(seated(&state), pairs(&[(0, "owner")]));
    assert!(
        lease_epoch(&redis, &c, room) > epoch,
        "the epoch went back after the loss"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_without_persistence_is_detected_not_served_empty() {
    data_loss_is_detected("lost-restart", RedisServer::restart).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flushall_is_detected_not_served_empty() {
    data_loss_is_detected("lost-flush", |r| assert_eq!(r.cmd(&["FLUSHALL"]), ["OK"])).await;
}

/// A member's WebSocket that, as the SDKs do, joins again with `since` when the server closes
/// it with 4010 (`CLOSE_RESYNC`).
struct Member {
    node: usize,
    user: &'static str,
    role: Role,
    ws: TestClient,
    /// The highest room version this member was sent.
    seen: u64,
    /// How many times the server closed it with 4010.
    resets: usize,
}

impl Member {
    async fn join(c: &Cluster, node: usize, room: &str, user: &'static str, role: Role) -> Self {
        let ws = c.node(node).connect(user, role).await;
        let mut m = Member {
            node,
            user,
            role,
            ws,
            seen: 0,
            resets: 0,
        };
        m.enter(room, None).await;
        m
    }

    async fn enter(&mut self, room: &str, since: Option<u64>) {
        let ack = self.ws.join(room, since).await.unwrap();
        self.seen = self.seen.max(ack.version.unwrap_or(0));
        self.note_buffered();
    }

    fn note(&mut self, m: &ServerMsg) {
        let v = match m {
            ServerMsg::Event { version, .. }
            | ServerMsg::Change { version, .. }
            | ServerMsg::Resumed { version, .. } => *version,
            ServerMsg::Snapshot { state, .. } => state.version,
            ServerMsg::Ack {
                version: Some(v), ..
            } => *v,
            ServerMsg::RoomClosed { .. } => panic!("{}: room closed", self.user),
            _ => 0,
        };
        self.seen = self.seen.max(v);
    }

    fn note_buffered(&mut self) {
        let buffered: Vec<ServerMsg> = self.ws.buf.drain(..).collect();
        for m in &buffered {
            self.note(m);
        }
    }

    /// Waits until this member was sent version `v`: by `by` on its connection, or, when the
    /// server closed that with 4010, after joining again with `since` (within [`WAIT`]).
    async fn reach(&mut self, c: &Cluster, room: &str, v: u64, by: Instant) {
        self.note_buffered();
        let mut by = by;
        while self.seen < v {
            let left = by.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.ws.read()).await {
                Ok(Some(m)) => self.note(&m),
                Ok(None) => {
                    assert_eq!(
                        self.ws.close_code,
                        Some(coguest_proto::CLOSE_RESYNC),
                        "{}: closed, but not with 4010",
                        self.user
                    );
                    self.resets += 1;
                    self.ws = c.node(self.node).connect(self.user, self.role).await;
                    self.enter(room, Some(self.seen)).await;
                    by = Instant::now() + WAIT;
                }
                Err(_) => panic!(
                    "{}: at version {} when it should have been sent {v}, connection open",
                    self.user, self.seen
                ),
            }
        }
    }
}

/// Owner on node 0, `a` seated from node 1, `b` in the audience on node 2.
async fn three_members(c: &Cluster, room: &str) -> Vec<Member> {
    let mut owner = Member::join(c, 0, room, "owner", Role::Owner).await;
    let mut a = Member::join(c, 1, room, "a", Role::Audience).await;
    let b = Member::join(c, 2, room, "b", Role::Audience).await;
    owner.ws.call(room, invite("a", 1, 60)).await.unwrap();
    a.ws.event("invited", invitation_received).await;
    a.ws.call(room, accept_inv("owner")).await.unwrap();
    owner.ws.expect_seats(&[(0, "owner"), (1, "a")]).await;
    vec![owner, a, b]
}

/// The fault ended at `ended`: a room-wide change (a seat locked through the admin API of
/// node `via`) reaches every member within 2 s of `ended`, or the member was closed with 4010
/// and resumes. `a` is still seated: no open socket lost its seat.
async fn everyone_converges(
    c: &Cluster,
    members: &mut [Member],
    room: &str,
    via: usize,
    ended: Instant,
) {
    let deadline = Instant::now() + WAIT;
    let version = loop {
        let (status, body) = c
            .node(via)
            .admin_api()
            .post(
                &format!("/v1/admin/rooms/{room}/seats/3/lock"),
                serde_json::json!({}),
            )
            .await;
        if status == 200 {
            break body["version"].as_u64().unwrap();
        }
        assert!(Instant::now() < deadline, "locking a seat: {status} {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for m in members.iter_mut() {
        m.reach(c, room, version, ended + Duration::from_secs(2))
            .await;
    }
    let alive = c.alive();
    let state = c.converge(&alive, room).await;
    assert_eq!(seated(&state), pairs(&[(0, "owner"), (1, "a")]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_paused_past_the_lease_leaves_no_orphaned_connection() {
    let redis = RedisServer::without_persistence();
    let c = Cluster::start_on(
        "pause-redis",
        3,
        &redis.url(),
        &["--grace-period-secs", "4"],
    )
    .await;
    let room = "r-pause-redis";
    let mut members = three_members(&c, room).await;

    redis.pause();
    // The owner's command cannot be stored: the room's reload fails too, and it stops.
    members[0].ws.send(Some(room), invite("b", 2, 60)).await;
    tokio::time::sleep(Duration::from_millis(3 * LEASE_MS)).await;
    redis.resume();
    let ended = Instant::now();

    everyone_converges(&c, &mut members, room, 2, ended).await;
    assert!(
        members[0].resets >= 1,
        "the owner's connection was closed with 4010"
    );
    assert!(c.node(0).metric("coguest_cluster_conns_reset_total").await >= 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_node_paused_past_the_lease_and_heartbeat_leaves_no_orphaned_connection() {
    let redis = RedisServer::without_persistence();
    let c = Cluster::start_on(
        "pause-owner",
        3,
        &redis.url(),
        &["--grace-period-secs", "4"],
    )
    .await;
    let room = "r-pause-owner";
    let mut members = three_members(&c, room).await;

    c.node(0).signal("-STOP");
    tokio::time::sleep(Duration::from_millis(3 * LEASE_MS)).await;
    c.node(0).signal("-CONT");
    let ended = Instant::now();

    everyone_converges(&c, &mut members, room, 2, ended).await;
    // Past the grace period of the owner's members (taken for gone during the pause): still
    // there, and their commands work.
    tokio::time::sleep(Duration::from_secs(5)).await;
    members[0].ws.call(room, invite("b", 2, 60)).await.unwrap();
    members[2].ws.event("invited", invitation_received).await;
    let state = c.converge(&[0, 1, 2], room).await;
    assert_eq!(seated(&state), pairs(&[(0, "owner"), (1, "a")]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follower_node_paused_past_the_heartbeat_keeps_its_members_seated() {
    let redis = RedisServer::without_persistence();
    let c = Cluster::start_on(
        "pause-follower",
        3,
        &redis.url(),
        &["--grace-period-secs", "4"],
    )
    .await;
    let room = "r-pause-follower";
    let mut members = three_members(&c, room).await;
    let mut c1 = Member::join(&c, 1, room, "c", Role::Audience).await;

    c.node(1).signal("-STOP");
    tokio::time::sleep(Duration::from_millis(3 * LEASE_MS)).await;
    c.node(1).signal("-CONT");
    let ended = Instant::now();

    everyone_converges(&c, &mut members, room, 0, ended).await;
    assert!(c.node(1).metric("coguest_cluster_reannounces_total").await >= 1.0);
    // Past the grace period the owner started when it took node 1 for dead: `a`, whose
    // socket stayed open, is still seated, and node 1's members' commands are not -2101.
    tokio::time::sleep(Duration::from_secs(5)).await;
    c1.ws.call(room, apply(-1, 60)).await.unwrap();
    members[0]
        .ws
        .event("application", application_received)
        .await;
    let state = c.converge(&[0, 1, 2], room).await;
    assert_eq!(seated(&state), pairs(&[(0, "owner"), (1, "a")]));
    assert_eq!(members[1].resets, 0, "a's connection stayed open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_inbox_resyncs_the_follower_instead_of_losing_messages() {
    let redis = RedisServer::without_persistence();
    let c = Cluster::start_on("storm", 2, &redis.url(), &[]).await;
    let room = "r-storm";
    let mut owner = c.node(0).member(room, "owner", Role::Owner).await;
    let mut a = c.node(1).member(room, "a", Role::Audience).await;
    // A storm on the room's channel: each `leader` notice has node 1 announce its members to
    // the owner (a Redis round trip), far slower than they arrive, so its inbox overflows.
    let channel = format!("{}:ch:room:{room}", c.prefix);
    let storm = std::thread::spawn({
        let payload = r#"{"k":"leader","node":"n0","epoch":1}"#;
        let port = redis.port;
        move || publish_many(port, &channel, payload, 5000)
    });
    // Meanwhile the owner changes the room: its entry may be among the messages dropped.
    owner.call(room, invite("a", 1, 60)).await.unwrap();
    storm.join().unwrap();
    a.event("invited", invitation_received).await;
    a.call(room, accept_inv("owner")).await.unwrap();
    owner.expect_seats(&[(0, "owner"), (1, "a")]).await;
    assert!(
        c.node(1)
            .metric("coguest_cluster_dropped_messages_total")
            .await
            >= 1.0
    );
    assert!(
        c.node(1)
            .metric("coguest_cluster_inbox_resyncs_total")
            .await
            >= 1.0
    );
    let state = c.converge(&[0, 1], room).await;
    assert_eq!(seated(&state), pairs(&[(0, "owner"), (1, "a")]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_no_members_left_unsubscribes_from_the_room() {
    let redis = RedisServer::without_persistence();
    let c = Cluster::start_on("unsub", 2, &redis.url(), &["--room-idle-unload", "1s"]).await;
    let room = "r-unsub";
    let channel = format!("{}:ch:room:{room}", c.prefix);
    let mut owner = c.node(0).member(room, "owner", Role::Owner).await;
    let mut b = c.node(1).member(room, "b", Role::Audience).await;
    assert_eq!(redis.subscribers(&channel), 2, "both nodes follow the room");

    b.call(room, ClientCommand::Leave).await.unwrap();
    let deadline = Instant::now() + WAIT;
    while redis.subscribers(&channel) != 1 {
        assert!(Instant::now() < deadline, "node 1 still follows the room");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(c.node(1).metric("coguest_rooms").await, 0.0);

    // Joining again on node 1 follows it again.
    b.enter(room).await;
    assert_eq!(redis.subscribers(&channel), 2);
    owner.call(room, invite("b", 1, 60)).await.unwrap();
    b.event("invited", invitation_received).await;
}
