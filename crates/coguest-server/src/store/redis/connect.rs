//! Where the cluster's Redis is and how durable a write must be: the `--redis` URL (one Redis,
//! or Sentinel's primary), parsed once before anything is opened, `--redis-ack`, and the check
//! of what Redis keeps on disk when a node starts.

use crate::store::{StoreError, backend};
use redis::IntoConnectionInfo;
use redis::sentinel::{Sentinel, SentinelNodeConnectionInfo};
use std::sync::Arc;

/// A `--redis` URL that cannot be used, with a plain reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--redis {url:?}: {reason}")]
pub struct UrlError {
    url: String,
    reason: String,
}

/// The cluster's Redis, as the `--redis` URL names it: one Redis, or the primary that a set
/// of Sentinels names (`redis+sentinel://[user:password@]HOST:PORT,HOST:PORT,.../MASTER`; the
/// credentials are the primary's, the sentinels take none).
#[derive(Clone)]
pub struct RedisTarget {
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    Direct(redis::Client),
    Sentinel(Arc<SentinelTarget>),
}

struct SentinelTarget {
    master: String,
    node: SentinelNodeConnectionInfo,
    sentinel: tokio::sync::Mutex<Sentinel>,
}

impl std::fmt::Debug for RedisTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            Kind::Direct(_) => write!(f, "RedisTarget::Direct"),
            Kind::Sentinel(s) => write!(f, "RedisTarget::Sentinel({})", s.master),
        }
    }
}

/// The scheme of a Sentinel URL.
pub const SENTINEL_SCHEME: &str = "redis+sentinel://";

impl RedisTarget {
    /// Parses `url` without connecting: `redis://[user:password@]host:port[/db]`,
    /// `rediss://...`, `unix:///path`, or `redis+sentinel://[user:password@]H:P,H:P/MASTER`.
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let error = |reason: String| UrlError {
            url: redacted(url),
            reason,
        };
        let kind = match url.strip_prefix(SENTINEL_SCHEME) {
            Some(rest) => Kind::Sentinel(Arc::new(parse_sentinel(rest).map_err(error)?)),
            None => Kind::Direct(redis::Client::open(url).map_err(|e| error(e.to_string()))?),
        };
        Ok(RedisTarget { kind })
    }

    /// Whether the primary is found through Sentinel.
    pub fn is_sentinel(&self) -> bool {
        matches!(self.kind, Kind::Sentinel(_))
    }

    /// A client for the Redis that takes writes now (with Sentinel: asked of the sentinels,
    /// and checked with `ROLE` on the primary).
    pub async fn client(&self) -> redis::RedisResult<redis::Client> {
        match &self.kind {
            Kind::Direct(c) => Ok(c.clone()),
            Kind::Sentinel(s) => {
                let mut sentinel = s.sentinel.lock().await;
                sentinel.async_master_for(&s.master, Some(&s.node)).await
            }
        }
    }
}

/// `[user:password@]H:P,H:P,.../MASTER`.
fn parse_sentinel(rest: &str) -> Result<SentinelTarget, String> {
    let form = "expected redis+sentinel://[user:password@]HOST:PORT,HOST:PORT,.../MASTER";
    let (hosts, master) = rest
        .rsplit_once('/')
        .filter(|(h, m)| !h.is_empty() && !m.is_empty())
        .ok_or_else(|| format!("no sentinel or no master name ({form})"))?;
    let (auth, hosts) = match hosts.rsplit_once('@') {
        Some((auth, hosts)) => (Some(auth), hosts),
        None => (None, hosts),
    };
    let mut sentinels = Vec::new();
    for host in hosts.split(',') {
        if host.is_empty() || host.contains('/') {
            return Err(format!("bad sentinel address {host:?} ({form})"));
        }
        let info = format!("redis://{host}")
            .into_connection_info()
            .map_err(|e| format!("sentinel {host:?}: {e}"))?;
        sentinels.push(info);
    }
    let mut node = SentinelNodeConnectionInfo::default();
    if let Some(auth) = auth {
        let info = format!(
            "redis://{auth}@{}",
            &hosts.split(',').next().unwrap_or_default()
        )
        .into_connection_info()
        .map_err(|e| format!("credentials: {e}"))?;
        node = node.set_redis_connection_info(info.redis_settings().clone());
    }
    let sentinel = Sentinel::build(sentinels).map_err(|e| e.to_string())?;
    Ok(SentinelTarget {
        master: master.to_owned(),
        node,
        sentinel: tokio::sync::Mutex::new(sentinel),
    })
}

/// How durable a write is before its command is acknowledged (`--redis-ack`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RedisAck {
    /// The primary has it (in memory, then in its append-only file as `appendfsync` says).
    #[default]
    Local,
    /// The primary and at least this many replicas have it (`WAIT`).
    Replicas(u32),
}

