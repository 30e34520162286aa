//! Artifacts: download once, verify against the index's hash, keep content-addressed.
//!
//! Owns: streaming an upstream file to disk while hashing it (never whole in memory),
//! refusing bytes whose hash disagrees with the index, and extracting a wheel's core metadata for `.metadata` (and an sdist's `PKG-INFO` for the report page).
//!
//! A wheel's core metadata is derived data: read out of the verified wheel once it is in
//! place (its sha256 is what pages advertise), kept in bounded memory ([`CoreMetadata`]),
//! and read out of the wheel again when memory no longer holds it (after a restart, or
//! evicted), checked against the recorded sha256 before it is served. No file is written per
//! wheel (creating one cost about a millisecond of kernel time each on a cold install); a
//! `<sha256>.metadata` file an older version left beside the wheel is still read.
//! Must not: decide whether bytes are served (that is `gate`), or parse pages.
//!
//! A download runs as its own task, shared by every request waiting for the same file:
//! a client that disconnects does not cancel it, so the next request finds the file
//! cached (or joins the download still running). The bytes go to
//! `<data-dir>/tmp/<pid>.<key>.<n>.part`, which is always either renamed into place or
//! removed; `.part` files left by a process that died are removed at start-up
//! ([`clean_stale_parts`]). A download whose declared size is at most [`IN_MEMORY_MAX`]
//! (most pure-Python wheels) is received into memory instead, hashed as it arrives, and once
//! verified written, renamed into place and its core metadata read in one trip to the
//! blocking pool (five trips for a file streamed to disk: create, flush, make the prefix
//! directory, rename, reopen for the metadata); a pre-scanned page waits for that chain.
//! Downloads are bounded in size (`max_artifact_bytes`) and time
//! (the upstream's deadline plus the size at the minimum rate, and the sliding-window
//! rate check, see `upstream`); upstream `.metadata` is bounded by `max_metadata_bytes`.
//!
//! With shared artifacts (`--artifacts`, see `blobs`), this data directory stays the working
//! copy that scans and (range) responses read, and the shared store is asked before the
//! upstream: an object there is streamed into a `.part` file while hashed and renamed into
//! place only when it hashes to its key, so nothing unverified is ever served; an object
//! that does not (tampered, truncated) is treated as absent, logged, and replaced by the
//! bytes downloaded from the upstream again. Bytes downloaded from the upstream are
//! uploaded, once verified, before the file's flight ends, so a replica waiting on the
//! same flight finds them. A shared store that fails is logged and passed by: the upstream
//! is always the fallback.
//!
//! Serving side: small verified artifacts' bytes are also kept in memory ([`MemoryCache`],
//! `--memory-cache-bytes` in total, files up to `--memory-cache-file-max`), keyed by sha256
//! and loaded only when the bytes read back from disk hash to their key, so a cache hit is
//! served as one buffer with no trip to the blocking pool. Which bytes may be served is
//! still the gate's to say, on every request.

use crate::config::DataDir;
use crate::error::ProxyError;
use crate::model::Sha256 as Digest256;
use crate::model::{FileOrigin, Verified};
use crate::store::OriginStore;
use crate::upstream::Upstream;
use futures_util::future::{BoxFuture, FutureExt, Shared};
use futures_util::StreamExt;
use sha2::{Digest, Sha256, Sha384, Sha512};
use std::collections::{HashMap, VecDeque};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use url::Url;

/// Downloads whose `Content-Length` is at most this are received into memory, then written
/// and renamed into place in one blocking job; larger ones (and those of unknown length) are
/// streamed to disk. Bounds the memory a download holds (the urgent pre-scans run at most
/// 64 at once: 64 MiB).
pub(crate) const IN_MEMORY_MAX: u64 = 1 << 20;

/// One file's download task, awaited by every request that wants the file.
type Flight = Shared<BoxFuture<'static, Result<Verified, ProxyError>>>;

pub(crate) struct Artifacts {
    inner: Arc<Inner>,
    /// Downloads in progress by file key (each removes itself when done).
    running: Arc<Mutex<HashMap<String, Flight>>>,
    /// Small verified artifacts' bytes, for serving.
    memory: MemoryCache,
}

/// Bounds of the [`MemoryCache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MemoryLimits {
    /// Bytes kept in memory in total (0: no memory cache).
    pub total: u64,
    /// Largest file kept in memory.
    pub file_max: u64,
}

impl Default for MemoryLimits {
    fn default() -> Self {
        MemoryLimits { total: 64 << 20, file_max: 1 << 20 }
    }
}

/// Verified artifact bytes in memory, by sha256, bounded in total size (least recently and
/// least often used go first). Holds only bytes that hashed to their key when loaded.
#[derive(Clone)]
pub(crate) struct MemoryCache {
    bytes: moka::sync::Cache<Digest256, bytes::Bytes>,
    limits: MemoryLimits,
}

impl MemoryCache {
    pub(crate) fn new(limits: MemoryLimits) -> MemoryCache {
        let bytes = moka::sync::Cache::builder()
            .max_capacity(limits.total)
            // A weight is a u32: files over 4 GiB are never kept (file_max is far below).
            .weigher(|_, b: &bytes::Bytes| u32::try_from(b.len()).unwrap_or(u32::MAX))
            .build();
        MemoryCache { bytes, limits }
    }

    /// Whether a file of `len` bytes is kept in memory.
    pub(crate) fn fits(&self, len: u64) -> bool {
        self.limits.total > 0 && len <= self.limits.file_max && len <= self.limits.total
    }

