//! The audit log: one JSON line per decision, append-only, rotated without losing lines.
//!
//! Owns: the record format (documented in `docs/audit.md`), appending, flushing (and
//! syncing to disk before a block response leaves), size/day rotation, and reading back.
//! A failed append (disk full, I/O error) is returned to the caller, which refuses to serve
//! the decision, and never leaves a torn record: each record is one write of the whole line,
//! and on any error the file is truncated back to its previous length and reopened next time.
//! Also owns the [`Indexer`]: each record written is copied, as a row, into the store's
//! audit index (what the dashboard reads) by a background writer in batches. That copy is
//! best effort: a full queue or a failed write is logged and counted
//! (`pipgate_audit_index_write_failures_total`), never a reason to refuse a request.
//! Also owns the [`SharedTrail`]: with replicas on PostgreSQL, each record is committed to
//! the shared audit trail as well, before the response leaves (a failed commit refuses the
//! serve, as a failed append does), and [`read_trail`] reads that one ordered stream back.
//! Must not: decide anything; it records what others decided.

use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One decision, as written to `audit.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AuditRecord {
    /// RFC 3339, UTC.
    pub time: String,
    pub request_id: String,
    pub client: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// What was asked: `file`, `metadata`, `page`.
    pub request: String,
    pub project: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub filename: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// `serve`, `annotate`, `block`, or `error` when the request failed before a decision.
    pub decision: String,
    pub reasons: Vec<crate::model::Reason>,
    #[serde(default)]
    pub findings: Vec<String>,
    #[serde(default)]
    pub acceptances: Vec<String>,
    #[serde(default)]
    pub policy_digest: String,
    /// Whose fault an `error` was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
    pub pipgate_version: String,
}

struct Current {
    file: File,
    size: u64,
    day: String,
}

/// The append-only log in `<data-dir>/audit/`.
pub(crate) struct AuditLog {
    dir: PathBuf,
    max_bytes: u64,
    current: Mutex<Option<Current>>,
}

pub(crate) const CURRENT_NAME: &str = "audit.jsonl";

impl AuditLog {
    pub(crate) fn open(dir: &Path, max_bytes: u64) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(AuditLog { dir: dir.to_path_buf(), max_bytes, current: Mutex::new(None) })
    }

    /// Append one record. `durable` syncs it to disk before returning (used for blocks).
    pub(crate) fn write(&self, rec: &AuditRecord, durable: bool) -> std::io::Result<()> {
        // Each thread formats its records in one reused buffer (no allocation per record
        // once it has grown to the longest record).
        thread_local! {
            static LINE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        LINE.with_borrow_mut(|line| {
            line.clear();
            serde_json::to_writer(&mut *line, rec).map_err(std::io::Error::other)?;
            line.push(b'\n');
            let r = self.append(rec, line, durable);
            if line.capacity() > 64 << 10 {
                *line = Vec::new(); // a huge record's buffer is not kept
            }
            r
        })
    }

    fn append(&self, rec: &AuditRecord, line: &[u8], durable: bool) -> std::io::Result<()> {
        let mut guard = self.current.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let day = rec.time.get(..10).unwrap_or_default();
        let rotate = match guard.as_ref() {
            Some(c) => c.size + line.len() as u64 > self.max_bytes || c.day != day,
            None => false,
        };
        if rotate || guard.is_none() {
            *guard = Some(self.open_current(day, rotate)?);
        }
        let cur = guard.as_mut().expect("opened above");
        match append_line(&mut cur.file, line, durable) {
            Ok(()) => {
                // Our count (for rotation): no look at the file per record.
                cur.size += line.len() as u64;
                Ok(())
            }
            Err((e, written)) => {
                // Never leave a torn record behind: cut the file back to where this record
                // began — the file's real length less what of this record went in, not our
                // count, as another writer may have appended (a device such as /dev/full
                // cannot be cut and holds nothing anyway) — and start from a freshly opened
                // file next time.
                let before = cur.file.metadata().map(|m| m.len().saturating_sub(written)).unwrap_or(cur.size);
                if let Err(t) = cur.file.set_len(before) {
                    tracing::debug!(error = %t, "could not truncate the audit log after a failed append");
                }
                *guard = None;
                Err(e)
            }
        }
    }

    /// Open `audit.jsonl`, first moving a full or previous-day file aside as `audit-<stamp>.jsonl`.
    fn open_current(&self, day: &str, force_rotate: bool) -> std::io::Result<Current> {
        let path = self.dir.join(CURRENT_NAME);
        if let Ok(meta) = std::fs::metadata(&path) {
            let file_day = first_day(&path).unwrap_or_default();
            if force_rotate || meta.len() >= self.max_bytes || (!file_day.is_empty() && file_day != day) {
                let stamp = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
                std::fs::rename(&path, self.dir.join(format!("audit-{stamp}.jsonl")))?;
            }
        }
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let size = file.metadata()?.len();
        Ok(Current { file, size, day: day.to_string() })
    }
}

/// One `write` of the whole line (a short write is an error, not a retry that could
/// interleave), then the sync a durable record needs. On failure: the error and how many
/// bytes of the line were written.
fn append_line(file: &mut File, line: &[u8], durable: bool) -> Result<(), (std::io::Error, u64)> {
    let n = file.write(line).map_err(|e| (e, 0))?;
    if n != line.len() {
        let e = std::io::Error::new(
            std::io::ErrorKind::WriteZero,
            format!("short write: {n} of {} bytes (disk full?)", line.len()),
        );
        return Err((e, n as u64));
    }
    if durable {
        file.sync_data().map_err(|e| (e, n as u64))?;
    }
    Ok(())
}

fn first_day(path: &Path) -> Option<String> {
    // Bounded: a record is far smaller, and a device (say /dev/full) may never end a line.
    let mut line = String::new();
    BufReader::new(File::open(path).ok()?.take(1 << 20)).read_line(&mut line).ok()?;
    let rec: AuditRecord = serde_json::from_str(&line).ok()?;
    rec.time.get(..10).map(str::to_string)
}

/// Every record in a data directory's audit folder, oldest first (rotated files, then the current one).
pub fn read_all(dir: &Path) -> std::io::Result<Vec<AuditRecord>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("audit-") && n.ends_with(".jsonl"))
        })
        .collect();
    files.sort();
    files.push(dir.join(CURRENT_NAME));
    let mut out = Vec::new();
    for f in files {
        let Ok(file) = File::open(&f) else { continue };
        for line in BufReader::new(file).lines() {
            let line = line?;
            if let Ok(rec) = serde_json::from_str(&line) {
                out.push(rec);
            }
        }
    }
    Ok(out)
}

/// How long a request waits for the shared trail to commit its record before it is
/// refused as unaudited.
const TRAIL_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// The audit trail replicas share (PostgreSQL): each record committed, with this replica's
/// name, before the response it describes leaves. Unlike the [`Indexer`], a failure here is
/// the caller's reason to refuse serving.
pub(crate) struct SharedTrail {
    trail: std::sync::Arc<dyn crate::store::AuditTrail>,
    replica: String,
}

impl SharedTrail {
    pub(crate) fn new(trail: std::sync::Arc<dyn crate::store::AuditTrail>, replica: String) -> SharedTrail {
        SharedTrail { trail, replica }
    }

    /// Commit these records (one transaction), within [`TRAIL_DEADLINE`].
    pub(crate) async fn commit(&self, records: Vec<AuditRecord>) -> Result<(), crate::store::StoreError> {
        match tokio::time::timeout(TRAIL_DEADLINE, self.trail.append(&self.replica, records)).await {
            Ok(done) => done,
            Err(_) => Err(crate::store::StoreError::new(
                "append to the audit trail",
                format!("no commit within {} s", TRAIL_DEADLINE.as_secs()),
            )),
        }
    }
}

/// Every record of the trail replicas share in the PostgreSQL database at `database`
/// (`postgres://…`) that `query` matches, in the cluster-wide order. Errors name the
/// database with its password redacted.
pub async fn read_trail(database: &str, query: &Query) -> Result<Vec<crate::store::TrailEntry>, String> {
    let url = match crate::config::Database::parse(database).map_err(|e| e.to_string())? {
        crate::config::Database::Postgres(url) => url,
        crate::config::Database::Sqlite(path) => {
            return Err(format!(
                "{}: only a postgres://… database keeps a shared audit trail (the embedded default's is the \
                 JSON-lines log in the data directory: leave --database out)",
                path.display()
            ))
        }
    };
    let store = crate::store::postgres::PgStore::open(&url).map_err(|e| e.to_string())?;
    crate::store::AuditTrail::read_trail(&store, query).await.map_err(|e| format!("{url}: {e}"))
}

