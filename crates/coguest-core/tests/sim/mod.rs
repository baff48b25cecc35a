//! A virtual-clock driver for scenario tests: a text script in, a rendered log out.
//!
//! Script lines (one step each; `#` starts a comment):
//!
//! ```text
//! join <user> <owner|admin|audience>     leave <user>
//! <user> apply <seat|any> <timeout_s> [extra_info]
//! <user> cancel-application
//! <user> accept-application <applicant>  <user> reject-application <applicant>
//! <user> accept-next-application
//! <user> invite <invitee> <seat|any> <timeout_s> [extra_info]
//! <user> cancel-invitation <invitee>
//! <user> accept-invitation <host>        <user> reject-invitation <host>
//! <user> disconnect                      <user> kick <seated user>
//! <user> lock <seat>                     <user> unlock <seat>
//! <user> take <seat|any>                 <user> leave-seat
//! <user> move <user> <seat> <abort|force|swap>
//! <user> mic|cam on|off                  <user> allow-user|disallow-user <user> mic|cam
//! <user> allow-seat|disallow-seat <seat> mic|cam
//! <user> settings [mode=free|apply] [seats=N]
//! <user> pick <user> <seat|any>          (`@operator` acts as the admin API)
//! <user> grant-admin <user>              <user> revoke-admin <user>
//! advance <secs>                         view <user>
//! wait <secs>                            (moves the clock without firing timers)
//! config <field>=<value> ...             (first line only)
//! ```
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use coguest_core::{
    Audience, Command, Device, Event, MovePolicy, OutputBody, Profile, Role, Room, RoomConfig,
    SeatChoice, SeatIndex, SeatInfo, SeatMode, Timestamp, UserId, UserInfo, ViewChange,
};
use std::fmt::Write;

/// Start of virtual time in every scenario.
pub const T0: u64 = 1_700_000_000_000;

pub struct Sim {
    pub room: Room,
    pub now: Timestamp,
    pub log: String,
    /// Render backend notices too (`config notices=true`).
    pub notices: bool,
}

impl Sim {
    pub fn new(config: RoomConfig) -> Self {
        let now = Timestamp::from_millis(T0);
        Sim {
            room: Room::new(config, now).unwrap(),
            now,
            log: String::new(),
            notices: false,
        }
    }

    /// Runs a command and logs its result and outputs.
    pub fn cmd(&mut self, user: &str, command: Command) {
        let result = self
            .room
            .handle_command(self.now, &UserId::from(user), command);
        match result {
            Ok(Some(id)) => writeln!(self.log, "  ok request={id}").unwrap(),
            Ok(None) => writeln!(self.log, "  ok").unwrap(),
            Err(e) => writeln!(self.log, "  error: {e}").unwrap(),
        }
        self.drain();
    }

    /// Moves virtual time forward, firing due deadlines in order.
    pub fn advance(&mut self, secs: u64) {
        let target = self.now.plus_millis(secs * 1000);
        while let Some(deadline) = self.room.poll_timeout().filter(|d| *d <= target) {
            self.now = self.now.max(deadline);
            self.room.handle_timeout(self.now);
            self.drain();
        }
        self.now = target;
    }

    pub fn drain(&mut self) {
        while let Some(out) = self.room.poll_output() {
            if matches!(out.body, OutputBody::Notice(_)) && !self.notices {
                continue;
            }
            let line = format!(
                "  v{} {} {}",
                out.version,
                render_audience(&out.to),
                render_body(&out.body)
            );
            writeln!(self.log, "{}", line.trim_end()).unwrap();
        }
        self.room.check_invariants().unwrap();
    }

    pub fn view(&mut self, user: &str) {
        let v = self.room.view_for(&UserId::from(user));
        let connected: Vec<_> = v
            .connected
            .iter()
            .map(|s| format!("{}:{}", s.seat_index, s.user.user_id))
            .collect();
        let applicants: Vec<_> = v
            .applicants
            .iter()
            .map(|a| a.user.user_id.to_string())
            .collect();
        let invitees: Vec<_> = v
            .invitees
            .iter()
            .map(|i| format!("{}<-{}", i.user.user_id, i.host))
            .collect();
        let candidates: Vec<_> = v.candidates.iter().map(|c| c.user_id.to_string()).collect();
        writeln!(
            self.log,
            "  view v{} connected=[{}] applicants=[{}] invitees=[{}] candidates=[{}]",
            v.version,
            connected.join(" "),
            applicants.join(" "),
            invitees.join(" "),
            candidates.join(" ")
        )
        .unwrap();
        let queue = v
            .queue
            .map(|q| format!(" queue={}/{}", q.position, q.length))
            .unwrap_or_default();
        writeln!(
            self.log,
            "       {} mode={:?}{queue}",
            render_seats(&v.seats),
            v.seat_mode
        )
        .unwrap();
    }

