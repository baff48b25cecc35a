//! Bad input and limits: each gets its documented error and changes nothing.

use crate::common::*;
use coguest_core::Role;
use coguest_proto::{CLOSE_IDLE, CLOSE_TOO_SLOW, Change, ClientCommand, ErrorCode, ServerMsg};
use coguest_server::CLOSE_POLICY;

const ROOM: &str = "limits";

async fn room_state(s: &TestServer) -> String {
    s.get_room(ROOM).await.1
}

async fn error_for(c: &mut TestClient, text: &str) -> (Option<u64>, i32) {
    c.send_text(text).await;
    match c
        .expect("error", |m| matches!(m, ServerMsg::Error { .. }))
        .await
    {
        ServerMsg::Error { id, code, .. } => (id, code),
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn malformed_unknown_and_mistyped_frames() {
    let s = TestServer::start().await;
    s.create_room(ROOM).await;
    let mut c = s.member(ROOM, "g", Role::Audience).await;
    let before = room_state(&s).await;

    assert_eq!(
        error_for(&mut c, "{not json").await,
        (None, code(ErrorCode::MalformedFrame))
    );
    assert_eq!(
        error_for(&mut c, r#"{"id":7,"room":"limits","cmd":"fly_to_moon"}"#).await,
        (Some(7), code(ErrorCode::UnknownCommand))
    );
    assert_eq!(
        error_for(
            &mut c,
            r#"{"id":8,"room":"limits","cmd":"apply_for_seat","seat_index":"one","timeout":30}"#
        )
        .await,
        (Some(8), code(ErrorCode::MalformedFrame))
    );
    assert_eq!(
        error_for(&mut c, r#"{"id":9,"room":"limits","cmd":"apply_for_seat"}"#).await,
        (Some(9), code(ErrorCode::MalformedFrame))
    );
    assert_eq!(
        error_for(&mut c, r#"{"room":"limits","cmd":"ping"}"#).await,
        (None, code(ErrorCode::MalformedFrame))
    );
    assert_eq!(
        error_for(
            &mut c,
            r#"{"id":10,"room":"limits","cmd":"apply_for_seat","seat_index":-5,"timeout":30}"#
        )
        .await,
        (Some(10), code(ErrorCode::InvalidParameter))
    );
    let long_room = "r".repeat(49);
    assert_eq!(
        error_for(
            &mut c,
            &format!(r#"{{"id":11,"room":"{long_room}","cmd":"join"}}"#)
        )
        .await,
        (Some(11), code(ErrorCode::RoomIdInvalid))
    );
    assert_eq!(
        c.refused(ROOM, apply(-1, 100_000)).await,
        ErrorCode::TimeoutOutOfRange
    );
    // Still connected, nothing changed.
    c.barrier().await;
    assert_eq!(room_state(&s).await, before);
}

#[tokio::test]
async fn oversized_frame_and_extra_info() {
    let s = TestServer::start_with(|c| {
        c.limits.max_frame_bytes = 4096;
        c.default_room.max_extra_info_bytes = 100;
    })
    .await;
    s.create_room(ROOM).await;
    let mut c = s.member(ROOM, "g", Role::Audience).await;
    let before = room_state(&s).await;
    let big = "x".repeat(5000);
    let frame = format!(
        r#"{{"id":3,"room":"limits","cmd":"apply_for_seat","seat_index":-1,"timeout":30,"extra_info":"{big}"}}"#
    );
    assert_eq!(
        error_for(&mut c, &frame).await,
        (Some(3), code(ErrorCode::FrameTooLarge))
    );
    assert_eq!(
        c.refused(ROOM, apply_with_info(-1, 30, "y".repeat(101)))
            .await,
        ErrorCode::ExtraInfoTooLarge
    );
    c.barrier().await;
    assert_eq!(room_state(&s).await, before);
    // At the limit it is accepted.
    c.call(ROOM, apply_with_info(-1, 30, "y".repeat(100)))
        .await
        .unwrap();
}

/// `n`-th command of the flood: apply, cancel, apply, cancel, ...
fn flood_cmd(n: usize) -> ClientCommand {
    if n % 2 == 0 {
        apply(-1, 300)
    } else {
        ClientCommand::CancelApplication
    }
}

fn version_of(state: &str) -> u64 {
    let v: serde_json::Value = serde_json::from_str(state).unwrap();
    v["state"]["version"].as_u64().unwrap()
}

#[tokio::test]
async fn flood_past_the_rate_limit() {
    let s = TestServer::start_with(|c| {
        c.limits.commands_per_sec = 5;
        c.limits.command_burst = 10;
    })
    .await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut c = s.member(ROOM, "g", Role::Audience).await; // 1 token used by join
    let before = room_state(&s).await;
    // State-changing commands, each valid in turn: apply, cancel, apply, ... The clock does not
    // move, so exactly the first 9 are admitted.
    let mut ids = Vec::new();
    for n in 0..20 {
        ids.push(c.send(Some(ROOM), flood_cmd(n)).await);
    }
    let mut last_request = None;
    for (n, id) in ids.into_iter().enumerate() {
        let answer = c.answer(id).await;
        if n < 9 {
            let ack = answer.unwrap_or_else(|e| panic!("command {n} was admitted: {e:?}"));
            assert_eq!(ack.request_id.is_some(), n % 2 == 0, "{n}: {ack:?}");
            last_request = ack.request_id.or(last_request);
        } else {
            let e = answer.expect_err("past the burst");
            assert_eq!(e.code, code(ErrorCode::FreqLimit), "command {n}: {e:?}");
        }
    }
    // The admitted ones took effect, once each: 9 mutations, 5 applications and 4 cancels
    // announced to the host, and the 9th (an apply) is pending. The refused ones changed
    // nothing: the 10th (a cancel) did not cancel it, the 11th did not act either.
    let after = room_state(&s).await;
    assert_eq!(version_of(&after), version_of(&before) + 9);
    let v: serde_json::Value = serde_json::from_str(&after).unwrap();
    let applicants = v["state"]["applicants"].as_array().unwrap();
    assert_eq!(applicants.len(), 1, "{v}");
    assert_eq!(applicants[0]["request_id"], last_request.unwrap());
    owner.room_barrier(ROOM).await;
    let events = owner.drain_events();
    let received = events.iter().filter(|e| application_received(e)).count();
    let cancelled = events
        .iter()
        .filter(|e| matches!(e, coguest_proto::Event::GuestApplicationCancelled { .. }))
        .count();
    assert_eq!((received, cancelled, events.len()), (5, 4, 9), "{events:?}");

    // Tokens come back with time (manual clock): 5 per second.
    s.clock.advance_secs(1);
    c.call(ROOM, ClientCommand::CancelApplication)
        .await
        .unwrap();
    for n in 0..4 {
        c.call(ROOM, flood_cmd(n)).await.unwrap();
    }
    assert_eq!(
        c.refused(ROOM, ClientCommand::CancelApplication).await,
        ErrorCode::FreqLimit
    );
    assert_eq!(version_of(&room_state(&s).await), version_of(&after) + 5);
}

#[tokio::test]
async fn connections_per_user() {
    let s = TestServer::start_with(|c| c.limits.max_connections_per_user = 2).await;
    let _a = s.connect("u", Role::Audience).await;
    let b = s.connect("u", Role::Audience).await;
    let mut third = TestClient::connect(&s.ws_url(Some(&s.token("u", Role::Audience))), "u").await;
    match third.next().await {
        ServerMsg::Error { code: c, .. } => assert_eq!(c, code(ErrorCode::TooManyConnections)),
        m => panic!("{m:?}"),
    }
    assert_eq!(third.closed().await, Some(CLOSE_POLICY));
    // A slot frees when a connection closes.
    b.close().await;
    let mut again = None;
    for _ in 0..50 {
        let mut c = TestClient::connect(&s.ws_url(Some(&s.token("u", Role::Audience))), "u").await;
        if let ServerMsg::Welcome { .. } = c.next().await {
            again = Some(c);
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(again.is_some(), "the closed connection's slot was released");
}

#[tokio::test]
async fn members_per_room() {
    let s = TestServer::start_with(|c| c.default_room.max_members = 2).await;
    let _a = s.member(ROOM, "a", Role::Owner).await;
    let _b = s.member(ROOM, "b", Role::Audience).await;
    let mut c = s.connect("c", Role::Audience).await;
    let err = c.join(ROOM, None).await.unwrap_err();
    assert_eq!(err.code, code(ErrorCode::RoomFull));
}

/// How many applications `host` was told of since it last drained its events (all the room's
/// commands so far included).
async fn applications_received(host: &mut TestClient) -> usize {
    host.room_barrier(ROOM).await;
    host.drain_events()
        .into_iter()
        .filter(application_received)
        .count()
}

#[tokio::test]
async fn idempotent_retry_of_a_request_id() {
    let s = TestServer::start().await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut g = s.member(ROOM, "g", Role::Audience).await;
    let id = g.id();
    g.send_with_id(id, Some(ROOM), apply(-1, 30)).await;
    let first = g.answer(id).await.unwrap();
    g.send_with_id(id, Some(ROOM), apply(-1, 30)).await;
    let second = g.answer(id).await.unwrap();
    assert_eq!(first, second, "a retry gets the first answer");
    let received = applications_received(&mut owner).await;
    assert_eq!(received, 1, "the retry did not act again");
    // A refused command's retry gets the same refusal.
    let id = g.id();
    g.send_with_id(id, Some(ROOM), accept_inv("owner")).await;
    let e1 = g.answer(id).await.unwrap_err();
    g.send_with_id(id, Some(ROOM), accept_inv("owner")).await;
    assert_eq!(g.answer(id).await.unwrap_err(), e1);
}

/// A user who left keeps the answer to its `leave` (a client that lost the ack retries it), but
/// not its older ones: back in the room, a retried old id acts again, since what it did
/// (an application) ended when the user left.
#[tokio::test]
async fn a_user_who_left_keeps_only_its_leave_answer() {
    let s = TestServer::start().await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut g = s.member(ROOM, "g", Role::Audience).await;
    let applied = g.id();
    g.send_with_id(applied, Some(ROOM), apply(-1, 30)).await;
    g.answer(applied).await.unwrap();
    let left = g.id();
    g.send_with_id(left, Some(ROOM), ClientCommand::Leave).await;
    let ack = g.answer(left).await.unwrap();
    g.send_with_id(left, Some(ROOM), ClientCommand::Leave).await;
    assert_eq!(
        g.answer(left).await.unwrap(),
        ack,
        "the retried leave gets its ack"
    );
    g.join(ROOM, None).await.unwrap();
    g.send_with_id(applied, Some(ROOM), apply(-1, 30)).await;
    g.answer(applied).await.unwrap();
    let received = applications_received(&mut owner).await;
    assert_eq!(received, 2, "the old id was forgotten and applied again");
}

/// Queues of 8 frames and applications of up to 64 KiB: a member that stops reading falls
/// behind within some dozens of applications.
fn small_queues(c: &mut coguest_server::ServerConfig) {
    c.limits.outgoing_queue = 8;
    c.default_room.max_extra_info_bytes = 65_536;
}

/// `g` applies with 60 KB of extra info (which every host is sent) and cancels.
async fn apply_big_and_cancel(g: &mut TestClient) {
    let big = apply_with_info(-1, 30, "z".repeat(60_000));
    g.call(ROOM, big).await.unwrap();
    g.call(ROOM, ClientCommand::CancelApplication)
        .await
        .unwrap();
}

#[tokio::test]
async fn slow_consumer_is_closed_without_slowing_the_room() {
    let s = TestServer::start_with(small_queues).await;
    s.create_room(ROOM).await;
    let mut slow = s.member(ROOM, "slow", Role::Admin).await;
    let mut fast = s.member(ROOM, "fast", Role::Owner).await;
    let mut g = s.member(ROOM, "g", Role::Audience).await;
    // `slow` never reads: its socket buffers fill, then its queue, and it is cut off. The
    // guest's commands keep being answered and the fast host keeps receiving.
    let rounds = 200;
    for _ in 0..rounds {
        apply_big_and_cancel(&mut g).await;
        fast.event("received", application_received).await;
        fast.buf.clear();
    }
    assert_eq!(slow.closed().await, Some(CLOSE_TOO_SLOW));
    let received = slow
        .buf
        .iter()
        .filter(|m| {
            matches!(
                m,
                ServerMsg::Event {
                    event: coguest_proto::Event::GuestApplicationReceived { .. },
                    ..
                }
            )
        })
        .count();
    assert!(received < rounds, "slow got {received} of {rounds}");
}

/// A client that stops reading for good leaves the server's writer stuck on a full socket, so
/// it cannot send its close frame: once the close is 10 s overdue, the connection is dropped
/// (its slot given back, its socket closed without a close frame).
#[tokio::test]
async fn a_client_that_never_reads_again_is_dropped_once_its_close_is_overdue() {
    let s = TestServer::start_with(small_queues).await;
    s.create_room(ROOM).await;
    let mut stuck = s.member(ROOM, "stuck", Role::Admin).await;
    let mut g = s.member(ROOM, "g", Role::Audience).await;
    // Enough applications to fill `stuck`'s socket buffers and then its queue: the close
    // (4008) is asked for, and its writer is stuck mid-write.
    for _ in 0..100 {
        apply_big_and_cancel(&mut g).await;
    }
    assert!(s.connections_open(2).await);
    // The sweep sees the close asked for, then, 10 s later, that it never happened.
    for _ in 0..12 {
        s.clock.advance_secs(1);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let dropped = tokio::time::timeout(WAIT, async {
        while !s.connections_open(1).await {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(dropped.is_ok(), "the stuck connection is still open");
    assert_eq!(stuck.closed().await, None, "no close frame could be sent");
    g.call(ROOM, ClientCommand::Ping).await.unwrap();
}

/// A client that sends pings and never reads the pongs fills its queue like any reader that
/// falls behind: it is closed as too slow (and dropped once that close is overdue), not kept
/// open with its pongs thrown away.
#[tokio::test]
async fn a_client_that_pings_without_reading_is_closed_as_too_slow() {
    use futures_util::SinkExt;
    let s = TestServer::start_with(|c| {
        c.limits.outgoing_queue = 8;
        c.limits.idle_timeout = std::time::Duration::ZERO;
    })
    .await;
    s.create_room(ROOM).await;
    let mut flood = s.member(ROOM, "flood", Role::Audience).await;
    let mut other = s.member(ROOM, "other", Role::Audience).await;
    // Pongs of 125 bytes fill both sockets' buffers (megabytes on loopback), then the queue.
    // It never stops by itself: only the server closing the connection ends it.
    let flooding = tokio::spawn(async move {
        let payload = tokio_tungstenite::tungstenite::Bytes::from(vec![7u8; 125]);
        loop {
            let ping = tokio_tungstenite::tungstenite::Message::Ping(payload.clone());
            if flood.ws.feed(ping).await.is_err() {
                return;
            }
        }
    });
    let dropped = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        loop {
            // The sweep runs on the server's clock: a close asked for is overdue 10 s later.
            s.clock.advance_secs(1);
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            if s.connections_open(1).await {
                return;
            }
        }
    })
    .await;
    flooding.abort();
    assert!(
        dropped.is_ok(),
        "a client flooding pings unread is still connected"
    );
    other.call(ROOM, ClientCommand::Ping).await.unwrap();
}

/// A connection nothing arrives from for the idle timeout is closed with 4009, and its member
/// leaves after the grace period like any dropped connection; anything heard (a frame, a
/// WebSocket ping) keeps it open.
#[tokio::test]
async fn a_silent_connection_is_closed_after_the_idle_timeout() {
    use futures_util::SinkExt;
    let s = TestServer::start_with(|c| c.limits.idle_timeout = std::time::Duration::from_secs(60))
        .await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut quiet = s.member(ROOM, "quiet", Role::Audience).await;
    let mut pinging = s.member(ROOM, "pinging", Role::Audience).await;
    for _ in 0..3 {
        s.clock.advance_secs(40);
        owner.call(ROOM, ClientCommand::Ping).await.unwrap();
        // A WebSocket ping (what the SDK sends) counts as well as a frame.
        pinging
            .ws
            .send(tokio_tungstenite::tungstenite::Message::Ping(
                Default::default(),
            ))
            .await
            .unwrap();
        pinging.call(ROOM, ClientCommand::Ping).await.unwrap();
    }
    assert_eq!(quiet.closed().await, Some(CLOSE_IDLE));
    // The others, heard every 40 s, are still served after 120 s.
    owner.call(ROOM, ClientCommand::Ping).await.unwrap();
    pinging.call(ROOM, ClientCommand::Ping).await.unwrap();
}

#[tokio::test]
async fn a_zero_idle_timeout_never_closes() {
    let s = TestServer::start_with(|c| c.limits.idle_timeout = std::time::Duration::ZERO).await;
    s.create_room(ROOM).await;
    let mut quiet = s.member(ROOM, "quiet", Role::Audience).await;
    s.clock.advance_secs(1800);
    let mut other = s.member(ROOM, "other", Role::Audience).await;
    other.call(ROOM, ClientCommand::Ping).await.unwrap();
    quiet.call(ROOM, ClientCommand::Ping).await.unwrap();
}

/// A member that falls behind a burst of seat changes is not cut off and does not work
/// through a backlog: each seat list still waiting in its queue is replaced by the room's next
/// one, and it ends with the latest state, versions never going back.
#[tokio::test]
async fn a_member_behind_a_burst_of_seat_changes_gets_the_latest_list_not_a_backlog() {
    let s = TestServer::start_with(|c| {
        c.limits.outgoing_queue = 16;
        // Lists of 64 seats (several KiB each): the sockets' buffers hold only some hundreds.
        c.default_room.max_seat_count = 64;
    })
    .await;
    let mut owner = s.member(ROOM, "owner", Role::Owner).await;
    let url = s.ws_url(Some(&s.token("behind", Role::Audience)));
    let mut behind = TestClient::connect_small_buffer(&url, "behind", 4096).await;
    assert!(matches!(behind.next().await, ServerMsg::Welcome { .. }));
    behind.enter(ROOM).await;
    // `behind` stops reading: once the sockets' buffers are full, its queue of 16 frames would
    // fill too and the connection be closed as too slow (4008).
    const CHANGES: usize = 4_000;
    let mut last = 0;
    for i in 0..CHANGES {
        let cmd = if i % 2 == 0 {
            ClientCommand::LockSeat { seat_index: 3 }
        } else {
            ClientCommand::UnlockSeat { seat_index: 3 }
        };
        last = owner.call(ROOM, cmd).await.unwrap().version.unwrap();
    }
    let mut lists = 0;
    let mut version = 0;
    let mut locked = None;
    while version < last {
        match behind.next().await {
            ServerMsg::Change {
                version: v,
                change: Change::Seats { seats },
                ..
            } => {
                assert!(v > version, "seat lists went back from {version} to {v}");
                version = v;
                lists += 1;
                locked = seats.iter().find(|s| s.seat_index == 3).map(|s| s.locked);
            }
            other => panic!("behind: only seat lists were expected, got {other:?}"),
        }
    }
    assert_eq!(version, last, "it ends at the room's latest version");
    assert_eq!(
        locked,
        Some(false),
        "with the latest state (seat 3 unlocked)"
    );
    assert!(
        lists < CHANGES,
        "every one of {CHANGES} seat lists was delivered: none was replaced while waiting"
    );
    assert!(behind.close_code.is_none(), "it was not cut off");
    let metrics = s.http("GET", "/metrics", None, "").await.1;
    let replaced: usize = metrics
        .lines()
        .find_map(|l| l.strip_prefix("coguest_seat_lists_replaced_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    assert_eq!(replaced, CHANGES - lists, "the replacements are counted");
}
