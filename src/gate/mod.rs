//! The gate: the one decision point. Every verdict pipgate acts on is made here.
//!
//! Owns: the release hold (deny list and cooldown, decided from the page alone, before a
//! byte is downloaded), what a project page lists (hidden, yanked or annotated versions),
//! the verdict on a verified artifact (scan once per sha256 and scanner version, merge the
//! enrichment findings, let the current policy decide, fail closed when scanning fails),
//! the report lookup (a typed [`ScanReport`]), what is new since the previous release
//! (the app fetches and scans that release; the gate compares and remembers, [`previous`]),
//! and the comparison with the project's established baseline ([`established`]: asked for
//! only when the policy's `established:` could lower the file's block).
//!
//! Phases of an artifact verdict: scan (pure, sync, cached per sha256 in the [`ScanStore`])
//! → enrichment ([`enrich`], data that changes over time, cached apart from scans) → name
//! verdict ([`name`]: a look-alike name re-judged with the project's page history and the
//! artifact's other findings) → policy.
//!
//! Verdicts at the right level: release holds (deny list, cooldown) and per-file verdicts
//! apply to one file; a corroborated look-alike name is a verdict on the project, which the
//! gate remembers and applies to every file of it ([`Gate::release_hold`], [`Gate::list`]),
//! so resolvers see one reason for the whole project.
//!
//! A repeat request for a file served before ([`Gate::decide_repeat`]) is answered with the
//! verdict last made for it while nothing that verdict was made from has changed and no
//! instant at which it could change by the clock has come ([`memo`]); the gate still
//! decides, the memo only spares it the evaluation.
//! Must not: do network I/O, build HTTP responses, or write the audit log.

pub(crate) mod enrich;
pub(crate) mod established;
mod listing;
pub(crate) mod lookback;
mod memo;
pub(crate) mod name;
pub(crate) mod previous;
mod running;

pub(crate) use listing::{Early, Verdicts, Withheld};
pub(crate) use running::ScanFailed;

use crate::index::page::ProjectPage;
use crate::model::{ArtifactFacts, Decision, Established, FileOrigin, Finding, Verdict, VersionDiff};
use crate::policy::{EstablishedRule, Policy};
use crate::scan::{scanner_version, ScanReport, Scanner, REPORT_SCHEMA_VERSION};
use crate::store::{LookbackStore, OriginStore, ScanStore, VerdictChange};
use arc_swap::ArcSwap;
use enrich::Enricher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Reports kept in memory, so range requests and re-downloads skip the store (bounded).
const MEMO_REPORTS: u64 = 4096;
/// Projects whose page history and name verdict are remembered (bounded).
const MEMO_PROJECTS: u64 = 16_384;

/// A verdict with what it was made from.
#[derive(Debug, Clone)]
pub(crate) struct Decided {
    pub verdict: Verdict,
    /// The scan's findings plus the enrichment's: everything the policy weighed.
    pub findings: Arc<Vec<Finding>>,
}

/// The report page's view of a scanned artifact ([`Gate::explain`]).
#[derive(Debug, Clone)]
pub(crate) struct Explained {
    pub verdict: Verdict,
    pub findings: Vec<Finding>,
    /// What `pipgate policy accept` prints for the artifact.
    pub acceptance: String,
}

