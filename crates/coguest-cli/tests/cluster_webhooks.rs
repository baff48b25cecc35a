//! Webhooks in cluster mode: real Redis, three real `coguest serve --redis` processes posting
//! to a real receiver in the test. The outbox is in Redis, written with the room's log; one
//! node (the delivery lease's holder) posts. Every event arrives at least once, in room order,
//! signed, with the payloads a single node sends; killing the node that delivers (and owns
//! the room) loses nothing. A bad webhook setting is refused before the node listens.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use coguest_core::Role;
use coguest_proto::WebhookEvent;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::atomic::Ordering;
use support::redis::redis;
use support::*;

/// What the scenario of [`scenario`] sends, in room order.
const EXPECTED: [&str; 8] = [
    "room_created",
    "member_joined",
    "seated",
    "member_joined",
    "application_created",
    "application_accepted",
    "seated",
    "room_closed",
];

/// `serve` flags posting webhooks to `url`, signed with the sink's secret.
fn hook_flags(url: &str) -> Vec<&str> {
    let secret = std::str::from_utf8(HOOK_SINK_SECRET).unwrap();
    vec!["--webhook", url, "--webhook-secret", secret]
}

/// A room on `host` (the owner, who so opens it) and `guest` (bob, applying from another
/// node, so his command is forwarded); then closed through `closer`'s admin API.
async fn scenario(host: &impl Endpoint, guest: &impl Endpoint, closer: &impl Endpoint, room: &str) {
    let mut owner = host.member(room, "owner", Role::Owner).await;
    let mut bob = guest.member(room, "bob", Role::Audience).await;
    bob.call(room, apply(-1, 30)).await.unwrap();
    owner.call(room, accept_app("bob")).await.unwrap();
    let path = format!("/v1/admin/rooms/{room}");
    assert_eq!(closer.admin_api().delete(&path).await.0, 204);
    owner.expect("room closed", room_closed).await;
}

/// The events `sink` got, the first delivery of each id, once the room's `room_closed` (its
/// last event) arrived; each checked to be signed with the sink's secret.
async fn delivered(sink: &HookSink) -> Vec<WebhookEvent> {
    let closed = || sink.events().iter().any(|e| e.kind == "room_closed");
    wait_until("the room's last event", closed).await;
    let mut seen = HashSet::new();
    sink.signed_events()
        .into_iter()
        .filter(|e| seen.insert(e.id.clone()))
        .collect()
}

