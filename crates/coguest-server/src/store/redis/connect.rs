//! Where the cluster's Redis is: the `--redis` URL, parsed once before anything is opened, and
//! the check of what Redis keeps on disk when a node starts.

use crate::store::{StoreError, backend};

/// A `--redis` URL that cannot be used, with a plain reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--redis {url:?}: {reason}")]
pub struct UrlError {
    url: String,
    reason: String,
}

/// The cluster's Redis, as the `--redis` URL names it.
#[derive(Debug, Clone)]
pub struct RedisTarget {
    client: redis::Client,
}

impl RedisTarget {
    /// Parses `url` (`redis://[user:password@]host:port[/db]`, `rediss://...`,
    /// `unix:///path`) without connecting.
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let error = |reason: String| UrlError {
            url: redacted(url),
            reason,
        };
        let client = redis::Client::open(url).map_err(|e| error(e.to_string()))?;
        Ok(RedisTarget { client })
    }

    /// A client for the Redis that takes writes.
    pub async fn client(&self) -> Result<redis::Client, StoreError> {
        Ok(self.client.clone())
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
