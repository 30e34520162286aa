//! Pages kept warm: when a verdict changes what a project page lists (most often a background
//! pre-scan of an older version ending while nobody is asking), the pages clients were served
//! in the last [`MAX_AGE`] are re-rendered and re-encoded in the background once client
//! requests have been quiet for a moment, so the next resolve is answered from memory instead
//! of re-rendering every page it asks for.
//!
//! Owns: the pages recently served (bounded: project and format → the upstream page, its
//! digest, the encoding last sent and the listing state it was rendered under), and the loop
//! that waits for the gate's listing bumps, yields to clients as background pre-scans do
//! (`--prescan-yield`), and runs the page route's own listing step for each page whose state
//! moved. Must not: fetch anything upstream (it re-renders the upstream page last served; a
//! newer one is the next request's to fetch), decide (the gate does, exactly as for a request),
//! or answer clients.

use super::page::{listing, Page};
use crate::app::App;
use crate::index::accept::PageFormat;
use crate::index::page::ProjectPage;
use crate::index::rendered::{Encoding, MAX_AGE};
use std::sync::{Arc, Once, Weak};
use std::time::Instant;

/// Pages remembered at most (a resolve asks for a few hundred).
const SERVED_PAGES: u64 = 2_048;

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
            served: moka::sync::Cache::builder().max_capacity(SERVED_PAGES).time_to_live(MAX_AGE).build(),
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

/// Wait for a listing bump, yield to clients, re-render what moved; until the app is gone.
async fn run(app: Weak<App>) {
    let Some(bumps) = app.upgrade().map(|a| a.gate.listing_bumps()) else { return };
    loop {
        bumps.notified().await;
        let Some(a) = app.upgrade() else { return };
        a.prescan.yield_to_clients().await;
        refresh_moved(&a).await;
    }
}

/// Re-render (and encode as last sent) every remembered page whose listing state moved.
async fn refresh_moved(app: &App) {
    let moved: Vec<_> = app
        .refresh
        .served
        .iter()
        .filter(|(k, s)| app.gate.listing_state(&k.0) != s.state)
        .map(|(k, s)| ((*k).clone(), s))
        .collect();
    for ((project, format), s) in moved {
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
