//! Restart on the same data directory: state, deadlines, resume and retries survive.

use crate::common::*;
use coguest_core::Role;
use coguest_proto::{Change, ClientCommand, Event, NoResponseReason, ServerMsg};
use std::time::Duration;

const ROOM: &str = "persist";

fn long_grace(c: &mut coguest_server::ServerConfig) {
    c.grace_period = Duration::from_secs(3600);
}

#[tokio::test]
async fn state_and_deadlines_survive_a_restart() {
    let s = TestServer::start_with(long_grace).await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut a = s.member(ROOM, "a", Role::Audience).await;
    let mut b = s.member(ROOM, "b", Role::Audience).await;
    let _c = s.member(ROOM, "c", Role::Audience).await;
    owner.call(ROOM, invite("a", 2, 60)).await.unwrap();
    a.call(ROOM, accept_inv("owner")).await.unwrap();
    b.call(ROOM, apply(-1, 60)).await.unwrap();
    let last = owner.call(ROOM, invite("c", -1, 120)).await.unwrap();
    let before = s.room_json(ROOM).await;
    assert_eq!(before["state"]["connected"].as_array().unwrap().len(), 2);
    assert_eq!(before["state"]["applicants"].as_array().unwrap().len(), 1);
    assert_eq!(before["state"]["invitees"].as_array().unwrap().len(), 1);

    let s = s.restart().await;
    assert_eq!(owner.closed().await, Some(coguest_proto::CLOSE_RECONNECT));
    assert_eq!(s.room_json(ROOM).await, before, "same state after restart");

    // The owner resumes from its version: nothing was missed.
    let mut owner = s.connect("owner", Role::Owner).await;
    owner.join(ROOM, last.version).await.unwrap();
    let m = owner.expect("resumed", resumed).await;
    assert!(matches!(m, ServerMsg::Resumed { version, .. } if Some(version) == last.version));

    // Deadlines are intact: the application times out 60 s after it was made.
    s.clock.advance_secs(59);
    owner.room_barrier(ROOM).await;
    assert!(owner.drain_events().is_empty());
    s.clock.advance_secs(1);
    owner
        .expect("applicant removed", |m| {
            matches!(m, ServerMsg::Change { change: Change::ApplicantRemoved { user_id }, .. } if user_id == "b")
        })
        .await;
    s.clock.advance_secs(60);
    owner
        .event("invitation timed out", |e| {
            matches!(e, Event::HostInvitationNoResponse { reason: NoResponseReason::Timeout, guest_user } if guest_user.user_id == "c")
        })
        .await;
}

#[tokio::test]
async fn a_deadline_that_passed_while_down_reaches_its_user_on_resume() {
    let s = TestServer::start_with(long_grace).await;
    let _owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut b = s.member(ROOM, "b", Role::Audience).await;
    let ack = b.call(ROOM, apply(-1, 30)).await.unwrap();
    let since = ack.version.unwrap();
    let s = s.restart_after_secs(45).await;

    let mut b = s.connect("b", Role::Audience).await;
    b.join(ROOM, Some(since)).await.unwrap();
    b.event("timed out while down", application_timed_out).await;
    let m = b.expect("resumed", resumed).await;
    assert!(matches!(m, ServerMsg::Resumed { version, .. } if version > since));
    let v = s.room_json(ROOM).await;
    assert!(v["state"]["applicants"].as_array().unwrap().is_empty());
}

