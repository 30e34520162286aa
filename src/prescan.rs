//! Pre-scan: when a project page is fetched, download and scan in the background the files
//! a resolver is likely to pick, so their verdicts are known before the first client asks
//! for them. A blocked newest version is then already hidden or yanked on the page the
//! resolver reads, and the first install falls back instead of meeting a 403.
//!
//! Owns: choosing the candidates ([`eligible`] then [`plan`]: the newest N versions that are
//! not pre-releases, not yanked, not held and not already known blocked, and of each the
//! files whose tags match the configured patterns, within a byte budget per page); running
//! them: the newest version's files, which the page waits for, at once (a client is
//! waiting, as for a file it asks for: up to [`URGENT`] at a time, so twenty pages a
//! resolver asks for together are not answered one pre-scan after another), the older
//! versions' at low priority (a small semaphore of their own, `--prescan-concurrency`; a
//! background pre-scan a page comes to wait for is promoted, and one holding its permit
//! still yields to client requests in flight ([`Clients`]) for at most `--prescan-yield`),
//! while a client request never waits for a permit, and one asking for a file being
//! pre-scanned joins it through the same single flight, download task and scan cache;
//! deduplicating them (per file key while running, and for [`RECENT`] after); cancelling them on shutdown; and the page's brief wait for
//! the newest candidate ([`Prescan::before_listing`]). Which wheels are candidates follows
//! the asking client when its User-Agent says ([`client_target`]: pip and uv send their
//! Python version and platform), so a 3.11 resolver on Linux does not start downloads of
//! macOS or 3.14 wheels it will never ask for. Each pre-scan is logged (started, done with
//! its verdict, failed, abandoned) and counted in `metrics` (pending, running, ended by
//! outcome, and the pages' waits).
//!
//! Must not: decide (the gate does, exactly as for a client's request), render pages, or
//! write the audit log (nothing was served; the log records what clients received).

use crate::app::App;
use crate::config::PrescanConfig;
use crate::error::ProxyError;
use crate::index::file_key;
use crate::index::page::{FileEntry, ProjectPage};
use crate::model::{parse_dist_filename, ArtifactKind, Decision, FileOrigin, Printable};
use futures_util::future::{BoxFuture, FutureExt, Shared};
use pep440_rs::Version;
use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// A file pre-scanned recently is not pre-scanned again for this long: its verdict is
/// cached by then, or its failure is not retried on every page view.
const RECENT: Duration = Duration::from_secs(600);
/// Files remembered as recently pre-scanned (bounded).
const RECENT_FILES: u64 = 65_536;
/// Versions looked at past the N wanted, to skip the held and known-blocked ones.
const LOOKAHEAD: usize = 8;
/// What a file whose size the page does not give (PEP 503 HTML) counts against the budget.
const UNKNOWN_SIZE: u64 = 4 << 20;
/// Pre-scans a page waits for (its newest version's files) running at once, process-wide:
/// foreground work, bounded only so a flood of page requests cannot start unbounded downloads.
const URGENT: usize = 64;
/// How long no client request must have been in flight before a background pre-scan that
/// yields to clients starts: longer than the gaps between one resolver's requests.
const QUIET: Duration = Duration::from_millis(250);

/// Which files of a version a resolver is likely to pick: glob patterns over a wheel's
/// `python-abi-platform` tag, and `sdist`. A file's rank is its first matching pattern.
#[derive(Debug)]
pub(crate) struct Tags(Vec<TagPattern>);

#[derive(Debug)]
enum TagPattern {
    Sdist,
    Wheel(glob::Pattern),
}

impl Tags {
    /// The patterns of the configuration (checked at start-up; a bad one is skipped here).
    pub(crate) fn new(raw: &[String]) -> Tags {
        Tags(
            raw.iter()
                .filter_map(|t| match t.as_str() {
                    "sdist" => Some(TagPattern::Sdist),
                    _ => glob::Pattern::new(t).ok().map(TagPattern::Wheel),
                })
                .collect(),
        )
    }

