//! Index pages: fetch from upstream, cache with a short TTL (revalidated with ETag),
//! parse, and rewrite file URLs to point at pipgate.
//!
//! Owns: the page cache (memory + `<data-dir>/pages/`, so a restart with the upstream
//! down still answers), serving a stale page when the upstream fails (and saying so),
//! recording every listed file's origin in the store, and the file URL shape
//! `../../files/<key>/<filename>` (stable across restarts, no query string).
//! Must not: download artifacts or decide verdicts.

pub(crate) mod accept;
pub(crate) mod page;
pub(crate) mod render;

use crate::config::redact;
use crate::error::ProxyError;
use crate::model::{CachedPage, FileKey, FileOrigin};
use crate::store::{OriginStore, PageStore};
use crate::upstream::{PageFetch, Upstream};
use page::{FileEntry, ProjectPage};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Pages kept in memory (beyond it, the page store answers).
const MEM_PAGES: u64 = 2048;

/// A parsed page plus, when the upstream failed and a cached copy was used, why.
pub(crate) struct Fetched<T> {
    pub value: T,
    pub stale: Option<String>,
}

pub(crate) struct Index {
    upstream: Upstream,
    ttl: Duration,
    origins: Arc<dyn OriginStore>,
    pages: Arc<dyn PageStore>,
    /// Recently used pages (bounded).
    mem: moka::sync::Cache<String, Arc<CachedPage>>,
    /// sha256 of page bodies whose file origins are already in the store (bounded).
    registered: moka::sync::Cache<[u8; 32], ()>,
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
            mem: moka::sync::Cache::new(MEM_PAGES),
            registered: moka::sync::Cache::new(4 * MEM_PAGES),
        }
    }

    /// The project page, parsed, with every file's origin recorded.
    pub(crate) async fn project(&self, name: &str) -> Result<Fetched<ProjectPage>, ProxyError> {
        let url = self.upstream.project_url(name);
        let f = self
            .fetch(name, &url, |c| page::parse_project(&c.body, &c.content_type, &Url::parse(&c.url)?, name))
            .await?;
        let (cached, parsed) = f.value;
        self.register(name, &cached, &parsed).await?;
        Ok(Fetched { value: parsed, stale: f.stale })
    }

    /// The root listing's project names.
    pub(crate) async fn root(&self) -> Result<Fetched<Vec<String>>, ProxyError> {
        let url = self.upstream.base().clone();
        let f = self.fetch("_root", &url, |c| page::parse_root(&c.body, &c.content_type)).await?;
        Ok(Fetched { value: f.value.1, stale: f.stale })
    }

    /// Cache-aware fetch and parse. A fresh body replaces the cached one only once it parses;
    /// each body is parsed once per request.
    async fn fetch<T>(
        &self,
        key: &str,
        url: &Url,
        parse: impl Fn(&CachedPage) -> Result<T, page::ParseError>,
    ) -> Result<Fetched<(Arc<CachedPage>, T)>, ProxyError> {
        let malformed = |e: page::ParseError| ProxyError::MalformedPage { url: redact(url), reason: e.0 };
        let cached = self.load(key).await;
        if let Some(c) = &cached {
            if now_unix() - c.fetched_at < self.ttl.as_secs() as i64 {
                return Ok(Fetched { value: (c.clone(), parse(c).map_err(malformed)?), stale: None });
            }
        }
        let etag = cached.as_ref().and_then(|c| c.etag.as_deref());
        let outcome = match self.upstream.fetch_page(url, etag).await {
            Ok(PageFetch::Fresh { body, content_type, etag, url: final_url }) => {
                let page = CachedPage { url: final_url.to_string(), fetched_at: now_unix(), etag, content_type, body };
                parse(&page).map(|v| (Arc::new(page), v)).map_err(malformed)
            }
            Ok(PageFetch::NotModified) if cached.is_some() => {
                let mut c = (**cached.as_ref().expect("checked")).clone();
                c.fetched_at = now_unix();
                parse(&c).map(|v| (Arc::new(c), v)).map_err(malformed)
            }
            Ok(PageFetch::NotModified) => Err(ProxyError::UpstreamStatus { url: redact(url), status: 304 }),
            Ok(PageFetch::NotFound) => {
                return Err(ProxyError::NotFound { what: format!("{key} on upstream {}", self.upstream.display()) })
            }
            Err(e) => Err(e),
        };
        match (outcome, cached) {
            (Ok((page, value)), _) => {
                self.save(key, &page).await;
                Ok(Fetched { value: (page, value), stale: None })
            }
            (Err(e), Some(c)) => {
                let why = format!("upstream failed ({e}); serving the copy cached at unix time {}", c.fetched_at);
                tracing::warn!(page = key, "{why}");
                let value = parse(&c).map_err(malformed)?;
                Ok(Fetched { value: (c, value), stale: Some(why) })
            }
            (Err(e), None) => Err(e),
        }
    }

    async fn load(&self, key: &str) -> Option<Arc<CachedPage>> {
        if let Some(p) = self.mem.get(key) {
            return Some(p);
        }
        let page = Arc::new(self.pages.load_page(key).await?);
        self.mem.insert(key.to_string(), page.clone());
        Some(page)
    }

    async fn save(&self, key: &str, page: &Arc<CachedPage>) {
        self.mem.insert(key.to_string(), page.clone());
        if let Err(e) = self.pages.save_page(key, page).await {
            tracing::warn!(page = key, error = %e, "could not persist page cache");
        }
    }

    /// Record every file's origin, once per distinct page body.
    /// A failure is returned, not swallowed: a page whose files cannot be found again
    /// would turn every download from it into a misleading 404.
    async fn register(&self, project: &str, cached: &CachedPage, page: &ProjectPage) -> Result<(), ProxyError> {
        let digest: [u8; 32] = Sha256::digest(cached.body.as_bytes()).into();
        if self.registered.contains_key(&digest) {
            return Ok(());
        }
        let origins: Vec<FileOrigin> = page
            .files
            .iter()
            .map(|e| FileOrigin {
                key: file_key(e),
                filename: e.filename.clone(),
                project: project.to_string(),
                url: e.url.to_string(),
                hashes: e.hashes.clone(),
                upload_time: e.upload_time.clone(),
                size: e.size,
                core_metadata: e.core_metadata.clone(),
            })
            .collect();
        self.origins.put_origins(origins).await.map_err(|e| {
            tracing::error!(project, error = %e, "could not record file origins");
            ProxyError::internal(e)
        })?;
        self.registered.insert(digest, ());
        Ok(())
    }
}

impl From<url::ParseError> for page::ParseError {
    fn from(e: url::ParseError) -> Self {
        page::ParseError(e.to_string())
    }
}
