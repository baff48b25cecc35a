//! A large room (20,000 members) on the Redis store (`COGUEST_TEST_REDIS`, default
//! 127.0.0.1:6379): compaction writes its snapshot in chunks and trims the log in slices, and
//! loading it back in pieces gives exactly what was stored; replayed, the same room.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coguest_core::{Command, Profile, Role, Room, RoomConfig, RoomId, RoomSnapshot, Timestamp};
use coguest_server::store::redis::{Acquired, RedisStore};
use coguest_server::store::{LogEntry, LogInput, RoomStore};

const MEMBERS: usize = 20_000;

fn redis_url() -> String {
    std::env::var("COGUEST_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn join(i: usize) -> Command {
    Command::Join {
        profile: Profile {
            user_name: format!("Member number {i}"),
            avatar_url: format!("https://avatars.example.com/u/{i}.png"),
        },
        role: if i == 0 { Role::Owner } else { Role::Audience },
    }
}

/// Applies `entry` to `room` as the server does, draining its outputs.
fn apply(room: &mut Room, entry: &LogEntry) {
    match &entry.input {
        LogInput::Command { actor, command } => {
            let _ = room.handle_command(entry.at, actor, command.clone());
        }
        LogInput::Timeout => room.handle_timeout(entry.at),
    }
    while room.poll_output().is_some() {}
}

/// Entry `seq`: member `seq` leaves, then (next entry) joins again.
fn churn(seq: u64) -> LogEntry {
    let user = format!("u{}", seq / 2);
    LogEntry {
        seq,
        at: Timestamp::from_millis(1_000 + seq),
        input: LogInput::Command {
            actor: user.as_str().into(),
            command: if seq % 2 == 1 {
                Command::Leave
            } else {
                join((seq / 2) as usize)
            },
        },
        client_req_id: Some(seq),
    }
}

async fn query<T: redis::FromRedisValue>(
    conn: &mut redis::aio::MultiplexedConnection,
    args: &[&str],
) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query_async(conn).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_room_compacts_in_chunks_and_reloads_identically() {
    let prefix = format!("test-compact-{}", std::process::id());
    let store = RedisStore::connect(&redis_url(), &prefix, "node-a", 5_000)
        .await
        .expect("Redis at COGUEST_TEST_REDIS (default 127.0.0.1:6379)");
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let id = RoomId::from("big");
    assert!(matches!(
        store.acquire(&id).await.unwrap(),
        Acquired::Owner(_)
    ));

    let mut room = Room::new(RoomConfig::default(), Timestamp::from_millis(0)).unwrap();
    for i in 0..MEMBERS {
        let user = format!("u{i}");
        room.handle_command(Timestamp::from_millis(1), &user.as_str().into(), join(i))
            .unwrap();
        while room.poll_output().is_some() {}
    }
    assert_eq!(room.member_count(), MEMBERS);
    assert!(store.create(&id, &room.snapshot()).await.unwrap());

    let mut snapshots: Vec<(u64, RoomSnapshot)> = Vec::new();
    let mut entries = Vec::new();
    for seq in 1..=1_300 {
        let entry = churn(seq);
        apply(&mut room, &entry);
        store.append(&id, &entry).await.unwrap();
        entries.push(entry);
        if seq % 600 == 0 {
            store.compact(&id, seq, &room.snapshot()).await.unwrap();
            snapshots.push((seq, room.snapshot()));
        }
    }
    let room_key = format!("{prefix}:room:big");
    let snap = |seq: u64| format!("{prefix}:snap:big:{seq}");
    // Two compactions: the first checkpoint (600) is the base now, in chunks; the snapshot of
    // the new room (inline in the hash) is gone, and so is the log up to the base.
    let chunks: usize = query(&mut conn, &["LLEN", &snap(600)]).await;
    assert!(chunks > 4, "a 20,000-member snapshot in {chunks} chunk(s)");
    let inline: bool = query(&mut conn, &["HEXISTS", &room_key, "base"]).await;
    assert!(!inline);
    let first: Vec<String> = query(
        &mut conn,
        &["ZRANGE", &format!("{prefix}:log:big"), "0", "0"],
    )
    .await;
    assert!(first[0].contains("\"seq\":601"), "{first:?}");

    let stored = store.load(&id).await.unwrap().unwrap();
    assert_eq!((stored.base_seq, stored.checkpoint_seq), (600, 1_200));
    assert_eq!(stored.base, snapshots[0].1, "the base reads back whole");
    assert_eq!(stored.log, entries[600..].to_vec());
    // Replayed, it is the room as it is in memory.
    let mut replayed = Room::restore(stored.base).unwrap();
    for e in &stored.log {
        apply(&mut replayed, e);
    }
    assert_eq!(replayed.snapshot(), room.snapshot());

    // A third compaction drops the old base's chunks; deleting the room drops the rest.
    store.compact(&id, 1_300, &room.snapshot()).await.unwrap();
    let gone: bool = query(&mut conn, &["EXISTS", &snap(600)]).await;
    assert!(!gone);
    let stored = store.load(&id).await.unwrap().unwrap();
    assert_eq!((stored.base_seq, stored.checkpoint_seq), (1_200, 1_300));
    assert_eq!(stored.base, snapshots[1].1);
    store.delete(&id).await.unwrap();
    for key in [
        snap(1_200),
        snap(1_300),
        room_key,
        format!("{prefix}:log:big"),
    ] {
        let left: bool = query(&mut conn, &["EXISTS", &key]).await;
        assert!(!left, "{key} left after the delete");
    }
    assert!(store.load(&id).await.unwrap().is_none());
    let _: i64 = query(
        &mut conn,
        &[
            "DEL",
            &format!("{prefix}:rooms"),
            &format!("{prefix}:epoch:big"),
            &format!("{prefix}:lease:big"),
            &format!("{prefix}:incarnation:big"),
        ],
    )
    .await;
}

/// Another node loading while the owner compacts over and over (the base moves, its chunks
/// are unlinked, the log is trimmed under the reader): every load is a whole room, its log
/// following its base without a gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_racing_compactions_reads_a_whole_room() {
    const SMALLER: usize = 3_000;
    const ENTRIES: u64 = 400;
    let prefix = format!("test-compact-race-{}", std::process::id());
    let owner = RedisStore::connect(&redis_url(), &prefix, "node-a", 5_000)
        .await
        .unwrap();
    let reader = RedisStore::connect(&redis_url(), &prefix, "node-b", 5_000)
        .await
        .unwrap();
    let id = RoomId::from("race");
    assert!(matches!(
        owner.acquire(&id).await.unwrap(),
        Acquired::Owner(_)
    ));
    let mut room = Room::new(RoomConfig::default(), Timestamp::from_millis(0)).unwrap();
    for i in 0..SMALLER {
        let user = format!("u{i}");
        room.handle_command(Timestamp::from_millis(1), &user.as_str().into(), join(i))
            .unwrap();
        while room.poll_output().is_some() {}
    }
    assert!(owner.create(&id, &room.snapshot()).await.unwrap());
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let loads = tokio::spawn({
        let (done, id) = (done.clone(), id.clone());
        async move {
            let mut n = 0;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let stored = reader.load(&id).await.unwrap().unwrap();
                let seqs: Vec<u64> = stored.log.iter().map(|e| e.seq).collect();
                let want: Vec<u64> =
                    (stored.base_seq + 1..=stored.base_seq + seqs.len() as u64).collect();
                assert_eq!(seqs, want, "the log follows the base {}", stored.base_seq);
                let mut replayed = Room::restore(stored.base).unwrap();
                for e in &stored.log {
                    apply(&mut replayed, e);
                }
                n += 1;
            }
            n
        }
    });
    for seq in 1..=ENTRIES {
        let entry = churn(seq);
        apply(&mut room, &entry);
        owner.append(&id, &entry).await.unwrap();
        if seq % 50 == 0 {
            owner.compact(&id, seq, &room.snapshot()).await.unwrap();
        }
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let n = loads.await.unwrap();
    assert!(n > 3, "only {n} loads ran during the compactions");
    let stored = owner.load(&id).await.unwrap().unwrap();
    let mut replayed = Room::restore(stored.base).unwrap();
    for e in &stored.log {
        apply(&mut replayed, e);
    }
    assert_eq!(replayed.snapshot(), room.snapshot());
    owner.delete(&id).await.unwrap();
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: i64 = query(
        &mut conn,
        &[
            "DEL",
            &format!("{prefix}:rooms"),
            &format!("{prefix}:epoch:race"),
            &format!("{prefix}:lease:race"),
            &format!("{prefix}:incarnation:race"),
        ],
    )
    .await;
}
