//! TLS for the listener: the certificate and key files, reloaded when they change (rotation
//! without a restart), and a stream whose writes reach the socket before they complete.

use crate::config::TlsFiles;
use crate::metrics::{Metrics, ReloadLabels};
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll, ready};
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// How often the files are checked for a change.
pub(crate) const RELOAD_EVERY: Duration = Duration::from_secs(1);

/// The listener's TLS: an acceptor whose certificate is swapped when the files change.
pub(crate) struct Tls {
    acceptor: TlsAcceptor,
    current: Arc<Current>,
}

/// The certificate in use, read by every handshake.
#[derive(Debug)]
struct Current {
    key: RwLock<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for Current {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.key.read().unwrap_or_else(|e| e.into_inner()).clone())
    }
}

/// What identifies a version of a file: a rotation replaces or rewrites it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    #[cfg(unix)]
    inode: u64,
}

fn stamp(path: &Path) -> io::Result<Stamp> {
    let m = std::fs::metadata(path)?;
    Ok(Stamp {
        modified: m.modified().ok(),
        len: m.len(),
        #[cfg(unix)]
        inode: std::os::unix::fs::MetadataExt::ino(&m),
    })
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads and checks a certificate chain and its key: both parse, and the key is the
/// certificate's.
fn load(files: &TlsFiles, provider: &CryptoProvider) -> Result<CertifiedKey, String> {
    let (cert, key) = (files.cert.display(), files.key.display());
    let pem = std::fs::read(&files.cert).map_err(|e| format!("reading {cert}: {e}"))?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{cert} is not a PEM certificate chain: {e}"))?;
    if chain.is_empty() {
        return Err(format!("{cert} holds no CERTIFICATE block"));
    }
    let pem = std::fs::read(&files.key).map_err(|e| format!("reading {key}: {e}"))?;
    let der = PrivateKeyDer::from_pem_slice(&pem)
        .map_err(|e| format!("{key} holds no PEM private key: {e}"))?;
    let signer = provider
        .key_provider
        .load_private_key(der)
        .map_err(|e| format!("{key}: unusable private key: {e}"))?;
    let certified = CertifiedKey::new(chain, signer);
    certified
        .keys_match()
        .map_err(|e| format!("{key} is not the key of {cert}: {e}"))?;
    Ok(certified)
}

impl Tls {
    /// Loads the files; a missing, unreadable or mismatched file is an error naming it.
    pub(crate) fn new(files: &TlsFiles) -> io::Result<Self> {
        let provider = provider();
        let key = load(files, &provider)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("TLS setup: {e}")))?;
        let current = Arc::new(Current {
            key: RwLock::new(Arc::new(key)),
        });
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| io::Error::other(format!("TLS setup: {e}")))?
            .with_no_client_auth()
            .with_cert_resolver(current.clone());
        // HTTP/1.1 only, as over plain TCP: WebSocket upgrades are HTTP/1.1.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            current,
        })
    }

    pub(crate) fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }

    /// Checks the files every [`RELOAD_EVERY`] and swaps the certificate when they changed
    /// and load. Handshakes from then on use the new one; open connections keep their
    /// session. Files that fail to load (a rotation half done: new certificate, old key)
    /// leave the old certificate in use and are tried again once they change again.
    pub(crate) fn watch(&self, files: TlsFiles, metrics: Arc<Metrics>) -> JoinHandle<()> {
        let current = self.current.clone();
        tokio::spawn(async move {
            let provider = provider();
            let stamps = |f: &TlsFiles| (stamp(&f.cert).ok(), stamp(&f.key).ok());
            let mut seen = stamps(&files);
            let mut tick = tokio::time::interval(RELOAD_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let now = stamps(&files);
                if now == seen {
                    continue;
                }
                seen = now;
                // Small files: read in place rather than on the blocking pool.
                let result = match load(&files, &provider) {
                    Ok(key) => {
                        *current.key.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(key);
                        tracing::info!(cert = %files.cert.display(), "TLS certificate reloaded");
                        "ok"
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "TLS files changed but do not load; keeping the certificate in use");
                        "error"
                    }
                };
                metrics
                    .edge_tls_reloads
                    .get_or_create(&ReloadLabels { result })
                    .inc();
            }
        })
    }
}

