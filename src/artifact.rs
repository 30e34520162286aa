//! Artifacts: download once, verify against the index's hash, keep content-addressed.
//!
//! Owns: streaming an upstream file to disk while hashing it (never whole in memory),
//! refusing bytes whose hash disagrees with the index, and extracting a wheel's core metadata for `.metadata`.
//! Must not: decide whether bytes are served (that is `gate`), or parse pages.

use crate::config::DataDir;
use crate::error::ProxyError;
use crate::model::Sha256 as Digest256;
use crate::model::{FileOrigin, Verified};
use crate::store::OriginStore;
use crate::upstream::Upstream;
use sha2::{Digest, Sha256, Sha384, Sha512};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use url::Url;

pub(crate) struct Artifacts {
    dirs: DataDir,
    upstream: Upstream,
    store: Arc<dyn OriginStore>,
    max_bytes: u64,
    tmp_counter: AtomicU64,
}

/// The digest the index promised, in the strongest algorithm we can check (well-formed
/// digests only: the page parser drops others, and the store may predate it).
fn expected_digest(hashes: &std::collections::BTreeMap<String, String>) -> Option<(&'static str, String)> {
    for algo in ["sha256", "sha512", "sha384"] {
        if let Some(h) = hashes.get(algo).map(|h| h.to_ascii_lowercase()) {
            if crate::index::page::valid_hash(algo, &h) {
                return Some((algo, h));
            }
        }
    }
    None
}

enum Hasher {
    Sha384(Sha384),
    Sha512(Sha512),
}

impl Artifacts {
    pub(crate) fn new(dirs: DataDir, upstream: Upstream, store: Arc<dyn OriginStore>, max_bytes: u64) -> Self {
        Artifacts { dirs, upstream, store, max_bytes, tmp_counter: AtomicU64::new(0) }
    }

    pub(crate) fn path(&self, sha256: &Digest256) -> PathBuf {
        self.dirs.artifact(sha256)
    }

    /// Make sure the verified bytes for `origin` are on disk. Call under the file's single-flight guard.
    pub(crate) async fn ensure(&self, origin: &FileOrigin) -> Result<Verified, ProxyError> {
        if let Some(v) = self.store.verified(&origin.key).await.map_err(ProxyError::internal)? {
            if self.dirs.artifact(&v.sha256).exists() {
                return Ok(v);
            }
        }
        // A sha256-keyed file may already be here from another listing (same bytes).
        let promised = expected_digest(&origin.hashes)
            .and_then(|(algo, h)| Digest256::parse(&h).ok().filter(|_| algo == "sha256"));
        let sha256 = match promised {
            Some(h) if self.dirs.artifact(&h).exists() => h,
            _ => self.download(origin).await?,
        };
        let metadata_sha256 = self.extract_metadata(&sha256, &origin.filename).await;
        let v = Verified { sha256, metadata_sha256 };
        self.store.set_verified(&origin.key, &v).await.map_err(ProxyError::internal)?;
        Ok(v)
    }

    async fn download(&self, origin: &FileOrigin) -> Result<Digest256, ProxyError> {
        let url = Url::parse(&origin.url).map_err(|e| ProxyError::internal(format!("stored URL is invalid: {e}")))?;
        let resp = self.upstream.fetch_file(&url).await?;
        if resp.content_length().is_some_and(|l| l > self.max_bytes) {
            return Err(ProxyError::TooLarge { filename: origin.filename.clone(), limit: self.max_bytes });
        }
        let n = self.tmp_counter.fetch_add(1, Ordering::Relaxed);
        let tmp = self.dirs.tmp().join(format!(
            "{}.{}.{n}.part",
            std::process::id(),
            &origin.key[..origin.key.len().min(16)]
        ));
        let result = self.stream_to(resp, &tmp, origin).await;
        match result {
            Ok(sha256) => {
                let dest = self.dirs.artifact(&sha256);
                if let Some(parent) = dest.parent() {
                    tokio::fs::create_dir_all(parent).await?;
                }
                tokio::fs::rename(&tmp, &dest).await?;
                Ok(sha256)
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                Err(e)
            }
        }
    }

