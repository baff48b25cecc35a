//! Every JSON example in PROTOCOL.md is a valid message, and every message kind has one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coguest_proto::ServerMsg;
use std::collections::BTreeSet;
use std::path::Path;

fn examples() -> Vec<String> {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../PROTOCOL.md");
    let text = std::fs::read_to_string(doc).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_start().starts_with("```")) {
            (None, true) if line.trim() == "```json" => current = Some(String::new()),
            (Some(block), true) => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), false) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn every_example_parses_and_every_message_is_shown() {
    let mut client_cmds = BTreeSet::new();
    let mut server_kinds = BTreeSet::new();
    let mut events = BTreeSet::new();
    let mut changes = BTreeSet::new();
    for block in examples() {
        let value: serde_json::Value = serde_json::from_str(&block)
            .unwrap_or_else(|e| panic!("PROTOCOL.md example is not JSON ({e}):\n{block}"));
        if value.get("t").is_some() {
            let msg: ServerMsg = serde_json::from_value(value.clone())
                .unwrap_or_else(|e| panic!("not a server message ({e}):\n{block}"));
            server_kinds.insert(value["t"].as_str().unwrap().to_owned());
            if let ServerMsg::Event { .. } = msg {
                events.insert(value["event"]["type"].as_str().unwrap().to_owned());
            }
            if let ServerMsg::Change { .. } = msg {
                changes.insert(value["change"]["type"].as_str().unwrap().to_owned());
            }
        } else {
            // The server's decoder, strict as it is: what the documentation shows is accepted.
            coguest_proto::decode_frame(block.trim())
                .unwrap_or_else(|e| panic!("not a client frame ({e}):\n{block}"));
            client_cmds.insert(value["cmd"].as_str().unwrap().to_owned());
        }
    }
    let schema = coguest_proto::json_schema().to_string();
    // Every tagged variant name that appears in the schema must appear in the docs.
    for (set, what) in [
        (&client_cmds, "client command"),
        (&server_kinds, "server message"),
        (&events, "event"),
        (&changes, "change"),
    ] {
        assert!(!set.is_empty(), "no {what} examples found");
        for name in set {
            assert!(
                schema.contains(&format!("\"{name}\"")),
                "{what} {name} is not in the schema"
            );
        }
    }
    for &c in coguest_proto::ClientCommand::NAMES {
        assert!(
            client_cmds.contains(c),
            "PROTOCOL.md has no example of command {c}"
        );
    }
    for k in [
        "welcome",
        "ack",
        "error",
        "snapshot",
        "event",
        "change",
        "resumed",
        "room_closed",
        "log",
        "rooms",
    ] {
        assert!(
            server_kinds.contains(k),
            "PROTOCOL.md has no example of server message {k}"
        );
    }
    for e in [
        "guest_application_received",
        "guest_application_cancelled",
        "guest_application_processed_by_other_host",
        "host_invitation_responded",
        "host_invitation_no_response",
        "host_invitation_received",
        "host_invitation_cancelled",
        "guest_application_responded",
        "guest_application_no_response",
        "kicked_off_seat",
        "moved_to_seat",
        "device_permission_changed",
        "role_changed",
    ] {
        assert!(
            events.contains(e),
            "PROTOCOL.md has no example of event {e}"
        );
    }
    for c in [
        "applicant_added",
        "applicant_removed",
        "invitee_added",
        "invitee_removed",
        "candidate_added",
        "candidate_removed",
        "seats",
        "settings",
        "reset",
    ] {
        assert!(
            changes.contains(c),
            "PROTOCOL.md has no example of change {c}"
        );
    }
}

#[test]
fn error_table_in_protocol_md_matches_the_codes() {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../PROTOCOL.md");
    let text = std::fs::read_to_string(doc).unwrap();
    for code in coguest_proto::ErrorCode::ALL {
        let name = serde_json::to_value(code).unwrap();
        let row = format!("| {} | `{}` |", code.code(), name.as_str().unwrap());
        assert!(
            text.contains(&row),
            "PROTOCOL.md error table lacks the row `{row}`"
        );
    }
}