pub(crate) struct Gate {
    scanner: Arc<Scanner>,
    policy: Arc<ArcSwap<Policy>>,
    scans: Arc<dyn ScanStore>,
    origins: Arc<dyn OriginStore>,
    enrich: Arc<Enricher>,
    memo: moka::sync::Cache<String, Arc<ScanReport>>,
    /// Project → its history as its last listed page showed it.
    histories: moka::sync::Cache<String, Arc<name::ProjectHistory>>,
    /// Project → the corroborated look-alike finding seen in one of its files (a project
    /// verdict, re-evaluated by the current policy whenever it is applied).
    name_holds: moka::sync::Cache<String, Finding>,
    /// Projects whose already-scanned files were checked for a name verdict since start.
    seeded: moka::sync::Cache<String, ()>,
    scans_run: AtomicU64,
    /// Bumped whenever a fresh scan makes a new verdict known: what a page rendered before
    /// may now list differently (the seam a rendered-page cache keys on).
    generation: Arc<AtomicU64>,
    /// The scans in progress, one per sha256, and how long a request waits for one.
    running: running::Running,
    dangerous_skip_scan: bool,
    /// Last verdicts and their changes ([`lookback`]); `None`: not kept.
    lookback: Option<Arc<dyn LookbackStore>>,
    /// (sha256, filename) → the last verdict noted, so an unchanged one is not written again.
    noted: moka::sync::Cache<String, (Decision, crate::store::DecisionState)>,
    /// Recorded verdict changes, for whoever logs and notifies them.
    changes: tokio::sync::broadcast::Sender<VerdictChange>,
    /// Project → its listing generation ([`Gate::listing_state`]): bumped when a verdict
    /// on one of its files changes, so a page rendered before is not served again.
    generations: moka::sync::Cache<String, u64>,
    /// Where new generations come from (globally unique, so an evicted project never
    /// reuses a value an old rendered page was keyed by).
    next_generation: AtomicU64,
    /// Told whenever a project's generation is bumped ([`Gate::listing_bumps`]).
    bumps: Arc<tokio::sync::Notify>,
    /// (sha256, filename) → the last verdict a listing may show, to bump only on a change.
    listed: moka::sync::Cache<String, String>,
    /// sha256 → what is new since the previous release ([`previous`]); kept a while, so
    /// an upstream error is retried and index pages reuse a comparison made for a download.
    diffs: moka::sync::Cache<String, VersionDiff>,
    /// sha256 → the comparison with the project's established baseline ([`established`]),
    /// made only when `established:` could lower the file's block; kept a while, so an
    /// upstream error is retried.
    baselines: moka::sync::Cache<String, Established>,
    /// sha256 → the last verdict on a file served again, with what it was made from
    /// ([`memo`]): a repeat request reuses it while every input is unchanged.
    verdicts: moka::sync::Cache<String, Arc<memo::Entry>>,
    /// Bumped whenever a look-alike hold is remembered (a project verdict that may change
    /// the verdict on any file of the project): memo entries made before are not reused.
    holds_epoch: AtomicU64,
    /// Repeat requests that were evaluated afresh rather than answered from the memo.
    repeats_weighed: AtomicU64,
}

/// How long a comparison with the previous release is remembered.
const DIFF_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// A previous release's scan: its version, filename and report (or why there is none).
pub(crate) type PreviousScan = Result<(String, String, Arc<ScanReport>), String>;

/// How long a comparison with the established baseline is remembered.
const BASELINE_TTL: std::time::Duration = std::time::Duration::from_secs(3600);

/// The established baseline's scan: which release it is and its report (or why there is none).
pub(crate) type BaselineScan = Result<(established::Baseline, Arc<ScanReport>), String>;

/// The parts a gate is built from.
pub(crate) struct GateParts {
    pub scanner: Scanner,
    pub policy: Arc<ArcSwap<Policy>>,
    pub scans: Arc<dyn ScanStore>,
    pub origins: Arc<dyn OriginStore>,
    pub enrich: Enricher,
    /// Benchmark baseline only (`--dangerous-skip-scan`): decide on an empty report.
    pub dangerous_skip_scan: bool,
    /// Where verdicts are noted and their changes recorded (looking back).
    pub lookback: Option<Arc<dyn LookbackStore>>,
}

