//! Cluster tests: real Redis, three real `coguest serve --redis` processes on loopback, real
//! WebSockets. Each test uses its own Redis key prefix (and, where it cuts a node's Redis
//! connections, its own ACL users). Leases are 1 s so failovers take about a second.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use coguest_core::Role;
use coguest_proto::{Change, ClientCommand, ErrorCode, Event, ServerMsg};
use serde_json::{Value, json};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use support::cluster::LEASE_MS;
use support::redis::Tap;
use support::*;

/// Members of `room`: its owner on node 0 (which so owns the room: its member joins first),
/// `a` in the audience on node 1 and `b` on node 2.
async fn owner_a_b(c: &Cluster, room: &str) -> (TestClient, TestClient, TestClient) {
    let owner = c.node(0).member(room, "owner", Role::Owner).await;
    let a = c.node(1).member(room, "a", Role::Audience).await;
    let b = c.node(2).member(room, "b", Role::Audience).await;
    (owner, a, b)
}

/// A seat list with `user` seated.
fn seats_with(m: &ServerMsg, user: &str) -> bool {
    seats_change(m).is_some_and(|seats| occupants(seats).iter().any(|(_, u)| u == user))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_flows_across_three_nodes() {
    let c = Cluster::start("flows", 3).await;
    let room = "r-flows";
    // The owner's node opens the room first and so owns it; guests are on the other two.
    let mut owner = c.node(0).member(room, "owner", Role::Owner).await;
    let mut admin = c.node(2).member(room, "admin", Role::Admin).await;
    let mut a = c.node(1).member(room, "a", Role::Audience).await;
    let mut b = c.node(2).member(room, "b", Role::Audience).await;

    // Invite (host on node 0) → accept (guest on node 1).
    owner.call(room, invite("a", 2, 60)).await.unwrap();
    a.event("invited", invitation_received).await;
    a.call(room, accept_inv("owner")).await.unwrap();
    owner.event("a accepted", invitation_accepted).await;
    b.expect("b sees a seated", |m| matches!(m, ServerMsg::Change { .. }))
        .await;

    // Apply (node 2) → first host wins between the owner (node 0) and the admin (node 2).
    let ack = b.call(room, apply(-1, 60)).await.unwrap();
    assert!(ack.request_id.is_some());
    owner.event("application", application_received).await;
    admin.event("application", application_received).await;
    owner.call(room, accept_app("b")).await.unwrap();
    let late = admin.call(room, accept_app("b")).await.unwrap_err();
    assert_eq!(late.code, code(ErrorCode::RequestIdInvalid));
    b.event("accepted", application_accepted).await;

    // Kick (host on node 2) → the kicked guest on node 1 hears it.
    admin.call(room, kick("a")).await.unwrap();
    a.event("kicked", kicked).await;

    // An application times out on the owner's clock; the applicant on node 1 hears it once.
    a.call(room, apply(-1, 1)).await.unwrap();
    a.event("timed out", application_timed_out).await;

    // Reject and leave.
    a.call(room, apply(-1, 60)).await.unwrap();
    admin.call(room, reject_app("a")).await.unwrap();
    a.event("rejected", application_rejected).await;
    b.call(room, ClientCommand::Leave).await.unwrap();

    let state = c.converge(&[0, 1, 2], room).await;
    assert_eq!(seated(&state), pairs(&[(0, "owner")]));
    let _ = owner.drain_events();

    // One publish per change: the owner published each change once, the others applied each.
    let published = c
        .node(0)
        .metric("coguest_cluster_published_changes_total")
        .await;
    let version = state["version"].as_u64().unwrap() as f64;
    assert!(published > 0.0);
    // Node 2 loaded the owner's join from storage when it opened the room, node 1 the joins
    // of the owner and the admin; every later change reached them once.
    for (i, loaded) in [(1, 2.0), (2, 1.0)] {
        let applied = c
            .node(i)
            .metric("coguest_cluster_applied_changes_total")
            .await;
        assert_eq!(
            applied,
            published - loaded,
            "node {i} applied every change once"
        );
    }
    assert_eq!(c.node(0).metric("coguest_cluster_owned_rooms").await, 1.0);
    assert!(version >= published - 0.5);
    assert!(
        c.node(1)
            .metric("coguest_cluster_forwarded_commands_total")
            .await
            > 0.0
    );

    // `coguest cluster status` lists the nodes and the owner.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_coguest"))
        .args(["cluster", "status", "--json", "--redis", &redis_url()])
        .args(["--redis-prefix", &c.prefix])
        .output()
        .unwrap();
    assert!(out.status.success());
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["nodes"].as_array().unwrap().len(), 3);
    assert_eq!(status["rooms"][0]["room"], room);
    assert_eq!(status["rooms"][0]["owner"], "n0");
    drop((a, b, admin));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_on_non_owner_nodes_reaches_members_on_every_node() {
    let c = Cluster::start("admin", 3).await;
    let room = "r-admin";
    // Node 0 owns the room (its member joined first); nodes 1 and 2 follow it.
    let (mut owner, mut a, mut b) = owner_a_b(&c, room).await;

    // Pick `a` (node 1) onto seat 2 through node 1's admin API: forwarded to node 0.
    let base = format!("/v1/admin/rooms/{room}");
    let pick = format!("{base}/seats/pick");
    let (status, body) = c
        .node(1)
        .admin_api()
        .post(&pick, json!({"user_id": "a", "seat_index": 2}))
        .await;
    assert_eq!(status, 200, "{body}");
    let picked_version = body["version"].as_u64().unwrap();
    // The answering node already shows the change (read your writes on that node).
    let (status, seats_now) = c.node(1).admin_api().get(&format!("{base}/seats")).await;
    assert_eq!(status, 200);
    assert!(seats_now["version"].as_u64().unwrap() >= picked_version);
    let state = c.converge(&[0, 1, 2], room).await;
    assert_eq!(seated(&state), pairs(&[(0, "owner"), (2, "a")]));
    for m in [&mut owner, &mut a, &mut b] {
        m.expect("the pick", |m| matches!(m, ServerMsg::Change { .. }))
            .await;
    }

    // Lock seat 3 through node 2, then the same rule and code as on the owner: a locked seat
    // cannot be picked.
    let node2 = c.node(2).admin_api();
    let (status, body) = node2
        .post(&format!("{base}/seats/3/lock"), Value::Null)
        .await;
    assert_eq!(status, 200, "{body}");
    let answer = node2
        .post(&pick, json!({"user_id": "b", "seat_index": 3}))
        .await;
    assert_eq!(
        refusal(&answer),
        (409, Some(ErrorCode::SeatLocked)),
        "{}",
        answer.1
    );

    // Kick `a` through node 2: `a` on node 1 is told.
    let kick_a = json!({"user_id": "a"});
    let (status, body) = node2.post(&format!("{base}/seats/kick"), kick_a).await;
    assert_eq!(status, 200, "{body}");
    a.event("kicked", kicked).await;
    let state = c.converge(&[0, 1, 2], room).await;
    assert_eq!(seated(&state), pairs(&[(0, "owner")]));
    assert!(
        c.node(2)
            .metric("coguest_cluster_forwarded_commands_total")
            .await
            >= 3.0
    );

    // Close through node 1: the members on all three nodes hear it, and the room is gone on
    // every node.
    let (status, body) = c.node(1).admin_api().delete(&base).await;
    assert_eq!(status, 204, "{body}");
    for m in [&mut owner, &mut a, &mut b] {
        m.expect("room closed", room_closed).await;
    }
    for i in 0..3 {
        let (status, _) = c.node(i).admin_api().get(&base).await;
        assert_eq!(status, 404, "node {i} still has the room");
    }

    // A room nobody owns: the node serving the request takes it over. Created on node 2,
    // released when node 2 stops; node 0's admin API then acts on it.
    let (status, body) = node2
        .post("/v1/admin/rooms", json!({"room_id": "r-admin-2"}))
        .await;
    assert_eq!(status, 201, "{body}");
    let mut c = c;
    c.stop(2).await;
    let lock = "/v1/admin/rooms/r-admin-2/seats/1/lock";
    let (status, body) = c.node(0).admin_api().post(lock, Value::Null).await;
    assert_eq!(status, 200, "{body}");
    drop((owner, a, b));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_kill_9_with_pending_requests() {
    let mut c = Cluster::start("kill", 3).await;
    let room = "r-kill";
    let (mut owner, mut a, mut b) = owner_a_b(&c, room).await;
    owner.call(room, invite("a", 1, 60)).await.unwrap();
    a.event("invited", invitation_received).await;
    // Pending at the crash, due after the lease has expired.
    b.call(room, apply(-1, 3)).await.unwrap();
    let seen = owner
        .expect("application", |m| {
            matches!(
                m,
                ServerMsg::Event {
                    event: Event::GuestApplicationReceived { .. },
                    ..
                }
            )
        })
        .await;
    let ServerMsg::Event { version, .. } = seen else {
        unreachable!()
    };

    c.kill(0).await;
    let killed = Instant::now();
    // The invitee accepts on node 1 while the owner is dead: answered once a node took over.
    a.call(room, accept_inv("owner")).await.unwrap();
    let recovered = killed.elapsed();
    eprintln!("owner killed: the room answered again after {recovered:?}");
    assert!(recovered < Duration::from_secs(3), "took {recovered:?}");

    // The owner's member reconnects to another node and resumes from its version.
    let mut owner = c.node(2).connect("owner", Role::Owner).await;
    owner.join(room, Some(version)).await.unwrap();
    owner.expect("resumed", resumed).await;
    owner.event("a accepted", invitation_accepted).await;

    // The deadline set before the crash fires once, on the new owner.
    b.event("timed out", application_timed_out).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    b.barrier().await;
    assert!(
        !b.drain_events().iter().any(application_timed_out),
        "fired twice"
    );
    let state = c.converge(&[1, 2], room).await;
    assert_eq!(seated(&state), pairs(&[(0, "owner"), (1, "a")]));
    assert!(state["applicants"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigstop_past_the_lease_applies_nothing_stale() {
    let c = Cluster::start("stop", 3).await;
    let room = "r-stop";
    let (mut owner, mut a, mut b) = owner_a_b(&c, room).await;
    owner.call(room, invite("a", 1, 60)).await.unwrap();

    c.node(0).signal("-STOP");
    // While node 0 sleeps: the owner's command waits in its socket.
    let pending = owner.send(Some(room), invite("b", 2, 60)).await;
    tokio::time::sleep(Duration::from_millis(LEASE_MS + 200)).await;
    // Node 1 takes over and applies a's acceptance.
    a.call(room, accept_inv("owner")).await.unwrap();
    c.node(0).signal("-CONT");

    // Node 0 finds its lease gone: the queued command goes to the new owner, applied once.
    // Right after SIGCONT a Redis call of node 0 may time out (its timers fired during the
    // pause); it then answers FAILED (-1: not applied), and a client re-sends the same id.
    let mut answer = owner.answer(pending).await;
    for _ in 0..5 {
        match &answer {
            Err(r) if r.code == ErrorCode::Failed.code() => {
                owner
                    .send_with_id(pending, Some(room), invite("b", 2, 60))
                    .await;
                answer = owner.answer(pending).await;
            }
            _ => break,
        }
    }
    answer.unwrap();
    b.event("invited", invitation_received).await;
    b.call(room, accept_inv("owner")).await.unwrap();
    let state = c.converge(&[0, 1, 2], room).await;
    assert_eq!(seated(&state), pairs(&[(0, "owner"), (1, "a"), (2, "b")]));
    assert!(c.node(0).metric("coguest_cluster_leases_lost_total").await >= 1.0);
    assert_eq!(c.node(0).metric("coguest_cluster_owned_rooms").await, 0.0);
    // The owner saw every change in order, with no stale one: its last version is the room's.
    owner.barrier().await;
    let last = owner
        .buf
        .iter()
        .filter_map(|m| match m {
            ServerMsg::Event { version, .. } | ServerMsg::Change { version, .. } => Some(*version),
            _ => None,
        })
        .max()
        .unwrap();
    assert_eq!(last, state["version"].as_u64().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_restart_loses_nothing() {
    let mut c = Cluster::start("rolling", 3).await;
    let room = "r-rolling";
    let mut owner = Robust::new("owner", Role::Owner);
    let guests = ["g0", "g1", "g2"];
    let mut rng = 0;
    owner.call(&c, room, None, &mut rng).await.unwrap().unwrap();
    for (round, node) in [0usize, 1, 2].into_iter().enumerate() {
        // Each round seats one more guest, then restarts one node gracefully.
        let mut g = Robust::new(guests[round], Role::Audience);
        g.call(&c, room, None, &mut rng).await.unwrap().unwrap();
        let seat = i32::try_from(round + 1).unwrap();
        owner
            .call(&c, room, Some(invite(guests[round], seat, 60)), &mut rng)
            .await
            .unwrap()
            .unwrap();
        g.call(&c, room, Some(accept_inv("owner")), &mut rng)
            .await
            .unwrap()
            .unwrap();
        c.stop(node).await;
        c.restart(node).await;
    }
    let state = c.converge(&[0, 1, 2], room).await;
    assert_eq!(
        seated(&state),
        pairs(&[(0, "owner"), (1, "g0"), (2, "g1"), (3, "g2")])
    );
}

/// A client that survives node loss: on a closed socket it reconnects to another live node,
/// joins again and re-sends an unanswered command with the same id (like the SDK).
struct Robust {
    user: String,
    role: Role,
    ws: Option<
        tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
    >,
    next_id: u64,
}

impl Robust {
    fn new(user: &str, role: Role) -> Self {
        Robust {
            user: user.into(),
            role,
            ws: None,
            next_id: 1,
        }
    }

    async fn raw(
        &mut self,
        id: u64,
        room: &str,
        cmd: &coguest_proto::ClientCommand,
    ) -> Option<Value> {
        use futures_util::{SinkExt, StreamExt};
        let ws = self.ws.as_mut()?;
        let frame = coguest_proto::ClientFrame {
            id,
            room: Some(room.into()),
            command: cmd.clone(),
        };
        let text = serde_json::to_string(&frame).ok()?;
        ws.send(tokio_tungstenite::tungstenite::Message::text(text))
            .await
            .ok()?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let m = tokio::time::timeout_at(deadline, ws.next())
                .await
                .ok()??
                .ok()?;
            let tokio_tungstenite::tungstenite::Message::Text(t) = m else {
                if matches!(m, tokio_tungstenite::tungstenite::Message::Close(_)) {
                    return None;
                }
                continue;
            };
            let v: Value = serde_json::from_str(t.as_str()).ok()?;
            let is_answer = matches!(v["t"].as_str(), Some("ack" | "error"));
            if is_answer && v["id"].as_u64() == Some(id) {
                return Some(v);
            }
        }
    }

    /// `cmd` (or a join with `None`). `Some(Ok)`/`Some(Err(code))` when answered, `None` when no
    /// node answered after several attempts.
    async fn call(
        &mut self,
        c: &Cluster,
        room: &str,
        cmd: Option<coguest_proto::ClientCommand>,
        rng: &mut usize,
    ) -> Option<Result<u64, i64>> {
        let id = self.next_id;
        self.next_id += 1;
        for _ in 0..8 {
            if self.ws.is_none() {
                let alive = c.alive();
                *rng = rng.wrapping_mul(31).wrapping_add(7);
                let node = c.node(alive[*rng % alive.len()]);
                let url = node.ws_url(Some(&node.token(&self.user, self.role)));
                match tokio_tungstenite::connect_async(url).await {
                    Ok((ws, _)) => self.ws = Some(ws),
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                }
                let join_id = self.next_id;
                self.next_id += 1;
                let join = ClientCommand::Join { since: None };
                match self.raw(join_id, room, &join).await {
                    Some(v) if v["t"] == "ack" => {}
                    _ => {
                        self.ws = None;
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                }
                if cmd.is_none() {
                    return Some(Ok(0));
                }
            }
            let Some(cmd) = cmd.clone() else {
                let join = ClientCommand::Join { since: None };
                match self.raw(id, room, &join).await {
                    Some(v) if v["t"] == "ack" => return Some(Ok(0)),
                    _ => {
                        self.ws = None;
                        continue;
                    }
                }
            };
            match self.raw(id, room, &cmd).await {
                Some(v) if v["t"] == "ack" => return Some(Ok(v["version"].as_u64().unwrap_or(0))),
                Some(v) if v["code"].as_i64() == Some(-1) || v["code"].as_i64() == Some(-3030) => {
                    // Storage or shutdown: retry the same id.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Some(v) => return Some(Err(v["code"].as_i64().unwrap_or(0))),
                None => {
                    self.ws = None;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        None
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_kills_and_restarts_lose_no_acknowledged_change() {
    let mut c = Cluster::start("random", 3).await;
    let room = "r-random";
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as usize;
    eprintln!("seed {seed}");
    let mut rng = seed | 1;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut r = next();
    let mut owner = Robust::new("owner", Role::Owner);
    owner.call(&c, room, None, &mut r).await.unwrap().unwrap();
    let users = ["u0", "u1", "u2", "u3"];
    let mut guests: Vec<Robust> = users
        .iter()
        .map(|u| Robust::new(u, Role::Audience))
        .collect();
    for g in guests.iter_mut() {
        g.call(&c, room, None, &mut r).await.unwrap().unwrap();
    }
    // What acknowledged answers say about each guest: Some(seated) or None (unknown).
    let mut known: Vec<Option<bool>> = vec![Some(false); users.len()];
    let started = Instant::now();
    let mut killed: Option<usize> = None;
    while started.elapsed() < Duration::from_secs(15) {
        let roll = next() % 10;
        if roll == 0 {
            match killed.take() {
                Some(i) => c.restart(i).await,
                None => {
                    let i = next() % 3;
                    c.kill(i).await;
                    killed = Some(i);
                }
            }
            continue;
        }
        let k = next() % users.len();
        let mut r = next();
        match known[k] {
            Some(true) => {
                // Kick.
                match owner.call(&c, room, Some(kick(users[k])), &mut r).await {
                    Some(Ok(_)) => known[k] = Some(false),
                    Some(Err(_)) | None => known[k] = None,
                }
            }
            _ => {
                // Invite then accept.
                let inv = owner
                    .call(&c, room, Some(invite(users[k], -1, 60)), &mut r)
                    .await;
                if !matches!(inv, Some(Ok(_))) {
                    known[k] = None;
                    continue;
                }
                match guests[k]
                    .call(&c, room, Some(accept_inv("owner")), &mut r)
                    .await
                {
                    Some(Ok(_)) => known[k] = Some(true),
                    _ => known[k] = None,
                }
            }
        }
    }
    if let Some(i) = killed {
        c.restart(i).await;
    }
    // Every node agrees, and every acknowledged outcome is there.
    let state = c.converge(&[0, 1, 2], room).await;
    let seated: Vec<String> = seated(&state).into_iter().map(|(_, u)| u).collect();
    for (k, u) in users.iter().enumerate() {
        if let Some(s) = known[k] {
            assert_eq!(seated.contains(&u.to_string()), s, "{u}: {state:#?}");
        }
    }
    // And every client's node answers a snapshot at that same version.
    let mut r = next();
    let v = owner
        .call(&c, room, Some(ClientCommand::Snapshot), &mut r)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v, state["version"].as_u64().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_redis_subscriptions_are_restored_and_rooms_resynchronised() {
    let c = Cluster::start_as_users("resub", 3).await;
    let room = "r-resub";
    // Node 0 owns the room; nodes 1 and 2 follow it.
    let (mut owner, mut a, mut b) = owner_a_b(&c, room).await;

    // Redis drops every node's subscriber (as over its output buffer limit, or on restart).
    for i in 0..3 {
        assert_eq!(c.kill_pubsub(i), "1", "node {i}'s subscription");
    }
    // The owner changes the room at once: published while the followers may not listen.
    owner.call(room, invite("a", 1, 60)).await.unwrap();
    let limit = Duration::from_secs(3);
    within(
        limit,
        "a hears the invitation",
        a.event("invited", invitation_received),
    )
    .await;
    // A member of node 1 answers: forwarded to node 0, answered, and seen on every node.
    within(limit, "a's answer", a.call(room, accept_inv("owner")))
        .await
        .unwrap();
    within(
        limit,
        "the owner hears it",
        owner.event("accepted", invitation_accepted),
    )
    .await;
    within(
        limit,
        "b sees a seated",
        b.expect("a seated", |m| seats_with(m, "a")),
    )
    .await;
    let state = c.converge(&[0, 1, 2], room).await;
    assert_eq!(seated(&state), pairs(&[(0, "owner"), (1, "a")]));
    for i in 0..3 {
        let n = c.node(i).metric("coguest_cluster_resubscribes_total").await;
        assert_eq!(n, 1.0, "node {i} resubscribed once");
    }
    // Later changes flow as before.
    owner.call(room, kick("a")).await.unwrap();
    within(limit, "a kicked", a.event("kicked", kicked)).await;
    c.converge(&[0, 1, 2], room).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_that_missed_the_last_entry_catches_up_within_a_lease() {
    let c = Cluster::start_as_users("missed", 2).await;
    let room = "r-missed";
    let mut owner = c.node(0).member(room, "owner", Role::Owner).await;
    let mut a = c.node(1).member(room, "a", Role::Audience).await;

    // Node 1 loses its subscription and cannot open a new one for now (its open data
    // connection still works): the next entry is published while nobody there listens, and
    // no later one comes to reveal the gap.
    c.allow_connections(1, false);
    assert_eq!(c.kill_pubsub(1), "1");
    owner.call(room, invite("a", 1, 60)).await.unwrap();
    let stored = Instant::now();
    within(
        Duration::from_millis(2 * LEASE_MS),
        "a hears the invitation",
        a.event("invited", invitation_received),
    )
    .await;
    eprintln!("missed entry caught up after {:?}", stored.elapsed());
    // The periodic look at the stored sequence did it, not a resubscription.
    assert_eq!(
        c.node(1).metric("coguest_cluster_resubscribes_total").await,
        0.0
    );
    assert!(c.node(1).metric("coguest_cluster_catch_ups_total").await >= 1.0);

    // Once Redis takes connections again, node 1 resubscribes (after failed attempts) and
    // forwards and hears answers again.
    c.allow_connections(1, true);
    within(
        Duration::from_secs(5),
        "a's answer",
        a.call(room, accept_inv("owner")),
    )
    .await
    .unwrap();
    owner.event("accepted", invitation_accepted).await;
    let state = c.converge(&[0, 1], room).await;
    assert_eq!(seated(&state), pairs(&[(0, "owner"), (1, "a")]));
    assert_eq!(
        c.node(1).metric("coguest_cluster_resubscribes_total").await,
        1.0
    );
}

/// The room version a frame carries, if any.
fn frame_version(m: &ServerMsg) -> Option<u64> {
    match m {
        ServerMsg::Event { version, .. }
        | ServerMsg::Change { version, .. }
        | ServerMsg::Resumed { version, .. } => Some(*version),
        ServerMsg::Ack { version, .. } => *version,
        _ => None,
    }
}

/// Reads `client`'s frames into `frames` until those from `from` on satisfy `done` (within
/// 5 s); an error frame fails at once.
async fn record_until(
    client: &mut TestClient,
    frames: &mut Vec<ServerMsg>,
    from: usize,
    what: &str,
    done: impl Fn(&[ServerMsg]) -> bool,
) {
    within(Duration::from_secs(5), what, async {
        while !done(&frames[from..]) {
            let m = client.next().await;
            assert!(!matches!(m, ServerMsg::Error { .. }), "{what}: got {m:?}");
            frames.push(m);
        }
    })
    .await;
}

fn is_ack(m: &ServerMsg, id: u64) -> bool {
    matches!(m, ServerMsg::Ack { id: i, .. } if *i == id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forwarded_commands_answer_rides_on_its_entry_and_versions_never_go_back() {
    let c = Cluster::start("answer", 2).await;
    let room = "r-answer";
    // Node 0 owns the room (the host joined there first); the guest is on node 1.
    let mut host = c.node(0).member(room, "owner", Role::Owner).await;
    let mut guest = c.node(1).member(room, "g", Role::Audience).await;
    guest.barrier().await;
    // Every frame the guest got after its snapshot, in order.
    let mut frames: Vec<ServerMsg> = guest.buf.drain(..).collect();
    let mut tap = Tap::start(&c.prefix);
    let room_channel = format!("{}:ch:room:{room}", c.prefix);
    let node_channel = format!("{}:ch:node:n1", c.prefix);
    let limit = Duration::from_secs(5);
    for round in 0..5 {
        let from = frames.len();
        // The guest applies through node 1: forwarded to node 0, which stores and answers it.
        let id = guest.send(Some(room), apply(-1, 60)).await;
        // The host accepts as soon as it hears of it, so the next entry follows at once, while
        // the guest's answer may still be on its way.
        within(
            limit,
            "the host hears the application",
            host.event("application", application_received),
        )
        .await;
        host.call(room, accept_app("g")).await.unwrap();
        record_until(
            &mut guest,
            &mut frames,
            from,
            "the guest's ack and acceptance",
            |got| {
                got.iter().any(|m| is_ack(m, id))
                    && got.iter().any(|m| {
                        matches!(
                            m,
                            ServerMsg::Event {
                                event: Event::GuestApplicationResponded {
                                    is_accept: true,
                                    ..
                                },
                                ..
                            }
                        )
                    })
            },
        )
        .await;
        // One more change by the host; the guest hears it.
        let kicked_from = frames.len();
        host.call(room, kick("g")).await.unwrap();
        record_until(
            &mut guest,
            &mut frames,
            kicked_from,
            "the guest is kicked",
            |got| {
                got.iter().any(|m| {
                    matches!(
                        m,
                        ServerMsg::Event {
                            event: Event::KickedOffSeat { .. },
                            ..
                        }
                    )
                })
            },
        )
        .await;

        // (1) The ack comes after the change it acknowledges, with that change's version.
        let got = &frames[from..];
        let ack_at = got.iter().position(|m| is_ack(m, id)).unwrap();
        let change_at = got
            .iter()
            .position(|m| {
                matches!(
                    m,
                    ServerMsg::Change {
                        change: Change::ApplicantAdded { applicant },
                        ..
                    } if applicant.user.user_id == "g"
                )
            })
            .unwrap_or_else(|| panic!("round {round}: no change for the application: {got:#?}"));
        assert!(
            change_at < ack_at,
            "round {round}: the ack came before its change: {got:#?}"
        );
        let ack = got[ack_at].clone();
        assert_eq!(
            frame_version(&ack),
            frame_version(&got[change_at]),
            "round {round}: {got:#?}"
        );

        // What was published meanwhile, on every channel of the cluster.
        let published = tap.drain();
        let entries: Vec<Value> = published
            .iter()
            .filter(|(ch, _)| *ch == room_channel)
            .map(|(_, p)| serde_json::from_str::<Value>(p).unwrap())
            .filter(|n| n["k"] == "entry")
            .collect();
        // (2) The entry of the guest's command carries its answer, for node 1, verbatim.
        let mine: Vec<&Value> = entries
            .iter()
            .filter(|n| n["actor"] == "g" && n["req"] == id)
            .collect();
        assert_eq!(mine.len(), 1, "round {round}: {published:#?}");
        let answer = &mine[0]["answer"];
        assert_eq!(answer["node"], "n1", "round {round}: {:#}", mine[0]);
        let text = answer["text"]
            .as_str()
            .unwrap_or_else(|| panic!("round {round}: no answer in {:#}", mine[0]));
        let carried: ServerMsg = serde_json::from_str(text).unwrap();
        assert_eq!(carried, ack, "round {round}");
        // The host's commands came from node 0's own connection: nothing to carry.
        let hosts: Vec<&Value> = entries.iter().filter(|n| n["actor"] == "owner").collect();
        assert_eq!(hosts.len(), 2, "round {round}: {published:#?}");
        assert!(
            hosts.iter().all(|n| n.get("answer").is_none()),
            "{hosts:#?}"
        );
        // (3) Nothing for that command on node 1's answer channel.
        let separate: Vec<&(String, String)> = published
            .iter()
            .filter(|(ch, p)| {
                let Ok(msg) = serde_json::from_str::<Value>(p) else {
                    return *ch == node_channel;
                };
                let text = msg["text"]
                    .as_str()
                    .and_then(|t| serde_json::from_str::<Value>(t).ok())
                    .unwrap_or_default();
                *ch == node_channel && msg["room"] == room && text["id"] == id
            })
            .collect();
        assert!(
            separate.is_empty(),
            "round {round}: answered on node 1's channel too: {separate:#?}"
        );
    }

    // The guest never saw the room's version go back, acks included.
    let mut seen = 0;
    for (i, m) in frames.iter().enumerate() {
        if let Some(v) = frame_version(m) {
            assert!(
                v >= seen,
                "frame {i} has version {v} after {seen}: {frames:#?}"
            );
            seen = v;
        }
    }
    let state = c.converge(&[0, 1], room).await;
    assert_eq!(seen, state["version"].as_u64().unwrap());
    drop(tap);
}

/// An observer on a node without members of the room (a follower that opens the room for it)
/// sees the owner's changes and every transition, and the rooms list of a third node shows
/// the room changing: any node's console shows any room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observers_on_any_node_see_rooms_owned_elsewhere() {
    let c = Cluster::start("observe", 3).await;
    let room = "r-observe";
    let mut owner = c.node(0).member(room, "owner", Role::Owner).await;
    let mut a = c.node(0).member(room, "a", Role::Audience).await;

    let admin_claims = |n: usize| {
        let mut claims = c.node(n).claims("ops", Role::Audience);
        claims.adm = true;
        claims
    };
    let mut watcher = c.node(1).connect_with(&admin_claims(1)).await;
    watcher
        .call(room, ClientCommand::Observe { since: None })
        .await
        .unwrap();
    watcher.take_snapshot(room);
    let mut lister = c.node(2).connect_with(&admin_claims(2)).await;
    let id = lister.send(None, ClientCommand::ObserveRooms).await;
    lister.answer(id).await.unwrap();
    lister
        .expect("the room in node 2's full list", |m| {
            matches!(m, ServerMsg::Rooms { full: true, rooms, .. } if rooms.iter().any(|r| r.room == room))
        })
        .await;

    a.call(room, apply(-1, 60)).await.unwrap();
    watcher
        .expect("a's application on node 1", |m| {
            matches!(m, ServerMsg::Change { change: Change::ApplicantAdded { applicant }, .. }
                if applicant.user.user_id == "a" && applicant.requested_ms.is_some())
        })
        .await;
    watcher
        .expect("its log line", |m| {
            matches!(m, ServerMsg::Log { entry, .. }
                if entry.kind == "application_created" && entry.actor.as_deref() == Some("a"))
        })
        .await;
    lister
        .expect("the room's summary on node 2", |m| {
            matches!(m, ServerMsg::Rooms { rooms, .. }
                if rooms.iter().any(|r| r.room == room && r.applicants == 1))
        })
        .await;
    owner.call(room, accept_app("a")).await.unwrap();
    watcher
        .expect("a seated, seen on node 1", |m| seats_with(m, "a"))
        .await;
    // The observer is no member anywhere.
    c.converge(&[0, 1], room).await;
    let info = c.node(1).room_json(room).await;
    assert_eq!(info["member_count"], 2, "{info}");
}
