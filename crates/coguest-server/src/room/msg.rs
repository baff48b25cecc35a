//! What a room actor is asked to do (its inbox's messages) and what it answers the admin API.

use crate::approval::Verdict;
use crate::cluster::msg::{CmdMsg, NodeMsg};
use crate::room::handle::ConnHandle;
use crate::store::redis::RoomNotice;
use coguest_core::{Command, RoomConfig};
use coguest_proto::{ApprovalKind, ClientCommand, CoGuestState, ErrorCode, RoomSummary};
use std::time::Instant;
use tokio::sync::oneshot;

/// A command routed to a room.
#[derive(Debug, Clone)]
pub(crate) struct CommandMsg {
    pub conn: ConnHandle,
    pub id: u64,
    pub cmd: ClientCommand,
    /// The core command, for co-guest commands (checked by the connection).
    pub core: Option<Command>,
    pub received: Instant,
}

/// What a room actor is asked to do.
#[derive(Debug)]
pub(crate) enum RoomMsg {
    Command(Box<CommandMsg>),
    /// A connection closed, or left the room.
    Detach {
        conn: u64,
    },
    Inspect(oneshot::Sender<RoomInfo>),
    /// The room at a glance, for the rooms feed.
    Summary(oneshot::Sender<RoomSummary>),
    /// A command from the admin API, applied as the operator (a host that is not a member).
    Operator {
        command: Command,
        reply: oneshot::Sender<Result<u64, (ErrorCode, String)>>,
    },
    /// Close the room: tell every member, delete it from storage, stop the actor.
    Close(oneshot::Sender<Result<(), (ErrorCode, String)>>),
    /// Cluster: something published on the room's channel.
    Notice(RoomNotice),
    /// Cluster: a message for the owner from another node.
    Remote(Box<CmdMsg>),
    /// Cluster: the owner's answer to a forwarded command.
    Answer(NodeMsg),
    /// Cluster: the node's Redis subscription was lost and restored; what was published
    /// meanwhile is lost.
    Resync,
    /// Cluster: the room's data is gone from Redis (see `Cluster::detect_loss`): tell the
    /// members (`room_closed`, reason `lost`) and stop.
    Lost,
    /// Cluster: this node's heartbeat had expired (it was paused or cut off), so owners may
    /// have dropped its connections: announce them again.
    Reannounce,
    /// The approval hook's verdict on a waiting command (see `actor/approve.rs`).
    Approval {
        kind: ApprovalKind,
        token: u64,
        verdict: Verdict,
    },
}

/// A room's settings and host view, for the admin API.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RoomInfo {
    /// The room id.
    pub room: String,
    /// Its settings.
    pub settings: RoomConfig,
    /// The full host view.
    pub state: CoGuestState,
    /// Members present (connected or within their grace period).
    pub member_count: usize,
}