    /// Runs a whole script and returns the log.
    pub fn run(script: &str) -> String {
        let mut lines = script
            .lines()
            .map(|l| l.split('#').next().unwrap_or("").trim())
            .filter(|l| !l.is_empty())
            .peekable();
        let mut config = RoomConfig::default();
        let mut notices = false;
        if let Some(first) = lines.peek().filter(|l| l.starts_with("config ")) {
            for kv in first.split_whitespace().skip(1) {
                let (k, v) = kv.split_once('=').unwrap();
                match k {
                    "seats" => config.max_seat_count = v.parse().unwrap(),
                    "keep_owner" => config.keep_owner_on_seat = v.parse().unwrap(),
                    "candidates" => config.max_candidates = v.parse().unwrap(),
                    "members" => config.max_members = v.parse().unwrap(),
                    "max_timeout" => config.max_request_timeout_s = v.parse().unwrap(),
                    "extra" => config.max_extra_info_bytes = v.parse().unwrap(),
                    "mode" => config.seat_mode = seat_mode(v),
                    "notices" => notices = v.parse().unwrap(),
                    _ => panic!("unknown config key {k}"),
                }
            }
            lines.next();
        }
        let mut sim = Sim::new(config);
        sim.notices = notices;
        for line in lines {
            writeln!(sim.log, "> {line}").unwrap();
            sim.step(line);
        }
        sim.log
    }

    fn step(&mut self, line: &str) {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.as_slice() {
            ["join", user, role] => {
                let role = match *role {
                    "owner" => Role::Owner,
                    "admin" => Role::Admin,
                    "audience" => Role::Audience,
                    r => panic!("unknown role {r}"),
                };
                let profile = Profile {
                    user_name: user.to_uppercase(),
                    avatar_url: String::new(),
                };
                self.cmd(user, Command::Join { profile, role });
            }
            ["leave", user] => self.cmd(user, Command::Leave),
            ["advance", secs] => self.advance(secs.parse().unwrap()),
            ["wait", secs] => self.now = self.now.plus_secs(secs.parse().unwrap()),
            ["view", user] => self.view(user),
            [user, rest @ ..] => {
                let command = parse_command(rest);
                self.cmd(user, command);
            }
            [] => {}
        }
    }
}

fn seat_choice(s: &str) -> SeatChoice {
    match s {
        "any" => SeatChoice::Any,
        n => SeatChoice::Exact(SeatIndex(n.parse().unwrap())),
    }
}

fn seat_mode(s: &str) -> SeatMode {
    match s {
        "free" => SeatMode::FreeToTake,
        "apply" => SeatMode::ApplyToTake,
        m => panic!("unknown seat mode {m}"),
    }
}

fn device(s: &str) -> Device {
    match s {
        "mic" => Device::Microphone,
        "cam" => Device::Camera,
        d => panic!("unknown device {d}"),
    }
}

/// Seats that are occupied or have a flag set, as `index:user{flags}`; the count first.
pub fn render_seats(seats: &[SeatInfo]) -> String {
    let mut out = Vec::new();
    for s in seats {
        let mut flags = Vec::new();
        if s.locked {
            flags.push("locked");
        }
        if s.devices_on.microphone {
            flags.push("mic");
        }
        if s.devices_on.camera {
            flags.push("cam");
        }
        if s.seat_disallowed.microphone {
            flags.push("seat-no-mic");
        }
        if s.seat_disallowed.camera {
            flags.push("seat-no-cam");
        }
        if s.user_disallowed.microphone {
            flags.push("user-no-mic");
        }
        if s.user_disallowed.camera {
            flags.push("user-no-cam");
        }
        if s.user.is_none() && flags.is_empty() {
            continue;
        }
        let user = s.user.as_ref().map_or("-", |u| u.user.user_id.as_str());
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!("{{{}}}", flags.join(","))
        };
        out.push(format!("{}:{user}{flags}", s.seat_index));
    }
    format!("seats({})=[{}]", seats.len(), out.join(" "))
}

