//! The connection edge: accepts TCP, admits or refuses each connection, runs its TLS
//! handshake and HTTP/1.1 under a deadline for the first request head, then serves the routes.
//!
//! Why our own accept-and-serve loop rather than `axum::serve` over a wrapping listener:
//! `axum::serve` gives hyper no timer, so hyper's `header_read_timeout` (a deadline for every
//! request head on a kept-alive connection, and for the wait between requests) cannot be set;
//! and a listener's `accept` runs one at a time, so a TLS handshake there would stall every
//! other client. Here each connection runs in its own task under `http1::Builder` with a
//! timer, as `axum::serve` does otherwise (HTTP/1.1, keep-alive, upgrades, graceful
//! shutdown), and the first head is also bounded from the moment of `accept`, so the TLS
//! handshake counts against the same deadline.
//!
//! Admission happens in the accept loop, before anything is read: the connection ceiling, the
//! per-address limit (for a trusted proxy, per forwarded client once its request head is
//! read), and the handshakes in progress. A refused connection on a plain listener gets a
//! one-line HTTP answer (`503`, or `429` for the per-address limit) and is closed; on a TLS
//! listener it is closed at once, since it could not read a plain-text answer.

mod io;
mod limits;
mod proxy;
mod tls;

use crate::config::EdgeConfig;
use crate::metrics::Metrics;
use axum::Router;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::future::Either;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::{TowerToHyperService, TowerToHyperServiceFuture};
use io::{EdgeIo, Held, Stream};
use limits::{Admission, IpKey, Refuser};
use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::net::{IpAddr, SocketAddr};
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;
use tls::{Tls, WriteThrough};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

/// How long the accept loop pauses after `accept` failed for want of resources (file
/// descriptors, memory): retrying at once would spin while nothing is freed.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// hyper's read buffer per connection, which bounds a request head (hyper's default is
/// ~400 KiB; a request head here is a URL with a token and a few headers).
const MAX_BUF_BYTES: usize = 64 * 1024;

/// Refused connections lingering at once when the ceiling is configured (see [`Refuser`]).
const LINGERING: usize = 32;

/// The edge, set up: files loaded and limits resolved, before anything is served.
pub(crate) struct Edge {
    inner: Arc<Inner>,
}

struct Inner {
    config: EdgeConfig,
    admission: Arc<Admission>,
    refuser: Refuser,
    tls: Option<Tls>,
    metrics: Arc<Metrics>,
}

impl Edge {
    /// Loads the TLS files (an error names the file and what is wrong) and resolves the
    /// connection ceiling.
    pub(crate) fn new(config: &EdgeConfig, metrics: Arc<Metrics>) -> std::io::Result<Self> {
        let tls = config.tls.as_ref().map(Tls::new).transpose()?;
        let (ceiling, lingering) = match config.max_connections {
            Some(n) => (n, LINGERING),
            // Half the descriptors left above the ceiling may linger as refusals.
            None => match limits::derived_ceiling() {
                Some(n) => (n, (n / 18).clamp(1, LINGERING)),
                None => (0, LINGERING),
            },
        };
        tracing::info!(
            tls = tls.is_some(),
            max_connections = ceiling,
            max_connections_per_ip = config.max_connections_per_ip,
            max_handshakes = config.max_handshakes,
            handshake_timeout_ms = config.handshake_timeout.as_millis() as u64,
            "edge limits (0: none)"
        );
        let admission = Admission::new(
            ceiling,
            config.max_connections_per_ip,
            config.max_handshakes,
            metrics.clone(),
        );
        Ok(Edge {
            inner: Arc::new(Inner {
                config: config.clone(),
                admission,
                refuser: Refuser::new(lingering, tls.is_none()),
                tls,
                metrics,
            }),
        })
    }

    /// Serves `router` on `listener` until `shutdown` completes; then stops accepting, lets
    /// each connection finish its request in flight (idle ones close at once), and returns
    /// when they are all done. Upgraded connections are not waited for: they are the
    /// WebSocket's, closed by the server's own shutdown.
    pub(crate) async fn serve(
        self,
        listener: TcpListener,
        router: Router,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let inner = self.inner;
        let reload = match (&inner.tls, &inner.config.tls) {
            (Some(tls), Some(files)) => Some(tls.watch(files.clone(), inner.metrics.clone())),
            _ => None,
        };
        let (stop_tx, stop_rx) = watch::channel(false);
        // Every connection task holds a receiver: `closed` completes when the last one ends.
        let (open_tx, open_rx) = watch::channel(());
        let mut shutdown = pin!(shutdown);
        loop {
            let (tcp, peer) = tokio::select! {
                accepted = accept(&listener, &inner.metrics) => accepted,
                () = &mut shutdown => break,
            };
            inner.admit(tcp, peer, &router, &stop_rx, &open_rx);
        }
        drop(listener);
        let _ = stop_tx.send(true);
        drop(open_rx);
        open_tx.closed().await;
        if let Some(reload) = reload {
            reload.abort();
        }
        Ok(())
    }
}

/// Accepts the next connection. Never fails: connection errors are skipped, and a lack of
/// resources (`EMFILE`, `ENFILE`, `ENOMEM`) is counted and waited out, since the connections
/// closing meanwhile free what the next `accept` needs.
async fn accept(listener: &TcpListener, metrics: &Metrics) -> (TcpStream, SocketAddr) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    loop {
        match listener.accept().await {
            Ok(accepted) => return accepted,
            Err(e)
                if matches!(
                    e.kind(),
                    ConnectionAborted | ConnectionRefused | ConnectionReset
                ) => {}
            Err(e) => {
                metrics.edge_accept_errors.inc();
                tracing::warn!(error = %e, "accept failed; pausing");
                tokio::time::sleep(ACCEPT_PAUSE).await;
            }
        }
    }
}