/// Rows waiting for the index writer; past this, rows are dropped (and counted).
const INDEX_QUEUE: usize = 10_000;
/// Rows written in one transaction at most.
const INDEX_BATCH: usize = 512;
/// How long the index writer lets rows gather after the first one arrives: under load, one
/// transaction (and one wake-up of the writer) per this long rather than per request; the
/// dashboard shows a decision this much later.
const INDEX_LINGER: std::time::Duration = std::time::Duration::from_millis(50);

/// Copies audit records into the store's audit index, off the request path.
pub(crate) struct Indexer {
    index: std::sync::Arc<dyn crate::store::AuditIndex>,
    /// Started by the first record (inside the runtime).
    queue: std::sync::OnceLock<tokio::sync::mpsc::Sender<crate::store::DecisionRow>>,
}

impl Indexer {
    pub(crate) fn new(index: std::sync::Arc<dyn crate::store::AuditIndex>) -> Indexer {
        Indexer { index, queue: std::sync::OnceLock::new() }
    }

    /// Queue a written record for the index. `until`: a cooldown hold's end (RFC 3339).
    /// Must be called inside the tokio runtime.
    pub(crate) fn record(&self, rec: AuditRecord, until: Option<&str>) {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = tokio::sync::mpsc::channel(INDEX_QUEUE);
            tokio::spawn(write_rows(self.index.clone(), rx));
            tx
        });
        if let Err(e) = queue.try_send(index_row(rec, until)) {
            crate::metrics::audit_index_write_failed(1);
            tracing::warn!(error = %e, "audit index: row dropped (the JSON-lines audit log has the record)");
        }
    }
}

