//! Redis high availability: two `coguest serve` nodes on a replicated Redis watched by three
//! sentinels (`redis+sentinel://`), acknowledging a command only once the replica has it
//! (`--redis-ack replicas=1`). The primary is `kill -9`ed under load; the sentinels promote
//! the replica; every acknowledged change is there afterwards (read back by a fresh node), a
//! deadline pending across the failover fires, and the time from the kill to the first
//! successful command is printed.
//!
//! `COGUEST_FAILOVER_RUNS=5 cargo test -p coguest-cli --test cluster_failover -- --nocapture`
//! repeats the failover and prints the median and the maximum (BENCHMARKS.md records them).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use coguest_core::Role;
use std::time::{Duration, Instant};
use support::sentinel::SentinelSet;
use support::*;

const ROOM: &str = "r-failover";
/// Guests that apply and cancel in turn while the primary dies.
const GUESTS: usize = 6;

/// A member's connection that, as the SDKs do, connects again and rejoins when the server
/// closes it with 4010 (`CLOSE_RESYNC`: its node lost track of the room while Redis was away).
struct Member {
    ws: TestClient,
    user: String,
    /// Where it connects, with its token.
    url: String,
}

impl Member {
    async fn join(node: &Served, user: &str, role: Role) -> Self {
        let ws = node.member(ROOM, user, role).await;
        let url = node.ws_url(Some(&node.token(user, role)));
        Member {
            ws,
            user: user.to_owned(),
            url,
        }
    }

    /// A new connection after a 4010 close, its request ids going on from the old one's.
    async fn reconnect(&mut self) {
        assert_eq!(
            self.ws.close_code,
            Some(coguest_proto::CLOSE_RESYNC),
            "{}: closed, but not with 4010",
            self.user
        );
        let mut ws = TestClient::connect(&self.url, &self.user).await;
        assert!(
            matches!(ws.next().await, coguest_proto::ServerMsg::Welcome { .. }),
            "{}: no welcome",
            self.user
        );
        ws.next_id = self.ws.next_id;
        self.ws = ws;
    }
}