    /// The rank of a file (lower is fetched first), `None` when no pattern selects it.
    fn rank(&self, filename: &str, kind: ArtifactKind) -> Option<usize> {
        let tags = match kind {
            ArtifactKind::Wheel => wheel_tags(filename),
            _ => vec![],
        };
        self.0.iter().position(|p| match p {
            TagPattern::Sdist => kind == ArtifactKind::Sdist,
            TagPattern::Wheel(g) => tags.iter().any(|t| g.matches(t)),
        })
    }
}

/// A wheel's tag triple as written, then each triple of its compressed tag sets
/// (`py2.py3-none-any` → `py2-none-any`, `py3-none-any`).
fn wheel_tags(filename: &str) -> Vec<String> {
    let Some(triple) = crate::model::wheel_tag_triple(filename) else { return vec![] };
    let mut parts = triple.splitn(3, '-');
    let (Some(py), Some(abi), Some(plat)) = (parts.next(), parts.next(), parts.next()) else { return vec![] };
    let mut out = vec![triple.to_string()];
    for p in py.split('.') {
        for a in abi.split('.') {
            for l in plat.split('.') {
                out.push(format!("{p}-{a}-{l}"));
            }
        }
    }
    out
}

/// The wheels a client installs, as its User-Agent tells: its CPython `3.N` and a platform
/// glob of the default tags.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ClientTarget {
    python: String,
    platform: &'static str,
}

/// Read pip's and uv's User-Agent (`pip/24.0 {"python":"3.11.7","cpu":"x86_64",
/// "system":{"name":"Linux"},"distro":{"libc":{"lib":"glibc"}},…}`): `None` when it is not
/// that JSON, the interpreter is not CPython 3, or the platform is not one the default tags
/// know (the configured tags apply then). Client text: nothing of it is used but the
/// checked version digits and a platform chosen from a fixed list.
pub(crate) fn client_target(user_agent: &str) -> Option<ClientTarget> {
    let json = &user_agent[user_agent.find('{')?..];
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    if v.pointer("/implementation/name").and_then(|n| n.as_str()) != Some("CPython") {
        return None;
    }
    let mut version = v.get("python")?.as_str()?.split('.');
    let (major, minor) = (version.next()?, version.next()?);
    let digits = |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
    if major != "3" || !digits(minor) {
        return None;
    }
    let musl = v.pointer("/distro/libc/lib").and_then(|l| l.as_str()) == Some("musl");
    let platform = match (v.pointer("/system/name")?.as_str()?, v.get("cpu")?.as_str()?, musl) {
        ("Linux", "x86_64", false) => "manylinux*_x86_64",
        ("Linux", "x86_64", true) => "musllinux*_x86_64",
        ("Linux", "aarch64", false) => "manylinux*_aarch64",
        ("Linux", "aarch64", true) => "musllinux*_aarch64",
        ("Darwin", _, _) => "macosx_*",
        ("Windows", "AMD64" | "x86_64", _) => "win_amd64",
        _ => return None,
    };
    Some(ClientTarget { python: format!("3.{minor}"), platform })
}

/// One version's candidate files (indexes into the page), in the order worth fetching.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Candidates {
    pub version: String,
    pub files: Vec<usize>,
}

/// The versions a resolver may pick, newest first (PEP 440 order), each with the files the
/// tags select: no pre-releases or dev releases, no yanked files, no versions PEP 440 cannot
/// order. Pure; runs on a blocking thread (a page can list 100k files).
pub(crate) fn eligible(page: &ProjectPage, tags: &Tags) -> Vec<Candidates> {
    let mut by_version: BTreeMap<Version, (String, Vec<(usize, usize)>)> = BTreeMap::new();
    for (i, e) in page.files.iter().enumerate() {
        if e.yanked.is_some() {
            continue;
        }
        let Some(d) = parse_dist_filename(&e.filename) else { continue };
        let Ok(v) = Version::from_str(&d.version) else { continue };
        if v.any_prerelease() {
            continue;
        }
        let Some(rank) = tags.rank(&e.filename, d.kind) else { continue };
        by_version.entry(v).or_insert_with(|| (d.version.clone(), vec![])).1.push((rank, i));
    }
    by_version
        .into_values()
        .rev()
        .map(|(version, mut files)| {
            files.sort_unstable();
            Candidates { version, files: files.into_iter().map(|(_, i)| i).collect() }
        })
        .collect()
}

