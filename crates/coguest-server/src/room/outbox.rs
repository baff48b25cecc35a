//! A connection's outgoing queue: bounded, filled by room actors without waiting, drained by
//! the connection's writer; a waiting seat list is replaced by its room's next.

use crate::socket::OutFrame;
use axum::extract::ws::Utf8Bytes;
use coguest_core::Timestamp;

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

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
}
