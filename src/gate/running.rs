//! One scan per sha256 at a time, and a bounded wait for it.
//!
//! Owns: the scans in progress (sha256 → the channel its outcome is published on), starting
//! one when none runs for a sha256, and how long a request waits for it: the scan's time
//! limit (`max_scan_seconds`) plus a grace ([`wait_bound`]). The scan checks that limit
//! between members and between the detectors on a member, but one detector's own run on one
//! member cannot be interrupted, so a request
//! must not wait on a scan for ever: past the bound it gets [`ScanFailed::Overdue`] (the gate
//! fails closed), the scan goes on, requests for the same file join it instead of starting
//! another, and what the scan ends with is kept by the task that ran it, so the next request
//! is decided on it.
//! Must not: decide, scan (the gate hands it the scan to run), or start a second scan of a
//! sha256 while one runs.

use crate::scan::{Limits, ScanReport};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::watch;

/// Why a scan gave no report a verdict can be made on. The gate fails closed on both.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum ScanFailed {
    /// A detector panicked or the scan's task died: pipgate's fault, logged with the cause.
    #[error("the scanner crashed: {0}")]
    Crashed(String),
    /// The scan was still running when the request's wait ended: the artifact's fault or a
    /// busy machine; the scan goes on and a later request is decided on its report.
    #[error(
        "the scan did not finish within {waited_secs} s (max_scan_seconds is {limit_secs} s); it goes on, and a \
         request after it ends gets its verdict"
    )]
    Overdue { waited_secs: u64, limit_secs: u64 },
}

impl ScanFailed {
    /// The fail-closed code the verdict names (`fail-closed:<code>`).
    pub(crate) fn code(&self) -> &'static str {
        match self {
            ScanFailed::Crashed(_) => "scan-crash",
            ScanFailed::Overdue { .. } => "scan-overdue",
        }
    }
}

/// What a scan ends with.
pub(crate) type Outcome = Result<Arc<ScanReport>, ScanFailed>;

type Published = watch::Receiver<Option<Outcome>>;

/// The longest a request waits for a scan: `max_scan_seconds` (where the walk stops itself
/// between members) plus a grace for the member in progress, a tenth of the limit and at
/// least two seconds.
pub(crate) fn wait_bound(limits: &Limits) -> Duration {
    let limit = Duration::from_secs(limits.max_scan_seconds);
    limit + (limit / 10).max(Duration::from_secs(2))
}

/// The scans in progress and the bound on waiting for one.
pub(crate) struct Running {
    scans: Arc<Mutex<HashMap<String, Published>>>,
    wait: Duration,
    limit_secs: u64,
}

impl Running {
    pub(crate) fn new(limits: &Limits) -> Self {
        Running { scans: Arc::default(), wait: wait_bound(limits), limit_secs: limits.max_scan_seconds }
    }

    /// The outcome of the scan of `sha256`: the one running joined, or `start()` run as a new
    /// task (its future does the scan and keeps the report; it runs to its end whether or not
    /// anyone still waits). Waits at most the bound. `started` says whether this call started it.
    pub(crate) async fn outcome<F, Fut>(&self, sha256: &str, start: F) -> (Outcome, bool)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        let (mut rx, started) = self.join_or_start(sha256, start);
        let out = match tokio::time::timeout(self.wait, rx.wait_for(Option::is_some)).await {
            Ok(Ok(done)) => done.clone().unwrap_or_else(|| Err(ScanFailed::Crashed("no outcome published".into()))),
            Ok(Err(_)) => Err(ScanFailed::Crashed("the scan's task ended without an outcome".into())),
            Err(_) => {
                crate::metrics::scan_overdue();
                Err(ScanFailed::Overdue { waited_secs: self.wait.as_secs(), limit_secs: self.limit_secs })
            }
        };
        (out, started)
    }

    fn join_or_start<F, Fut>(&self, sha256: &str, start: F) -> (Published, bool)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        let mut scans = self.scans.lock().unwrap_or_else(PoisonError::into_inner);
        // A published channel whose sender is gone belongs to a task that ended: start anew.
        if let Some(rx) = scans.get(sha256).filter(|rx| rx.has_changed().is_ok()) {
            return (rx.clone(), false);
        }
        let (tx, rx) = watch::channel(None);
        scans.insert(sha256.to_string(), rx.clone());
        let entry = Entry { scans: self.scans.clone(), key: sha256.to_string(), rx: rx.clone() };
        let scan = start();
        tokio::spawn(async move {
            let out = scan.await;
            // Leave the table before publishing: whoever comes next finds the kept report
            // (or, after a failure, starts again) rather than a finished channel.
            drop(entry);
            tx.send_replace(Some(out));
        });
        (rx, true)
    }

    /// Scans running now (tests).
    #[cfg(test)]
    pub(crate) fn in_progress(&self) -> usize {
        self.scans.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

/// A scan's row in the table, removed when its task ends however it ends (a panic or the
/// runtime shutting down included), and only if the row is still its own.
struct Entry {
    scans: Arc<Mutex<HashMap<String, Published>>>,
    key: String,
    rx: Published,
}

impl Drop for Entry {
    fn drop(&mut self) {
        let mut scans = self.scans.lock().unwrap_or_else(PoisonError::into_inner);
        if scans.get(&self.key).is_some_and(|rx| rx.same_channel(&self.rx)) {
            scans.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_is_the_limit_plus_a_grace() {
        let cases = [("default 300 s", 300, 330), ("one second", 1, 3), ("no time", 0, 2), ("an hour", 3600, 3960)];
        for (case, secs, want) in cases {
            let limits = Limits { max_scan_seconds: secs, ..Limits::default() };
            assert_eq!(wait_bound(&limits), Duration::from_secs(want), "{case}");
        }
    }
}
