//! Authorization: roles come only from tokens; bad tokens are refused and closed.

use crate::common::*;
use coguest_core::Role;
use coguest_proto::{
    CLOSE_UNAUTHORIZED, ClientCommand, Device, ErrorCode, MovePolicy, SeatMode, ServerMsg,
};
use coguest_server::auth::Auth;

const ROOM: &str = "auth-room";

/// Who sends a command in the authorization matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Actor {
    Owner,
    Admin,
    Audience,
    /// A valid token, joined to another room but not to this one.
    NonMember,
    /// A token scoped (`room` claim) to another room.
    OtherRoomToken,
}

const ACTORS: [Actor; 5] = [
    Actor::Owner,
    Actor::Admin,
    Actor::Audience,
    Actor::NonMember,
    Actor::OtherRoomToken,
];

impl Actor {
    fn user(self) -> &'static str {
        match self {
            Actor::Owner => "owner",
            Actor::Admin => "admin",
            Actor::Audience => "aud",
            Actor::NonMember => "out",
            Actor::OtherRoomToken => "wr",
        }
    }

    fn is_member(self) -> bool {
        matches!(self, Actor::Owner | Actor::Admin | Actor::Audience)
    }
}

/// A host who can invite `user` (nobody invites itself).
fn inviter_of(user: &str) -> &'static str {
    if user == "owner" { "admin" } else { "owner" }
}

/// The expected answer to one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Acknowledged, and the room changed: its version went up by exactly one.
    Acted,
    /// Acknowledged, and the room is exactly as before.
    Unchanged,
    /// Refused with this code, and the room is exactly as before.
    Refused(ErrorCode),
}
use Expect::{Acted, Refused, Unchanged};

/// Set-up done before the command (by the named members; actor steps only for members).
#[derive(Debug, Clone, Copy)]
enum Prep {
    /// `g` applies for any seat.
    GApplies,
    /// The owner invites `g`.
    OwnerInvitesG,
    /// The admin invites `g`.
    AdminInvitesG,
    /// `g` sits on seat 2.
    GSeated,
    /// The actor (admin or audience) applies.
    ActorApplies,
    /// A host invites the actor.
    ActorInvited,
    /// The actor (admin or audience) sits on seat 2; the owner always sits on seat 0.
    ActorSeated,
    /// The room is free-to-take.
    FreeToTake,
    /// Seat 3 is locked.
    Seat3Locked,
}
use Prep::*;

