//! `CoGuestState::apply`: what a client does with each change.
#![allow(clippy::unwrap_used)]

use coguest_proto::{Change, CoGuestState};

#[test]
fn a_seats_change_also_sets_connected_to_its_occupants_in_seat_order() {
    let seats = serde_json::from_str(
        r#"[{"seat_index": 0, "user": {"seat_index": 0, "user_id": "host_1", "user_name": "Host", "avatar_url": "", "role": "owner"}},
            {"seat_index": 1, "locked": true},
            {"seat_index": 2, "user": {"seat_index": 2, "user_id": "bob", "user_name": "Bob", "avatar_url": "", "role": "audience"}, "devices_on": {"microphone": true, "camera": false}}]"#,
    )
    .unwrap();
    let mut state = CoGuestState::default();
    state.apply(7, &Change::Seats { seats });
    let connected: Vec<(i32, &str)> = state
        .connected
        .iter()
        .map(|s| (s.seat_index, s.user_id.as_str()))
        .collect();
    assert_eq!(connected, [(0, "host_1"), (2, "bob")]);
    assert_eq!(state.seats.len(), 3);
    assert!(state.seats[1].locked);
    assert_eq!(state.version, 7);

    state.apply(8, &Change::Seats { seats: Vec::new() });
    assert!(state.connected.is_empty());
}
