//! Enqueueing one encoded seat change to 100,000 member queues, the way a room actor delivers:
//! the message is serialised once into shared bytes (`Utf8Bytes`, reference counted) and each
//! recipient's bounded queue (the server's own `Outbox`) gets a clone (a reference-count
//! increment, no allocation) as a live seat list, so the check for a waiting list to replace
//! runs too.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use axum::extract::ws::Utf8Bytes;
use coguest_server::{Live, Outbox, Pushed};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

const MEMBERS: usize = 100_000;

fn enqueue(c: &mut Criterion) {
    let text = Utf8Bytes::from(
        r#"{"t":"change","room":"live_room_123","version":45,"change":{"type":"seats","seats":[{"seat_index":0,"user":{"user_id":"host_1","user_name":"Host","avatar_url":""},"locked":false},{"seat_index":1,"user":{"user_id":"user_456","user_name":"Bob","avatar_url":""},"locked":false}]}}"#.to_owned(),
    );
    let live = |version| Live {
        room: 1,
        version,
        seats: true,
    };
    let mut group = c.benchmark_group("fanout");
    group.sample_size(20);
    group.bench_function("one event to 100k member queues", |b| {
        b.iter_batched(
            || {
                // Queues as the server makes them (bounded), each already used once so its
                // buffer exists, as on a live connection.
                let mut queues = Vec::with_capacity(MEMBERS);
                for _ in 0..MEMBERS {
                    let q = Outbox::new(1024);
                    q.push_live(text.clone(), live(44));
                    let _ = q.pop();
                    queues.push(q);
                }
                queues
            },
            |queues| {
                let mut sent = 0usize;
                for q in &queues {
                    if q.push_live(text.clone(), live(45)) == Pushed::Queued {
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
