//! Certificates: pipgate's own certificate authority (`pipgate ca init`), the leaf
//! certificates it mints per host name for interception and HTTPS serving (cached), a
//! bring-your-own certificate for HTTPS serving, and the combined trust bundle
//! (`pipgate ca bundle`: the roots the upstream client trusts, plus the CA).
//!
//! The CA: `basicConstraints` critical CA:TRUE with path length 0 (it signs leaves only),
//! `keyUsage` keyCertSign + cRLSign, a subject naming pipgate and the host, valid
//! [`CA_VALIDITY_DAYS`]. Its key is written with mode 0600 and never replaced without
//! `force`. Leaves: one SAN per name (DNS or IP), CA:FALSE, EKU serverAuth, AKI = the CA's
//! SKI, valid [`LEAF_VALIDITY_DAYS`] (an hour back for clock skew), kept in a bounded cache
//! for less than their validity.
//! Must not: open sockets, decide, or let key material reach a log line or an error text.

use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// The CA certificate's file name in the CA directory.
pub(crate) const CA_CERT_FILE: &str = "ca.pem";
/// The CA key's file name in the CA directory (mode 0600).
pub(crate) const CA_KEY_FILE: &str = "ca-key.pem";
/// How long a new CA is valid.
pub(crate) const CA_VALIDITY_DAYS: i64 = 5 * 365;
/// How long a minted leaf is valid (short: leaves are minted again at will).
pub(crate) const LEAF_VALIDITY_DAYS: i64 = 7;
/// A minted leaf is reused for at most this long (well inside its validity).
const LEAF_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// What went wrong with certificates, naming the file; all of them are the operator's to fix.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("{path}: a CA already exists here; pass --force to replace it (clients that trust the old CA will then refuse pipgate)")]
    Exists { path: PathBuf },
    #[error("{path}: no usable pipgate CA ({reason}); create one with `pipgate ca init --dir {dir}`")]
    Missing { path: PathBuf, dir: PathBuf, reason: String },
    #[error("{path}: not a valid {what} ({reason})")]
    Invalid { path: PathBuf, what: &'static str, reason: String },
    #[error("writing {path}: {reason}")]
    Write { path: PathBuf, reason: String },
    #[error("minting a certificate for {names}: {reason}")]
    Mint { names: String, reason: String },
    #[error("reading the system trust store: {reason}")]
    Roots { reason: String },
}

/// The host's name, for the CA's subject (falls back to `localhost`).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

fn write_err(path: &Path) -> impl FnOnce(std::io::Error) -> CertError + '_ {
    move |e| CertError::Write { path: path.to_path_buf(), reason: e.to_string() }
}

/// Write `bytes` to `path` through a temporary file created with `mode`, then rename.
fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), CertError> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    opts.mode(mode);
    let mut f = opts.open(&tmp).map_err(write_err(&tmp))?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(write_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(write_err(path))
}

/// What `ca init` made.
#[derive(Debug)]
pub struct CaCreated {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub subject: String,
    pub not_after: String,
}

/// Create a CA in `dir` (created 0700 if missing). An existing key or certificate is kept
/// unless `force`.
pub fn init_ca(dir: &Path, force: bool) -> Result<CaCreated, CertError> {
    let cert_path = dir.join(CA_CERT_FILE);
    let key_path = dir.join(CA_KEY_FILE);
    if !force {
        if let Some(p) = [&key_path, &cert_path].into_iter().find(|p| p.exists()) {
            return Err(CertError::Exists { path: p.clone() });
        }
    }
    std::fs::create_dir_all(dir).map_err(write_err(dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(write_err(dir))?;
    }
    let subject = format!("pipgate CA on {}", host_name());
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, subject.clone());
    params.distinguished_name.push(DnType::OrganizationName, "pipgate");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::hours(1);
    params.not_after = now + Duration::days(CA_VALIDITY_DAYS);
    params.serial_number = Some(random_serial());
    let mint = |e: rcgen::Error| CertError::Mint { names: subject.clone(), reason: e.to_string() };
    let key = KeyPair::generate().map_err(mint)?;
    let cert = params.self_signed(&key).map_err(mint)?;
    write_file(&key_path, key.serialize_pem().as_bytes(), 0o600)?;
    write_file(&cert_path, cert.pem().as_bytes(), 0o644)?;
    Ok(CaCreated { cert: cert_path, key: key_path, subject, not_after: crate::timefmt::rfc3339(params.not_after) })
}

/// A random positive 16-byte serial number.
fn random_serial() -> rcgen::SerialNumber {
    let mut bytes = [0u8; 16];
    rustls::crypto::ring::default_provider().secure_random.fill(&mut bytes).expect("the system random source works");
    bytes[0] &= 0x7f;
    rcgen::SerialNumber::from_slice(&bytes)
}

/// A certificate and key for one TLS server identity, ready for rustls.
pub(crate) type Identity = Arc<CertifiedKey>;

fn certified(chain: Vec<CertificateDer<'static>>, key: &PrivateKeyDer<'_>) -> Result<Identity, String> {
    let signer = rustls::crypto::ring::sign::any_supported_type(key).map_err(|e| e.to_string())?;
    Ok(Arc::new(CertifiedKey::new(chain, signer)))
}

/// pipgate's CA, loaded, with its cache of minted leaves.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    cert_pem: String,
    leaves: moka::sync::Cache<String, Identity>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ca { .. }")
    }
}

