//! One task per room: the only owner of that room's [`Room`].
//!
//! Each turn does exactly one thing: a command, a due deadline (request timeouts through
//! `handle_timeout`, or a reconnect grace period ending in a leave), a join, a detach, or
//! shutdown. A mutation is followed by draining `poll_output` completely, then committing the
//! input to the log, then delivering the outputs and the answer — so nothing is sent that is
//! not stored, and memory never runs ahead of disk (a failed write reloads the room).

use crate::auth::Identity;
use crate::cluster::{ADMIN_CONN, AdminAnswer, AdminOp, Cluster, CmdMsg, NodeMsg};
use crate::peers::Peers;
use crate::registry::Registry;
use crate::retry_cache::{Kept, RetryCache};
use crate::socket::OutFrame;
use crate::store::redis::{Acquired, EntryAnswer, RoomNotice};
use crate::store::{LogEntry, LogInput, StoreError, StoredRoom};
use crate::{Shared, encode};
use axum::extract::ws::Utf8Bytes;
use coguest_core::{
    Audience, Command, CommandError, Output, OutputBody, RequestId, Room, RoomConfig, RoomId,
    Timestamp, UserId,
};
use coguest_proto::{
    ClientCommand, CoGuestState, ErrorCode, ServerMsg, WebhookEvent, WireBody, WireError,
};
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot, watch};

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

/// A connection's frames waiting for its writer: bounded, filled by room actors without
/// waiting, drained by the writer task. Lighter than a tokio `mpsc` channel, which allocates a
/// block of 32 slots (1 KiB of `Utf8Bytes`) for every connection up front: this holds what is
/// queued, and gives back the room of a long queue once it is drained.
///
/// A seat list is the whole list: one still waiting when the room's next arrives is dropped
/// (see [`Outbox::push_live`]), so a connection that falls behind a burst of seat changes
/// catches up with the latest state instead of working through a backlog.
#[derive(Debug)]
pub struct Outbox {
    frames: std::sync::Mutex<Queue>,
    cap: usize,
    /// Set when the writer is gone: nothing is queued any more.
    closed: std::sync::atomic::AtomicBool,
    /// 0 until a close of the connection is asked for (close codes are never 0); the first
    /// code asked for wins.
    close_code: std::sync::atomic::AtomicU16,
    /// Wakes the writer: a frame was queued, or a close asked for.
    ready: tokio::sync::Notify,
    /// When the client was last heard from (ms on the server clock), for the idle sweep.
    heard: std::sync::atomic::AtomicU64,
}

/// What the writer is to do next (see [`Outbox::next`]).
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Write this frame.
    Frame(OutFrame),
    /// Close the connection with this code.
    Close(u16),
}

/// What [`Outbox::push`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Pushed {
    /// Queued.
    Queued,
    /// Queued in place of an older seat list of the same room that was still waiting.
    Replaced,
    /// Not queued: the queue is full (the connection is too slow).
    Full,
    /// Not queued: the writer is gone.
    Closed,
}

/// Numbers room actors for [`Live::room`] (wrapping is harmless: two actors would have to share
/// a number while both have frames waiting for one connection).
static NEXT_ROOM_KEY: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// A queued frame; a room's live output carries where it belongs in the room's history.
#[derive(Debug)]
struct Frame {
    out: OutFrame,
    live: Option<Live>,
}

/// The frames waiting for a connection's writer, oldest first. The oldest is held in place:
/// most deliveries find the queue empty and are written before the next one comes, and the
/// `VecDeque` behind it (given back when drained, so an idle connection keeps no slots) is
/// allocated only when frames pile up.
#[derive(Debug, Default)]
struct Queue {
    /// The oldest frame; `None` only when `rest` is empty too.
    first: Option<Frame>,
    rest: std::collections::VecDeque<Frame>,
}

impl Queue {
    fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    fn get(&self, i: usize) -> Option<&Frame> {
        match i {
            0 => self.first.as_ref(),
            _ => self.rest.get(i - 1),
        }
    }

    fn push_back(&mut self, frame: Frame) {
        if self.first.is_none() {
            self.first = Some(frame);
        } else {
            self.rest.push_back(frame);
        }
    }

    fn pop_front(&mut self) -> Option<Frame> {
        let frame = self.first.take()?;
        self.first = self.rest.pop_front();
        if self.first.is_none() && self.rest.capacity() > 0 {
            // Drained: its slots are given back.
            self.rest = std::collections::VecDeque::new();
        }
        Some(frame)
    }

    fn remove(&mut self, i: usize) {
        if i == 0 {
            self.pop_front();
        } else {
            self.rest.remove(i - 1);
        }
    }
}

/// A room's live output: which room actor sent it (a process-wide number, see
/// `RoomActor::key`), its version, and whether it is the seat list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Live {
    /// The room actor's number.
    pub room: u32,
    /// The output's room version.
    pub version: u64,
    /// Whether it is the room's whole seat list.
    pub seats: bool,
}

/// How far back from the newest queued frame a waiting seat list is looked for.
const REPLACE_WINDOW: usize = 64;