/// A TLS stream whose writes complete only once their bytes are in the socket.
///
/// rustls takes plaintext into its own buffer and a write may return with the encrypted
/// record still there (the socket was full); it leaves when the stream is written or flushed
/// again. Over plain TCP the server's WebSocket writer never flushes (a write is in the
/// kernel when it returns), so a record left behind would wait for the next message. Here a
/// write flushes before it reports the bytes taken; until then it is pending, and its caller
/// calls again with the same bytes, which are not taken twice.
pub(crate) struct WriteThrough<S> {
    inner: S,
    /// Bytes of the last write taken in but not yet reported (their flush was pending).
    taken: Option<usize>,
}

impl<S> WriteThrough<S> {
    pub(crate) fn new(inner: S) -> Self {
        WriteThrough { inner, taken: None }
    }
}

impl<S: AsyncWrite + Unpin> WriteThrough<S> {
    fn finish(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        match ready!(Pin::new(&mut self.inner).poll_flush(cx)) {
            Ok(()) => Poll::Ready(Ok(self.taken.take().unwrap_or(0))),
            Err(e) => {
                self.taken = None;
                Poll::Ready(Err(e))
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteThrough<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteThrough<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.taken.is_none() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, buf))?;
            self.taken = Some(n);
        }
        self.finish(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.taken.is_none() {
            let n = ready!(Pin::new(&mut self.inner).poll_write_vectored(cx, bufs))?;
            self.taken = Some(n);
        }
        self.finish(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn files(dir: &Path, name: &str, cert: &str, key: &str) -> TlsFiles {
        let files = TlsFiles {
            cert: dir.join(format!("{name}.crt")),
            key: dir.join(format!("{name}.key")),
        };
        std::fs::write(&files.cert, cert).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&files.key, key).unwrap_or_else(|e| panic!("{e}"));
        files
    }

    fn self_signed(name: &str) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
        let cert = rcgen::CertificateParams::new(vec![name.to_owned()])
            .and_then(|p| p.self_signed(&key))
            .unwrap_or_else(|e| panic!("{e}"));
        (cert.pem(), key.serialize_pem())
    }

    #[test]
    fn bad_files_are_refused_with_their_name() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let (cert, key) = self_signed("a.test");
        let (_, other_key) = self_signed("b.test");
        let err = |f: &TlsFiles| match Tls::new(f) {
            Ok(_) => panic!("{f:?} loaded"),
            Err(e) => e.to_string(),
        };
        let missing = TlsFiles {
            cert: dir.path().join("none.crt"),
            key: dir.path().join("none.key"),
        };
        assert!(err(&missing).contains("none.crt"), "{}", err(&missing));
        let f = files(dir.path(), "swapped", &key, &cert);
        assert!(err(&f).contains("swapped.crt"), "{}", err(&f));
        let f = files(dir.path(), "mismatch", &cert, &other_key);
        assert!(err(&f).contains("is not the key of"), "{}", err(&f));
        let f = files(dir.path(), "good", &cert, &key);
        assert!(Tls::new(&f).is_ok());
    }

    /// A reader slower than the writer: without write-through the last record would stay in
    /// rustls's buffer, since the writer never flushes.
    #[tokio::test]
    async fn writes_reach_the_peer_without_a_flush() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let (cert, key) = self_signed("a.test");
        let tls = Tls::new(&files(dir.path(), "a", &cert, &key)).unwrap_or_else(|e| panic!("{e}"));
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(cert.as_bytes()) {
            roots
                .add(c.unwrap_or_else(|e| panic!("{e}")))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let client = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap_or_else(|e| panic!("{e}"))
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
        let (a, b) = tokio::io::duplex(512);
        let name =
            rustls_pki_types::ServerName::try_from("a.test").unwrap_or_else(|e| panic!("{e}"));
        let (server, client) = tokio::join!(tls.acceptor().accept(a), connector.connect(name, b));
        let mut server = WriteThrough::new(server.unwrap_or_else(|e| panic!("{e}")));
        let mut client = client.unwrap_or_else(|e| panic!("{e}"));
        const N: usize = 64 * 1024;
        let writer = async {
            for chunk in vec![7u8; N].chunks(1000) {
                let mut done = 0;
                while done < chunk.len() {
                    done += server
                        .write(&chunk[done..])
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                }
            }
            // No flush: park the stream, as an idle connection's writer does.
            server
        };
        let reader = async {
            let mut got = vec![0u8; N];
            client.read_exact(&mut got).await.map(|_| got)
        };
        let (server, got) = tokio::time::timeout(Duration::from_secs(10), async {
            tokio::join!(writer, reader)
        })
        .await
        .unwrap_or_else(|_| panic!("the last bytes never arrived"));
        assert!(
            got.unwrap_or_else(|e| panic!("{e}"))
                .iter()
                .all(|b| *b == 7)
        );
        drop(server);
    }
}
