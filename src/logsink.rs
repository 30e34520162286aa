//! The log sink of `serve`: formatted log lines appended to one buffer and written to stderr
//! by one thread, a batch per `write`.
//!
//! Owns: the buffer, the writer thread, and writing what is queued when the [`LogGuard`]
//! drops. A request thread only copies its line into the buffer (no allocation per line, no
//! wake-up of the writer while it is awake); when lines arrive faster than one per
//! [`BATCH_WINDOW`] for [`BUSY_STREAK`] batches in a row, the writer waits a window between
//! batches, so a busy server makes a few hundred `write`s a second instead of one per line
//! (`bench/load.sh`: the access log's writer was ~12% of pipgate's CPU on cached artifacts),
//! while a quiet one writes each line at once. No line is dropped: when stderr stalls and
//! [`MAX_PENDING`] bytes are queued, request threads wait for room.
//! Must not: format, filter or drop lines (tracing-subscriber formats and filters), or hold
//! the lock while writing.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Under load, how long the writer waits between batches.
pub(crate) const BATCH_WINDOW: Duration = Duration::from_millis(1);
/// Batches taken less than [`BATCH_WINDOW`] apart, in a row, before the writer starts waiting.
pub(crate) const BUSY_STREAK: u32 = 16;
/// Bytes queued before request threads wait for the writer (a stalled stderr).
pub(crate) const MAX_PENDING: usize = 4 << 20;

struct State {
    buf: Vec<u8>,
    /// The writer waits on `wake` for a line.
    idle: bool,
    /// Request threads waiting on `room`.
    full_waiters: usize,
}

struct Shared {
    state: Mutex<State>,
    /// The guard dropped: write what is queued and stop (read without the lock).
    closed: AtomicBool,
    wake: Condvar,
    room: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The sink: a `MakeWriter` for tracing-subscriber (cheap to clone).
#[derive(Clone)]
pub struct LogSink {
    shared: Arc<Shared>,
}

/// Writes what is queued and stops the writer thread when dropped: hold it until the
/// process is about to end.
pub struct LogGuard {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A sink writing to stderr.
pub fn stderr_sink() -> (LogSink, LogGuard) {
    sink(std::io::stderr())
}

/// A sink writing to `out` (stderr in `serve`; a buffer in tests).
pub(crate) fn sink<W: Write + Send + 'static>(out: W) -> (LogSink, LogGuard) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State { buf: Vec::with_capacity(64 << 10), idle: false, full_waiters: 0 }),
        closed: AtomicBool::new(false),
        wake: Condvar::new(),
        room: Condvar::new(),
    });
    let s = shared.clone();
    let thread = std::thread::Builder::new()
        .name("pipgate-log".into())
        .spawn(move || writer(&s, out))
        .expect("spawn the log writer thread");
    (LogSink { shared: shared.clone() }, LogGuard { shared, thread: Some(thread) })
}

fn writer<W: Write>(shared: &Shared, mut out: W) {
    let mut batch: Vec<u8> = Vec::with_capacity(64 << 10);
    let (mut last_take, mut streak, mut busy) = (Instant::now(), 0u32, false);
    loop {
        {
            let mut st = shared.lock();
            while st.buf.is_empty() && !shared.closed.load(Ordering::Acquire) {
                (busy, streak) = (false, 0);
                st.idle = true;
                st = shared.wake.wait(st).unwrap_or_else(PoisonError::into_inner);
            }
            if st.buf.is_empty() {
                return; // closed, everything written
            }
            std::mem::swap(&mut st.buf, &mut batch);
            if st.full_waiters > 0 {
                shared.room.notify_all();
            }
        }
        let now = Instant::now();
        streak = if now.duration_since(last_take) < BATCH_WINDOW { streak + 1 } else { 0 };
        last_take = now;
        busy |= streak >= BUSY_STREAK;
        // A failed write (stderr closed) loses these lines, as any logger would; the next
        // batch tries again.
        let _ = out.write_all(&batch).and_then(|()| out.flush());
        batch.clear();
        if batch.capacity() > MAX_PENDING {
            batch = Vec::with_capacity(64 << 10);
        }
        if busy && !shared.closed.load(Ordering::Acquire) {
            std::thread::sleep(BATCH_WINDOW);
            // The sleep is not a gap between lines: measure the next one from here.
            last_take = Instant::now();
        }
    }
}

