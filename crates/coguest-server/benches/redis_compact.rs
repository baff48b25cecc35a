//! How long Redis is held by the compaction (and the reload) of a 20,000-member room: the
//! longest single command Redis ran (its `SLOWLOG`, every command logged) and the slowest
//! `PING` of a loop on another connection while it ran. BEFORE is the previous layout (the
//! whole snapshot in one script, its text copied below); AFTER is the store's own
//! [`RedisStore::compact`] and [`RedisStore::load`] (chunks, slices, pages).
//!
//! `cargo bench -p coguest-server --bench redis_compact` starts its own `redis-server` on a
//! free loopback port (or uses `COGUEST_BENCH_REDIS`); `ROUNDS` compactions per layout, each
//! after 1,000 appended entries, as a room compacts every 1,000 entries.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use coguest_core::{Command, Profile, Role, Room, RoomConfig, RoomId, Timestamp};
use coguest_server::store::redis::{Acquired, RedisStore};
use coguest_server::store::{LogEntry, LogInput, RoomStore};
use redis::aio::MultiplexedConnection;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const MEMBERS: usize = 20_000;
const ROUNDS: u64 = 5;
const EVERY: u64 = 1_000;

/// The previous compaction: one script with the whole snapshot.
const OLD_COMPACT: &str = r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local cp = redis.call('HGET', KEYS[2], 'checkpoint')
if cp then
  redis.call('HSET', KEYS[2], 'base', cp, 'base_seq', redis.call('HGET', KEYS[2], 'checkpoint_seq'))
end
redis.call('HSET', KEYS[2], 'checkpoint', ARGV[3], 'checkpoint_seq', ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', redis.call('HGET', KEYS[2], 'base_seq'))
return 1
"#;

/// The previous load: the base and the whole log in one reply.
const OLD_LOAD: &str = r#"
local h = redis.call('HMGET', KEYS[1], 'base', 'base_seq', 'checkpoint_seq')
if not h[1] then return {} end
local out = {h[1], h[2], h[3] or h[2]}
local log = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. tonumber(h[2]), '+inf')
for i = 1, #log do out[#out + 1] = log[i] end
return out
"#;

fn join(i: usize) -> Command {
    Command::Join {
        profile: Profile {
            user_name: format!("Member number {i}"),
            avatar_url: format!("https://avatars.example.com/u/{i}.png"),
        },
        role: if i == 0 { Role::Owner } else { Role::Audience },
    }
}

fn big_room() -> Room {
    let mut room = Room::new(RoomConfig::default(), Timestamp::from_millis(0)).unwrap();
    for i in 0..MEMBERS {
        let user = format!("u{i}");
        room.handle_command(Timestamp::from_millis(1), &user.as_str().into(), join(i))
            .unwrap();
        while room.poll_output().is_some() {}
    }
    room
}

/// A small log entry (a timeout), as most of a room's entries are.
fn entry(seq: u64) -> LogEntry {
    LogEntry {
        seq,
        at: Timestamp::from_millis(seq),
        input: LogInput::Timeout,
        client_req_id: None,
    }
}

/// What one measured operation held Redis for.
#[derive(Default, Clone, Copy)]
struct Held {
    /// The longest command Redis ran (SLOWLOG), µs.
    longest_us: u64,
    /// The slowest PING round trip from another connection meanwhile, µs.
    ping_us: u64,
    /// The operation's wall time, µs.
    total_us: u64,
}

impl Held {
    fn max(self, o: Held) -> Held {
        Held {
            longest_us: self.longest_us.max(o.longest_us),
            ping_us: self.ping_us.max(o.ping_us),
            total_us: self.total_us.max(o.total_us),
        }
    }
}

async fn cmd<T: redis::FromRedisValue>(c: &mut MultiplexedConnection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query_async(c).await.unwrap()
}

/// Runs `op` while a PING loop runs on `ping`, with Redis logging every command's duration.
async fn measure<F: std::future::Future<Output = ()>>(
    admin: &mut MultiplexedConnection,
    mut ping: MultiplexedConnection,
    op: F,
) -> Held {
    let _: () = cmd(admin, &["SLOWLOG", "RESET"]).await;
    let stop = Arc::new(AtomicBool::new(false));
    let pinger = tokio::spawn({
        let stop = stop.clone();
        async move {
            let mut worst = Duration::ZERO;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let _: String = redis::cmd("PING").query_async(&mut ping).await.unwrap();
                worst = worst.max(t.elapsed());
            }
            worst
        }
    });
    let started = Instant::now();
    op.await;
    let total = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let ping = pinger.await.unwrap();
    // Entries: [id, time, duration µs, [command, args...], ...].
    let log: Vec<redis::Value> = cmd(admin, &["SLOWLOG", "GET", "-1"]).await;
    let mut longest = 0;
    for e in log {
        let redis::Value::Array(fields) = e else {
            continue;
        };
        let name = match fields.get(3) {
            Some(redis::Value::Array(a)) => match a.first() {
                Some(redis::Value::BulkString(b)) => String::from_utf8_lossy(b).to_uppercase(),
                _ => String::new(),
            },
            _ => String::new(),
        };
        if name == "SLOWLOG" || name == "PING" {
            continue;
        }
        if let Some(redis::Value::Int(us)) = fields.get(2) {
            longest = longest.max(*us as u64);
        }
    }
    Held {
        longest_us: longest,
        ping_us: ping.as_micros() as u64,
        total_us: total.as_micros() as u64,
    }
}

