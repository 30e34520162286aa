//! Shared artifacts: verified bytes kept where every replica can read them, so an artifact
//! verified once is downloaded from the upstream once for the whole cluster.
//!
//! Owns: the seam over where shared bytes live ([`SharedArtifacts`], chosen by
//! `--artifacts`): an S3-compatible bucket or a directory every replica mounts, both through
//! `object_store` (its `AmazonS3` and `LocalFileSystem`), keyed `<prefix>/<ab>/<sha256>` like
//! the data directory; uploading a verified file with bounded memory ([`Blobs::put_file`]);
//! and reading an object back into a local file, streamed, keeping it only when its bytes
//! hash to its key ([`Blobs::fetch_verified`]).
//! Must not: decide, fetch from the upstream, or hand out bytes it has not verified.
//!
//! Memory: a read holds one network chunk and a 256 KiB write buffer; an upload holds at
//! most [`PART_BYTES`] × 3 (one part filling, two in flight), and at most
//! [`UPLOADS_AT_ONCE`] uploads run at once per process, so shared storage adds at most
//! 96 MiB whatever the artifacts' sizes.
//!
//! A directory on a shared mount is written the way `object_store` writes a local file: to
//! `<final path>#<n>` in the same directory (created with `O_EXCL`, so two replicas never
//! share a staging file), then renamed over the final name. Rename within a directory is
//! atomic on local file systems and NFS, so a reader sees the whole object or none.

use crate::model::Sha256;
use futures_util::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, WriteMultipart};
use sha2::Digest;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The size of one multipart-upload part (S3 wants at least 5 MiB but for the last).
pub(crate) const PART_BYTES: usize = 8 << 20;
/// Parts uploading at once within one upload.
const PARTS_IN_FLIGHT: usize = 2;
/// Uploads running at once in one process.
pub(crate) const UPLOADS_AT_ONCE: usize = 4;

/// Where verified artifacts are shared between replicas (`--artifacts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SharedArtifacts {
    /// A directory every replica mounts (`--artifacts /mnt/pipgate-artifacts`).
    Dir(PathBuf),
    /// An S3-compatible bucket (`--artifacts s3://bucket/prefix`).
    S3(S3Location),
}

/// A bucket, a key prefix and how to reach it. Credentials come from the usual `AWS_*`
/// environment variables (never from flags, never logged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// Key prefix without leading or trailing `/` (may be empty).
    pub prefix: String,
    /// `--s3-endpoint`; else `AWS_ENDPOINT_URL`, else the provider's default for the region.
    pub endpoint: Option<String>,
    /// `--s3-region`; else `AWS_REGION` / `AWS_DEFAULT_REGION`.
    pub region: Option<String>,
    /// `--dangerous-s3-allow-http`: allow a plain-HTTP endpoint.
    pub dangerous_allow_http: bool,
}

/// Why shared storage could not be set up or used, with whose fault it is.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The operator's configuration.
    #[error("{flag} {value:?}: {reason}")]
    Config { flag: &'static str, value: String, reason: String },
    /// The storage service or mount (the operator's infrastructure).
    #[error("shared artifact store {store}: {op} {key}: {reason}")]
    Store { store: String, op: &'static str, key: String, reason: String },
    /// This machine's disk.
    #[error("local file {path}: {source}")]
    Local { path: PathBuf, source: std::io::Error },
}

impl SharedArtifacts {
    /// `s3://bucket[/prefix]` or a directory path (absolute, or relative to the working directory).
    pub fn parse(
        raw: &str,
        endpoint: Option<&str>,
        region: Option<&str>,
        dangerous_allow_http: bool,
    ) -> Result<SharedArtifacts, BlobError> {
        let raw = raw.trim();
        let bad = |reason: &str| BlobError::Config { flag: "--artifacts", value: raw.into(), reason: reason.into() };
        if let Some(rest) = raw.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let valid_bucket = (3..=63).contains(&bucket.len())
                && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
            if !valid_bucket {
                return Err(bad(
                    "expected s3://BUCKET[/PREFIX] with a bucket name of 3-63 lowercase letters, digits, '-' or '.'",
                ));
            }
            let prefix = prefix.trim_matches('/');
            if prefix.split('/').any(|p| p.is_empty() || p == "." || p == "..") && !prefix.is_empty() {
                return Err(bad("the prefix must not hold empty, '.' or '..' segments"));
            }
            return Ok(SharedArtifacts::S3(S3Location {
                bucket: bucket.to_string(),
                prefix: prefix.to_string(),
                endpoint: endpoint.map(|e| e.trim().to_string()).filter(|e| !e.is_empty()),
                region: region.map(|r| r.trim().to_string()).filter(|r| !r.is_empty()),
                dangerous_allow_http,
            }));
        }
        if raw.is_empty() || raw.contains("://") {
            return Err(bad("expected s3://BUCKET[/PREFIX] or a directory path"));
        }
        Ok(SharedArtifacts::Dir(PathBuf::from(raw)))
    }
}

