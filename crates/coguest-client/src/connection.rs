//! One WebSocket connection to a coguest server: the connection settings, the server URL,
//! the handshake up to the server's `welcome` (or its refusal of the token), and the writer
//! task that owns the socket's sending half.

use crate::error::CoGuestError;
use crate::tls::{Stream, TlsSettings};
use crate::types::Role;
use coguest_proto::{CLOSE_UNAUTHORIZED, PROTOCOL_VERSION, ServerMsg};
use futures_util::SinkExt;
use futures_util::stream::{SplitStream, StreamExt};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type Ws = WebSocketStream<Stream>;

/// Connection settings.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) urls: Vec<String>,
    pub(crate) token: String,
    pub(crate) request_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) backoff_initial: Duration,
    pub(crate) backoff_max: Duration,
    pub(crate) keepalive: Duration,
    pub(crate) tls: TlsSettings,
}

/// Who the server says we are.
#[derive(Debug, Clone)]
pub(crate) struct Welcome {
    pub(crate) user_id: String,
    pub(crate) role: Role,
}

/// A live connection.
pub(crate) struct Conn {
    /// Frames for the writer task.
    pub(crate) out: mpsc::UnboundedSender<Message>,
    pub(crate) writer: Option<JoinHandle<()>>,
    pub(crate) stream: SplitStream<Ws>,
    pub(crate) last_heard: Instant,
    /// When to send the next keep-alive ping.
    pub(crate) ping_at: Instant,
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(w) = self.writer.take() {
            w.abort();
        }
    }
}

/// Why a connection attempt failed.
pub(crate) enum ConnectError {
    /// Token refused: stop.
    Unauthorized(CoGuestError),
    /// Anything else: try again later.
    Other(CoGuestError),
}

/// Tries every URL once, starting at `start`; returns the connection and the index of the URL.
pub(crate) async fn connect_any(
    cfg: &Config,
    start: usize,
) -> Result<(Conn, Welcome, usize), ConnectError> {
    let n = cfg.urls.len().max(1);
    let mut last = CoGuestError::new(CoGuestError::CONNECT_FAILED, "no server URL given");
    for k in 0..cfg.urls.len() {
        let idx = (start + k) % n;
        let Some(url) = cfg.urls.get(idx) else {
            continue;
        };
        match tokio::time::timeout(
            cfg.connect_timeout,
            connect_one(url, &cfg.token, cfg.keepalive, &cfg.tls),
        )
        .await
        {
            Ok(Ok((conn, welcome))) => return Ok((conn, welcome, idx)),
            Ok(Err(ConnectError::Unauthorized(e))) => return Err(ConnectError::Unauthorized(e)),
            Ok(Err(ConnectError::Other(e))) => last = e,
            Err(_) => {
                last = CoGuestError::new(
                    CoGuestError::CONNECT_FAILED,
                    format!("connecting to {url} timed out"),
                )
            }
        }
    }
    Err(ConnectError::Other(last))
}

/// The WebSocket URL for a server base URL.
pub(crate) fn ws_url(base: &str, token: &str) -> Result<String, CoGuestError> {
    let base = base.trim().trim_end_matches('/');
    if !(base.starts_with("ws://") || base.starts_with("wss://")) {
        return Err(CoGuestError::new(
            CoGuestError::INVALID_URL,
            format!("{base:?} is not a ws:// or wss:// URL"),
        ));
    }
    let mut encoded = String::with_capacity(token.len());
    for b in token.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(format!("{base}/v1/ws?token={encoded}"))
}

