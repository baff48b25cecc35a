//! The SQLite store's checkpointer runs below the serving threads' priority (nice 10), so a
//! checkpoint never holds commands on a shared core. Its own test binary: no other test's
//! store has threads in this process.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

/// (thread name, nice) of every thread of this process.
fn threads() -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let Ok(stat) = std::fs::read_to_string(task.unwrap().path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: nice is the 19th field, the 17th after the comm.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = stat[open + 1..close].to_owned();
        let nice = stat[close + 2..]
            .split(' ')
            .nth(16)
            .and_then(|n| n.parse().ok())
            .unwrap();
        out.push((comm, nice));
    }
    out
}

#[test]
fn the_checkpointer_yields_to_the_serving_threads() {
    let dir = tempfile::tempdir().unwrap();
    let _store = coguest_server::SqliteStore::open(&dir.path().join("db")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let all = threads();
        // Thread names are cut to 15 bytes: "coguest-sqlite-ckpt" reads "coguest-sqlite-".
        let ckpt: Vec<i64> = all
            .iter()
            .filter(|(c, _)| c == "coguest-sqlite-")
            .map(|(_, n)| *n)
            .collect();
        // The storage thread keeps the process's priority (0 unless the tests run niced).
        let base = all
            .iter()
            .find(|(c, _)| c == "coguest-sqlite")
            .map(|(_, n)| *n);
        if let Some(base) = base {
            if ckpt == [base.max(10)] {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "checkpointer threads: {ckpt:?} in {all:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
