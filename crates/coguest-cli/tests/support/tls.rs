//! Certificates made at test time (rcgen): a private CA and a server certificate it issued
//! for `localhost`, as the PEM files `--tls-cert`, `--tls-key` and `--ca-file` read.

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use std::path::{Path, PathBuf};

/// The files of a server certificate for `localhost` and of the CA that issued it.
pub struct TestCerts {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

impl TestCerts {
    /// Makes a new CA and a certificate for `localhost` it issued, written into `dir` as
    /// `server.crt`, `server.key` and `ca.pem`.
    pub fn new(dir: &Path) -> Self {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        let certs = TestCerts {
            cert: dir.join("server.crt"),
            key: dir.join("server.key"),
            ca: dir.join("ca.pem"),
        };
        std::fs::write(&certs.cert, leaf.pem()).unwrap();
        std::fs::write(&certs.key, key.serialize_pem()).unwrap();
        std::fs::write(&certs.ca, ca_pem).unwrap();
        certs
    }
}