    /// The bytes of `sha256` when they are in memory (counted as a hit or a miss).
    pub(crate) fn get(&self, sha256: &Digest256) -> Option<bytes::Bytes> {
        let got = self.bytes.get(sha256);
        crate::metrics::cache("memory", got.is_some());
        got
    }

    /// Keep `bytes` as the content of `sha256` if they fit and hash to it; returns whether kept.
    pub(crate) fn put(&self, sha256: &Digest256, bytes: bytes::Bytes) -> bool {
        if !self.fits(bytes.len() as u64) || Digest256::digest(&bytes) != *sha256 {
            return false;
        }
        if !self.bytes.contains_key(sha256) {
            self.bytes.insert(sha256.clone(), bytes);
            // As of the last maintenance (evictions are applied in batches).
            crate::metrics::memory_cache_bytes(self.bytes.weighted_size());
        }
        true
    }

    /// Forget one file's bytes.
    pub(crate) fn forget(&self, sha256: &Digest256) {
        self.bytes.invalidate(sha256);
    }

    /// Bytes held now (after pending evictions are applied).
    #[cfg(test)]
    pub(crate) fn held_bytes(&self) -> u64 {
        self.bytes.run_pending_tasks();
        self.bytes.weighted_size()
    }
}

/// Core metadata extracted from verified wheels, by the wheel's sha256, bounded in total
/// size (least recently and least often used go first). An entry is put only by the
/// extraction that computed the sha256 recorded for the wheel, or after a re-extraction
/// matched that record.
#[derive(Clone)]
pub(crate) struct CoreMetadata {
    bytes: moka::sync::Cache<Digest256, bytes::Bytes>,
}

impl CoreMetadata {
    /// Core metadata is a few KiB per wheel: 16 MiB holds thousands.
    const TOTAL: u64 = 16 << 20;

    fn new(total: u64) -> CoreMetadata {
        let bytes = moka::sync::Cache::builder()
            .max_capacity(total)
            .weigher(|_, b: &bytes::Bytes| u32::try_from(b.len()).unwrap_or(u32::MAX))
            .build();
        CoreMetadata { bytes }
    }
}

struct Inner {
    dirs: DataDir,
    /// Core metadata of verified wheels, in memory.
    core_metadata: CoreMetadata,
    upstream: Upstream,
    store: Arc<dyn OriginStore>,
    max_bytes: u64,
    tmp_counter: AtomicU64,
    /// Where verified artifacts are shared with other replicas (`--artifacts`).
    shared: Option<crate::blobs::Blobs>,
}

/// Remove `.part` files in `tmp` left by processes that are gone (or by an earlier run
/// under this same pid, as in a container). Returns how many were removed.
pub(crate) fn clean_stale_parts(tmp: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(tmp) else { return 0 };
    let me = std::process::id();
    let proc_fs = Path::new("/proc/self").exists();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".part") {
            continue;
        }
        let owner = name.split('.').next().and_then(|p| p.parse::<u32>().ok());
        let alive = match owner {
            Some(pid) if pid != me => proc_fs && Path::new("/proc").join(pid.to_string()).exists(),
            _ => false,
        };
        if !alive && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    if removed > 0 {
        tracing::info!(removed, dir = %tmp.display(), "removed stale partial downloads");
    }
    removed
}

/// Removes a finished download from the running map when dropped.
struct Forget(Arc<Mutex<HashMap<String, Flight>>>, String);

impl Drop for Forget {
    fn drop(&mut self) {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&self.1);
    }
}

/// A `.part` file that is removed when dropped unless it was renamed into place.
struct PartFile(Option<PathBuf>);

impl Drop for PartFile {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
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

/// Where a download's bytes go while they arrive.
enum Sink {
    /// Streamed to the `.part` file (large, or of unknown length).
    File(tokio::io::BufWriter<tokio::fs::File>),
    /// Held in memory (a declared length of at most [`IN_MEMORY_MAX`]).
    Memory { bytes: Vec<u8>, declared: u64 },
}

enum Hasher {
    Sha384(Sha384),
    Sha512(Sha512),
}

impl Artifacts {
    pub(crate) fn new(
        dirs: DataDir,
        upstream: Upstream,
        store: Arc<dyn OriginStore>,
        max_bytes: u64,
        shared: Option<crate::blobs::Blobs>,
    ) -> Self {
        let core_metadata = CoreMetadata::new(CoreMetadata::TOTAL);
        let inner = Inner { dirs, core_metadata, upstream, store, max_bytes, tmp_counter: AtomicU64::new(0), shared };
        let memory = MemoryCache::new(MemoryLimits::default());
        Artifacts { inner: Arc::new(inner), running: Default::default(), memory }
    }

    /// The same, with these bounds on the bytes kept in memory.
    pub(crate) fn with_memory(mut self, limits: MemoryLimits) -> Self {
        self.memory = MemoryCache::new(limits);
        self
    }

    /// The memory cache of small verified artifacts.
    pub(crate) fn memory(&self) -> &MemoryCache {
        &self.memory
    }

