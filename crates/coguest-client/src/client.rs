//! [`Client`]: one authenticated connection to a coguest server (or a cluster of them), and
//! the rooms joined through it (one [`Membership`] per room).

use crate::actor::{Acked, Actor, ActorCmd, ConnectionStatus};
use crate::connection::{Config, ws_url};
use crate::error::CoGuestError;
use crate::shared::{StoreShared, dispatch_loop, lock};
use crate::types::Role;
use coguest_proto::ClientCommand;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// A connection to a coguest server, shared by every [`CoGuestStore`](crate::CoGuestStore)
/// created from it. Cheap to clone: clones share the connection.
///
/// The connection is run by a background task that reconnects on its own (exponential backoff
/// with jitter) and resumes every room where it stopped. It stops when the token is refused
/// (close code 4001; see [`Client::status`]), on [`Client::close`], or when the last clone of
/// the client and of its stores is dropped.
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    tx: mpsc::UnboundedSender<ActorCmd>,
    user_id: String,
    role: Role,
    status: watch::Receiver<ConnectionStatus>,
    /// One membership per room: `CoGuestStore::create` returns the live one if there is one.
    stores: Mutex<HashMap<String, Weak<Membership>>>,
    /// Serialises `CoGuestStore::create`, so two concurrent creates of one room share a store.
    create_lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("user_id", &self.inner.user_id)
            .field("role", &self.inner.role)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connects to the server at `url` (its base URL, e.g. `ws://127.0.0.1:7700`, or
    /// `wss://coguest.example.com` over TLS; the SDK opens `{url}/v1/ws`) with a token, and
    /// waits for the server's `welcome`.
    ///
    /// Fails with the server's code when the token is refused (`-3010` `UNAUTHENTICATED`,
    /// `-3011` `TOKEN_EXPIRED`, ...) or with [`CoGuestError::CONNECT_FAILED`] when the server
    /// cannot be reached ([`CoGuestError::CERTIFICATE_UNTRUSTED`] when a `wss://` server's
    /// certificate is not trusted: see [`ClientBuilder::ca_file`]). Later drops are handled by
    /// reconnecting.
    pub async fn connect(url: &str, token: &str) -> Result<Client, CoGuestError> {
        ClientBuilder::new(token).url(url).connect().await
    }

    /// Like [`Client::connect`] with several servers of one cluster: tries them in order, and
    /// on every reconnect tries the last good one first, then the others.
    pub async fn connect_any(urls: &[&str], token: &str) -> Result<Client, CoGuestError> {
        ClientBuilder::new(token)
            .urls(urls.iter().copied())
            .connect()
            .await
    }

    /// A builder, to set timeouts and backoff before connecting.
    pub fn builder(token: &str) -> ClientBuilder {
        ClientBuilder::new(token)
    }

    /// The authenticated user's id (from the token).
    pub fn user_id(&self) -> &str {
        &self.inner.user_id
    }

    /// The user's role (from the token).
    pub fn role(&self) -> Role {
        self.inner.role
    }

    /// The connection's state, updated as it drops, reconnects or stops.
    pub fn status(&self) -> watch::Receiver<ConnectionStatus> {
        self.inner.status.clone()
    }

    /// A round trip to the server (`ping`): succeeds once the server answered.
    pub async fn ping(&self) -> Result<(), CoGuestError> {
        self.request(None, ClientCommand::Ping).await.map(|_| ())
    }

    /// Presents a new token on the open connection (before the current one expires): the
    /// server checks it as at connect and requires the same user, role and room limit, then
    /// the connection lives until the new token's expiry and every reconnect presents it.
    /// A refused token (`-3010` `UNAUTHENTICATED`, `-3011` `TOKEN_EXPIRED`, `-3014`
    /// `TOKEN_MISMATCH`) changes nothing: the connection keeps its current token.
    pub async fn update_token(&self, token: &str) -> Result<(), CoGuestError> {
        let command = ClientCommand::UpdateToken {
            token: token.to_owned(),
        };
        self.request(None, command).await.map(|_| ())
    }

    /// Closes the connection for good: calls in flight and later calls fail with
    /// [`CoGuestError::CLOSED`]. The server keeps this user's seats and requests for its
    /// grace period, as for any dropped connection; drop (or `disconnect`) stores first to
    /// leave cleanly.
    pub fn close(&self) {
        let _ = self.inner.tx.send(ActorCmd::Close);
    }

    /// Sends one command and waits for its answer.
    pub(crate) async fn request(
        &self,
        room: Option<String>,
        command: ClientCommand,
    ) -> Result<Acked, CoGuestError> {
        let (reply, rx) = oneshot::channel();
        self.inner
            .tx
            .send(ActorCmd::Request {
                room,
                command,
                reply,
            })
            .map_err(|_| CoGuestError::closed())?;
        rx.await.map_err(|_| CoGuestError::closed())?
    }

    /// This client's live membership of `room`, or a new one once the room's first join was
    /// answered (for [`CoGuestStore::create`](crate::CoGuestStore::create)). A membership of a
    /// closed room is not reused.
    pub(crate) async fn join(&self, room: &str) -> Result<Arc<Membership>, CoGuestError> {
        let _serial = self.inner.create_lock.lock().await;
        if let Some(membership) = lock(&self.inner.stores)
            .get(room)
            .and_then(Weak::upgrade)
            .filter(|m| !m.shared.is_closed())
        {
            return Ok(membership);
        }
        let shared = Arc::new(StoreShared::new(room));
        let (dispatch, dispatch_rx) = mpsc::unbounded_channel();
        tokio::spawn(dispatch_loop(shared.clone(), dispatch_rx));
        let (reply, rx) = oneshot::channel();
        self.inner
            .tx
            .send(ActorCmd::Join {
                room: room.to_owned(),
                shared: shared.clone(),
                dispatch,
                reply,
            })
            .map_err(|_| CoGuestError::closed())?;
        rx.await.map_err(|_| CoGuestError::closed())??;
        let membership = Arc::new(Membership {
            shared,
            client: self.clone(),
        });
        lock(&self.inner.stores).insert(room.to_owned(), Arc::downgrade(&membership));
        Ok(membership)
    }
}

