//! Smoke test of `coguest demo` on the real binary: it finishes, prints every step's calls
//! and callbacks, and leaves no data directory behind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;
use support::process::{clean, output};

/// A printed line: `who` then `->` (call), `==` (result) or `<-` (callback), then `what`.
fn line(who: &str, arrow: &str, what: &str) -> String {
    format!("    {who:<6} {arrow} {what}")
}

#[tokio::test]
async fn demo_plays_every_step_and_cleans_up() {
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = clean(&["demo"]);
    cmd.env("TMPDIR", tmp.path());
    let out = output(cmd, Duration::from_secs(60)).await;
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "coguest demo failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let lines: Vec<&str> = stdout.lines().collect();
    let has = |l: &str| lines.contains(&l);
    let want = |l: String| assert!(has(&l), "missing {l:?} in:\n{stdout}");

    // Steps, in order.
    let mut at = 0;
    for n in 1..=7 {
        let head = format!("\n{n}. ");
        let found = stdout[at..]
            .find(&head)
            .unwrap_or_else(|| panic!("step {n} missing or out of order:\n{stdout}"));
        at += found + head.len();
    }
    assert!(stdout[at..].contains("\nDone."), "{stdout}");

    // 1. Everyone joins: the owner is seated, the others are candidates.
    want("    connected: [#0 Alice]".into());
    want("    candidates (seen by hosts): [Adam, Bob, Carol, Dave]".into());
    // 2. Application received by both hosts, accepted by Alice; Adam hears it was handled.
    want(line("alice", "<-", "on_guest_application_received(Bob)"));
    want(line("adam", "<-", "on_guest_application_received(Bob)"));
    want(line(
        "bob",
        "<-",
        "on_guest_application_responded(accepted, by Alice)",
    ));
    want(line(
        "adam",
        "<-",
        "on_guest_application_processed_by_other_host(Bob, by Alice)",
    ));
    want("    connected: [#0 Alice, #1 Bob]".into());
    // 3. Rejected.
    want(line(
        "carol",
        "<-",
        "on_guest_application_responded(rejected, by Adam)",
    ));
    // 4. Invitation received and accepted.
    want(line(
        "dave",
        "<-",
        "on_host_invitation_received(from Alice)",
    ));
    want(line(
        "alice",
        "<-",
        "on_host_invitation_responded(accepted, Dave)",
    ));
    want("    connected: [#0 Alice, #1 Bob, #2 Dave]".into());
    // 5. Timeout.
    want(line(
        "carol",
        "<-",
        "on_guest_application_no_response(timeout)",
    ));
    // 6. Two hosts race: exactly one wins; the other is refused and told who won.
    let won = |who: &str| has(&line(who, "==", "accept_application(carol): ok"));
    let (winner, loser) = match (won("alice"), won("adam")) {
        (true, false) => ("Alice", "adam"),
        (false, true) => ("Adam", "alice"),
        other => panic!("exactly one host wins the race, got {other:?}:\n{stdout}"),
    };
    let refused = line(loser, "==", "accept_application(carol): error ");
    assert!(
        lines.iter().any(|l| l.starts_with(&refused)),
        "missing {refused:?} in:\n{stdout}"
    );
    want(line(
        "carol",
        "<-",
        &format!("on_guest_application_responded(accepted, by {winner})"),
    ));
    want(line(
        loser,
        "<-",
        &format!("on_guest_application_processed_by_other_host(Carol, by {winner})"),
    ));
    want("    connected: [#0 Alice, #1 Bob, #2 Dave, #3 Carol]".into());
    // 7. Bob leaves his seat.
    want(line("bob", "==", "disconnect(): ok"));
    want("    connected: [#0 Alice, #2 Dave, #3 Carol]".into());

    // The data directory it announced is gone, and nothing else is left in TMPDIR.
    let data = stdout
        .split("(data in ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .unwrap_or_else(|| panic!("no data directory announced:\n{stdout}"));
    assert!(
        std::path::Path::new(data).starts_with(tmp.path()),
        "{data} is under TMPDIR"
    );
    assert!(!std::path::Path::new(data).exists(), "{data} left behind");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "left in TMPDIR: {left:?}");
}