    /// The verified bytes of `sha256` for serving: from memory, else (a file small enough
    /// for memory) read from the cache folder in one trip to the blocking pool and kept when
    /// they hash to their key (a file that does not is removed, so it is not served and the next
    /// request fetches it again). `None`: too large for memory (serve from disk), or not here.
    /// Call under the file's single-flight guard, so one request reads a file, not all.
    pub(crate) async fn load_for_serving(&self, sha256: &Digest256) -> Option<bytes::Bytes> {
        if self.memory.limits.total == 0 {
            return None;
        }
        if let Some(b) = self.memory.get(sha256) {
            return Some(b);
        }
        let (path, memory, sha) = (self.path(sha256), self.memory.clone(), sha256.clone());
        tokio::task::spawn_blocking(move || {
            let mut f = std::fs::File::open(&path).ok()?;
            let len = f.metadata().ok()?.len();
            if !memory.fits(len) {
                return None;
            }
            let mut buf = Vec::with_capacity(len as usize);
            f.read_to_end(&mut buf).ok()?;
            let bytes = bytes::Bytes::from(buf);
            if memory.put(&sha, bytes.clone()) {
                Some(bytes)
            } else {
                // Not the verified bytes (changed on disk): never served. Removed, so the
                // next request downloads and verifies the file again; this one fails.
                let removed = std::fs::remove_file(&path).is_ok();
                tracing::error!(sha256 = %sha, path = %path.display(), removed, "a cached artifact does not hash to its key: removed, not served");
                None
            }
        })
        .await
        .ok()
        .flatten()
    }

    pub(crate) fn path(&self, sha256: &Digest256) -> PathBuf {
        self.inner.dirs.artifact(sha256)
    }

    /// Make sure the verified bytes for `origin` are on disk. Call under the file's single-flight guard.
    /// The work runs as a task of its own: dropping this future (a client that left) does
    /// not cancel it, and a later call for the same file joins it while it runs.
    pub(crate) async fn ensure(&self, origin: &FileOrigin) -> Result<Verified, ProxyError> {
        let flight = {
            let mut running = self.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match running.get(&origin.key) {
                Some(f) => f.clone(),
                None => {
                    let key = origin.key.clone();
                    let (inner, origin, map) = (self.inner.clone(), origin.clone(), self.running.clone());
                    let task = tokio::spawn(async move {
                        // Forgotten when done, even by a panic (else the failure would stick).
                        let _forget = Forget(map, origin.key.clone());
                        inner.ensure(&origin).await
                    });
                    let f = async move {
                        task.await.unwrap_or_else(|e| Err(ProxyError::internal(format!("download task failed: {e}"))))
                    }
                    .boxed()
                    .shared();
                    running.insert(key, f.clone());
                    f
                }
            }
        };
        flight.await
    }

    /// Core metadata bytes for a file (see [`Inner::metadata`]).
    pub(crate) async fn metadata(&self, origin: &FileOrigin, v: &Verified) -> Result<Option<Vec<u8>>, ProxyError> {
        self.inner.metadata(origin, v).await
    }
}

impl Inner {
    async fn ensure(&self, origin: &FileOrigin) -> Result<Verified, ProxyError> {
        let known = self.store.verified(&origin.key).await.map_err(ProxyError::internal)?;
        if let Some(v) = known.as_ref().filter(|v| self.dirs.artifact(&v.sha256).exists()) {
            crate::metrics::cache("artifact", true);
            return Ok(v.clone());
        }
        // A sha256-keyed file may already be here from another listing (same bytes), or in
        // the shared store from another replica.
        // The wheel's core metadata when the download already read it (`Some(None)`: none there).
        let mut metadata: Option<Option<Vec<u8>>> = None;
        let promised = known.map(|v| v.sha256).or_else(|| {
            expected_digest(&origin.hashes).and_then(|(algo, h)| Digest256::parse(&h).ok().filter(|_| algo == "sha256"))
        });
        let sha256 = match promised {
            Some(h) if self.dirs.artifact(&h).exists() => {
                crate::metrics::cache("artifact", true);
                h
            }
            Some(h) if self.read_shared(&h, &origin.key).await => {
                crate::metrics::cache("artifact", true);
                h
            }
            _ => {
                crate::metrics::cache("artifact", false);
                let (h, read) = self.download(origin).await?;
                self.upload_shared(&h).await;
                metadata = read;
                h
            }
        };
        let metadata_sha256 = match metadata {
            Some(read) => self.keep_metadata(&sha256, read),
            None => self.extract_metadata(&sha256, &origin.filename).await,
        };
        let v = Verified { sha256, metadata_sha256 };
        self.store.set_verified(&origin.key, &v).await.map_err(ProxyError::internal)?;
        Ok(v)
    }

    /// A `.part` path in the data directory's `tmp/` (same file system as `artifacts/`).
    fn part_path(&self, key: &str) -> PathBuf {
        let n = self.tmp_counter.fetch_add(1, Ordering::Relaxed);
        self.dirs.tmp().join(format!("{}.{}.{n}.part", std::process::id(), &key[..key.len().min(16)]))
    }

    /// Rename a finished `.part` file into its content-addressed place.
    async fn put_in_place(&self, mut part: PartFile, sha256: &Digest256) -> Result<(), std::io::Error> {
        let dest = self.dirs.artifact(sha256);
        if let Some(parent) = dest.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        if let Some(tmp) = part.0.as_ref() {
            tokio::fs::rename(tmp, &dest).await?;
        }
        part.0 = None;
        Ok(())
    }