async fn write_rows(
    index: std::sync::Arc<dyn crate::store::AuditIndex>,
    mut rx: tokio::sync::mpsc::Receiver<crate::store::DecisionRow>,
) {
    let mut batch = Vec::with_capacity(INDEX_BATCH);
    while rx.recv_many(&mut batch, INDEX_BATCH).await > 0 {
        if batch.len() < INDEX_BATCH {
            tokio::time::sleep(INDEX_LINGER).await;
            while batch.len() < INDEX_BATCH {
                match rx.try_recv() {
                    Ok(row) => batch.push(row),
                    Err(_) => break,
                }
            }
        }
        let n = batch.len() as u64;
        if let Err(e) = index.index_decisions(std::mem::take(&mut batch)).await {
            crate::metrics::audit_index_write_failed(n);
            tracing::warn!(error = %e, rows = n, "audit index write failed (the JSON-lines audit log has the records)");
        }
    }
}

/// A record as the index keeps it.
pub(crate) fn index_row(rec: AuditRecord, until: Option<&str>) -> crate::store::DecisionRow {
    // The record is moved in (it was written and committed already): its strings become the
    // row's without a copy.
    let instant = crate::timefmt::parse_instant(&rec.time);
    let first = rec.reasons.first();
    let (rule, reason) = (first.map(|r| r.code.to_string()), first.map(|r| r.message.chars().take(500).collect()));
    let client = match rec.client.parse::<std::net::SocketAddr>() {
        Ok(a) => a.ip().to_string(),
        Err(_) => rec.client,
    };
    crate::store::DecisionRow {
        unix: instant.map_or(0, time::OffsetDateTime::unix_timestamp),
        time: rec.time,
        outcome: rec.decision,
        request: rec.request,
        project: rec.project,
        version: rec.version,
        filename: rec.filename,
        sha256: rec.sha256,
        client,
        user: rec.user,
        findings: rec.findings.iter().take(crate::store::ROW_FINDINGS).cloned().collect(),
        all_findings: rec.findings,
        rule,
        reason,
        until: until.and_then(crate::timefmt::parse_instant).map(time::OffsetDateTime::unix_timestamp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(i: usize, time: &str) -> AuditRecord {
        AuditRecord {
            time: time.into(),
            request_id: format!("r{i}"),
            client: "127.0.0.1:1".into(),
            user: None,
            user_agent: Some("pip/23.2".into()),
            request: "file".into(),
            project: "demo".into(),
            version: Some("1.0".into()),
            filename: "demo-1.0.tar.gz".into(),
            sha256: Some("ab".into()),
            decision: "block".into(),
            reasons: vec![],
            findings: vec![],
            acceptances: vec![],
            policy_digest: String::new(),
            fault: None,
            pipgate_version: "0".into(),
        }
    }

    #[test]
    fn rotation_by_size_and_day_loses_no_line() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(dir.path(), 600).unwrap();
        for i in 0..20 {
            let day = if i < 12 { "2026-01-01T10:00:00Z" } else { "2026-01-02T10:00:00Z" };
            log.write(&rec(i, day), i % 2 == 0).unwrap();
        }
        let all = read_all(dir.path()).unwrap();
        let ids: Vec<String> = all.iter().map(|r| r.request_id.clone()).collect();
        assert_eq!(ids, (0..20).map(|i| format!("r{i}")).collect::<Vec<_>>());
        let files = std::fs::read_dir(dir.path()).unwrap().count();
        assert!(files > 2, "expected rotated files, found {files}");
    }

    /// A tmpfs of `size` mounted on `dir` for the test's life (needs root; `None` if refused).
    struct Tmpfs(PathBuf);
    impl Tmpfs {
        fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
            let ok = std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
                .arg(dir)
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            ok.then(|| Tmpfs(dir.to_path_buf()))
        }
    }
    impl Drop for Tmpfs {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }

    fn assert_every_line_parses(dir: &Path, case: &str) -> usize {
        let path = dir.join(CURRENT_NAME);
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            return 0; // /dev/full: nothing was kept, and reading it never ends
        }
        let text = std::fs::read(&path).unwrap_or_default();
        let text = String::from_utf8(text).unwrap_or_else(|e| panic!("{case}: audit log is not UTF-8: {e}"));
        assert!(text.is_empty() || text.ends_with('\n'), "{case}: torn last line: {text:?}");
        for line in text.lines() {
            serde_json::from_str::<AuditRecord>(line).unwrap_or_else(|e| panic!("{case}: torn line {line:?}: {e}"));
        }
        text.lines().count()
    }

    /// With the disk full, the append fails (the caller refuses to serve), no torn record is
    /// left, and once space is back the next record is appended to a cleanly reopened file.
    #[test]
    fn a_full_disk_fails_the_append_without_a_torn_record() {
        type Fill = fn(&Path) -> Option<Box<dyn FnOnce()>>;
        // Each case breaks the disk under an open log and returns how to free the space.
        // (case, a record written before the disk fills, how to fill it)
        let cases: [(&str, bool, Fill); 2] = [
            ("audit.jsonl is /dev/full", false, |dir| {
                let path = dir.join(CURRENT_NAME);
                let _ = std::fs::remove_file(&path);
                std::os::unix::fs::symlink("/dev/full", &path).unwrap();
                Some(Box::new(move || {
                    std::fs::remove_file(&path).unwrap();
                }))
            }),
            ("tmpfs filled up: the last page has room for part of a record", true, |dir| {
                let filler = dir.join("filler");
                let mut f = File::create(&filler).unwrap();
                let chunk = vec![b'x'; 4096];
                while f.write_all(&chunk).is_ok() {}
                Some(Box::new(move || {
                    std::fs::remove_file(&filler).unwrap();
                }))
            }),
        ];
        for (case, warm, fill) in cases {
            let base = tempfile::tempdir().unwrap();
            let Some(_mnt) = Tmpfs::mount(base.path(), "256k") else {
                eprintln!("SKIP {case}: cannot mount a tmpfs here (needs root)");
                continue;
            };
            let dir = base.path().join("audit");
            let log = AuditLog::open(&dir, 1 << 20).unwrap();
            if warm {
                log.write(&rec(0, "2026-01-01T10:00:00Z"), true).unwrap();
            }
            let free = fill(&dir).expect("disk filled");
            // Append until the disk refuses (the record that straddles the last free byte),
            // then once more: no attempt may leave a torn line.
            let mut failed = 0;
            for i in 1..200 {
                if log.write(&rec(i, "2026-01-01T10:00:01Z"), i % 2 == 0).is_err() {
                    failed += 1;
                }
                assert_every_line_parses(&dir, case);
                if failed == 2 {
                    break;
                }
            }
            assert_eq!(failed, 2, "{case}: a full disk must fail the append");
            free();
            log.write(&rec(9, "2026-01-01T10:00:02Z"), true).unwrap_or_else(|e| panic!("{case}: after freeing: {e}"));
            assert_every_line_parses(&dir, case);
            let ids: Vec<String> = read_all(&dir).unwrap().into_iter().map(|r| r.request_id).collect();
            assert_eq!(ids.last().map(String::as_str), Some("r9"), "{case}: the next record is audited");
        }
    }
}

