//! A client's WebSocket after the HTTP upgrade: tungstenite parses what the client sends; what
//! the server sends is framed here, one system call per batch: gathered in the thread's reused
//! buffer when small (the usual delivery), written from the frames' shared bytes (`writev`) when
//! large.
//!
//! Why not tungstenite's own write path: it copies every frame into a per-connection buffer
//! that keeps the capacity of the largest batch it ever wrote and cannot give it back (~1 KiB
//! per idle member, the largest piece of an idle connection), and splitting it for a reader and
//! a writer task puts its whole state behind a shared lock. Here the reader owns tungstenite
//! over the read half, and the writer holds only the write half: an idle connection keeps no
//! write buffer.

use axum::extract::ws::Utf8Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Version, header};
use axum::response::{IntoResponse, Response};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf, ReadHalf, WriteHalf};
use tokio_tungstenite::WebSocketStream;
use tungstenite::Bytes;
use tungstenite::protocol::frame::FrameHeader;
use tungstenite::protocol::frame::coding::{Control, Data, OpCode};
use tungstenite::protocol::{Role, WebSocketConfig};

type Io = TokioIo<Upgraded>;

/// The reading side: tungstenite over the socket's read half. It yields pings and closes like
/// any message; the connection answers them through its [`FrameWriter`].
pub(crate) type ReadSocket = WebSocketStream<ReadOnly>;

/// The socket's read half as tungstenite's transport. What tungstenite writes by itself (its
/// automatic pong and close replies) goes nowhere: the writer sends those, in order with the
/// connection's other frames.
pub(crate) struct ReadOnly(ReadHalf<Io>);

impl AsyncRead for ReadOnly {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for ReadOnly {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// One frame the server sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutFrame {
    /// A protocol message (JSON text), shared by all its recipients.
    Text(Utf8Bytes),
    /// The answer to a client's ping, with the ping's payload.
    Pong(Bytes),
    /// A close frame's payload: the code, then the reason.
    Close(Bytes),
}

impl OutFrame {
    /// A close frame with `code` and a short `reason` (cut to 123 bytes at a character
    /// boundary: a control frame holds 125).
    pub fn close(code: u16, reason: &str) -> Self {
        let mut end = reason.len().min(123);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        let reason = &reason.as_bytes()[..end];
        let mut payload = Vec::with_capacity(2 + reason.len());
        payload.extend_from_slice(&code.to_be_bytes());
        payload.extend_from_slice(reason);
        OutFrame::Close(Bytes::from(payload))
    }

    fn opcode(&self) -> OpCode {
        match self {
            OutFrame::Text(_) => OpCode::Data(Data::Text),
            OutFrame::Pong(_) => OpCode::Control(Control::Pong),
            OutFrame::Close(_) => OpCode::Control(Control::Close),
        }
    }

    fn payload(&self) -> &[u8] {
        match self {
            OutFrame::Text(t) => t.as_str().as_bytes(),
            OutFrame::Pong(b) | OutFrame::Close(b) => b,
        }
    }
}

/// Longest header of an unmasked frame: 2 bytes, then a 64-bit length.
const MAX_HEAD: usize = 10;
/// Most frames one write system call takes (two slices each, within `IOV_MAX`).
pub(crate) const MAX_FRAMES: usize = 32;
/// Writes up to this size are gathered in one buffer and sent in one piece; larger ones are
/// written from their slices (`writev`).
const COPY_MAX: usize = 4096;

thread_local! {
    /// Where a small write is gathered (see `poll_write_gathered`).
    static GATHER: std::cell::RefCell<Vec<u8>> =
        std::cell::RefCell::new(Vec::with_capacity(COPY_MAX));
}

/// A frame's header, as tungstenite formats it (final, unmasked: a server's frames).
fn head(frame: &OutFrame) -> io::Result<([u8; MAX_HEAD], usize)> {
    let header = FrameHeader {
        is_final: true,
        rsv1: false,
        rsv2: false,
        rsv3: false,
        opcode: frame.opcode(),
        mask: None,
    };
    let mut out = [0u8; MAX_HEAD];
    let mut rest = &mut out[..];
    header
        .format(frame.payload().len() as u64, &mut rest)
        .map_err(io::Error::other)?;
    let len = MAX_HEAD - rest.len();
    Ok((out, len))
}

/// The writing side of a connection (generic for the tests' in-memory pipe).
pub(crate) struct FrameWriter<W = WriteHalf<Io>>(W);

impl<W: AsyncWrite + Unpin> FrameWriter<W> {
    /// Writes `frames` in order, [`MAX_FRAMES`] at a time, as much as the socket takes per
    /// system call; nothing is kept between calls.
    pub(crate) async fn write(&mut self, frames: &[OutFrame]) -> io::Result<()> {
        for frames in frames.chunks(MAX_FRAMES) {
            let mut total = 0;
            for f in frames {
                total += head(f)?.1 + f.payload().len();
            }
            let mut done = 0;
            while done < total {
                let n = std::future::poll_fn(|cx| {
                    if total - done <= COPY_MAX {
                        self.poll_write_gathered(cx, frames, done)
                    } else {
                        self.poll_write_vectored(cx, frames, done)
                    }
                })
                .await?;
                if n == 0 {
                    return Err(io::ErrorKind::WriteZero.into());
                }
                done += n;
            }
        }
        Ok(())
    }