/// What reading an object back gave.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Fetched {
    /// The object's bytes hash to its key and are now at the destination (its length).
    Verified(u64),
    /// No such object.
    Absent,
    /// The object's bytes do not hash to its key (tampered or truncated): nothing was kept.
    Corrupt { computed: String, len: u64 },
    /// Larger than the limit: nothing was kept.
    TooLarge,
}

/// Shared storage for verified artifacts.
pub(crate) struct Blobs {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    /// Where, for logs (no credentials).
    describe: String,
    uploads: tokio::sync::Semaphore,
}

impl Blobs {
    /// Open the configured store (no request is sent yet); S3 settings start from the `AWS_*`
    /// environment variables.
    pub(crate) fn open(cfg: &SharedArtifacts) -> Result<Blobs, BlobError> {
        Self::open_with(cfg, object_store::aws::AmazonS3Builder::from_env())
    }

    /// [`Blobs::open`] with S3 settings starting from `base` instead of the environment.
    fn open_with(cfg: &SharedArtifacts, base: object_store::aws::AmazonS3Builder) -> Result<Blobs, BlobError> {
        let (store, prefix, describe): (Arc<dyn ObjectStore>, String, String) = match cfg {
            SharedArtifacts::Dir(dir) => {
                let local = |e: std::io::Error| BlobError::Local { path: dir.clone(), source: e };
                std::fs::create_dir_all(dir).map_err(local)?;
                let fs = object_store::local::LocalFileSystem::new_with_prefix(dir).map_err(|e| BlobError::Config {
                    flag: "--artifacts",
                    value: dir.display().to_string(),
                    reason: e.to_string(),
                })?;
                (Arc::new(fs), String::new(), dir.display().to_string())
            }
            SharedArtifacts::S3(s3) => (Arc::new(s3_store(s3, base)?), s3.prefix.clone(), s3.describe()),
        };
        Ok(Blobs { store, prefix, describe, uploads: tokio::sync::Semaphore::new(UPLOADS_AT_ONCE) })
    }

    pub(crate) fn describe(&self) -> &str {
        &self.describe
    }

    fn key(&self, sha256: &Sha256) -> ObjectPath {
        let key = format!("{}/{}", sha256.prefix(), sha256.as_str());
        match self.prefix.as_str() {
            "" => ObjectPath::from(key),
            p => ObjectPath::from(format!("{p}/{key}")),
        }
    }

    fn store_error(&self, op: &'static str, sha256: &Sha256, e: impl std::fmt::Display) -> BlobError {
        BlobError::Store { store: self.describe.clone(), op, key: self.key(sha256).to_string(), reason: e.to_string() }
    }