struct Row {
    prep: &'static [Prep],
    /// The command, given the actor's user id.
    cmd: fn(&'static str) -> ClientCommand,
    /// Whether the frame names the room (every command but a room-less `ping` does).
    with_room: bool,
    /// Owner, admin, audience, non-member, token for another room.
    expect: [Expect; 5],
}

const NOT_ENTERED: Expect = Refused(ErrorCode::NotEnteredRoom);
const WRONG_ROOM: Expect = Refused(ErrorCode::WrongRoom);
const NEED_ADMIN: Expect = Refused(ErrorCode::NeedAdminPermission);
/// The usual row for a host command: owner and admin act, everyone else is refused.
const HOSTS_ONLY: [Expect; 5] = [Acted, Acted, NEED_ADMIN, NOT_ENTERED, WRONG_ROOM];
/// Every member acts; anyone else is refused.
const MEMBERS: [Expect; 5] = [Acted, Acted, Acted, NOT_ENTERED, WRONG_ROOM];
/// Every member is answered and nothing changes; anyone else is refused.
const READ_ONLY: [Expect; 5] = [Unchanged, Unchanged, Unchanged, NOT_ENTERED, WRONG_ROOM];

/// Every member but the owner acts; the owner is refused with `code` (it is seated, holds no
/// request, or must stay on its seat), anyone else as usual.
fn all_but_the_owner(code: ErrorCode) -> [Expect; 5] {
    [Refused(code), Acted, Acted, NOT_ENTERED, WRONG_ROOM]
}

fn matrix() -> Vec<Row> {
    fn row(
        prep: &'static [Prep],
        cmd: fn(&'static str) -> ClientCommand,
        expect: [Expect; 5],
    ) -> Row {
        Row {
            prep,
            cmd,
            with_room: true,
            expect,
        }
    }
    let mic_on = |_: &'static str| set_device(Device::Microphone, true);
    vec![
        // A repeated join is a no-op; a non-member becomes a member.
        row(
            &[],
            |_| ClientCommand::Join { since: None },
            [Unchanged, Unchanged, Unchanged, Acted, WRONG_ROOM],
        ),
        row(&[], |_| ClientCommand::Leave, MEMBERS),
        // The owner sits on seat 0 from joining.
        row(
            &[],
            |_| apply(-1, 300),
            all_but_the_owner(ErrorCode::AlreadyInSeat),
        ),
        // Only the applicant cancels: the owner's cancel does not touch g's application.
        row(
            &[GApplies, ActorApplies],
            |_| ClientCommand::CancelApplication,
            all_but_the_owner(ErrorCode::RequestIdInvalid),
        ),
        row(&[GApplies], |_| accept_app("g"), HOSTS_ONLY),
        row(
            &[GApplies],
            |_| ClientCommand::AcceptNextApplication,
            HOSTS_ONLY,
        ),
        row(&[GApplies], |_| reject_app("g"), HOSTS_ONLY),
        row(&[], |_| invite("g", -1, 300), HOSTS_ONLY),
        // Each host cancels its own invitation.
        row(
            &[OwnerInvitesG, AdminInvitesG],
            |_| cancel_invitation("g"),
            HOSTS_ONLY,
        ),
        // Only the inviting host cancels: the admin cannot cancel the owner's invitation.
        row(
            &[OwnerInvitesG],
            |_| cancel_invitation("g"),
            [
                Acted,
                Refused(ErrorCode::RequestIdInvalid),
                NEED_ADMIN,
                NOT_ENTERED,
                WRONG_ROOM,
            ],
        ),
        // Only the invitee answers; the seated owner cannot hold an invitation at all.
        row(
            &[ActorInvited, OwnerInvitesG],
            |me| accept_inv(inviter_of(me)),
            all_but_the_owner(ErrorCode::RequestIdInvalid),
        ),
        row(
            &[ActorInvited, OwnerInvitesG],
            |me| reject_inv(inviter_of(me)),
            all_but_the_owner(ErrorCode::RequestIdInvalid),
        ),
        row(
            &[ActorSeated],
            |_| ClientCommand::Disconnect,
            all_but_the_owner(ErrorCode::OwnerMustStayOnSeat),
        ),
        row(&[GSeated], |_| kick("g"), HOSTS_ONLY),
        row(&[], |_| lock(3), HOSTS_ONLY),
        row(&[Seat3Locked], |_| unlock(3), HOSTS_ONLY),
        row(
            &[FreeToTake],
            |_| take(-1),
            all_but_the_owner(ErrorCode::AlreadyInSeat),
        ),
        // In an apply-to-take room nobody takes a seat, whatever its role.
        row(
            &[],
            |_| take(-1),
            [
                Refused(ErrorCode::AlreadyInSeat),
                Refused(ErrorCode::SeatModeApplyToTake),
                Refused(ErrorCode::SeatModeApplyToTake),
                NOT_ENTERED,
                WRONG_ROOM,
            ],
        ),
        row(
            &[ActorSeated],
            |_| ClientCommand::LeaveSeat,
            all_but_the_owner(ErrorCode::OwnerMustStayOnSeat),
        ),
        // A host moves another user.
        row(
            &[GSeated],
            |_| move_to("g", 4, MovePolicy::AbortWhenOccupied),
            HOSTS_ONLY,
        ),
        // A seated user moves itself to a free seat.
        row(
            &[ActorSeated],
            |me| move_to(me, 4, MovePolicy::AbortWhenOccupied),
            all_but_the_owner(ErrorCode::OwnerMustStayOnSeat),
        ),
        // Any other policy needs a host, even on oneself.
        row(
            &[ActorSeated],
            |me| move_to(me, 4, MovePolicy::ForceReplace),
            [
                Refused(ErrorCode::OwnerMustStayOnSeat),
                Acted,
                NEED_ADMIN,
                NOT_ENTERED,
                WRONG_ROOM,
            ],
        ),
        row(&[ActorSeated], mic_on, MEMBERS),
        // Devices belong to a seat: only the (always seated) owner has one here.
        row(
            &[],
            mic_on,
            [
                Acted,
                Refused(ErrorCode::UserNotInSeat),
                Refused(ErrorCode::UserNotInSeat),
                NOT_ENTERED,
                WRONG_ROOM,
            ],
        ),
        row(
            &[],
            |_| user_device_permission("g", Device::Camera, false),
            HOSTS_ONLY,
        ),
        row(
            &[],
            |_| seat_device_permission(3, Device::Microphone, false),
            HOSTS_ONLY,
        ),
        row(
            &[],
            |_| settings(Some(SeatMode::FreeToTake), Some(6)),
            HOSTS_ONLY,
        ),
        row(
            &[],
            |_| set_admin("g", true),
            [
                Acted,
                Refused(ErrorCode::NeedOwnerPermission),
                Refused(ErrorCode::NeedOwnerPermission),
                NOT_ENTERED,
                WRONG_ROOM,
            ],
        ),
        row(&[], |_| ClientCommand::Snapshot, READ_ONLY),
        // A room-less `ping` is for anyone; naming a room, only for a connection that joined
        // it (a non-member learns nothing about the room), and a token for another room names
        // no other room.
        row(&[], |_| ClientCommand::Ping, READ_ONLY),
        Row {
            prep: &[],
            cmd: |_| ClientCommand::Ping,
            with_room: false,
            expect: [Unchanged; 5],
        },
        // Observing needs a service admin's token (`adm`), which no actor here has (see
        // `observe.rs` for those who may); a token for another room names no other room.
        row(
            &[],
            |_| ClientCommand::Observe { since: None },
            [
                Refused(ErrorCode::NeedAdminPermission),
                Refused(ErrorCode::NeedAdminPermission),
                Refused(ErrorCode::NeedAdminPermission),
                Refused(ErrorCode::NeedAdminPermission),
                WRONG_ROOM,
            ],
        ),
        row(
            &[],
            |_| ClientCommand::Unobserve,
            [
                NOT_ENTERED,
                NOT_ENTERED,
                NOT_ENTERED,
                NOT_ENTERED,
                WRONG_ROOM,
            ],
        ),
        Row {
            prep: &[],
            cmd: |_| ClientCommand::ObserveRooms,
            with_room: false,
            expect: [Refused(ErrorCode::NeedAdminPermission); 5],
        },
        Row {
            prep: &[],
            cmd: |_| ClientCommand::UnobserveRooms,
            with_room: false,
            expect: [Refused(ErrorCode::NeedAdminPermission); 5],
        },
        // A token that does not verify is refused, whoever presents it, and changes nothing.
        Row {
            prep: &[],
            cmd: |_| ClientCommand::UpdateToken {
                token: "not.a.jwt".into(),
            },
            with_room: false,
            expect: [Refused(ErrorCode::Unauthenticated); 5],
        },
    ]
}

fn version(info: &serde_json::Value) -> u64 {
    info["state"]["version"].as_u64().unwrap()
}

async fn ok(c: &mut TestClient, room: &str, cmd: ClientCommand) {
    let kind = cmd.kind();
    if let Err(e) = c.call(room, cmd).await {
        panic!("set-up {kind} by {}: {e:?}", c.user);
    }
}

/// Runs one cell in a room of its own; the mismatch, if any.
async fn cell(
    s: &TestServer,
    room: &str,
    row: &Row,
    actor: Actor,
    expect: Expect,
) -> Option<String> {
    use std::collections::HashMap;
    let mut c: HashMap<&str, TestClient> = HashMap::new();
    for (user, role) in [
        ("owner", Role::Owner),
        ("admin", Role::Admin),
        ("aud", Role::Audience),
        ("g", Role::Audience),
    ] {
        c.insert(user, s.member(room, user, role).await);
    }
    let elsewhere = format!("{room}-x");
    s.create_room(&elsewhere).await;
    match actor {
        Actor::NonMember => {
            c.insert("out", s.member(&elsewhere, "out", Role::Audience).await);
        }
        Actor::OtherRoomToken => {
            let mut claims = s.claims("wr", Role::Audience);
            claims.room = Some(elsewhere.clone());
            let mut wr = s.connect_with(&claims).await;
            wr.enter(&elsewhere).await;
            c.insert("wr", wr);
        }
        _ => {}
    }
    let me = actor.user();
    for step in row.prep {
        let m = actor.is_member() && actor != Actor::Owner;
        match step {
            GApplies => ok(c.get_mut("g").unwrap(), room, apply(-1, 300)).await,
            OwnerInvitesG => ok(c.get_mut("owner").unwrap(), room, invite("g", -1, 300)).await,
            AdminInvitesG => ok(c.get_mut("admin").unwrap(), room, invite("g", -1, 300)).await,
            GSeated => {
                ok(c.get_mut("owner").unwrap(), room, invite("g", 2, 300)).await;
                ok(c.get_mut("g").unwrap(), room, accept_inv("owner")).await;
            }
            ActorApplies if m => ok(c.get_mut(me).unwrap(), room, apply(-1, 300)).await,
            ActorInvited if actor.is_member() => {
                ok(
                    c.get_mut(inviter_of(me)).unwrap(),
                    room,
                    invite(me, -1, 300),
                )
                .await;
            }
            ActorSeated if m => {
                ok(c.get_mut("owner").unwrap(), room, invite(me, 2, 300)).await;
                ok(c.get_mut(me).unwrap(), room, accept_inv("owner")).await;
            }
            FreeToTake => {
                let cmd = settings(Some(SeatMode::FreeToTake), None);
                ok(c.get_mut("owner").unwrap(), room, cmd).await;
            }
            Seat3Locked => ok(c.get_mut("owner").unwrap(), room, lock(3)).await,
            ActorApplies | ActorInvited | ActorSeated => {}
        }
    }

    let before = s.room_json(room).await;
    let cmd = (row.cmd)(me);
    let creates_request = matches!(
        cmd,
        ClientCommand::ApplyForSeat { .. } | ClientCommand::InviteToSeat { .. }
    );
    let client = c.get_mut(me).unwrap();
    let id = client.send(row.with_room.then_some(room), cmd).await;
    let answer = client.answer(id).await;
    let after = s.room_json(room).await;

    let got = match &answer {
        Ok(_) if after == before => Unchanged,
        Ok(_) => Acted,
        Err(e) => match ErrorCode::from_code(e.code) {
            Some(code) => Refused(code),
            None => return Some(format!("unknown code {e:?}")),
        },
    };
    if got != expect {
        return Some(format!(
            "expected {expect:?}, got {answer:?} (room changed: {})",
            after != before
        ));
    }
    if answer.is_err() && after != before {
        return Some(format!("refused, yet the room changed:\n{before}\n{after}"));
    }
    match (expect, &answer) {
        (Acted, Ok(ack)) => {
            if version(&after) != version(&before) + 1 {
                return Some(format!(
                    "version {} -> {}",
                    version(&before),
                    version(&after)
                ));
            }
            if ack.version != Some(version(&after)) {
                return Some(format!("ack {ack:?}, room at {}", version(&after)));
            }
            if ack.request_id.is_some() != creates_request {
                return Some(format!("request id in {ack:?}"));
            }
        }
        (Unchanged, Ok(ack)) => {
            let want = row.with_room.then(|| version(&after));
            if ack.version != want || ack.request_id.is_some() {
                return Some(format!("ack {ack:?}, room at {}", version(&after)));
            }
        }
        (Refused(ErrorCode::WrongRoom), _) if client.closed().await != Some(CLOSE_UNAUTHORIZED) => {
            return Some(format!(
                "not closed 4001 after WRONG_ROOM: {:?}",
                client.close_code
            ));
        }
        _ => {}
    }
    None
}

/// Every client command under every role: the exact answer, a refusal changes nothing, and an
/// acknowledged command changes the room (bumping its version once) or, for the read-only
/// ones, nothing.
#[tokio::test]
async fn authorization_matrix() {
    let s = TestServer::start_with(|c| c.limits.max_connections_per_user = 10_000).await;
    let rows = matrix();
    let covered: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| (r.cmd)("aud").kind()).collect();
    let all: std::collections::BTreeSet<&str> = ClientCommand::NAMES.iter().copied().collect();
    assert_eq!(covered, all, "every command has a row");

    let mut failures = Vec::new();
    for (n, row) in rows.iter().enumerate() {
        for (i, actor) in ACTORS.into_iter().enumerate() {
            let room = format!("authz-{n}-{i}");
            let kind = (row.cmd)(actor.user()).kind();
            if let Some(why) = cell(&s, &room, row, actor, row.expect[i]).await {
                failures.push(format!(
                    "row {n} {kind} as {actor:?} (prep {:?}): {why}",
                    row.prep
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cells failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn a_second_owner_is_refused() {
    let s = TestServer::start().await;
    let _owner = s.member(ROOM, "owner", Role::Owner).await;
    let mut other = s.connect("owner2", Role::Owner).await;
    let err = other.join(ROOM, None).await.unwrap_err();
    assert_eq!(err.code, code(ErrorCode::OwnerAlreadyPresent));
}

/// Connects to `url`, which must be refused: the error code and the close code.
async fn refused(url: String) -> (i32, Option<u16>) {
    let mut c = TestClient::connect(&url, "x").await;
    let m = c.next().await;
    let ServerMsg::Error { code, .. } = m else {
        panic!("expected an error, got {m:?}");
    };
    (code, c.closed().await)
}

#[tokio::test]
async fn bad_tokens_are_refused_and_closed() {
    let s = TestServer::start().await;
    // Missing.
    assert_eq!(
        refused(s.ws_url(None)).await,
        (code(ErrorCode::Unauthenticated), Some(CLOSE_UNAUTHORIZED))
    );
    // Garbage.
    assert_eq!(
        refused(s.ws_url(Some("not.a.jwt"))).await,
        (code(ErrorCode::Unauthenticated), Some(CLOSE_UNAUTHORIZED))
    );
    // Forged: signed with another secret.
    let forged = Auth::new(b"another secret")
        .mint(&s.claims("mallory", Role::Owner))
        .unwrap();
    assert_eq!(
        refused(s.ws_url(Some(&forged))).await,
        (code(ErrorCode::Unauthenticated), Some(CLOSE_UNAUTHORIZED))
    );
    // Expired.
    let mut c = s.claims("late", Role::Audience);
    c.exp = s.now().as_millis() / 1000 - 1;
    let expired = s.auth.mint(&c).unwrap();
    assert_eq!(
        refused(s.ws_url(Some(&expired))).await,
        (code(ErrorCode::TokenExpired), Some(CLOSE_UNAUTHORIZED))
    );
}

#[tokio::test]
async fn bearer_header_is_accepted() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let s = TestServer::start().await;
    let mut req = s.ws_url(None).into_client_request().unwrap();
    req.headers_mut().insert(
        "Authorization",
        format!("Bearer {}", s.token("bob", Role::Audience))
            .parse()
            .unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    use futures_util::StreamExt;
    let m = ws.next().await.unwrap().unwrap();
    assert!(m.to_text().unwrap().contains("welcome"), "{m:?}");
}

#[tokio::test]
async fn wrong_room_token_is_refused_and_closed() {
    let s = TestServer::start().await;
    let mut c = s.claims("g", Role::Audience);
    c.room = Some("only-this".into());
    s.create_room("only-this").await;
    let mut client = s.connect_with(&c).await;
    client.join("only-this", None).await.unwrap();
    let err = client.join("another", None).await.unwrap_err();
    assert_eq!(err.code, code(ErrorCode::WrongRoom));
    assert_eq!(client.closed().await, Some(CLOSE_UNAUTHORIZED));
}

#[tokio::test]
async fn a_token_expiring_mid_connection_closes_it() {
    let s = TestServer::start().await;
    let mut c = s.claims("g", Role::Audience);
    c.exp = s.now().as_millis() / 1000 + 60;
    s.create_room(ROOM).await;
    let mut client = s.connect_with(&c).await;
    client.join(ROOM, None).await.unwrap();
    // Closed when the token expires, not at the next frame it sends: an idle connection does
    // not keep receiving the room after its token ran out.
    s.clock.advance_secs(61);
    let expired = client
        .expect("the expiry error", |m| {
            matches!(m, ServerMsg::Error { id: None, code: c, .. } if *c == code(ErrorCode::TokenExpired))
        })
        .await;
    assert!(matches!(expired, ServerMsg::Error { .. }));
    assert_eq!(client.closed().await, Some(CLOSE_UNAUTHORIZED));
}

#[tokio::test]
async fn admin_http_needs_an_admin_token() {
    let s = TestServer::start().await;
    let path = "/v1/rooms/settings-room";
    let (status, body) = s.http("PUT", path, None, "{}").await;
    assert_eq!(status, 401, "{body}");
    let user = s.token("u", Role::Owner);
    let (status, body) = s.http("PUT", path, Some(&user), "{}").await;
    assert_eq!(status, 403, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["code"], code(ErrorCode::NeedAdminPermission));
    let (status, _) = s.http("GET", path, Some(&user), "").await;
    assert_eq!(status, 403);
}

/// A connection that never joined a room gets the same answer about it whether it exists or
/// not, for every command but `join`: it cannot probe rooms nor read their version.
#[tokio::test]
async fn a_connection_learns_nothing_about_rooms_it_did_not_join() {
    let s = TestServer::start().await;
    let mut owner = s.member("real", "owner", Role::Owner).await;
    owner.call("real", ClientCommand::Ping).await.unwrap();
    let mut probe = s.connect("probe", Role::Audience).await;
    for cmd in [
        ClientCommand::Ping,
        ClientCommand::Snapshot,
        ClientCommand::CancelApplication,
        ClientCommand::Leave,
    ] {
        let real = probe.call("real", cmd.clone()).await.unwrap_err();
        let none = probe.call("no-such-room", cmd).await.unwrap_err();
        assert_eq!(real, none);
        assert_eq!(real.code, ErrorCode::NotEnteredRoom.code());
    }
}