    /// One `send` of what is left of `frames` after the first `done` bytes, copied together:
    /// what most writes are (one delivery of a few hundred bytes). `writev` goes through the
    /// VFS and costs more per call in the kernel than the copy does here. The buffer is the
    /// thread's, reused: a stack array would be zeroed on every write.
    fn poll_write_gathered(
        &mut self,
        cx: &mut Context<'_>,
        frames: &[OutFrame],
        done: usize,
    ) -> Poll<io::Result<usize>> {
        GATHER.with_borrow_mut(|buf| {
            buf.clear();
            for f in frames {
                let (h, hlen) = head(f)?;
                buf.extend_from_slice(&h[..hlen]);
                buf.extend_from_slice(f.payload());
            }
            let rest = buf.get(done..).unwrap_or_default();
            Pin::new(&mut self.0).poll_write(cx, rest)
        })
    }

    /// One `writev` of what is left of `frames` after the first `done` bytes, from the frames'
    /// shared bytes (large writes).
    fn poll_write_vectored(
        &mut self,
        cx: &mut Context<'_>,
        frames: &[OutFrame],
        done: usize,
    ) -> Poll<io::Result<usize>> {
        let mut heads = [([0u8; MAX_HEAD], 0usize); MAX_FRAMES];
        for (h, f) in heads.iter_mut().zip(frames) {
            *h = head(f)?;
        }
        let mut slices = [IoSlice::new(&[]); 2 * MAX_FRAMES];
        let mut used = 0;
        let mut skip = done;
        for ((h, hlen), f) in heads.iter().zip(frames) {
            let (h, p) = (&h[..*hlen], f.payload());
            if skip >= h.len() + p.len() {
                skip -= h.len() + p.len();
                continue;
            }
            if skip < h.len() {
                slices[used] = IoSlice::new(&h[skip..]);
                used += 1;
                skip = 0;
            } else {
                skip -= h.len();
            }
            if skip < p.len() {
                slices[used] = IoSlice::new(&p[skip..]);
                used += 1;
            }
            skip = 0;
        }
        Pin::new(&mut self.0).poll_write_vectored(cx, &slices[..used])
    }
}

/// Splits an upgraded connection into its reading and writing sides.
pub(crate) async fn split(
    upgraded: Upgraded,
    config: WebSocketConfig,
) -> (ReadSocket, FrameWriter) {
    let (read, write) = tokio::io::split(TokioIo::new(upgraded));
    let read = WebSocketStream::from_raw_socket(ReadOnly(read), Role::Server, Some(config)).await;
    (read, FrameWriter(write))
}

/// Why a request is not a WebSocket upgrade; answered with `400 Bad Request` (405 for a method
/// other than GET, 426 when the connection cannot be upgraded).
#[derive(Debug, thiserror::Error)]
pub(crate) enum NotUpgrade {
    #[error("a WebSocket upgrade is a GET request")]
    Method,
    #[error("WebSocket upgrades need HTTP/1.1")]
    Version,
    #[error("the Connection header does not include 'upgrade'")]
    Connection,
    #[error("the Upgrade header is not 'websocket'")]
    Upgrade,
    #[error("Sec-WebSocket-Version is not 13")]
    WebSocketVersion,
    #[error("Sec-WebSocket-Key is missing")]
    Key,
    #[error("this connection cannot be upgraded")]
    NotUpgradable,
}

impl IntoResponse for NotUpgrade {
    fn into_response(self) -> Response {
        let status = match self {
            NotUpgrade::Method => StatusCode::METHOD_NOT_ALLOWED,
            NotUpgrade::NotUpgradable => StatusCode::UPGRADE_REQUIRED,
            _ => StatusCode::BAD_REQUEST,
        };
        (status, self.to_string()).into_response()
    }
}

/// Checks a WebSocket upgrade request (RFC 6455 §4.2.1) and takes its connection: the `101`
/// answer to send, and the upgrade that completes once it is sent.
pub(crate) fn accept(
    method: &Method,
    version: Version,
    headers: &HeaderMap,
    on_upgrade: Option<OnUpgrade>,
) -> Result<(Response, OnUpgrade), NotUpgrade> {
    fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
        headers.get_all(name).iter().any(|v| {
            v.as_bytes()
                .split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
        })
    }
    if method != Method::GET {
        return Err(NotUpgrade::Method);
    }
    if version != Version::HTTP_11 {
        return Err(NotUpgrade::Version);
    }
    if !has_token(headers, header::CONNECTION, "upgrade") {
        return Err(NotUpgrade::Connection);
    }
    if !has_token(headers, header::UPGRADE, "websocket") {
        return Err(NotUpgrade::Upgrade);
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v.as_bytes() != b"13")
    {
        return Err(NotUpgrade::WebSocketVersion);
    }
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .ok_or(NotUpgrade::Key)?;
    let on_upgrade = on_upgrade.ok_or(NotUpgrade::NotUpgradable)?;
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let accept = HeaderValue::try_from(accept).map_err(|_| NotUpgrade::Key)?;
    let response = (
        StatusCode::SWITCHING_PROTOCOLS,
        [
            (header::CONNECTION, HeaderValue::from_static("upgrade")),
            (header::UPGRADE, HeaderValue::from_static("websocket")),
            (header::SEC_WEBSOCKET_ACCEPT, accept),
        ],
    )
        .into_response();
    Ok((response, on_upgrade))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use futures_util::StreamExt;
    use tungstenite::Message;

