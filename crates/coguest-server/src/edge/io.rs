//! One admitted connection's byte stream, plain TCP or TLS, and what it holds of the
//! admission counters until it is dropped (after the WebSocket it was upgraded to ends).

use super::limits::{ConnSlot, HandshakeSlot, IpSlot};
use super::tls::WriteThrough;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

/// What a connection holds: its slot, its handshake slot until the first request head
/// arrives, and behind a trusted proxy the share of the client it carries.
pub(crate) struct Held {
    _conn: ConnSlot,
    handshake: Mutex<Option<HandshakeSlot>>,
    forwarded: Mutex<Option<IpSlot>>,
}

impl Held {
    pub(crate) fn new(conn: ConnSlot, handshake: HandshakeSlot) -> Arc<Self> {
        Arc::new(Held {
            _conn: conn,
            handshake: Mutex::new(Some(handshake)),
            forwarded: Mutex::new(None),
        })
    }

    /// A request head arrived: the handshake is over.
    pub(crate) fn head_read(&self) {
        let slot = self
            .handshake
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        drop(slot);
    }

    pub(crate) fn in_handshake(&self) -> bool {
        self.handshake
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// The forwarded client's share this connection holds, to replace when a request of
    /// another client comes through it.
    pub(crate) fn forwarded(&self) -> std::sync::MutexGuard<'_, Option<IpSlot>> {
        self.forwarded.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<WriteThrough<TlsStream<TcpStream>>>),
}

/// The stream hyper serves, and the WebSocket reads and writes after the upgrade.
pub(crate) struct EdgeIo {
    stream: Stream,
    _held: Arc<Held>,
}

impl EdgeIo {
    pub(crate) fn new(stream: Stream, held: Arc<Held>) -> Self {
        EdgeIo {
            stream,
            _held: held,
        }
    }
}

impl AsyncRead for EdgeIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.stream {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for EdgeIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.stream {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.stream {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.stream {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.stream {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.stream {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
