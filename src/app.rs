//! The wiring: one [`App`] per process, built from configuration, shared by every request
//! and every front end.
//!
//! Owns: choosing the store backend (through `store::open`), and building the index,
//! artifact cache (removing partial downloads a dead process left), gate and audit log
//! around it; and the readiness checks over what it built (policy in force, a small write
//! in the data directory and the audit folder, the upstream's last answer).
//! Must not: serve, decide or log requests.

use crate::artifact::Artifacts;
use crate::audit::AuditLog;
use crate::config::{DataDir, ProxyConfig};
use crate::error::ProxyError;
use crate::gate::enrich::Enricher;
use crate::gate::{Gate, GateParts};
use crate::index::Index;
use crate::model::{ArtifactFacts, FileOrigin, Verified};
use crate::policy::Policy;
use crate::scan::Scanner;
use crate::store::{LookbackStore, OriginStore, SingleFlight};
use crate::upstream::Upstream;
use arc_swap::ArcSwap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Everything a request needs.
pub struct App {
    pub(crate) index: Index,
    pub(crate) artifacts: Artifacts,
    pub(crate) gate: Gate,
    pub(crate) audit: AuditLog,
    /// Copies audit records into [`App::audit_index`] (best effort, counted when lost).
    pub(crate) indexer: crate::audit::Indexer,
    /// Decisions indexed for the dashboard.
    pub(crate) audit_index: Arc<dyn crate::store::AuditIndex>,
    /// The audit trail replicas share (PostgreSQL), committed before each response.
    pub(crate) trail: Option<crate::audit::SharedTrail>,
    pub(crate) origins: Arc<dyn OriginStore>,
    pub(crate) flights: Arc<dyn SingleFlight>,
    /// Last verdicts and their changes (looking back).
    pub(crate) lookback: Arc<dyn LookbackStore>,
    /// Pre-scan of the files a resolver is likely to pick from a fetched page.
    pub(crate) prescan: crate::prescan::Prescan,
    /// `--public-url`: where block messages point for reports (see [`ProxyConfig::public_url`]).
    pub(crate) public_url: Option<url::Url>,
    /// Page states already audited (`server::finish` writes each once per day).
    pub(crate) page_audits: moka::sync::Cache<String, ()>,
    /// Files recently served: where each comes from and its verified bytes (`server::file`).
    pub(crate) served_files: crate::server::ServedFiles,
    /// Index pages as rendered (with what each withheld, for the audit log).
    pub(crate) rendered: crate::index::rendered::RenderCache<Arc<Vec<crate::gate::Withheld>>>,
    /// Project pages as one rendered entry per file, patched when a verdict changes.
    pub(crate) patched: crate::index::patch::PatchCache<Arc<crate::gate::Early>>,
    /// Project pages recently served, re-rendered in the background when a verdict changes them.
    pub(crate) refresh: crate::server::Refresh,
    policy: Arc<ArcSwap<Policy>>,
    /// Authentication and limits for the policy digest in force (rebuilt after a reload).
    access: ArcSwap<(String, Arc<crate::auth::Access>)>,
    counter: AtomicU64,
    boot: i64,
    /// The artifact folder's size in bytes and when it was measured (see [`App::cache_size`]).
    cache_size: std::sync::Mutex<Option<(std::time::Instant, u64)>>,
    dirs: DataDir,
    upstream: Upstream,
}

/// One readiness check (`GET /readyz`).
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// An upstream that answered this recently counts as reachable without asking it again.
pub(crate) const UPSTREAM_RECENT: std::time::Duration = std::time::Duration::from_secs(60);
/// The artifact cache's size is measured again after this.
pub(crate) const CACHE_SIZE_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// Bytes in the files under `dir` (recursively; links not followed).
fn folder_bytes(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => todo.push(e.path()),
                Ok(t) if t.is_file() => total += e.metadata().map(|m| m.len()).unwrap_or(0),
                _ => {}
            }
        }
    }
    total
}

/// How long the readiness probe of the upstream may take.
const UPSTREAM_CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

