//! Hot reload of the policy: on file change (watched) and on SIGHUP.
//!
//! Owns: re-loading the policy file and swapping the compiled policy atomically. A broken
//! new policy is refused with a logged error naming the file, path and line, and the
//! policy in force stays. Must not: evaluate policies or touch requests.

use crate::policy::Policy;
use arc_swap::ArcSwap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Load `path` and swap it in; on error keep the current policy. Returns the new digest.
pub fn reload(slot: &ArcSwap<Policy>, path: &Path) -> Result<String, String> {
    match Policy::load(path) {
        Ok(p) => {
            let digest = p.digest.clone();
            let old = slot.swap(Arc::new(p));
            if old.digest != digest {
                tracing::info!(policy = %path.display(), old = %short(&old.digest), new = %short(&digest), "policy reloaded");
            }
            Ok(digest)
        }
        Err(e) => {
            tracing::error!(policy = %path.display(), error = %e, "new policy REFUSED; the previous policy stays in force");
            Err(e.to_string())
        }
    }
}

fn short(d: &str) -> &str {
    &d[..d.len().min(12)]
}

/// Watch the policy file (and files it extends, via its directory) and reload on SIGHUP.
/// Runs until the process ends.
pub fn spawn(slot: Arc<ArcSwap<Policy>>, path: PathBuf) {
    spawn_watcher(slot.clone(), path.clone());
    #[cfg(unix)]
    tokio::spawn(async move {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP; reload by file change only");
            return;
        };
        while hup.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading policy");
            let _ = reload(&slot, &path);
        }
    });
}

fn spawn_watcher(slot: Arc<ArcSwap<Policy>>, path: PathBuf) {
    use notify::{RecursiveMode, Watcher};
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).map(Path::to_path_buf).unwrap_or_else(|| ".".into());
    let (tx, rx) = std::sync::mpsc::channel();
    let mut watcher = match notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
        if let Ok(ev) = ev {
            if ev.kind.is_modify() || ev.kind.is_create() || ev.kind.is_remove() {
                let _ = tx.send(ev.paths);
            }
        }
    }) {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch the policy file; reload with SIGHUP");
            return;
        }
    };
    if let Err(e) = watcher.watch(&dir, RecursiveMode::NonRecursive) {
        tracing::warn!(error = %e, dir = %dir.display(), "cannot watch the policy directory; reload with SIGHUP");
        return;
    }
    std::thread::spawn(move || {
        let _keep = watcher;
        while let Ok(paths) = rx.recv() {
            if !paths.iter().any(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml")) {
                continue;
            }
            // Editors write in several steps: wait for the burst to settle.
            std::thread::sleep(std::time::Duration::from_millis(200));
            while rx.try_recv().is_ok() {}
            let _ = reload(&slot, &path);
        }
    });
}
