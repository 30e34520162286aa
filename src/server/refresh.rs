//! Pages kept warm: when a verdict changes what a project page lists (most often a background
//! pre-scan of an older version ending while nobody is asking), the pages clients were served
//! in the last [`MAX_AGE`] are re-rendered and re-encoded in the background once client
//! requests have been quiet for a moment, so the next resolve is answered from memory instead
//! of re-rendering every page it asks for.
//!
//! Owns: the pages recently served (bounded by their files, as the parsed-page cache is:
//! project and format → the upstream page, its digest, the encoding last sent and the listing
//! state it was rendered under), and the loop that waits for the gate's listing bumps and, page
//! by page, yields to clients as background pre-scans do (`--prescan-yield`) and runs the page
//! route's own listing step for each page whose state moved. Must not: fetch anything upstream (it re-renders the upstream page last served; a
//! newer one is the next request's to fetch), decide (the gate does, exactly as for a request),
//! or answer clients.

use super::page::{listing, Page};
use crate::app::App;
use crate::index::accept::PageFormat;
use crate::index::page::ProjectPage;
use crate::index::rendered::{Encoding, MAX_AGE};
use std::sync::{Arc, Once, Weak};
use std::time::Instant;

/// Files of the pages remembered, at most: a page weighs its files (plus one), so a resolve's
/// few hundred pages fit and a few huge ones (tens of thousands of files each) cannot hold more
/// than the parsed-page cache itself keeps.
const SERVED_FILES: u64 = 500_000;

/// What a remembered page weighs against [`SERVED_FILES`].
fn weight(s: &Served) -> u32 {
    u32::try_from(s.page.files.len()).unwrap_or(u32::MAX).saturating_add(1)
}

/// One page as last served.
struct Served {
    page: Arc<ProjectPage>,
    digest: [u8; 32],
    encoding: Encoding,
    /// The listing state the page served was rendered under.
    state: String,
}

/// The pages recently served, and the background loop that keeps them current.
pub(crate) struct Refresh {
    served: moka::sync::Cache<(String, PageFormat), Arc<Served>>,
    app: Weak<App>,
    started: Once,
}

impl Refresh {
    pub(crate) fn new(app: Weak<App>) -> Refresh {
        Refresh {
            served: moka::sync::Cache::builder()
                .max_capacity(SERVED_FILES)
                .weigher(|_, s: &Arc<Served>| weight(s))
                .time_to_live(MAX_AGE)
                .build(),
            app,
            started: Once::new(),
        }
    }

    /// A project page was served: remember it (and start the loop with the first one).
    pub(crate) fn served(
        &self,
        project: &str,
        format: PageFormat,
        encoding: Encoding,
        page: &Arc<ProjectPage>,
        digest: [u8; 32],
        state: String,
    ) {
        self.started.call_once(|| {
            tokio::spawn(run(self.app.clone()));
        });
        let served = Served { page: page.clone(), digest, encoding, state };
        self.served.insert((project.to_string(), format), Arc::new(served));
    }
}

/// Wait for a listing bump, then re-render what moved; until the app is gone.
async fn run(app: Weak<App>) {
    let Some(bumps) = app.upgrade().map(|a| a.gate.listing_bumps()) else { return };
    loop {
        bumps.notified().await;
        let Some(a) = app.upgrade() else { return };
        refresh_moved(&a).await;
    }
}

/// Re-render (and encode as last sent) every remembered page whose listing state moved, one at
/// a time, each after clients have been quiet: a resolve starting midway waits for no more than
/// one page's render. A page a request served again meanwhile is that request's (it is left).
async fn refresh_moved(app: &App) {
    let moved: Vec<_> = app
        .refresh
        .served
        .iter()
        .filter(|(k, s)| app.gate.listing_state(&k.0) != s.state)
        .map(|(k, s)| ((*k).clone(), s))
        .collect();
    for ((project, format), s) in moved {
        app.prescan.yield_to_clients().await;
        let key = (project, format);
        if !app.refresh.served.get(&key).is_some_and(|now| Arc::ptr_eq(&now, &s)) {
            continue;
        }
        let (project, format) = key;
        let started = Instant::now();
        match listing(app, &project, &s.page, s.digest, format).await {
            Ok((page, state)) => {
                encode(page, s.encoding).await;
                let ms = started.elapsed().as_millis() as u64;
                tracing::debug!(project = %project, format = ?format, ms, "page refreshed after a verdict changed its listing");
                crate::metrics::page_refreshed();
                let again = Served { page: s.page.clone(), digest: s.digest, encoding: s.encoding, state };
                // Only if still the page last served (a request may have replaced it meanwhile).
                let key = (project, format);
                if app.refresh.served.get(&key).is_some_and(|now| Arc::ptr_eq(&now, &s)) {
                    app.refresh.served.insert(key, Arc::new(again));
                }
            }
            Err(e) => {
                tracing::warn!(project = %project, error = %e, "refreshing a page failed; the next request renders it");
            }
        }
    }
}

/// Make the encoded form a client gets, so the next request only sends it.
async fn encode(page: Page, encoding: Encoding) {
    let _ = tokio::task::spawn_blocking(move || page.encoded(encoding)).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::page::FileEntry;

    fn page(name: &str, files: usize) -> Arc<ProjectPage> {
        let entry = FileEntry {
            filename: format!("{name}-1.0-py3-none-any.whl"),
            url: url::Url::parse("http://127.0.0.1/f.whl").expect("url"),
            hashes: Default::default(),
            requires_python: None,
            yanked: None,
            core_metadata: None,
            size: None,
            upload_time: None,
            extra: Default::default(),
        };
        Arc::new(ProjectPage { name: name.into(), files: vec![entry; files], ..Default::default() })
    }

    /// Many small pages are all remembered (a resolve's few hundred), while a few huge ones cannot
    /// hold more files than the bound: the pages' files, not their count, are what is bounded.
    #[tokio::test]
    async fn remembered_pages_are_bounded_by_their_files() {
        let cases: &[(&str, usize, usize)] = &[
            // (case, pages served, files on each page)
            ("a resolve's pages, a few files each", 600, 40),
            ("huge pages, each over a third of the bound", 4, 200_000),
        ];
        for &(case, pages, files) in cases {
            let refresh = Refresh::new(Weak::new());
            for i in 0..pages {
                let p = page(&format!("p{i}"), files);
                refresh.served(&format!("p{i}"), PageFormat::Json, Encoding::Identity, &p, [0; 32], String::new());
            }
            refresh.served.run_pending_tasks();
            let kept = refresh.served.entry_count() as usize;
            let weight = refresh.served.weighted_size();
            assert!(weight <= SERVED_FILES, "{case}: {weight} files remembered, bound {SERVED_FILES}");
            match files * pages <= SERVED_FILES as usize {
                true => assert_eq!(kept, pages, "{case}: every page fits, all are kept"),
                false => assert!(kept < pages && kept >= 1, "{case}: {kept} of {pages} pages kept"),
            }
        }
    }
}