/// What is already known about a candidate file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Known {
    /// Never scanned: worth a pre-scan.
    Unknown,
    /// Scanned and allowed (served or annotated).
    Allowed,
    /// Scanned and blocked, or held before any download (deny list, cooldown, a feed).
    Blocked,
}

/// A file to pre-scan, and whether it belongs to the newest version counted (the page
/// waits for those).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Planned {
    pub file: usize,
    pub newest: bool,
}

/// Which files to pre-scan: walking `versions` newest first, a version whose every
/// candidate is known blocked is skipped (the page hides it, the resolver goes past it);
/// the next `depth` versions count, and their unknown files are taken in rank order while
/// their sizes fit `budget` (a file of unknown size counts [`UNKNOWN_SIZE`]).
pub(crate) fn plan(
    versions: &[Candidates],
    known: impl Fn(usize) -> Known,
    size: impl Fn(usize) -> Option<u64>,
    depth: usize,
    budget: u64,
) -> Vec<Planned> {
    let (mut out, mut counted, mut spent) = (Vec::new(), 0, 0u64);
    for c in versions {
        if counted == depth {
            break;
        }
        if c.files.iter().all(|&f| known(f) == Known::Blocked) {
            continue;
        }
        counted += 1;
        for &file in &c.files {
            if known(file) != Known::Unknown {
                continue;
            }
            let cost = size(file).unwrap_or(UNKNOWN_SIZE);
            if spent.saturating_add(cost) > budget {
                continue;
            }
            spent += cost;
            out.push(Planned { file, newest: counted == 1 });
        }
    }
    out
}

/// A running pre-scan, awaited by the pages that wait for it.
type Job = Shared<BoxFuture<'static, ()>>;

/// A pre-scan started and not finished: its future, and how a page that comes to wait for
/// it promotes it from the background queue.
struct Running {
    job: Job,
    urgent: Arc<tokio::sync::Notify>,
}

pub(crate) struct Prescan {
    cfg: PrescanConfig,
    tags: Arc<Tags>,
    /// The tags of each client target seen ([`client_target`]; bounded).
    by_client: moka::sync::Cache<ClientTarget, Arc<Tags>>,
    /// The app whose artifacts and gate do the work (weak: the app owns this).
    app: Weak<App>,
    /// Background pre-scans (older versions) running at once, process-wide; client requests never take one.
    permits: Arc<Semaphore>,
    /// Pre-scans a page waits for running at once ([`URGENT`]).
    urgent: Arc<Semaphore>,
    /// Pre-scans started and not finished, by file key.
    running: Arc<Mutex<HashMap<String, Running>>>,
    /// File keys pre-scanned (or started) in the last [`RECENT`].
    recent: moka::sync::Cache<String, ()>,
    /// Client requests in flight, which background pre-scans yield to.
    clients: Arc<Clients>,
    cancel: CancellationToken,
}

/// Client requests in flight and when the last one ended, so background pre-scans can wait
/// for a quiet moment before they start (CPU spent scanning versions a resolver may never
/// ask for is CPU its page and file requests wait for). Counted by [`Prescan::client_request`].
#[derive(Debug)]
pub(crate) struct Clients {
    in_flight: std::sync::atomic::AtomicUsize,
    /// What `last_end` counts from.
    epoch: tokio::time::Instant,
    /// When the last request ended, in nanoseconds after `epoch` plus one (0: none has yet): an
    /// atomic, so a request's end takes no lock.
    last_end: std::sync::atomic::AtomicU64,
    /// Told whenever a request ends.
    ended: tokio::sync::Notify,
}

/// One client request, counted in flight until dropped.
pub(crate) struct ClientRequest<'a>(&'a Clients);

impl Drop for ClientRequest<'_> {
    fn drop(&mut self) {
        let since = tokio::time::Instant::now().duration_since(self.0.epoch);
        let nanos = u64::try_from(since.as_nanos()).unwrap_or(u64::MAX - 1).saturating_add(1);
        self.0.last_end.fetch_max(nanos, std::sync::atomic::Ordering::SeqCst);
        self.0.in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        self.0.ended.notify_waiters();
    }
}

