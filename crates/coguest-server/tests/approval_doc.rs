//! docs/APPROVAL.md tells the truth: its request example is what the server sends (field for
//! field, byte for byte), its answers and error parse as the wire types, and its signature
//! example verifies with the webhooks' scheme.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coguest_proto::{ApprovalRequest, ApprovalResponse, ErrorCode, ServerMsg};
use coguest_server::webhook::{sign, verify};
use std::path::Path;

fn doc() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/APPROVAL.md");
    std::fs::read_to_string(path).unwrap()
}

/// The fenced blocks of `lang`, in order.
fn blocks(lang: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in doc().lines() {
        let fence = line.trim_start().starts_with("```");
        match (&mut current, fence) {
            (None, true) if line.trim() == format!("```{lang}") => current = Some(String::new()),
            (Some(b), true) => {
                out.push(std::mem::take(b));
                current = None;
            }
            (Some(b), false) => {
                b.push_str(line.trim_start());
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    out
}

#[test]
fn the_examples_are_the_wire_types() {
    let json = blocks("json");
    assert_eq!(json.len(), 4, "request, allow, deny, error");
    let request: ApprovalRequest = serde_json::from_str(&json[0]).unwrap();
    assert_eq!(serde_json::to_string(&request).unwrap(), json[0].trim());
    let allow: ApprovalResponse = serde_json::from_str(&json[1]).unwrap();
    assert!(allow.allow);
    let deny: ApprovalResponse = serde_json::from_str(&json[2]).unwrap();
    assert!(!deny.allow);
    let error: ServerMsg = serde_json::from_str(&json[3]).unwrap();
    let ServerMsg::Error {
        code,
        app_code,
        reason,
        ..
    } = error
    else {
        panic!("not an error: {error:?}");
    };
    assert_eq!(ErrorCode::from_code(code), Some(ErrorCode::ApprovalDenied));
    assert_eq!((app_code, reason), (deny.code, deny.reason));
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
    let request: ApprovalRequest = serde_json::from_str(&body).unwrap();
    assert_eq!(request.at_ms, ts);
    assert!(
        verify(secret.as_bytes(), ts, body.as_bytes(), &sig),
        "the documented signature is wrong; it should be {}",
        sign(secret.as_bytes(), ts, body.as_bytes())
    );
}

#[test]
fn every_flag_and_metric_is_documented_by_its_name() {
    let doc = doc();
    for name in [
        "--approve-url",
        "--approve-secret",
        "--approve-timeout-ms",
        "--approve-on-error",
        "coguest_approval_latency_seconds",
        "coguest_approval_decisions_total",
        "coguest_approval_errors_total",
        "APPROVAL_DENIED",
        "APPROVAL_UNAVAILABLE",
    ] {
        assert!(
            doc.contains(name),
            "docs/APPROVAL.md does not mention {name}"
        );
    }
}
