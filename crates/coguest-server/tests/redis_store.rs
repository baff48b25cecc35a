//! The Redis store against a real Redis (`COGUEST_TEST_REDIS`, default 127.0.0.1:6379; `.ci/run`
//! starts one when none runs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coguest_core::{Room, RoomConfig, RoomId, Timestamp};
use coguest_server::store::redis::{Acquired, RedisStore, response_timeout};
use coguest_server::store::{LogEntry, LogInput, RoomStore, StoreError};
use std::time::{Duration, Instant};

fn redis_url() -> String {
    std::env::var("COGUEST_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Keeps Redis busy for 1.2 s: it runs one script at a time, so every other call waits.
const BUSY: &str = r#"
local t = redis.call('TIME')
local start = tonumber(t[1]) * 1000000 + tonumber(t[2])
repeat
  t = redis.call('TIME')
until tonumber(t[1]) * 1000000 + tonumber(t[2]) - start >= 1200000
return 1
"#;

/// A store on a fresh prefix holding the lease of a new room `busy`, and a client for the
/// same Redis.
async fn store_with_room(prefix: &str, lease_ms: u64) -> (RedisStore, RoomId, redis::Client) {
    let url = redis_url();
    let store = RedisStore::connect(&url, prefix, "node-a", lease_ms)
        .await
        .expect("Redis at COGUEST_TEST_REDIS (default 127.0.0.1:6379)");
    let room = RoomId::from("busy");
    assert!(matches!(
        store.acquire(&room).await.unwrap(),
        Acquired::Owner(_)
    ));
    let snapshot = Room::new(RoomConfig::default(), Timestamp::from_millis(0))
        .unwrap()
        .snapshot();
    assert!(store.create(&room, &snapshot).await.unwrap());
    (store, room, redis::Client::open(url.as_str()).unwrap())
}

/// Held by each test that keeps Redis busy: two at once would each wait for the other's.
static BUSY_REDIS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Starts [`BUSY`] and returns once Redis is in it; the handle ends with the script.
async fn keep_redis_busy(client: &redis::Client) -> tokio::task::JoinHandle<()> {
    // No timeout of its own: the task ends when the script does.
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
    let mut busy = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .unwrap();
    let blocker = tokio::spawn(async move {
        let _: redis::RedisResult<i64> = redis::cmd("EVAL")
            .arg(BUSY)
            .arg(0)
            .query_async(&mut busy)
            .await;
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    blocker
}

fn entry(seq: u64) -> LogEntry {
    LogEntry {
        seq,
        at: Timestamp::from_millis(seq),
        input: LogInput::Timeout,
        client_req_id: None,
    }
}

async fn remove_keys(client: &redis::Client, prefix: &str) {
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL")
            .arg(keys)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
}

/// A long script (as a large room's compaction was, its whole snapshot in one) keeps Redis
/// busy past the client's default 500 ms; the calls behind it must wait, up to a lease, rather
/// than fail (an append that timed out was answered `FAILED` while Redis still ran it).
#[tokio::test]
async fn a_store_call_waits_out_a_busy_redis_up_to_a_lease() {
    let _one_at_a_time = BUSY_REDIS.lock().await;
    assert_eq!(response_timeout(2_000), Duration::from_secs(2));
    let prefix = format!("test-busy-{}", std::process::id());
    let (store, room, client) = store_with_room(&prefix, 2_000).await;
    let blocker = keep_redis_busy(&client).await;
    let started = Instant::now();
    store.append(&room, &entry(1)).await.unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(600),
        "the append did not wait behind the busy script ({waited:?}): the test proves nothing"
    );
    blocker.await.unwrap();
    let stored = store.load(&room).await.unwrap().unwrap();
    assert_eq!(stored.log, vec![entry(1)]);
    remove_keys(&client, &prefix).await;
}

/// Past the lease a call gives up, as `Unanswered`: whether Redis still carries out the write
/// is not known to the caller (what the room's reload and the answer's wording allow for), and
/// the room's log stays whole either way.
#[tokio::test]
async fn a_call_redis_does_not_answer_within_the_lease_is_unanswered() {
    let _one_at_a_time = BUSY_REDIS.lock().await;
    assert_eq!(response_timeout(100), Duration::from_millis(500));
    let prefix = format!("test-unanswered-{}", std::process::id());
    let (store, room, client) = store_with_room(&prefix, 500).await;
    store.append(&room, &entry(1)).await.unwrap();
    let blocker = keep_redis_busy(&client).await;
    let err = store.append(&room, &entry(2)).await.unwrap_err();
    assert!(matches!(err, StoreError::Unanswered(_)), "{err:?}");
    assert!(err.to_string().contains("did not answer in time"), "{err}");
    blocker.await.unwrap();
    // Redis is free again: the log holds entry 1 and perhaps 2, and goes on from there once
    // the room is owned again (the 500 ms lease ran out meanwhile).
    assert!(matches!(
        store.acquire(&room).await.unwrap(),
        Acquired::Owner(_)
    ));
    let last = store.log_seq(&room).await.unwrap().unwrap();
    assert!((1..=2).contains(&last), "log_seq {last}");
    store.append(&room, &entry(last + 1)).await.unwrap();
    let stored = store.load(&room).await.unwrap().unwrap();
    let seqs: Vec<u64> = stored.log.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=last + 1).collect::<Vec<_>>());
    remove_keys(&client, &prefix).await;
}