impl App {
    pub fn new(cfg: ProxyConfig, policy: Policy, scanner: Scanner) -> Result<Arc<App>, ProxyError> {
        Self::with_enrichment(cfg, policy, scanner, Enricher::none())
    }

    /// [`App::new`] with the enrichment feeds the gate merges between scan and policy.
    pub fn with_enrichment(
        cfg: ProxyConfig,
        policy: Policy,
        scanner: Scanner,
        enrich: Enricher,
    ) -> Result<Arc<App>, ProxyError> {
        let dirs = DataDir::new(&cfg.data_dir);
        dirs.create_all()?;
        crate::artifact::clean_stale_parts(&dirs.tmp());
        let stores = crate::store::open(&cfg.database, &dirs).map_err(ProxyError::internal)?;
        let shared =
            cfg.shared_artifacts.as_ref().map(crate::blobs::Blobs::open).transpose().map_err(ProxyError::internal)?;
        if let Some(b) = &shared {
            tracing::info!(store = %b.describe(), "verified artifacts are shared through this store");
        }
        let upstream = Upstream::new(&cfg)?;
        let access = (policy.digest.clone(), Arc::new(crate::auth::Access::new(policy.settings.auth.clone(), None)));
        let policy = Arc::new(ArcSwap::from_pointee(policy));
        let gate = Gate::new(GateParts {
            scanner,
            policy: policy.clone(),
            scans: stores.scans.clone(),
            origins: stores.origins.clone(),
            enrich,
            dangerous_skip_scan: cfg.dangerous_skip_scan,
            lookback: Some(stores.lookback.clone()),
        });
        let audit = AuditLog::open(&dirs.audit(), 64 << 20)?;
        // The detectors' patterns are built now, off the request path, not by the first scan.
        if !cfg.dangerous_skip_scan {
            crate::scan::warm::spawn(&dirs.tmp());
        }
        // Cyclic: the pre-scan's background work holds the app weakly.
        Ok(Arc::new_cyclic(|app| App {
            prescan: crate::prescan::Prescan::new(cfg.prescan.clone(), app.clone()),
            index: Index::new(upstream.clone(), cfg.page_ttl, stores.origins.clone(), stores.pages.clone()),
            artifacts: Artifacts::new(
                dirs.clone(),
                upstream.clone(),
                stores.origins.clone(),
                cfg.max_artifact_bytes,
                shared,
            )
            .with_memory(crate::artifact::MemoryLimits {
                total: cfg.memory_cache_bytes,
                file_max: cfg.memory_cache_file_max,
            }),
            gate,
            audit,
            indexer: crate::audit::Indexer::new(stores.audit_index.clone()),
            audit_index: stores.audit_index,
            trail: stores.audit_trail.map(|t| crate::audit::SharedTrail::new(t, cfg.replica.clone())),
            origins: stores.origins,
            flights: stores.flights,
            lookback: stores.lookback,
            public_url: cfg.public_url.clone(),
            page_audits: crate::server::page_audit_memo(),
            served_files: crate::server::served_files_memo(),
            rendered: crate::index::rendered::RenderCache::new(),
            patched: crate::index::patch::PatchCache::new(),
            refresh: crate::server::Refresh::new(app.clone()),
            policy,
            access: ArcSwap::from_pointee(access),
            counter: AtomicU64::new(0),
            boot: time::OffsetDateTime::now_utc().unix_timestamp(),
            cache_size: std::sync::Mutex::new(None),
            dirs,
            upstream,
        }))
    }

    /// Stop background work started by requests (pre-scans), as the process shuts down.
    pub fn stop_background(&self) {
        self.prescan.cancel();
    }

