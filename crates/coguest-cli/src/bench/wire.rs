//! What the load generator sends and reads, for each target: coguest's JSON frames, the same
//! JSON carried in socket.io packets (the socket.io baseline speaks our message shapes inside
//! its own framing), and NATS text protocol lines.

use coguest_proto::{ClientCommand, ClientFrame};
use serde::Deserialize;

/// Which server a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// The coguest server (`coguest serve`).
    Coguest,
    /// The socket.io 4 baseline under `bench/baselines/socketio`.
    Socketio,
    /// nats-server with its WebSocket listener (fan-out, connections, and the command
    /// scenarios with `--ping-only`: a publish to the connection's own subject).
    Nats,
}

/// The fields of a server message the load generator looks at.
#[derive(Debug, Deserialize, Default)]
pub struct Head {
    /// The message type (`ack`, `error`, `event`, `change`, `snapshot`, ...).
    #[serde(default)]
    pub t: String,
    /// The answered request id (`ack`, `error`).
    pub id: Option<u64>,
    /// The room version (`ack`, `event`, `change`, `resumed`).
    pub version: Option<u64>,
    /// The error code (`error`).
    pub code: Option<i32>,
    /// The change's type (`change`).
    pub change: Option<ChangeHead>,
}

/// The type of a view change.
#[derive(Debug, Deserialize, Default)]
pub struct ChangeHead {
    /// `seats`, `applicant_added`, ...
    #[serde(rename = "type", default)]
    pub kind: String,
}

impl Head {
    /// Whether this is the room-wide seat change (the seat list, which carries who is seated).
    pub fn is_seat_change(&self) -> bool {
        self.t == "change" && self.change.as_ref().is_some_and(|c| c.kind == "seats")
    }
}

/// What one incoming WebSocket text frame means.
#[derive(Debug)]
pub enum Incoming {
    /// A coguest server message (possibly carried by socket.io).
    Msg(Head),
    /// A frame the transport wants answered with this text (engine.io ping).
    Reply(&'static str),
    /// Nothing the load generator needs.
    Other,
}

/// Encodes one command frame for `target`.
pub fn encode(target: Target, id: u64, room: &str, cmd: ClientCommand) -> String {
    let frame = ClientFrame {
        id,
        room: Some(room.to_owned()),
        command: cmd,
    };
    match target {
        Target::Coguest => serde_json::to_string(&frame).unwrap_or_default(),
        // Whatever the command (only pings are sent to NATS): a publish on `room`, the subject
        // only this connection subscribes to, whose payload comes back as the answer.
        Target::Nats => {
            let payload = format!(r#"{{"t":"ack","id":{id}}}"#);
            format!("PUB {room} {}\r\n{payload}\r\n", payload.len())
        }
        Target::Socketio => {
            // `socket.emit(cmd, {room, ...fields}, ack)`: packet 42<ack id>["cmd",{...}].
            let mut value = serde_json::to_value(&frame).unwrap_or_default();
            let name = match value.get("cmd").and_then(|c| c.as_str()) {
                // `disconnect` is a reserved socket.io event name.
                Some("disconnect") => "leave_seat".to_owned(),
                Some(name) => name.to_owned(),
                None => "ping".to_owned(),
            };
            if let Some(obj) = value.as_object_mut() {
                obj.remove("cmd");
                obj.remove("id");
            }
            format!("42{id}[{},{}]", serde_json::Value::String(name), value)
        }
    }
}

/// Decodes one incoming text frame for `target`: a coguest or socket.io frame holds one
/// message, a NATS frame its first (see [`decode_all`]).
pub fn decode(target: Target, text: &str) -> Incoming {
    decode_all(target, text).next().unwrap_or(Incoming::Other)
}

/// Every message of one incoming text frame: a NATS frame may hold several protocol lines.
pub fn decode_all(target: Target, text: &str) -> impl Iterator<Item = Incoming> + '_ {
    let mut whole = match target {
        Target::Coguest => Some(match serde_json::from_str::<Head>(text) {
            Ok(h) => Incoming::Msg(h),
            Err(_) => Incoming::Other,
        }),
        Target::Socketio => Some(decode_socketio(text)),
        Target::Nats => None,
    };
    let mut lines = (target == Target::Nats).then(|| text.split("\r\n"));
    std::iter::from_fn(move || {
        if let Some(msg) = whole.take() {
            return Some(msg);
        }
        let lines = lines.as_mut()?;
        loop {
            let line = lines.next()?;
            if line.starts_with("MSG ") {
                let head = serde_json::from_str::<Head>(lines.next()?);
                return Some(head.map_or(Incoming::Other, Incoming::Msg));
            }
            if line == "PING" {
                return Some(Incoming::Reply("PONG\r\n"));
            }
        }
    })
}

fn decode_socketio(text: &str) -> Incoming {
    if text == "2" {
        return Incoming::Reply("3");
    }
    if let Some(rest) = text.strip_prefix("43") {
        // Ack: 43<id>[{...}]: the payload is a coguest `ack` or `error` with the id.
        let start = rest.find('[').unwrap_or(rest.len());
        let id = rest[..start].parse::<u64>().ok();
        let body = rest[start..].trim_start_matches('[').trim_end_matches(']');
        return match serde_json::from_str::<Head>(body) {
            Ok(h) => Incoming::Msg(Head { id, ..h }),
            Err(_) => Incoming::Other,
        };
    }
    if let Some(rest) = text.strip_prefix("42[\"msg\",") {
        let body = rest.strip_suffix(']').unwrap_or(rest);
        return match serde_json::from_str::<Head>(body) {
            Ok(h) => Incoming::Msg(h),
            Err(_) => Incoming::Other,
        };
    }
    Incoming::Other
}

/// The NATS messages a subscriber cares about, from one WebSocket frame (which may hold
/// several protocol lines).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct NatsFrame {
    /// Payloads of `MSG` lines, each parsed as the iteration number it starts with.
    pub msgs: Vec<u64>,
    /// How many `PING`s to answer with `PONG`.
    pub pings: usize,
    /// How many `PONG`s arrived.
    pub pongs: usize,
}

