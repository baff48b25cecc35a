//! The checked-in JSON Schema must match the one generated from the message types.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

#[test]
fn checked_in_schema_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("protocol.schema.json");
    let generated = serde_json::to_string_pretty(&coguest_proto::json_schema()).unwrap() + "\n";
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "{} is stale: run `UPDATE_SCHEMA=1 cargo test -p coguest-proto --test schema` and commit it",
        path.display()
    );
}
