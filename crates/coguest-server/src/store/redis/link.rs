//! The store's connection to the Redis that takes writes. With one Redis it is the client's
//! `ConnectionManager` (it reconnects to the same address); with Sentinel it follows the
//! primary: a connection that fails (dropped, timed out, or `READONLY` from a demoted primary)
//! is dropped, and the next call asks the sentinels where the primary is now. A failed call is
//! never sent again (a write may have run): its caller sees the error.

use super::connect::RedisTarget;
use redis::aio::{
    ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection,
};
use redis::{AsyncConnectionConfig, Cmd, Pipeline, RedisError, RedisFuture, RedisResult, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A cheap, shared handle on the connection (clone it per call).
#[derive(Clone)]
pub enum RedisConn {
    /// One Redis at a fixed address.
    Fixed(ConnectionManager),
    /// The primary Sentinel names, looked up again after a failure.
    Following(Arc<Following>),
}

/// The connection to the current primary, if one is open, and how to open the next one.
pub struct Following {
    target: RedisTarget,
    config: AsyncConnectionConfig,
    /// The open connection and its generation (so that a late failure of an old connection
    /// does not drop its replacement).
    current: Mutex<(u64, Option<MultiplexedConnection>)>,
    /// One lookup at a time: calls that fail together reconnect once.
    opening: tokio::sync::Mutex<()>,
}

impl RedisConn {
    /// Opens a connection to `target`'s primary; a call waits for Redis up to `timeout`.
    pub async fn open(target: &RedisTarget, timeout: Duration) -> RedisResult<Self> {
        if !target.is_sentinel() {
            let config = ConnectionManagerConfig::new().set_response_timeout(Some(timeout));
            let client = target.client().await?;
            return Ok(RedisConn::Fixed(
                client.get_connection_manager_with_config(config).await?,
            ));
        }
        let following = Arc::new(Following {
            target: target.clone(),
            config: AsyncConnectionConfig::new()
                .set_response_timeout(Some(timeout))
                .set_connection_timeout(Some(timeout)),
            current: Mutex::new((0, None)),
            opening: tokio::sync::Mutex::new(()),
        });
        following.get().await?;
        Ok(RedisConn::Following(following))
    }
}

impl Following {
    fn open_now(&self) -> Option<(u64, MultiplexedConnection)> {
        let cur = self.current.lock().ok()?;
        cur.1.clone().map(|c| (cur.0, c))
    }

    /// The open connection, or a new one to wherever the sentinels say the primary is.
    async fn get(&self) -> RedisResult<(u64, MultiplexedConnection)> {
        if let Some(c) = self.open_now() {
            return Ok(c);
        }
        let _one = self.opening.lock().await;
        if let Some(c) = self.open_now() {
            return Ok(c);
        }
        let client = self.target.client().await?;
        let conn = client
            .get_multiplexed_async_connection_with_config(&self.config)
            .await?;
        let mut cur = self
            .current
            .lock()
            .map_err(|_| RedisError::from((redis::ErrorKind::Client, "poisoned lock")))?;
        cur.0 += 1;
        cur.1 = Some(conn.clone());
        Ok((cur.0, conn))
    }

    /// Drops connection `generation` when `e` says it is no use any more.
    fn failed(&self, generation: u64, e: &RedisError) {
        let gone = e.is_io_error()
            || e.is_connection_dropped()
            || e.is_unrecoverable_error()
            || e.is_timeout()
            || e.code() == Some("READONLY");
        if let Ok(mut cur) = self.current.lock()
            && gone
            && cur.0 == generation
        {
            cur.1 = None;
            tracing::warn!(error = %e, "the Redis primary's connection failed; asking Sentinel again");
        }
    }
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            RedisConn::Fixed(c) => c.req_packed_command(cmd),
            RedisConn::Following(f) => Box::pin(async move {
                let (generation, mut c) = f.get().await?;
                let r = c.req_packed_command(cmd).await;
                if let Err(e) = &r {
                    f.failed(generation, e);
                }
                r
            }),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            RedisConn::Fixed(c) => c.req_packed_commands(cmd, offset, count),
            RedisConn::Following(f) => Box::pin(async move {
                let (generation, mut c) = f.get().await?;
                let r = c.req_packed_commands(cmd, offset, count).await;
                if let Err(e) = &r {
                    f.failed(generation, e);
                }
                r
            }),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            RedisConn::Fixed(c) => c.get_db(),
            RedisConn::Following(_) => 0,
        }
    }
}