/// Filters for reading the log back (`pipgate audit`).
#[derive(Debug, Default, Clone)]
pub struct Query {
    pub blocked_only: bool,
    /// Records at or after this RFC 3339 time.
    pub since: Option<time::OffsetDateTime>,
    /// Normalised project name.
    pub project: Option<String>,
    /// The authenticated user, exactly.
    pub user: Option<String>,
}

impl Query {
    pub fn matches(&self, r: &AuditRecord) -> bool {
        if self.blocked_only && r.decision != "block" {
            return false;
        }
        if let Some(p) = &self.project {
            if &r.project != p {
                return false;
            }
        }
        if self.user.is_some() && r.user != self.user {
            return false;
        }
        if let Some(since) = self.since {
            let t = time::OffsetDateTime::parse(&r.time, &time::format_description::well_known::Rfc3339);
            if t.map(|t| t < since).unwrap_or(true) {
                return false;
            }
        }
        true
    }
}

/// Parse `--since`: an instant ([`crate::timefmt::parse_instant`]: RFC 3339 or `2026-01-31`)
/// or an age ([`crate::timefmt::parse_duration`]: `90m`, `24h`, `7d`, `1w`) before `now`.
pub fn parse_since(s: &str, now: time::OffsetDateTime) -> Result<time::OffsetDateTime, String> {
    crate::timefmt::parse_instant(s)
        .or_else(|| crate::timefmt::parse_duration(s).map(|d| now - d))
        .ok_or_else(|| format!("--since {s:?}: expected RFC 3339, YYYY-MM-DD, or an age like 90m / 24h / 7d / 1w"))
}

