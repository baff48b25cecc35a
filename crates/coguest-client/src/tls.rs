//! `wss://`: the TCP (and for `wss://`, TLS) stream under the SDK's WebSocket. TLS is rustls
//! with the Mozilla roots (`webpki-roots`) plus the CA certificates the app adds.

use crate::error::CoGuestError;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// The TLS settings of a client: extra trusted CAs, and the rustls configuration built from
/// them when the client connects.
#[derive(Debug, Clone, Default)]
pub(crate) struct TlsSettings {
    pub(crate) roots: Vec<CertificateDer<'static>>,
    pub(crate) config: Option<Arc<rustls::ClientConfig>>,
}

impl TlsSettings {
    /// Checks and adds CA certificates given as PEM (every `CERTIFICATE` block) or DER;
    /// `what` names them in the error. Nothing is added when any is unusable.
    pub(crate) fn add_roots(&mut self, bytes: &[u8], what: &str) -> Result<(), CoGuestError> {
        let invalid = |why: String| {
            CoGuestError::new(
                CoGuestError::INVALID_CERTIFICATE,
                format!("{what} is not a usable CA certificate: {why}"),
            )
        };
        let certs: Vec<CertificateDer<'static>> = if bytes.trim_ascii_start().starts_with(b"-----")
        {
            CertificateDer::pem_slice_iter(bytes)
                .collect::<Result<_, _>>()
                .map_err(|e| invalid(e.to_string()))?
        } else {
            vec![CertificateDer::from(bytes.to_vec())]
        };
        if certs.is_empty() {
            return Err(invalid("no CERTIFICATE block".into()));
        }
        // Parsed as trust anchors now, so that a bad one is refused here, not at connect.
        let mut check = rustls::RootCertStore::empty();
        for cert in &certs {
            check
                .add(cert.clone())
                .map_err(|e| invalid(e.to_string()))?;
        }
        self.roots.extend(certs);
        Ok(())
    }

    /// Reads a CA file (PEM or DER) and adds its certificates.
    pub(crate) fn add_ca_file(&mut self, path: &Path) -> Result<(), CoGuestError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| {
            CoGuestError::new(
                CoGuestError::INVALID_CERTIFICATE,
                format!("cannot read the CA file {shown}: {e}"),
            )
        })?;
        self.add_roots(&bytes, &format!("the CA file {shown}"))
    }

    /// Builds the rustls configuration (once, before the first connection).
    pub(crate) fn build(&mut self) -> Result<(), CoGuestError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for cert in &self.roots {
            roots
                .add(cert.clone())
                .map_err(|e| CoGuestError::new(CoGuestError::INVALID_CERTIFICATE, e.to_string()))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| CoGuestError::new(CoGuestError::CONNECT_FAILED, format!("TLS: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        self.config = Some(Arc::new(config));
        Ok(())
    }
}

/// The stream a WebSocket runs over.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

fn failed(message: String) -> CoGuestError {
    CoGuestError::new(CoGuestError::CONNECT_FAILED, message)
}

/// Opens the TCP connection to `uri`'s host and port, then for `wss://` the TLS session,
/// checking the server's certificate against the roots.
pub(crate) async fn open(
    uri: &tokio_tungstenite::tungstenite::http::Uri,
    settings: &TlsSettings,
) -> Result<Stream, CoGuestError> {
    let secure = uri.scheme_str() == Some("wss");
    let host = uri
        .host()
        .ok_or_else(|| failed(format!("{uri} has no host")))?;
    // An IPv6 literal is bracketed in a URL, not in a socket address or a server name.
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    let tcp = TcpStream::connect((host, port))
        .await
        .map_err(|e| failed(format!("could not connect to {host}:{port}: {e}")))?;
    if !secure {
        return Ok(Stream::Plain(tcp));
    }
    let config = settings
        .config
        .clone()
        .ok_or_else(|| failed("TLS is not set up".into()))?;
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| failed(format!("{host:?} is not a TLS server name: {e}")))?;
    match tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
    {
        Ok(tls) => Ok(Stream::Tls(Box::new(tls))),
        Err(e) => Err(handshake_error(&e, host, port)),
    }
}

/// A refused certificate gets its own code and says what to do about it.
fn handshake_error(e: &io::Error, host: &str, port: u16) -> CoGuestError {
    let rustls = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match rustls {
        Some(rustls::Error::InvalidCertificate(why)) => CoGuestError::new(
            CoGuestError::CERTIFICATE_UNTRUSTED,
            format!(
                "the TLS certificate of {host}:{port} is not trusted ({why}); for a private CA, \
                 add it with ClientBuilder::ca_file or ClientBuilder::add_root_certificate"
            ),
        ),
        _ => failed(format!("TLS handshake with {host}:{port} failed: {e}")),
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut *self {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut *self {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut *self {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut *self {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusable_roots_are_refused_and_add_nothing() {
        let mut s = TlsSettings::default();
        for bad in [
            &b"not a certificate"[..],
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
        ] {
            let e = s.add_roots(bad, "the test certificate");
            assert_eq!(
                e.map_err(|e| e.code()),
                Err(CoGuestError::INVALID_CERTIFICATE)
            );
        }
        assert!(s.roots.is_empty());
        let missing = s.add_ca_file(Path::new("/nonexistent/ca.pem"));
        let e = missing
            .err()
            .map(|e| (e.code(), e.message().contains("/nonexistent/ca.pem")));
        assert_eq!(e, Some((CoGuestError::INVALID_CERTIFICATE, true)));
    }

    #[test]
    fn the_mozilla_roots_are_trusted_by_default() {
        let mut s = TlsSettings::default();
        assert!(s.build().is_ok());
        assert!(s.config.is_some());
    }
}
