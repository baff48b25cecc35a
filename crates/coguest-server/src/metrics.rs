//! Prometheus metrics, served as text at `GET /metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::time::Duration;

/// Labels of `coguest_commands_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CommandLabels {
    /// Command kind (`apply_for_seat`, ...), or `frame` for a frame refused before it became a
    /// command (malformed, unknown command, too large, over the rate limit, token expired).
    pub kind: String,
    /// `ok`, or the error code's name.
    pub result: String,
}

/// Labels of `coguest_webhook_attempts_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WebhookLabels {
    /// `delivered`, `failed` (will retry) or `expired` (dropped).
    pub result: String,
}

/// Labels of `coguest_approval_latency_seconds`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ApprovalKindLabels {
    /// `apply`, `invite` or `take_seat`.
    pub kind: &'static str,
}

/// Labels of `coguest_approval_decisions_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ApprovalDecisionLabels {
    /// `apply`, `invite` or `take_seat`.
    pub kind: &'static str,
    /// What the hook answered: `allow` or `deny`.
    pub decision: &'static str,
}

/// Labels of `coguest_approval_errors_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ApprovalErrorLabels {
    /// `apply`, `invite` or `take_seat`.
    pub kind: &'static str,
    /// `timeout`, `unreachable` (no HTTP answer), `status` (not 2xx) or `invalid` (a body that
    /// is not an answer).
    pub reason: &'static str,
}

/// Labels of `coguest_edge_refused_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusedLabels {
    /// `capacity` (the connection ceiling), `per_ip`, `handshakes` (too many in progress),
    /// `handshake_timeout` (no TLS handshake or first request head in time), `tls` (the TLS
    /// handshake failed) or `proxied_per_ip` (a request forwarded by a trusted proxy for a
    /// client over its limit).
    pub reason: &'static str,
}

/// Labels of `coguest_edge_tls_reloads_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReloadLabels {
    /// `ok`, or `error` (the old certificate stays in use).
    pub result: &'static str,
}

/// Buckets from 0.25 ms to about 8 s: a hook answers in a few ms and times out at its
/// `--approve-timeout-ms`.
fn approval_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.00025, 2.0, 16))
}

