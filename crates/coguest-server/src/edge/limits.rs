//! Admission: connections in all, per client address and in their handshake, each held by a
//! slot released when the connection (or its handshake) ends; and the short answer a refused
//! connection gets.

use crate::metrics::Metrics;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The connection ceiling.
    Capacity,
    /// Too many connections from this client address.
    PerIp,
    /// Too many connections in their handshake.
    Handshakes,
}

impl Refused {
    /// The `reason` label of `coguest_edge_refused_total`.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Refused::Capacity => "capacity",
            Refused::PerIp => "per_ip",
            Refused::Handshakes => "handshakes",
        }
    }

    /// The whole HTTP answer, written before any request is read.
    fn answer(self) -> &'static [u8] {
        match self {
            Refused::PerIp => {
                b"HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nRetry-After: 1\r\n\
                Content-Type: text/plain\r\nContent-Length: 38\r\n\r\n\
                too many connections from this address"
            }
            Refused::Capacity | Refused::Handshakes => {
                b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\n\
                Content-Type: text/plain\r\nContent-Length: 37\r\n\r\n\
                the server is at its connection limit"
            }
        }
    }
}

/// The per-address key: an IPv4 address, or an IPv6 address's /64 (one subscriber's block:
/// counting single IPv6 addresses would let one client use 2^64 of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum IpKey {
    V4(u32),
    V6(u64),
}

impl From<IpAddr> for IpKey {
    fn from(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => IpKey::V4(u32::from(v4)),
            IpAddr::V6(v6) => IpKey::V6((u128::from(v6) >> 64) as u64),
        }
    }
}

/// The counters and their limits (`usize::MAX`: none). One lock for all three: the accept
/// loop checks them together, and each change is a few additions.
pub(crate) struct Admission {
    max_total: usize,
    max_per_ip: usize,
    max_handshakes: usize,
    counts: Mutex<Counts>,
    metrics: Arc<Metrics>,
}

#[derive(Default)]
struct Counts {
    total: usize,
    handshakes: usize,
    per_ip: HashMap<IpKey, usize>,
}

/// Zero means no limit.
fn limit(n: usize) -> usize {
    if n == 0 { usize::MAX } else { n }
}

impl Admission {
    /// Limits as configured (zero: none).
    pub(crate) fn new(
        max_total: usize,
        max_per_ip: usize,
        max_handshakes: usize,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        let total = limit(max_total);
        metrics
            .edge_connection_limit
            .set(if total == usize::MAX { 0 } else { gauge(total) });
        Arc::new(Admission {
            max_total: total,
            max_per_ip: limit(max_per_ip),
            max_handshakes: limit(max_handshakes),
            counts: Mutex::new(Counts::default()),
            metrics,
        })
    }

    fn counts(&self) -> MutexGuard<'_, Counts> {
        // The counts stay consistent at every step: a panic elsewhere cannot leave them torn.
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Admits a new connection from `ip` (`None`: a trusted proxy, counted per client by
    /// [`Admission::claim_ip`] instead), in its handshake.
    pub(crate) fn admit(
        self: &Arc<Self>,
        ip: Option<IpAddr>,
    ) -> Result<(ConnSlot, HandshakeSlot), Refused> {
        let key = ip.map(IpKey::from);
        let mut c = self.counts();
        if c.total >= self.max_total {
            return Err(Refused::Capacity);
        }
        if key.is_some_and(|k| c.per_ip.get(&k).copied().unwrap_or(0) >= self.max_per_ip) {
            return Err(Refused::PerIp);
        }
        if c.handshakes >= self.max_handshakes {
            return Err(Refused::Handshakes);
        }
        c.total += 1;
        c.handshakes += 1;
        if let Some(key) = key {
            *c.per_ip.entry(key).or_default() += 1;
        }
        self.publish(&c);
        Ok((
            ConnSlot {
                admission: self.clone(),
                ip: key,
            },
            HandshakeSlot {
                admission: self.clone(),
            },
        ))
    }

    /// Counts a connection of a trusted proxy against the client it now carries.
    pub(crate) fn claim_ip(self: &Arc<Self>, ip: IpAddr) -> Result<IpSlot, Refused> {
        let key = IpKey::from(ip);
        let mut c = self.counts();
        if c.per_ip.get(&key).copied().unwrap_or(0) >= self.max_per_ip {
            return Err(Refused::PerIp);
        }
        *c.per_ip.entry(key).or_default() += 1;
        Ok(IpSlot {
            admission: self.clone(),
            key,
        })
    }

    fn release_ip(c: &mut Counts, key: IpKey) {
        if let Some(n) = c.per_ip.get_mut(&key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.per_ip.remove(&key);
            }
        }
    }

    fn publish(&self, c: &Counts) {
        self.metrics.edge_connections.set(gauge(c.total));
        self.metrics.edge_handshakes.set(gauge(c.handshakes));
    }
}

fn gauge(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// One open connection (and its address's share, unless it came from a trusted proxy).
pub(crate) struct ConnSlot {
    admission: Arc<Admission>,
    ip: Option<IpKey>,
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        let mut c = self.admission.counts();
        c.total = c.total.saturating_sub(1);
        if let Some(key) = self.ip {
            Admission::release_ip(&mut c, key);
        }
        self.admission.publish(&c);
    }
}

/// One connection in its handshake: dropped when its first request head arrives.
pub(crate) struct HandshakeSlot {
    admission: Arc<Admission>,
}

impl Drop for HandshakeSlot {
    fn drop(&mut self) {
        let mut c = self.admission.counts();
        c.handshakes = c.handshakes.saturating_sub(1);
        self.admission.publish(&c);
    }
}

