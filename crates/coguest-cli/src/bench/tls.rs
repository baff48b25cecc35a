//! The socket under a load connection: TCP, and for `wss://` a TLS session over it (rustls,
//! the Mozilla roots plus `--ca-file`). The trust is set once per process by [`trust`], before
//! the first connection (the load generator and each `bench-worker`).

use anyhow::{Context, Result, anyhow, bail};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::http::Uri;

/// A byte stream a WebSocket runs over: plain TCP or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();

/// Sets what `wss://` connections of this process trust: the Mozilla roots, plus the CA
/// certificates of `ca_file` (PEM). Call once, before connecting.
pub fn trust(ca_file: Option<&Path>) -> Result<()> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let shown = path.display();
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .with_context(|| format!("reading the CA file {shown}"))?;
        if certs.is_empty() {
            bail!("the CA file {shown} has no CERTIFICATE block");
        }
        for cert in certs {
            roots
                .add(cert)
                .with_context(|| format!("the CA file {shown} is not a usable CA certificate"))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    CONFIG
        .set(Arc::new(config))
        .map_err(|_| anyhow!("the bench's TLS trust is set twice"))
}

/// Opens the TCP connection to `url`'s host and port (with Nagle's algorithm off when
/// `nodelay`), then for `wss://` the TLS session, checking the server's certificate.
pub async fn open(url: &str, nodelay: bool) -> Result<Box<dyn Io>> {
    let uri: Uri = url.parse().with_context(|| format!("{url} is not a URL"))?;
    let secure = match uri.scheme_str() {
        Some("wss") => true,
        Some("ws") => false,
        _ => bail!("{url} is not a ws:// or wss:// URL"),
    };
    let host = uri
        .host()
        .ok_or_else(|| anyhow!("{url} has no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    let tcp = TcpStream::connect((host, port))
        .await
        .with_context(|| format!("connecting to {host}:{port}"))?;
    tcp.set_nodelay(nodelay)?;
    if !secure {
        return Ok(Box::new(tcp));
    }
    let config = CONFIG
        .get()
        .cloned()
        .ok_or_else(|| anyhow!("the bench's TLS trust is not set"))?;
    let name = ServerName::try_from(host.to_owned())
        .with_context(|| format!("{host:?} is not a TLS server name"))?;
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .with_context(|| format!("TLS handshake with {host}:{port}"))?;
    Ok(Box::new(tls))
}