    /// Frames of each header length class (7-bit, 16-bit, 64-bit), more of them than one
    /// system call takes, a pong and a close, through a pipe that takes 7 bytes at a time:
    /// every partial write resumes where it stopped, and a WebSocket client reads them back
    /// whole and in order.
    #[tokio::test]
    async fn frames_survive_partial_writes_whole_and_in_order() {
        let (server, client) = tokio::io::duplex(7);
        let mut writer = FrameWriter(server);
        let mut texts = vec![
            "a".to_owned(),
            "é".repeat(100),
            "x".repeat(70_000),
            String::new(),
        ];
        texts.extend((0..MAX_FRAMES + 3).map(|i| format!("{{\"n\":{i}}}")));
        let mut frames: Vec<OutFrame> = texts
            .iter()
            .map(|t| OutFrame::Text(Utf8Bytes::from(t.clone())))
            .collect();
        frames.push(OutFrame::Pong(Bytes::from_static(b"ping!")));
        frames.push(OutFrame::close(4008, "closing"));
        let read = async {
            let mut ws = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
            let mut got = Vec::new();
            while let Some(Ok(m)) = ws.next().await {
                let close = matches!(m, Message::Close(_));
                got.push(m);
                if close {
                    break;
                }
            }
            got
        };
        let write = async {
            let written = writer.write(&frames).await;
            // The pipe ends here: a reader still waiting for a frame sees the end, not a hang.
            drop(writer);
            written
        };
        let (written, got) = tokio::join!(write, read);
        written.unwrap();
        let mut want: Vec<Message> = texts.iter().map(|t| Message::text(t.clone())).collect();
        want.push(Message::Pong(Bytes::from_static(b"ping!")));
        want.push(Message::Close(Some(tungstenite::protocol::CloseFrame {
            code: 4008.into(),
            reason: "closing".into(),
        })));
        assert_eq!(got, want);
    }

    #[test]
    fn a_close_reason_is_cut_to_what_a_control_frame_holds() {
        let OutFrame::Close(payload) = OutFrame::close(1000, &"r".repeat(300)) else {
            unreachable!()
        };
        assert_eq!(payload.len(), 125);
        assert_eq!(&payload[..2], &1000u16.to_be_bytes());
        // Never inside a character: 61 two-byte characters fit, not 61.5.
        let OutFrame::Close(payload) = OutFrame::close(1000, &"é".repeat(100)) else {
            unreachable!()
        };
        assert_eq!(payload.len(), 2 + 122);
        assert!(std::str::from_utf8(&payload[2..]).is_ok());
    }
}