impl Outbox {
    /// An empty queue of at most `cap` frames.
    pub fn new(cap: usize) -> Self {
        Outbox {
            frames: std::sync::Mutex::new(Queue::default()),
            cap: cap.max(1),
            closed: std::sync::atomic::AtomicBool::new(false),
            close_code: std::sync::atomic::AtomicU16::new(0),
            ready: tokio::sync::Notify::new(),
            heard: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The client was heard from at `at`.
    pub fn heard(&self, at: Timestamp) {
        self.heard
            .store(at.as_millis(), std::sync::atomic::Ordering::Relaxed);
    }

    /// When the client was last heard from.
    pub fn last_heard(&self) -> Timestamp {
        Timestamp::from_millis(self.heard.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Whether a close was asked for.
    pub fn closing(&self) -> bool {
        self.close_code.load(std::sync::atomic::Ordering::SeqCst) != 0
    }

    /// Queues a frame without waiting.
    pub fn push(&self, text: Utf8Bytes) -> Pushed {
        self.push_frame(Frame {
            out: OutFrame::Text(text),
            live: None,
        })
    }

    /// Queues the answer to a client's ping.
    pub fn push_pong(&self, payload: tungstenite::Bytes) -> Pushed {
        self.push_frame(Frame {
            out: OutFrame::Pong(payload),
            live: None,
        })
    }

    /// Queues a room's live output. A seat list replaces the room's previous one if that is
    /// still waiting and no later waiting frame shares its version: a client counts the
    /// messages of its newest version to resume without duplicates, so a version is dropped
    /// only whole, never from before one of its messages that is still delivered.
    pub fn push_live(&self, text: Utf8Bytes, live: Live) -> Pushed {
        self.push_frame(Frame {
            out: OutFrame::Text(text),
            live: Some(live),
        })
    }

    fn push_frame(&self, frame: Frame) -> Pushed {
        use std::sync::atomic::Ordering::SeqCst;
        if self.closed.load(SeqCst) {
            return Pushed::Closed;
        }
        let Ok(mut frames) = self.frames.lock() else {
            return Pushed::Closed;
        };
        let mut replaced = false;
        if let Some(new) = frame.live.filter(|l| l.seats) {
            let from = frames.len().saturating_sub(REPLACE_WINDOW);
            let older = (from..frames.len()).rev().find_map(|i| {
                let old = frames.get(i)?.live?;
                (old.seats && old.room == new.room && old.version < new.version).then_some((i, old))
            });
            if let Some((i, old)) = older {
                let shared = (i + 1..frames.len())
                    .filter_map(|j| frames.get(j))
                    .any(|f| {
                        f.live
                            .is_some_and(|l| l.room == old.room && l.version == old.version)
                    });
                if !shared {
                    frames.remove(i);
                    replaced = true;
                }
            }
        }
        if frames.len() >= self.cap {
            return Pushed::Full;
        }
        frames.push_back(frame);
        drop(frames);
        // A permit is kept if the writer is not waiting right now.
        self.ready.notify_one();
        if replaced {
            Pushed::Replaced
        } else {
            Pushed::Queued
        }
    }

    /// The oldest queued frame, if any.
    pub fn pop(&self) -> Option<OutFrame> {
        let mut frames = self.frames.lock().ok()?;
        frames.pop_front().map(|f| f.out)
    }

    /// The next frame once one is queued, or the close once one is asked for (before any
    /// frame: the writer then flushes what it wants to).
    pub async fn next(&self) -> Next {
        loop {
            let code = self.close_code.load(std::sync::atomic::Ordering::SeqCst);
            if code != 0 {
                return Next::Close(code);
            }
            if let Some(frame) = self.pop() {
                return Next::Frame(frame);
            }
            self.ready.notified().await;
        }
    }

    /// Asks the writer to close the connection with `code`, unless a close was asked for
    /// already.
    pub fn ask_close(&self, code: u16) {
        use std::sync::atomic::Ordering::SeqCst;
        if self
            .close_code
            .compare_exchange(0, code, SeqCst, SeqCst)
            .is_ok()
        {
            // A permit is kept if the writer is not waiting right now.
            self.ready.notify_one();
        }
    }

    /// The writer is gone: drop what waits and refuse what comes.
    pub fn close(&self) {
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Ok(mut frames) = self.frames.lock() {
            *frames = Queue::default();
        }
    }
}

/// A command routed to a room.
#[derive(Debug)]
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

#[derive(Clone)]
struct RingEntry {
    version: u64,
    to: Audience,
    text: Utf8Bytes,
    /// The whole seat list (a newer one supersedes it in a connection's queue).
    seats: bool,
}

/// How much a room keeps for resuming clients: at most `entries` outputs and `bytes` of their
/// text, so the history costs a bounded amount per room however busy or large it is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RingCap {
    pub entries: usize,
    pub bytes: usize,
}

impl RingCap {
    pub fn of(config: &crate::ServerConfig) -> Self {
        RingCap {
            entries: config.resume_ring,
            bytes: config.resume_ring_bytes,
        }
    }
}

/// The newest outputs of a room, oldest first, for clients resuming by version.
#[derive(Clone)]
struct ResumeRing {
    entries: VecDeque<RingEntry>,
    /// Clients at or past this version can resume; older ones get a snapshot.
    floor: u64,
    /// Text bytes held (plus a fixed cost per entry).
    bytes: usize,
}

impl ResumeRing {
    fn new(floor: u64) -> Self {
        ResumeRing {
            entries: VecDeque::new(),
            floor,
            bytes: 0,
        }
    }

    fn cost(e: &RingEntry) -> usize {
        e.text.len() + std::mem::size_of::<RingEntry>()
    }

    fn push(&mut self, entry: RingEntry, cap: RingCap) {
        self.bytes += Self::cost(&entry);
        self.entries.push_back(entry);
        while self.entries.len() > cap.entries || self.bytes > cap.bytes {
            let Some(old) = self.entries.pop_front() else {
                break;
            };
            self.bytes -= Self::cost(&old);
            // Some output of `old.version` is gone, so only clients at or past it can resume.
            self.floor = self.floor.max(old.version);
        }
    }

    /// The outputs after `since`.
    fn after(&self, since: u64) -> impl Iterator<Item = &RingEntry> {
        self.entries.iter().filter(move |e| e.version > since)
    }
}

/// A room rebuilt from storage: the core state and what replaying its log said and answered.
pub(crate) struct Rebuilt {
    room: Room,
    ring: ResumeRing,
    answers: RetryCache,
    log_seq: u64,
    checkpoint_seq: u64,
}

impl Rebuilt {
    /// A room that was just created (nothing to replay).
    pub fn new_room(room: Room) -> Self {
        Rebuilt {
            ring: ResumeRing::new(room.version()),
            room,
            answers: RetryCache::default(),
            log_seq: 0,
            checkpoint_seq: 0,
        }
    }

    /// Replays a stored room's log through the core (same inputs, same outputs).
    pub fn replay(name: &str, stored: StoredRoom, ring_cap: RingCap) -> Result<Self, StoreError> {
        let corrupt = |m: String| StoreError::Corrupt(format!("room {name}: {m}"));
        let ring = ResumeRing::new(stored.base.version);
        let room = Room::restore(stored.base).map_err(|e| corrupt(e.to_string()))?;
        let mut r = Rebuilt {
            room,
            ring,
            answers: RetryCache::default(),
            log_seq: stored.base_seq,
            checkpoint_seq: stored.checkpoint_seq,
        };
        for entry in stored.log {
            if entry.seq != r.log_seq + 1 {
                return Err(corrupt(format!(
                    "log jumps from {} to {}",
                    r.log_seq, entry.seq
                )));
            }
            r.log_seq = entry.seq;
            match entry.input {
                LogInput::Timeout => r.room.handle_timeout(entry.at),
                LogInput::Command { actor, command } => {
                    let retryable = retryable(&command);
                    let leaving = matches!(command, Command::Leave);
                    match r.room.handle_command(entry.at, &actor, command) {
                        Ok(request_id) => {
                            if let (Some(id), true) = (entry.client_req_id, retryable) {
                                let version = r.room.version();
                                let kept = Kept::Ack {
                                    version,
                                    request_id,
                                };
                                r.answers.remember(&actor, id, kept);
                            }
                            if leaving {
                                r.answers.departed(&actor);
                            }
                        }
                        Err(e) => {
                            tracing::warn!(room = name, seq = entry.seq, error = %e,
                                "a logged command was refused on replay");
                        }
                    }
                }
            }
            // Backend notices were written to the webhook outbox when first applied.
            while let Some(out) = r.room.poll_output() {
                if let Some(entry) = output_entry(name, out) {
                    r.ring.push(entry, ring_cap);
                }
            }
        }
        Ok(r)
    }
}

/// Whether a retried request id with this command gets the first answer back. Joins are
/// always re-run: they register the connection and send a snapshot.
fn retryable(cmd: &Command) -> bool {
    !matches!(cmd, Command::Join { .. })
}

fn ack(id: u64, room: &str, version: u64, request_id: Option<RequestId>) -> Utf8Bytes {
    encode(&ServerMsg::Ack {
        id,
        room: Some(room.to_owned()),
        version: Some(version),
        request_id: request_id.map(|r| r.0),
    })
}

/// The member-facing form of an output; `None` for backend notices.
fn output_entry(room: &str, out: Output) -> Option<RingEntry> {
    let msg = match WireBody::from(&out.body) {
        WireBody::Backend => return None,
        WireBody::Event(event) => ServerMsg::Event {
            room: room.to_owned(),
            version: out.version,
            event,
        },
        WireBody::Change(change) => ServerMsg::Change {
            room: room.to_owned(),
            version: out.version,
            change,
        },
    };
    let seats = matches!(
        &msg,
        ServerMsg::Change {
            change: coguest_proto::Change::Seats { .. },
            ..
        }
    );
    Some(RingEntry {
        version: out.version,
        to: out.to,
        text: encode(&msg),
        seats,
    })
}

/// This node's part in a room.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Part {
    /// Single node: storage is not shared, the room is always ours.
    Single,
    /// Cluster owner with this lease epoch; the lease is trusted without asking Redis until
    /// `valid_until` (a safety margin before it expires).
    Owner { epoch: u64, valid_until: Instant },
    /// Cluster follower: applies the entries the owner publishes, forwards commands.
    Follower,
}

impl Part {
    /// An owner that acquired (or renewed) its lease at `sent`.
    pub fn owner(epoch: u64, sent: Instant, lease: std::time::Duration) -> Self {
        Part::Owner {
            epoch,
            valid_until: sent + lease * 3 / 4,
        }
    }
}

/// Where an admin request's result goes.
enum AdminReply {
    Operator(oneshot::Sender<Result<u64, (ErrorCode, String)>>),
    Close(oneshot::Sender<Result<(), (ErrorCode, String)>>),
}

impl AdminReply {
    fn send(self, result: Result<u64, (ErrorCode, String)>) {
        match self {
            AdminReply::Operator(tx) => {
                let _ = tx.send(result);
            }
            AdminReply::Close(tx) => {
                let _ = tx.send(result.map(|_| ()));
            }
        }
    }
}

/// An admin request forwarded to the owner and not answered yet.
struct PendingAdmin {
    op: AdminOp,
    reply: AdminReply,
    sent: Instant,
}

/// A command forwarded to the owner and not answered yet.
struct Forwarded {
    c: CommandMsg,
    was_member: bool,
    sent: Instant,
}

enum MutateError {
    Refused(CommandError),
    Store(StoreError),
}

/// What a stored mutation returns.
struct Mutated {
    request_id: Option<RequestId>,
    /// The ack already on its way: a command from another node's connection is answered in the
    /// published entry itself (see `WireEntry::answer`).
    answered: Option<Utf8Bytes>,
}

/// A command's answer, and whether it was sent already.
struct Answer {
    text: Utf8Bytes,
    sent: bool,
}

impl Answer {
    fn to_send(text: Utf8Bytes) -> Self {
        Answer { text, sent: false }
    }
}

pub(crate) struct RoomActor {
    id: RoomId,
    /// This actor's number in the process, which its live outputs carry in connection queues
    /// (a connection may be in several rooms).
    key: u32,
    room: Room,
    shared: Arc<Shared>,
    registry: Arc<Registry>,
    inbox: mpsc::Receiver<RoomMsg>,
    me: mpsc::Sender<RoomMsg>,
    shutdown: watch::Receiver<bool>,
    peers: Peers,
    grace: BTreeSet<(Timestamp, UserId)>,
    grace_of: HashMap<UserId, Timestamp>,
    ring: ResumeRing,
    answers: RetryCache,
    log_seq: u64,
    /// Log position of the last compaction tried (stored, or failed: see `compact`).
    checkpoint_seq: u64,
    timers_reported: i64,
    broken: bool,
    closed: bool,
    part: Part,
    cluster: Option<Arc<Cluster>>,
    /// Owner: connections of members on other nodes, by user.
    remote: HashMap<UserId, HashSet<(String, u64)>>,
    /// Follower: commands waiting for the owner's answer, by (connection, request id).
    forwarded: HashMap<(u64, u64), Forwarded>,
    /// Follower: admin requests waiting for the owner's answer, by request number.
    admin_pending: HashMap<u64, PendingAdmin>,
    next_admin: u64,
    /// The room version the local connections have been told about.
    delivered_version: u64,
    /// Follower: the stored log sequence seen at the last tick, when it was ahead of this copy.
    stored_ahead: Option<u64>,
    next_tick: Instant,
    /// Which room of this id this is (webhook event ids carry it; 0 without webhooks).
    incarnation: u64,
}

impl RoomActor {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: RoomId,
        rebuilt: Rebuilt,
        shared: Arc<Shared>,
        registry: Arc<Registry>,
        inbox: mpsc::Receiver<RoomMsg>,
        me: mpsc::Sender<RoomMsg>,
        shutdown: watch::Receiver<bool>,
        loaded: bool,
        part: Part,
        incarnation: u64,
    ) -> Self {
        let cluster = shared.cluster.clone();
        let delivered_version = rebuilt.room.version();
        let mut actor = RoomActor {
            id,
            key: NEXT_ROOM_KEY.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            room: rebuilt.room,
            shared,
            registry,
            inbox,
            me,
            shutdown,
            peers: Peers::default(),
            grace: BTreeSet::new(),
            grace_of: HashMap::new(),
            ring: rebuilt.ring,
            answers: rebuilt.answers,
            log_seq: rebuilt.log_seq,
            checkpoint_seq: rebuilt.checkpoint_seq,
            timers_reported: 0,
            broken: false,
            closed: false,
            part,
            cluster,
            remote: HashMap::new(),
            forwarded: HashMap::new(),
            admin_pending: HashMap::new(),
            next_admin: 0,
            delivered_version,
            stored_ahead: None,
            next_tick: Instant::now(),
            incarnation,
        };
        if loaded && actor.decides() {
            // Nobody is connected after a (re)load: every member gets a grace period.
            let until = actor.grace_deadline(actor.shared.clock.now());
            let members: Vec<UserId> = actor.room.members().map(|m| m.user_id.clone()).collect();
            for user in members {
                actor.start_grace(user, until);
            }
        }
        actor
    }

    fn name(&self) -> &str {
        self.id.as_str()
    }

    fn grace_deadline(&self, now: Timestamp) -> Timestamp {
        let ms = u64::try_from(self.shared.config.grace_period.as_millis()).unwrap_or(u64::MAX);
        now.plus_millis(ms)
    }

    pub async fn run(mut self) {
        self.shared.metrics.rooms.inc();
        tracing::debug!(
            room = self.name(),
            version = self.room.version(),
            "room actor started"
        );
        if matches!(self.part, Part::Owner { .. }) {
            self.shared.metrics.owned_rooms.inc();
        }
        while !*self.shutdown.borrow() && !self.broken && !self.closed {
            self.report_timers();
            let sleep = match self.next_deadline() {
                Some(t) => self.shared.clock.sleep_until(t),
                None => Box::pin(std::future::pending()),
            };
            let tick: crate::clock::BoxFuture<'_, ()> = match self.cluster {
                Some(_) => Box::pin(tokio::time::sleep_until(self.next_tick.into())),
                None => Box::pin(std::future::pending()),
            };
            tokio::select! {
                biased;
                changed = self.shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
                () = tick => self.on_tick().await,
                () = sleep => self.on_deadline().await,
                msg = self.inbox.recv() => match msg {
                    Some(msg) => self.on_msg(msg).await,
                    None => break,
                },
            }
            // Commands that waited for an owner while this node became it.
            if matches!(self.part, Part::Owner { .. }) && !self.forwarded.is_empty() {
                let waiting: Vec<Forwarded> = self.forwarded.drain().map(|(_, f)| f).collect();
                for f in waiting {
                    self.on_command(f.c).await;
                }
            }
            // Admin requests that waited for an owner while this node became it.
            if matches!(self.part, Part::Owner { .. }) && !self.admin_pending.is_empty() {
                let mut waiting: Vec<(u64, PendingAdmin)> = self.admin_pending.drain().collect();
                waiting.sort_by_key(|(req, _)| *req);
                for (_, p) in waiting {
                    let result = self.apply_admin(p.op).await;
                    p.reply.send(result);
                }
            }
        }
        if let (Part::Owner { .. }, Some(cluster)) = (self.part, self.cluster.clone()) {
            // Let another node take the room at once instead of after the lease.
            if let Err(e) = cluster.store.release(&self.id).await {
                tracing::warn!(room = self.name(), error = %e, "releasing the lease failed");
            }
            self.shared.metrics.owned_rooms.dec();
        }
        self.exit();
    }