impl Gate {
    pub(crate) fn new(p: GateParts) -> Self {
        Gate {
            running: running::Running::new(&p.scanner.limits),
            scanner: Arc::new(p.scanner),
            policy: p.policy,
            scans: p.scans,
            origins: p.origins,
            enrich: Arc::new(p.enrich),
            memo: moka::sync::Cache::new(MEMO_REPORTS),
            histories: moka::sync::Cache::new(MEMO_PROJECTS),
            name_holds: moka::sync::Cache::new(MEMO_PROJECTS),
            seeded: moka::sync::Cache::new(MEMO_PROJECTS),
            scans_run: AtomicU64::new(0),
            generation: Arc::new(AtomicU64::new(0)),
            dangerous_skip_scan: p.dangerous_skip_scan,
            lookback: p.lookback,
            noted: moka::sync::Cache::new(MEMO_REPORTS * 4),
            changes: tokio::sync::broadcast::channel(1024).0,
            generations: moka::sync::Cache::new(MEMO_PROJECTS),
            next_generation: AtomicU64::new(1),
            bumps: Arc::new(tokio::sync::Notify::new()),
            listed: moka::sync::Cache::new(MEMO_REPORTS * 4),
            diffs: moka::sync::Cache::builder().max_capacity(MEMO_REPORTS).time_to_live(DIFF_TTL).build(),
            baselines: moka::sync::Cache::builder().max_capacity(MEMO_REPORTS).time_to_live(BASELINE_TTL).build(),
            verdicts: moka::sync::Cache::new(memo::MEMO_VERDICTS),
            holds_epoch: AtomicU64::new(0),
            repeats_weighed: AtomicU64::new(0),
        }
    }

    /// Everything a project page's listing depends on besides the upstream page and the
    /// clock: the policy's digest, the feeds' revisions and the project's generation. A
    /// page rendered under an equal state lists the same files the same way (until the
    /// earliest `available_at` it shows).
    pub(crate) fn listing_state(&self, project: &str) -> String {
        let generation =
            self.generations.get_with(project.to_string(), || self.next_generation.fetch_add(1, Ordering::Relaxed));
        format!("{}\n{}\n{generation}", self.policy.load().digest, self.enrich.revision())
    }

    /// A verdict on a file of `project` changed: listings made before are out of date.
    fn bump_listing(&self, project: &str) {
        self.generations.insert(project.to_string(), self.next_generation.fetch_add(1, Ordering::Relaxed));
        self.bumps.notify_one();
    }

    /// Notified whenever some project's [`Gate::listing_state`] is bumped; a bump while nobody
    /// waits is kept for the next wait, so none is missed between two waits.
    pub(crate) fn listing_bumps(&self) -> Arc<tokio::sync::Notify> {
        self.bumps.clone()
    }

    /// Bump the project's generation when this file's verdict is not the one last seen.
    fn note_listed(&self, facts: &ArtifactFacts, d: &Decided) {
        let key = format!("{}\n{}", facts.sha256, facts.filename);
        let line = format!("{}\n{}", d.verdict.decision.as_str(), lookback::reason_line(d));
        if self.listed.get(&key).as_deref() != Some(line.as_str()) {
            self.listed.insert(key, line);
            self.bump_listing(&facts.project);
        }
    }

    /// Scans actually run by this gate (not answered from a cache).
    #[cfg(test)]
    pub(crate) fn scans_run(&self) -> u64 {
        self.scans_run.load(Ordering::Relaxed)
    }

    /// The verdict generation: changes when a fresh scan (a client's or a pre-scan's) made
    /// a verdict known, so pages rendered under an older generation may be out of date.
    pub(crate) fn verdict_generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The policy's digest, for records of requests that failed before a decision.
    pub(crate) fn policy_digest(&self) -> String {
        self.policy.load().digest.clone()
    }

    /// Deny lists, cooldown and project verdicts need no download: a block verdict (with
    /// the findings behind it) to answer before fetching a byte, or `None` when the file may
    /// be fetched (and is then scanned).
    pub(crate) async fn release_hold(&self, origin: &FileOrigin) -> Option<(Verdict, Vec<Finding>)> {
        let version = crate::model::parse_dist_filename(&origin.filename)?.version;
        let now = time::OffsetDateTime::now_utc();
        let policy = self.policy.load_full();
        if let Some(v) = policy.release_gate(&origin.project, &version, origin.upload_time.as_deref(), now) {
            return (v.decision == Decision::Block).then_some((v, vec![]));
        }
        let facts = ArtifactFacts::unverified(origin);
        if let Some(held) = advisory_hold(&self.enrich, &policy, &facts, now) {
            return Some(held);
        }
        self.seed(&origin.project).await;
        self.project_hold(&policy, &facts, now)
    }

