//! Fuzz inputs for client frames, written once for the decoder's fuzz tests and the server's
//! (which `#[path]`-includes this file): JSON-ish values whose objects may repeat keys, frames
//! built from the protocol's own names, valid commands, and the codes PROTOCOL.md documents.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use coguest_proto::{ClientCommand, ClientFrame, Device, MovePolicy, SeatMode};
use proptest::prelude::*;
use std::collections::BTreeSet;

/// How many cases a fuzz test runs: `COGUEST_FUZZ_CASES` when set (the long runs), else
/// `default` (the short runs of `cargo test`).
pub fn cases(default: u32) -> u32 {
    std::env::var("COGUEST_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A JSON value as text is written: an object is a list of entries, so a key may repeat.
#[derive(Debug, Clone)]
pub enum J {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    /// The JSON text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Int(i) => out.push_str(&i.to_string()),
            J::UInt(u) => out.push_str(&u.to_string()),
            J::Float(f) => out.push_str(&serde_json::to_string(f).unwrap()),
            J::Str(s) => out.push_str(&serde_json::to_string(s).unwrap()),
            J::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            J::Obj(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::to_string(k).unwrap());
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }

    /// Whether some object, at any depth, has a key twice.
    pub fn has_repeated_key(&self) -> bool {
        match self {
            J::Arr(items) => items.iter().any(J::has_repeated_key),
            J::Obj(entries) => {
                let mut seen = BTreeSet::new();
                entries.iter().any(|(k, _)| !seen.insert(k))
                    || entries.iter().any(|(_, v)| v.has_repeated_key())
            }
            _ => false,
        }
    }

    /// The values of `key` in this object (none when not an object).
    pub fn values_of(&self, key: &str) -> Vec<&J> {
        match self {
            J::Obj(entries) => entries
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v)
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// Every field name of a frame.
pub const FIELDS: &[&str] = &[
    "id",
    "room",
    "cmd",
    "since",
    "seat_index",
    "timeout",
    "extra_info",
    "user_id",
    "invitee_id",
    "inviter_id",
    "policy",
    "device",
    "on",
    "allowed",
    "seat_mode",
    "max_seat_count",
    "admin",
];

/// Words of the protocol that strings are likely to be.
const WORDS: &[&str] = &[
    "microphone",
    "camera",
    "swap",
    "force_replace",
    "abort_when_occupied",
    "free_to_take",
    "apply_to_take",
    "@operator",
    "owner",
    "",
];

/// A key: mostly the protocol's, sometimes anything.
pub fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => proptest::sample::select(FIELDS).prop_map(str::to_owned),
        1 => "[a-z_]{0,6}",
        1 => "\\PC{0,3}",
    ]
}

/// A string: command names, the protocol's words, user ids, anything.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(ClientCommand::NAMES).prop_map(str::to_owned),
        2 => proptest::sample::select(WORDS).prop_map(str::to_owned),
        2 => proptest::sample::select(USERS).prop_map(|(u, _)| u.to_owned()),
        2 => "\\PC{0,12}",
    ]
}

/// A scalar JSON value, biased to the numbers frames use.
pub fn leaf() -> impl Strategy<Value = J> {
    prop_oneof![
        1 => Just(J::Null),
        2 => any::<bool>().prop_map(J::Bool),
        3 => (-3i64..70).prop_map(J::Int),
        1 => any::<i64>().prop_map(J::Int),
        1 => any::<u64>().prop_map(J::UInt),
        1 => any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(J::Float),
        4 => text().prop_map(J::Str),
    ]
}

/// Any JSON-ish value, nested a few levels, objects possibly repeating keys.
pub fn value() -> impl Strategy<Value = J> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(J::Arr),
            proptest::collection::vec((key(), inner), 0..5).prop_map(J::Obj),
        ]
    })
}

/// A frame-shaped object: usually an `id`, a `room` and a `cmd` (a name, mostly), then some
/// fields of the protocol with any values; keys may repeat and come in any order.
pub fn frame_like() -> impl Strategy<Value = J> {
    let id = prop_oneof![4 => any::<u64>().prop_map(J::UInt), 1 => leaf()];
    let room = prop_oneof![4 => Just(J::Str("r".into())), 1 => leaf()];
    let cmd = prop_oneof![
        6 => proptest::sample::select(ClientCommand::NAMES).prop_map(|n| J::Str(n.to_owned())),
        1 => (0u64..30).prop_map(J::UInt),
        1 => leaf(),
    ];
    let head = (
        proptest::option::weighted(0.9, id),
        proptest::option::weighted(0.8, room),
        proptest::option::weighted(0.95, cmd),
    );
    let fields = proptest::collection::vec((key(), prop_oneof![4 => leaf(), 1 => value()]), 0..5);
    (head, fields, any::<proptest::sample::Index>()).prop_map(|((id, room, cmd), fields, at)| {
        let mut entries: Vec<(String, J)> = Vec::new();
        for (k, v) in [("id", id), ("room", room), ("cmd", cmd)] {
            if let Some(v) = v {
                entries.push((k.to_owned(), v));
            }
        }
        // The head first usually; sometimes the fields move in front of it.
        let split = at.index(fields.len() + 1);
        let mut out: Vec<(String, J)> = fields[..split].to_vec();
        out.extend(entries);
        out.extend(fields[split..].iter().cloned());
        J::Obj(out)
    })
}

