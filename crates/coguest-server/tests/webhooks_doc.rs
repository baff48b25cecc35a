//! Every example in docs/WEBHOOKS.md is a valid event, every event type has one, and the
//! signature example verifies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coguest_proto::{WEBHOOK_TYPES, WebhookEvent};
use coguest_server::webhook::{sign, verify};
use std::collections::BTreeSet;
use std::path::Path;

fn blocks(lang: &str) -> Vec<String> {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/WEBHOOKS.md");
    let text = std::fs::read_to_string(doc).unwrap();
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_start().starts_with("```")) {
            (None, true) if line.trim() == format!("```{lang}") => current = Some(String::new()),
            (Some(b), true) => {
                out.push(std::mem::take(b));
                current = None;
            }
            (Some(b), false) => {
                b.push_str(line);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    out
}

#[test]
fn every_example_is_an_event_and_every_type_has_one() {
    let mut seen = BTreeSet::new();
    for block in blocks("json") {
        let e: WebhookEvent = serde_json::from_str(&block)
            .unwrap_or_else(|err| panic!("not a webhook event ({err}):\n{block}"));
        assert!(
            WEBHOOK_TYPES.contains(&e.kind.as_str()),
            "unknown type {}",
            e.kind
        );
        // `{room}/{incarnation}/{version}/{n or the lifecycle type}`.
        let rest =
            e.id.strip_prefix(&format!("{}/", e.room))
                .unwrap_or_default();
        let parts: Vec<&str> = rest.split('/').collect();
        assert_eq!(parts.len(), 3, "{}", e.id);
        assert!(parts[0].parse::<u64>().is_ok_and(|i| i >= 1), "{}", e.id);
        assert_eq!(parts[1], e.version.to_string(), "{}", e.id);
        let lifecycle = ["room_created", "room_closed"].contains(&e.kind.as_str());
        if lifecycle {
            assert_eq!(parts[2], e.kind, "{}", e.id);
        } else {
            assert!(parts[2].parse::<u64>().is_ok(), "{}", e.id);
        }
        seen.insert(e.kind);
    }
    for t in WEBHOOK_TYPES {
        assert!(seen.contains(*t), "docs/WEBHOOKS.md has no example of {t}");
    }
}

#[test]
fn the_signature_example_verifies() {
    let block = blocks("signed-example")
        .pop()
        .expect("a signed-example block");
    let field = |name: &str| {
        block
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} line"))
            .to_owned()
    };
    let (secret, ts, body, sig) = (
        field("secret"),
        field("timestamp").parse::<u64>().unwrap(),
        field("body"),
        field("signature"),
    );
    serde_json::from_str::<WebhookEvent>(&body).unwrap();
    assert!(
        verify(secret.as_bytes(), ts, body.as_bytes(), &sig),
        "the documented signature is wrong; it should be {}",
        sign(secret.as_bytes(), ts, body.as_bytes())
    );
}
