//! A project page kept as one rendered entry per upstream file, so a verdict that becomes
//! known re-renders that file's entry, not the page.
//!
//! Owns: the entries of one (project, format, upstream page) as text, which of them were
//! made from something pipgate knew (a verdict, a verified file) and so are made again on
//! the next change, and joining them with the page's head and tail into the body a full
//! render gives, byte for byte ([`super::render::join`]); the bounded cache of such pages.
//! Must not: decide what is listed (the caller's `list` says how file `i` is listed, from
//! the gate's verdicts) or keep bodies and their compressed forms ([`super::rendered`] does).

use super::accept::PageFormat;
use super::render::{self, ListedFile};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Entries kept over every patchable page (an entry is a few hundred bytes of text).
const CACHE_ENTRIES: u64 = 200_000;
/// A page not asked for in this long is dropped (its next view renders it whole).
const IDLE: Duration = Duration::from_secs(600);

/// One page's entries, as last rendered, with what the caller keeps beside them (`extra`).
pub(crate) struct Patched<E> {
    format: PageFormat,
    /// Entry `i`'s text; `None`: hidden.
    entries: Vec<Option<String>>,
    /// The entries made from something known last time (made again on every patch).
    known: Vec<usize>,
    /// The page-wide input of every entry (whether any file stays allowed); `None`: nothing made yet.
    any_allowed: Option<bool>,
    pub(crate) extra: Option<E>,
}

impl<E> Patched<E> {
    pub(crate) fn new(format: PageFormat) -> Self {
        Patched { format, entries: Vec::new(), known: Vec::new(), any_allowed: None, extra: None }
    }

    /// Bring the entries up to date: make again those named by `known` (the files something
    /// is known about now) and those made from something known last time; every entry the
    /// first time, when the page's length changed, or when `any_allowed` did. `list(i)` is
    /// file `i` as listed (`None`: hidden). Returns how many entries were made.
    pub(crate) fn patch(
        &mut self,
        files: usize,
        known: impl Iterator<Item = usize>,
        any_allowed: bool,
        list: impl Fn(usize) -> Option<ListedFile>,
    ) -> usize {
        let mut now: Vec<usize> = known.filter(|&i| i < files).collect();
        now.sort_unstable();
        now.dedup();
        let format = self.format;
        let make = |i: usize| list(i).map(|f| render::project_entry(format, &f));
        let made = if self.any_allowed != Some(any_allowed) || self.entries.len() != files {
            self.entries = (0..files).map(make).collect();
            files
        } else {
            let mut again = std::mem::take(&mut self.known);
            again.extend_from_slice(&now);
            again.sort_unstable();
            again.dedup();
            for &i in &again {
                self.entries[i] = make(i);
            }
            again.len()
        };
        self.known = now;
        self.any_allowed = Some(any_allowed);
        made
    }

    pub(crate) fn format(&self) -> PageFormat {
        self.format
    }

    /// Indices of the entries shown (not hidden), in page order.
    pub(crate) fn shown(&self) -> impl Iterator<Item = usize> + '_ {
        self.entries.iter().enumerate().filter(|(_, e)| e.is_some()).map(|(i, _)| i)
    }

    /// The page: `head`, the shown entries, `tail`.
    pub(crate) fn body(&self, head: &str, tail: &str) -> String {
        render::join(self.format, head, self.entries.iter().flatten(), tail)
    }
}

/// Patchable pages by the caller's key (project, format, upstream page digest), bounded by
/// their files, dropped when idle.
pub(crate) struct PatchCache<E> {
    cache: moka::sync::Cache<String, Arc<Mutex<Patched<E>>>>,
}

impl<E: Send + Sync + 'static> PatchCache<E> {
    pub(crate) fn new() -> Self {
        PatchCache {
            cache: moka::sync::Cache::builder()
                .weigher(|_, p: &Arc<Mutex<Patched<E>>>| {
                    let files = p.lock().map(|p| p.entries.len()).unwrap_or(0);
                    u32::try_from(files).unwrap_or(u32::MAX).max(1)
                })
                .max_capacity(CACHE_ENTRIES)
                .time_to_idle(IDLE)
                .build(),
        }
    }

    /// The page kept under `key`, or a new empty one (weighed by `files`).
    pub(crate) fn get(&self, key: &str, format: PageFormat, files: usize) -> Arc<Mutex<Patched<E>>> {
        self.cache.get_with(key.to_string(), || {
            let mut fresh = Patched::new(format);
            // Weighed at insertion: the page's length, made on the first patch.
            fresh.entries = vec![None; files];
            Arc::new(Mutex::new(fresh))
        })
    }
}