    /// Copy the bytes stored under `sha256` in the shared store into this data directory,
    /// verified while streamed. `false` (and nothing kept) when there is no shared store,
    /// no such object, or it does not hash to its key; failures are logged, never returned:
    /// the upstream is the fallback.
    async fn read_shared(&self, sha256: &Digest256, key: &str) -> bool {
        let Some(shared) = &self.shared else { return false };
        let tmp = self.part_path(key);
        let part = PartFile(Some(tmp.clone()));
        let fetched = shared.fetch_verified(sha256, &tmp, self.max_bytes).await;
        use crate::blobs::Fetched;
        let found = match fetched {
            Ok(Fetched::Verified(len)) => {
                tracing::debug!(sha256 = %sha256, bytes = len, store = %shared.describe(), "artifact read from the shared store, verified");
                true
            }
            Ok(Fetched::Absent) => false,
            Ok(Fetched::Corrupt { computed, len }) => {
                tracing::warn!(
                    sha256 = %sha256,
                    computed = %computed,
                    bytes = len,
                    store = %shared.describe(),
                    "an object in the shared artifact store does not hash to its key (tampered or truncated): \
                     not served, downloading from the upstream again to replace it"
                );
                false
            }
            Ok(Fetched::TooLarge) => {
                tracing::warn!(sha256 = %sha256, limit = self.max_bytes, store = %shared.describe(), "an object in the shared artifact store is larger than --max-artifact-bytes: not used");
                false
            }
            Err(e) => {
                tracing::warn!(sha256 = %sha256, "shared artifact store unavailable, using the upstream: {e}");
                false
            }
        };
        crate::metrics::cache("shared_artifact", found);
        if !found {
            return false;
        }
        match self.put_in_place(part, sha256).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(sha256 = %sha256, "keeping an artifact read from the shared store failed: {e}");
                false
            }
        }
    }

    /// Upload verified bytes to the shared store (failures logged: other replicas then
    /// download from the upstream themselves).
    async fn upload_shared(&self, sha256: &Digest256) {
        let Some(shared) = &self.shared else { return };
        let started = Instant::now();
        match shared.put_file(sha256, &self.dirs.artifact(sha256)).await {
            Ok(()) => tracing::debug!(
                sha256 = %sha256,
                store = %shared.describe(),
                ms = started.elapsed().as_millis() as u64,
                "artifact uploaded to the shared store"
            ),
            Err(e) => {
                tracing::warn!(sha256 = %sha256, "upload to the shared artifact store failed (other replicas will download it themselves): {e}");
            }
        }
    }

    /// Download, verify and put in place; with the wheel's core metadata when it was read from
    /// the bytes in memory (`None`: not read, read it from the file).
    async fn download(&self, origin: &FileOrigin) -> Result<(Digest256, Option<Option<Vec<u8>>>), ProxyError> {
        let url = Url::parse(&origin.url).map_err(|e| ProxyError::internal(format!("stored URL is invalid: {e}")))?;
        let limits = self.upstream.limits().clone();
        let started = Instant::now();
        let what = format!("the download of {}", origin.filename);
        let resp = tokio::time::timeout(limits.deadline, self.upstream.fetch_file(&url))
            .await
            .unwrap_or_else(|_| Err(self.upstream.deadline_passed(&url, &what, limits.deadline)))?;
        if resp.content_length().is_some_and(|l| l > self.max_bytes) {
            return Err(ProxyError::TooLarge { filename: origin.filename.clone(), limit: self.max_bytes });
        }
        // The deadline grows with the size at the minimum rate (the declared size, else the limit).
        let size = resp.content_length().unwrap_or(self.max_bytes);
        let deadline = match limits.min_rate {
            0 => None,
            rate => Some(limits.deadline + Duration::from_secs_f64(size as f64 / rate as f64)),
        };
        let tmp = self.part_path(&origin.key);
        let part = PartFile(Some(tmp.clone()));
        let pace =
            Pace { url: &url, what: &what, started, deadline, min_rate: limits.min_rate, window: limits.rate_window };
        let sink = match resp.content_length() {
            Some(len) if len <= IN_MEMORY_MAX => {
                Sink::Memory { bytes: Vec::with_capacity(len as usize), declared: len }
            }
            _ => Sink::File(tokio::io::BufWriter::with_capacity(256 * 1024, tokio::fs::File::create(&tmp).await?)),
        };
        let (sha256, sink) = self.receive(resp, sink, origin, pace).await?;
        match sink {
            Sink::File(_) => {
                self.put_in_place(part, &sha256).await?;
                Ok((sha256, None))
            }
            Sink::Memory { bytes, .. } => {
                let wheel = origin.filename.ends_with(".whl");
                let read = self.place_bytes(part, &sha256, bytes, wheel).await?;
                Ok((sha256, Some(read)))
            }
        }
    }

    /// Verified bytes received in memory: written to their `.part` file, renamed into their
    /// content-addressed place and (a wheel) their core metadata read, in one blocking job.
    async fn place_bytes(
        &self,
        mut part: PartFile,
        sha256: &Digest256,
        bytes: Vec<u8>,
        wheel: bool,
    ) -> Result<Option<Vec<u8>>, std::io::Error> {
        let (dest, tmp) = (self.dirs.artifact(sha256), part.0.clone());
        let read = tokio::task::spawn_blocking(move || {
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent)?;
            }
            if let Some(tmp) = tmp {
                std::fs::write(&tmp, &bytes)?;
                std::fs::rename(&tmp, &dest)?;
            }
            Ok::<_, std::io::Error>(if wheel { wheel_metadata_in(std::io::Cursor::new(&bytes)) } else { None })
        })
        .await
        .map_err(std::io::Error::other)??;
        part.0 = None;
        Ok(read)
    }

    /// Receive the body into `sink`, hashing as it goes; verify the promised digest.
    async fn receive(
        &self,
        resp: reqwest::Response,
        mut sink: Sink,
        origin: &FileOrigin,
        pace: Pace<'_>,
    ) -> Result<(Digest256, Sink), ProxyError> {
        let expected = expected_digest(&origin.hashes);
        let mut sha256 = Sha256::new();
        let mut other = match expected.as_ref().map(|(a, _)| *a) {
            Some("sha384") => Some(Hasher::Sha384(Sha384::new())),
            Some("sha512") => Some(Hasher::Sha512(Sha512::new())),
            _ => None,
        };
        let mut received: u64 = 0;
        let mut body = resp.bytes_stream();
        let tick = (pace.window / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
        let mut samples = VecDeque::from([(pace.started, 0u64)]);
        loop {
            let next = tokio::time::timeout(tick, body.next()).await;
            let now = Instant::now();
            pace.check(now, received, &mut samples, &self.upstream)?;
            let chunk = match next {
                Err(_) => continue,
                Ok(Some(Ok(c))) => c,
                Ok(None) => break,
                Ok(Some(Err(e))) => {
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
            match &mut sink {
                Sink::File(out) => out.write_all(&chunk).await?,
                // More than the upstream declared: hyper refuses that; never hold more anyway.
                Sink::Memory { declared, .. } if received > *declared => {
                    return Err(ProxyError::TransferBroken {
                        filename: origin.filename.clone(),
                        received,
                        reason: format!("more bytes than the {declared} its Content-Length declared"),
                    })
                }
                Sink::Memory { bytes, .. } => bytes.extend_from_slice(&chunk),
            }
        }
        if let Sink::File(out) = &mut sink {
            out.flush().await?;
        }
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
        Ok((sha256, sink))
    }

    /// Read `*.dist-info/METADATA` out of a verified wheel and keep it in memory; returns its sha256.
    async fn extract_metadata(&self, sha256: &Digest256, filename: &str) -> Option<String> {
        if !filename.ends_with(".whl") {
            return None;
        }
        let src = self.dirs.artifact(sha256);
        let read = tokio::task::spawn_blocking(move || wheel_metadata(&src)).await.ok().flatten();
        self.keep_metadata(sha256, read)
    }

    /// Keep a verified wheel's core metadata (read out of it) in memory; returns its sha256.
    fn keep_metadata(&self, sha256: &Digest256, read: Option<Vec<u8>>) -> Option<String> {
        let bytes = read?;
        let digest = hex::encode(Sha256::digest(&bytes));
        self.core_metadata.bytes.insert(sha256.clone(), bytes::Bytes::from(bytes));
        Some(digest)
    }

    /// The core metadata extracted from the verified wheel `v`, whose sha256 is `v.metadata_sha256`:
    /// from memory, else a file an older version wrote beside the wheel, else read out of the
    /// wheel again. Bytes read back from disk are served only when they hash to the recorded
    /// sha256 (what the page advertised).
    async fn local_metadata(&self, v: &Verified, recorded: &str) -> Result<bytes::Bytes, ProxyError> {
        if let Some(b) = self.core_metadata.bytes.get(&v.sha256) {
            return Ok(b);
        }
        let (legacy, wheel) = (self.dirs.artifact_metadata(&v.sha256), self.dirs.artifact(&v.sha256));
        let read = tokio::task::spawn_blocking(move || std::fs::read(&legacy).ok().or_else(|| wheel_metadata(&wheel)))
            .await
            .map_err(ProxyError::internal)?;
        let bytes = read.ok_or_else(|| {
            ProxyError::internal(format!("the core metadata of {} could not be read out of the wheel again", v.sha256))
        })?;
        let got = hex::encode(Sha256::digest(&bytes));
        if !got.eq_ignore_ascii_case(recorded) {
            return Err(ProxyError::internal(format!(
                "the core metadata read again for {} hashes to {got}, not the recorded {recorded}: not served",
                v.sha256
            )));
        }
        let bytes = bytes::Bytes::from(bytes);
        self.core_metadata.bytes.insert(v.sha256.clone(), bytes.clone());
        Ok(bytes)
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
        if let (true, Some(recorded)) = (use_local, local) {
            return Ok(Some(self.local_metadata(v, recorded).await?.to_vec()));
        }
        if origin.core_metadata.is_none() {
            return Ok(None);
        }
        let url = Url::parse(&format!("{}.metadata", origin.url)).map_err(ProxyError::internal)?;
        let bytes = self.upstream.fetch_metadata(&url).await?;
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
        Ok(Some(bytes))
    }
}

/// The time bounds of one download: a total deadline and a minimum average rate over a
/// sliding window, checked once the first window (the grace period) has passed.
struct Pace<'a> {
    url: &'a Url,
    what: &'a str,
    started: Instant,
    deadline: Option<Duration>,
    min_rate: u64,
    window: Duration,
}

impl Pace<'_> {
    /// `samples`: (time, bytes received so far), oldest first, thinned to ~16 per window.
    fn check(
        &self,
        now: Instant,
        received: u64,
        samples: &mut VecDeque<(Instant, u64)>,
        upstream: &Upstream,
    ) -> Result<(), ProxyError> {
        if let Some(d) = self.deadline.filter(|d| now - self.started > *d) {
            return Err(upstream.deadline_passed(self.url, self.what, d));
        }
        if self.min_rate == 0 || self.window.is_zero() {
            return Ok(());
        }
        if samples.back().is_some_and(|(t, _)| now - *t >= self.window / 16) {
            samples.push_back((now, received));
        }
        while samples.len() > 1 && samples[1].0 + self.window <= now {
            samples.pop_front();
        }
        let (t0, r0) = samples[0];
        if now - self.started < self.window || now - t0 < self.window {
            return Ok(());
        }
        let rate = (received - r0) as f64 / (now - t0).as_secs_f64();
        if rate < self.min_rate as f64 {
            return Err(ProxyError::UpstreamTimeout {
                upstream: crate::config::redact(self.url),
                reason: format!(
                    "{} averaged {rate:.0} bytes/s over the last {}, below the minimum of {} bytes/s (--upstream-min-rate)",
                    self.what,
                    crate::upstream::secs(now - t0),
                    self.min_rate
                ),
            });
        }
        Ok(())
    }
}