/// The owner of a store's membership of one room: dropping it leaves the room.
pub(crate) struct Membership {
    pub(crate) shared: Arc<StoreShared>,
    pub(crate) client: Client,
}

impl Drop for Membership {
    fn drop(&mut self) {
        let room = self.shared.room.clone();
        {
            let mut stores = lock(&self.client.inner.stores);
            if stores.get(&room).is_some_and(|w| w.strong_count() == 0) {
                stores.remove(&room);
            }
        }
        let _ = self.client.inner.tx.send(ActorCmd::Leave { room });
    }
}

/// Settings for a [`Client`]; [`ClientBuilder::connect`] connects.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    cfg: Config,
}

impl ClientBuilder {
    /// A builder with this token and the default settings (no URL yet).
    pub fn new(token: &str) -> Self {
        ClientBuilder {
            cfg: Config {
                urls: Vec::new(),
                token: token.to_owned(),
                request_timeout: Duration::from_secs(15),
                connect_timeout: Duration::from_secs(10),
                backoff_initial: Duration::from_millis(250),
                backoff_max: Duration::from_secs(10),
                keepalive: Duration::from_secs(20),
                tls: Default::default(),
            },
        }
    }

    /// Adds a server base URL (`ws://host:port`, or `wss://host:port` over TLS). With several,
    /// see [`Client::connect_any`].
    pub fn url(mut self, url: &str) -> Self {
        self.cfg.urls.push(url.to_owned());
        self
    }

    /// Adds several server base URLs.
    pub fn urls<'a>(mut self, urls: impl IntoIterator<Item = &'a str>) -> Self {
        self.cfg.urls.extend(urls.into_iter().map(str::to_owned));
        self
    }

    /// How long a call waits for its answer, reconnects included (default 15 s). A call not
    /// sent by then fails with [`CoGuestError::TIMEOUT`]; one sent but unanswered with
    /// [`CoGuestError::OUTCOME_UNKNOWN`].
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.cfg.request_timeout = timeout;
        self
    }

    /// How long one connection attempt (TCP, WebSocket handshake, `welcome`) may take
    /// (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.cfg.connect_timeout = timeout;
        self
    }

    /// Reconnect backoff: the first retry waits about `initial`, each failure doubles it up to
    /// `max`, and each wait is randomly between half and all of that (defaults 250 ms, 10 s).
    pub fn reconnect_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.cfg.backoff_initial = initial;
        self.cfg.backoff_max = max.max(initial);
        self
    }

    /// Interval of WebSocket pings (default 20 s); a connection silent for three intervals
    /// is considered dead and replaced. Keep it well under the server's idle timeout
    /// (`--idle-timeout-secs`, default 60 s), which closes a connection it hears nothing from
    /// (close code 4009; the client then reconnects and resumes).
    pub fn keepalive(mut self, interval: Duration) -> Self {
        self.cfg.keepalive = interval.max(Duration::from_millis(100));
        self
    }

    /// Trusts a CA certificate for `wss://` servers, besides the Mozilla roots: a private CA,
    /// or a self-signed server certificate. `cert` is PEM (every `CERTIFICATE` block in it)
    /// or DER. An unusable certificate is refused with [`CoGuestError::INVALID_CERTIFICATE`]
    /// and adds nothing.
    ///
    /// ```no_run
    /// # async fn run(token: &str, ca_pem: &[u8]) -> Result<(), coguest_client::CoGuestError> {
    /// let client = coguest_client::Client::builder(token)
    ///     .url("wss://coguest.internal:7700")
    ///     .add_root_certificate(ca_pem)?
    ///     .connect()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn add_root_certificate(mut self, cert: &[u8]) -> Result<Self, CoGuestError> {
        self.cfg.tls.add_roots(cert, "the root certificate")?;
        Ok(self)
    }

    /// Like [`ClientBuilder::add_root_certificate`] with the certificates of a file (PEM or
    /// DER). A file that cannot be read or used is refused with
    /// [`CoGuestError::INVALID_CERTIFICATE`], naming it.
    pub fn ca_file(mut self, path: impl AsRef<std::path::Path>) -> Result<Self, CoGuestError> {
        self.cfg.tls.add_ca_file(path.as_ref())?;
        Ok(self)
    }

    /// Connects (see [`Client::connect`]). A `wss://` server whose certificate is not trusted
    /// is refused with [`CoGuestError::CERTIFICATE_UNTRUSTED`].
    pub async fn connect(mut self) -> Result<Client, CoGuestError> {
        if self.cfg.urls.is_empty() {
            return Err(CoGuestError::new(
                CoGuestError::INVALID_URL,
                "no server URL given",
            ));
        }
        for url in &self.cfg.urls {
            ws_url(url, "")?;
        }
        if self.cfg.urls.iter().any(|u| u.trim().starts_with("wss://")) {
            self.cfg.tls.build()?;
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let (status_tx, status_rx) = watch::channel(ConnectionStatus::Connected);
        let (actor, welcome) = Actor::connect(self.cfg, rx, status_tx).await?;
        tokio::spawn(actor.run());
        Ok(Client {
            inner: Arc::new(ClientInner {
                tx,
                user_id: welcome.user_id,
                role: welcome.role,
                status: status_rx,
                stores: Mutex::new(HashMap::new()),
                create_lock: tokio::sync::Mutex::new(()),
            }),
        })
    }
}
