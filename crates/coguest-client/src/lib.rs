//! `coguest-client`: the Rust SDK of coguest, with the reference `CoGuestStore` API.
//!
//! A [`Client`] is one authenticated WebSocket connection to a coguest server. A
//! [`CoGuestStore`] is one live room joined through it: it mirrors the reference
//! `CoGuestStore` method for method (`apply_for_seat`, `accept_application`,
//! `invite_to_seat`, ...), exposes the reference `CoGuestState` lists as
//! `tokio::sync::watch` receivers, and calls [`HostListener`] / [`GuestListener`]
//! implementations (or yields [`HostEvent`] / [`GuestEvent`] streams) when things happen.
//!
//! # Guide: the reference usage example in Rust
//!
//! ```no_run
//! use coguest_client::{Client, CoGuestStore, CoGuestState, HostListener, LiveUserInfo};
//! use std::sync::Arc;
//!
//! struct MyHostListener;
//!
//! impl HostListener for MyHostListener {
//!     fn on_guest_application_received(&self, guest_user: &LiveUserInfo) {
//!         println!("Received application from {}", guest_user.user_name);
//!         // Show accept/reject UI.
//!     }
//!     fn on_host_invitation_responded(&self, is_accept: bool, guest_user: &LiveUserInfo) {
//!         let answer = if is_accept { "accepted" } else { "rejected" };
//!         println!("Audience {} {answer}", guest_user.user_name);
//!     }
//!     // Every other callback has an empty default body.
//! }
//!
//! # async fn run(token: &str) -> Result<(), coguest_client::CoGuestError> {
//! // Connect, then create the store (this joins the room).
//! let client = Client::connect("ws://127.0.0.1:7700", token).await?;
//! let store = CoGuestStore::create(&client, "live_room_123").await?;
//!
//! // Subscribe to state changes: each list is a watch receiver.
//! let state: CoGuestState = store.co_guest_state();
//! let mut connected = state.connected.clone();
//! let connected_task = tokio::spawn(async move {
//!     while connected.changed().await.is_ok() {
//!         println!("Connected users: {}", connected.borrow().len());
//!     }
//! });
//! let mut applicants = state.applicants.clone();
//! let applicants_task = tokio::spawn(async move {
//!     while applicants.changed().await.is_ok() {
//!         println!("Pending applications: {}", applicants.borrow().len());
//!     }
//! });
//!
//! // Add a host event listener (for hosts).
//! let host_listener: Arc<dyn HostListener> = Arc::new(MyHostListener);
//! store.add_host_listener(host_listener.clone());
//!
//! // Host: accept an application.
//! match store.accept_application("user_456").await {
//!     Ok(()) => println!("Application accepted successfully"),
//!     Err(e) => println!("Failed: code {}, {}", e.code(), e.message()),
//! }
//!
//! // Unsubscribe when done.
//! connected_task.abort();
//! applicants_task.abort();
//! store.remove_host_listener(&host_listener);
//! # Ok(())
//! # }
//! ```
//!
//! The same events as streams, for code that prefers a loop:
//!
//! ```no_run
//! # async fn run(store: coguest_client::CoGuestStore) -> Result<(), coguest_client::CoGuestError> {
//! use coguest_client::GuestEvent;
//! let mut events = store.guest_events();
//! store.apply_for_seat(-1, 30, Some("{\"msg\":\"hi\"}")).await?;
//! while let Some(event) = events.recv().await {
//!     match event {
//!         GuestEvent::GuestApplicationResponded { is_accept: true, .. } => break,
//!         other => println!("{other:?}"),
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # The application queue
//!
//! Applications form a queue per room, in the order the server received them. An applicant
//! sees its place live with [`CoGuestStore::queue_position`] (a `watch` receiver holding
//! `Some(`[`QueuePosition`]` { position, length })` while its application is pending, `None`
//! otherwise); hosts' `applicants` list is in the same order. A host accepts anyone with
//! [`CoGuestStore::accept_application`], or the first in line with
//! [`CoGuestStore::accept_next_application`] (`-3029` `QUEUE_EMPTY` when nobody waits).
//!
//! ```no_run
//! # async fn run(store: coguest_client::CoGuestStore) -> Result<(), coguest_client::CoGuestError> {
//! let mut place = store.queue_position();
//! store.apply_for_seat(-1, 60, None).await?;
//! while place.changed().await.is_ok() {
//!     match *place.borrow() {
//!         Some(q) => println!("{} of {} in line", q.position, q.length),
//!         None => break, // answered, cancelled or timed out
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Mapping from the reference
//!
//! | reference | Rust |
//! |---|---|
//! | `CoGuestStore.create(liveId)` | [`CoGuestStore::create`]`(&client, live_id).await` |
//! | `coGuestState.connected.value` | `store.co_guest_state().connected.borrow()` |
//! | `addHostListener(l)` / `removeHostListener(l)` | [`CoGuestStore::add_host_listener`] / [`CoGuestStore::remove_host_listener`] with an `Arc<dyn HostListener>` |
//! | `applyForSeat(seatIndex, timeout, extraInfo)` | [`CoGuestStore::apply_for_seat`] |
//! | `result.code == 0` | `Ok(())`; otherwise [`CoGuestError::code`] (never `0`) |
//! | `NoResponseReason.timeout` / `.alreadySeated` | [`NoResponseReason::Timeout`] (0) / [`NoResponseReason::AlreadySeated`] (1) |
//!
//! # Guarantees
//!
//! - **Ordering.** A store's callbacks run on one dispatch task, one at a time, in the order
//!   the server produced the events, and never while the SDK holds a lock, so a callback may
//!   call the store. Streams see the same order.
//! - **State before callbacks.** The server sends a room change's view updates before its
//!   events, and the connection task updates the `watch` lists as each arrives, so a callback
//!   (or stream event) always sees lists at least as new as the change that caused it.
//! - **Calls.** Each call sends one command with a fresh request id and resolves with the
//!   server's answer. `apply_for_seat` and `invite_to_seat` resolve once the server has
//!   validated and registered the request; the outcome is an event.
//! - **Reconnect.** A dropped connection is re-established automatically (exponential backoff
//!   with jitter; [`Client::status`] tells). Each room is re-joined from the last version seen,
//!   and the server replays what was missed: no event is lost or delivered twice. If the
//!   server no longer holds that history it sends a fresh snapshot; the lists are replaced and
//!   no callback fires for what happened in between. A call in flight during the drop is
//!   re-sent with the *same* request id, which the server applies at most once; if no answer
//!   arrives by the deadline it fails with [`CoGuestError::TIMEOUT`] (never sent, so not
//!   applied) or [`CoGuestError::OUTCOME_UNKNOWN`] (sent: it may or may not have been applied;
//!   check the lists). A refused token (close code 4001) stops the client: every call then
//!   fails with the server's code.
//! - **Lifetime.** Dropping the last handle of a store leaves the room. Dropped while
//!   disconnected, the `leave` is sent once reconnected, before the join of a store of the same
//!   room created meanwhile (which then starts a fresh membership). With no such store, the
//!   server refuses that `leave` from a connection that has not joined the room, and the user
//!   leaves when its reconnect grace period ends (30 s by default). Works on the
//!   current-thread and the multi-thread tokio runtime (a runtime must be running: the SDK
//!   spawns its connection and dispatch tasks).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod actor;
mod client;
mod connection;
mod error;
mod listener;
mod seat;
mod shared;
mod state;
mod store;
mod tls;
mod types;

pub use actor::ConnectionStatus;
pub use client::{Client, ClientBuilder};
pub use error::CoGuestError;
pub use listener::{GuestListener, HostListener, SeatListener};
pub use seat::{LiveSeatStore, SeatEvents};
pub use store::{CoGuestStore, GuestEvents, HostEvents};
pub use types::{
    ClosedReason, CoGuestState, Device, GuestEvent, HostEvent, LiveUserInfo, MovePolicy,
    NoResponseReason, QueuePosition, Role, SeatEvent, SeatInfo, SeatMode, SeatUserInfo,
};