    /// The feeds' PEP 792 `quarantined` reason for a project (every version known malware).
    pub(crate) fn quarantine(&self, project: &str) -> Option<String> {
        self.enrich.quarantine(project)
    }

    /// The project verdict for one of its files: the remembered corroborated look-alike,
    /// weighed by the current policy for this file (so an acceptance clears it at once).
    fn project_hold(
        &self,
        policy: &Policy,
        facts: &ArtifactFacts,
        now: time::OffsetDateTime,
    ) -> Option<(Verdict, Vec<Finding>)> {
        let f = self.name_holds.get(&facts.project)?;
        let found = vec![f];
        let v = policy.evaluate(facts, &found, now);
        (v.decision == Decision::Block).then_some((v, found))
    }

    /// Remember what a project's page says about its history (for the name verdict).
    pub(crate) fn remember_history(&self, project: &str, page: &ProjectPage) {
        self.histories.insert(project.to_string(), Arc::new(name::ProjectHistory::of(page)));
    }

    /// Once per project and process: look for a name verdict among the files already
    /// scanned (after a restart, a lockfile install may reach a file without a page).
    async fn seed(&self, project: &str) {
        if self.seeded.contains_key(project) || self.name_holds.contains_key(project) {
            return;
        }
        self.seeded.insert(project.to_string(), ());
        let verified = match self.origins.verified_in_project(project).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(project, error = %e, "could not read verified files for the name verdict");
                return;
            }
        };
        for (key, v) in verified.iter().take(256) {
            let Some(origin) = self.origins.origins(key).await.ok().and_then(|o| o.into_iter().next()) else {
                continue;
            };
            let facts = ArtifactFacts::describe(
                project,
                &origin.filename,
                v.sha256.as_str(),
                origin.upload_time.clone(),
                0,
                Default::default(),
            );
            if self.decide_cached(&facts).await.is_some() && self.name_holds.contains_key(project) {
                return;
            }
        }
    }

    /// Whether the current policy asks for the comparison with the previous release.
    pub(crate) fn wants_version_diff(&self) -> bool {
        self.policy.load().uses_new_in_version()
    }

    /// The comparison with the previous release remembered for a file.
    pub(crate) fn version_diff(&self, sha256: &str) -> Option<VersionDiff> {
        self.diffs.get(sha256)
    }

    /// Compare a file's findings with its previous release's scan and remember the result
    /// for its verdicts (a failed fetch or scan is remembered as "not compared").
    pub(crate) async fn note_version_diff(&self, facts: &ArtifactFacts, previous: PreviousScan) -> VersionDiff {
        let diff = match previous {
            Ok((version, filename, before)) => match self.report(facts).await {
                Ok(now) => VersionDiff::compare(&version, &filename, &now.findings, &before.findings),
                Err(why) => VersionDiff::NotCompared { reason: format!("scan failed: {why}") },
            },
            Err(reason) => VersionDiff::NotCompared { reason },
        };
        self.diffs.insert(facts.sha256.clone(), diff.clone());
        self.verdicts.invalidate(&facts.sha256);
        diff
    }

    /// Whether to compare a file with its project's established baseline before deciding:
    /// the policy has `established:`, no comparison is remembered for the file, and the
    /// verdict blocks only on findings `established:` may lower (scanning the file if
    /// needed, as deciding would). `Some`: the rule the baseline is chosen by.
    pub(crate) async fn wants_baseline(&self, facts: &ArtifactFacts) -> Option<EstablishedRule> {
        let policy = self.policy.load_full();
        let rule = policy.established()?;
        if self.dangerous_skip_scan || self.baselines.contains_key(&facts.sha256) {
            return None;
        }
        let report = self.report(facts).await.ok()?;
        let now = time::OffsetDateTime::now_utc();
        let facts = self.weighed_facts(facts, &report);
        let found = self.weighed_findings(&facts, &report, now);
        policy.established_could_lower(&facts, &found, now).then_some(rule)
    }

    /// The comparison with the established baseline remembered for a file.
    pub(crate) fn established(&self, sha256: &str) -> Option<Established> {
        self.baselines.get(sha256)
    }

    /// Compare a file's findings with its established baseline's scan and remember the result
    /// for its verdicts (a failed choice, fetch or scan is remembered as "not compared", which
    /// lowers nothing).
    pub(crate) async fn note_established(&self, facts: &ArtifactFacts, baseline: BaselineScan) -> Established {
        let est = match baseline {
            Ok((b, before)) => match self.report(facts).await {
                Ok(now) => established::compare(b, &now.findings, &before.findings),
                Err(why) => Established::NotCompared { reason: format!("scan failed: {why}") },
            },
            Err(reason) => Established::NotCompared { reason },
        };
        tracing::info!(filename = %crate::model::Printable(&facts.filename), comparison = %est.summary(), "established baseline");
        self.baselines.insert(facts.sha256.clone(), est.clone());
        self.verdicts.invalidate(&facts.sha256);
        est
    }

    /// The facts the policy weighs for a scanned file: the licence the scan read, and the
    /// comparisons remembered for it (previous release, established baseline).
    fn weighed_facts(&self, facts: &ArtifactFacts, report: &ScanReport) -> ArtifactFacts {
        let mut facts = facts.with_licence(&report.licence);
        if let Some(d) = self.diffs.get(&facts.sha256) {
            facts.new_in_version = Some(d);
        }
        if let Some(e) = self.baselines.get(&facts.sha256) {
            facts.established = Some(e);
        }
        facts
    }

    /// Scan (once per sha256 and scanner version), enrich, and let the current policy decide.
    /// A scanner crash fails closed (unless the policy dangerously fails open).
    pub(crate) async fn decide(&self, facts: &ArtifactFacts) -> Decided {
        let now = time::OffsetDateTime::now_utc();
        let policy = self.policy.load_full();
        match self.report(facts).await {
            Ok(report) => self.decide_on(&policy, facts, &report, now).await,
            Err(why) => {
                // An overdue scan says why in the verdict; a crash's cause is only logged.
                let detail = match &why {
                    ScanFailed::Crashed(_) => {
                        tracing::error!(filename = %facts.filename, sha256 = %facts.sha256, error = %why, "scanner crashed");
                        None
                    }
                    ScanFailed::Overdue { .. } => Some(why.to_string()),
                };
                let verdict = policy.evaluate_failure(facts, why.code(), detail.as_deref(), now);
                Decided { verdict, findings: Arc::new(vec![]) }
            }
        }
    }

    /// [`Gate::decide`] for an artifact already scanned (memory or store), never scanning:
    /// the same verdict, noted the same way; `None` when this scanner has not scanned it
    /// (then take the file's single flight and call [`Gate::decide`]). A repeat request for a
    /// file served recently is decided here without joining the flight.
    pub(crate) async fn decide_scanned(&self, facts: &ArtifactFacts) -> Option<Decided> {
        let report = match self.dangerous_skip_scan {
            true => Arc::new(empty_report(facts)),
            false => self.cached_report(&facts.sha256).await?,
        };
        let policy = self.policy.load_full();
        Some(self.decide_on(&policy, facts, &report, time::OffsetDateTime::now_utc()).await)
    }

    /// A repeat request for a file served before, decided without its single flight: the
    /// release hold (deny list, cooldown, advisories, project verdict), else the verdict on
    /// its kept scan. Both are remembered in the verdict [`memo`] and reused while nothing
    /// they were made from has changed and no instant at which they could change by the
    /// clock has come; otherwise this is [`Gate::release_hold`] then [`Gate::decide_scanned`],
    /// noted the same way. `None` when this scanner has not scanned the file (then the
    /// caller takes the flight, release hold first).
    pub(crate) async fn decide_repeat(&self, origin: &FileOrigin, facts: &ArtifactFacts) -> Option<Decided> {
        if self.dangerous_skip_scan {
            if let Some((verdict, found)) = self.release_hold(origin).await {
                return Some(Decided { verdict, findings: Arc::new(found) });
            }
            return self.decide_scanned(facts).await;
        }
        let report = self.cached_report(&facts.sha256).await?;
        let now = time::OffsetDateTime::now_utc();
        let policy = self.policy.load_full();
        let history = self.histories.get(&facts.project);
        let inputs = memo::Inputs {
            facts,
            policy: &policy,
            report: &report,
            history: history.as_ref(),
            holds: (self.holds_epoch.load(Ordering::Acquire), self.name_holds.contains_key(&facts.project)),
            diff: self.diffs.contains_key(&facts.sha256),
            baseline: self.baselines.contains_key(&facts.sha256),
        };
        if let Some(e) = self.verdicts.get(&facts.sha256) {
            if e.holds_for(&inputs, now, |seen| self.enrich.revision_is(seen)) {
                return Some(e.decided.clone());
            }
        }
        self.repeats_weighed.fetch_add(1, Ordering::Relaxed);
        let enrichment = self.enrich.revision();
        let decided = match self.release_hold(origin).await {
            Some((verdict, found)) => Decided { verdict, findings: Arc::new(found) },
            None => self.decide_on(&policy, facts, &report, now).await,
        };
        let entry = memo::Entry::new(&inputs, enrichment, now, decided.clone());
        self.verdicts.insert(facts.sha256.clone(), Arc::new(entry));
        Some(decided)
    }

    /// Repeat requests evaluated afresh rather than answered from the verdict memo.
    #[cfg(test)]
    pub(crate) fn repeats_weighed(&self) -> u64 {
        self.repeats_weighed.load(Ordering::Relaxed)
    }

    /// Weigh a report and note the verdict (listing and look-back).
    async fn decide_on(
        &self,
        policy: &Policy,
        facts: &ArtifactFacts,
        report: &ScanReport,
        now: time::OffsetDateTime,
    ) -> Decided {
        let decided = self.weigh(policy, facts, report, now);
        self.note_listed(facts, &decided);
        self.note_request(policy, facts, &decided, &report.scanner_version).await;
        decided
    }

    /// The verdict for an artifact already scanned (memory or store), without scanning.
    /// Index pages use it to hide, yank or annotate versions pipgate has seen.
    pub(crate) async fn decide_cached(&self, facts: &ArtifactFacts) -> Option<Decided> {
        let report = self.cached_report(&facts.sha256).await?;
        let policy = self.policy.load_full();
        Some(self.weigh(&policy, facts, &report, time::OffsetDateTime::now_utc()))
    }

    /// Scan findings + enrichment findings → name verdict → the policy's verdict. A
    /// corroborated look-alike is remembered as the project's verdict; a remembered project
    /// verdict decides every other file of the project too.
    fn weigh(&self, policy: &Policy, facts: &ArtifactFacts, report: &ScanReport, now: time::OffsetDateTime) -> Decided {
        // The licence rules judge what the scan read from the bytes.
        let facts = &self.weighed_facts(facts, report);
        let found = self.weighed_findings(facts, report, now);
        if let Some(f) = name::corroborated(&found) {
            if !self.name_holds.contains_key(&facts.project) {
                self.bump_listing(&facts.project);
            }
            self.name_holds.insert(facts.project.clone(), f.clone());
            self.holds_epoch.fetch_add(1, Ordering::AcqRel);
        }
        let verdict = policy.evaluate(facts, &found, now);
        if verdict.decision != Decision::Block {
            if let Some((v, _)) = self.project_hold(policy, facts, now) {
                let mut found = found;
                found.retain(|f| f.detector != name::TYPOSQUAT);
                found.extend(self.name_holds.get(&facts.project));
                return Decided { verdict: v, findings: Arc::new(found) };
            }
        }
        Decided { verdict, findings: Arc::new(found) }
    }

    /// [`Gate::weighed_findings`], with the project's remembered look-alike verdict (looked
    /// for among the files already scanned) in place of this file's own name finding: what
    /// `pipgate policy explain|accept` weigh, so a project verdict is explained and accepted
    /// as one.
    pub(crate) async fn findings_with_project_verdict(
        &self,
        facts: &ArtifactFacts,
        report: &ScanReport,
        now: time::OffsetDateTime,
    ) -> Vec<Finding> {
        let mut found = self.weighed_findings(facts, report, now);
        if name::corroborated(&found).is_none() {
            self.seed(&facts.project).await;
            if let Some(held) = self.name_holds.get(&facts.project) {
                found.retain(|f| f.detector != name::TYPOSQUAT);
                found.push(held);
            }
        }
        found
    }

    /// Everything the policy weighs for an artifact: the scan's findings, the enrichment's,
    /// and the name verdict applied to them.
    pub(crate) fn weighed_findings(
        &self,
        facts: &ArtifactFacts,
        report: &ScanReport,
        now: time::OffsetDateTime,
    ) -> Vec<Finding> {
        let extra = self.enrich.findings(facts);
        let all: Vec<Finding> = report.findings.iter().chain(extra.iter()).cloned().collect();
        let history = self.histories.get(&facts.project);
        name::judge(&facts.project, &facts.filename, &all, history.as_deref(), now)
    }

    /// What the report page shows beside a scan: the current policy's verdict, everything it
    /// weighed (as `pipgate policy explain` weighs it, project verdict included), and the
    /// acceptance `pipgate policy accept` prints for it. Decides nothing new and records nothing.
    pub(crate) async fn explain(&self, facts: &ArtifactFacts, report: &ScanReport) -> Explained {
        let now = time::OffsetDateTime::now_utc();
        let policy = self.policy.load_full();
        let facts = self.weighed_facts(facts, report);
        let findings = self.findings_with_project_verdict(&facts, report, now).await;
        let verdict = policy.evaluate(&facts, &findings, now);
        let acceptance = policy.acceptance_snippet(&facts, &findings, now);
        Explained { verdict, findings, acceptance }
    }

    /// [`Gate::explain`] for a file held before download (no scan): the hold's acceptance.
    pub(crate) fn hold_acceptance(&self, facts: &ArtifactFacts, found: &[Finding]) -> String {
        let policy = self.policy.load_full();
        policy.acceptance_snippet(facts, found, time::OffsetDateTime::now_utc())
    }

    /// The stored scan report for a sha256, if pipgate has scanned it with this scanner.
    pub(crate) async fn cached_report(&self, sha256: &str) -> Option<Arc<ScanReport>> {
        if let Some(r) = self.memo.get(sha256) {
            return Some(r);
        }
        let stored = match self.scans.scan(sha256, scanner_version()).await {
            Ok(r) => r?,
            Err(e) => {
                tracing::warn!(sha256, error = %e, "could not read the scan cache");
                return None;
            }
        };
        let report = Arc::new(stored);
        self.memo.insert(sha256.to_string(), report.clone());
        Some(report)
    }

    /// The scan report for an artifact, from memory, the store, or a fresh scan. The scan
    /// itself runs on the blocking pool, once per sha256 however many requests want it
    /// ([`running`]); a request waits for it at most `max_scan_seconds` plus a grace
    /// ([`ScanFailed::Overdue`] after that, while the scan goes on and keeps its report). A
    /// panic in a detector is an error, not a crash.
    pub(crate) async fn report(&self, facts: &ArtifactFacts) -> Result<Arc<ScanReport>, ScanFailed> {
        if self.dangerous_skip_scan {
            return Ok(Arc::new(empty_report(facts)));
        }
        if let Some(r) = self.cached_report(&facts.sha256).await {
            return Ok(r);
        }
        let (out, started) = self.running.outcome(&facts.sha256, || self.scan_and_keep(facts)).await;
        if let Err(ScanFailed::Overdue { .. }) = &out {
            tracing::error!(sha256 = %facts.sha256, filename = %facts.filename, started,
                "scan still running past max_scan_seconds; this request fails closed");
        }
        out
    }

    /// The task [`Gate::report`] starts: scan on the blocking pool, then keep a complete
    /// report (store and memory) and bump the verdict generation, whether or not a request
    /// still waits for it.
    fn scan_and_keep(
        &self,
        facts: &ArtifactFacts,
    ) -> impl std::future::Future<Output = running::Outcome> + Send + 'static {
        self.scans_run.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(sha256 = %facts.sha256, filename = %facts.filename, "scanning");
        let (scanner, path, filename) = (self.scanner.clone(), facts.path.clone(), facts.filename.clone());
        let (scans, memo, generation, sha256) =
            (self.scans.clone(), self.memo.clone(), self.generation.clone(), facts.sha256.clone());
        async move {
            let _running = crate::metrics::scan_running();
            let started = std::time::Instant::now();
            let scanned = tokio::task::spawn_blocking(move || {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scanner.scan_file(&path, &filename)))
            })
            .await
            .map_err(|e| ScanFailed::Crashed(e.to_string()))?
            .map_err(|p| {
                ScanFailed::Crashed(
                    p.downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(std::string::ToString::to_string))
                        .unwrap_or_else(|| "scanner panicked".into()),
                )
            })?;
            let detectors = scanned.findings.iter().map(|f| f.detector.as_str());
            crate::metrics::scanned(started.elapsed(), scanned.stats.uncompressed_bytes, detectors);
            if scanned.stats.timed_out {
                // Incomplete because the machine was slow, not because of the bytes: judge it
                // (fails closed) but do not keep it, so the next request scans again.
                tracing::warn!(%sha256, filename = %scanned.filename, "scan stopped at max_scan_seconds; report not cached");
                return Ok(Arc::new(scanned));
            }
            if let Err(e) = scans.put_scan(&sha256, scanner_version(), &scanned).await {
                tracing::warn!(%sha256, error = %e, "could not cache scan report");
            }
            let report = Arc::new(scanned);
            memo.insert(sha256, report.clone());
            generation.fetch_add(1, Ordering::AcqRel);
            Ok(report)
        }
    }
}