/// The users of the fuzzed rooms, with their roles.
pub const USERS: &[(&str, coguest_core::Role)] = &[
    ("owner", coguest_core::Role::Owner),
    ("admin", coguest_core::Role::Admin),
    ("u1", coguest_core::Role::Audience),
    ("u2", coguest_core::Role::Audience),
    ("u3", coguest_core::Role::Audience),
];

fn user() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => proptest::sample::select(USERS).prop_map(|(u, _)| u.to_owned()),
        1 => Just("@operator".to_owned()),
        1 => Just(String::new()),
        1 => "[a-z]{1,4}",
    ]
}

fn seat() -> impl Strategy<Value = i32> {
    prop_oneof![8 => -1i32..8, 1 => any::<i32>()]
}

fn timeout() -> impl Strategy<Value = u32> {
    prop_oneof![8 => 1u32..60, 1 => Just(0u32), 1 => any::<u32>()]
}

fn extra() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(prop_oneof![4 => "\\PC{0,8}", 1 => "x{3000}"])
}

fn device() -> impl Strategy<Value = Device> {
    prop_oneof![Just(Device::Microphone), Just(Device::Camera)]
}

fn policy() -> impl Strategy<Value = MovePolicy> {
    prop_oneof![
        Just(MovePolicy::AbortWhenOccupied),
        Just(MovePolicy::ForceReplace),
        Just(MovePolicy::Swap),
    ]
}

/// Any command of the protocol, with arguments mostly within the rooms' bounds.
pub fn command() -> impl Strategy<Value = ClientCommand> {
    use ClientCommand as C;
    prop_oneof![
        proptest::option::of(0u64..50).prop_map(|since| C::Join { since }),
        Just(C::Leave),
        (seat(), timeout(), extra()).prop_map(|(seat_index, timeout, extra_info)| {
            C::ApplyForSeat {
                seat_index,
                timeout,
                extra_info,
            }
        }),
        Just(C::CancelApplication),
        user().prop_map(|user_id| C::AcceptApplication { user_id }),
        Just(C::AcceptNextApplication),
        user().prop_map(|user_id| C::RejectApplication { user_id }),
        (user(), seat(), timeout(), extra()).prop_map(
            |(invitee_id, seat_index, timeout, extra_info)| {
                C::InviteToSeat {
                    invitee_id,
                    seat_index,
                    timeout,
                    extra_info,
                }
            }
        ),
        user().prop_map(|invitee_id| C::CancelInvitation { invitee_id }),
        user().prop_map(|inviter_id| C::AcceptInvitation { inviter_id }),
        user().prop_map(|inviter_id| C::RejectInvitation { inviter_id }),
        Just(C::Disconnect),
        user().prop_map(|user_id| C::KickOffSeat { user_id }),
        seat().prop_map(|seat_index| C::LockSeat { seat_index }),
        seat().prop_map(|seat_index| C::UnlockSeat { seat_index }),
        seat().prop_map(|seat_index| C::TakeSeat { seat_index }),
        Just(C::LeaveSeat),
        (user(), seat(), policy()).prop_map(|(user_id, seat_index, policy)| C::MoveToSeat {
            user_id,
            seat_index,
            policy
        }),
        (device(), any::<bool>()).prop_map(|(device, on)| C::SetDevice { device, on }),
        (user(), device(), any::<bool>()).prop_map(|(user_id, device, allowed)| {
            C::SetUserDevicePermission {
                user_id,
                device,
                allowed,
            }
        }),
        (seat(), device(), any::<bool>()).prop_map(|(seat_index, device, allowed)| {
            C::SetSeatDevicePermission {
                seat_index,
                device,
                allowed,
            }
        }),
        (
            proptest::option::of(prop_oneof![
                Just(SeatMode::ApplyToTake),
                Just(SeatMode::FreeToTake)
            ]),
            proptest::option::of(prop_oneof![4 => 1u16..10, 1 => any::<u16>()]),
        )
            .prop_map(|(seat_mode, max_seat_count)| C::ChangeSettings {
                seat_mode,
                max_seat_count
            }),
        (user(), any::<bool>()).prop_map(|(user_id, admin)| C::SetAdmin { user_id, admin }),
        Just(C::Snapshot),
        Just(C::Ping),
    ]
}

/// A valid frame of any command for room `r`.
pub fn frame() -> impl Strategy<Value = ClientFrame> {
    (
        any::<u64>(),
        proptest::option::weighted(0.9, Just("r".to_owned())),
        command(),
    )
        .prop_map(|(id, room, command)| ClientFrame { id, room, command })
}

/// The text a client sends: mostly a valid frame, sometimes a frame-like object, sometimes a
/// valid frame with a few bytes changed.
pub fn client_text() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => frame().prop_map(|f| serde_json::to_string(&f).unwrap()),
        2 => frame_like().prop_map(|j| j.render()),
        1 => (frame(), any::<proptest::sample::Index>(), any::<u8>()).prop_map(|(f, at, b)| {
            let mut bytes = serde_json::to_vec(&f).unwrap();
            let i = at.index(bytes.len());
            bytes[i] = b;
            String::from_utf8_lossy(&bytes).into_owned()
        }),
    ]
}

/// The error codes PROTOCOL.md's table documents.
pub fn documented_codes() -> BTreeSet<i32> {
    let doc = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../PROTOCOL.md");
    let text = std::fs::read_to_string(doc).unwrap();
    let table = text.split("## Error codes").nth(1).expect("an error table");
    let codes: BTreeSet<i32> = table
        .lines()
        .filter_map(|l| l.strip_prefix("| ")?.split(' ').next()?.parse().ok())
        .collect();
    assert!(codes.len() > 30, "{codes:?}");
    codes
}