    /// Whether this process can serve decisions now: a policy is in force, the data
    /// directory and the audit folder take a small write, and the upstream answered in the
    /// last [`UPSTREAM_RECENT`] (else it is asked now, with a `HEAD` of its root).
    pub(crate) async fn readiness(&self) -> Vec<Check> {
        let policy = self.policy.load();
        let mut checks = vec![Check {
            name: "policy",
            ok: !policy.digest.is_empty(),
            detail: format!("digest {}", &policy.digest[..policy.digest.len().min(12)]),
        }];
        let store = [self.dirs.tmp(), self.dirs.audit()].into_iter().try_for_each(|d| {
            let probe = d.join(format!(".readyz-{}-{}", std::process::id(), self.counter.load(Ordering::Relaxed)));
            let written = std::fs::write(&probe, b"ready?\n");
            let _ = std::fs::remove_file(&probe);
            written.map_err(|e| format!("{}: {e}", d.display()))
        });
        checks.push(Check {
            name: "store",
            ok: store.is_ok(),
            detail: store.err().unwrap_or_else(|| format!("{} is writable", self.dirs.root.display())),
        });
        let upstream = match self.upstream.last_answer_age() {
            Some(age) if age <= UPSTREAM_RECENT => Ok(format!("answered {}s ago", age.as_secs())),
            _ => {
                self.upstream.check(UPSTREAM_CHECK_TIMEOUT).await.map(|s| format!("answered a HEAD of its root ({s})"))
            }
        };
        checks.push(Check {
            name: "upstream",
            ok: upstream.is_ok(),
            detail: upstream.unwrap_or_else(|e| format!("unreachable: {e}")),
        });
        checks
    }

    /// Authentication and limits of the policy in force. After a reload they are rebuilt once
    /// (limiter state carries over while the limits stay the same).
    pub(crate) fn access(&self) -> Arc<crate::auth::Access> {
        let policy = self.policy.load();
        let current = self.access.load();
        if current.0 == policy.digest {
            return current.1.clone();
        }
        let next = Arc::new(crate::auth::Access::new(policy.settings.auth.clone(), Some(&current.1)));
        self.access.store(Arc::new((policy.digest.clone(), next.clone())));
        next
    }

    /// The artifact cache's size in bytes: measured (a walk of the folder, on the blocking
    /// pool) at most once per [`CACHE_SIZE_TTL`], else the last measure. `None` when it
    /// could not be measured.
    pub(crate) async fn cache_size(&self) -> Option<u64> {
        let last = *self.cache_size.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((at, bytes)) = last {
            if at.elapsed() < CACHE_SIZE_TTL {
                return Some(bytes);
            }
        }
        let dir = self.dirs.artifacts();
        let bytes = tokio::task::spawn_blocking(move || folder_bytes(&dir)).await.ok()?;
        *self.cache_size.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((std::time::Instant::now(), bytes));
        crate::metrics::artifact_cache_bytes(bytes);
        Some(bytes)
    }

    /// The policy in force now (for the dashboard's acceptances).
    pub(crate) fn policy_now(&self) -> Arc<Policy> {
        self.policy.load_full()
    }

    /// The upstream's health as last seen (for the dashboard).
    pub(crate) fn upstream_health(&self) -> crate::upstream::Health {
        self.upstream.health()
    }

    /// How long ago the upstream last answered (for the dashboard).
    pub(crate) fn upstream_last_answer(&self) -> Option<std::time::Duration> {
        self.upstream.last_answer_age()
    }

    /// The upstream's URL, credentials redacted (for the dashboard).
    pub(crate) fn upstream_display(&self) -> String {
        self.upstream.display()
    }

    /// Where the audit log is written.
    pub(crate) fn audit_dir(&self) -> std::path::PathBuf {
        self.dirs.audit()
    }

    /// The policy in force, swappable by hot reload.
    pub fn policy_slot(&self) -> Arc<ArcSwap<Policy>> {
        self.policy.clone()
    }

    /// An app on `dir` with the policy text, whose upstream is a closed port.
    #[cfg(test)]
    pub(crate) fn for_tests(dir: &std::path::Path, policy: &str) -> Arc<App> {
        Self::for_tests_with(dir, policy, |_| {})
    }

    /// [`App::for_tests`] with configuration changes.
    #[cfg(test)]
    pub(crate) fn for_tests_with(
        dir: &std::path::Path,
        policy: &str,
        tweak: impl FnOnce(&mut ProxyConfig),
    ) -> Arc<App> {
        let upstream = url::Url::parse("http://127.0.0.1:9/simple/").expect("valid URL");
        let mut cfg = ProxyConfig::new(upstream, dir.to_path_buf());
        tweak(&mut cfg);
        let policy = Policy::from_str_with_catalog("policy.yaml", policy, &[]).expect("valid test policy");
        App::new(cfg, policy, Scanner::new(Default::default())).expect("app")
    }

