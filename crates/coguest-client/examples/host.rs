//! A host: prints every host event and the `connected` list, and accepts every application.
//!
//! ```text
//! coguest serve &                                  # a server on ws://127.0.0.1:7700
//! TOKEN=$(coguest token --user host_1 --name Alice --role owner)
//! cargo run -p coguest-client --example host -- ws://127.0.0.1:7700 "$TOKEN" live_room_123
//! ```

use coguest_client::{Client, CoGuestStore, HostEvent, HostListener, LiveUserInfo};
use std::sync::Arc;

/// Prints what happens, like the reference usage example.
struct PrintingListener;

impl HostListener for PrintingListener {
    fn on_guest_application_received(&self, guest_user: &LiveUserInfo) {
        println!("Received application from {}", guest_user.user_name);
    }
    fn on_host_invitation_responded(&self, is_accept: bool, guest_user: &LiveUserInfo) {
        let answer = if is_accept { "accepted" } else { "rejected" };
        println!("Audience {} {answer}", guest_user.user_name);
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(token)) = (args.next(), args.next()) else {
        eprintln!("usage: host <server url> <token> [room]");
        std::process::exit(2);
    };
    let room = args.next().unwrap_or_else(|| "live_room_123".to_owned());

    let client = Client::connect(&url, &token).await?;
    let store = CoGuestStore::create(&client, &room).await?;
    println!("{} joined {room} as {:?}", client.user_id(), client.role());

    // Callbacks...
    let listener: Arc<dyn HostListener> = Arc::new(PrintingListener);
    store.add_host_listener(listener.clone());

    // ...and state: print the seats whenever they change.
    let mut connected = store.co_guest_state().connected;
    tokio::spawn(async move {
        loop {
            let seats: Vec<String> = connected
                .borrow_and_update()
                .iter()
                .map(|s| format!("#{} {}", s.seat_index, s.user_name))
                .collect();
            println!("Connected users: [{}]", seats.join(", "));
            if connected.changed().await.is_err() {
                break;
            }
        }
    });

    // ...and the stream form, to act on events: accept every application.
    let mut events = store.host_events();
    while let Some(event) = events.recv().await {
        if let HostEvent::GuestApplicationReceived { guest_user, .. } = event {
            match store.accept_application(&guest_user.user_id).await {
                Ok(()) => println!("Application accepted successfully"),
                Err(e) => println!("Could not accept: {} (code {})", e.message(), e.code()),
            }
        }
    }
    store.remove_host_listener(&listener);
    Ok(())
}