/// A command answered, retried with the same id (commands are idempotent by id) while the
/// answer is `FAILED` (-1: storage failed, or it may or may not have been applied), the room
/// stopped on the member's node when Redis went away (-2101: joined again first), or the
/// connection was closed with 4010 (connected and joined again first). Panics without success
/// within 30 s.
async fn until_acked(m: &mut Member, cmd: coguest_proto::ClientCommand) -> Instant {
    let id = m.ws.id();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut rejoin = false;
    loop {
        assert!(Instant::now() < deadline, "{cmd:?}: no success within 30 s");
        if rejoin {
            loop {
                assert!(Instant::now() < deadline, "no join within 30 s");
                let join_id = m.ws.send(Some(ROOM), join()).await;
                match m.ws.answer_or_close(join_id).await {
                    Some(Ok(_)) => break,
                    Some(Err(_)) => tokio::time::sleep(Duration::from_millis(100)).await,
                    None => m.reconnect().await,
                }
            }
            rejoin = false;
        }
        m.ws.send_with_id(id, Some(ROOM), cmd.clone()).await;
        match m.ws.answer_or_close(id).await {
            Some(Ok(_)) => return Instant::now(),
            // FAILED, or the rate limit (-2) after many retries.
            Some(Err(r)) if r.code == -1 || r.code == -2 => {}
            Some(Err(r)) if r.code == -2101 => rejoin = true,
            Some(Err(r)) => panic!("{cmd:?} refused: {r:?}"),
            None => {
                m.reconnect().await;
                rejoin = true;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn join() -> coguest_proto::ClientCommand {
    coguest_proto::ClientCommand::Join { since: None }
}

/// What one failover measured.
struct Outcome {
    /// Kill to the replica's promotion, as the sentinels report it.
    promoted: Duration,
    /// Kill to the first acknowledged command sent after it.
    first_success: Duration,
}

async fn one_failover(run: usize) -> Outcome {
    let mut set = tokio::task::spawn_blocking(SentinelSet::start)
        .await
        .unwrap();
    let mut c = Cluster::start_on(
        &format!("failover{run}"),
        2,
        &set.url(),
        &["--redis-ack", "replicas=1", "--commands-per-sec", "1000"],
    )
    .await;
    // The owner's node opens the room and so owns it; guests are on both nodes.
    let owner = c.node(0).member(ROOM, "owner", Role::Owner).await;
    let mut guests = Vec::new();
    for k in 0..GUESTS {
        let user = format!("g{k}");
        guests.push(Member::join(c.node(k % 2), &user, Role::Audience).await);
    }
    let mut late = Member::join(c.node(1), "late", Role::Audience).await;
    // An application whose deadline falls after the failover.
    until_acked(&mut late, apply(-1, 10)).await;

    // Load: each guest applies, then cancels, in turn; `pending[k]` is what its last
    // acknowledged command left.
    let (kill_tx, kill_rx) = tokio::sync::watch::channel(None::<Instant>);
    let load = tokio::spawn(async move {
        let mut pending = vec![false; GUESTS];
        let mut first_after_kill = None;
        let started = Instant::now();
        loop {
            let killed = *kill_rx.borrow();
            if let Some(k) = killed
                && first_after_kill.is_some()
                && k.elapsed() > Duration::from_secs(1)
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "load ran for 60 s"
            );
            for (k, g) in guests.iter_mut().enumerate() {
                let sent = Instant::now();
                let cmd = if pending[k] {
                    coguest_proto::ClientCommand::CancelApplication
                } else {
                    apply(-1, 120)
                };
                let acked = until_acked(g, cmd).await;
                pending[k] = !pending[k];
                if let Some(k) = killed
                    && sent >= k
                    && first_after_kill.is_none()
                {
                    first_after_kill = Some(acked - k);
                }
            }
        }
        (pending, first_after_kill.unwrap(), guests)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let killed = Instant::now();
    kill_tx.send(Some(killed)).unwrap();
    let promoted = tokio::task::spawn_blocking(move || {
        let d = set.kill_primary_and_wait_for_promotion();
        (set, d)
    })
    .await
    .unwrap();
    let (set, promoted) = promoted;
    let (pending, first_success, _guests) = load.await.unwrap();
    // The deadline set before the kill fires after it, on the owner's clock (its member
    // back in the room first, if the room stopped on its node while Redis was away).
    until_acked(&mut late, coguest_proto::ClientCommand::Snapshot).await;
    late.ws.event("timed out", application_timed_out).await;

    // Every acknowledged change is in the promoted Redis: nodes killed, a fresh one reads it.
    c.kill(0).await;
    c.kill(1).await;
    drop(owner);
    c.restart(0).await;
    let state = c.node(0).room_json(ROOM).await["state"].clone();
    let mut applicants: Vec<String> = state["applicants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["user"]["user_id"].as_str().unwrap().to_owned())
        .collect();
    applicants.sort();
    let want: Vec<String> = (0..GUESTS)
        .filter(|k| pending[*k])
        .map(|k| format!("g{k}"))
        .collect();
    assert_eq!(applicants, want, "{state:#}");
    drop(c);
    drop(set);
    Outcome {
        promoted,
        first_success,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_redis_primary_loses_no_acknowledged_change() {
    let runs: usize = std::env::var("COGUEST_FAILOVER_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1);
    let mut promoted = Vec::new();
    let mut first = Vec::new();
    for run in 0..runs {
        let o = one_failover(run).await;
        eprintln!(
            "run {run}: kill -> replica promoted {} ms, kill -> first acknowledged command {} ms",
            o.promoted.as_millis(),
            o.first_success.as_millis()
        );
        // The target: within the sentinels' failover and a lease, under 10 s.
        assert!(
            o.first_success < Duration::from_secs(10),
            "{:?}",
            o.first_success
        );
        promoted.push(o.promoted);
        first.push(o.first_success);
    }
    promoted.sort();
    first.sort();
    eprintln!(
        "{runs} runs: promotion median {} ms max {} ms; first success median {} ms max {} ms",
        promoted[runs / 2].as_millis(),
        promoted[runs - 1].as_millis(),
        first[runs / 2].as_millis(),
        first[runs - 1].as_millis()
    );
}
