//! Reading a client frame: the one decoder every server path uses (see
//! [`decode_frame`](crate::decode_frame)), and, for a frame it refuses, the error to answer
//! with: the code, a message, and the frame's `id` when it can be told.

use crate::codes::ErrorCode;
use crate::strict;
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use std::cell::Cell;
use std::fmt;

/// Why a client frame was refused, and the `id` to answer it with (when the frame has one,
/// once, as an unsigned integer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FrameError {
    /// The frame's `id`, if it could be read.
    pub id: Option<u64>,
    /// `MALFORMED_FRAME` or `UNKNOWN_COMMAND`.
    pub code: ErrorCode,
    /// What is wrong with it.
    pub message: String,
}

/// Decodes `text` strictly (see [`strict`]; `cmd` a string), and on failure reads it again,
/// leniently, to say why and to find its `id`: a frame that parses cleanly is read once.
///
/// `fields` is how many keys the decoded frame may have (serde lets a unit variant of an
/// internally tagged enum ignore any others): more is refused.
pub(crate) fn decode<'a, T: Deserialize<'a>>(
    text: &'a str,
    names: &[&str],
    fields: impl FnOnce(&T) -> Option<usize>,
) -> Result<T, FrameError> {
    let keys = Cell::new(0);
    let frame: T = strict::from_str_with(text, &["cmd"], &keys)
        .map_err(|first| diagnose(text, names, &first))?;
    match fields(&frame) {
        Some(most) if keys.get() > most => Err(FrameError {
            id: frame_id(text),
            code: ErrorCode::MalformedFrame,
            message: "this command takes no fields besides `id`, `room` and `cmd`".into(),
        }),
        _ => Ok(frame),
    }
}

/// The `id` of a frame, if it has exactly one and it is an unsigned integer (for answering a
/// frame refused before it is decoded, such as one too large).
pub(crate) fn frame_id(text: &str) -> Option<u64> {
    serde_json::from_str::<Scan>(text).ok()?.id()
}

fn diagnose(text: &str, names: &[&str], first: &serde_json::Error) -> FrameError {
    let malformed = |id, message: String| FrameError {
        id,
        code: ErrorCode::MalformedFrame,
        message,
    };
    let scan = match serde_json::from_str::<Scan>(text) {
        Ok(scan) => scan,
        Err(e) => return malformed(None, format!("not JSON: {e}")),
    };
    if !scan.object {
        return malformed(None, "a frame is a JSON object".into());
    }
    let id = scan.id();
    if let Some(key) = scan.duplicate {
        let message = format!("duplicate key `{key}`: each key may appear once");
        return malformed(id, message);
    }
    match scan.cmd {
        None => malformed(id, "missing `cmd`".into()),
        Some(Cmd::Name(name)) if !names.contains(&name.as_str()) => FrameError {
            id,
            code: ErrorCode::UnknownCommand,
            message: format!("unknown command {name:?}"),
        },
        Some(Cmd::NotAString(what)) => malformed(
            id,
            format!("`cmd` must be a command name (a string), not {what}"),
        ),
        Some(Cmd::Name(_)) => malformed(id, format!("invalid frame: {first}")),
    }
}

/// The `cmd` of a refused frame.
enum Cmd {
    Name(String),
    /// What it was instead (for the message).
    NotAString(String),
}

/// What the lenient reading of a refused frame found in its outermost object.
#[derive(Default)]
struct Scan {
    object: bool,
    /// The last `id`, when it is an unsigned integer.
    id: Option<u64>,
    /// How many `id` keys there are.
    ids: usize,
    cmd: Option<Cmd>,
    /// The first key seen twice.
    duplicate: Option<String>,
}

impl<'de> Deserialize<'de> for Scan {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScanVisitor)
    }
}

impl Scan {
    /// The frame's `id`: there is exactly one, an unsigned integer.
    fn id(&self) -> Option<u64> {
        self.id.filter(|_| self.ids == 1)
    }
}

struct ScanVisitor;

/// Any JSON value that is not an object: scanned as "not an object".
macro_rules! not_an_object {
    ($($method:ident($ty:ty))*) => {$(
        fn $method<E: de::Error>(self, _: $ty) -> Result<Scan, E> {
            Ok(Scan::default())
        }
    )*};
}

impl<'de> Visitor<'de> for ScanVisitor {
    type Value = Scan;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    not_an_object! {
        visit_bool(bool)
        visit_i64(i64)
        visit_u64(u64)
        visit_f64(f64)
        visit_str(&str)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Scan, E> {
        Ok(Scan::default())
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Scan, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scan::default())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scan, A::Error> {
        let mut scan = Scan {
            object: true,
            ..Scan::default()
        };
        let mut seen: Vec<String> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.contains(&key) {
                scan.duplicate.get_or_insert_with(|| key.clone());
            }
            match key.as_str() {
                "id" => {
                    let v = map.next_value::<serde_json::Value>()?;
                    scan.id = v.as_u64();
                    scan.ids += 1;
                }
                "cmd" => {
                    let v = map.next_value::<serde_json::Value>()?;
                    scan.cmd = Some(match v {
                        serde_json::Value::String(s) => Cmd::Name(s),
                        other => Cmd::NotAString(short(&other)),
                    });
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            seen.push(key);
        }
        Ok(scan)
    }
}

/// A value as the message shows it: at most 40 characters of its JSON.
fn short(v: &serde_json::Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(40) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}
