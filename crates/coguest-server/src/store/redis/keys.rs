//! Key and channel names: the one place they are made (the layout is in the module docs).

/// Key and channel names under one prefix.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Names under `prefix`.
    pub fn new(prefix: &str) -> Self {
        Keys {
            prefix: prefix.to_owned(),
        }
    }
    /// The room hash.
    pub fn room(&self, room: &str) -> String {
        format!("{}:room:{room}", self.prefix)
    }
    /// The room's log.
    pub fn log(&self, room: &str) -> String {
        format!("{}:log:{room}", self.prefix)
    }
    /// The set of room ids.
    pub fn rooms(&self) -> String {
        format!("{}:rooms", self.prefix)
    }
    /// The room's lease.
    pub fn lease(&self, room: &str) -> String {
        format!("{}:lease:{room}", self.prefix)
    }
    /// The room's epoch counter.
    pub fn epoch(&self, room: &str) -> String {
        format!("{}:epoch:{room}", self.prefix)
    }
    /// The room's snapshot after log entry `seq` (a list of chunks; see `snapshots.rs`).
    pub fn snap(&self, room: &str, seq: u64) -> String {
        format!("{}:snap:{room}:{seq}", self.prefix)
    }
    /// The room id's incarnation counter (kept when the room is deleted).
    pub fn incarnation(&self, room: &str) -> String {
        format!("{}:incarnation:{room}", self.prefix)
    }
    /// An endpoint's webhook outbox.
    pub fn hooks(&self, endpoint: &str) -> String {
        format!("{}:hooks:{endpoint}", self.prefix)
    }
    /// The counter that numbers webhook deliveries.
    pub fn hookseq(&self) -> String {
        format!("{}:hookseq", self.prefix)
    }
    /// The webhook delivery lease: the one node that delivers.
    pub fn hooklease(&self) -> String {
        format!("{}:hooklease", self.prefix)
    }
    /// A node's heartbeat.
    pub fn node(&self, node: &str) -> String {
        format!("{}:node:{node}", self.prefix)
    }
    /// The cluster's generation marker: set once by the first node, so that a node can tell
    /// that Redis lost the data (restarted without persistence, flushed, another Redis).
    pub fn generation(&self) -> String {
        format!("{}:generation", self.prefix)
    }
    /// The set of node ids.
    pub fn nodes(&self) -> String {
        format!("{}:nodes", self.prefix)
    }
    /// The room's change channel.
    pub fn room_channel(&self, room: &str) -> String {
        format!("{}:ch:room:{room}", self.prefix)
    }
    /// The room's command channel (its owner listens).
    pub fn cmd_channel(&self, room: &str) -> String {
        format!("{}:ch:cmd:{room}", self.prefix)
    }
    /// A node's answer channel.
    pub fn node_channel(&self, node: &str) -> String {
        format!("{}:ch:node:{node}", self.prefix)
    }
    /// The prefix of room channels (to recognise them).
    pub fn room_channel_prefix(&self) -> String {
        format!("{}:ch:room:", self.prefix)
    }
    /// The prefix of command channels.
    pub fn cmd_channel_prefix(&self) -> String {
        format!("{}:ch:cmd:", self.prefix)
    }
}