impl Clients {
    fn new() -> Clients {
        Clients {
            in_flight: Default::default(),
            epoch: tokio::time::Instant::now(),
            last_end: Default::default(),
            ended: tokio::sync::Notify::new(),
        }
    }

    fn enter(&self) -> ClientRequest<'_> {
        self.in_flight.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        ClientRequest(self)
    }

    /// Wait until no request has been in flight for `quiet`, or `at_most` has passed; how
    /// long it waited.
    async fn quiet(&self, quiet: Duration, at_most: Duration) -> Duration {
        let start = tokio::time::Instant::now();
        let give_up = start + at_most;
        loop {
            // Registered before the state is read, so an end in between is not missed.
            let ended = self.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            let now = tokio::time::Instant::now();
            if now >= give_up {
                break;
            }
            let wake = if self.in_flight.load(std::sync::atomic::Ordering::SeqCst) > 0 {
                give_up
            } else {
                match self.last_end.load(std::sync::atomic::Ordering::SeqCst) {
                    0 => break,
                    nanos => {
                        let last = self.epoch + Duration::from_nanos(nanos - 1);
                        if now < last + quiet {
                            (last + quiet).min(give_up)
                        } else {
                            break;
                        }
                    }
                }
            };
            tokio::select! {
                () = tokio::time::sleep_until(wake) => {}
                () = ended => {}
            }
        }
        start.elapsed()
    }
}

impl Prescan {
    pub(crate) fn new(cfg: PrescanConfig, app: Weak<App>) -> Prescan {
        Prescan {
            tags: Arc::new(Tags::new(&cfg.tags)),
            by_client: moka::sync::Cache::new(64),
            permits: Arc::new(Semaphore::new(cfg.concurrency.max(1))),
            urgent: Arc::new(Semaphore::new(URGENT)),
            cfg,
            app,
            running: Default::default(),
            recent: moka::sync::Cache::builder().max_capacity(RECENT_FILES).time_to_live(RECENT).build(),
            clients: Arc::new(Clients::new()),
            cancel: CancellationToken::new(),
        }
    }

