//! The webhook event body: what an app's backend receives for every room transition.
//!
//! `docs/WEBHOOKS.md` lists every `type` with an example; the server signs the body (see
//! there). The `data` fields use the wire names of the WebSocket protocol (`user_id`,
//! `seat_index` with `-1` for any seat, ...).

use crate::wire::{Device, LogEntry, Role, SeatMode};
use coguest_core as core;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// One webhook delivery's body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WebhookEvent {
    /// Unique and stable: `{room}/{incarnation}/{version}/{n}`, the n-th transition of that
    /// room version, where `incarnation` counts the rooms created under this id (a room closed
    /// and created again starts at version 0 in a new incarnation). Lifecycle events end in
    /// their type instead of `n`. A redelivery carries the same id.
    pub id: String,
    /// The transition (`member_joined`, `seated`, ..., `room_created`, `room_closed`).
    #[serde(rename = "type")]
    pub kind: String,
    /// The room.
    pub room: String,
    /// The room version the transition produced.
    pub version: u64,
    /// The user whose command caused it; `@operator` for the admin API; `null` when a
    /// deadline did.
    pub actor: Option<String>,
    /// When it happened (Unix ms, server clock).
    pub at_ms: u64,
    /// The transition's fields.
    pub data: Map<String, Value>,
}

fn role(r: core::Role) -> Role {
    r.into()
}

fn device(d: core::Device) -> Device {
    d.into()
}

impl WebhookEvent {
    /// An event id: `{room}/{incarnation}/{version}/{suffix}` (`suffix`: the notice's position
    /// in its version, or the lifecycle event's type). Room ids may contain `/`, but the last
    /// three parts never do, so an id names one event of one incarnation of one room.
    pub fn event_id(room: &str, incarnation: u64, version: u64, suffix: &str) -> String {
        format!("{room}/{incarnation}/{version}/{suffix}")
    }

    /// The event for the `n`-th notice of version `version` of room `room`'s `incarnation`.
    pub fn from_notice(
        room: &str,
        incarnation: u64,
        version: u64,
        n: usize,
        at: core::Timestamp,
        notice: &core::Notice,
    ) -> Self {
        use core::NoticeKind as K;
        let s = |i: core::SeatIndex| i32::from(i.0);
        let data = match &notice.kind {
            K::MemberJoined { user, role: r } => {
                json!({"user_id": user.as_str(), "role": role(*r)})
            }
            K::MemberLeft { user }
            | K::ApplicationCancelled { user }
            | K::ApplicationAccepted { user }
            | K::ApplicationRejected { user }
            | K::ApplicationTimedOut { user }
            | K::ApplicationClosedAlreadySeated { user } => json!({"user_id": user.as_str()}),
            K::ApplicationCreated {
                user,
                request_id,
                seat,
            } => {
                json!({"user_id": user.as_str(), "request_id": request_id.0, "seat_index": seat.to_i32()})
            }
            K::InvitationCreated {
                user,
                host,
                request_id,
                seat,
            } => {
                json!({"user_id": user.as_str(), "inviter_id": host.as_str(), "request_id": request_id.0, "seat_index": seat.to_i32()})
            }
            K::InvitationCancelled { user, host }
            | K::InvitationAccepted { user, host }
            | K::InvitationRejected { user, host }
            | K::InvitationTimedOut { user, host }
            | K::InvitationClosedAlreadySeated { user, host } => {
                json!({"user_id": user.as_str(), "inviter_id": host.as_str()})
            }
            K::Seated { user, seat } | K::LeftSeat { user, seat } | K::Kicked { user, seat } => {
                json!({"user_id": user.as_str(), "seat_index": s(*seat)})
            }
            K::Moved { user, from, to } => {
                json!({"user_id": user.as_str(), "from_seat_index": s(*from), "to_seat_index": s(*to)})
            }
            K::SeatLocked { seat } | K::SeatUnlocked { seat } => json!({"seat_index": s(*seat)}),
            K::SettingsChanged {
                seat_mode,
                max_seat_count,
            } => json!({"seat_mode": SeatMode::from(*seat_mode), "max_seat_count": max_seat_count}),
            K::RoleChanged { user, role: r } => json!({"user_id": user.as_str(), "role": role(*r)}),
            K::DevicePermissionChanged {
                user,
                seat,
                device: d,
                allowed,
            } => json!({
                "user_id": user.as_ref().map(|u| u.as_str()),
                "seat_index": seat.map(s),
                "device": device(*d),
                "allowed": allowed,
            }),
        };
        WebhookEvent {
            id: Self::event_id(room, incarnation, version, &n.to_string()),
            kind: notice.kind.name().to_owned(),
            room: room.to_owned(),
            version,
            actor: notice.actor.as_ref().map(|a| a.as_str().to_owned()),
            at_ms: at.as_millis(),
            data: match data {
                Value::Object(m) => m,
                _ => Map::new(),
            },
        }
    }

    /// This transition as an observer's event-log entry ([`LogEntry`]), the `n`-th of its
    /// version: the same fields without the id.
    pub fn into_log_entry(self, n: u32) -> LogEntry {
        LogEntry {
            version: self.version,
            n,
            kind: self.kind,
            actor: self.actor,
            at_ms: self.at_ms,
            data: self.data,
        }
    }

    /// A room lifecycle event (`room_created`, `room_closed`) of room `room`'s `incarnation`,
    /// which the server emits itself.
    pub fn lifecycle(
        kind: &str,
        room: &str,
        incarnation: u64,
        version: u64,
        at: core::Timestamp,
        actor: Option<&str>,
    ) -> Self {
        WebhookEvent {
            id: Self::event_id(room, incarnation, version, kind),
            kind: kind.to_owned(),
            room: room.to_owned(),
            version,
            actor: actor.map(str::to_owned),
            at_ms: at.as_millis(),
            data: Map::new(),
        }
    }

    /// This event with `data.{key}` set to `value` (a lifecycle event's fields).
    pub fn with_data(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.data.insert(key.to_owned(), value.into());
        self
    }
}

/// Every webhook `type`, in documentation order.
pub const WEBHOOK_TYPES: &[&str] = &[
    "room_created",
    "room_closed",
    "member_joined",
    "member_left",
    "application_created",
    "application_cancelled",
    "application_accepted",
    "application_rejected",
    "application_timed_out",
    "application_closed_already_seated",
    "invitation_created",
    "invitation_cancelled",
    "invitation_accepted",
    "invitation_rejected",
    "invitation_timed_out",
    "invitation_closed_already_seated",
    "seated",
    "left_seat",
    "kicked",
    "moved",
    "seat_locked",
    "seat_unlocked",
    "settings_changed",
    "role_changed",
    "device_permission_changed",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_the_incarnation() {
        let notice = core::Notice {
            actor: None,
            kind: core::NoticeKind::SeatLocked {
                seat: core::SeatIndex(3),
            },
        };
        let at = core::Timestamp::from_millis(5);
        assert_eq!(
            WebhookEvent::from_notice("a/b", 0, 7, 2, at, &notice).id,
            "a/b/0/7/2"
        );
        assert_eq!(
            WebhookEvent::from_notice("a/b", 3, 7, 2, at, &notice).id,
            "a/b/3/7/2"
        );
        let c = WebhookEvent::lifecycle("room_created", "r", 2, 0, at, None);
        assert_eq!(c.id, "r/2/0/room_created");
    }
}
