//! Tidy checks that guard the core's architecture invariants.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

/// `coguest-core` does no IO, reads no clock and draws no randomness: it must not depend,
/// even transitively, on an async runtime, a random number generator or a clock crate.
#[test]
fn core_depends_on_no_runtime_rng_or_clock() {
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "-p",
            "coguest-core",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8(out.stdout).unwrap();
    assert!(
        tree.contains("serde"),
        "cargo tree printed nothing useful:\n{tree}"
    );
    let forbidden = [
        "tokio",
        "async-std",
        "smol",
        "mio",
        "rand",
        "getrandom",
        "chrono",
        "time",
        "uuid",
    ];
    for line in tree.lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        assert!(
            !forbidden.contains(&name),
            "coguest-core depends on {name}:\n{tree}"
        );
    }
}

/// The core's source never reads a clock (clippy's `disallowed-methods` also checks this).
/// Every file below `src/` is read, module folders (`src/room/`) included.
#[test]
fn core_source_reads_no_clock() {
    let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for needle in [
                "Instant::now",
                "SystemTime::now",
                "std::fs",
                "std::net",
                "std::thread",
            ] {
                assert!(!text.contains(needle), "{} uses {needle}", path.display());
            }
        }
    }
}
