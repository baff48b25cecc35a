//! The frame decoder on the findings it was written for: a `cmd` given as serde's variant
//! index, repeated keys (the last one used to win), fields a command does not take; and what
//! a refusal says (code, message, `id`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use coguest_proto::{ClientCommand, ClientFrame, ErrorCode, decode_frame, frame_id};

fn refused(text: &str) -> (ErrorCode, Option<u64>, String) {
    let e = decode_frame(text).expect_err(text);
    (e.code, e.id, e.message)
}

#[test]
fn a_cmd_must_be_a_documented_name() {
    // 0 was `join`, 15 `leave_seat`.
    for cmd in [
        "0",
        "15",
        "1.5",
        "true",
        "null",
        "[\"join\"]",
        "{\"join\":1}",
    ] {
        let (code, id, message) = refused(&format!(r#"{{"id":4,"room":"r","cmd":{cmd}}}"#));
        assert_eq!((code, id), (ErrorCode::MalformedFrame, Some(4)), "{cmd}");
        assert!(
            message.contains("`cmd` must be a command name"),
            "{message}"
        );
    }
    let (code, id, message) = refused(r#"{"id":5,"room":"r","cmd":"jion"}"#);
    assert_eq!((code, id), (ErrorCode::UnknownCommand, Some(5)));
    assert!(message.contains("jion"), "{message}");
    let (code, id, _) = refused(r#"{"id":6,"room":"r"}"#);
    assert_eq!((code, id), (ErrorCode::MalformedFrame, Some(6)));
}

#[test]
fn a_key_appears_once() {
    let (code, id, message) = refused(r#"{"id":1,"room":"r","cmd":"snapshot","cmd":"leave"}"#);
    assert_eq!((code, id), (ErrorCode::MalformedFrame, Some(1)));
    assert!(message.contains("duplicate key `cmd`"), "{message}");
    let (code, id, _) = refused(r#"{"id":1,"id":2,"room":"r","cmd":"ping"}"#);
    assert_eq!((code, id), (ErrorCode::MalformedFrame, None), "which id?");
    // Found by the fuzzer: another key repeated first, and `id` too.
    let (code, id, _) = refused(r#"{"id":0,"cmd":"join","cmd":null,"id":0}"#);
    assert_eq!((code, id), (ErrorCode::MalformedFrame, None));
    let (code, _, _) = refused(
        r#"{"id":1,"room":"r","cmd":"set_admin","user_id":"a","admin":true,"admin":false}"#,
    );
    assert_eq!(code, ErrorCode::MalformedFrame);
    // Escaped spellings of one key are one key.
    let (code, _, message) = refused(r#"{"id":1,"room":"r","cmd":"leave","c\u006dd":"ping"}"#);
    assert_eq!(code, ErrorCode::MalformedFrame);
    assert!(message.contains("duplicate key"), "{message}");
}

#[test]
fn a_field_the_command_does_not_take_is_refused() {
    let (code, id, _) = refused(r#"{"id":3,"room":"r","cmd":"leave","seat_index":1}"#);
    assert_eq!((code, id), (ErrorCode::MalformedFrame, Some(3)));
    let (code, _, _) = refused(r#"{"id":3,"room":"r","cmd":"lock_seat","seat_index":"1"}"#);
    assert_eq!(code, ErrorCode::MalformedFrame);
}

#[test]
fn not_json_has_no_id_and_the_documented_frames_decode() {
    let (code, id, message) = refused("{\"id\":7,");
    assert_eq!((code, id), (ErrorCode::MalformedFrame, None));
    assert!(message.starts_with("not JSON"), "{message}");
    let (code, id, _) = refused("[1,2]");
    assert_eq!((code, id), (ErrorCode::MalformedFrame, None));
    assert_eq!(frame_id(r#"{"id":9,"cmd":"x","pad":"..."}"#), Some(9));
    assert_eq!(frame_id(r#"{"id":9,"id":9}"#), None);
    let frame = decode_frame(r#"{"id": 2, "room": "r", "cmd": "join", "since": 41}"#).unwrap();
    assert_eq!(
        frame,
        ClientFrame {
            id: 2,
            room: Some("r".into()),
            command: ClientCommand::Join { since: Some(41) }
        }
    );
}