    fn exit(mut self) {
        self.registry.forget(&self.id, &self.me);
        self.inbox.close();
        let (code, why) = if self.closed {
            (ErrorCode::RoomIdNotExist, "the room was closed")
        } else if self.broken {
            (
                ErrorCode::Failed,
                "the room could not be reloaded from storage",
            )
        } else {
            (
                ErrorCode::ShuttingDown,
                "the server is shutting down; reconnect",
            )
        };
        while let Ok(msg) = self.inbox.try_recv() {
            if let RoomMsg::Command(c) = msg {
                if c.conn.remote_node().is_none() {
                    c.conn.error(Some(c.id), code, why);
                }
            }
        }
        for (_, f) in self.forwarded.drain() {
            f.c.conn.error(Some(f.c.id), code, why);
        }
        for (_, p) in self.admin_pending.drain() {
            p.reply.send(Err((code, why.to_owned())));
        }
        self.shared
            .metrics
            .timers_pending
            .dec_by(self.timers_reported);
        self.shared.metrics.rooms.dec();
        tracing::debug!(
            room = self.name(),
            broken = self.broken,
            "room actor stopped"
        );
    }

    fn report_timers(&mut self) {
        let now =
            i64::try_from(self.room.pending_request_count() + self.grace.len()).unwrap_or(i64::MAX);
        self.shared
            .metrics
            .timers_pending
            .inc_by(now - self.timers_reported);
        self.timers_reported = now;
    }