    /// Count a client request in flight until the guard is dropped (the front end holds
    /// one per request but probes): background pre-scans yield to them.
    pub(crate) fn client_request(&self) -> ClientRequest<'_> {
        self.clients.enter()
    }

    /// Wait, as a background pre-scan does, until client requests have been quiet for
    /// [`QUIET`] or `--prescan-yield` has passed (at once when it is zero): other background
    /// work (re-rendering pages, `server::refresh`) yields to clients the same way.
    pub(crate) async fn yield_to_clients(&self) {
        if !self.cfg.yield_at_most.is_zero() {
            self.clients.quiet(QUIET, self.cfg.yield_at_most).await;
        }
    }

    /// The tags to pre-scan for this request: the client's own target when it names one and
    /// the configuration follows clients, else the configured tags.
    fn tags_for(&self, user_agent: Option<&str>) -> Arc<Tags> {
        match user_agent.filter(|_| self.cfg.follow_clients).and_then(client_target) {
            Some(t) => self.by_client.get_with(t.clone(), || {
                Arc::new(Tags::new(&PrescanConfig::tags_for(&[t.python.as_str()], &[t.platform])))
            }),
            None => self.tags.clone(),
        }
    }

    /// Stop: queued pre-scans never start, running ones are abandoned at their next step
    /// (a download's `.part` file is removed with it).
    pub(crate) fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Start the pre-scans of a fetched page's candidates, then wait (at most the configured
    /// deadline) for those of the newest version, so the listing that follows knows their
    /// verdicts. Whatever is not done by then is listed as it is known.
    pub(crate) async fn before_listing(&self, project: &str, page: &Arc<ProjectPage>, user_agent: Option<&str>) {
        if !self.cfg.enabled || self.cancel.is_cancelled() {
            return;
        }
        let Some(app) = self.app.upgrade() else { return };
        let tags = self.tags_for(user_agent);
        let newest = self.start(&app, project, page, tags).await;
        if newest.is_empty() || self.cfg.wait.is_zero() {
            return;
        }
        let waited = Instant::now();
        let done = tokio::time::timeout(self.cfg.wait, futures_util::future::join_all(newest)).await.is_ok();
        let ms = waited.elapsed().as_millis() as u64;
        tracing::debug!(project, done, ms, "page waited for the pre-scan of its newest version");
        crate::metrics::prescan_page_wait(done, waited.elapsed());
    }

    /// Plan the page's pre-scans and start those not running or recently done; the jobs of
    /// the newest version (started now or already running).
    async fn start(&self, app: &Arc<App>, project: &str, page: &Arc<ProjectPage>, tags: Arc<Tags>) -> Vec<Job> {
        let p = page.clone();
        let Ok(versions) = tokio::task::spawn_blocking(move || eligible(&p, &tags)).await else { return vec![] };
        let looked: Vec<usize> =
            versions.iter().take(self.cfg.versions + LOOKAHEAD).flat_map(|c| c.files.iter().copied()).collect();
        let known = known(app, project, page, &looked).await;
        let planned = plan(
            &versions,
            |f| known.get(&f).copied().unwrap_or(Known::Unknown),
            |f| page.files[f].size,
            self.cfg.versions,
            self.cfg.page_budget,
        );
        // The newest version first; older ones start once its verdict is known, so a verdict
        // on the whole project (a look-alike name) holds them without downloading a byte.
        let (newest, older): (Vec<Planned>, Vec<Planned>) = planned.into_iter().partition(|p| p.newest);
        let newest: Vec<Job> =
            newest.into_iter().filter_map(|p| self.job(app, project, &page.files[p.file], vec![], true)).collect();
        for p in older {
            self.job(app, project, &page.files[p.file], newest.clone(), false);
        }
        newest
    }

    /// The pre-scan of a file: the running one (promoted when `urgent`: a page now waits for
    /// it), or a new one (started once the jobs `after` are done) unless it ran recently.
    fn job(&self, app: &Arc<App>, project: &str, e: &FileEntry, after: Vec<Job>, urgent: bool) -> Option<Job> {
        let key = file_key(e);
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(r) = running.get(&key) {
            if urgent {
                r.urgent.notify_one();
            }
            return Some(r.job.clone());
        }
        if self.recent.contains_key(&key) {
            return None;
        }
        self.recent.insert(key.clone(), ());
        let promote = Arc::new(tokio::sync::Notify::new());
        if urgent {
            promote.notify_one();
        }
        let permits = Permits {
            background: self.permits.clone(),
            urgent: self.urgent.clone(),
            promote: promote.clone(),
            clients: self.clients.clone(),
            yield_at_most: self.cfg.yield_at_most,
        };
        let work = run(Arc::downgrade(app), permits, self.cancel.clone(), crate::index::origin(project, e));
        let (map, k) = (self.running.clone(), key.clone());
        let pending = crate::metrics::prescan_pending();
        let task = tokio::spawn(async move {
            let _pending = pending;
            futures_util::future::join_all(after).await;
            work.await;
            map.lock().unwrap_or_else(PoisonError::into_inner).remove(&k);
        });
        let job = async move {
            let _ = task.await;
        }
        .boxed()
        .shared();
        running.insert(key, Running { job: job.clone(), urgent: promote });
        Some(job)
    }
}