fn kinds(events: &[WebhookEvent]) -> Vec<&str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_delivered_once_in_room_order_whichever_node_writes_it() {
    let (sink, url) = hook_sink(true).await;
    let c = Cluster::start_with("hooks", 3, &hook_flags(&url)).await;
    let room = "r-hooks";
    scenario(c.node(0), c.node(1), c.node(2), room).await;
    let events = delivered(&sink).await;
    // Nothing more arrives late: one node delivers, so nothing is posted twice.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(sink.count(), EXPECTED.len(), "{:?}", kinds(&sink.events()));
    assert_eq!(kinds(&events), EXPECTED);
    let versions: Vec<u64> = events.iter().map(|e| e.version).collect();
    assert!(versions.windows(2).all(|w| w[0] <= w[1]), "{versions:?}");
    assert_eq!(events[0].id, format!("{room}/1/0/room_created"));
    // Delivered deliveries are removed from Redis.
    let queued = redis(&["ZCARD", &format!("{}:hooks:{url}", c.prefix)]);
    assert_eq!(queued.trim(), "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_delivering_owner_loses_no_event_and_keeps_room_order() {
    let (sink, url) = hook_sink(false).await;
    let mut c = Cluster::start_with("hookkill", 3, &hook_flags(&url)).await;
    let room = "r-hookkill";
    let mut owner = c.node(0).member(room, "owner", Role::Owner).await;
    let mut bob = c.node(1).member(room, "bob", Role::Audience).await;
    bob.call(room, apply(-1, 30)).await.unwrap();
    // The receiver is down: the delivering node is retrying the first event.
    wait_until("a failed attempt", || sink.attempts() >= 1).await;
    let holder = redis(&["GET", &format!("{}:hooklease", c.prefix)]);
    let room_owner = redis(&["GET", &format!("{}:lease:{room}", c.prefix)]);
    // `n{i}` and `n{i}|{epoch}`.
    let index = |v: &str| -> usize {
        let node = v.trim().split('|').next().unwrap();
        node.trim_start_matches('n').parse().unwrap()
    };
    let (holder, room_owner) = (index(&holder), index(&room_owner));
    assert_eq!(room_owner, 0, "the owner's node opened the room");
    // Kill both the node that delivers and the room's owner (one node when they coincide).
    c.kill(holder).await;
    if room_owner != holder {
        c.kill(room_owner).await;
    }
    drop(owner);
    let alive = c.alive();
    let other = alive[0];
    // The room moves to a surviving node; its events go on in order.
    owner = c.node(other).member(room, "owner", Role::Owner).await;
    owner.call(room, accept_app("bob")).await.unwrap();
    let path = format!("/v1/admin/rooms/{room}");
    assert_eq!(c.node(other).admin_api().delete(&path).await.0, 204);
    sink.up.store(true, Ordering::SeqCst);
    let events = delivered(&sink).await;
    let got = kinds(&events);
    // Up to the kill, as on a single node; then the accept (and what the rejoin on another
    // node caused) and the close.
    assert_eq!(&got[..5], &EXPECTED[..5], "{got:?}");
    let accepted = got.iter().position(|k| *k == "application_accepted");
    assert!(accepted.is_some_and(|i| got[i + 1] == "seated"), "{got:?}");
    assert_eq!(got.last(), Some(&"room_closed"), "{got:?}");
    let versions: Vec<u64> = events.iter().map(|e| e.version).collect();
    assert!(
        versions.windows(2).all(|w| w[0] <= w[1]),
        "in room order: {versions:?}"
    );
}

/// The body of an event with its times removed (the two runs happen at different times).
fn timeless(e: &WebhookEvent) -> Value {
    let mut v = serde_json::to_value(e).unwrap();
    v.as_object_mut().unwrap().remove("at_ms");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_and_payloads_are_those_of_a_single_node() {
    let room = "r-same";
    let (single_sink, single_url) = hook_sink(true).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = process::serve(dir.path());
    cmd.args(hook_flags(&single_url));
    let single = Served::spawn(cmd).await;
    scenario(&single, &single, &single, room).await;
    let alone = delivered(&single_sink).await;

    let (sink, url) = hook_sink(true).await;
    let c = Cluster::start_with("hooksame", 3, &hook_flags(&url)).await;
    scenario(c.node(0), c.node(1), c.node(2), room).await;
    // `delivered` checks every signature against the receiver's secret.
    let clustered = delivered(&sink).await;
    assert_eq!(kinds(&alone), EXPECTED);
    let a: Vec<Value> = alone.iter().map(timeless).collect();
    let b: Vec<Value> = clustered.iter().map(timeless).collect();
    assert_eq!(a, b, "the same events, ids and data");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_webhook_setting_is_refused_before_the_node_listens() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let mut cmd = process::serve(dir.path());
    cmd.args(["--redis", &redis_url(), "--node-id", "n0"])
        .args(hook_flags("https://127.0.0.1:9/hook"))
        .arg("--webhook-ca-file")
        .arg(&missing);
    let out = within(WAIT, "the refusal", cmd.output()).await.unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(!out.status.success());
    assert!(!stdout.contains("listening"), "{stdout}");
    assert!(!stdout.contains("cluster node"), "{stdout}");
    assert!(stderr.contains("webhook CA file"), "{stderr}");
    assert!(!stderr.contains("io:"), "{stderr}");
}
