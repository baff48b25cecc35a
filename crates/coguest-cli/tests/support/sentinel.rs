//! A replicated Redis watched by Sentinel, all on free loopback ports: a primary, two replicas
//! and three sentinels (quorum 2, a primary is down after 1 s without answers). Two replicas,
//! so that after a failover the new primary still has one and `--redis-ack replicas=1` writes
//! go on. Every process is `kill -9`ed when this is dropped.

use super::redis_server::RedisServer;
use std::time::{Duration, Instant};

/// The master name the sentinels monitor.
pub const MASTER: &str = "cgmaster";
/// How long a primary may not answer before sentinels call it down.
pub const DOWN_AFTER_MS: u64 = 1000;

pub struct SentinelSet {
    pub primary: RedisServer,
    pub replica: RedisServer,
    pub other_replica: RedisServer,
    pub sentinels: Vec<RedisServer>,
}

impl SentinelSet {
    /// Starts everything and waits until the sentinels know the replica and each other (only
    /// then can they fail over).
    pub fn start() -> Self {
        let primary = RedisServer::start(&["--appendonly", "yes", "--appendfsync", "everysec"]);
        let replica_of = |priority: &str| {
            RedisServer::start(&[
                "--appendonly",
                "yes",
                "--replica-priority",
                priority,
                "--replicaof",
                "127.0.0.1",
                &primary.port.to_string(),
            ])
        };
        // Sentinel promotes the replica with the lowest priority number.
        let replica = replica_of("10");
        let other_replica = replica_of("100");
        let conf = [
            format!("sentinel monitor {MASTER} 127.0.0.1 {} 2", primary.port),
            format!("sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}"),
            format!("sentinel failover-timeout {MASTER} 10000"),
            format!("sentinel parallel-syncs {MASTER} 1"),
        ];
        let sentinels: Vec<RedisServer> = (0..3).map(|_| RedisServer::sentinel(&conf)).collect();
        let set = SentinelSet {
            primary,
            replica,
            other_replica,
            sentinels,
        };
        set.wait_until_ready();
        set
    }

    /// `redis+sentinel://H:P,H:P,H:P/MASTER`.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self.sentinels.iter().map(|s| s.addr()).collect();
        format!("redis+sentinel://{}/{MASTER}", hosts.join(","))
    }

    fn wait_until_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let linked = |r: &RedisServer| {
                r.cmd(&["INFO", "replication"])
                    .concat()
                    .contains("master_link_status:up")
            };
            let ready = linked(&self.replica)
                && linked(&self.other_replica)
                && self.sentinels.iter().all(|s| {
                    let m = s.cmd(&["SENTINEL", "MASTER", MASTER]);
                    field(&m, "num-slaves") == Some("2")
                        && field(&m, "num-other-sentinels") == Some("2")
                });
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the sentinels did not see the replica and each other within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The primary's port as the first answering sentinel says.
    pub fn primary_port(&self) -> Option<u16> {
        for s in &self.sentinels {
            if let Ok(a) = s.try_cmd(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER]) {
                if let Some(p) = a.get(1).and_then(|p| p.parse().ok()) {
                    return Some(p);
                }
            }
        }
        None
    }

    /// `kill -9` of the primary; then waits until a sentinel names the replica, the replica
    /// says it is a master and the other replica follows it. How long until the promotion.
    pub fn kill_primary_and_wait_for_promotion(&mut self) -> Duration {
        let killed = Instant::now();
        self.primary.kill();
        let deadline = killed + Duration::from_secs(30);
        loop {
            let promoted = self.primary_port() == Some(self.replica.port)
                && self
                    .replica
                    .try_cmd(&["ROLE"])
                    .is_ok_and(|r| r.first().map(String::as_str) == Some("master"));
            if promoted {
                let took = killed.elapsed();
                self.wait_for_other_replica();
                return took;
            }
            assert!(Instant::now() < deadline, "no failover within 30 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl SentinelSet {
    fn wait_for_other_replica(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let port = format!("master_port:{}", self.replica.port);
        loop {
            // Sentinel's reconfiguration may cut this connection: asked again.
            let info = self
                .other_replica
                .try_cmd(&["INFO", "replication"])
                .map(|r| r.concat())
                .unwrap_or_default();
            if info.contains(&port) && info.contains("master_link_status:up") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the other replica did not follow: {info}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The value after `name` in a flat `SENTINEL MASTER` reply.
fn field<'a>(reply: &'a [String], name: &str) -> Option<&'a str> {
    reply
        .chunks(2)
        .find(|kv| kv[0] == name)
        .and_then(|kv| kv.get(1))
        .map(String::as_str)
}
