//! The webhook outbox's SQL: deliveries queued in the writer's transaction (with the change
//! that caused them), read in write order per endpoint, removed once delivered or expired.

use super::schema::{to_i64, to_u64};
use crate::store::{OutboxItem, OutboxRow, StoreError, backend};
use coguest_core::Timestamp;
use rusqlite::{Connection, params};

/// Queues deliveries.
pub(super) fn insert_outbox(conn: &Connection, outbox: &[OutboxItem]) -> Result<(), StoreError> {
    if outbox.is_empty() {
        return Ok(());
    }
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO webhook_outbox (endpoint, created_ms, body) VALUES (?1, ?2, ?3)",
        )
        .map_err(backend)?;
    for item in outbox {
        stmt.execute(params![
            item.endpoint,
            to_i64(item.created.as_millis()),
            item.body
        ])
        .map_err(backend)?;
    }
    Ok(())
}

/// The oldest `limit` deliveries for `endpoint`.
pub(super) fn outbox_next(
    conn: &Connection,
    endpoint: &str,
    limit: i64,
) -> Result<Vec<OutboxRow>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, created_ms, body FROM webhook_outbox WHERE endpoint = ?1 \
             ORDER BY id LIMIT ?2",
        )
        .map_err(backend)?;
    let rows = stmt
        .query_map(params![endpoint, limit], |row| {
            Ok(OutboxRow {
                id: to_u64(row.get(0)?),
                created: Timestamp::from_millis(to_u64(row.get(1)?)),
                body: row.get(2)?,
            })
        })
        .map_err(backend)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(backend)
}

/// Removes a delivery.
pub(super) fn outbox_remove(conn: &Connection, id: i64) -> Result<(), StoreError> {
    conn.execute("DELETE FROM webhook_outbox WHERE id = ?1", params![id])
        .map(|_| ())
        .map_err(backend)
}
