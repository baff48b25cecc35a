//! A guest: applies for a seat, accepts any invitation, and prints what happens.
//!
//! ```text
//! TOKEN=$(coguest token --user user_456 --name Bob --role audience)
//! cargo run -p coguest-client --example guest -- ws://127.0.0.1:7700 "$TOKEN" live_room_123
//! ```

use coguest_client::{Client, CoGuestStore, GuestEvent, NoResponseReason};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(token)) = (args.next(), args.next()) else {
        eprintln!("usage: guest <server url> <token> [room]");
        std::process::exit(2);
    };
    let room = args.next().unwrap_or_else(|| "live_room_123".to_owned());

    let client = Client::connect(&url, &token).await?;
    let store = CoGuestStore::create(&client, &room).await?;
    let mut events = store.guest_events();

    // Ask for any seat; the answer arrives as an event.
    store
        .apply_for_seat(-1, 30, Some("{\"msg\":\"hi\"}"))
        .await?;
    println!("Applied for a seat in {room}; waiting for a host...");

    while let Some(event) = events.recv().await {
        match event {
            GuestEvent::GuestApplicationResponded {
                is_accept,
                host_user,
            } => {
                let answer = if is_accept { "accepted" } else { "rejected" };
                println!("{} {answer} the application", host_user.user_name);
                if is_accept {
                    break;
                }
            }
            GuestEvent::GuestApplicationNoResponse { reason } => {
                if reason == NoResponseReason::Timeout {
                    println!("No host answered in time");
                }
                break;
            }
            GuestEvent::HostInvitationReceived { host_user, .. } => {
                println!("{} invites us; accepting", host_user.user_name);
                store.accept_invitation(&host_user.user_id).await?;
                break;
            }
            other => println!("{other:?}"),
        }
    }

    let seat = store
        .co_guest_state()
        .connected
        .borrow()
        .iter()
        .find(|s| s.user_id == client.user_id())
        .map(|s| s.seat_index);
    if let Some(seat) = seat {
        println!("On seat {seat}; leaving it again");
        store.disconnect().await?;
    }
    Ok(())
}