/// The core metadata of an artifact on disk, for the report page: a wheel's `METADATA`, an
/// sdist's top-level `<name>-<version>/PKG-INFO` (`.tar.gz`, `.tar.bz2`, `.tar.xz`, `.zip`),
/// at most 16 MiB. `None` when there is none or the archive cannot be read.
pub(crate) fn core_metadata_of(path: &Path, filename: &str) -> Option<Vec<u8>> {
    const LIMIT: u64 = 16 << 20;
    let top_level_pkg_info = |name: &str| {
        let mut parts = name.trim_start_matches("./").split('/');
        matches!((parts.next(), parts.next(), parts.next()), (Some(_), Some("PKG-INFO"), None))
    };
    let lower = filename.to_ascii_lowercase();
    if lower.ends_with(".whl") {
        return wheel_metadata(path);
    }
    let file = std::io::BufReader::new(std::fs::File::open(path).ok()?);
    if lower.ends_with(".zip") {
        let mut zip = zip::ZipArchive::new(file).ok()?;
        let name = zip.file_names().find(|n| top_level_pkg_info(n))?.to_string();
        let mut out = Vec::new();
        zip.by_name(&name).ok()?.take(LIMIT).read_to_end(&mut out).ok()?;
        return Some(out);
    }
    let reader: Box<dyn Read> = if lower.ends_with(".tar.gz") || lower.ends_with(".tgz") {
        Box::new(flate2::read::GzDecoder::new(file))
    } else if lower.ends_with(".tar.bz2") {
        Box::new(bzip2::read::BzDecoder::new(file))
    } else if lower.ends_with(".tar.xz") {
        Box::new(xz2::read::XzDecoder::new(file))
    } else {
        return None;
    };
    let mut tar = tar::Archive::new(reader);
    for entry in tar.entries().ok()? {
        let entry = entry.ok()?;
        let is_it = entry.path().ok().is_some_and(|p| top_level_pkg_info(&p.to_string_lossy()));
        if is_it && entry.header().entry_type().is_file() {
            let mut out = Vec::new();
            entry.take(LIMIT).read_to_end(&mut out).ok()?;
            return Some(out);
        }
    }
    None
}