/// BEFORE: the previous scripts on the same Redis.
async fn before(url: &str, admin: &mut MultiplexedConnection, room: &mut Room) -> (Held, Held) {
    let client = redis::Client::open(url).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let (lease, hash, log) = ("old:lease:big", "old:room:big", "old:log:big");
    let empty = serde_json::to_string(
        &Room::new(RoomConfig::default(), Timestamp::from_millis(0))
            .unwrap()
            .snapshot(),
    )
    .unwrap();
    let _: () = cmd(&mut c, &["SET", lease, "bench|1"]).await;
    let _: () = cmd(&mut c, &["HSET", hash, "base", &empty, "base_seq", "0"]).await;
    let compact = redis::Script::new(OLD_COMPACT);
    let load = redis::Script::new(OLD_LOAD);
    let mut worst = Held::default();
    for round in 1..=ROUNDS {
        for seq in (round - 1) * EVERY + 1..=round * EVERY {
            let json = serde_json::json!({"seq": seq, "at": seq, "command": "timeout"});
            let _: () = cmd(&mut c, &["ZADD", log, &seq.to_string(), &json.to_string()]).await;
        }
        room.handle_timeout(Timestamp::from_millis(round));
        let snapshot = serde_json::to_string(&room.snapshot()).unwrap();
        let ping = client.get_multiplexed_async_connection().await.unwrap();
        let mut conn = c.clone();
        let held = measure(admin, ping, async {
            let _: i64 = compact
                .key(lease)
                .key(hash)
                .key(log)
                .arg("bench|1")
                .arg(round * EVERY)
                .arg(&snapshot)
                .invoke_async(&mut conn)
                .await
                .unwrap();
        })
        .await;
        worst = worst.max(held);
    }
    let ping = client.get_multiplexed_async_connection().await.unwrap();
    let mut conn = c.clone();
    let loaded = measure(admin, ping, async {
        let out: Vec<String> = load
            .key(hash)
            .key(log)
            .invoke_async(&mut conn)
            .await
            .unwrap();
        assert!(out.len() > 3);
    })
    .await;
    let _: () = cmd(&mut c, &["DEL", lease, hash, log]).await;
    (worst, loaded)
}

/// AFTER: the store's compaction and load.
async fn after(url: &str, admin: &mut MultiplexedConnection, room: &mut Room) -> (Held, Held) {
    let client = redis::Client::open(url).unwrap();
    let store = RedisStore::connect(url, "new", "bench", 60_000)
        .await
        .unwrap();
    let id = RoomId::from("big");
    assert!(matches!(
        store.acquire(&id).await.unwrap(),
        Acquired::Owner(_)
    ));
    let empty = Room::new(RoomConfig::default(), Timestamp::from_millis(0)).unwrap();
    assert!(store.create(&id, &empty.snapshot()).await.unwrap());
    let mut worst = Held::default();
    for round in 1..=ROUNDS {
        for seq in (round - 1) * EVERY + 1..=round * EVERY {
            store.append(&id, &entry(seq)).await.unwrap();
        }
        room.handle_timeout(Timestamp::from_millis(round));
        let snapshot = room.snapshot();
        let ping = client.get_multiplexed_async_connection().await.unwrap();
        let held = measure(admin, ping, async {
            store.compact(&id, round * EVERY, &snapshot).await.unwrap();
        })
        .await;
        worst = worst.max(held);
    }
    let ping = client.get_multiplexed_async_connection().await.unwrap();
    let loaded = measure(admin, ping, async {
        let stored = store.load(&id).await.unwrap().unwrap();
        assert_eq!(stored.base_seq, (ROUNDS - 1) * EVERY);
    })
    .await;
    store.delete(&id).await.unwrap();
    (worst, loaded)
}

/// A `redis-server` of our own on a free loopback port; its URL.
fn own_redis() -> (Option<std::process::Child>, String) {
    if let Ok(url) = std::env::var("COGUEST_BENCH_REDIS") {
        return (None, url);
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("redis-server on PATH");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    (Some(child), format!("redis://127.0.0.1:{port}"))
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: then skip the run.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let (mut child, url) = own_redis();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = redis::Client::open(url.as_str()).unwrap();
        let mut admin = client.get_multiplexed_async_connection().await.unwrap();
        let _: () = cmd(&mut admin, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]).await;
        let _: () = cmd(&mut admin, &["CONFIG", "SET", "slowlog-max-len", "100000"]).await;
        let mut room = big_room();
        let bytes = serde_json::to_vec(&room.snapshot()).unwrap().len();
        println!("room of {MEMBERS} members, snapshot {bytes} bytes; {ROUNDS} compactions every {EVERY} entries");
        let (b_compact, b_load) = before(&url, &mut admin, &mut room).await;
        let (a_compact, a_load) = after(&url, &mut admin, &mut room).await;
        println!("| operation | layout | longest Redis command | slowest PING meanwhile | wall time |");
        println!("|---|---|---|---|---|");
        for (op, layout, h) in [
            ("compaction (worst of rounds)", "before", b_compact),
            ("compaction (worst of rounds)", "after", a_compact),
            ("load", "before", b_load),
            ("load", "after", a_load),
        ] {
            println!(
                "| {op} | {layout} | {:.2} ms | {:.2} ms | {:.1} ms |",
                h.longest_us as f64 / 1e3,
                h.ping_us as f64 / 1e3,
                h.total_us as f64 / 1e3
            );
        }
    });
    if let Some(c) = child.as_mut() {
        let _ = c.kill();
        let _ = c.wait();
    }
}