    fn next_deadline(&self) -> Option<Timestamp> {
        if !self.decides() {
            return None;
        }
        let grace = self.grace.first().map(|(t, _)| *t);
        match (self.room.poll_timeout(), grace) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn start_grace(&mut self, user: UserId, until: Timestamp) {
        self.cancel_grace(&user);
        self.grace.insert((until, user.clone()));
        self.grace_of.insert(user, until);
    }

    fn cancel_grace(&mut self, user: &UserId) {
        if let Some(t) = self.grace_of.remove(user) {
            self.grace.remove(&(t, user.clone()));
        }
    }

    async fn on_deadline(&mut self) {
        if !self.ensure_owner().await {
            return;
        }
        let now = self.shared.clock.now();
        if self.room.poll_timeout().is_some_and(|t| t <= now) {
            if let Err(MutateError::Store(e)) = self.mutate(now, LogInput::Timeout, None).await {
                tracing::error!(room = self.name(), error = %e, "could not store a timeout");
                // Do not spin on a failing store.
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            return;
        }
        let due = self.grace.first().filter(|(t, _)| *t <= now).cloned();
        if let Some((_, user)) = due {
            self.cancel_grace(&user);
            let connected = self.peers.has_user(&user) || self.remote.contains_key(&user);
            if connected || self.room.member(&user).is_none() {
                return;
            }
            tracing::debug!(room = self.name(), user = %user, "grace period over: leaving");
            let input = LogInput::Command {
                actor: user.clone(),
                command: Command::Leave,
            };
            match self.mutate(now, input, None).await {
                Ok(_) => self.answers.departed(&user),
                Err(MutateError::Store(e)) => {
                    tracing::error!(room = self.name(), error = %e, "could not store a leave");
                }
                Err(MutateError::Refused(_)) => {}
            }
        }
    }

    async fn on_msg(&mut self, msg: RoomMsg) {
        match msg {
            RoomMsg::Command(c) => self.on_command(*c).await,
            RoomMsg::Detach { conn } => self.detach(conn),
            RoomMsg::Inspect(reply) => {
                let _ = reply.send(RoomInfo {
                    room: self.name().to_owned(),
                    settings: self.room.config().clone(),
                    state: CoGuestState::from(&self.room.host_view()),
                    member_count: self.room.member_count(),
                });
            }
            RoomMsg::Operator { command, reply } => {
                self.admin(AdminOp::Operator { command }, AdminReply::Operator(reply))
                    .await;
            }
            RoomMsg::Close(reply) => self.admin(AdminOp::Close, AdminReply::Close(reply)).await,
            RoomMsg::Notice(n) => self.on_notice(n).await,
            RoomMsg::Remote(m) => self.on_remote(*m).await,
            RoomMsg::Answer(a) => self.on_answer(a).await,
            RoomMsg::Resync => self.resync().await,
        }
    }

    /// An admin API request: applied here when this node decides for the room, else forwarded
    /// to the owner (cluster mode).
    async fn admin(&mut self, op: AdminOp, reply: AdminReply) {
        if self.cluster.is_some() && !self.ensure_owner().await {
            self.forward_admin(op, reply).await;
            return;
        }
        let result = self.apply_admin(op).await;
        reply.send(result);
    }

    /// Applies an admin request here (this node decides): the room version after it.
    async fn apply_admin(&mut self, op: AdminOp) -> Result<u64, (ErrorCode, String)> {
        match op {
            AdminOp::Operator { command } => self.operator(command).await,
            AdminOp::Close => {
                let version = self.room.version();
                self.close().await.map(|()| version)
            }
        }
    }

    /// Applies an admin-API command as the operator: same core, same rules, same log.
    async fn operator(&mut self, command: Command) -> Result<u64, (ErrorCode, String)> {
        if !self.decides() {
            return Err(not_owner());
        }
        let now = self.shared.clock.now();
        self.expire_due(now).await?;
        let input = LogInput::Command {
            actor: UserId::operator(),
            command,
        };
        match self.mutate(now, input, None).await {
            Ok(_) => Ok(self.room.version()),
            Err(MutateError::Refused(e)) => Err(refused(&e)),
            Err(MutateError::Store(e)) => Err(store_failed(&e)),
        }
    }

    /// Deletes the room from storage, with its `room_closed` webhook deliveries in the same
    /// transaction, then tells every connected member and stops. Pending requests end with
    /// the room.
    async fn close(&mut self) -> Result<(), (ErrorCode, String)> {
        if !self.decides() {
            return Err(not_owner());
        }
        let event = WebhookEvent::lifecycle(
            "room_closed",
            self.name(),
            self.incarnation,
            self.room.version(),
            self.shared.clock.now(),
            Some(UserId::OPERATOR),
        );
        let items = self.shared.webhooks.items(&[event]);
        if let Err(e) = self.shared.store.delete_with_outbox(&self.id, &items).await {
            return Err(store_failed(&e));
        }
        self.shared.webhooks.wake();
        self.closed_here();
        Ok(())
    }

    /// The room is closed: tells the members connected to this node, answers what waits for
    /// the owner, and stops the actor. In cluster mode every node with members does this when
    /// the delete's [`RoomNotice::Closed`] arrives.
    fn closed_here(&mut self) {
        if self.closed {
            return;
        }
        // From now on the room is unknown here: a request for it loads it afresh (and finds it
        // deleted) instead of reaching this stopping actor.
        self.registry.forget(&self.id, &self.me);
        let msg = encode(&ServerMsg::RoomClosed {
            room: self.name().to_owned(),
        });
        for peer in self.peers.take_all() {
            peer.send(msg.clone());
        }
        self.grace.clear();
        self.grace_of.clear();
        let version = self.room.version();
        for (_, p) in self.admin_pending.drain() {
            match p.op {
                AdminOp::Close => p.reply.send(Ok(version)),
                AdminOp::Operator { .. } => p.reply.send(Err((
                    ErrorCode::RoomIdNotExist,
                    "the room was closed".to_owned(),
                ))),
            }
        }
        self.closed = true;
    }

    /// A connection is gone (or left): when it was the user's last one, the grace period
    /// starts.
    fn detach(&mut self, conn: u64) {
        self.forwarded.retain(|(c, _), _| *c != conn);
        let Some(peer) = self.peers.remove(conn) else {
            return;
        };
        let user = peer.user().clone();
        if let (Part::Follower, Some(cluster)) = (self.part, &self.cluster) {
            let msg = CmdMsg::Detach {
                node: cluster.node.clone(),
                conn,
            };
            cluster.queue_to_owner(&self.id, &msg);
            return;
        }
        let still_connected = self.peers.has_user(&user);
        if !still_connected && self.room.member(&user).is_some() {
            let until = self.grace_deadline(self.shared.clock.now());
            self.start_grace(user, until);
        }
    }

    async fn on_command(&mut self, c: CommandMsg) {
        if self.cluster.is_some() && !self.ensure_owner().await {
            if c.conn.remote_node().is_none() {
                self.follow_command(c).await;
            }
            // A forwarded command that reached a former owner: its node sends it again.
            return;
        }
        let kind = c.cmd.kind();
        let user = c.conn.user().clone();
        let result = match (&c.cmd, c.core.clone()) {
            (ClientCommand::Join { since }, _) => self.join(&c, *since).await,
            (ClientCommand::Ping, _) => Ok(Answer::to_send(self.ack_now(c.id, None))),
            (ClientCommand::Snapshot, _) => {
                if self.peers.contains(c.conn.id) {
                    c.conn.send_msg(&self.snapshot_for(&user));
                    Ok(Answer::to_send(self.ack_now(c.id, None)))
                } else {
                    Err(not_entered())
                }
            }
            (_, Some(command)) => {
                if let Some(text) = self.cached_answer(&user, c.id) {
                    c.conn.send(text);
                    self.count(kind, "retried", &c);
                    return;
                }
                if !self.attached(&c.conn) {
                    Err(not_entered())
                } else {
                    self.co_guest(&c, command).await
                }
            }
            (_, None) => Err((ErrorCode::InvalidParameter, "not a room command".into())),
        };
        let result_label = match result {
            Ok(answer) => {
                if !answer.sent {
                    c.conn.send(answer.text);
                }
                "ok".to_owned()
            }
            Err((code, message)) => {
                c.conn.error(Some(c.id), code, message);
                format!("{code:?}")
            }
        };
        self.count(kind, &result_label, &c);
    }

    fn count(&self, kind: &str, result: &str, c: &CommandMsg) {
        self.shared
            .metrics
            .command(kind, result, c.received.elapsed());
    }

    fn cached_answer(&self, user: &UserId, id: u64) -> Option<Utf8Bytes> {
        Some(match self.answers.get(user, id)? {
            Kept::Ack {
                version,
                request_id,
            } => ack(id, self.name(), *version, *request_id),
            Kept::Frame(text) => text.clone(),
        })
    }

    fn ack_now(&self, id: u64, request_id: Option<RequestId>) -> Utf8Bytes {
        ack(id, self.name(), self.room.version(), request_id)
    }

    fn snapshot_for(&self, user: &UserId) -> ServerMsg {
        ServerMsg::Snapshot {
            room: self.name().to_owned(),
            state: CoGuestState::from(&self.room.view_for(user)),
        }
    }

    /// Fires deadlines that are due before a command, as their own logged mutation.
    async fn expire_due(&mut self, now: Timestamp) -> Result<(), (ErrorCode, String)> {
        if self.room.poll_timeout().is_some_and(|t| t <= now) {
            if let Err(MutateError::Store(e)) = self.mutate(now, LogInput::Timeout, None).await {
                return Err(store_failed(&e));
            }
        }
        Ok(())
    }

    async fn join(
        &mut self,
        c: &CommandMsg,
        since: Option<u64>,
    ) -> Result<Answer, (ErrorCode, String)> {
        let user = c.conn.user().clone();
        let now = self.shared.clock.now();
        self.expire_due(now).await?;
        let joined_now = self.room.member(&user).is_none();
        let mut answered = None;
        if joined_now {
            let command = Command::Join {
                profile: c.conn.identity.profile.clone(),
                role: c.conn.identity.role,
            };
            let input = LogInput::Command {
                actor: user.clone(),
                command,
            };
            match self.mutate(now, input, Some((c.id, &c.conn))).await {
                Ok(m) => answered = m.answered,
                Err(MutateError::Refused(e)) => return Err(refused(&e)),
                Err(MutateError::Store(e)) => return Err(store_failed(&e)),
            }
        }
        self.cancel_grace(&user);
        if let Some(node) = c.conn.remote_node() {
            // The member's own node sends it the room from its copy once this ack arrives.
            self.remote
                .entry(user)
                .or_default()
                .insert((node.to_owned(), c.conn.id));
            return Ok(match answered {
                Some(text) => Answer { text, sent: true },
                None => Answer::to_send(self.ack_now(c.id, None)),
            });
        }
        self.peers.insert(c.conn.clone());
        self.send_room_state(&c.conn, since, joined_now);
        Ok(Answer::to_send(self.ack_now(c.id, None)))
    }

    /// A joining connection gets what it missed since `since` when the ring still has it,
    /// or a snapshot.
    fn send_room_state(&self, conn: &ConnHandle, since: Option<u64>, joined_now: bool) {
        let user = conn.user().clone();
        let version = self.room.version();
        let resumable = since.filter(|s| !joined_now && *s >= self.ring.floor && *s <= version);
        match resumable {
            Some(since) => {
                let is_host = self.room.is_host(&user);
                for e in self.ring.after(since) {
                    if e.to.includes(&user, is_host) && !conn.send(e.text.clone()) {
                        break;
                    }
                }
                conn.send_msg(&ServerMsg::Resumed {
                    room: self.name().to_owned(),
                    version,
                });
            }
            None => {
                conn.send_msg(&self.snapshot_for(&user));
            }
        }
    }

    async fn co_guest(
        &mut self,
        c: &CommandMsg,
        command: Command,
    ) -> Result<Answer, (ErrorCode, String)> {
        let user = c.conn.user().clone();
        let now = self.shared.clock.now();
        self.expire_due(now).await?;
        let leaving = matches!(command, Command::Leave);
        let input = LogInput::Command {
            actor: user.clone(),
            command,
        };
        let answer = match self.mutate(now, input, Some((c.id, &c.conn))).await {
            Ok(Mutated {
                request_id,
                answered,
            }) => {
                let (text, sent, kept) = match answered {
                    Some(text) => (text.clone(), true, Kept::Frame(text)),
                    None => {
                        let version = self.room.version();
                        let kept = Kept::Ack {
                            version,
                            request_id,
                        };
                        (self.ack_now(c.id, request_id), false, kept)
                    }
                };
                self.answers.remember(&user, c.id, kept);
                Ok(Answer { text, sent })
            }
            Err(MutateError::Refused(e)) => {
                let (code, message) = refused(&e);
                let text = encode(&ServerMsg::Error {
                    id: Some(c.id),
                    code: code.code(),
                    message: message.clone(),
                });
                self.answers.remember(&user, c.id, Kept::Frame(text));
                Err((code, message))
            }
            Err(MutateError::Store(e)) => return Err(store_failed(&e)),
        };
        if leaving && answer.is_ok() {
            // Out of the room: its answers but this one are forgotten (in time, this one too),
            // and its connections stop receiving outputs.
            self.answers.departed(&user);
            self.peers.remove_user(&user);
            self.remote.remove(&user);
            self.cancel_grace(&user);
        }
        answer
    }

    /// Applies one input, drains its outputs, stores it, then delivers the outputs. `origin`
    /// is the command's client request id and connection, when a client sent it.
    async fn mutate(
        &mut self,
        now: Timestamp,
        input: LogInput,
        origin: Option<(u64, &ConnHandle)>,
    ) -> Result<Mutated, MutateError> {
        let before = self.room.version();
        let result = match &input {
            LogInput::Timeout => {
                self.room.handle_timeout(now);
                Ok(None)
            }
            LogInput::Command { actor, command } => {
                self.room.handle_command(now, actor, command.clone())
            }
        };
        let outputs: Vec<Output> = std::iter::from_fn(|| self.room.poll_output()).collect();
        let request_id = match result {
            Ok(r) => r,
            Err(e) => {
                debug_assert!(outputs.is_empty(), "a refused command produced output");
                return Err(MutateError::Refused(e));
            }
        };
        if self.room.version() == before && outputs.is_empty() {
            return Ok(Mutated {
                request_id,
                answered: None,
            });
        }
        let client_req_id = origin.map(|(id, _)| id);
        let entry = LogEntry {
            seq: self.log_seq + 1,
            at: now,
            input,
            client_req_id,
        };
        let outbox = self.webhook_items(now, &outputs);
        // A command from another node's connection: its answer rides on the published entry.
        let remote_answer = match (&self.cluster, origin) {
            (Some(_), Some((id, conn))) => conn.remote_node().map(|node| EntryAnswer {
                node: node.to_owned(),
                conn: conn.id,
                text: ack(id, self.name(), self.room.version(), request_id).to_string(),
            }),
            _ => None,
        };
        let storing = Instant::now();
        let stored = match (&self.cluster, &remote_answer) {
            (Some(cluster), Some(a)) => {
                cluster
                    .store
                    .append_answering(&self.id, &entry, Some(a.clone()))
                    .await
            }
            _ => {
                self.shared
                    .store
                    .append_with_outbox(&self.id, &entry, &outbox)
                    .await
            }
        };
        self.shared
            .metrics
            .store_append_latency
            .observe(storing.elapsed().as_secs_f64());
        if let Err(e) = stored {
            tracing::error!(room = self.name(), error = %e, "storing a log entry failed; reloading");
            if matches!(e, StoreError::Fenced(_)) {
                // Another node owns the room: nothing of this turn is applied or sent.
                self.step_down().await;
            } else {
                self.reload().await;
            }
            return Err(MutateError::Store(e));
        }
        if self.cluster.is_some() {
            self.shared.metrics.cluster_published.inc();
        }
        self.log_seq = entry.seq;
        if !outbox.is_empty() {
            self.shared.webhooks.wake();
        }
        if self.log_seq - self.checkpoint_seq >= self.shared.config.compact_every.max(1) {
            self.compact().await;
        }
        let name = self.id.as_str().to_owned();
        let entries: Vec<RingEntry> = outputs
            .into_iter()
            .filter_map(|o| output_entry(&name, o))
            .collect();
        let local = origin.filter(|(_, c)| c.remote_node().is_none());
        self.deliver(&entries, local.map(|(_, c)| c.id));
        self.delivered_version = self.room.version();
        let cap = RingCap::of(&self.shared.config);
        for e in entries {
            self.ring.push(e, cap);
        }
        Ok(Mutated {
            request_id,
            answered: remote_answer.map(|a| Utf8Bytes::from(a.text)),
        })
    }

    /// The webhook deliveries for a mutation's notices (none without endpoints).
    fn webhook_items(&self, now: Timestamp, outputs: &[Output]) -> Vec<crate::store::OutboxItem> {
        if !self.shared.webhooks.enabled() {
            return Vec::new();
        }
        let events: Vec<WebhookEvent> = outputs
            .iter()
            .filter_map(|o| match &o.body {
                OutputBody::Notice(n) => Some((o.version, n)),
                _ => None,
            })
            .enumerate()
            .map(|(i, (version, n))| {
                WebhookEvent::from_notice(self.name(), self.incarnation, version, i, now, n)
            })
            .collect();
        self.shared.webhooks.items(&events)
    }

    async fn compact(&mut self) {
        let snapshot = self.room.snapshot();
        match self
            .shared
            .store
            .compact(&self.id, self.log_seq, &snapshot)
            .await
        {
            Ok(()) => self.checkpoint_seq = self.log_seq,
            Err(e) => {
                // Tried again after another `compact_every` entries, not at the next append:
                // each try serialises the whole room (megabytes for a large one), and on a
                // busy store that made every append a compaction that timed out again. Nothing
                // is lost meanwhile: the log keeps every entry after the stored checkpoint.
                self.checkpoint_seq = self.log_seq;
                tracing::warn!(room = self.name(), error = %e, "compaction failed");
            }
        }
    }

    /// After a failed write: rebuild the room from what storage holds.
    async fn reload(&mut self) {
        let loaded = match self.shared.store.load(&self.id).await {
            Ok(Some(stored)) => {
                Rebuilt::replay(self.name(), stored, RingCap::of(&self.shared.config))
            }
            // Only the fenced delete removes a shared room: its `Closed` notice was missed.
            Ok(None) if self.cluster.is_some() => {
                self.closed_here();
                return;
            }
            Ok(None) => Err(StoreError::Corrupt("the room vanished from storage".into())),
            Err(e) => Err(e),
        };
        match loaded {
            Ok(r) => {
                let told = self.delivered_version;
                self.room = r.room;
                self.ring = r.ring;
                self.answers = r.answers;
                self.log_seq = r.log_seq;
                self.checkpoint_seq = r.checkpoint_seq;
                // Tell local connections what was stored meanwhile (by another owner).
                if self.room.version() > told {
                    if self.ring.floor <= told {
                        let missed: Vec<RingEntry> = self.ring.after(told).cloned().collect();
                        self.deliver(&missed, None);
                    } else {
                        let peers: Vec<ConnHandle> = self.peers.iter().cloned().collect();
                        for p in peers {
                            p.send_msg(&self.snapshot_for(p.user()));
                        }
                    }
                }
                self.delivered_version = self.room.version();
            }
            Err(e) => {
                tracing::error!(room = self.name(), error = %e, "reload failed; stopping the room");
                self.broken = true;
            }
        }
    }

    /// Sends each output to the connected peers its audience includes, the connection whose
    /// command caused them last: tokio runs the task woken last first (its LIFO slot), then
    /// the others in the order they were woken, so that writer goes first and its answer
    /// (queued next, before the actor yields) leaves in the same write, not behind the
    /// room's. A peer whose queue is full is closed and detached; the room never waits for it.
    fn deliver(&mut self, entries: &[RingEntry], origin_id: Option<u64>) {
        let mut gone = Vec::new();
        let mut replaced = 0;
        let room = &self.room;
        let key = self.key;
        let origin = origin_id.and_then(|id| self.peers.get(id));
        let mut send = |peer: &ConnHandle| match send_entries(room, key, peer, entries) {
            Some(n) => replaced += n,
            None => gone.push(peer.id),
        };
        if entries.iter().any(|e| matches!(e.to, Audience::Room)) {
            for peer in self.peers.iter().filter(|p| Some(p.id) != origin_id) {
                send(peer);
            }
        } else {
            // Only hosts and the users the outputs name receive them (a join's candidate
            // change, say): their connections, not a scan of the whole audience.
            let mut users: Vec<&UserId> = room.hosts().collect();
            for e in entries {
                if let Audience::HostsAnd(u) | Audience::User(u) = &e.to {
                    users.push(u);
                }
            }
            users.sort_unstable();
            users.dedup();
            for user in users {
                for peer in self.peers.of_user(user).filter(|p| Some(p.id) != origin_id) {
                    send(peer);
                }
            }
        }
        if let Some(peer) = origin {
            send(peer);
        }
        if replaced > 0 {
            self.shared.metrics.seat_lists_replaced.inc_by(replaced);
        }
        for id in gone {
            self.detach(id);
        }
    }
}

/// Queues to `peer` the entries its audience includes, as live outputs of room actor `key`:
/// how many waiting seat lists they replaced, `None` when its queue is full (or closed).
fn send_entries(room: &Room, key: u32, peer: &ConnHandle, entries: &[RingEntry]) -> Option<u64> {
    // Looked up only when an output is not for the whole room (seat changes, the bulk of
    // deliveries, need no lookup).
    let mut is_host = None;
    let mut replaced = 0;
    for e in entries {
        let included = match &e.to {
            Audience::Room => true,
            to => {
                let h = *is_host.get_or_insert_with(|| room.is_host(peer.user()));
                to.includes(peer.user(), h)
            }
        };
        if !included {
            continue;
        }
        let live = Live {
            room: key,
            version: e.version,
            seats: e.seats,
        };
        replaced += u64::from(peer.send_live(e.text.clone(), live)?);
    }
    Some(replaced)
}

/// Cluster mode: a room actor that does not own the room refuses to apply admin calls itself
/// (they are forwarded to the owner first, see `forward_admin`).
fn not_owner() -> (ErrorCode, String) {
    (
        ErrorCode::Failed,
        "another cluster node owns this room: send admin API calls to that node".into(),
    )
}

fn not_entered() -> (ErrorCode, String) {
    (
        ErrorCode::NotEnteredRoom,
        "join the room on this connection first".into(),
    )
}

fn refused(e: &CommandError) -> (ErrorCode, String) {
    let w = WireError::from(e);
    (w.code, w.message)
}

fn store_failed(e: &StoreError) -> (ErrorCode, String) {
    match e {
        // The room reloads what storage holds: a retry with the same id gets the stored
        // command's answer, or runs it if it was not stored.
        StoreError::Unanswered(_) => (
            ErrorCode::Failed,
            format!("may or may not have been applied ({e}): retry with the same id"),
        ),
        _ => (ErrorCode::Failed, format!("not applied: {e}")),
    }
}

/// Cluster mode: ownership, forwarding and following.
impl RoomActor {
    /// Whether this node decides for the room (single node, or cluster owner).
    fn decides(&self) -> bool {
        !matches!(self.part, Part::Follower)
    }

    /// Whether `conn` has joined the room (through this node or, for the owner, another).
    fn attached(&self, conn: &ConnHandle) -> bool {
        match conn.remote_node() {
            None => self.peers.contains(conn.id),
            Some(node) => self
                .remote
                .get(conn.user())
                .is_some_and(|s| s.contains(&(node.to_owned(), conn.id))),
        }
    }

    /// Before any mutation: whether this node may still decide. An owner whose lease is past
    /// its local trust window confirms it in Redis first, and steps down when it is gone —
    /// so a node resumed after a pause applies nothing stale.
    async fn ensure_owner(&mut self) -> bool {
        let Part::Owner { epoch, valid_until } = self.part else {
            return matches!(self.part, Part::Single);
        };
        if Instant::now() < valid_until {
            return true;
        }
        let Some(cluster) = self.cluster.clone() else {
            return true;
        };
        let sent = Instant::now();
        match cluster.store.renew(&self.id).await {
            Ok(true) => {
                self.part = Part::owner(epoch, sent, cluster.lease);
                true
            }
            Ok(false) | Err(_) => {
                self.step_down().await;
                false
            }
        }
    }

    async fn on_tick(&mut self) {
        let Some(cluster) = self.cluster.clone() else {
            return;
        };
        let now = Instant::now();
        match self.part {
            Part::Single => self.next_tick = now + std::time::Duration::from_secs(3600),
            Part::Owner { epoch, .. } => {
                self.next_tick = now + cluster.lease / 3;
                match cluster.store.renew(&self.id).await {
                    Ok(true) => self.part = Part::owner(epoch, now, cluster.lease),
                    Ok(false) => self.step_down().await,
                    // Unsure: the local trust window decides (ensure_owner asks again).
                    Err(e) => tracing::warn!(room = self.name(), error = %e, "renewing failed"),
                }
                self.sweep_dead_nodes(&cluster);
            }
            Part::Follower => {
                self.next_tick = now + cluster.lease / 2;
                self.expire_admin(&cluster);
                if self.peers.is_empty()
                    && self.forwarded.is_empty()
                    && self.admin_pending.is_empty()
                {
                    return;
                }
                match cluster.store.owner(&self.id).await {
                    Ok(None) => self.try_take_over().await,
                    Ok(Some((node, _))) if !cluster.is_alive(&node) => {}
                    _ => {}
                }
                if matches!(self.part, Part::Follower) {
                    self.check_stored_seq(&cluster).await;
                }
                if matches!(self.part, Part::Follower) && !self.closed {
                    // Answers lost with a dead owner: ask the next one (same request ids, so
                    // nothing runs twice).
                    let stale = self
                        .forwarded
                        .values()
                        .any(|f| f.sent.elapsed() >= cluster.lease);
                    if stale {
                        self.resend_forwarded().await;
                    }
                }
            }
        }
    }

    /// Follower: catches up when storage holds an entry that never arrived. Gaps are seen when
    /// a later entry comes; this sees a missed *last* one (a full inbox drops messages, a lost
    /// subscription loses them). An entry stored by the previous tick and still missing now
    /// is lost, not in flight: only then reload, so staleness stays within about one lease.
    async fn check_stored_seq(&mut self, cluster: &Cluster) {
        if self.stored_ahead.take().is_some_and(|s| s > self.log_seq) {
            tracing::info!(
                room = self.name(),
                seq = self.log_seq,
                "a stored entry never arrived; reloading"
            );
            self.shared.metrics.cluster_catch_ups.inc();
            self.reload().await;
            if self.closed || self.broken {
                return;
            }
        }
        match cluster.store.log_seq(&self.id).await {
            Ok(Some(seq)) if seq > self.log_seq => self.stored_ahead = Some(seq),
            Ok(Some(_)) => {}
            // Deleted: the reload next tick closes the room here if the notice is lost too.
            Ok(None) => self.stored_ahead = Some(u64::MAX),
            Err(e) => {
                tracing::warn!(room = self.name(), error = %e, "reading the stored sequence failed")
            }
        }
    }

    /// The node's subscription was lost and restored: everything published meanwhile is
    /// lost. A follower catches up from storage and sends again what waits for an answer
    /// (same request ids, so nothing runs twice); an owner confirms its lease and announces
    /// itself again, so that followers re-send what it missed, or steps down.
    async fn resync(&mut self) {
        let Some(cluster) = self.cluster.clone() else {
            return;
        };
        match self.part {
            Part::Single => {}
            Part::Owner { epoch, .. } => {
                let sent = Instant::now();
                match cluster.store.reassert(&self.id).await {
                    Ok(true) => self.part = Part::owner(epoch, sent, cluster.lease),
                    Ok(false) => self.step_down().await,
                    // Unsure: the local trust window decides (ensure_owner asks again).
                    Err(e) => {
                        tracing::warn!(room = self.name(), error = %e, "reasserting the lease failed")
                    }
                }
            }
            Part::Follower => {
                self.stored_ahead = None;
                self.reload().await;
                if self.closed || self.broken {
                    return;
                }
                // A new owner may have missed this node's connections.
                self.announce_presence().await;
                if !self.forwarded.is_empty() {
                    self.resend_forwarded().await;
                }
                if !self.admin_pending.is_empty() {
                    self.resend_admin().await;
                }
            }
        }
    }

    /// Follower: admin requests the owner has not answered within three leases fail (the
    /// owner may have died after applying one: the caller cannot tell, and reads it back).
    fn expire_admin(&mut self, cluster: &Cluster) {
        let limit = cluster.lease * 3;
        let late: Vec<u64> = self
            .admin_pending
            .iter()
            .filter(|(_, p)| p.sent.elapsed() >= limit)
            .map(|(req, _)| *req)
            .collect();
        for req in late {
            if let Some(p) = self.admin_pending.remove(&req) {
                p.reply.send(Err((
                    ErrorCode::Failed,
                    "the room's owner did not answer in time; the change may or may not have been applied".to_owned(),
                )));
            }
        }
    }

    /// Follower: sends an admin request to the owner (or takes the room over when nobody
    /// owns it; the run loop then applies what waits).
    async fn forward_admin(&mut self, op: AdminOp, reply: AdminReply) {
        let Some(cluster) = self.cluster.clone() else {
            reply.send(Err(not_owner()));
            return;
        };
        self.next_admin += 1;
        let req = self.next_admin;
        let msg = CmdMsg::Admin {
            node: cluster.node.clone(),
            req,
            op: op.clone(),
        };
        self.shared.metrics.cluster_forwarded.inc();
        match cluster.to_owner(&self.id, &msg).await {
            Ok(heard) => {
                self.admin_pending.insert(
                    req,
                    PendingAdmin {
                        op,
                        reply,
                        sent: Instant::now(),
                    },
                );
                if !heard {
                    self.try_take_over().await;
                }
            }
            Err(e) => reply.send(Err(store_failed(&e))),
        }
    }

    /// Follower: sends every unanswered admin request again (a new owner took over).
    async fn resend_admin(&mut self) {
        let Some(cluster) = self.cluster.clone() else {
            return;
        };
        let mut heard_all = true;
        for (req, p) in &self.admin_pending {
            let msg = CmdMsg::Admin {
                node: cluster.node.clone(),
                req: *req,
                op: p.op.clone(),
            };
            if !matches!(cluster.to_owner(&self.id, &msg).await, Ok(true)) {
                heard_all = false;
            }
        }
        if !heard_all {
            self.try_take_over().await;
        }
    }

    /// Owner: members whose node stopped sending heartbeats start their grace period.
    fn sweep_dead_nodes(&mut self, cluster: &Cluster) {
        let mut orphaned = Vec::new();
        for (user, conns) in self.remote.iter_mut() {
            conns.retain(|(node, _)| cluster.is_alive(node));
            if conns.is_empty() {
                orphaned.push(user.clone());
            }
        }
        for user in orphaned {
            self.remote.remove(&user);
            self.grace_if_gone(&user);
        }
    }

    fn grace_if_gone(&mut self, user: &UserId) {
        let here = self.peers.has_user(user) || self.remote.contains_key(user);
        if !here && self.room.member(user).is_some() && !self.grace_of.contains_key(user) {
            let until = self.grace_deadline(self.shared.clock.now());
            self.start_grace(user.clone(), until);
        }
    }

    async fn step_down(&mut self) {
        let Some(cluster) = self.cluster.clone() else {
            return;
        };
        if let Part::Owner { epoch, .. } = self.part {
            tracing::warn!(
                room = self.name(),
                epoch,
                "lost the room's lease; following"
            );
            self.part = Part::Follower;
            cluster.store.forget(&self.id);
            cluster.unsubscribe_cmds(&self.id).await;
            self.remote.clear();
            self.grace.clear();
            self.grace_of.clear();
            self.shared.metrics.cluster_leases_lost.inc();
            self.shared.metrics.owned_rooms.dec();
        }
        self.reload().await;
        self.announce_presence().await;
    }

    async fn try_take_over(&mut self) {
        let Some(cluster) = self.cluster.clone() else {
            return;
        };
        if let Err(e) = cluster.subscribe_cmds(&self.id).await {
            tracing::warn!(room = self.name(), error = %e, "subscribing failed");
            return;
        }
        let sent = Instant::now();
        match cluster.store.acquire(&self.id).await {
            Ok(Acquired::Owner(epoch)) => {
                tracing::info!(room = self.name(), epoch, "took the room over");
                // The lease is ours: nobody else writes, so storage is the whole truth.
                self.reload().await;
                self.part = Part::owner(epoch, sent, cluster.lease);
                self.shared.metrics.cluster_takeovers.inc();
                self.shared.metrics.owned_rooms.inc();
                // Members not connected here get a grace period; other nodes announce theirs.
                let members: Vec<UserId> = self.room.members().map(|m| m.user_id.clone()).collect();
                for user in members {
                    self.grace_if_gone(&user);
                }
            }
            Ok(Acquired::Taken) | Err(_) => cluster.unsubscribe_cmds(&self.id).await,
        }
    }

    /// Follower: a command from a local connection.
    async fn follow_command(&mut self, c: CommandMsg) {
        let user = c.conn.user().clone();
        match &c.cmd {
            ClientCommand::Ping => {
                c.conn.send(self.ack_now(c.id, None));
            }
            ClientCommand::Snapshot => {
                if self.peers.contains(c.conn.id) {
                    c.conn.send_msg(&self.snapshot_for(&user));
                    c.conn.send(self.ack_now(c.id, None));
                } else {
                    let (code, message) = not_entered();
                    c.conn.error(Some(c.id), code, message);
                }
            }
            ClientCommand::Join { .. } => self.forward(c).await,
            _ => {
                if c.core.is_some() && !self.peers.contains(c.conn.id) {
                    let (code, message) = not_entered();
                    c.conn.error(Some(c.id), code, message);
                } else {
                    self.forward(c).await;
                }
            }
        }
    }

    fn cmd_msg(cluster: &Cluster, c: &CommandMsg) -> CmdMsg {
        CmdMsg::Command {
            node: cluster.node.clone(),
            conn: c.conn.id,
            user: c.conn.user().to_string(),
            profile: c.conn.identity.profile.clone(),
            role: c.conn.identity.role,
            id: c.id,
            cmd: c.cmd.clone(),
            core: c.core.clone(),
        }
    }

    async fn forward(&mut self, c: CommandMsg) {
        let Some(cluster) = self.cluster.clone() else {
            return;
        };
        let msg = Self::cmd_msg(&cluster, &c);
        let was_member = self.room.member(c.conn.user()).is_some();
        let key = (c.conn.id, c.id);
        self.shared.metrics.cluster_forwarded.inc();
        match cluster.to_owner(&self.id, &msg).await {
            Ok(heard) => {
                self.forwarded.insert(
                    key,
                    Forwarded {
                        c,
                        was_member,
                        sent: Instant::now(),
                    },
                );
                if !heard {
                    // Nobody owns the room: this node takes it (the run loop then applies
                    // what waits here).
                    self.try_take_over().await;
                }
            }
            Err(e) => {
                let (code, message) = store_failed(&e);
                c.conn.error(Some(c.id), code, message);
            }
        }
    }

    async fn resend_forwarded(&mut self) {
        let Some(cluster) = self.cluster.clone() else {
            return;
        };
        let mut heard_all = true;
        for f in self.forwarded.values_mut() {
            let msg = Self::cmd_msg(&cluster, &f.c);
            f.sent = Instant::now();
            match cluster.to_owner(&self.id, &msg).await {
                Ok(true) => {}
                _ => heard_all = false,
            }
        }
        if !heard_all {
            self.try_take_over().await;
        }
    }

    /// Follower: tells the (new) owner which connections of the room are here.
    async fn announce_presence(&mut self) {
        let (Part::Follower, Some(cluster)) = (self.part, self.cluster.clone()) else {
            return;
        };
        let conns: Vec<(u64, String)> = self
            .peers
            .iter()
            .map(|p| (p.id, p.user().to_string()))
            .collect();
        let msg = CmdMsg::Presence {
            node: cluster.node.clone(),
            conns,
        };
        if let Err(e) = cluster.to_owner(&self.id, &msg).await {
            tracing::warn!(room = self.name(), error = %e, "announcing presence failed");
        }
    }

    async fn on_notice(&mut self, notice: RoomNotice) {
        let Some(cluster) = self.cluster.clone() else {
            return;
        };
        match notice {
            RoomNotice::Entry(w) => match self.part {
                Part::Single => {}
                Part::Owner { .. } => {
                    if w.seq > self.log_seq {
                        // Someone else stored an entry: this node's lease is stale.
                        self.step_down().await;
                    }
                }
                Part::Follower => self.follow_entry(w).await,
            },
            RoomNotice::Leader { node, .. } => {
                if node == cluster.node {
                    return;
                }
                if matches!(self.part, Part::Owner { .. }) {
                    self.step_down().await;
                } else {
                    self.announce_presence().await;
                    if !self.forwarded.is_empty() {
                        self.resend_forwarded().await;
                    }
                    if !self.admin_pending.is_empty() {
                        self.resend_admin().await;
                    }
                }
            }
            RoomNotice::Released { node } => {
                let interested = !self.peers.is_empty()
                    || !self.forwarded.is_empty()
                    || !self.admin_pending.is_empty();
                if node != cluster.node && matches!(self.part, Part::Follower) && interested {
                    self.try_take_over().await;
                }
            }
            RoomNotice::Closed => self.closed_here(),
        }
    }

    /// Follower: applies one entry the owner stored, exactly as the owner did.
    async fn follow_entry(&mut self, mut w: crate::store::redis::WireEntry) {
        let answer = w.answer.take();
        if w.seq <= self.log_seq {
            // Applied already (a reload read it from storage first): its answer is still due.
            self.answer_here(answer).await;
            return;
        }
        let entry = match w.to_entry() {
            Ok(e) if w.seq == self.log_seq + 1 => e,
            // A gap (or an unreadable entry): catch up from storage.
            _ => {
                self.reload().await;
                self.answer_here(answer).await;
                return;
            }
        };
        let leaving = match &entry.input {
            LogInput::Timeout => {
                self.room.handle_timeout(entry.at);
                None
            }
            LogInput::Command { actor, command } => {
                let ok = self
                    .room
                    .handle_command(entry.at, actor, command.clone())
                    .is_ok();
                (ok && matches!(command, Command::Leave)).then(|| actor.clone())
            }
        };
        let outputs: Vec<Output> = std::iter::from_fn(|| self.room.poll_output()).collect();
        self.log_seq = entry.seq;
        let name = self.id.as_str().to_owned();
        let entries: Vec<RingEntry> = outputs
            .into_iter()
            .filter_map(|o| output_entry(&name, o))
            .collect();
        self.deliver(&entries, None);
        self.delivered_version = self.room.version();
        let cap = RingCap::of(&self.shared.config);
        for e in entries {
            self.ring.push(e, cap);
        }
        if let Some(user) = leaving {
            self.peers.remove_user(&user);
        }
        self.shared.metrics.cluster_applied.inc();
        // Right after the entry's outputs, before any later entry's.
        self.answer_here(answer).await;
    }

    /// Follower: an answer that came with an entry, when it is for a connection of this node.
    async fn answer_here(&mut self, answer: Option<EntryAnswer>) {
        let Some(cluster) = self.cluster.clone() else {
            return;
        };
        if let Some(a) = answer.filter(|a| a.node == cluster.node) {
            let room = self.name().to_owned();
            self.on_answer(NodeMsg {
                room,
                conn: a.conn,
                text: a.text,
            })
            .await;
        }
    }

    /// Owner: a message from another node.
    async fn on_remote(&mut self, msg: CmdMsg) {
        let Some(cluster) = self.cluster.clone() else {
            return;
        };
        if !matches!(self.part, Part::Owner { .. }) {
            return;
        }
        match msg {
            CmdMsg::Command {
                node,
                conn,
                user,
                profile,
                role,
                id,
                cmd,
                core,
            } => {
                self.shared.metrics.cluster_remote.inc();
                let identity = Arc::new(Identity {
                    user: UserId::from(user.as_str()),
                    profile,
                    role,
                    room: None,
                    expires: Timestamp::from_millis(u64::MAX),
                    admin: false,
                });
                let handle = ConnHandle::remote(node, conn, identity, self.id.clone(), cluster);
                let c = CommandMsg {
                    conn: handle,
                    id,
                    cmd,
                    core,
                    received: Instant::now(),
                };
                self.on_command(c).await;
            }
            CmdMsg::Detach { node, conn } => {
                let key = (node, conn);
                let user = self
                    .remote
                    .iter()
                    .find(|(_, s)| s.contains(&key))
                    .map(|(u, _)| u.clone());
                if let Some(user) = user {
                    if let Some(s) = self.remote.get_mut(&user) {
                        s.remove(&key);
                        if s.is_empty() {
                            self.remote.remove(&user);
                        }
                    }
                    self.grace_if_gone(&user);
                }
            }
            CmdMsg::Presence { node, conns } => {
                for s in self.remote.values_mut() {
                    s.retain(|(n, _)| n != &node);
                }
                for (conn, user) in conns {
                    let user = UserId::from(user.as_str());
                    if self.room.member(&user).is_none() {
                        continue;
                    }
                    self.cancel_grace(&user);
                    self.remote
                        .entry(user)
                        .or_default()
                        .insert((node.clone(), conn));
                }
                self.remote.retain(|_, s| !s.is_empty());
                let members: Vec<UserId> = self.room.members().map(|m| m.user_id.clone()).collect();
                for user in members {
                    self.grace_if_gone(&user);
                }
            }
            CmdMsg::Admin { node, req, op } => {
                self.shared.metrics.cluster_remote.inc();
                let result = self.apply_admin(op).await;
                let answer = AdminAnswer { req, result };
                match serde_json::to_string(&answer) {
                    Ok(text) => cluster.answer(&node, &self.id, ADMIN_CONN, &text),
                    Err(e) => {
                        tracing::warn!(room = self.name(), error = %e, "encoding an admin answer failed")
                    }
                }
            }
        }
    }

    /// Follower: the owner answered a forwarded command.
    async fn on_answer(&mut self, a: NodeMsg) {
        if a.conn == ADMIN_CONN {
            let Ok(answer) = serde_json::from_str::<AdminAnswer>(&a.text) else {
                tracing::warn!(room = self.name(), "unreadable admin answer");
                return;
            };
            let Some(p) = self.admin_pending.remove(&answer.req) else {
                return;
            };
            // The change's entry was published before the answer: the local copy has it
            // unless an entry was lost, which a reload repairs.
            if let Ok(v) = answer.result {
                if v > self.room.version() {
                    self.reload().await;
                }
            }
            p.reply.send(answer.result);
            return;
        }
        let head: serde_json::Value = match serde_json::from_str(&a.text) {
            Ok(v) => v,
            Err(_) => return,
        };
        let Some(id) = head.get("id").and_then(serde_json::Value::as_u64) else {
            return;
        };
        let Some(f) = self.forwarded.remove(&(a.conn, id)) else {
            return;
        };
        let ok = head.get("t").and_then(serde_json::Value::as_str) == Some("ack");
        let version = head.get("version").and_then(serde_json::Value::as_u64);
        if version.is_some_and(|v| v > self.room.version()) {
            self.reload().await;
        }
        let c = f.c;
        let text = Utf8Bytes::from(a.text);
        match &c.cmd {
            ClientCommand::Join { since } if ok => {
                self.peers.insert(c.conn.clone());
                self.send_room_state(&c.conn, *since, !f.was_member);
                c.conn.send(text);
            }
            ClientCommand::Leave if ok => {
                c.conn.send(text);
                let user = c.conn.user().clone();
                self.peers.remove_user(&user);
            }
            _ => {
                c.conn.send(text);
            }
        }
        let result = if ok { "ok" } else { "error" };
        self.count(c.cmd.kind(), result, &c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: OutFrame) -> String {
        match f {
            OutFrame::Text(t) => t.as_str().to_owned(),
            other => panic!("not a text frame: {other:?}"),
        }
    }

    #[tokio::test]
    async fn the_outbox_is_bounded_ordered_and_gives_back_a_burst() {
        let o = Outbox::new(3);
        for t in ["a", "b", "c"] {
            assert_eq!(o.push(Utf8Bytes::from(t)), Pushed::Queued);
        }
        assert_eq!(o.push(Utf8Bytes::from("d")), Pushed::Full);
        assert_eq!(o.next().await, Next::Frame(OutFrame::Text("a".into())));
        assert_eq!(o.pop().map(text), Some("b".into()));
        assert_eq!(o.pop().map(text), Some("c".into()));
        assert!(o.pop().is_none());
        // A frame pushed while the writer waits wakes it.
        let o = Arc::new(Outbox::new(100));
        let waiter = tokio::spawn({
            let o = o.clone();
            async move { o.next().await }
        });
        tokio::task::yield_now().await;
        assert_eq!(o.push(Utf8Bytes::from("x")), Pushed::Queued);
        assert_eq!(
            waiter.await.ok(),
            Some(Next::Frame(OutFrame::Text("x".into())))
        );
        // A drained queue gives its room back.
        for _ in 0..100 {
            o.push(Utf8Bytes::from("y"));
        }
        while o.pop().is_some() {}
        assert_eq!(o.frames.lock().map(|f| f.rest.capacity()).ok(), Some(0));
        o.close();
        assert_eq!(o.push(Utf8Bytes::from("z")), Pushed::Closed);
    }

    #[tokio::test]
    async fn a_close_asked_for_wakes_the_writer_before_any_frame_and_the_first_code_wins() {
        let o = Arc::new(Outbox::new(100));
        let waiter = tokio::spawn({
            let o = o.clone();
            async move { o.next().await }
        });
        tokio::task::yield_now().await;
        o.ask_close(4008);
        assert_eq!(waiter.await.ok(), Some(Next::Close(4008)));
        o.push(Utf8Bytes::from("queued"));
        o.ask_close(1000);
        assert_eq!(o.next().await, Next::Close(4008));
        // The frames stay for the writer's flush before its close frame.
        assert_eq!(o.pop(), Some(OutFrame::Text("queued".into())));
    }

    #[test]
    fn a_waiting_seat_list_is_replaced_by_its_rooms_next_never_from_inside_a_version() {
        let live = |room, version, seats| Live {
            room,
            version,
            seats,
        };
        let drain = |o: &Outbox| {
            let mut texts = Vec::new();
            while let Some(f) = o.pop() {
                texts.push(text(f));
            }
            texts
        };
        let o = Outbox::new(100);
        // A member behind a burst of seat changes: only the newest list waits.
        assert_eq!(o.push_live("s1".into(), live(1, 1, true)), Pushed::Queued);
        assert_eq!(o.push_live("s2".into(), live(1, 2, true)), Pushed::Replaced);
        assert_eq!(o.push_live("s3".into(), live(1, 3, true)), Pushed::Replaced);
        assert_eq!(drain(&o), ["s3"]);
        // A list followed by another message of its version stays: a client counts the
        // messages of its newest version to resume without duplicates.
        o.push_live("s4".into(), live(1, 4, true));
        o.push_live("e4".into(), live(1, 4, false));
        assert_eq!(o.push_live("s5".into(), live(1, 5, true)), Pushed::Queued);
        assert_eq!(drain(&o), ["s4", "e4", "s5"]);
        // Another room's list and frames that are not live outputs (answers) replace nothing
        // and are never replaced; a list already taken by the writer is not either.
        o.push_live("a6".into(), live(1, 6, true));
        o.push("ack".into());
        assert_eq!(o.push_live("b9".into(), live(2, 9, true)), Pushed::Queued);
        assert_eq!(o.push_live("a7".into(), live(1, 7, true)), Pushed::Replaced);
        assert_eq!(drain(&o), ["ack", "b9", "a7"]);
        o.push("replayed list".into());
        assert_eq!(o.push_live("a8".into(), live(1, 8, true)), Pushed::Queued);
        assert_eq!(o.pop().map(text), Some("replayed list".into()));
        assert_eq!(o.push_live("a9".into(), live(1, 9, true)), Pushed::Replaced);
        assert_eq!(drain(&o), ["a9"]);
        // A full queue still refuses, after taking out what the new list replaces.
        let o = Outbox::new(2);
        o.push("x".into());
        o.push_live("c1".into(), live(3, 1, true));
        assert_eq!(o.push_live("c2".into(), live(3, 2, true)), Pushed::Replaced);
        assert_eq!(o.push_live("e2".into(), live(3, 2, false)), Pushed::Full);
    }

    fn entry(version: u64, len: usize) -> RingEntry {
        RingEntry {
            version,
            to: Audience::Room,
            text: Utf8Bytes::from("x".repeat(len)),
            seats: false,
        }
    }

    #[test]
    fn the_resume_ring_is_bounded_by_entries_and_by_bytes() {
        let per = ResumeRing::cost(&entry(0, 100));
        let cap = RingCap {
            entries: 10,
            bytes: 3 * per,
        };
        let mut ring = ResumeRing::new(0);
        for v in 1..=5 {
            ring.push(entry(v, 100), cap);
        }
        // Bytes bound it: the three newest stay, and only clients at 2 or later can resume.
        assert_eq!(
            ring.after(0).map(|e| e.version).collect::<Vec<_>>(),
            [3, 4, 5]
        );
        assert_eq!(ring.floor, 2);
        assert_eq!(ring.bytes, 3 * per);

        let cap = RingCap {
            entries: 2,
            bytes: usize::MAX,
        };
        let mut ring = ResumeRing::new(7);
        for v in 8..=12 {
            ring.push(entry(v, 1), cap);
        }
        assert_eq!(
            ring.after(0).map(|e| e.version).collect::<Vec<_>>(),
            [11, 12]
        );
        assert_eq!(ring.floor, 10);
    }
}