    /// Whether `url`'s origin is one pipgate fetches the index or files from (the upstream's
    /// origin and the allowed file hosts): the hosts the forward proxy inspects.
    pub(crate) fn is_index_origin(&self, url: &url::Url) -> bool {
        self.upstream.hosts().allows(url)
    }

    /// The upstream simple-index URL (no credentials needed by callers: only its path).
    pub(crate) fn upstream_base(&self) -> &url::Url {
        self.upstream.base()
    }

    /// A request id unique within this process run.
    pub(crate) fn next_request_id(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{:x}-{n:x}", self.boot)
    }

    /// Facts about a verified artifact, for the gate and the audit log.
    pub(crate) fn facts(&self, origin: &FileOrigin, v: &Verified) -> ArtifactFacts {
        let size = std::fs::metadata(self.artifacts.path(&v.sha256)).map(|m| m.len()).unwrap_or(0);
        self.facts_sized(origin, v, size)
    }

    /// [`App::facts`] when the size is known (no look at the file).
    pub(crate) fn facts_sized(&self, origin: &FileOrigin, v: &Verified, size: u64) -> ArtifactFacts {
        let path = self.artifacts.path(&v.sha256);
        ArtifactFacts::describe(&origin.project, &origin.filename, &v.sha256, origin.upload_time.clone(), size, path)
    }

    /// The scan report for verified facts (cached or scanned now), for the CLI.
    pub async fn scan_report(&self, facts: &ArtifactFacts) -> Result<Arc<crate::scan::ScanReport>, String> {
        self.gate.report(facts).await.map_err(|e| e.to_string())
    }

    /// What the policy weighs for an artifact (scan, enrichment, name verdict, and the
    /// project verdict the files already scanned in this data directory give), for the CLI.
    pub async fn weighed_findings(
        &self,
        facts: &ArtifactFacts,
        report: &crate::scan::ScanReport,
    ) -> Vec<crate::model::Finding> {
        self.gate.findings_with_project_verdict(facts, report, time::OffsetDateTime::now_utc()).await
    }

    /// New in this version: compare a file with the previous release of its project (same
    /// kind of artifact), fetched through the index and the artifact cache and scanned
    /// through the gate (both cached by sha256), within twice the upstream deadline. Done
    /// only when the policy matches on `new_in_version` (it costs a second download) unless
    /// `always`; the gate remembers the result for its verdicts.
    pub(crate) async fn compare_with_previous(
        &self,
        facts: &ArtifactFacts,
        always: bool,
    ) -> Option<crate::model::VersionDiff> {
        use crate::model::ArtifactKind;
        if !always && !self.gate.wants_version_diff()
            || !matches!(facts.kind, ArtifactKind::Wheel | ArtifactKind::Sdist)
        {
            return None;
        }
        if let Some(d) = self.gate.version_diff(&facts.sha256) {
            return Some(d);
        }
        let deadline = self.upstream.limits().deadline * 2;
        let previous = tokio::time::timeout(deadline, self.previous_scan(facts)).await.unwrap_or_else(|_| {
            Err(format!("the previous release did not arrive within {}", crate::upstream::secs(deadline)))
        });
        Some(self.gate.note_version_diff(facts, previous).await)
    }

    /// [`App::compare_with_previous`] for the CLI: what is new since the previous release,
    /// when the policy matches on `new_in_version`.
    pub async fn new_in_version(&self, facts: &ArtifactFacts) -> Option<crate::model::VersionDiff> {
        self.compare_with_previous(facts, false).await
    }