/// A deadline that passed while the server was down fires at start-up, on the room actor's own
/// timer: no client has connected or sent anything when the admin API reads the room (reading
/// it does not expire requests), and each outcome is waiting for its user on resume.
#[tokio::test]
async fn a_deadline_that_passed_while_down_fires_at_start_up_without_a_command() {
    let s = TestServer::start_with(long_grace).await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut b = s.member(ROOM, "b", Role::Audience).await;
    let _c = s.member(ROOM, "c", Role::Audience).await;
    let mut d = s.member(ROOM, "d", Role::Audience).await;
    let applied = b.call(ROOM, apply(-1, 30)).await.unwrap();
    let invited = owner.call(ROOM, invite("c", -1, 40)).await.unwrap();
    // Due after the restart: must still be pending.
    d.call(ROOM, apply(-1, 120)).await.unwrap();
    let before = s.room_json(ROOM).await;
    assert_eq!(before["state"]["applicants"].as_array().unwrap().len(), 2);
    assert_eq!(before["state"]["invitees"].as_array().unwrap().len(), 1);
    // Past b's and c's deadlines, not d's.
    let s = s.restart_after_secs(45).await;

    let after = s.room_json(ROOM).await;
    let applicants: Vec<&str> = after["state"]["applicants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["user"]["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(applicants, ["d"], "b's application expired, d's did not");
    assert_eq!(after["state"]["invitees"], serde_json::json!([]));
    assert!(after["state"]["version"].as_u64() > before["state"]["version"].as_u64());
    assert_eq!(
        after["member_count"], 4,
        "nobody left: the grace period is long"
    );

    // Each outcome reaches its user when it comes back.
    let mut b = s.connect("b", Role::Audience).await;
    b.join(ROOM, applied.version).await.unwrap();
    b.event("application timed out", application_timed_out)
        .await;
    b.expect("resumed", resumed).await;
    let mut owner = s.connect("owner", Role::Owner).await;
    owner.join(ROOM, invited.version).await.unwrap();
    owner
        .event("invitation timed out", |e| {
            matches!(e, Event::HostInvitationNoResponse { reason: NoResponseReason::Timeout, guest_user } if guest_user.user_id == "c")
        })
        .await;
    owner.expect("resumed", resumed).await;
}

#[tokio::test]
async fn a_retried_request_id_is_answered_from_the_log_after_restart() {
    let s = TestServer::start_with(long_grace).await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut b = s.member(ROOM, "b", Role::Audience).await;
    let id = 42;
    b.send_with_id(id, Some(ROOM), apply(-1, 300)).await;
    let first = b.answer(id).await.unwrap();
    owner.barrier().await;
    let s = s.restart().await;
    let mut b = s.connect("b", Role::Audience).await;
    b.join(ROOM, first.version).await.unwrap();
    b.send_with_id(id, Some(ROOM), apply(-1, 300)).await;
    assert_eq!(b.answer(id).await.unwrap(), first);
    let v = s.room_json(ROOM).await;
    assert_eq!(v["state"]["applicants"].as_array().unwrap().len(), 1);
    assert_eq!(
        v["state"]["applicants"][0]["request_id"],
        first.request_id.unwrap()
    );
}

#[tokio::test]
async fn too_far_behind_gets_a_snapshot_and_compaction_keeps_state() {
    let s = TestServer::start_with(|c| {
        long_grace(c);
        c.resume_ring = 4;
        c.compact_every = 3;
    })
    .await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut b = s.member(ROOM, "b", Role::Audience).await;
    let first = b.call(ROOM, apply(-1, 300)).await.unwrap();
    for _ in 0..10 {
        b.call(ROOM, ClientCommand::CancelApplication)
            .await
            .unwrap();
        b.call(ROOM, apply(-1, 300)).await.unwrap();
    }
    owner.call(ROOM, invite("b", 4, 300)).await.unwrap();
    let before = s.room_json(ROOM).await;
    let s = s.restart().await;
    assert_eq!(s.room_json(ROOM).await, before);
    let mut b = s.connect("b", Role::Audience).await;
    b.join(ROOM, first.version).await.unwrap();
    let state = b.take_snapshot(ROOM);
    assert_eq!(state.applicants.len(), 1);
    assert_eq!(state.invitees.len(), 1);
    // Still works after compaction and restart.
    b.call(ROOM, accept_inv("owner")).await.unwrap();
    b.event("already seated", application_closed_as_seated)
        .await;
}

/// A SQLite store whose appends, or compactions, can be made to fail.
struct Flaky {
    inner: coguest_server::SqliteStore,
    fail: std::sync::atomic::AtomicBool,
    fail_compactions: std::sync::atomic::AtomicBool,
    compactions_tried: std::sync::atomic::AtomicU64,
}

impl Flaky {
    fn open(path: &std::path::Path) -> Self {
        Flaky {
            inner: coguest_server::SqliteStore::open(path).unwrap(),
            fail: false.into(),
            fail_compactions: false.into(),
            compactions_tried: 0.into(),
        }
    }
}

#[async_trait::async_trait]
impl coguest_server::RoomStore for Flaky {
    async fn room_ids(&self) -> Result<Vec<coguest_core::RoomId>, coguest_server::StoreError> {
        self.inner.room_ids().await
    }
    async fn load(
        &self,
        room: &coguest_core::RoomId,
    ) -> Result<Option<coguest_server::store::StoredRoom>, coguest_server::StoreError> {
        self.inner.load(room).await
    }
    async fn create(
        &self,
        room: &coguest_core::RoomId,
        snapshot: &coguest_core::RoomSnapshot,
    ) -> Result<bool, coguest_server::StoreError> {
        self.inner.create(room, snapshot).await
    }
    async fn append(
        &self,
        room: &coguest_core::RoomId,
        entry: &coguest_server::store::LogEntry,
    ) -> Result<(), coguest_server::StoreError> {
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(coguest_server::StoreError::Backend("injected".into()));
        }
        self.inner.append(room, entry).await
    }
    async fn compact(
        &self,
        room: &coguest_core::RoomId,
        seq: u64,
        snapshot: &coguest_core::RoomSnapshot,
    ) -> Result<(), coguest_server::StoreError> {
        self.compactions_tried
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if self
            .fail_compactions
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            return Err(coguest_server::StoreError::Backend("timed out".into()));
        }
        self.inner.compact(room, seq, snapshot).await
    }
    async fn delete(&self, room: &coguest_core::RoomId) -> Result<(), coguest_server::StoreError> {
        self.inner.delete(room).await
    }
}