/// Column caps of the table: a longer value is cut and ends with `…`.
const CAPS: [usize; 8] = [19, 8, 24, 32, 16, 56, 40, 100];
const HEADERS: [&str; 8] = ["TIME", "DECISION", "USER", "PROJECT", "VERSION", "FILENAME", "FINDINGS", "REASON"];

/// `text` cut to `cap` characters, the last one an ellipsis when something was cut.
fn fit(text: &str, cap: usize) -> String {
    if text.chars().count() <= cap {
        return text.to_string();
    }
    let mut out: String = text.chars().take(cap.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A table of records for terminals: one line per record, columns as wide as their widest
/// value (up to a cap, past which values end with `…`), outside text escaped (no
/// terminal escapes, no forged lines).
pub fn render_table(records: &[AuditRecord]) -> String {
    let rows: Vec<[String; 8]> = records.iter().map(cells).collect();
    columns(HEADERS, CAPS, &rows)
}

/// A record's cells in the table.
fn cells(r: &AuditRecord) -> [String; 8] {
    let findings = if r.findings.is_empty() { "-".to_string() } else { r.findings.join(",") };
    [
        r.time.get(..19).unwrap_or(&r.time).to_string(),
        r.decision.clone(),
        r.user.clone().unwrap_or_else(|| "-".into()),
        r.project.clone(),
        r.version.clone().unwrap_or_else(|| "-".into()),
        r.filename.clone(),
        findings,
        r.reasons.first().map(|x| x.message.clone()).unwrap_or_else(|| "-".into()),
    ]
}

/// [`render_table`] for the shared trail: the same columns, with the replica that decided
/// after the time.
pub fn render_trail(entries: &[crate::store::TrailEntry]) -> String {
    let rows: Vec<[String; 9]> = entries
        .iter()
        .map(|e| {
            let [time, rest @ ..] = cells(&e.record);
            std::array::from_fn(|i| match i {
                0 => time.clone(),
                1 => e.replica.clone(),
                _ => rest[i - 2].clone(),
            })
        })
        .collect();
    let headers = std::array::from_fn(|i| match i {
        0 => HEADERS[0],
        1 => "REPLICA",
        _ => HEADERS[i - 1],
    });
    let caps = std::array::from_fn(|i| match i {
        0 => CAPS[0],
        1 => 24,
        _ => CAPS[i - 1],
    });
    columns(headers, caps, &rows)
}

/// Rows as aligned columns for terminals: each column as wide as its widest value (up to
/// its cap, past which values end with `…`), outside text escaped (no terminal escapes, no
/// forged lines).
pub(crate) fn columns<const N: usize>(headers: [&str; N], caps: [usize; N], rows: &[[String; N]]) -> String {
    use crate::model::Printable;
    let rows: Vec<[String; N]> =
        rows.iter().map(|row| std::array::from_fn(|i| fit(&Printable(&row[i]).to_string(), caps[i]))).collect();
    let mut widths = headers.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; N]| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            l.push_str(c);
            if i + 1 < cells.len() {
                l.extend(std::iter::repeat_n(' ', widths[i] - c.chars().count() + 2));
            }
        }
        l.push('\n');
        l
    };
    let mut out = line(headers);
    for row in &rows {
        out.push_str(&line(row.each_ref().map(String::as_str)));
    }
    out
}

