//! Index pages: fetch from upstream, cache with a short TTL (revalidated with ETag),
//! parse, and rewrite file URLs to point at pipgate.
//!
//! Owns: the page cache (memory + the store's pages, `<data-dir>/pages.sqlite3`, so a restart with the upstream
//! down still answers), serving a stale page when the upstream fails (and saying so),
//! recording every listed file's origin in the store, and the file URL shape
//! `../../files/<key>/<filename>` (stable across restarts, no query string). Also what a
//! hostile page may cost: one upstream GET per page at a time (concurrent requests share
//! it), parsing on blocking threads and once per page body (bounded caches), so a page
//! with 100k files neither stalls the async workers nor is re-parsed on every request.
//! Rendered pages (what pipgate sends, compressed or not) are kept apart, in [`rendered`],
//! keyed by the caller with the gate's listing state, and as one rendered entry per file in
//! [`patch`], so a changed verdict re-renders its file's entry, not the page.
//! Must not: download artifacts or decide verdicts.

pub(crate) mod accept;
pub(crate) mod page;
pub(crate) mod patch;
pub(crate) mod render;
pub(crate) mod rendered;

use crate::config::redact;
use crate::error::ProxyError;
use crate::model::{CachedPage, FileKey, FileOrigin};
use crate::store::{OriginStore, PageStore};
use crate::upstream::{PageFetch, Upstream};
use page::{FileEntry, ProjectPage};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};
use url::Url;

/// Pages kept in memory (beyond it, the page store answers), and the KiB of page bodies.
const MEM_PAGES: u64 = 2048;
const MEM_PAGE_KIB: u64 = 256 << 10;
/// File entries kept in parsed project pages.
const PARSED_FILES: u64 = 500_000;

/// A parsed page plus, when the upstream failed and a cached copy was used, why.
pub(crate) struct Fetched<T> {
    pub value: T,
    pub stale: Option<String>,
    /// The digest of the upstream page the value was parsed from (a rendered page's key).
    pub digest: [u8; 32],
}

/// A page held in memory: the upstream copy, the digest of everything its parse depends on
/// (the parse caches' key), and when this process last fetched or revalidated it.
struct MemPage {
    page: CachedPage,
    digest: [u8; 32],
    /// `None`: loaded from the page store, not fetched by this process.
    fetched: Option<Instant>,
}

/// sha256 of what parsing a page depends on: its key (the project), final URL, type and body.
fn page_digest(key: &str, page: &CachedPage) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in [key, &page.url, &page.content_type] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.update(page.body.as_bytes());
    h.finalize().into()
}

/// CPU work on a blocking thread, so a huge page never holds up the async workers.
async fn off_reactor<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, ProxyError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ProxyError::internal(format!("page task failed: {e}")))
}

/// Parsed values by [`page_digest`], bounded by weight (files for project pages).
type Parsed<T> = moka::sync::Cache<[u8; 32], Arc<T>>;

pub(crate) struct Index {
    upstream: Upstream,
    ttl: Duration,
    origins: Arc<dyn OriginStore>,
    pages: Arc<dyn PageStore>,
    /// Recently used pages (bounded by body size).
    mem: moka::sync::Cache<String, Arc<MemPage>>,
    /// Parsed project pages, so a page inside its TTL (or unchanged upstream) is parsed once.
    projects: Parsed<ProjectPage>,
    /// Parsed root listings.
    roots: Parsed<Vec<String>>,
    /// Digests of page bodies whose file origins are already in the store (bounded).
    registered: moka::sync::Cache<[u8; 32], ()>,
    /// One upstream GET per page at a time (per-key lock; see [`Index::fetch`]).
    flights: moka::sync::Cache<String, Arc<tokio::sync::Mutex<()>>>,
    /// When the upstream last failed for a page (requests that waited for it serve the stale copy).
    failed: moka::sync::Cache<String, Instant>,
}
/// Is `name` a plausible normalised project name (and safe as a file name)?
pub(crate) fn valid_normalized(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The path key of a file: the index's sha256, or `u-<sha256(url)>` when it gave none.
pub(crate) fn file_key(entry: &FileEntry) -> String {
    let key = match entry.sha256().map(crate::model::Sha256::parse) {
        Some(Ok(h)) => FileKey::Sha256(h),
        _ => FileKey::Url(crate::model::Sha256::digest(entry.url.as_str())),
    };
    key.to_string()
}

/// Where a listed file comes from, as the store records it (`project` normalised).
pub(crate) fn origin(project: &str, e: &FileEntry) -> FileOrigin {
    FileOrigin {
        key: file_key(e),
        filename: e.filename.clone(),
        project: project.to_string(),
        url: e.url.to_string(),
        hashes: e.hashes.clone(),
        upload_time: e.upload_time.clone(),
        size: e.size,
        core_metadata: e.core_metadata.clone(),
    }
}

const SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b'+').remove(b'!');

