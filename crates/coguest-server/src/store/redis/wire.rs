//! What is stored and published: a log entry as JSON ([`WireEntry`]), and the notices on a
//! room channel ([`RoomNotice`]).

use crate::store::{LogEntry, LogInput, StoreError, TIMEOUT_MARKER, backend};
use coguest_core::{Command, Timestamp, UserId};
use serde::{Deserialize, Serialize};

/// One log entry as stored in Redis and published on the room channel.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WireEntry {
    /// Sequence number.
    pub seq: u64,
    /// Unix ms it was applied with.
    pub at: u64,
    /// The member, `None` for a timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The command (JSON of the core command) or the timeout marker.
    pub command: serde_json::Value,
    /// Client request id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req: Option<u64>,
    /// Published only (never stored): the answer to the command, when it came from a
    /// connection on another node. It travels with the entry so that node sends it right after
    /// the entry's outputs and before any later entry's: published on its own it could arrive
    /// after the next entry, and the member would see the room's version go backwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<EntryAnswer>,
}

/// A forwarded command's answer, carried by its entry (see [`WireEntry::answer`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EntryAnswer {
    /// The node of the connection.
    pub node: String,
    /// The connection (ids are per node).
    pub conn: u64,
    /// The answer frame.
    pub text: String,
}

impl WireEntry {
    /// Encodes a log entry.
    pub fn from_entry(e: &LogEntry) -> Result<Self, StoreError> {
        let (actor, command) = match &e.input {
            LogInput::Timeout => (None, serde_json::Value::String(TIMEOUT_MARKER.into())),
            LogInput::Command { actor, command } => (
                Some(actor.to_string()),
                serde_json::to_value(command).map_err(backend)?,
            ),
        };
        Ok(WireEntry {
            seq: e.seq,
            at: e.at.as_millis(),
            actor,
            command,
            req: e.client_req_id,
            answer: None,
        })
    }

    /// Decodes into a log entry.
    pub fn to_entry(&self) -> Result<LogEntry, StoreError> {
        let input = match &self.actor {
            None => LogInput::Timeout,
            Some(actor) => LogInput::Command {
                actor: UserId::from(actor.as_str()),
                command: serde_json::from_value::<Command>(self.command.clone())
                    .map_err(|e| StoreError::Corrupt(format!("log entry {}: {e}", self.seq)))?,
            },
        };
        Ok(LogEntry {
            seq: self.seq,
            at: Timestamp::from_millis(self.at),
            input,
            client_req_id: self.req,
        })
    }
}

/// What is published on a room channel.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
pub enum RoomNotice {
    /// A stored log entry.
    Entry(WireEntry),
    /// A node became the owner (or, after resubscribing, is still it).
    Leader {
        /// The owner.
        node: String,
        /// Its epoch.
        epoch: u64,
    },
    /// The owner gave the room up (shutdown).
    Released {
        /// The node that let go.
        node: String,
    },
    /// The room was closed and deleted (published by the delete itself, so every node with
    /// members tells them and stops its copy).
    Closed,
}
