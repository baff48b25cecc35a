//! The SQL of rooms and their log, run on the writer's connection inside its transaction:
//! rows in and out as stored (the store encodes and decodes them).

use super::schema::to_u64;
use crate::store::{StoreError, backend};
use rusqlite::{Connection, OptionalExtension, params};

/// `(seq, at_ms, actor, command, client_req_id)` as stored.
pub(super) type RawEntry = (i64, i64, Option<String>, String, Option<i64>);

/// A room's rows: its base snapshot (JSON), the base's and the checkpoint's positions, and the
/// log after the base.
pub(super) struct RawRoom {
    pub(super) base: String,
    pub(super) base_seq: i64,
    pub(super) checkpoint_seq: Option<i64>,
    pub(super) log: Vec<RawEntry>,
}

/// Stores a new room with the id's next incarnation: that number, or `None` if it exists.
pub(super) fn create(
    conn: &Connection,
    room: &str,
    snapshot: &str,
) -> Result<Option<u64>, StoreError> {
    let inserted = conn
        .execute(
            "INSERT OR IGNORE INTO rooms (room_id, base_snapshot, base_seq, log_seq) \
             VALUES (?1, ?2, 0, 0)",
            params![room, snapshot],
        )
        .map_err(backend)?;
    if inserted != 1 {
        return Ok(None);
    }
    conn.query_row(
        "INSERT INTO room_incarnations (room_id, incarnation) VALUES (?1, 1) \
         ON CONFLICT (room_id) DO UPDATE SET incarnation = incarnation + 1 \
         RETURNING incarnation",
        params![room],
        |row| row.get::<_, i64>(0),
    )
    .map(|i| Some(to_u64(i)))
    .map_err(backend)
}

/// Every stored room id, in order.
pub(super) fn room_ids(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT room_id FROM rooms ORDER BY room_id")
        .map_err(backend)?;
    let rows = stmt
        .query_map([], |row| row.get::<_, String>(0))
        .map_err(backend)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(backend)
}

/// A room's rows, if stored.
pub(super) fn load(conn: &Connection, room: &str) -> Result<Option<RawRoom>, StoreError> {
    let head = conn
        .query_row(
            "SELECT base_snapshot, base_seq, checkpoint_seq FROM rooms WHERE room_id = ?1",
            params![room],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, Option<i64>>(2)?,
                ))
            },
        )
        .optional()
        .map_err(backend)?;
    let Some((base, base_seq, checkpoint_seq)) = head else {
        return Ok(None);
    };
    let mut stmt = conn
        .prepare_cached(
            "SELECT seq, at_ms, actor, command, client_req_id FROM room_log \
             WHERE room_id = ?1 AND seq > ?2 ORDER BY seq",
        )
        .map_err(backend)?;
    let rows = stmt
        .query_map(params![room, base_seq], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
            ))
        })
        .map_err(backend)?;
    let log = rows.collect::<Result<Vec<_>, _>>().map_err(backend)?;
    Ok(Some(RawRoom {
        base,
        base_seq,
        checkpoint_seq,
        log,
    }))
}

/// The room id's incarnation (0 when it has none).
pub(super) fn incarnation(conn: &Connection, room: &str) -> Result<u64, StoreError> {
    conn.query_row(
        "SELECT incarnation FROM room_incarnations WHERE room_id = ?1",
        params![room],
        |row| row.get::<_, i64>(0),
    )
    .optional()
    .map(|i| i.map_or(0, to_u64))
    .map_err(backend)
}

/// Appends one entry to a stored room's log.
pub(super) fn append(conn: &Connection, room: &str, entry: &RawEntry) -> Result<(), StoreError> {
    let (seq, at, actor, command, client_req_id) = entry;
    // Cached statements: the hot path parses no SQL.
    conn.prepare_cached(
        "INSERT INTO room_log (room_id, seq, at_ms, actor, command, client_req_id) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut s| s.execute(params![room, seq, at, actor, command, client_req_id]))
    .and_then(|_| {
        // Answered from the primary-key index alone: the room's row holds its
        // snapshots (megabytes for a large room), and updating any column of it
        // rewrote them on every append. (Not `INSERT .. SELECT .. WHERE EXISTS`:
        // a statement that may insert several rows keeps a statement journal.)
        conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM rooms WHERE room_id = ?1)")
            .and_then(|mut s| s.query_row(params![room], |row| row.get::<_, bool>(0)))
    })
    .map_err(backend)
    .and_then(|stored| {
        if stored {
            Ok(())
        } else {
            Err(StoreError::Backend(format!("room {room} is not stored")))
        }
    })
}

/// Makes the checkpoint the base, records `snapshot` as the checkpoint after `seq`, and drops
/// the log up to the new base.
pub(super) fn compact(
    conn: &Connection,
    room: &str,
    seq: i64,
    snapshot: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE rooms SET \
           base_snapshot = COALESCE(checkpoint_snapshot, base_snapshot), \
           base_seq = COALESCE(checkpoint_seq, base_seq), \
           checkpoint_snapshot = ?2, checkpoint_seq = ?3 \
         WHERE room_id = ?1",
        params![room, snapshot, seq],
    )
    .and_then(|_| {
        conn.execute(
            "DELETE FROM room_log WHERE room_id = ?1 AND seq <= \
             (SELECT base_seq FROM rooms WHERE room_id = ?1)",
            params![room],
        )
    })
    .map(|_| ())
    .map_err(backend)
}

/// Deletes a room and its log (its incarnation stays).
pub(super) fn delete(conn: &Connection, room: &str) -> Result<(), StoreError> {
    conn.execute("DELETE FROM room_log WHERE room_id = ?1", params![room])
        .and_then(|_| conn.execute("DELETE FROM rooms WHERE room_id = ?1", params![room]))
        .map(|_| ())
        .map_err(backend)
}
