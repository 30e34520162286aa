//! `pipgate advisories update`: fetch an OSV export zip (or a KEV catalogue) from a
//! configured URL into the data directory, revalidating with `ETag` / `Last-Modified` so an
//! unchanged source costs one `304`. Uses a client built like the upstream's (rustls with
//! the system trust store, bounded time and size). Never required: pipgate works offline.
//! Must not: run while deciding; it only writes files the running proxy polls.

use super::load;
use std::path::Path;

/// The largest source accepted (the full PyPI export is a few tens of MiB).
const MAX_BYTES: u64 = 512 << 20;

/// What one fetch did.
#[derive(Debug)]
pub(crate) enum Fetched {
    /// The source answered `304`: the copy in the data directory (imported at `since`) stands.
    NotModified { name: String, since: String, shown: String },
    /// New data, imported (and picked up by a running proxy's poll).
    Imported { name: String, records: usize, written: std::path::PathBuf, shown: String },
}

impl Fetched {
    /// One line saying what happened.
    pub(crate) fn line(&self) -> String {
        match self {
            Fetched::NotModified { name, since, shown } => format!("{name}: not modified since {since} ({shown})"),
            Fetched::Imported { name, records, written, shown } => {
                format!("{name}: {records} records from {shown} into {}", written.display())
            }
        }
    }
}

/// Fetch `url` as source `name` into `<data_dir>/advisories/`. One line saying what happened.
pub async fn update(data_dir: &Path, url: &str, name: &str) -> Result<String, String> {
    fetch(data_dir, url, name).await.map(|f| f.line())
}

/// [`update`], saying what happened as data (the scheduled refresh logs the record count).
/// The import (a zip parse) runs on a blocking thread, apart from the runtime's workers.
pub(crate) async fn fetch(data_dir: &Path, url: &str, name: &str) -> Result<Fetched, String> {
    let dir = super::advisories_dir(data_dir);
    let parsed = url::Url::parse(url).map_err(|e| format!("advisories URL {url:?}: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("advisories URL {url:?}: expected http(s)"));
    }
    let shown = crate::config::redact(&parsed);
    let client = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(30))
        .timeout(std::time::Duration::from_secs(600))
        .user_agent(concat!("pipgate/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("building the HTTP client: {e}"))?;
    // A KEV catalogue's sidecar is `kev.source.json` whatever the source's name.
    let side = [name, "kev"].into_iter().filter_map(|n| load::read_sidecar(&dir, n)).find(|s| s.origin == shown);
    let mut req = client.get(parsed.clone());
    if let Some(s) = &side {
        if let Some(e) = &s.etag {
            req = req.header(reqwest::header::IF_NONE_MATCH, e);
        }
        if let Some(m) = &s.last_modified {
            req = req.header(reqwest::header::IF_MODIFIED_SINCE, m);
        }
    }
    let resp = req.send().await.map_err(|e| format!("{shown}: {}", crate::upstream::describe(&e)))?;
    if resp.status() == reqwest::StatusCode::NOT_MODIFIED {
        let since = side.map(|s| s.imported_at).unwrap_or_default();
        return Ok(Fetched::NotModified { name: name.to_string(), since, shown });
    }
    if !resp.status().is_success() {
        return Err(format!("{shown}: HTTP {} (the server's answer)", resp.status()));
    }
    let header =
        |h: reqwest::header::HeaderName| resp.headers().get(h).and_then(|v| v.to_str().ok()).map(str::to_string);
    let (etag, modified) = (header(reqwest::header::ETAG), header(reqwest::header::LAST_MODIFIED));
    if resp.content_length().is_some_and(|n| n > MAX_BYTES) {
        return Err(format!("{shown}: larger than {MAX_BYTES} bytes"));
    }
    // Read in chunks and stop at the cap: a chunked answer has no length to check up front.
    let mut resp = resp;
    let mut bytes = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| format!("{shown}: {}", crate::upstream::describe(&e)))? {
        if (bytes.len() + chunk.len()) as u64 > MAX_BYTES {
            return Err(format!("{shown}: larger than {MAX_BYTES} bytes"));
        }
        bytes.extend_from_slice(&chunk);
    }
    let (label, name) = (name.to_string(), name.to_string());
    let store = move || {
        let tmp = tempfile_in(&dir, &name, &bytes)?;
        let is_json = bytes.first() == Some(&b'{');
        let staged = tmp.with_file_name(format!("{name}.{}", if is_json { "json" } else { "zip" }));
        std::fs::rename(&tmp, &staged).map_err(|e| format!("{}: {e}", staged.display()))?;
        let done = load::import(&dir, &staged, &shown, Some(&name));
        let _ = std::fs::remove_file(&staged);
        let done = done.map_err(|e| e.to_string())?;
        let side_name = if done.kev { "kev" } else { done.name.as_str() };
        load::write_sidecar(&dir, side_name, &shown, done.records, Some((etag, modified)))
            .map_err(|e| e.to_string())?;
        Ok(Fetched::Imported { name: done.name, records: done.records, written: done.written, shown })
    };
    tokio::task::spawn_blocking(store).await.map_err(|e| format!("importing {label:?}: {e}"))?
}

fn tempfile_in(dir: &Path, name: &str, bytes: &[u8]) -> Result<std::path::PathBuf, String> {
    let staging = dir.join(".staging");
    std::fs::create_dir_all(&staging).map_err(|e| format!("{}: {e}", staging.display()))?;
    let p = staging.join(format!("{name}.download-{}", std::process::id()));
    std::fs::write(&p, bytes).map_err(|e| format!("{}: {e}", p.display()))?;
    Ok(p)
}