/// A forwarded client's share of its address's limit.
pub(crate) struct IpSlot {
    admission: Arc<Admission>,
    key: IpKey,
}

impl IpSlot {
    pub(crate) fn key(&self) -> IpKey {
        self.key
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut c = self.admission.counts();
        Admission::release_ip(&mut c, self.key);
    }
}

/// The default connection ceiling: 90 % of the file descriptors this process may still open
/// (its soft `RLIMIT_NOFILE` minus those already open), so that `accept` keeps working and
/// the rest is left to storage, webhooks and the refusals themselves. `None` when unlimited.
pub(crate) fn derived_ceiling() -> Option<usize> {
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile).current?;
    // Linux and most Unixes list the open descriptors here; elsewhere count none.
    let open = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count());
    Some(ceiling(soft, open))
}

fn ceiling(soft: u64, open: usize) -> usize {
    let free = soft.saturating_sub(u64::try_from(open).unwrap_or(u64::MAX));
    usize::try_from(free / 10 * 9 + free % 10 * 9 / 10)
        .unwrap_or(usize::MAX)
        .max(1)
}

/// How long a refused connection is kept to drain what its client already sent: closing a
/// socket with unread bytes resets it, and the client could lose the answer.
const LINGER: Duration = Duration::from_millis(500);

/// Answers and closes refused connections, a bounded number at a time (each holds a file
/// descriptor while it lingers); past that bound a refused connection is just closed.
pub(crate) struct Refuser {
    lingering: Arc<Semaphore>,
    /// TLS listeners cannot answer in plain text: their refusals are closed at once.
    answer: bool,
}

impl Refuser {
    pub(crate) fn new(slots: usize, answer: bool) -> Self {
        Refuser {
            lingering: Arc::new(Semaphore::new(slots.max(1))),
            answer,
        }
    }

    pub(crate) fn refuse(&self, mut tcp: TcpStream, why: Refused) {
        if !self.answer {
            return;
        }
        let Ok(permit) = self.lingering.clone().try_acquire_owned() else {
            return;
        };
        // A fresh socket's send buffer is empty: the answer goes out whole or not at all.
        let _ = tcp.try_write(why.answer());
        tokio::spawn(async move {
            let _permit = permit;
            let drain = async {
                let _ = tcp.shutdown().await;
                let mut sink = [0u8; 1024];
                while matches!(tcp.read(&mut sink).await, Ok(n) if n > 0) {}
            };
            let _ = tokio::time::timeout(LINGER, drain).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    fn addr(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn slots_count_and_release() {
        let adm = Admission::new(3, 2, 2, Arc::new(Metrics::new()));
        let a = adm.admit(ip("10.0.0.1"));
        let b = adm.admit(ip("10.0.0.1"));
        assert!(a.is_ok() && b.is_ok());
        assert_eq!(adm.admit(ip("10.0.0.1")).err(), Some(Refused::PerIp));
        assert_eq!(adm.admit(ip("10.0.0.2")).err(), Some(Refused::Handshakes));
        // Handshakes done: the third connection fits, the fourth is over the ceiling.
        let (a, b) = (a.map(|(c, _)| c), b.map(|(c, _)| c));
        let c = adm.admit(ip("10.0.0.2")).map(|(c, _)| c);
        assert!(c.is_ok());
        assert_eq!(adm.admit(ip("10.0.0.3")).err(), Some(Refused::Capacity));
        drop(a);
        assert!(adm.admit(ip("10.0.0.1")).is_ok());
        drop((b, c));
        assert!(adm.counts().per_ip.is_empty());
        assert_eq!(adm.counts().total, 0);
    }

    #[test]
    fn proxied_connections_count_their_clients() {
        let adm = Admission::new(0, 1, 0, Arc::new(Metrics::new()));
        let proxy = adm.admit(None);
        assert!(proxy.is_ok());
        let client = adm.claim_ip(addr("203.0.113.9"));
        assert!(client.is_ok());
        assert_eq!(
            adm.claim_ip(addr("203.0.113.9")).err(),
            Some(Refused::PerIp)
        );
        assert!(adm.claim_ip(addr("203.0.113.10")).is_ok());
        drop(client);
        assert!(adm.counts().per_ip.is_empty());
    }

    #[test]
    fn ipv6_counts_by_its_64() {
        let key = |s: &str| ip(s).map(IpKey::from);
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:10.0.0.1"), key("10.0.0.1"));
    }

    #[test]
    fn the_ceiling_leaves_a_tenth_of_what_is_free() {
        assert_eq!(ceiling(1024, 24), 900);
        assert_eq!(ceiling(128, 18), 99);
        assert_eq!(ceiling(10, 20), 1);
        assert!(ceiling(u64::MAX, 0) > 1 << 40);
    }

    #[test]
    fn answers_are_whole_http_responses() {
        for why in [Refused::PerIp, Refused::Capacity, Refused::Handshakes] {
            let text = String::from_utf8_lossy(why.answer()).into_owned();
            let (head, body) = text.split_once("\r\n\r\n").unwrap_or_default();
            let length = format!("Content-Length: {}", body.len());
            assert!(head.lines().any(|l| l == "Connection: close"), "{text}");
            assert!(head.lines().any(|l| l == length), "{text}");
        }
        assert!(Refused::PerIp.answer().starts_with(b"HTTP/1.1 429 "));
        assert!(Refused::Capacity.answer().starts_with(b"HTTP/1.1 503 "));
    }
}