/// One event's writer: appends the formatted line to the shared buffer.
pub struct SinkWriter<'a> {
    shared: &'a Shared,
}

impl Write for SinkWriter<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let mut st = self.shared.lock();
        while st.buf.len() >= MAX_PENDING && !self.shared.closed.load(Ordering::Acquire) {
            st.full_waiters += 1;
            st = self.shared.room.wait(st).unwrap_or_else(PoisonError::into_inner);
            st.full_waiters -= 1;
        }
        st.buf.extend_from_slice(data);
        if st.idle {
            st.idle = false;
            self.shared.wake.notify_one();
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogSink {
    type Writer = SinkWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        SinkWriter { shared: &self.shared }
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        {
            // Under the lock: the writer cannot miss it between its check and its wait.
            let _st = self.shared.lock();
            self.shared.closed.store(true, Ordering::Release);
            self.shared.wake.notify_one();
            self.shared.room.notify_all();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::fmt::MakeWriter;

    /// A `Write` that keeps what it got, and how many `write_all` batches.
    #[derive(Clone, Default)]
    struct Kept {
        bytes: Arc<Mutex<Vec<u8>>>,
        writes: Arc<Mutex<usize>>,
        /// Each write takes this long (a slow or stalled reader of stderr).
        delay: Duration,
    }

    impl Write for Kept {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            std::thread::sleep(self.delay);
            self.bytes.lock().unwrap().extend_from_slice(data);
            *self.writes.lock().unwrap() += 1;
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn line(t: usize, i: usize) -> String {
        format!("thread {t} line {i}\n")
    }

    #[test]
    fn every_line_arrives_whole_and_in_each_threads_order() {
        // (case, threads, lines per thread, writer delay)
        let cases = [
            ("one quiet thread", 1, 50, Duration::ZERO),
            ("four busy threads", 4, 20_000, Duration::ZERO),
            ("a slow stderr", 2, 2_000, Duration::from_millis(2)),
        ];
        for (case, threads, lines, delay) in cases {
            let kept = Kept { delay, ..Kept::default() };
            let (sink, guard) = sink(kept.clone());
            std::thread::scope(|s| {
                for t in 0..threads {
                    let sink = sink.clone();
                    s.spawn(move || {
                        for i in 0..lines {
                            sink.make_writer().write_all(line(t, i).as_bytes()).unwrap();
                        }
                    });
                }
            });
            drop(guard);
            let text = String::from_utf8(kept.bytes.lock().unwrap().clone()).unwrap();
            assert_eq!(text.lines().count(), threads * lines, "{case}: no line lost or torn");
            for t in 0..threads {
                let mine: Vec<&str> = text.lines().filter(|l| l.starts_with(&format!("thread {t} "))).collect();
                let want: Vec<String> = (0..lines).map(|i| line(t, i).trim_end().to_string()).collect();
                assert_eq!(mine, want, "{case}: thread {t}'s lines in order");
            }
        }
    }

    #[test]
    fn a_busy_stream_is_written_in_batches_and_a_quiet_line_at_once() {
        let kept = Kept::default();
        let (sink, guard) = sink(kept.clone());
        let lines = 100_000;
        for i in 0..lines {
            sink.make_writer().write_all(line(0, i).as_bytes()).unwrap();
        }
        // Quiet again: a lone line is written without waiting for more.
        std::thread::sleep(Duration::from_millis(50));
        let before = kept.bytes.lock().unwrap().len();
        sink.make_writer().write_all(b"lone line\n").unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while kept.bytes.lock().unwrap().len() == before {
            assert!(Instant::now() < deadline, "a quiet line was not written");
            std::thread::sleep(Duration::from_micros(100));
        }
        drop(guard);
        let writes = *kept.writes.lock().unwrap();
        assert!(writes < lines / 10, "{writes} writes for {lines} lines: not batched");
    }
}
