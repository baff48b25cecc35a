//! What the store asks its writer ([`Req`]), and how one request is applied on the writer's
//! connection and answered once its transaction's fate is known.

use super::outbox::{insert_outbox, outbox_next, outbox_remove};
use super::queries::{self, RawEntry, RawRoom};
use crate::store::{OutboxFor, OutboxItem, OutboxRow, StoreError};
use rusqlite::Connection;
use tokio::sync::oneshot;

/// Where a request's answer goes.
pub(super) type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// Sends one request's answer once its transaction's fate is known.
pub(super) type Deferred = Box<dyn FnOnce(Option<&StoreError>)>;

/// One request to the writer.
pub(super) enum Req {
    RoomIds(Reply<Vec<String>>),
    Load(String, Reply<Option<RawRoom>>),
    /// A new room, and the webhook deliveries built for its incarnation; answers the
    /// incarnation, `None` if the room exists.
    Create(String, String, Option<OutboxFor>, Reply<Option<u64>>),
    Incarnation(String, Reply<u64>),
    /// A log entry and the webhook deliveries it caused.
    Append {
        room: String,
        entry: RawEntry,
        outbox: Vec<OutboxItem>,
        reply: Reply<()>,
    },
    Enqueue(Vec<OutboxItem>, Reply<()>),
    OutboxNext(String, i64, Reply<Vec<OutboxRow>>),
    OutboxRemove(i64, Reply<()>),
    Compact(String, i64, String, Reply<()>),
    /// Deletes a room and queues the deliveries that announce it, in one savepoint.
    Delete(String, Vec<OutboxItem>, Reply<()>),
    Close(oneshot::Sender<()>),
}

/// Whether the request succeeded (its savepoint is kept), and its answer.
pub(super) type Answer = (bool, Deferred);

/// Sends `result` now if the transaction cannot commit, else after the commit.
fn answer_after_commit<T: Send + 'static>(
    reply: Reply<T>,
    result: Result<T, StoreError>,
) -> Answer {
    let ok = result.is_ok();
    (
        ok,
        Box::new(move |commit_err: Option<&StoreError>| {
            let result = match (result, commit_err) {
                (Ok(_), Some(e)) => Err(e.clone()),
                (r, _) => r,
            };
            let _ = reply.send(result);
        }),
    )
}

/// Answers `req` with `e` (it was not applied).
pub(super) fn fail(req: Req, e: StoreError) {
    match req {
        Req::RoomIds(r) => drop(r.send(Err(e))),
        Req::Load(_, r) => drop(r.send(Err(e))),
        Req::Create(_, _, _, r) => drop(r.send(Err(e))),
        Req::Incarnation(_, r) => drop(r.send(Err(e))),
        Req::Append { reply, .. } => drop(reply.send(Err(e))),
        Req::Compact(_, _, _, r) => drop(r.send(Err(e))),
        Req::Delete(_, _, r) => drop(r.send(Err(e))),
        Req::Enqueue(_, r) => drop(r.send(Err(e))),
        Req::OutboxNext(_, _, r) => drop(r.send(Err(e))),
        Req::OutboxRemove(_, r) => drop(r.send(Err(e))),
        Req::Close(done) => drop(done.send(())),
    }
}

/// Applies `req` on `conn`, inside the writer's transaction.
pub(super) fn apply(conn: &Connection, req: Req) -> Answer {
    match req {
        Req::RoomIds(r) => answer_after_commit(r, queries::room_ids(conn)),
        Req::Load(room, r) => answer_after_commit(r, queries::load(conn, &room)),
        Req::Create(room, snapshot, outbox, r) => {
            let res = queries::create(conn, &room, &snapshot).and_then(|incarnation| {
                match (incarnation, outbox) {
                    (Some(i), Some(outbox)) => insert_outbox(conn, &outbox(i)).map(|()| Some(i)),
                    (i, _) => Ok(i),
                }
            });
            answer_after_commit(r, res)
        }
        Req::Incarnation(room, r) => answer_after_commit(r, queries::incarnation(conn, &room)),
        Req::Append {
            room,
            entry,
            outbox,
            reply,
        } => {
            let res =
                queries::append(conn, &room, &entry).and_then(|()| insert_outbox(conn, &outbox));
            answer_after_commit(reply, res)
        }
        Req::Enqueue(outbox, r) => answer_after_commit(r, insert_outbox(conn, &outbox)),
        Req::OutboxNext(endpoint, limit, r) => {
            answer_after_commit(r, outbox_next(conn, &endpoint, limit))
        }
        Req::OutboxRemove(id, r) => answer_after_commit(r, outbox_remove(conn, id)),
        Req::Compact(room, seq, snapshot, r) => {
            answer_after_commit(r, queries::compact(conn, &room, seq, &snapshot))
        }
        Req::Delete(room, outbox, r) => {
            // One savepoint: if the delete fails, the deliveries announcing it are not queued.
            let res = queries::delete(conn, &room).and_then(|()| insert_outbox(conn, &outbox));
            answer_after_commit(r, res)
        }
        Req::Close(done) => {
            let _ = done.send(());
            (true, Box::new(|_| {}))
        }
    }
}