    /// Established behaviour: when the policy's `established:` could lower this file's block
    /// (it blocks only on findings `established:` may lower), compare the file with its
    /// project's established baseline, fetched through the index and the artifact cache and
    /// scanned through the gate (both cached by sha256, under the baseline file's own single
    /// flight), within twice the upstream deadline. The gate remembers the result; a failed
    /// or late comparison lowers nothing. Clean files and blocks `established:` never lowers
    /// cost no second download.
    pub(crate) async fn compare_with_baseline(&self, facts: &ArtifactFacts) {
        use crate::model::ArtifactKind;
        if !matches!(facts.kind, ArtifactKind::Wheel | ArtifactKind::Sdist) {
            return;
        }
        let Some(rule) = self.gate.wants_baseline(facts).await else { return };
        let deadline = self.upstream.limits().deadline * 2;
        let scan = tokio::time::timeout(deadline, self.baseline_scan(facts, &rule)).await.unwrap_or_else(|_| {
            Err(format!("the established baseline did not arrive within {}", crate::upstream::secs(deadline)))
        });
        self.gate.note_established(facts, scan).await;
    }

    /// [`App::compare_with_baseline`] for the CLI: the comparison with the project's
    /// established baseline, when the policy's `established:` could lower the file's block.
    pub async fn established(&self, facts: &ArtifactFacts) -> Option<crate::model::Established> {
        self.compare_with_baseline(facts).await;
        self.gate.established(&facts.sha256)
    }

    async fn baseline_scan(
        &self,
        facts: &ArtifactFacts,
        rule: &crate::policy::EstablishedRule,
    ) -> crate::gate::BaselineScan {
        let page = self.index.project(&facts.project).await.map_err(|e| format!("project page: {e}"))?.value;
        let choice = crate::gate::previous::baseline_file(&page, &facts.filename, facts.upload_time.as_deref(), rule)?;
        if choice.entry.sha256() == Some(facts.sha256.as_str()) {
            return Err(format!("{}: the baseline is this very file", choice.entry.filename));
        }
        let key = crate::index::file_key(choice.entry);
        let base = self
            .verified_facts_as(&key, Some(&choice.entry.filename))
            .await
            .map_err(|e| format!("{}: {e}", choice.entry.filename))?
            .ok_or_else(|| format!("{}: not recorded from the page", choice.entry.filename))?;
        let report = self.gate.report(&base).await.map_err(|e| format!("{}: scan failed: {e}", base.filename))?;
        let baseline = crate::gate::established::Baseline {
            version: choice.version,
            filename: base.filename.clone(),
            uploaded: crate::timefmt::rfc3339(choice.uploaded),
            first_upload: crate::timefmt::rfc3339(choice.first_upload),
            releases: choice.releases,
        };
        Ok((baseline, report))
    }

    async fn previous_scan(&self, facts: &ArtifactFacts) -> crate::gate::PreviousScan {
        let page = self.index.project(&facts.project).await.map_err(|e| format!("project page: {e}"))?.value;
        let entry = crate::gate::previous::previous_file(&page, &facts.filename)?;
        let key = crate::index::file_key(entry);
        let prev = self
            .verified_facts_as(&key, Some(&entry.filename))
            .await
            .map_err(|e| format!("{}: {e}", entry.filename))?
            .ok_or_else(|| format!("{}: not recorded from the page", entry.filename))?;
        let report = self.gate.report(&prev).await.map_err(|e| format!("{}: scan failed: {e}", prev.filename))?;
        Ok((prev.version.clone().unwrap_or_default(), prev.filename.clone(), report))
    }

    /// Verified artifact facts for a stored origin (downloading it if needed), for the CLI.
    /// The same bytes may be listed under several filenames: the first listing names them.
    pub async fn verified_facts(&self, key: &str) -> Result<Option<ArtifactFacts>, ProxyError> {
        self.verified_facts_as(key, None).await
    }

    /// [`App::verified_facts`] for the listing of `key` as `filename`, when given.
    pub(crate) async fn verified_facts_as(
        &self,
        key: &str,
        filename: Option<&str>,
    ) -> Result<Option<ArtifactFacts>, ProxyError> {
        let origins = self.origins.origins(key).await.map_err(ProxyError::internal)?;
        let Some(origin) = origins.into_iter().find(|o| filename.is_none_or(|f| o.filename == f)) else {
            return Ok(None);
        };
        let _flight = self.flights.acquire(key).await;
        let v = self.artifacts.ensure(&origin).await?;
        Ok(Some(self.facts(&origin, &v)))
    }
}