/// What the feeds know from a release's name, version and the index's sha256 alone (known
/// malware, vulnerabilities), weighed by the policy before any download: a block verdict
/// with the findings behind it, or `None`. Index pages hide or yank such versions, so
/// resolvers fall back to a fixed one.
pub(crate) fn advisory_hold(
    enrich: &Enricher,
    policy: &Policy,
    facts: &ArtifactFacts,
    now: time::OffsetDateTime,
) -> Option<(Verdict, Vec<Finding>)> {
    let found = enrich.findings(facts);
    if found.is_empty() {
        return None;
    }
    let v = policy.evaluate(facts, &found, now);
    (v.decision == Decision::Block).then(|| (v, found.to_vec()))
}

/// The name verdict for an artifact judged on its own (no page history, no gate): what
/// `pipgate scan` and `policy explain|accept` weigh for a local file.
pub fn weigh_name(facts: &ArtifactFacts, findings: &[Finding], now: time::OffsetDateTime) -> Vec<Finding> {
    name::judge(&facts.project, &facts.filename, findings, None, now)
}

/// A report with no findings, for a crashed scan (the verdict fails closed) or the
/// benchmark's `--dangerous-skip-scan` baseline.
fn empty_report(facts: &ArtifactFacts) -> ScanReport {
    ScanReport {
        schema_version: REPORT_SCHEMA_VERSION,
        scanner_version: scanner_version().to_string(),
        filename: facts.filename.clone(),
        kind: facts.kind,
        project: Some(facts.project.clone()),
        version: facts.version.clone(),
        findings: vec![],
        stats: Default::default(),
        licence: Default::default(),
    }
}

#[cfg(test)]
mod tests;
