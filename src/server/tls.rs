//! TLS for the front ends: which certificate answers a handshake, and the acceptor.
//!
//! Owns: the server identity ([`Names`] minted by pipgate's CA and re-minted when the cache
//! lets a leaf go, or a bring-your-own certificate), ALPN (`h2`, `http/1.1`: exactly what the
//! connection builder serves), and the rustls configuration (ring, TLS 1.2 and 1.3).
//! Must not: read files or decide; the certificates come from [`crate::certs`].

use crate::certs::{Ca, Identity};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::sync::Arc;

/// Host names (DNS names or IP addresses) one leaf is minted for.
#[derive(Debug, Clone)]
pub(crate) struct Names(Vec<String>);

impl Names {
    pub(crate) fn one(host: &str) -> Names {
        Names(vec![host.to_string()])
    }

    pub(crate) fn new(names: Vec<String>) -> Names {
        let mut seen = std::collections::BTreeSet::new();
        Names(names.into_iter().filter(|n| !n.is_empty() && seen.insert(n.to_ascii_lowercase())).collect())
    }

    pub(crate) fn as_slice(&self) -> &[String] {
        &self.0
    }

    pub(crate) fn resolver(&self, ca: Arc<Ca>) -> ServerCert {
        ServerCert(Source::Minted { ca, names: self.clone() })
    }
}

/// Where a handshake's certificate comes from (`serve --tls`, and each inspected host).
#[derive(Debug, Clone)]
pub struct ServerCert(Source);

#[derive(Debug, Clone)]
enum Source {
    /// A leaf from pipgate's CA for these names (minted on first use, cached, re-minted).
    Minted { ca: Arc<Ca>, names: Names },
    /// A bring-your-own certificate and key.
    Fixed(Identity),
}

impl ServerCert {
    /// Leaves from `ca` for `names` (DNS names or IP addresses; duplicates dropped).
    pub fn minted(ca: Arc<Ca>, names: Vec<String>) -> ServerCert {
        Names::new(names).resolver(ca)
    }

    /// A bring-your-own certificate chain and key (PEM files).
    pub fn from_files(cert: &std::path::Path, key: &std::path::Path) -> Result<ServerCert, crate::certs::CertError> {
        crate::certs::load_identity(cert, key).map(|id| ServerCert(Source::Fixed(id)))
    }

    /// The names a minted leaf carries (empty for a bring-your-own certificate), for logs.
    pub fn names(&self) -> Vec<String> {
        match &self.0 {
            Source::Minted { names, .. } => names.as_slice().to_vec(),
            Source::Fixed(_) => Vec::new(),
        }
    }

    /// Whether a certificate can be had now (minting one if needed): for start-up checks.
    pub fn check(&self) -> Result<(), crate::certs::CertError> {
        self.identity().map(drop)
    }

    /// The identity now (mints when needed); errors are logged by the caller.
    pub(crate) fn identity(&self) -> Result<Identity, crate::certs::CertError> {
        match &self.0 {
            Source::Minted { ca, names } => ca.leaf(names.as_slice()),
            Source::Fixed(id) => Ok(id.clone()),
        }
    }
}

#[derive(Debug)]
struct Resolver(ServerCert);

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        match self.0.identity() {
            Ok(id) => Some(id),
            Err(e) => {
                tracing::error!(error = %e, "no certificate for a TLS handshake");
                None
            }
        }
    }
}

/// A TLS acceptor answering with `cert`, offering `h2` and `http/1.1`.
pub(crate) fn acceptor(cert: &ServerCert) -> Result<tokio_rustls::TlsAcceptor, rustls::Error> {
    // Fail now (at start-up for `--tls`) rather than at the first handshake.
    cert.identity().map_err(|e| rustls::Error::General(e.to_string()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Resolver(cert.clone())));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}