/// Every metric the server exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Open WebSocket connections.
    pub connections: Gauge,
    /// Rooms with a running actor.
    pub rooms: Gauge,
    /// Commands answered, by kind and result.
    pub commands: Family<CommandLabels, Counter>,
    /// Seconds from reading a command to answering it.
    pub command_latency: Histogram,
    /// Seconds a room actor waited for a log entry to be stored (a SQLite commit, or a Redis
    /// append and publish): part of every changing command's latency.
    pub store_append_latency: Histogram,
    /// Seat lists dropped from a connection's queue unsent because the room's next one
    /// replaced them (the connection was behind).
    pub seat_lists_replaced: Counter,
    /// Pending deadlines: request timeouts plus reconnect grace periods.
    pub timers_pending: Gauge,
    /// Webhook delivery attempts, by result.
    pub webhooks: Family<WebhookLabels, Counter>,
    /// Approval hook: seconds from asking to the answer (or the failure), by kind.
    pub approval_latency: Family<ApprovalKindLabels, Histogram, fn() -> Histogram>,
    /// Approval hook: answers, by kind and decision.
    pub approval_decisions: Family<ApprovalDecisionLabels, Counter>,
    /// Approval hook: failed calls, by kind and reason.
    pub approval_errors: Family<ApprovalErrorLabels, Counter>,
    /// Cluster: rooms this node owns (holds the lease of).
    pub owned_rooms: Gauge,
    /// Cluster: changes stored and published once on the room channel by this node.
    pub cluster_published: Counter,
    /// Cluster: changes published by another owner and applied here for local members.
    pub cluster_applied: Counter,
    /// Cluster: commands of local members forwarded to another node's room.
    pub cluster_forwarded: Counter,
    /// Cluster: commands from members on other nodes handled here as owner.
    pub cluster_remote: Counter,
    /// Cluster: rooms taken over after their owner's lease expired or was released.
    pub cluster_takeovers: Counter,
    /// Cluster: leases this node lost (it stopped deciding for the room).
    pub cluster_leases_lost: Counter,
    /// Cluster: times the Redis subscription was lost and restored.
    pub cluster_resubscribes: Counter,
    /// Cluster: subscribed messages dropped because their room's inbox was full.
    pub cluster_dropped: Counter,
    /// Cluster: follower reloads after a tick found a stored entry that never arrived.
    pub cluster_catch_ups: Counter,
    /// Cluster: times this node found the cluster's data gone from Redis (restart without
    /// persistence, FLUSHALL, another Redis); its rooms were closed with reason `lost`.
    pub cluster_data_lost: Counter,
    /// Cluster: times this node found its own heartbeat expired (it was paused or cut off) and
    /// announced its members to every room's owner again.
    pub cluster_reannounces: Counter,
    /// Cluster: connections closed with 4010 (`CLOSE_RESYNC`) so that their client resumes:
    /// their room could not be reloaded, or dropped the member while its socket was open.
    pub cluster_conns_reset: Counter,
    /// Cluster: room inboxes found full by the subscription, whose actor resynchronises from
    /// Redis instead of losing messages.
    pub cluster_inbox_resyncs: Counter,
    /// Edge: open TCP connections admitted (WebSocket, HTTP, in their handshake).
    pub edge_connections: Gauge,
    /// Edge: admitted connections whose first request head has not arrived yet.
    pub edge_handshakes: Gauge,
    /// Edge: the connection ceiling in force (0: none).
    pub edge_connection_limit: Gauge,
    /// Edge: connections refused or closed before their first request, by reason.
    pub edge_refused: Family<RefusedLabels, Counter>,
    /// Edge: `accept` failures (out of file descriptors or memory), each followed by a pause.
    pub edge_accept_errors: Counter,
    /// Edge: certificate reloads after the TLS files changed, by result.
    pub edge_tls_reloads: Family<ReloadLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("coguest");
        let connections = Gauge::default();
        let rooms = Gauge::default();
        let commands = Family::<CommandLabels, Counter>::default();
        let command_latency = Histogram::new(exponential_buckets(0.0001, 2.0, 18));
        let store_append_latency = Histogram::new(exponential_buckets(0.000025, 2.0, 18));
        let seat_lists_replaced = Counter::default();
        registry.register(
            "seat_lists_replaced",
            "Seat lists dropped unsent from a connection's queue because a newer one replaced them",
            seat_lists_replaced.clone(),
        );
        let timers_pending = Gauge::default();
        let webhooks = Family::<WebhookLabels, Counter>::default();
        registry.register(
            "webhook_attempts",
            "Webhook delivery attempts, by result",
            webhooks.clone(),
        );
        let approval_latency: Family<ApprovalKindLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(approval_histogram);
        registry.register(
            "approval_latency_seconds",
            "Seconds from asking the approval hook to its answer or failure, by kind",
            approval_latency.clone(),
        );
        let approval_decisions = Family::<ApprovalDecisionLabels, Counter>::default();
        registry.register(
            "approval_decisions",
            "Approval hook answers, by kind and decision",
            approval_decisions.clone(),
        );
        let approval_errors = Family::<ApprovalErrorLabels, Counter>::default();
        registry.register(
            "approval_errors",
            "Approval hook calls that failed, by kind and reason",
            approval_errors.clone(),
        );
        registry.register(
            "connections",
            "Open WebSocket connections",
            connections.clone(),
        );
        registry.register("rooms", "Rooms with a running actor", rooms.clone());
        registry.register(
            "commands",
            "Commands answered, by kind and result",
            commands.clone(),
        );
        registry.register(
            "command_latency_seconds",
            "Time from reading a command to answering it",
            command_latency.clone(),
        );
        registry.register(
            "store_append_latency_seconds",
            "Time a room waited for a log entry to be stored",
            store_append_latency.clone(),
        );
        registry.register(
            "timers_pending",
            "Pending deadlines (request timeouts and reconnect grace periods)",
            timers_pending.clone(),
        );
        let owned_rooms = Gauge::default();
        let cluster_published = Counter::default();
        let cluster_applied = Counter::default();
        let cluster_forwarded = Counter::default();
        let cluster_remote = Counter::default();
        let cluster_takeovers = Counter::default();
        let cluster_leases_lost = Counter::default();
        let cluster_resubscribes = Counter::default();
        let cluster_dropped = Counter::default();
        let cluster_catch_ups = Counter::default();
        registry.register(
            "cluster_owned_rooms",
            "Rooms this node owns (cluster mode)",
            owned_rooms.clone(),
        );
        registry.register(
            "cluster_published_changes",
            "Changes stored and published once by this node as owner",
            cluster_published.clone(),
        );
        registry.register(
            "cluster_applied_changes",
            "Changes of other owners applied here for local members",
            cluster_applied.clone(),
        );
        registry.register(
            "cluster_forwarded_commands",
            "Commands of local members forwarded to the room owner",
            cluster_forwarded.clone(),
        );
        registry.register(
            "cluster_remote_commands",
            "Commands from members on other nodes handled here as owner",
            cluster_remote.clone(),
        );
        registry.register(
            "cluster_takeovers",
            "Rooms taken over from an expired or released lease",
            cluster_takeovers.clone(),
        );
        registry.register(
            "cluster_leases_lost",
            "Room leases this node lost",
            cluster_leases_lost.clone(),
        );
        registry.register(
            "cluster_resubscribes",
            "Times the Redis subscription was lost and restored",
            cluster_resubscribes.clone(),
        );
        registry.register(
            "cluster_dropped_messages",
            "Subscribed cluster messages dropped because the room's inbox was full",
            cluster_dropped.clone(),
        );
        registry.register(
            "cluster_catch_ups",
            "Follower reloads after a tick found a stored entry that never arrived",
            cluster_catch_ups.clone(),
        );
        let cluster_data_lost = Counter::default();
        let cluster_reannounces = Counter::default();
        let cluster_conns_reset = Counter::default();
        let cluster_inbox_resyncs = Counter::default();
        registry.register(
            "cluster_data_lost",
            "Times the cluster's data was found gone from Redis (its rooms closed as lost)",
            cluster_data_lost.clone(),
        );
        registry.register(
            "cluster_reannounces",
            "Times this node found its heartbeat expired and announced its members again",
            cluster_reannounces.clone(),
        );
        registry.register(
            "cluster_conns_reset",
            "Connections closed with 4010 so that their client resumes",
            cluster_conns_reset.clone(),
        );
        registry.register(
            "cluster_inbox_resyncs",
            "Full room inboxes whose actor resynchronised from Redis instead",
            cluster_inbox_resyncs.clone(),
        );
        let edge_connections = Gauge::default();
        let edge_handshakes = Gauge::default();
        let edge_connection_limit = Gauge::default();
        let edge_refused = Family::<RefusedLabels, Counter>::default();
        let edge_accept_errors = Counter::default();
        let edge_tls_reloads = Family::<ReloadLabels, Counter>::default();
        registry.register(
            "edge_connections",
            "Open TCP connections admitted by the edge",
            edge_connections.clone(),
        );
        registry.register(
            "edge_handshakes",
            "Admitted connections whose first request head has not arrived yet",
            edge_handshakes.clone(),
        );
        registry.register(
            "edge_connection_limit",
            "The connection ceiling in force (0: none)",
            edge_connection_limit.clone(),
        );
        registry.register(
            "edge_refused",
            "Connections refused or closed before their first request, by reason",
            edge_refused.clone(),
        );
        registry.register(
            "edge_accept_errors",
            "accept failures (out of file descriptors or memory)",
            edge_accept_errors.clone(),
        );
        registry.register(
            "edge_tls_reloads",
            "Certificate reloads after the TLS files changed, by result",
            edge_tls_reloads.clone(),
        );
        Metrics {
            edge_connections,
            edge_handshakes,
            edge_connection_limit,
            edge_refused,
            edge_accept_errors,
            edge_tls_reloads,
            owned_rooms,
            cluster_published,
            cluster_applied,
            cluster_forwarded,
            cluster_remote,
            cluster_takeovers,
            cluster_leases_lost,
            cluster_resubscribes,
            cluster_dropped,
            cluster_catch_ups,
            cluster_data_lost,
            cluster_reannounces,
            cluster_conns_reset,
            cluster_inbox_resyncs,
            registry,
            connections,
            rooms,
            commands,
            command_latency,
            store_append_latency,
            seat_lists_replaced,
            timers_pending,
            webhooks,
            approval_latency,
            approval_decisions,
            approval_errors,
        }
    }

    /// Counts one approval hook call: its latency, and its decision or why it failed.
    pub fn approval(
        &self,
        kind: &'static str,
        latency: Duration,
        outcome: Result<bool, &'static str>,
    ) {
        self.approval_latency
            .get_or_create(&ApprovalKindLabels { kind })
            .observe(latency.as_secs_f64());
        match outcome {
            Ok(allow) => {
                let decision = if allow { "allow" } else { "deny" };
                self.approval_decisions
                    .get_or_create(&ApprovalDecisionLabels { kind, decision })
                    .inc();
            }
            Err(reason) => {
                self.approval_errors
                    .get_or_create(&ApprovalErrorLabels { kind, reason })
                    .inc();
            }
        }
    }

    /// Counts one webhook delivery attempt.
    pub fn webhook(&self, result: &str) {
        self.webhooks
            .get_or_create(&WebhookLabels {
                result: result.to_owned(),
            })
            .inc();
    }

    /// Counts one connection refused at the edge.
    pub fn edge_refused(&self, reason: &'static str) {
        self.edge_refused
            .get_or_create(&RefusedLabels { reason })
            .inc();
    }

    /// Counts one answered command.
    pub fn command(&self, kind: &str, result: &str, latency: Duration) {
        self.commands
            .get_or_create(&CommandLabels {
                kind: kind.to_owned(),
                result: result.to_owned(),
            })
            .inc();
        self.command_latency.observe(latency.as_secs_f64());
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
