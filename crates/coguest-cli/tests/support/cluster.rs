//! A cluster of real `coguest serve --redis` processes on loopback sharing one Redis prefix
//! (a fresh one per cluster), with leases of [`LEASE_MS`].

use super::common::{Endpoint, WAIT};
use super::process::{Served, serve};
use super::redis::{redis, redis_addr, redis_url, try_redis};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The nodes' lease: a failover takes about this long.
pub const LEASE_MS: u64 = 1000;

/// A cluster of real server processes sharing one Redis prefix. Node `i` is `n{i}`, with its
/// data directory `n{i}` in the cluster's temporary directory; a stopped or killed node is
/// `None` until restarted.
pub struct Cluster {
    pub prefix: String,
    dir: tempfile::TempDir,
    nodes: Vec<Option<Served>>,
    /// Whether each node connects to Redis as its own ACL user (see `start_as_users`).
    users: bool,
    /// More `coguest serve` flags for every node (see `start_with`).
    flags: Vec<String>,
    /// The `--redis` URL when not the tests' shared Redis (see `start_on`).
    url: Option<String>,
}

impl Cluster {
    /// `n` nodes; `name` goes into the Redis prefix.
    pub async fn start(name: &str, n: usize) -> Self {
        Self::launch(name, n, false, Vec::new()).await
    }

    /// `n` nodes started with these more `coguest serve` flags (kept for restarts).
    pub async fn start_with(name: &str, n: usize, flags: &[&str]) -> Self {
        let flags = flags.iter().map(|f| f.to_string()).collect();
        Self::launch(name, n, false, flags).await
    }

    /// `n` nodes on the Redis at `url` (a test's own, e.g. Sentinel's), with more flags.
    pub async fn start_on(name: &str, n: usize, url: &str, flags: &[&str]) -> Self {
        let flags = flags.iter().map(|f| f.to_string()).collect();
        Self::launch_on(name, n, false, flags, Some(url.to_owned())).await
    }

    /// Nodes that connect to Redis as their own ACL users, so that a test can cut one node's
    /// connections (`CLIENT KILL ... USER`) or refuse it new ones (`ACL SETUSER ... off`)
    /// without touching other nodes or other tests.
    pub async fn start_as_users(name: &str, n: usize) -> Self {
        Self::launch(name, n, true, Vec::new()).await
    }

    async fn launch(name: &str, n: usize, users: bool, flags: Vec<String>) -> Self {
        // Fail loudly when Redis is not there: these tests must run in CI.
        let hostport = redis_addr().1;
        tokio::net::TcpStream::connect(&hostport)
            .await
            .unwrap_or_else(|e| panic!("Redis is not reachable at {}: {e}", redis_url()));
        Self::launch_on(name, n, users, flags, None).await
    }

    async fn launch_on(
        name: &str,
        n: usize,
        users: bool,
        flags: Vec<String>,
        url: Option<String>,
    ) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let mut c = Cluster {
            prefix: format!("cgtest-{name}-{}-{nanos}", std::process::id()),
            dir: tempfile::tempdir().unwrap(),
            nodes: Vec::new(),
            users,
            flags,
            url,
        };
        for i in 0..n {
            if users {
                let user = c.user(i);
                let password = format!(">{user}");
                redis(&[
                    "ACL", "SETUSER", &user, "on", &password, "~*", "&*", "+@all",
                ]);
            }
            let node = c.spawn(i).await;
            c.nodes.push(Some(node));
        }
        c
    }

    fn data(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("n{i}"))
    }

    /// Node `i`'s ACL user (its password is its name).
    fn user(&self, i: usize) -> String {
        format!("{}-n{i}", self.prefix)
    }

    fn node_url(&self, i: usize) -> String {
        if let Some(url) = &self.url {
            return url.clone();
        }
        if !self.users {
            return redis_url();
        }
        let user = self.user(i);
        format!("redis://{user}:{user}@{}", redis_addr().1)
    }

    async fn spawn(&self, i: usize) -> Served {
        let mut cmd = serve(&self.data(i));
        cmd.args(["--redis", &self.node_url(i), "--redis-prefix", &self.prefix])
            .args(["--node-id", &format!("n{i}")])
            .args(["--lease-ms", &LEASE_MS.to_string()])
            .args(&self.flags);
        // 20 s unless the test chose its own.
        if !self.flags.iter().any(|f| f == "--grace-period-secs") {
            cmd.args(["--grace-period-secs", "20"]);
        }
        Served::spawn(cmd).await
    }

    /// Node `i`, which must be running.
    pub fn node(&self, i: usize) -> &Served {
        self.nodes[i]
            .as_ref()
            .unwrap_or_else(|| panic!("node {i} is not running"))
    }

    /// The running nodes.
    pub fn alive(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|i| self.nodes[*i].is_some())
            .collect()
    }

    /// `kill -9` of node `i`.
    pub async fn kill(&mut self, i: usize) {
        let mut node = self.nodes[i].take().unwrap();
        node.kill().await;
    }

    /// SIGTERM (graceful shutdown) of node `i`, waiting for it to exit.
    pub async fn stop(&mut self, i: usize) {
        let mut node = self.nodes[i].take().unwrap();
        node.sigterm().await;
        node.exit_within(Duration::from_secs(15)).await;
    }

    /// Starts node `i` again on its data directory.
    pub async fn restart(&mut self, i: usize) {
        let node = self.spawn(i).await;
        self.nodes[i] = Some(node);
    }

    /// Cuts node `i`'s Redis subscription connection; how many connections were killed.
    pub fn kill_pubsub(&self, i: usize) -> String {
        redis(&["CLIENT", "KILL", "TYPE", "pubsub", "USER", &self.user(i)])
    }

    /// Lets node `i` open new Redis connections, or not (its open ones keep working).
    pub fn allow_connections(&self, i: usize, allow: bool) {
        let on = if allow { "on" } else { "off" };
        redis(&["ACL", "SETUSER", &self.user(i), on]);
    }

    /// Waits until every listed node reports the same room state (version included); that
    /// state.
    pub async fn converge(&self, nodes: &[usize], room: &str) -> serde_json::Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let mut states = Vec::new();
            for i in nodes {
                states.push(self.node(*i).room_json(room).await["state"].clone());
            }
            if states.windows(2).all(|w| w[0] == w[1]) {
                return states.remove(0);
            }
            assert!(
                Instant::now() < deadline,
                "nodes disagree on {room}: {states:#?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Resume any stopped node so kill_on_drop can end it.
        for n in self.nodes.iter().flatten() {
            if let Some(pid) = n.child.id() {
                // Not `signal`: a panic while unwinding would abort the test binary.
                let _ = std::process::Command::new("kill")
                    .args(["-CONT", &pid.to_string()])
                    .status();
            }
        }
        if self.users {
            // Nodes first: deleting a user cuts its connections, which they would retry.
            for n in self.nodes.iter_mut().flatten() {
                let _ = n.child.start_kill();
            }
            for i in 0..self.nodes.len() {
                // Not `redis`: a panic while unwinding would abort the test binary.
                let _ = try_redis(&["ACL", "DELUSER", &self.user(i)]);
            }
        }
    }
}
