//! Hot reload of the policy: on file change (watched) and on SIGHUP.
//!
//! Owns: re-loading the policy file and swapping the compiled policy atomically, and only
//! once the file is complete: its (mtime, size, sha256) — and those of the files the
//! policy in force extends — must be the same across two reads [`SETTLE`] apart, the
//! whole policy must load and validate, and the file must not have changed while it
//! loaded. A policy saved in several writes is never active half-written (deploy with an
//! atomic rename all the same: `docs/policy.md`). A broken new policy is refused with a
//! logged error naming the file, path and line, and the policy in force stays. Every
//! reload is logged with the file's path, the policy digest and the file's sha256, and the
//! first good load after a refused one says "policy restored".
//! Must not: evaluate policies or touch requests.

use crate::policy::Policy;
use arc_swap::ArcSwap;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// How long the policy file must stay unchanged before it is loaded.
pub(crate) const SETTLE: Duration = Duration::from_secs(1);
/// How long a file that keeps changing is waited for before the reload is given up
/// (the next change or SIGHUP tries again).
const MAX_WAIT: Duration = Duration::from_secs(30);

fn swap_in(
    slot: &ArcSwap<Policy>,
    path: &Path,
    loaded: Result<Policy, crate::policy::PolicyError>,
    was_broken: bool,
) -> Result<String, String> {
    let sha256 = file_sha256(path);
    match loaded {
        Ok(p) => {
            let digest = p.digest.clone();
            let old = slot.swap(Arc::new(p));
            let changed = old.digest != digest;
            crate::metrics::policy_reload(true);
            if was_broken {
                tracing::info!(policy = %path.display(), digest = %digest, sha256 = %sha256, changed, "policy restored: the file loads again and is in force");
            } else {
                tracing::info!(policy = %path.display(), digest = %digest, sha256 = %sha256, old = %short(&old.digest), changed, "policy reloaded");
            }
            Ok(digest)
        }
        Err(e) => {
            let in_force = slot.load().digest.clone();
            crate::metrics::policy_reload(false);
            tracing::error!(policy = %path.display(), sha256 = %sha256, error = %e, digest = %in_force, "new policy REFUSED; the previous policy stays in force");
            Err(e.to_string())
        }
    }
}

/// The sha256 of a file's bytes as `sha256sum` prints it (`-` when it cannot be read), so an
/// operator can tell which file the log speaks of.
pub(crate) fn file_sha256(path: &Path) -> String {
    std::fs::read(path).map(|b| hex::encode(Sha256::digest(&b))).unwrap_or_else(|_| "-".into())
}

/// Log the policy in force at start-up: its path, digest (the one audit records carry) and
/// the file's sha256.
pub fn log_in_force(policy: &Policy, path: &Path) {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    tracing::info!(policy = %abs.display(), digest = %policy.digest, sha256 = %file_sha256(path), "policy in force");
}

/// What identifies one file's state: modification time, size and content hash
/// (`None`: it could not be read, e.g. it does not exist at the moment).
type FileState = Option<(Option<SystemTime>, u64, [u8; 32])>;

fn fingerprint(paths: &[PathBuf]) -> Vec<FileState> {
    paths
        .iter()
        .map(|p| {
            let meta = std::fs::metadata(p).ok()?;
            let bytes = std::fs::read(p).ok()?;
            Some((meta.modified().ok(), bytes.len() as u64, Sha256::digest(&bytes).into()))
        })
        .collect()
}

/// The policy file and the files the policy in force was read from (`extends:`).
fn watched(slot: &ArcSwap<Policy>, path: &Path) -> Vec<PathBuf> {
    let mut paths = vec![path.to_path_buf()];
    for s in &slot.load().sources {
        let p = PathBuf::from(s);
        if p.is_file() && !paths.contains(&p) {
            paths.push(p);
        }
    }
    paths
}

/// Wait until the policy file is stable (the same mtime, size and sha256 across two reads
/// `settle` apart), load and validate it, check it did not change meanwhile, then swap it
/// in. A file still changing after 30 s is given up (the policy in force stays).
/// `was_broken`: the last attempt refused the file (a success is then logged as "restored").
/// Returns the digest now in force, or why nothing was swapped in ([`Refusal::Broken`]
/// when the file did not load).
pub(crate) fn reload_when_stable(
    slot: &ArcSwap<Policy>,
    path: &Path,
    settle: Duration,
    was_broken: bool,
) -> Result<String, Refusal> {
    let start = Instant::now();
    let paths = watched(slot, path);
    let mut before = fingerprint(&paths);
    loop {
        std::thread::sleep(settle);
        let now = fingerprint(&paths);
        if now == before {
            let loaded = Policy::load(path);
            let after = fingerprint(&paths);
            if after == now {
                return swap_in(slot, path, loaded, was_broken).map_err(Refusal::Broken);
            }
            before = after;
        } else {
            before = now;
        }
        if start.elapsed() > MAX_WAIT {
            let why = format!("{} kept changing for {}s; not reloaded", path.display(), MAX_WAIT.as_secs());
            crate::metrics::policy_reload(false);
            tracing::warn!(policy = %path.display(), "{why}; the previous policy stays in force");
            return Err(Refusal::Unsettled(why));
        }
    }
}

/// Why a reload swapped nothing in.
#[derive(Debug, PartialEq)]
pub(crate) enum Refusal {
    /// The file did not load or validate.
    Broken(String),
    /// The file kept changing.
    Unsettled(String),
}