fn parse_command(w: &[&str]) -> Command {
    let u = |s: &str| UserId::from(s);
    let extra = |rest: &[&str]| rest.first().map(|s| s.to_string());
    match w {
        ["apply", seat, timeout, rest @ ..] => Command::ApplyForSeat {
            seat: seat_choice(seat),
            timeout_s: timeout.parse().unwrap(),
            extra_info: extra(rest),
        },
        ["cancel-application"] => Command::CancelApplication,
        ["accept-application", user] => Command::AcceptApplication { user: u(user) },
        ["accept-next-application"] => Command::AcceptNextApplication,
        ["reject-application", user] => Command::RejectApplication { user: u(user) },
        ["invite", user, seat, timeout, rest @ ..] => Command::InviteToSeat {
            user: u(user),
            seat: seat_choice(seat),
            timeout_s: timeout.parse().unwrap(),
            extra_info: extra(rest),
        },
        ["cancel-invitation", user] => Command::CancelInvitation { user: u(user) },
        ["accept-invitation", host] => Command::AcceptInvitation { from: u(host) },
        ["reject-invitation", host] => Command::RejectInvitation { from: u(host) },
        ["disconnect"] => Command::Disconnect,
        ["kick", user] => Command::KickOffSeat { user: u(user) },
        ["lock", seat] => Command::LockSeat {
            seat: SeatIndex(seat.parse().unwrap()),
        },
        ["unlock", seat] => Command::UnlockSeat {
            seat: SeatIndex(seat.parse().unwrap()),
        },
        ["take", seat] => Command::TakeSeat {
            seat: seat_choice(seat),
        },
        ["leave-seat"] => Command::LeaveSeat,
        ["pick", user, seat] => Command::PickToSeat {
            user: u(user),
            seat: seat_choice(seat),
        },
        ["move", user, seat, policy] => Command::MoveToSeat {
            user: u(user),
            seat: SeatIndex(seat.parse().unwrap()),
            policy: match *policy {
                "abort" => MovePolicy::AbortWhenOccupied,
                "force" => MovePolicy::ForceReplace,
                "swap" => MovePolicy::Swap,
                p => panic!("unknown policy {p}"),
            },
        },
        [d @ ("mic" | "cam"), on] => Command::SetDevice {
            device: device(d),
            on: *on == "on",
        },
        [op @ ("allow-user" | "disallow-user"), user, d] => Command::SetUserDevicePermission {
            user: u(user),
            device: device(d),
            allowed: *op == "allow-user",
        },
        [op @ ("allow-seat" | "disallow-seat"), seat, d] => Command::SetSeatDevicePermission {
            seat: SeatIndex(seat.parse().unwrap()),
            device: device(d),
            allowed: *op == "allow-seat",
        },
        ["settings", kvs @ ..] => {
            let (mut seat_mode_v, mut max_seat_count) = (None, None);
            for kv in kvs {
                match kv.split_once('=').unwrap() {
                    ("mode", v) => seat_mode_v = Some(seat_mode(v)),
                    ("seats", v) => max_seat_count = Some(v.parse().unwrap()),
                    (k, _) => panic!("unknown setting {k}"),
                }
            }
            Command::ChangeSettings {
                seat_mode: seat_mode_v,
                max_seat_count,
            }
        }
        ["grant-admin", user] => Command::SetAdmin {
            user: u(user),
            admin: true,
        },
        ["revoke-admin", user] => Command::SetAdmin {
            user: u(user),
            admin: false,
        },
        other => panic!("unknown step {other:?}"),
    }
}

fn render_audience(a: &Audience) -> String {
    match a {
        Audience::Room => "@room".into(),
        Audience::Hosts => "@hosts".into(),
        Audience::HostsExcept(u) => format!("@hosts-but-{u}"),
        Audience::HostsAnd(u) => format!("@hosts+{u}"),
        Audience::User(u) => format!("@{u}"),
        Audience::Backend => "@backend".into(),
    }
}

fn who(u: &UserInfo) -> &str {
    u.user_id.as_str()
}

fn seat(s: &SeatChoice) -> String {
    match s {
        SeatChoice::Any => "any".into(),
        SeatChoice::Exact(i) => i.to_string(),
    }
}

