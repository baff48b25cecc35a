//! Enqueueing one encoded event to 100,000 member queues, the way a room actor delivers: the
//! message is serialised once into shared bytes (`Utf8Bytes`, reference counted) and each
//! recipient's bounded queue gets a clone (a reference-count increment, no allocation) by
//! `try_send`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use axum::extract::ws::{Message, Utf8Bytes};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use tokio::sync::mpsc;

const MEMBERS: usize = 100_000;

fn enqueue(c: &mut Criterion) {
    let text = Utf8Bytes::from(
        r#"{"t":"change","room":"live_room_123","version":45,"change":{"type":"connected","connected":[{"seat_index":0,"user_id":"host_1","user_name":"Host","avatar_url":"","role":"owner"},{"seat_index":1,"user_id":"user_456","user_name":"Bob","avatar_url":"","role":"audience"}]}}"#.to_owned(),
    );
    let mut group = c.benchmark_group("fanout");
    group.sample_size(20);
    group.bench_function("one event to 100k member queues", |b| {
        b.iter_batched(
            || {
                // Queues as the server makes them (bounded), each already used once so its
                // first block exists, as on a live connection.
                let mut queues = Vec::with_capacity(MEMBERS);
                for _ in 0..MEMBERS {
                    let (tx, mut rx) = mpsc::channel::<Message>(1024);
                    tx.try_send(Message::Text(text.clone())).unwrap();
                    let _ = rx.try_recv();
                    queues.push((tx, rx));
                }
                queues
            },
            |queues| {
                let mut sent = 0usize;
                for (tx, _) in &queues {
                    if tx.try_send(Message::Text(text.clone())).is_ok() {
                        sent += 1;
                    }
                }
                assert_eq!(sent, MEMBERS);
                queues
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, enqueue);
criterion_main!(benches);