/// Read `<name>.dist-info/METADATA` (top level) from a wheel, at most 16 MiB.
pub(crate) fn wheel_metadata(path: &Path) -> Option<Vec<u8>> {
    let file = std::fs::File::open(path).ok()?;
    wheel_metadata_in(std::io::BufReader::new(file))
}

/// [`wheel_metadata`] of a wheel's bytes however they are held.
fn wheel_metadata_in<R: Read + std::io::Seek>(wheel: R) -> Option<Vec<u8>> {
    let mut zip = zip::ZipArchive::new(wheel).ok()?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A wheel holding `pkg-1.0.dist-info/METADATA` = `metadata`.
    fn wheel_bytes(metadata: &str) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default();
        zip.start_file("pkg/__init__.py", opts).unwrap();
        std::io::Write::write_all(&mut zip, b"").unwrap();
        zip.start_file("pkg-1.0.dist-info/METADATA", opts).unwrap();
        std::io::Write::write_all(&mut zip, metadata.as_bytes()).unwrap();
        zip.finish().unwrap().into_inner()
    }

    #[tokio::test]
    async fn core_metadata_is_served_from_memory_or_read_out_of_the_wheel_again_and_checked() {
        const META: &str = "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n";
        // (case, in memory, wheel on disk: its METADATA, an older version's `.metadata` file, served)
        type Case<'a> = (&'a str, bool, Option<&'a str>, Option<&'a str>, Option<&'a str>);
        let cases: [Case; 6] = [
            ("extracted when the wheel was put in place: from memory", true, Some(META), None, Some(META)),
            ("in memory, the wheel since removed: still from memory", true, None, None, Some(META)),
            ("not in memory (a restart): read out of the wheel again", false, Some(META), None, Some(META)),
            ("not in memory, a file an older version wrote beside the wheel", false, None, Some(META), Some(META)),
            (
                "not in memory, the wheel's METADATA no longer the recorded one: not served",
                false,
                Some("Name: evil\n"),
                None,
                None,
            ),
            ("not in memory, neither the wheel nor a file: an error, not an empty answer", false, None, None, None),
        ];
        for (case, in_memory, wheel, legacy, want) in cases {
            let dir = tempfile::tempdir().unwrap();
            let app = crate::app::App::for_tests(dir.path(), "");
            let a = &app.artifacts;
            let original = wheel_bytes(META);
            let sha = Digest256::digest(&original);
            let path = a.path(&sha);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &original).unwrap();
            let recorded = a.inner.extract_metadata(&sha, "pkg-1.0-py3-none-any.whl").await;
            assert_eq!(recorded.as_deref(), Some(hex::encode(Sha256::digest(META)).as_str()), "{case}");
            assert!(!a.inner.dirs.artifact_metadata(&sha).exists(), "{case}: no file per wheel");
            if !in_memory {
                a.inner.core_metadata.bytes.invalidate_all();
            }
            match wheel {
                Some(m) => std::fs::write(&path, wheel_bytes(m)).unwrap(),
                None => std::fs::remove_file(&path).unwrap(),
            }
            if let Some(m) = legacy {
                std::fs::write(a.inner.dirs.artifact_metadata(&sha), m).unwrap();
            }
            let origin = FileOrigin {
                key: sha.to_string(),
                filename: "pkg-1.0-py3-none-any.whl".into(),
                project: "pkg".into(),
                url: "http://127.0.0.1:9/files/pkg-1.0-py3-none-any.whl".into(),
                hashes: [("sha256".to_string(), sha.to_string())].into(),
                upload_time: None,
                size: None,
                core_metadata: None,
            };
            let v = Verified { sha256: sha.clone(), metadata_sha256: recorded };
            let got = a.metadata(&origin, &v).await;
            match want {
                Some(m) => assert_eq!(got.unwrap().as_deref(), Some(m.as_bytes()), "{case}"),
                None => assert!(got.is_err(), "{case}: {got:?}"),
            }
        }
    }

    /// An upstream on 127.0.0.1 answering every request with `body`: with its
    /// `Content-Length`, or (`declared` false) delimited by closing the connection.
    async fn serving(body: Vec<u8>, declared: bool) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let body = std::sync::Arc::new(body);
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let body = body.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf).await;
                    let length = if declared { format!("content-length: {}\r\n", body.len()) } else { String::new() };
                    let head = format!("HTTP/1.1 200 OK\r\n{length}connection: close\r\n\r\n");
                    let _ = s.write_all(head.as_bytes()).await;
                    let _ = s.write_all(&body).await;
                });
            }
        });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn a_download_is_in_place_with_its_core_metadata_whether_received_in_memory_or_streamed_to_disk() {
        const META: &str = "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n";
        let small = wheel_bytes(META);
        // A wheel over IN_MEMORY_MAX: a stored (uncompressed) member of random-looking bytes.
        let large = {
            let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
            let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
            zip.start_file("pkg/blob.bin", stored).unwrap();
            let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
            let blob: Vec<u8> = (0..IN_MEMORY_MAX + 4096)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            std::io::Write::write_all(&mut zip, &blob).unwrap();
            zip.start_file("pkg-1.0.dist-info/METADATA", zip::write::SimpleFileOptions::default()).unwrap();
            std::io::Write::write_all(&mut zip, META.as_bytes()).unwrap();
            zip.finish().unwrap().into_inner()
        };
        assert!(small.len() as u64 <= IN_MEMORY_MAX && large.len() as u64 > IN_MEMORY_MAX);
        let wrong = Digest256::digest(b"other bytes").to_string();
        // (case, body, Content-Length sent, the index's sha256 is the body's, filename)
        let cases: [(&str, &[u8], bool, bool, &str); 6] = [
            ("small wheel, declared length: received in memory", &small, true, true, "pkg-1.0-py3-none-any.whl"),
            ("small wheel, no declared length: streamed to disk", &small, false, true, "pkg-1.0-py3-none-any.whl"),
            ("large wheel, declared length: streamed to disk", &large, true, true, "pkg-1.0-py3-none-any.whl"),
            ("small sdist, declared length: in memory, no core metadata", &small, true, true, "pkg-1.0.zip"),
            ("small wheel whose hash is not the index's: refused", &small, true, false, "pkg-1.0-py3-none-any.whl"),
            ("large wheel whose hash is not the index's: refused", &large, true, false, "pkg-1.0-py3-none-any.whl"),
        ];
        for (case, body, declared, honest, filename) in cases {
            let dir = tempfile::tempdir().unwrap();
            let base = serving(body.to_vec(), declared).await;
            let upstream = Url::parse(&format!("{base}/simple/")).unwrap();
            let app = crate::app::App::for_tests_with(dir.path(), "", |cfg| cfg.upstream = upstream);
            let sha = Digest256::digest(body);
            let promised = if honest { sha.to_string() } else { wrong.clone() };
            let origin = FileOrigin {
                key: promised.clone(),
                filename: filename.into(),
                project: "pkg".into(),
                url: format!("{base}/files/{filename}"),
                hashes: [("sha256".to_string(), promised.clone())].into(),
                upload_time: None,
                size: Some(body.len() as u64),
                core_metadata: None,
            };
            let got = app.artifacts.ensure(&origin).await;
            // The scanner's start-up warm-up (`scan::warm`) may still hold its own file here.
            let parts: Vec<_> = std::fs::read_dir(app.artifacts.inner.dirs.tmp())
                .unwrap()
                .flatten()
                .filter(|e| !e.file_name().to_string_lossy().contains(".scan-warm-up."))
                .collect();
            assert!(parts.is_empty(), "{case}: no partial download left behind: {parts:?}");
            if !honest {
                assert!(matches!(got, Err(ProxyError::HashMismatch { .. })), "{case}: {got:?}");
                assert!(!app.artifacts.path(&sha).exists(), "{case}: nothing unverified at a content address");
                continue;
            }
            let v = got.unwrap_or_else(|e| panic!("{case}: {e}"));
            assert_eq!(v.sha256, sha, "{case}");
            assert_eq!(std::fs::read(app.artifacts.path(&sha)).unwrap(), body, "{case}: the exact bytes in place");
            let wheel = filename.ends_with(".whl");
            let want = wheel.then(|| hex::encode(Sha256::digest(META)));
            assert_eq!(v.metadata_sha256, want, "{case}: the core metadata recorded");
            if wheel {
                let served = app.artifacts.metadata(&origin, &v).await.unwrap();
                assert_eq!(served.as_deref(), Some(META.as_bytes()), "{case}: the core metadata served");
            }
        }
    }

    fn blob(fill: u8, len: usize) -> (Digest256, bytes::Bytes) {
        let b = bytes::Bytes::from(vec![fill; len]);
        (Digest256::digest(&b), b)
    }

    #[test]
    fn the_memory_cache_keeps_only_verified_small_files_within_its_total() {
        let limits = MemoryLimits { total: 100_000, file_max: 30_000 };
        // (case, length, hashes to its key, kept)
        let cases = [
            ("small verified file", 20_000, true, true),
            ("exactly the per-file limit", 30_000, true, true),
            ("over the per-file limit", 30_001, true, false),
            ("bytes that do not hash to their key", 1_000, false, false),
        ];
        for (i, (case, len, honest, kept)) in cases.into_iter().enumerate() {
            let m = MemoryCache::new(limits);
            let (sha, b) = blob(i as u8, len);
            let key = if honest { sha } else { blob(200, 10).0 };
            assert_eq!(m.put(&key, b.clone()), kept, "{case}");
            assert_eq!(m.get(&key), kept.then_some(b), "{case}: the same bytes, or none");
        }
        // Eviction by size: ten 20 kB files offered to 100 kB: never more than that is held.
        let m = MemoryCache::new(limits);
        for i in 0..10u8 {
            let (sha, b) = blob(i, 20_000);
            assert!(m.put(&sha, b), "file {i} is small and verified");
            assert!(m.held_bytes() <= limits.total, "after file {i}: {} bytes held", m.held_bytes());
        }
        let kept = (0..10u8).filter(|&i| m.get(&blob(i, 20_000).0).is_some()).count();
        assert!((1..=5).contains(&kept), "{kept} of ten 20 kB files kept in 100 kB");
        let off = MemoryCache::new(MemoryLimits { total: 0, file_max: 30_000 });
        let (sha, b) = blob(1, 10);
        assert!(!off.put(&sha, b), "a zero total keeps nothing");
        assert_eq!(off.get(&sha), None, "a zero total keeps nothing");
    }

    /// Feed a transfer (time in ms → bytes so far, every 100 ms) to the pace check; the
    /// first time (ms) it fails, if it does.
    fn first_failure(deadline_ms: Option<u64>, min_rate: u64, profile: impl Fn(u64) -> u64) -> Option<u64> {
        let url = Url::parse("http://127.0.0.1:9/simple/").unwrap();
        let up = Upstream::new(&crate::config::ProxyConfig::new(url.clone(), "/tmp".into())).unwrap();
        let started = Instant::now();
        let pace = Pace {
            url: &url,
            what: "the download of a.whl",
            started,
            deadline: deadline_ms.map(Duration::from_millis),
            min_rate,
            window: Duration::from_secs(1),
        };
        let mut samples = VecDeque::from([(started, 0u64)]);
        (1..=50)
            .map(|i| i * 100)
            .find(|&ms| pace.check(started + Duration::from_millis(ms), profile(ms), &mut samples, &up).is_err())
    }

    #[test]
    fn slow_downloads_are_abandoned() {
        type Case = (&'static str, Option<u64>, u64, fn(u64) -> u64, Option<u64>);
        let cases: [Case; 6] = [
            ("steady and fast enough", None, 1000, |ms| ms * 2, None),
            ("trickle fails once the grace window has passed", None, 1000, |ms| ms / 100, Some(1000)),
            ("slow start inside the grace window is fine", None, 1000, |ms| if ms < 900 { 0 } else { ms * 4 }, None),
            ("a stall after a fast start fails a window later", None, 1000, |ms| ms.min(2000) * 10, Some(2900)),
            ("no rate check when the minimum is 0", None, 0, |_| 0, None),
            ("the total deadline passes even at a good rate", Some(2000), 1000, |ms| ms * 2, Some(2100)),
        ];
        for (case, deadline, rate, profile, want) in cases {
            let got = first_failure(deadline, rate, profile);
            match (got, want) {
                (None, None) => {}
                (Some(g), Some(w)) => assert!(g.abs_diff(w) <= 200, "{case}: failed at {g} ms, expected ~{w} ms"),
                _ => panic!("{case}: failed at {got:?} ms, expected {want:?}"),
            }
        }
    }

    #[test]
    fn stale_part_files_are_removed_at_start_up() {
        let dir = tempfile::tempdir().unwrap();
        let me = std::process::id();
        // A process that surely is not running: pid_max is at most 2^22.
        let cases = [
            ("a dead process's download", "4194304999.abc.0.part".to_string(), false),
            ("an earlier run under this pid", format!("{me}.abc.0.part"), false),
            ("no pid in the name", "garbage.part".to_string(), false),
            ("a live process's download", "1.abc.0.part".to_string(), true),
            ("not a .part file", "notes.txt".to_string(), true),
        ];
        for (_, name, _) in &cases {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        clean_stale_parts(dir.path());
        for (case, name, kept) in cases {
            assert_eq!(dir.path().join(name).exists(), kept, "{case}");
        }
    }
}