fn render_body(body: &OutputBody) -> String {
    match body {
        OutputBody::Event(e) => match e {
            Event::GuestApplicationReceived {
                guest,
                request_id,
                seat: s,
                extra_info,
            } => format!(
                "guest_application_received guest={} request={request_id} seat={} extra={}",
                who(guest),
                seat(s),
                extra_info.as_deref().unwrap_or("-")
            ),
            Event::GuestApplicationCancelled { guest } => {
                format!("guest_application_cancelled guest={}", who(guest))
            }
            Event::GuestApplicationProcessedByOtherHost { guest, host } => format!(
                "guest_application_processed_by_other_host guest={} host={}",
                who(guest),
                who(host)
            ),
            Event::GuestApplicationResponded { accepted, host } => format!(
                "guest_application_responded accepted={accepted} host={}",
                who(host)
            ),
            Event::GuestApplicationNoResponse { reason } => {
                format!("guest_application_no_response reason={reason:?}")
            }
            Event::HostInvitationReceived {
                host,
                request_id,
                seat: s,
                extra_info,
            } => format!(
                "host_invitation_received host={} request={request_id} seat={} extra={}",
                who(host),
                seat(s),
                extra_info.as_deref().unwrap_or("-")
            ),
            Event::HostInvitationCancelled { host } => {
                format!("host_invitation_cancelled host={}", who(host))
            }
            Event::HostInvitationResponded { accepted, guest } => format!(
                "host_invitation_responded accepted={accepted} guest={}",
                who(guest)
            ),
            Event::HostInvitationNoResponse { guest, reason } => format!(
                "host_invitation_no_response guest={} reason={reason:?}",
                who(guest)
            ),
            Event::KickedOffSeat { seat: s, host } => {
                format!("kicked_off_seat seat={s} host={}", who(host))
            }
            Event::MovedToSeat { from, to, host } => {
                format!("moved_to_seat from={from} to={to} host={}", who(host))
            }
            Event::DevicePermissionChanged {
                device,
                allowed,
                seat: s,
                host,
            } => format!(
                "device_permission_changed {} allowed={allowed} seat={} host={}",
                device.name(),
                s.map_or("-".to_string(), |s| s.to_string()),
                who(host)
            ),
            Event::RoleChanged { role, by } => {
                format!("role_changed role={role:?} by={}", who(by))
            }
        },
        OutputBody::Notice(n) => {
            let json = serde_json::to_value(&n.kind).unwrap();
            let mut fields: Vec<String> = json
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, _)| *k != "type")
                .map(|(k, v)| format!("{k}={}", v.to_string().trim_matches('"')))
                .collect();
            fields.sort();
            let actor = n.actor.as_ref().map_or("-", |a| a.as_str());
            format!("notice {} by={actor} {}", n.kind.name(), fields.join(" "))
        }
        OutputBody::Change(c) => match c {
            ViewChange::ApplicantAdded(a) => format!(
                "applicants+{} (request={} seat={} deadline=+{}s)",
                who(&a.user),
                a.request_id,
                seat(&a.seat),
                (a.deadline.as_millis() - T0) / 1000
            ),
            ViewChange::ApplicantRemoved { user } => format!("applicants-{user}"),
            ViewChange::InviteeAdded(i) => format!(
                "invitees+{}<-{} (request={} seat={} deadline=+{}s)",
                who(&i.user),
                i.host,
                i.request_id,
                seat(&i.seat),
                (i.deadline.as_millis() - T0) / 1000
            ),
            ViewChange::InviteeRemoved { user, host } => format!("invitees-{user}<-{host}"),
            ViewChange::CandidateAdded(u) => format!("candidates+{}", who(u)),
            ViewChange::CandidateRemoved { user } => format!("candidates-{user}"),
            ViewChange::Seats { seats } => render_seats(seats),
            ViewChange::Settings {
                seat_mode,
                max_seat_count,
            } => format!("settings mode={seat_mode:?} seats={max_seat_count}"),
            ViewChange::Reset(v) => format!(
                "reset v{} applicants={} invitees={} candidates={}",
                v.version,
                v.applicants.len(),
                v.invitees.len(),
                v.candidates.len()
            ),
            ViewChange::QueuePosition(Some(q)) => format!("queue {}/{}", q.position, q.length),
            ViewChange::QueuePosition(None) => "queue -".into(),
        },
    }
}

/// Runs `script` and compares its log with `expect`.
pub fn check(script: &str, expect: expect_test::Expect) {
    expect.assert_eq(&Sim::run(script));
}