fn short(d: &str) -> &str {
    &d[..d.len().min(12)]
}

/// Watch the policy file (and files it extends, via its directory) and reload on SIGHUP.
/// Runs until the process ends.
pub fn spawn(slot: Arc<ArcSwap<Policy>>, path: PathBuf) {
    let tx = spawn_reloader(slot, path.clone(), SETTLE);
    watch_dir(&path, tx.clone());
    #[cfg(unix)]
    tokio::spawn(async move {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP; reload by file change only");
            return;
        };
        while hup.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading policy");
            let _ = tx.send(());
        }
    });
}

/// The thread that reloads, one request at a time (requests arriving while it waits for
/// the file to settle are folded into that reload). Send `()` to ask for a reload.
pub(crate) fn spawn_reloader(slot: Arc<ArcSwap<Policy>>, path: PathBuf, settle: Duration) -> mpsc::Sender<()> {
    let (tx, rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        let mut broken = false;
        while rx.recv().is_ok() {
            match reload_when_stable(&slot, &path, settle, broken) {
                Ok(_) => broken = false,
                Err(Refusal::Broken(_)) => broken = true,
                Err(Refusal::Unsettled(_)) => {}
            }
            while rx.try_recv().is_ok() {}
        }
    });
    tx
}

/// Watch the policy file's directory; a change to a YAML file asks `tx` for a reload.
/// Returns false when watching is not possible (reload with SIGHUP then).
pub(crate) fn watch_dir(path: &Path, tx: mpsc::Sender<()>) -> bool {
    use notify::{RecursiveMode, Watcher};
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).map(Path::to_path_buf).unwrap_or_else(|| ".".into());
    let mut watcher = match notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
        if let Ok(ev) = ev {
            let relevant = ev.kind.is_modify() || ev.kind.is_create() || ev.kind.is_remove();
            if relevant && ev.paths.iter().any(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml")) {
                let _ = tx.send(());
            }
        }
    }) {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch the policy file; reload with SIGHUP");
            return false;
        }
    };
    if let Err(e) = watcher.watch(&dir, RecursiveMode::NonRecursive) {
        tracing::warn!(error = %e, dir = %dir.display(), "cannot watch the policy directory; reload with SIGHUP");
        return false;
    }
    // The watcher lives as long as the process.
    std::mem::forget(watcher);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const FULL: &str = "deny:\n  - \"demo-a\"\n  - \"demo-b\"\n";
    /// The first write of FULL: valid YAML (deny list with demo-a only), but not the policy.
    const PART: &str = "deny:\n  - \"demo-a\"\n";

    /// Which of demo-a and demo-b the policy in the slot denies.
    fn denied(slot: &ArcSwap<Policy>) -> (bool, bool) {
        let now = time::OffsetDateTime::now_utc();
        let p = slot.load();
        (p.release_gate("demo-a", "1.0", None, now).is_some(), p.release_gate("demo-b", "1.0", None, now).is_some())
    }

    /// The policy is saved in two writes with a pause between them (longer than the old
    /// fixed 200 ms wait); the slot is sampled throughout.
    #[test]
    fn a_half_written_policy_is_never_active() {
        let cases: Vec<(&str, Duration, Duration)> = vec![
            ("pause 400 ms, settle 1 s (the default)", Duration::from_millis(400), SETTLE),
            ("pause 150 ms, settle 500 ms", Duration::from_millis(150), Duration::from_millis(500)),
        ];
        for (case, pause, settle) in cases {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("policy.yaml");
            std::fs::write(&path, "deny: []\n").unwrap();
            let slot = Arc::new(ArcSwap::from_pointee(Policy::load(&path).unwrap()));
            let tx = spawn_reloader(slot.clone(), path.clone(), settle);
            assert!(watch_dir(&path, tx), "{case}: watching works here");
            std::thread::sleep(Duration::from_millis(100));

            let writer = {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut f = std::fs::File::create(&path).unwrap();
                    f.write_all(PART.as_bytes()).unwrap();
                    f.sync_all().unwrap();
                    std::thread::sleep(pause);
                    f.write_all(&FULL.as_bytes()[PART.len()..]).unwrap();
                    f.sync_all().unwrap();
                })
            };
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                let state = denied(&slot);
                assert_ne!(state, (true, false), "{case}: the truncated policy became active");
                if state == (true, true) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            writer.join().unwrap();
            assert_eq!(denied(&slot), (true, true), "{case}: the full policy is loaded in the end");
        }
    }

    #[test]
    fn a_file_that_keeps_changing_is_not_loaded_until_it_stops() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.yaml");
        std::fs::write(&path, "deny: []\n").unwrap();
        let slot = ArcSwap::from_pointee(Policy::load(&path).unwrap());
        let before = slot.load().digest.clone();
        let writer = {
            let path = path.clone();
            std::thread::spawn(move || {
                for i in 0..6 {
                    std::fs::write(&path, format!("deny: [\"demo-{i}\"]\n")).unwrap();
                    std::thread::sleep(Duration::from_millis(60));
                }
                std::fs::write(&path, FULL).unwrap();
            })
        };
        std::thread::sleep(Duration::from_millis(10));
        let got = reload_when_stable(&slot, &path, Duration::from_millis(200), false);
        writer.join().unwrap();
        assert!(got.is_ok(), "{got:?}");
        assert_ne!(slot.load().digest, before);
        assert_eq!(denied(&slot), (true, true), "the last write, not one on the way");
    }
}