/// One record as `pipgate audit --format json` prints it: the record's fields, with
/// `sha256` always present (`null` when unknown) and `verdict` (the decision) next to it.
pub fn json_entry(r: &AuditRecord) -> serde_json::Value {
    let mut v = serde_json::to_value(r).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.entry("sha256").or_insert(serde_json::Value::Null);
        o.insert("verdict".into(), r.decision.clone().into());
    }
    v
}

/// One record of the shared trail as `pipgate audit --format json` prints it: [`json_entry`]
/// with `seq` (the cluster-wide order) and `replica`.
pub fn trail_json(e: &crate::store::TrailEntry) -> serde_json::Value {
    let mut v = json_entry(&e.record);
    if let Some(o) = v.as_object_mut() {
        o.insert("seq".into(), e.seq.into());
        o.insert("replica".into(), e.replica.clone().into());
    }
    v
}

#[cfg(test)]
mod index_tests {
    use super::*;
    use crate::store::{AuditIndex, DecisionFilter, DecisionRow, HourCount, StoreError};

    /// A store whose index writes always fail (a full or broken database).
    struct Broken;

    #[async_trait::async_trait]
    impl AuditIndex for Broken {
        async fn index_decisions(&self, _rows: Vec<DecisionRow>) -> Result<(), StoreError> {
            Err(StoreError::new("index decisions", "database or disk is full"))
        }
        async fn recent_decisions(&self, _f: DecisionFilter) -> Result<Vec<DecisionRow>, StoreError> {
            Ok(vec![])
        }
        async fn hourly_counts(&self, _since: i64) -> Result<Vec<HourCount>, StoreError> {
            Ok(vec![])
        }
        async fn top_findings(&self, _since: i64, _limit: usize) -> Result<Vec<(String, u64)>, StoreError> {
            Ok(vec![])
        }
        async fn cooldown_holds(&self, _now: i64, _limit: usize) -> Result<Vec<DecisionRow>, StoreError> {
            Ok(vec![])
        }
    }