impl Ca {
    /// Load the CA from `dir` (as `ca init` wrote it).
    pub fn load(dir: &Path) -> Result<Ca, CertError> {
        let cert_path = dir.join(CA_CERT_FILE);
        let key_path = dir.join(CA_KEY_FILE);
        let missing = |path: &Path, e: std::io::Error| CertError::Missing {
            path: path.to_path_buf(),
            dir: dir.to_path_buf(),
            reason: e.to_string(),
        };
        let cert_pem = std::fs::read_to_string(&cert_path).map_err(|e| missing(&cert_path, e))?;
        let key_pem = std::fs::read_to_string(&key_path).map_err(|e| missing(&key_path, e))?;
        // The key's own parse error could quote key bytes: say only what the file is not.
        let key = KeyPair::from_pem(&key_pem).map_err(|_| CertError::Invalid {
            path: key_path.clone(),
            what: "PEM private key",
            reason: "the key could not be parsed".into(),
        })?;
        let issuer = Issuer::from_ca_cert_pem(&cert_pem, key).map_err(|e| CertError::Invalid {
            path: cert_path.clone(),
            what: "PEM CA certificate",
            reason: e.to_string(),
        })?;
        let leaves = moka::sync::Cache::builder().max_capacity(10_000).time_to_live(LEAF_CACHE_TTL).build();
        Ok(Ca { issuer, cert_pem, leaves })
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// A leaf for `names` (DNS names or IP addresses; the first is the subject), minted now
    /// or reused from the cache.
    pub(crate) fn leaf(&self, names: &[String]) -> Result<Identity, CertError> {
        let key = names.join(",").to_ascii_lowercase();
        self.leaves.try_get_with(key, || self.mint(names).map(|(id, _)| id)).map_err(|e| (*e).clone_err())
    }

    /// Mint a leaf: the rustls identity and the certificate's PEM (for inspection and tests).
    pub(crate) fn mint(&self, names: &[String]) -> Result<(Identity, String), CertError> {
        let joined = names.join(", ");
        let err = |reason: String| CertError::Mint { names: joined.clone(), reason };
        let first = names.first().ok_or_else(|| err("no host name".into()))?;
        let mut params = CertificateParams::default();
        params.subject_alt_names = names
            .iter()
            .map(|n| match n.trim_matches(['[', ']']).parse::<std::net::IpAddr>() {
                Ok(ip) => Ok(SanType::IpAddress(ip)),
                Err(_) => n.as_str().try_into().map(SanType::DnsName).map_err(|e: rcgen::Error| err(e.to_string())),
            })
            .collect::<Result<_, _>>()?;
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, first.clone());
        params.distinguished_name.push(DnType::OrganizationName, "pipgate");
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::hours(1);
        params.not_after = now + Duration::days(LEAF_VALIDITY_DAYS);
        params.serial_number = Some(random_serial());
        let key = KeyPair::generate().map_err(|e| err(e.to_string()))?;
        let cert = params.signed_by(&key, &self.issuer).map_err(|e| err(e.to_string()))?;
        let key_der = PrivateKeyDer::try_from(key.serialize_der()).map_err(|e| err(e.to_string()))?;
        let id = certified(vec![cert.der().clone()], &key_der).map_err(err)?;
        Ok((id, cert.pem()))
    }
}

impl CertError {
    /// A copy (the leaf cache shares one error between waiting callers).
    fn clone_err(&self) -> CertError {
        match self {
            CertError::Mint { names, reason } => CertError::Mint { names: names.clone(), reason: reason.clone() },
            other => CertError::Mint { names: String::new(), reason: other.to_string() },
        }
    }
}

/// A bring-your-own certificate chain and key for HTTPS serving (`--tls-cert`, `--tls-key`).
pub(crate) fn load_identity(cert: &Path, key: &Path) -> Result<Identity, CertError> {
    let invalid = |path: &Path, what, reason: String| CertError::Invalid { path: path.to_path_buf(), what, reason };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(Iterator::collect::<Result<_, _>>)
        .map_err(|e| invalid(cert, "PEM certificate chain", e.to_string()))?;
    if chain.is_empty() {
        return Err(invalid(cert, "PEM certificate chain", "no CERTIFICATE block".into()));
    }
    let key_der =
        PrivateKeyDer::from_pem_file(key).map_err(|_| invalid(key, "PEM private key", "no usable key".into()))?;
    certified(chain, &key_der).map_err(|reason| invalid(key, "private key for this certificate", reason))
}

/// PEM text of one DER certificate.
fn pem_block(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// The combined bundle: every root the upstream client trusts (the system store, or
/// `SSL_CERT_FILE` / `SSL_CERT_DIR` when set, as rustls-native-certs reads them), then the
/// CA, as PEM. Duplicates are dropped. Returns the bundle and the number of system roots.
pub fn bundle(ca_pem: &str) -> Result<(String, usize), CertError> {
    let found = rustls_native_certs::load_native_certs();
    if found.certs.is_empty() {
        let reason = found.errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
        return Err(CertError::Roots {
            reason: if reason.is_empty() { "no certificates found".into() } else { reason },
        });
    }
    for e in &found.errors {
        tracing::warn!(error = %e, "part of the system trust store could not be read");
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = String::new();
    let mut n = 0;
    for c in &found.certs {
        if seen.insert(c.as_ref().to_vec()) {
            out.push_str(&pem_block(c));
            n += 1;
        }
    }
    let ca = CertificateDer::from_pem_slice(ca_pem.as_bytes())
        .map_err(|e| CertError::Roots { reason: format!("the pipgate CA is not PEM: {e}") })?;
    if seen.insert(ca.as_ref().to_vec()) {
        out.push_str("# pipgate CA\n");
        out.push_str(&pem_block(&ca));
    }
    Ok((out, n))
}

#[cfg(test)]
mod tests;
