//! Every example in docs/WEBHOOKS.md is a valid event, every event type has one, the
//! signature example verifies, and each example's `data` has the fields a real delivery of
//! that type carries.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/mod.rs"]
mod common;

use coguest_proto::{WEBHOOK_TYPES, WebhookEvent};
use coguest_server::webhook::{sign, verify};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
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

/// The JSON kind of a value, for comparing an example's field with a delivered one.
fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// For every documented example, the server really sends events of that type (captured from
/// a live server over HTTP), with exactly the example's `data` fields, of the same JSON kinds
/// (a field may be `null` in some deliveries, as `device_permission_changed`'s are), and
/// string values of enum-like fields (`role`, `seat_mode`, `device`) the server really uses.
#[tokio::test]
async fn every_example_has_the_data_fields_of_a_real_delivery() {
    let (s, sink) = common::webhook_server().await;
    common::drive_every_webhook_type(&s, &sink, "live_room_123").await;
    let mut delivered: BTreeMap<String, Vec<WebhookEvent>> = BTreeMap::new();
    for e in sink.events() {
        delivered.entry(e.kind.clone()).or_default().push(e);
    }
    let mut checked = BTreeSet::new();
    for block in blocks("json") {
        let example: WebhookEvent = serde_json::from_str(&block).unwrap();
        let real = delivered.get(&example.kind).unwrap_or_else(|| {
            panic!(
                "the server sent no {} event to compare the example with",
                example.kind
            )
        });
        let doc_keys: BTreeSet<&String> = example.data.keys().collect();
        for e in real {
            let keys: BTreeSet<&String> = e.data.keys().collect();
            assert_eq!(
                keys, doc_keys,
                "{}: the server sends data {:?}, the doc shows {:?}",
                example.kind, e.data, example.data
            );
            assert_eq!(e.room, "live_room_123");
        }
        for (key, doc_value) in &example.data {
            let kinds: BTreeSet<&str> = real
                .iter()
                .map(|e| kind_of(&e.data[key]))
                .chain([kind_of(doc_value)])
                .filter(|k| *k != "null")
                .collect();
            assert!(
                kinds.len() <= 1,
                "{}.data.{key}: the doc shows {doc_value}, the server sends {:?}",
                example.kind,
                real.iter().map(|e| &e.data[key]).collect::<Vec<_>>()
            );
            if ["role", "seat_mode", "device"].contains(&key.as_str()) {
                let values: Vec<&Value> = delivered
                    .values()
                    .flatten()
                    .filter_map(|e| e.data.get(key))
                    .collect();
                assert!(
                    values.contains(&doc_value),
                    "{}.data.{key}: the doc shows {doc_value}, the server sent only {values:?}",
                    example.kind
                );
            }
        }
        // `actor` null exactly where the doc says deadlines (and the creation) have none.
        let real_null = real.iter().all(|e| e.actor.is_none());
        assert_eq!(
            example.actor.is_none(),
            real_null,
            "{}: the doc's actor is {:?}, the server's {:?}",
            example.kind,
            example.actor,
            real.iter().map(|e| &e.actor).collect::<Vec<_>>()
        );
        checked.insert(example.kind);
    }
    let all: BTreeSet<String> = WEBHOOK_TYPES.iter().map(|t| (*t).to_owned()).collect();
    assert_eq!(checked, all);
    s.stop().await;
}