#[tokio::test]
async fn a_failed_write_is_answered_failed_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(Flaky::open(&dir.path().join("db")));
    let s = TestServer::start_with_store(store.clone()).await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut b = s.member(ROOM, "b", Role::Audience).await;
    let before = s.room_json(ROOM).await;
    store.fail.store(true, std::sync::atomic::Ordering::SeqCst);
    let err = b.call(ROOM, apply(-1, 30)).await.unwrap_err();
    assert_eq!(err.code, code(coguest_proto::ErrorCode::Failed));
    owner.room_barrier(ROOM).await;
    assert!(owner.drain_events().is_empty(), "nothing unstored was sent");
    assert_eq!(
        s.room_json(ROOM).await,
        before,
        "memory did not run ahead of disk"
    );
    store.fail.store(false, std::sync::atomic::Ordering::SeqCst);
    // Once storage recovers, commands go through again.
    b.call(ROOM, apply(-1, 30)).await.unwrap();
    owner.event("received", application_received).await;
}

/// A compaction that fails is tried again `compact_every` entries later, not at every append
/// after it (each try serialises the whole room: on a busy Redis, a large room's appends had
/// all become compactions timing out in turn); nothing is lost meanwhile.
#[tokio::test]
async fn a_failed_compaction_waits_for_the_next_interval() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(Flaky::open(&dir.path().join("db")));
    let s = TestServer::start_with_store_and(store.clone(), |c| c.compact_every = 4).await;
    store
        .fail_compactions
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let _owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut b = s.member(ROOM, "b", Role::Audience).await;
    for _ in 0..6 {
        b.call(ROOM, apply(-1, 300)).await.unwrap();
        b.call(ROOM, ClientCommand::CancelApplication)
            .await
            .unwrap();
    }
    // 2 joins and 12 commands: log entries 1 to 14, compactions due at 4, 8 and 12.
    assert_eq!(
        store
            .compactions_tried
            .load(std::sync::atomic::Ordering::SeqCst),
        3
    );
    let stored = coguest_server::RoomStore::load(&store.inner, &coguest_core::RoomId::from(ROOM))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.base_seq, 0);
    assert_eq!(stored.log.len(), 14, "the log kept every entry");
}