impl std::str::FromStr for RedisAck {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?}: expected local or replicas=N (N at least 1)");
        match s {
            "local" => Ok(RedisAck::Local),
            _ => match s.strip_prefix("replicas=").map(str::parse::<u32>) {
                Some(Ok(n)) if n > 0 => Ok(RedisAck::Replicas(n)),
                _ => Err(bad()),
            },
        }
    }
}

/// `url` with its password replaced by `***`, for messages and logs.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.rsplit_once('@') {
        Some((auth, host)) => match auth.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => format!("{scheme}://***@{host}"),
        },
        None => url.to_owned(),
    }
}

/// What Redis keeps on disk (`CONFIG GET appendonly`, `CONFIG GET save`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Persistence {
    /// The append-only file is on.
    pub aof: bool,
    /// RDB snapshot rules (`save`), empty when there are none.
    pub save: String,
}

impl Persistence {
    /// Reads the settings; `Err` when Redis refuses `CONFIG` (some hosted Redis do).
    pub async fn read(conn: &mut impl redis::aio::ConnectionLike) -> Result<Self, StoreError> {
        let (_, aof): (String, String) = redis::cmd("CONFIG")
            .arg("GET")
            .arg("appendonly")
            .query_async(conn)
            .await
            .map_err(backend)?;
        let (_, save): (String, String) = redis::cmd("CONFIG")
            .arg("GET")
            .arg("save")
            .query_async(conn)
            .await
            .map_err(backend)?;
        Ok(Persistence {
            aof: aof.eq_ignore_ascii_case("yes"),
            save,
        })
    }

    /// What a Redis restart loses with these settings; `None` with the append-only file.
    pub fn loss(&self) -> Option<&'static str> {
        match (self.aof, self.save.trim().is_empty()) {
            (true, _) => None,
            (false, true) => Some(
                "Redis has no persistence (appendonly no, no save rules): a Redis restart loses every room",
            ),
            (false, false) => Some(
                "Redis keeps only RDB snapshots (appendonly no): a Redis restart loses what changed since the last one",
            ),
        }
    }

    /// Logs a warning when a Redis restart would lose acknowledged changes; reads the settings
    /// on `conn` (a refusal is logged, not an error: the node still starts).
    pub async fn warn_if_volatile(conn: &mut impl redis::aio::ConnectionLike) {
        match Self::read(conn).await {
            Ok(p) => {
                if let Some(loss) = p.loss() {
                    tracing::warn!(
                        appendonly = p.aof,
                        save = %p.save,
                        "{loss}; run Redis with --appendonly yes (see the README's cluster recipe)"
                    );
                }
            }
            Err(e) => tracing::info!(error = %e, "cannot read Redis persistence settings"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn urls_are_parsed_before_connecting() {
        assert!(RedisTarget::parse("redis://127.0.0.1:6379").is_ok());
        assert!(RedisTarget::parse("redis://u:p@127.0.0.1:6379/2").is_ok());
        let e = RedisTarget::parse("http://127.0.0.1:6379").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("--redis \"http://127.0.0.1:6379\": "),
            "{e}"
        );
        assert!(RedisTarget::parse("127.0.0.1:6379").is_err());
        let s = RedisTarget::parse("redis+sentinel://u:pw@127.0.0.1:1,127.0.0.1:2/main").unwrap();
        assert!(s.is_sentinel());
        for bad in [
            "redis+sentinel://127.0.0.1:1",
            "redis+sentinel://127.0.0.1:1/",
            "redis+sentinel:///main",
            "redis+sentinel://127.0.0.1:1,,127.0.0.1:2/main",
        ] {
            let e = RedisTarget::parse(bad).unwrap_err();
            assert!(e.to_string().contains("redis+sentinel://"), "{e}");
        }
        let e = RedisTarget::parse("http://u:secret@127.0.0.1:6379").unwrap_err();
        assert!(!e.to_string().contains("secret"), "{e}");
    }

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(redacted("redis://u:pw@h:1/0"), "redis://u:***@h:1/0");
        assert_eq!(redacted("redis://pw@h:1"), "redis://***@h:1");
        assert_eq!(redacted("redis://h:1"), "redis://h:1");
    }

    #[test]
    fn acks_are_local_or_a_number_of_replicas() {
        assert_eq!("local".parse(), Ok(RedisAck::Local));
        assert_eq!("replicas=2".parse(), Ok(RedisAck::Replicas(2)));
        for bad in ["replicas=0", "replicas=", "replicas=x", "all", ""] {
            assert!(bad.parse::<RedisAck>().is_err(), "{bad}");
        }
    }

    #[test]
    fn only_the_append_only_file_keeps_every_change() {
        let p = |aof, save: &str| Persistence {
            aof,
            save: save.into(),
        };
        assert_eq!(p(true, "").loss(), None);
        assert_eq!(p(true, "3600 1").loss(), None);
        assert!(p(false, "").loss().unwrap().contains("no persistence"));
        assert!(p(false, "3600 1").loss().unwrap().contains("RDB"));
    }
}