/// Parses the NATS protocol lines of one frame.
pub fn decode_nats(data: &[u8]) -> NatsFrame {
    let mut out = NatsFrame::default();
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split("\r\n");
    while let Some(line) = lines.next() {
        if line.starts_with("MSG ") {
            if let Some(payload) = lines.next() {
                let n = payload
                    .split(|c: char| !c.is_ascii_digit())
                    .next()
                    .and_then(|d| d.parse().ok());
                if let Some(n) = n {
                    out.msgs.push(n);
                }
            }
        } else if line == "PING" {
            out.pings += 1;
        } else if line == "PONG" {
            out.pongs += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socketio_frames_carry_coguest_messages() {
        let text = encode(Target::Socketio, 7, "r1", ClientCommand::CancelApplication);
        assert_eq!(text, r#"427["cancel_application",{"room":"r1"}]"#);
        let Incoming::Msg(ack) = decode(
            Target::Socketio,
            r#"437[{"t":"ack","room":"r1","version":3}]"#,
        ) else {
            panic!("not an ack");
        };
        assert_eq!(
            (ack.t.as_str(), ack.id, ack.version),
            ("ack", Some(7), Some(3))
        );
        let Incoming::Msg(change) = decode(
            Target::Socketio,
            r#"42["msg",{"t":"change","room":"r1","version":4,"change":{"type":"seats","seats":[]}}]"#,
        ) else {
            panic!("not a change");
        };
        assert!(change.is_seat_change());
        assert!(matches!(
            decode(Target::Socketio, "2"),
            Incoming::Reply("3")
        ));
    }

    #[test]
    fn a_nats_publish_comes_back_as_its_own_answer() {
        let text = encode(Target::Nats, 9, "bench-1.u0-3", ClientCommand::Ping);
        assert_eq!(text, "PUB bench-1.u0-3 18\r\n{\"t\":\"ack\",\"id\":9}\r\n");
        let back = "MSG bench-1.u0-3 1 18\r\n{\"t\":\"ack\",\"id\":9}\r\nPING\r\n\
                    MSG bench-1.u0-3 1 19\r\n{\"t\":\"ack\",\"id\":10}\r\n";
        let all: Vec<_> = decode_all(Target::Nats, back).collect();
        assert!(matches!(
            &all[..],
            [
                Incoming::Msg(Head { id: Some(9), .. }),
                Incoming::Reply("PONG\r\n"),
                Incoming::Msg(Head { id: Some(10), .. }),
            ]
        ));
        assert!(matches!(decode(Target::Nats, "+OK\r\n"), Incoming::Other));
    }

    #[test]
    fn nats_frames_may_hold_several_lines() {
        let f = decode_nats(b"MSG fan 1 5\r\n12 ab\r\nPING\r\nMSG fan 1 3\r\n13 \r\n");
        assert_eq!(f.msgs, vec![12, 13]);
        assert_eq!(f.pings, 1);
    }
}