    fn record() -> AuditRecord {
        AuditRecord {
            time: "2026-11-30T10:00:00Z".into(),
            request_id: "r1".into(),
            client: "10.0.0.7:51234".into(),
            user: Some("alice".into()),
            user_agent: None,
            request: "file".into(),
            project: "demo".into(),
            version: Some("1.0".into()),
            filename: "demo-1.0.tar.gz".into(),
            sha256: Some("ab".repeat(32)),
            decision: "block".into(),
            reasons: vec![crate::model::Reason {
                code: crate::model::ReasonCode::Cooldown,
                message: "release uploaded at … is younger than the 3d cooldown".into(),
                findings: vec![],
            }],
            findings: (1..=7).map(|i| format!("d.{i}")).collect(),
            acceptances: vec![],
            policy_digest: String::new(),
            fault: None,
            pipgate_version: "0".into(),
        }
    }

    #[test]
    fn a_record_becomes_an_index_row() {
        let row = index_row(record(), Some("2026-12-03T10:00:00Z"));
        assert_eq!(row.unix, 1_796_032_800, "the record's time in Unix seconds");
        assert_eq!(row.client, "10.0.0.7", "the client's address without its port");
        assert_eq!(row.findings.len(), crate::store::ROW_FINDINGS, "the first findings on the row");
        assert_eq!(row.all_findings.len(), 7, "all of them for the roll-up");
        assert_eq!(row.rule.as_deref(), Some("cooldown"));
        assert_eq!(row.until, Some(1_796_292_000), "a hold's end in Unix seconds");
    }