/// Log entry `seq`: `actor` leaves the room (what is stored matters, not what it does).
fn leave_entry(seq: u64, actor: String) -> coguest_server::store::LogEntry {
    coguest_server::store::LogEntry {
        seq,
        at: coguest_core::Timestamp::from_millis(seq),
        input: coguest_server::store::LogInput::Command {
            actor: coguest_core::UserId::from(actor),
            command: coguest_core::Command::Leave,
        },
        client_req_id: Some(seq),
    }
}

/// The snapshot of a new room with default settings.
fn empty_snapshot() -> coguest_core::RoomSnapshot {
    coguest_core::Room::new(Default::default(), coguest_core::Timestamp::ZERO)
        .unwrap()
        .snapshot()
}

/// Checkpoints run on the store's own thread while it is open (SQLite's automatic one, inside
/// a commit, is off), and the WAL stays bounded under commits that never pause.
#[tokio::test]
async fn checkpoints_run_beside_the_writer_and_keep_the_wal_bounded() {
    use coguest_server::RoomStore;
    use coguest_server::store::sqlite::WalOptions;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let wal_file = dir.path().join("db-wal");
    let options = WalOptions {
        checkpoint_interval: Duration::from_millis(5),
        restart_bytes: 64 << 10,
        ..WalOptions::default()
    };
    let store = coguest_server::SqliteStore::open_with(&db, options).unwrap();
    let room = coguest_core::RoomId::from("wal-room");
    let snapshot = empty_snapshot();
    assert!(store.create(&room, &snapshot).await.unwrap());
    let db_size = || std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    let wal_size = || std::fs::metadata(&wal_file).map(|m| m.len()).unwrap_or(0);
    let initial = db_size();
    const ENTRIES: u64 = 5_000;
    // Each append is its own commit of at least one 1 KiB page: never restarted, the log
    // would reach ~5 MiB.
    let mut largest_wal = 0;
    for seq in 1..=ENTRIES {
        let entry = leave_entry(seq, format!("user-{seq}"));
        store.append(&room, &entry).await.unwrap();
        largest_wal = largest_wal.max(wal_size());
    }
    assert!(
        largest_wal < 2 << 20,
        "the WAL reached {largest_wal} bytes: it is not restarted under steady commits"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while db_size() <= initial {
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint copied the log into the database file while the store was open"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    store.close().await;
    let reopened = coguest_server::SqliteStore::open(&db).unwrap();
    let stored = reopened.load(&room).await.unwrap().unwrap();
    assert_eq!(
        stored.log.len() as u64,
        ENTRIES,
        "every acknowledged append is stored"
    );
    assert_eq!(stored.log.last().map(|e| e.seq), Some(ENTRIES));
    reopened.close().await;
}

/// A new database is created with the store's page size (1 KiB: an appended entry's commit
/// writes one small page); a database made with another size keeps it and its rooms.
#[tokio::test]
async fn new_databases_get_small_pages_and_old_ones_keep_theirs() {
    use coguest_server::RoomStore;
    use coguest_server::store::sqlite::WalOptions;
    let page_size = |path: &std::path::Path| -> i64 {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.query_row("PRAGMA page_size", [], |row| row.get(0))
            .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let snapshot = empty_snapshot();
    let room = coguest_core::RoomId::from("paged");

    let fresh = dir.path().join("fresh.db");
    let store = coguest_server::SqliteStore::open(&fresh).unwrap();
    assert!(store.create(&room, &snapshot).await.unwrap());
    store.close().await;
    assert_eq!(page_size(&fresh), 1024);

    let old = dir.path().join("old.db");
    let options = WalOptions {
        page_size: 4096,
        ..WalOptions::default()
    };
    let store = coguest_server::SqliteStore::open_with(&old, options).unwrap();
    assert!(store.create(&room, &snapshot).await.unwrap());
    store.close().await;
    assert_eq!(page_size(&old), 4096);
    let reopened = coguest_server::SqliteStore::open(&old).unwrap();
    assert!(reopened.load(&room).await.unwrap().is_some());
    reopened.close().await;
    assert_eq!(
        page_size(&old),
        4096,
        "an existing database keeps its page size"
    );
}

/// Appends from many rooms at once, on several threads, while the log keeps restarting:
/// some commit on their caller's thread, some queue for the storage thread when the writer
/// is taken or a restart waits for it. Every one is stored, in each room's order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_in_place_and_queued_are_all_stored_in_order() {
    use coguest_server::RoomStore;
    use coguest_server::store::sqlite::WalOptions;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let options = WalOptions {
        checkpoint_interval: Duration::from_millis(2),
        restart_bytes: 32 << 10,
        ..WalOptions::default()
    };
    let store = std::sync::Arc::new(coguest_server::SqliteStore::open_with(&db, options).unwrap());
    let snapshot = empty_snapshot();
    const ROOMS: usize = 8;
    const ENTRIES: u64 = 400;
    let rooms: Vec<_> = (0..ROOMS)
        .map(|r| coguest_core::RoomId::from(format!("room-{r}")))
        .collect();
    for room in &rooms {
        assert!(store.create(room, &snapshot).await.unwrap());
    }
    let mut tasks = Vec::new();
    for room in rooms.clone() {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for seq in 1..=ENTRIES {
                let entry = leave_entry(seq, format!("{room}-user-{seq}"));
                store.append(&room, &entry).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    store.close().await;
    let reopened = coguest_server::SqliteStore::open(&db).unwrap();
    for room in &rooms {
        let stored = reopened.load(room).await.unwrap().unwrap();
        let seqs: Vec<u64> = stored.log.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=ENTRIES).collect::<Vec<_>>(), "room {room}");
    }
    reopened.close().await;
}

/// Appends that fail (their room is not stored), alone in their transaction or queued in a
/// batch with others, change nothing and fail nothing else: every other append is stored, in
/// order, and the failed rooms have no log.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failing_appends_alone_or_batched_change_nothing_else() {
    use coguest_server::RoomStore;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let store = std::sync::Arc::new(coguest_server::SqliteStore::open(&db).unwrap());
    let snapshot = empty_snapshot();
    const ENTRIES: u64 = 300;
    let stored: Vec<_> = (0..4)
        .map(|r| coguest_core::RoomId::from(format!("stored-{r}")))
        .collect();
    let missing: Vec<_> = (0..4)
        .map(|r| coguest_core::RoomId::from(format!("missing-{r}")))
        .collect();
    for room in &stored {
        assert!(store.create(room, &snapshot).await.unwrap());
    }
    let mut tasks = Vec::new();
    for (room, ok) in stored
        .iter()
        .map(|r| (r.clone(), true))
        .chain(missing.iter().map(|r| (r.clone(), false)))
    {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for seq in 1..=ENTRIES {
                let entry = leave_entry(seq, format!("{room}-user-{seq}"));
                let res = store.append(&room, &entry).await;
                assert_eq!(res.is_ok(), ok, "room {room} seq {seq}: {res:?}");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // A duplicate entry fails too, and the room's log stays as it was.
    let dup = leave_entry(ENTRIES, "again".into());
    assert!(store.append(&stored[0], &dup).await.is_err());
    store.close().await;
    let reopened = coguest_server::SqliteStore::open(&db).unwrap();
    for room in &stored {
        let log = reopened.load(room).await.unwrap().unwrap().log;
        let want: Vec<_> = (1..=ENTRIES)
            .map(|seq| leave_entry(seq, format!("{room}-user-{seq}")))
            .collect();
        assert_eq!(log, want, "room {room}");
    }
    for room in &missing {
        assert!(reopened.load(room).await.unwrap().is_none(), "room {room}");
    }
    reopened.close().await;
}
