//! Scanning the text members of one large artifact on several threads.
//!
//! Owns: the worker pool (scoped threads), the bounded job queue and buffer pool,
//! and carrying detector panics back to the calling thread. The walk itself stays
//! on the calling thread (inflating is sequential); only decoding, the prefilter
//! and `scan_text` move to workers, through the engine's [`Offload`] hook.
//! Must not: change what is found or its order — hits carry their member index
//! and are merged back into walk order — or be imported by `engine` (one-way
//! dependency: this module drives the engine's [`TextScan`]).

use super::detector::{Detector, Hits};
use super::engine::{tag, Counts, Deadline, Offload, Prefilter, Tagged, TextScan};
use crate::model::FileRole;
use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Mutex;

/// Members larger than this are scanned on the walking thread, which bounds the
/// memory in flight to about `(3 × workers + 1) × MAX_OFFLOADED_MEMBER`.
pub(crate) const MAX_OFFLOADED_MEMBER: usize = 8 << 20;

struct Job {
    seq: u64,
    path: String,
    role: FileRole,
    truncated: bool,
    data: Vec<u8>,
}

/// Runs `walk` on this thread with `workers` threads scanning the members it offloads;
/// returns its result plus the workers' tagged hits and counts.
pub(crate) fn with_workers<T>(
    detectors: &[Box<dyn Detector>],
    prefilter: &Prefilter,
    deadline: &Deadline,
    workers: usize,
    walk: impl FnOnce(&Offload<'_>) -> T,
) -> (T, Vec<Tagged>, Counts) {
    let (tx, rx) = mpsc::sync_channel::<Job>(workers * 2);
    let (pool_tx, pool_rx) = mpsc::channel::<Vec<u8>>();
    let rx = Mutex::new(rx);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let (rx, pool_tx) = (&rx, pool_tx.clone());
                s.spawn(move || work(detectors, prefilter, deadline, rx, pool_tx))
            })
            .collect();
        let offload = move |seq: u64, path: &str, role: FileRole, data: &[u8], truncated: bool| {
            if data.len() > MAX_OFFLOADED_MEMBER {
                return false;
            }
            let mut buf = pool_rx.try_recv().unwrap_or_default();
            buf.clear();
            buf.extend_from_slice(data);
            tx.send(Job { seq, path: path.to_string(), role, truncated, data: buf }).is_ok()
        };
        let out = walk(&offload);
        drop(offload); // closes the queue: workers finish what is queued and return
        let (mut tagged, mut counts, mut panic) = (Vec::new(), Counts::default(), None);
        for h in handles {
            match h.join() {
                Ok((t, c, p)) => {
                    tagged.extend(t);
                    counts.add(c);
                    panic = panic.or(p);
                }
                Err(p) => panic = panic.or(Some(p)),
            }
        }
        if let Some(p) = panic {
            resume_unwind(p); // as the single-threaded scan would have panicked
        }
        (out, tagged, counts)
    })
}

type WorkerResult = (Vec<Tagged>, Counts, Option<Box<dyn Any + Send>>);

/// One worker: scans jobs until the queue closes. After a detector panics it keeps
/// draining (so the walker never blocks on a full queue) and reports the panic at the end.
fn work(
    detectors: &[Box<dyn Detector>],
    prefilter: &Prefilter,
    deadline: &Deadline,
    rx: &Mutex<Receiver<Job>>,
    pool: Sender<Vec<u8>>,
) -> WorkerResult {
    let mut scan = TextScan::new(detectors, prefilter, deadline);
    let (mut hits, mut tagged, mut counts, mut panic) = (Hits::default(), Vec::new(), Counts::default(), None);
    loop {
        let job = match rx.lock() {
            Ok(r) => r.recv(),
            Err(_) => break,
        };
        let Ok(job) = job else { break };
        if panic.is_none() {
            let run = catch_unwind(AssertUnwindSafe(|| {
                scan.member(&job.path, job.role, &job.data, job.truncated, &mut hits, &mut counts);
            }));
            if let Err(p) = run {
                panic = Some(p);
            }
            tag(&mut hits, job.seq, &mut tagged);
        }
        let _ = pool.send(job.data);
    }
    (tagged, counts, panic)
}