impl Drop for Prescan {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// What is known of these files of the page: held before download (the gate's release
/// hold), or scanned with a cached verdict. Files absent from the map are unknown.
async fn known(app: &App, project: &str, page: &ProjectPage, files: &[usize]) -> HashMap<usize, Known> {
    let verified = app.origins.verified_in_project(project).await.unwrap_or_else(|e| {
        tracing::warn!(project, error = %e, "could not read verified files; pre-scan plans without verdicts");
        Default::default()
    });
    let mut out = HashMap::new();
    for &i in files {
        let origin = crate::index::origin(project, &page.files[i]);
        if app.gate.release_hold(&origin).await.is_some() {
            out.insert(i, Known::Blocked);
            continue;
        }
        let Some(v) = verified.get(&origin.key) else { continue };
        let facts = app.facts(&origin, v);
        if let Some(d) = app.gate.decide_cached(&facts).await {
            // A block `established:` could lower once compared with the baseline is not known yet.
            if d.verdict.decision == Decision::Block && app.gate.wants_baseline(&facts).await.is_some() {
                continue;
            }
            out.insert(i, if d.verdict.decision == Decision::Block { Known::Blocked } else { Known::Allowed });
        }
    }
    out
}

/// Where a pre-scan takes its permit: the background queue, or the urgent one as soon as
/// `promote` is notified (a page waits for the file). A background one then yields to
/// client requests: it starts once they have been quiet for [`QUIET`], when promoted, or
/// after `yield_at_most`.
struct Permits {
    background: Arc<Semaphore>,
    urgent: Arc<Semaphore>,
    promote: Arc<tokio::sync::Notify>,
    clients: Arc<Clients>,
    yield_at_most: Duration,
}

/// A pre-scan's permit, and how long it yielded to clients before starting (`None`: it
/// took an urgent permit and did not yield).
struct Permit {
    _held: tokio::sync::OwnedSemaphorePermit,
    yielded: Option<Duration>,
}

impl Permits {
    async fn acquire(self) -> Option<Permit> {
        let background = tokio::select! {
            biased;
            () = self.promote.notified() => {
                return Some(Permit { _held: self.urgent.acquire_owned().await.ok()?, yielded: None });
            }
            p = self.background.acquire_owned() => p.ok()?,
        };
        if self.yield_at_most.is_zero() {
            return Some(Permit { _held: background, yielded: Some(Duration::ZERO) });
        }
        let started = tokio::time::Instant::now();
        tokio::select! {
            yielded = self.clients.quiet(QUIET, self.yield_at_most) => {
                Some(Permit { _held: background, yielded: Some(yielded) })
            }
            // A page now waits for it: no more yielding (it keeps the background permit
            // it holds rather than queue again for an urgent one).
            () = self.promote.notified() => Some(Permit { _held: background, yielded: Some(started.elapsed()) }),
        }
    }
}

/// One pre-scan: wait for a permit, then what a client's request for the file does (single
/// flight → download and verify → the gate's verdict), logged. Abandoned on shutdown.
async fn run(app: Weak<App>, permits: Permits, cancel: CancellationToken, origin: FileOrigin) {
    let permit = tokio::select! {
        p = permits.acquire() => match p {
            Some(p) => p,
            None => return,
        },
        () = cancel.cancelled() => return,
    };
    let Some(app) = app.upgrade() else { return };
    let (project, filename) = (origin.project.as_str(), Printable(&origin.filename));
    let started = Instant::now();
    let yielded_ms = permit.yielded.unwrap_or_default().as_millis() as u64;
    if let Some(yielded) = permit.yielded {
        crate::metrics::prescan_yielded(yielded);
    }
    tracing::info!(project, filename = %filename, yielded_ms, "pre-scan started");
    let _running = crate::metrics::prescan_running();
    let work = async {
        if let Some((v, _)) = app.gate.release_hold(&origin).await {
            return Ok(v.decision);
        }
        let _flight = app.flights.acquire(&origin.key).await;
        let verified = app.artifacts.ensure(&origin).await?;
        let facts = app.facts(&origin, &verified);
        app.compare_with_baseline(&facts).await;
        Ok::<_, ProxyError>(app.gate.decide(&facts).await.verdict.decision)
    };
    let outcome = tokio::select! {
        r = work => r,
        () = cancel.cancelled() => {
            tracing::info!(project, filename = %filename, "pre-scan abandoned: shutting down");
            crate::metrics::prescan_ended("abandoned", started.elapsed());
            return;
        }
    };
    let ms = started.elapsed().as_millis() as u64;
    let ended = match &outcome {
        Ok(verdict) => verdict.as_str(),
        Err(_) => "failed",
    };
    crate::metrics::prescan_ended(ended, started.elapsed());
    match outcome {
        Ok(verdict) => tracing::info!(
            project,
            filename = %filename,
            verdict = verdict.as_str(),
            ms,
            generation = app.gate.verdict_generation(),
            "pre-scan done"
        ),
        Err(e) => tracing::warn!(
            project,
            filename = %filename,
            ms,
            error = %e,
            "pre-scan failed; the file is fetched and scanned when a client asks for it"
        ),
    }
}

#[cfg(test)]
mod tests;
