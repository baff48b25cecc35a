//! What nodes send each other about rooms: members' commands forwarded to the owner, admin
//! requests, and answers for connections on another node.

use coguest_core::{Command, Profile, Role};
use coguest_proto::ClientCommand;
use serde::{Deserialize, Serialize};

/// A member command forwarded to a room's owner.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
pub(crate) enum CmdMsg {
    /// A command from a connection on another node.
    Command {
        node: String,
        conn: u64,
        user: String,
        profile: Profile,
        role: Role,
        id: u64,
        cmd: ClientCommand,
        core: Option<Command>,
    },
    /// A connection on another node left the room or closed.
    Detach { node: String, conn: u64 },
    /// Every connection a node has in the room (sent to a new owner).
    Presence {
        node: String,
        conns: Vec<(u64, String)>,
    },
    /// An admin API request received by another node; answered with an [`AdminAnswer`] on
    /// that node's channel (connection [`ADMIN_CONN`]).
    Admin { node: String, req: u64, op: AdminOp },
}

/// What the admin API asks a room's owner to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum AdminOp {
    /// Apply a command as the operator.
    Operator { command: Command },
    /// Close the room.
    Close,
}

/// The owner's answer to a forwarded admin request: the room version, or the refusal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AdminAnswer {
    pub req: u64,
    pub result: Result<u64, (coguest_proto::ErrorCode, String)>,
}

/// The connection id that marks an answer as an [`AdminAnswer`] (real connections start at 1).
pub(crate) const ADMIN_CONN: u64 = 0;

/// An answer for a connection on this node.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct NodeMsg {
    pub room: String,
    pub conn: u64,
    pub text: String,
}