/// Our URL for a file, relative to `/simple/<project>/`.
pub(crate) fn file_href(key: &str, filename: &str) -> String {
    format!("../../files/{key}/{}", percent_encoding::utf8_percent_encode(filename, SEGMENT))
}

fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl Index {
    pub(crate) fn new(
        upstream: Upstream,
        ttl: Duration,
        origins: Arc<dyn OriginStore>,
        pages: Arc<dyn PageStore>,
    ) -> Self {
        Index {
            upstream,
            ttl,
            origins,
            pages,
            mem: moka::sync::Cache::builder()
                .weigher(|_, p: &Arc<MemPage>| u32::try_from(p.page.body.len() >> 10).unwrap_or(u32::MAX).max(1))
                .max_capacity(MEM_PAGE_KIB)
                .build(),
            projects: moka::sync::Cache::builder()
                .weigher(|_, p: &Arc<ProjectPage>| u32::try_from(p.files.len()).unwrap_or(u32::MAX).max(1))
                .max_capacity(PARSED_FILES)
                .build(),
            roots: moka::sync::Cache::new(4),
            registered: moka::sync::Cache::new(4 * MEM_PAGES),
            flights: moka::sync::Cache::new(4 * MEM_PAGES),
            failed: moka::sync::Cache::new(4 * MEM_PAGES),
        }
    }

    /// The project page, parsed, with every file's origin recorded.
    pub(crate) async fn project(&self, name: &str) -> Result<Fetched<Arc<ProjectPage>>, ProxyError> {
        let url = self.upstream.project_url(name);
        let owned = name.to_string();
        let f = self
            .fetch(name, &url, &self.projects, move |c| {
                page::parse_project(&c.body, &c.content_type, &Url::parse(&c.url)?, &owned)
            })
            .await?;
        let (mem, parsed) = f.value;
        self.register(name, &mem, &parsed).await?;
        Ok(Fetched { value: parsed, stale: f.stale, digest: mem.digest })
    }

    /// The root listing's project names.
    pub(crate) async fn root(&self) -> Result<Fetched<Arc<Vec<String>>>, ProxyError> {
        let url = self.upstream.base().clone();
        let f = self.fetch("_root", &url, &self.roots, |c| page::parse_root(&c.body, &c.content_type)).await?;
        Ok(Fetched { value: f.value.1, stale: f.stale, digest: f.digest })
    }

    /// Cache-aware, single-flight fetch and parse. A fresh body replaces the cached one only
    /// once it parses; a body is parsed once (the parse is cached by [`page_digest`]), off the
    /// async workers. Concurrent requests for one page wait for the one upstream GET in
    /// flight and reuse its result: a page fetched after a request arrived is fresh for it.
    async fn fetch<T, P>(
        &self,
        key: &str,
        url: &Url,
        parsed: &Parsed<T>,
        parse: P,
    ) -> Result<Fetched<(Arc<MemPage>, Arc<T>)>, ProxyError>
    where
        T: Send + Sync + 'static,
        P: Fn(&CachedPage) -> Result<T, page::ParseError> + Send + Sync + Clone + 'static,
    {
        let arrived = Instant::now();
        let malformed = |e: page::ParseError| ProxyError::MalformedPage { url: redact(url), reason: e.0 };
        if let Some(m) = self.fresh(key, None).await {
            crate::metrics::cache("page", true);
            let value = self.parse(parsed, &m, parse).await?.map_err(malformed)?;
            return Ok(Fetched { digest: m.digest, value: (m, value), stale: None });
        }
        let flight = self.flights.get_with(key.to_string(), Default::default);
        let _flight = flight.lock().await;
        if let Some(m) = self.fresh(key, Some(arrived)).await {
            crate::metrics::cache("page", true);
            let value = self.parse(parsed, &m, parse).await?.map_err(malformed)?;
            return Ok(Fetched { digest: m.digest, value: (m, value), stale: None });
        }
        crate::metrics::cache("page", false);
        let cached = self.load(key).await;
        if let (Some(c), Some(failed)) = (&cached, self.failed.get(key)) {
            if failed >= arrived {
                // The upstream failed for the request we waited on: do not queue up behind it.
                let why =
                    format!("upstream failed moments ago; serving the copy cached at unix time {}", c.page.fetched_at);
                let value = self.parse(parsed, c, parse).await?.map_err(malformed)?;
                return Ok(Fetched { value: (c.clone(), value), stale: Some(why), digest: c.digest });
            }
        }
        let etag = cached.as_ref().and_then(|c| c.page.etag.as_deref());
        let fetched = match self.upstream.fetch_page(url, etag).await {
            Ok(PageFetch::Fresh { body, content_type, etag, url: final_url }) => {
                let page = CachedPage { url: final_url.to_string(), fetched_at: now_unix(), etag, content_type, body };
                let key = key.to_string();
                Ok(off_reactor(move || {
                    let digest = page_digest(&key, &page);
                    Arc::new(MemPage { page, digest, fetched: Some(Instant::now()) })
                })
                .await?)
            }
            Ok(PageFetch::NotModified) if cached.is_some() => {
                let c = cached.as_ref().expect("checked");
                let mut page = c.page.clone();
                page.fetched_at = now_unix();
                Ok(Arc::new(MemPage { page, digest: c.digest, fetched: Some(Instant::now()) }))
            }
            Ok(PageFetch::NotModified) => Err(ProxyError::UpstreamStatus { url: redact(url), status: 304 }),
            Ok(PageFetch::NotFound) => {
                return Err(ProxyError::NotFound { what: format!("{key} on upstream {}", self.upstream.display()) })
            }
            Err(e) => Err(e),
        };
        let outcome = match fetched {
            Ok(m) => match self.parse(parsed, &m, parse.clone()).await? {
                Ok(v) => Ok((m, v)),
                Err(e) => Err(malformed(e)),
            },
            Err(e) => Err(e),
        };
        match (outcome, cached) {
            (Ok((m, value)), prev) => {
                self.save(key, &m, prev.is_some_and(|p| p.digest == m.digest)).await;
                Ok(Fetched { digest: m.digest, value: (m, value), stale: None })
            }
            (Err(e), Some(c)) => {
                self.failed.insert(key.to_string(), Instant::now());
                let why = format!("upstream failed ({e}); serving the copy cached at unix time {}", c.page.fetched_at);
                tracing::warn!(page = key, "{why}");
                let value = self.parse(parsed, &c, parse).await?.map_err(malformed)?;
                Ok(Fetched { digest: c.digest, value: (c, value), stale: Some(why) })
            }
            (Err(e), None) => Err(e),
        }
    }

    /// The cached page if it is inside its TTL, or was fetched after `since`.
    async fn fresh(&self, key: &str, since: Option<Instant>) -> Option<Arc<MemPage>> {
        let m = self.load(key).await?;
        let in_ttl = now_unix() - m.page.fetched_at < self.ttl.as_secs() as i64;
        let after = matches!((since, m.fetched), (Some(s), Some(f)) if f >= s);
        (in_ttl || after).then_some(m)
    }

    /// The parse of a page: cached by digest, else computed on a blocking thread.
    async fn parse<T, P>(
        &self,
        cache: &Parsed<T>,
        m: &Arc<MemPage>,
        parse: P,
    ) -> Result<Result<Arc<T>, page::ParseError>, ProxyError>
    where
        T: Send + Sync + 'static,
        P: FnOnce(&CachedPage) -> Result<T, page::ParseError> + Send + 'static,
    {
        if let Some(v) = cache.get(&m.digest) {
            return Ok(Ok(v));
        }
        let page = m.clone();
        Ok(off_reactor(move || parse(&page.page)).await?.map(|v| {
            let v = Arc::new(v);
            cache.insert(m.digest, v.clone());
            v
        }))
    }

    async fn load(&self, key: &str) -> Option<Arc<MemPage>> {
        if let Some(p) = self.mem.get(key) {
            return Some(p);
        }
        let page = self.pages.load_page(key).await?;
        let owned = key.to_string();
        let m = off_reactor(move || Arc::new(MemPage { digest: page_digest(&owned, &page), page, fetched: None }))
            .await
            .ok()?;
        self.mem.insert(key.to_string(), m.clone());
        Some(m)
    }

    /// Keep the page in memory; persist it when its body changed (a revalidation that only
    /// moves `fetched_at` is not worth rewriting a large page for).
    async fn save(&self, key: &str, m: &Arc<MemPage>, unchanged: bool) {
        self.mem.insert(key.to_string(), m.clone());
        if unchanged {
            return;
        }
        if let Err(e) = self.pages.save_page(key, &m.page).await {
            tracing::warn!(page = key, error = %e, "could not persist page cache");
        }
    }

    /// Record every file's origin, once per distinct page.
    /// A failure is returned, not swallowed: a page whose files cannot be found again
    /// would turn every download from it into a misleading 404.
    async fn register(&self, project: &str, m: &MemPage, page: &Arc<ProjectPage>) -> Result<(), ProxyError> {
        if self.registered.contains_key(&m.digest) {
            return Ok(());
        }
        let (owned, page) = (project.to_string(), page.clone());
        let origins: Vec<FileOrigin> =
            off_reactor(move || page.files.iter().map(|e| origin(&owned, e)).collect()).await?;
        self.origins.put_origins(origins).await.map_err(|e| {
            tracing::error!(project, error = %e, "could not record file origins");
            ProxyError::internal(e)
        })?;
        self.registered.insert(m.digest, ());
        Ok(())
    }
}

impl From<url::ParseError> for page::ParseError {
    fn from(e: url::ParseError) -> Self {
        page::ParseError(e.to_string())
    }
}
