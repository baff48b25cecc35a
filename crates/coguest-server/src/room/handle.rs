//! A connection as room actors see it: its identity and where its frames go (its own
//! outbox, or in cluster mode the node it is connected to).

use crate::auth::Identity;
use crate::cluster::Cluster;
use crate::room::outbox::{Live, Outbox, Pushed};
use crate::wire::encode;
use axum::extract::ws::Utf8Bytes;
use coguest_core::{RoomId, Timestamp, UserId};
use coguest_proto::{ErrorCode, ServerMsg};
use std::sync::Arc;

/// The server side of one WebSocket connection, as rooms see it.
#[derive(Clone)]
pub(crate) struct ConnHandle {
    pub id: u64,
    pub identity: Arc<Identity>,
    sink: Sink,
}

/// Where a connection's frames go: its own writer queue, or (cluster mode) the node it is
/// connected to. The remote case is boxed: every room keeps a handle per local member.
#[derive(Clone)]
enum Sink {
    Local(Arc<Outbox>),
    Remote(Box<RemoteSink>),
}

#[derive(Clone)]
struct RemoteSink {
    node: String,
    room: RoomId,
    cluster: Arc<Cluster>,
}

impl std::fmt::Debug for ConnHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnHandle")
            .field("id", &self.id)
            .field("user", &self.identity.user)
            .field("remote", &self.remote_node())
            .finish()
    }
}

impl ConnHandle {
    pub fn new(id: u64, identity: Arc<Identity>, outbox: Arc<Outbox>) -> Self {
        ConnHandle {
            id,
            identity,
            sink: Sink::Local(outbox),
        }
    }

    /// A connection on another node, answered through `cluster`.
    pub fn remote(
        node: String,
        id: u64,
        identity: Arc<Identity>,
        room: RoomId,
        cluster: Arc<Cluster>,
    ) -> Self {
        ConnHandle {
            id,
            identity,
            sink: Sink::Remote(Box::new(RemoteSink {
                node,
                room,
                cluster,
            })),
        }
    }

    /// The node of a remote connection.
    pub fn remote_node(&self) -> Option<&str> {
        match &self.sink {
            Sink::Local(_) => None,
            Sink::Remote(r) => Some(&r.node),
        }
    }

    pub fn user(&self) -> &UserId {
        &self.identity.user
    }

    /// Queues a frame without waiting. A full queue closes the connection as too slow.
    pub fn send(&self, text: Utf8Bytes) -> bool {
        self.send_frame(text, None).is_some()
    }

    /// Queues a room's live output (see [`Outbox::push_live`]): `None` when the connection is
    /// closed or too slow (then closed), else whether it replaced a waiting seat list.
    pub fn send_live(&self, text: Utf8Bytes, live: Live) -> Option<bool> {
        self.send_frame(text, Some(live))
    }

    fn send_frame(&self, text: Utf8Bytes, live: Option<Live>) -> Option<bool> {
        let outbox = match &self.sink {
            Sink::Local(outbox) => outbox,
            Sink::Remote(r) => {
                r.cluster.answer(&r.node, &r.room, self.id, text.as_str());
                return Some(false);
            }
        };
        let pushed = match live {
            Some(live) => outbox.push_live(text, live),
            None => outbox.push(text),
        };
        match pushed {
            Pushed::Queued => Some(false),
            Pushed::Replaced => Some(true),
            Pushed::Full => {
                self.close(coguest_proto::CLOSE_TOO_SLOW);
                None
            }
            Pushed::Closed => None,
        }
    }

    pub fn send_msg(&self, msg: &ServerMsg) -> bool {
        self.send(encode(msg))
    }

    pub fn error(&self, id: Option<u64>, code: ErrorCode, message: impl Into<String>) -> bool {
        self.send_msg(&ServerMsg::Error {
            id,
            code: code.code(),
            message: message.into(),
            app_code: None,
            reason: None,
        })
    }

    /// Queues the answer to the client's ping (local connections only: a remote one's pings
    /// are answered by its own node). A full queue closes the connection as too slow, as for
    /// any frame: a client that pings without reading is not answered forever.
    pub fn pong(&self, payload: tungstenite::Bytes) {
        if let Sink::Local(outbox) = &self.sink {
            if outbox.push_pong(payload) == Pushed::Full {
                self.close(coguest_proto::CLOSE_TOO_SLOW);
            }
        }
    }

    /// The client was heard from at `at` (local connections: the idle sweep reads it).
    pub fn heard(&self, at: Timestamp) {
        if let Sink::Local(outbox) = &self.sink {
            outbox.heard(at);
        }
    }

    /// Asks the connection's writer to close with `code` (the first code asked for wins).
    pub fn close(&self, code: u16) {
        let Sink::Local(outbox) = &self.sink else {
            return;
        };
        outbox.ask_close(code);
    }
}
