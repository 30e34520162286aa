//! Makes `data/shared-test-keys.txt`: the private keys found in several unrelated popular
//! projects (shared test material), from a pipgate data directory that holds them (for
//! example one filled by installing or scanning the most downloaded projects).
//!
//!   cargo run --release --example shared_test_keys -- DATA_DIR [MIN_UNRELATED] > data/shared-test-keys.txt
//!
//! Every cached artifact is read with pipgate's own scanner (the same archive reader and
//! the same key fingerprint as `secrets.private-key`); a key counts once per project.
//! Projects are *related* when their normalised names share the first `-`-separated
//! word (`google-auth`, `google-api-core`) or one's first word contains the other's
//! (`aiobotocore`, `botocore`); a key makes
//! the baseline when it is in at least MIN_UNRELATED (default 2) groups of unrelated
//! projects. Owns nothing the product uses; must not be used as a test.

use pipgate::{Category, Detector, DetectorMeta, Hits, Interest, Limits, Scanner, Severity, TextFile};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

static COLLECT: DetectorMeta = DetectorMeta {
    id: "baseline.private-key-fingerprints",
    revision: 1,
    title: "Collects private-key fingerprints.",
    category: Category::Secrets,
    severity: Severity::Info,
    description: "Baseline generator only.",
};

/// Records every private-key fingerprint it is shown.
struct Collect(Arc<Mutex<BTreeSet<String>>>);

impl Detector for Collect {
    fn meta(&self) -> &'static DetectorMeta {
        &COLLECT
    }
    fn interest(&self) -> Interest {
        Interest::Literals(&["-----BEGIN "])
    }
    fn scan_text(&self, file: &TextFile<'_>, _hits: &mut Hits) {
        let found = pipgate::fuzzing::private_key_fingerprints(file.text);
        self.0.lock().unwrap().extend(found);
    }
}

/// The group a project belongs to: its name's first word.
fn group(project: &str) -> String {
    project.split('-').next().unwrap_or(project).to_string()
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let data = std::path::PathBuf::from(args.next().ok_or_else(|| anyhow::anyhow!("usage: DATA_DIR [MIN_UNRELATED]"))?);
    let min: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(2);
    let db = rusqlite::Connection::open_with_flags(
        data.join("pipgate.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let mut stmt = db.prepare(
        "SELECT DISTINCT v.sha256, o.project, o.filename FROM origins o JOIN verified v ON v.key = o.key ORDER BY o.project",
    )?;
    let files: Vec<(String, String, String)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?;
    let found = Arc::new(Mutex::new(BTreeSet::new()));
    let scanner = Scanner::with_detectors(Limits::default(), vec![Box::new(Collect(found.clone()))]);
    // fingerprint → projects
    let mut seen: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut scanned = BTreeSet::new();
    for (sha, project, filename) in &files {
        let path = data.join("artifacts").join(&sha[..2]).join(sha);
        if !path.exists() {
            continue;
        }
        scanner.scan_file(&path, filename);
        scanned.insert(project.clone());
        for fp in std::mem::take(&mut *found.lock().unwrap()) {
            seen.entry(fp).or_default().insert(project.clone());
        }
    }
    println!("# Private keys shipped by several unrelated popular projects: shared test material,");
    println!("# reported by secrets.private-key at info level as \"commonly used in testing\".");
    println!(
        "# Made by examples/shared_test_keys.rs from {} artifacts of {} projects (see data/README.md);",
        files.len(),
        scanned.len()
    );
    println!("# a key counts when it is in at least {min} unrelated projects (first name words unrelated).");
    println!("# fingerprint (sha256 of the key's base64 body)  unrelated-projects  projects");
    for (fp, projects) in &seen {
        let groups: BTreeSet<String> = projects.iter().map(|p| group(p)).collect();
        let unrelated = groups.iter().filter(|g| !groups.iter().any(|o| o != *g && g.contains(o.as_str()))).count();
        if unrelated >= min {
            let names: Vec<&str> = projects.iter().map(String::as_str).collect();
            println!("{fp} {unrelated} {}", names.join(","));
        }
    }
    Ok(())
}