    /// Stream the body to `tmp`, hashing as it goes; verify the promised digest.
    async fn stream_to(
        &self,
        mut resp: reqwest::Response,
        tmp: &Path,
        origin: &FileOrigin,
    ) -> Result<Digest256, ProxyError> {
        let expected = expected_digest(&origin.hashes);
        let mut sha256 = Sha256::new();
        let mut other = match expected.as_ref().map(|(a, _)| *a) {
            Some("sha384") => Some(Hasher::Sha384(Sha384::new())),
            Some("sha512") => Some(Hasher::Sha512(Sha512::new())),
            _ => None,
        };
        let file = tokio::fs::File::create(tmp).await?;
        let mut out = tokio::io::BufWriter::with_capacity(256 * 1024, file);
        let mut received: u64 = 0;
        loop {
            let chunk = match resp.chunk().await {
                Ok(Some(c)) => c,
                Ok(None) => break,
                Err(e) => {
                    return Err(ProxyError::TransferBroken {
                        filename: origin.filename.clone(),
                        received,
                        reason: crate::upstream::describe(&e.without_url()),
                    })
                }
            };
            received += chunk.len() as u64;
            if received > self.max_bytes {
                return Err(ProxyError::TooLarge { filename: origin.filename.clone(), limit: self.max_bytes });
            }
            sha256.update(&chunk);
            match other.as_mut() {
                Some(Hasher::Sha384(h)) => h.update(&chunk),
                Some(Hasher::Sha512(h)) => h.update(&chunk),
                None => {}
            }
            out.write_all(&chunk).await?;
        }
        out.flush().await?;
        let sha256 = Digest256::from_bytes(sha256.finalize().into());
        let computed_expected_algo = match other {
            Some(Hasher::Sha384(h)) => hex::encode(h.finalize()),
            Some(Hasher::Sha512(h)) => hex::encode(h.finalize()),
            None => sha256.to_string(),
        };
        if let Some((algorithm, want)) = expected {
            if computed_expected_algo != want {
                return Err(ProxyError::HashMismatch {
                    filename: origin.filename.clone(),
                    algorithm: algorithm.to_string(),
                    expected: want,
                    computed: computed_expected_algo,
                });
            }
        }
        Ok(sha256)
    }

    /// Extract `*.dist-info/METADATA` from a verified wheel into `<sha>.metadata`; returns its sha256.
    async fn extract_metadata(&self, sha256: &Digest256, filename: &str) -> Option<String> {
        if !filename.ends_with(".whl") {
            return None;
        }
        let src = self.dirs.artifact(sha256);
        let dest = self.dirs.artifact_metadata(sha256);
        tokio::task::spawn_blocking(move || {
            let bytes = wheel_metadata(&src)?;
            std::fs::write(&dest, &bytes).ok()?;
            Some(hex::encode(Sha256::digest(&bytes)))
        })
        .await
        .ok()
        .flatten()
    }

    /// Core metadata bytes for a file: ours (extracted) when they match what the page promised,
    /// else the upstream's `.metadata`, verified against the promise.
    pub(crate) async fn metadata(&self, origin: &FileOrigin, v: &Verified) -> Result<Option<Vec<u8>>, ProxyError> {
        let promised = origin.core_metadata.as_ref().and_then(|m| m.get("sha256")).and_then(|h| h.as_str());
        let local = v.metadata_sha256.as_deref();
        let use_local = match (promised, local) {
            (Some(p), Some(l)) => p.eq_ignore_ascii_case(l),
            (None, Some(_)) => true,
            _ => false,
        };
        if use_local {
            return Ok(Some(tokio::fs::read(self.dirs.artifact_metadata(&v.sha256)).await?));
        }
        if origin.core_metadata.is_none() {
            return Ok(None);
        }
        let url = Url::parse(&format!("{}.metadata", origin.url)).map_err(ProxyError::internal)?;
        let resp = self.upstream.fetch_file(&url).await?;
        let bytes = resp.bytes().await.map_err(|e| self.upstream.transport_error(&url, e))?;
        if let Some(p) = promised {
            let got = hex::encode(Sha256::digest(&bytes));
            if !got.eq_ignore_ascii_case(p) {
                return Err(ProxyError::HashMismatch {
                    filename: format!("{}.metadata", origin.filename),
                    algorithm: "sha256".into(),
                    expected: p.to_string(),
                    computed: got,
                });
            }
        }
        Ok(Some(bytes.to_vec()))
    }
}

/// Read `<name>.dist-info/METADATA` (top level) from a wheel, at most 16 MiB.
pub(crate) fn wheel_metadata(path: &Path) -> Option<Vec<u8>> {
    let file = std::fs::File::open(path).ok()?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file)).ok()?;
    let name = zip
        .file_names()
        .find(|n| {
            let mut parts = n.split('/');
            matches!((parts.next(), parts.next(), parts.next()), (Some(d), Some("METADATA"), None) if d.ends_with(".dist-info"))
        })?
        .to_string();
    let member = zip.by_name(&name).ok()?;
    let mut out = Vec::new();
    member.take(16 << 20).read_to_end(&mut out).ok()?;
    Some(out)
}