async fn connect_one(
    base: &str,
    token: &str,
    keepalive: Duration,
    tls: &TlsSettings,
) -> Result<(Conn, Welcome), ConnectError> {
    use tokio_tungstenite::tungstenite::Error as WsError;
    let url = ws_url(base, token).map_err(ConnectError::Other)?;
    let other = |m: String| ConnectError::Other(CoGuestError::new(CoGuestError::CONNECT_FAILED, m));
    let request = url
        .as_str()
        .into_client_request()
        .map_err(|e| other(format!("{base} is not a usable URL: {e}")))?;
    let stream = crate::tls::open(request.uri(), tls)
        .await
        .map_err(ConnectError::Other)?;
    let ws = match tokio_tungstenite::client_async(request, stream).await {
        Ok((ws, _)) => ws,
        Err(WsError::Http(resp)) if resp.status().as_u16() == 401 => {
            return Err(ConnectError::Unauthorized(CoGuestError::new(
                CoGuestError::UNAUTHORIZED,
                "the server refused the token (HTTP 401)",
            )));
        }
        Err(e) => return Err(other(format!("could not connect to {base}: {e}"))),
    };
    let (mut sink, mut stream) = ws.split();
    // The first frame is `welcome`, or an `error` followed by close 4001.
    let mut refusal: Option<CoGuestError> = None;
    let welcome = loop {
        match stream.next().await {
            Some(Ok(Message::Text(text))) => match serde_json::from_str::<ServerMsg>(text.as_str())
            {
                Ok(ServerMsg::Welcome {
                    protocol,
                    user_id,
                    role,
                }) => {
                    if protocol != PROTOCOL_VERSION {
                        return Err(ConnectError::Unauthorized(CoGuestError::new(
                            CoGuestError::PROTOCOL,
                            format!(
                                "the server speaks protocol {protocol}, this SDK speaks {PROTOCOL_VERSION}"
                            ),
                        )));
                    }
                    break Welcome {
                        user_id,
                        role: role.into(),
                    };
                }
                Ok(ServerMsg::Error { code, message, .. }) => {
                    refusal = Some(CoGuestError::new(code, message));
                }
                Ok(_) | Err(_) => {
                    return Err(ConnectError::Other(CoGuestError::new(
                        CoGuestError::PROTOCOL,
                        "the server did not start with `welcome`",
                    )));
                }
            },
            Some(Ok(Message::Close(frame))) => {
                if frame.as_ref().map(|f| u16::from(f.code)) == Some(CLOSE_UNAUTHORIZED) {
                    return Err(ConnectError::Unauthorized(refusal.unwrap_or_else(|| {
                        CoGuestError::new(
                            CoGuestError::UNAUTHORIZED,
                            "the server refused the token",
                        )
                    })));
                }
                return Err(match refusal {
                    Some(e) => ConnectError::Other(e),
                    None => other(format!("{base} closed the connection before `welcome`")),
                });
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(other(format!("connection to {base} failed: {e}"))),
            None => {
                return Err(match refusal {
                    // A refusal followed by the socket ending: treat as the refusal it is.
                    Some(e) if is_auth_code(e.code()) => ConnectError::Unauthorized(e),
                    Some(e) => ConnectError::Other(e),
                    None => other(format!("{base} closed the connection before `welcome`")),
                });
            }
        }
    };
    let (out, mut out_rx) = mpsc::unbounded_channel::<Message>();
    let writer = tokio::spawn(async move {
        while let Some(m) = out_rx.recv().await {
            let close = matches!(m, Message::Close(_));
            if sink.send(m).await.is_err() || close {
                break;
            }
        }
        let _ = sink.close().await;
    });
    Ok((
        Conn {
            out,
            writer: Some(writer),
            stream,
            last_heard: Instant::now(),
            ping_at: Instant::now() + keepalive,
        },
        welcome,
    ))
}

/// Whether a server error code refuses the token (the connection then ends with close 4001).
pub(crate) fn is_auth_code(code: i32) -> bool {
    use coguest_proto::ErrorCode as E;
    [E::Unauthenticated, E::TokenExpired, E::WrongRoom]
        .iter()
        .any(|c| c.code() == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ws_urls() {
        assert_eq!(
            ws_url("ws://127.0.0.1:7700/", "a.b-c_d").ok().as_deref(),
            Some("ws://127.0.0.1:7700/v1/ws?token=a.b-c_d")
        );
        assert_eq!(
            ws_url("ws://h", "a+b/c=").ok().as_deref(),
            Some("ws://h/v1/ws?token=a%2Bb%2Fc%3D")
        );
        assert_eq!(
            ws_url("http://h", "t").map_err(|e| e.code()),
            Err(CoGuestError::INVALID_URL)
        );
    }
}
