//! The approval hook's messages: what the server asks an app's backend before a request puts a
//! user forward, and what the backend answers (`docs/APPROVAL.md`). The server signs the
//! request body as it signs webhooks.

use crate::wire::LiveUserInfo;
use coguest_core as core;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which request an approval is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalKind {
    /// `apply_for_seat`: an application about to be shown to the hosts.
    Apply,
    /// `invite_to_seat`: an invitation about to reach its invitee.
    Invite,
    /// `take_seat`: a seat about to be taken in a free-to-take room.
    TakeSeat,
}

impl ApprovalKind {
    /// Every kind.
    pub const ALL: [ApprovalKind; 3] = [
        ApprovalKind::Apply,
        ApprovalKind::Invite,
        ApprovalKind::TakeSeat,
    ];

    /// The kind's wire name (`apply`, `invite`, `take_seat`).
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalKind::Apply => "apply",
            ApprovalKind::Invite => "invite",
            ApprovalKind::TakeSeat => "take_seat",
        }
    }

    /// The kind with this wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl From<core::GateKind> for ApprovalKind {
    fn from(k: core::GateKind) -> Self {
        match k {
            core::GateKind::Application => ApprovalKind::Apply,
            core::GateKind::Invitation => ApprovalKind::Invite,
            core::GateKind::TakeSeat => ApprovalKind::TakeSeat,
        }
    }
}

/// The body the server POSTs to the approval hook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ApprovalRequest {
    /// Unique per question asked (a command asked about again, after a failover say, gets a
    /// new one).
    pub id: String,
    /// Which request.
    pub kind: ApprovalKind,
    /// The room.
    pub room: String,
    /// The user the request puts forward: the applicant, the invitee, or the user taking the
    /// seat.
    pub user: LiveUserInfo,
    /// The member who sent the command: the same user, or for `invite` the inviting host.
    pub actor: LiveUserInfo,
    /// The seat asked for; `-1` for any seat.
    pub seat_index: i32,
    /// The request's free-form data (`null` for `take_seat`, or when the client sent none).
    pub extra_info: Option<String>,
    /// When the server asked (Unix ms, server clock); the same value as the
    /// `Coguest-Timestamp` header.
    pub at_ms: u64,
}

/// The approval hook's answer: `{"allow": true}`, or `{"allow": false, "code": 4031,
/// "reason": "..."}`. Anything else (another status than 2xx, a body that is not this) counts
/// as the hook failing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ApprovalResponse {
    /// Whether the request goes ahead.
    pub allow: bool,
    /// The app's own code for a denial, passed to the client as `app_code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
    /// Why, for a denial, passed to the client as `reason`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl ApprovalRequest {
    /// The question for `gate`, asked by `actor` in `room` at `at`.
    pub fn new(
        id: String,
        room: &str,
        actor: &core::UserInfo,
        gate: &core::Gate,
        at: core::Timestamp,
    ) -> Self {
        ApprovalRequest {
            id,
            kind: gate.kind.into(),
            room: room.to_owned(),
            user: LiveUserInfo::from(&gate.user),
            actor: LiveUserInfo::from(actor),
            seat_index: gate.seat.to_i32(),
            extra_info: gate.extra_info.clone(),
            at_ms: at.as_millis(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_answers_parse() {
        for k in ApprovalKind::ALL {
            assert_eq!(ApprovalKind::parse(k.as_str()), Some(k));
            let json = serde_json::to_string(&k).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
        }
        assert_eq!(ApprovalKind::parse("apply_for_seat"), None);
        let allow: Result<ApprovalResponse, _> = serde_json::from_str(r#"{"allow":true}"#);
        assert!(allow.is_ok_and(|a| a.allow && a.code.is_none()));
        let deny: Result<ApprovalResponse, _> =
            serde_json::from_str(r#"{"allow":false,"code":4031,"reason":"banned"}"#);
        assert!(deny.is_ok_and(|d| !d.allow && d.code == Some(4031)));
        assert!(serde_json::from_str::<ApprovalResponse>(r#"{"ok":true}"#).is_err());
    }
}