impl Inner {
    fn admit(
        self: &Arc<Self>,
        tcp: TcpStream,
        peer: SocketAddr,
        router: &Router,
        stop: &watch::Receiver<bool>,
        open: &watch::Receiver<()>,
    ) {
        // Frames are small and latency matters: no Nagle delays.
        let _ = tcp.set_nodelay(true);
        let ip = peer.ip().to_canonical();
        let proxied = proxy::trusted(&self.config.trusted_proxies, ip);
        match self.admission.admit((!proxied).then_some(ip)) {
            Ok((conn, handshake)) => {
                let held = Held::new(conn, handshake);
                let task = self.clone().connection(
                    tcp,
                    ip,
                    proxied,
                    held,
                    router.clone(),
                    stop.clone(),
                    open.clone(),
                );
                tokio::spawn(task);
            }
            Err(why) => {
                self.metrics.edge_refused(why.reason());
                tracing::debug!(%peer, reason = why.reason(), "connection refused");
                self.refuser.refuse(tcp, why);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn connection(
        self: Arc<Self>,
        tcp: TcpStream,
        ip: IpAddr,
        proxied: bool,
        held: Arc<Held>,
        router: Router,
        mut stop: watch::Receiver<bool>,
        _open: watch::Receiver<()>,
    ) {
        let timeout = self.config.handshake_timeout;
        let deadline = (!timeout.is_zero()).then(|| Instant::now() + timeout);
        let stream = match &self.tls {
            None => Stream::Plain(tcp),
            Some(tls) => {
                let handshake = until(deadline, tls.acceptor().accept(tcp));
                let done = tokio::select! {
                    done = handshake => done,
                    _ = stop.wait_for(|stop| *stop) => return,
                };
                match done {
                    Some(Ok(tls)) => Stream::Tls(Box::new(WriteThrough::new(tls))),
                    Some(Err(e)) => {
                        self.metrics.edge_refused("tls");
                        tracing::debug!(%ip, error = %e, "TLS handshake failed");
                        return;
                    }
                    None => {
                        self.metrics.edge_refused("handshake_timeout");
                        return;
                    }
                }
            }
        };
        let service = EdgeService {
            router: TowerToHyperService::new(router),
            held: held.clone(),
            ip,
            proxied,
            edge: self.clone(),
        };
        let mut http = http1::Builder::new();
        http.timer(TokioTimer::new())
            .max_buf_size(MAX_BUF_BYTES)
            .header_read_timeout((!timeout.is_zero()).then_some(timeout));
        let io = TokioIo::new(EdgeIo::new(stream, held.clone()));
        let mut conn = pin!(http.serve_connection(io, service).with_upgrades());
        let mut first_head = pin!(async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        });
        let mut stopping = false;
        loop {
            tokio::select! {
                served = conn.as_mut() => {
                    if let Err(e) = served {
                        // hyper's own head deadline may fire first, in the same instant.
                        if e.is_timeout() && held.in_handshake() {
                            self.metrics.edge_refused("handshake_timeout");
                        }
                        tracing::debug!(%ip, error = %e, "connection ended");
                    }
                    break;
                }
                () = &mut first_head, if held.in_handshake() => {
                    // The head may have arrived in the same instant.
                    if held.in_handshake() {
                        self.metrics.edge_refused("handshake_timeout");
                        // Dropping the connection closes the socket, without an answer.
                        break;
                    }
                }
                _ = stop.wait_for(|stop| *stop), if !stopping => {
                    // No request yet: nothing to finish, and no reason to wait for one.
                    if held.in_handshake() {
                        break;
                    }
                    stopping = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }

    /// Counts a request through a trusted proxy against the client it forwards; false when
    /// that client is over its limit.
    fn claim_forwarded(&self, held: &Held, peer: IpAddr, req: &Request<Incoming>) -> bool {
        let client = proxy::forwarded_client(&self.config.trusted_proxies, peer, req.headers());
        let mut slot = held.forwarded();
        if slot
            .as_ref()
            .is_some_and(|s| s.key() == IpKey::from(client))
        {
            return true;
        }
        match self.admission.claim_ip(client) {
            Ok(claimed) => {
                *slot = Some(claimed);
                true
            }
            Err(_) => {
                self.metrics.edge_refused("proxied_per_ip");
                tracing::debug!(%client, "forwarded client over its connection limit");
                false
            }
        }
    }
}

/// `f`, unless `deadline` passes first (`None`).
async fn until<F: Future>(deadline: Option<Instant>, f: F) -> Option<F::Output> {
    match deadline {
        Some(at) => tokio::time::timeout_at(at, f).await.ok(),
        None => Some(f.await),
    }
}

/// The routes, behind what the edge does when a request head has been read.
#[derive(Clone)]
struct EdgeService {
    router: TowerToHyperService<Router>,
    held: Arc<Held>,
    ip: IpAddr,
    proxied: bool,
    edge: Arc<Inner>,
}

impl hyper::service::Service<Request<Incoming>> for EdgeService {
    type Response = Response;
    type Error = Infallible;
    type Future = Either<
        Ready<Result<Response, Infallible>>,
        TowerToHyperServiceFuture<Router, Request<Incoming>>,
    >;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        self.held.head_read();
        if self.proxied && !self.edge.claim_forwarded(&self.held, self.ip, &req) {
            let refused = (
                StatusCode::TOO_MANY_REQUESTS,
                "too many connections from this address",
            );
            return Either::Left(ready(Ok(refused.into_response())));
        }
        Either::Right(self.router.call(req))
    }
}