    /// A failed index write is counted (and logged), and the caller is never held up.
    #[tokio::test]
    async fn a_failed_index_write_is_counted_not_fatal() {
        let indexer = Indexer::new(std::sync::Arc::new(Broken));
        let before = crate::metrics::audit_index_failures();
        let started = std::time::Instant::now();
        for _ in 0..3 {
            indexer.record(record(), None);
        }
        assert!(started.elapsed() < std::time::Duration::from_millis(100), "recording does not wait for the store");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while crate::metrics::audit_index_failures() < before + 3 {
            assert!(std::time::Instant::now() < deadline, "the failed rows were never counted");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

#[cfg(test)]
mod query_tests {
    use super::*;

    #[test]
    fn since_accepts_times_dates_and_ages() {
        let now = time::macros::datetime!(2026-11-23 12:00 UTC);
        let cases = [
            ("rfc3339", "2026-11-20T08:00:00Z", Some(time::macros::datetime!(2026-11-20 08:00 UTC))),
            ("date", "2026-11-20", Some(time::macros::datetime!(2026-11-20 00:00 UTC))),
            ("hours", "24h", Some(time::macros::datetime!(2026-11-22 12:00 UTC))),
            ("days", "7d", Some(time::macros::datetime!(2026-11-16 12:00 UTC))),
            ("weeks", "3w", Some(time::macros::datetime!(2026-11-02 12:00 UTC))),
            ("compound age", "1d 12h", Some(time::macros::datetime!(2026-11-22 00:00 UTC))),
            ("bad unit", "3 fortnights", None),
            ("garbage", "yesterday", None),
        ];
        for (case, input, want) in cases {
            assert_eq!(parse_since(input, now).ok(), want, "{case}");
        }
    }
}

#[cfg(test)]
mod table_tests {
    use super::*;
    use crate::model::{Reason, ReasonCode};

    fn record(
        project: &str,
        version: &str,
        filename: &str,
        decision: &str,
        findings: &[&str],
        why: &str,
    ) -> AuditRecord {
        AuditRecord {
            time: "2026-11-29T10:00:00.123Z".into(),
            request_id: "r1".into(),
            client: "127.0.0.1:1".into(),
            user: None,
            user_agent: Some("pip/24.0".into()),
            request: "file".into(),
            project: project.into(),
            version: Some(version.into()).filter(|v: &String| !v.is_empty()),
            filename: filename.into(),
            sha256: Some("5e".repeat(32)).filter(|_| decision != "error"),
            decision: decision.into(),
            reasons: vec![Reason {
                code: if decision == "block" {
                    ReasonCode::Rule("install-time-high".into())
                } else {
                    ReasonCode::NoFindings
                },
                message: why.into(),
                findings: vec![],
            }],
            findings: findings.iter().map(ToString::to_string).collect(),
            acceptances: vec![],
            policy_digest: "ab".repeat(32),
            fault: None,
            pipgate_version: "0".into(),
        }
    }

    fn records() -> Vec<AuditRecord> {
        vec![
            AuditRecord {
                user: Some("alice".into()),
                ..record("demo", "1.0", "demo-1.0-py3-none-any.whl", "serve", &[], "no findings")
            },
            record(
                "a-project-with-a-really-very-long-distribution-name",
                "2024.11.29.post1234567890",
                "a_project_with_a_really_very_long_distribution_name-2024.11.29.post1234567890-cp312-cp312-manylinux_2_17_x86_64.whl",
                "block",
                &["execution.install-hook", "network.url-in-setup", "obfuscation.base64-exec"],
                "blocked by rule install-time-high: execution.install-hook in setup.py line 7, which runs at install time and fetches a second stage",
            ),
            record("tiny", "", "tiny-0.1.tar.gz", "error", &[], "upstream unreachable"),
        ]
    }

    #[test]
    fn the_table_aligns_columns_and_cuts_long_values() {
        let table = render_table(&records());
        insta::assert_snapshot!(table);
        let lines: Vec<&str> = table.lines().collect();
        for (case, col) in [("filename", "FILENAME"), ("findings", "FINDINGS"), ("reason", "REASON")] {
            let at = lines[0].find(col).unwrap();
            for l in &lines[1..] {
                let before: String = l.chars().take(at).collect();
                assert!(before.ends_with("  "), "{case}: column {col} starts at the same place in {l:?}");
            }
        }
        assert!(
            lines.iter().all(|l| l.chars().count() <= CAPS.iter().sum::<usize>() + 2 * 7),
            "no line exceeds the caps"
        );
    }

    #[test]
    fn the_user_filter_keeps_only_that_users_records() {
        let all = records();
        let cases = [
            ("alice's records", Some("alice"), vec!["demo-1.0-py3-none-any.whl"]),
            ("exact, not a prefix", Some("ali"), vec![]),
            ("no filter keeps anonymous records", None, all.iter().map(|r| r.filename.as_str()).collect()),
        ];
        for (case, user, want) in cases {
            let q = Query { user: user.map(str::to_string), ..Query::default() };
            let got: Vec<&str> = all.iter().filter(|r| q.matches(r)).map(|r| r.filename.as_str()).collect();
            assert_eq!(got, want, "{case}");
        }
    }

    #[test]
    fn json_entries_carry_sha256_and_verdict() {
        let entries: Vec<serde_json::Value> = records().iter().map(json_entry).collect();
        for (case, e, want_sha, want_verdict) in [
            ("served", &entries[0], serde_json::json!("5e".repeat(32)), "serve"),
            ("blocked", &entries[1], serde_json::json!("5e".repeat(32)), "block"),
            ("error before any download: sha256 null", &entries[2], serde_json::Value::Null, "error"),
        ] {
            assert_eq!(e["sha256"], want_sha, "{case}");
            assert_eq!(e["verdict"], want_verdict, "{case}");
            assert_eq!(e["decision"], want_verdict, "{case}");
        }
        insta::assert_json_snapshot!(entries[1]);
    }
}