    /// Upload the verified file at `src` under `sha256` (replacing what was there): one PUT
    /// for a file up to one part, else a multipart upload read from the file part by part.
    pub(crate) async fn put_file(&self, sha256: &Sha256, src: &Path) -> Result<(), BlobError> {
        let _slot = self.uploads.acquire().await.map_err(|e| self.store_error("put", sha256, e))?;
        let local = |e: std::io::Error| BlobError::Local { path: src.to_path_buf(), source: e };
        let key = self.key(sha256);
        let mut file = tokio::fs::File::open(src).await.map_err(local)?;
        let len = file.metadata().await.map_err(local)?.len();
        if len <= PART_BYTES as u64 {
            let mut buf = Vec::with_capacity(len as usize);
            file.read_to_end(&mut buf).await.map_err(local)?;
            self.store.put(&key, buf.into()).await.map_err(|e| self.store_error("put", sha256, e))?;
            return Ok(());
        }
        let upload = self.store.put_multipart(&key).await.map_err(|e| self.store_error("start upload", sha256, e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        let mut buf = vec![0u8; 256 << 10];
        loop {
            let n = match file.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(local(e));
                }
            };
            if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                let _ = writer.abort().await;
                return Err(self.store_error("upload part", sha256, e));
            }
            writer.write(&buf[..n]);
        }
        writer.finish().await.map_err(|e| self.store_error("finish upload", sha256, e))?;
        Ok(())
    }

    /// Stream the object stored under `sha256` into `dest` (created or truncated), hashing
    /// as it goes; `dest` keeps the bytes only when they hash to `sha256` and are at most
    /// `max_bytes` long, and is removed otherwise.
    pub(crate) async fn fetch_verified(
        &self,
        sha256: &Sha256,
        dest: &Path,
        max_bytes: u64,
    ) -> Result<Fetched, BlobError> {
        let got = match self.store.get(&self.key(sha256)).await {
            Ok(g) => g,
            Err(object_store::Error::NotFound { .. }) => return Ok(Fetched::Absent),
            Err(e) => return Err(self.store_error("get", sha256, e)),
        };
        if got.meta.size > max_bytes {
            return Ok(Fetched::TooLarge);
        }
        let result = self.copy_hashing(got.into_stream(), sha256, dest, max_bytes).await;
        if !matches!(result, Ok(Fetched::Verified(_))) {
            let _ = tokio::fs::remove_file(dest).await;
        }
        result
    }

    async fn copy_hashing(
        &self,
        mut body: futures_util::stream::BoxStream<'static, object_store::Result<bytes::Bytes>>,
        sha256: &Sha256,
        dest: &Path,
        max_bytes: u64,
    ) -> Result<Fetched, BlobError> {
        let local = |e: std::io::Error| BlobError::Local { path: dest.to_path_buf(), source: e };
        let file = tokio::fs::File::create(dest).await.map_err(local)?;
        let mut out = tokio::io::BufWriter::with_capacity(256 << 10, file);
        let mut hasher = sha2::Sha256::new();
        let mut len = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| self.store_error("read", sha256, e))?;
            len += chunk.len() as u64;
            if len > max_bytes {
                return Ok(Fetched::TooLarge);
            }
            hasher.update(&chunk);
            out.write_all(&chunk).await.map_err(local)?;
        }
        out.flush().await.map_err(local)?;
        let computed = Sha256::from_bytes(hasher.finalize().into());
        if computed != *sha256 {
            return Ok(Fetched::Corrupt { computed: computed.to_string(), len });
        }
        Ok(Fetched::Verified(len))
    }
}

impl S3Location {
    /// `s3://bucket/prefix at ENDPOINT` for logs (no credentials: they are never in these fields).
    fn describe(&self) -> String {
        let mut d = format!("s3://{}", self.bucket);
        if !self.prefix.is_empty() {
            d.push('/');
            d.push_str(&self.prefix);
        }
        if let Some(e) = &self.endpoint {
            d.push_str(&format!(" at {}", crate::config::redact_str(e)));
        }
        d
    }
}

/// The S3 client: `AWS_*` variables first, then the flags; plain HTTP only with
/// `--dangerous-s3-allow-http` (whatever `AWS_ALLOW_HTTP` says); few, short retries so a
/// dead store costs a request seconds, not minutes (the upstream is the fallback).
fn s3_store(
    s3: &S3Location,
    base: object_store::aws::AmazonS3Builder,
) -> Result<object_store::aws::AmazonS3, BlobError> {
    use object_store::aws::AmazonS3ConfigKey;
    let mut b = base.with_bucket_name(&s3.bucket);
    if let Some(e) = &s3.endpoint {
        b = b.with_endpoint(e);
    }
    if let Some(r) = &s3.region {
        b = b.with_region(r);
    }
    let endpoint = b.get_config_value(&AmazonS3ConfigKey::Endpoint).unwrap_or_default();
    if endpoint.to_ascii_lowercase().starts_with("http://") && !s3.dangerous_allow_http {
        return Err(BlobError::Config {
            flag: "--s3-endpoint",
            value: crate::config::redact_str(&endpoint),
            reason: "a plain-HTTP endpoint sends artifacts and signed requests in clear: use https, or pass \
                     --dangerous-s3-allow-http (a test server on this machine only)"
                .into(),
        });
    }
    let retry = object_store::RetryConfig {
        max_retries: 2,
        retry_timeout: std::time::Duration::from_secs(10),
        ..Default::default()
    };
    b.with_allow_http(s3.dangerous_allow_http).with_retry(retry).build().map_err(|e| BlobError::Config {
        flag: "--artifacts",
        value: s3.describe(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests;
