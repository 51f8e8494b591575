//! Owns the audit writer: one thread that commits queued events to the store in batches (group
//! commit: one transaction, one sync, for everything queued since the last one), so a flood of
//! calls costs one fsync per batch instead of one per event.
//!
//! Two bounded queues feed it. Durable events (write intents, the outcomes of calls that change
//! Metabase) are always taken first and their submitters learn whether the commit succeeded, so
//! a change is never sent to Metabase unless its intent is on disk. Best-effort events (reads,
//! denials) never block a caller: when their queue is full the newest is dropped and counted,
//! and the next batch records one summary event that says how many were dropped and when. When
//! the store fails, durable submitters are told at once and best-effort events wait, within the
//! same bound, for the store to come back.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, oneshot};

use super::{AuditError, AuditEvent, Decision};
use crate::telemetry::metrics::metrics;

/// Where the writer commits batches: the audit store, or a test double.
pub(crate) trait BatchSink: Send + Sync + 'static {
    /// Writes every event in one transaction; an event whose id exists replaces the stored one.
    fn write_batch(&self, events: &[AuditEvent]) -> Result<(), AuditError>;
}

/// The writer's bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WriterConfig {
    /// Durable events waiting at most; a durable submitter waits for room beyond it.
    pub durable_capacity: usize,
    /// Best-effort events waiting at most; beyond it they are dropped and counted.
    pub best_effort_capacity: usize,
    /// Events in one transaction at most.
    pub max_batch: usize,
    /// The longest pause between retries while the store fails.
    pub max_backoff: Duration,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            durable_capacity: 10_000,
            best_effort_capacity: 50_000,
            max_batch: 2_048,
            max_backoff: Duration::from_secs(2),
        }
    }
}

/// What the writer has done, for `/metabase` metrics and tests.
#[derive(Debug, Default)]
pub(crate) struct WriterStats {
    /// Events committed.
    pub written: AtomicU64,
    /// Transactions committed.
    pub batches: AtomicU64,
    /// Best-effort events dropped because their queue was full.
    pub dropped: AtomicU64,
    /// Durable events whose commit failed (their callers were told).
    pub durable_failed: AtomicU64,
    /// Batches the store refused.
    pub failed_batches: AtomicU64,
}

/// The outcome a durable submitter waits for.
pub(crate) type Committed = oneshot::Receiver<Result<(), String>>;

struct Durable {
    event: AuditEvent,
    done: Option<oneshot::Sender<Result<(), String>>>,
}

#[derive(Default)]
struct Queues {
    durable: VecDeque<Durable>,
    best_effort: VecDeque<AuditEvent>,
    /// Best-effort events dropped since the last summary, and when the first was dropped.
    dropped: u64,
    dropped_since: Option<DateTime<Utc>>,
    closing: bool,
    /// Whether the writer is between taking a batch and finishing it.
    busy: bool,
}

struct Shared {
    queues: Mutex<Queues>,
    work: Condvar,
    idle: Condvar,
    room: Notify,
    stats: WriterStats,
    config: WriterConfig,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queues> {
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The audit writer: cheap to share, one thread behind it.
pub(crate) struct AuditWriter {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for AuditWriter {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("AuditWriter").field("config", &self.shared.config).finish_non_exhaustive()
    }
}

impl AuditWriter {
    /// Starts the writer thread over a sink.
    pub(crate) fn start(sink: Arc<dyn BatchSink>, config: WriterConfig) -> AuditWriter {
        let shared = Arc::new(Shared {
            queues: Mutex::new(Queues::default()),
            work: Condvar::new(),
            idle: Condvar::new(),
            room: Notify::new(),
            stats: WriterStats::default(),
            config,
        });
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || run(&thread_shared, sink.as_ref()))
            .ok();
        AuditWriter { shared, thread: Mutex::new(thread) }
    }

    /// Returns what the writer has done so far (its tests read the counts).
    #[cfg(test)]
    pub(crate) fn stats(&self) -> &WriterStats {
        &self.shared.stats
    }

    /// Queues an event whose loss the trail can bear (a read, a denial). It never waits: when
    /// the queue is full the event is dropped, counted, and summarised in the trail.
    pub(crate) fn record(&self, event: AuditEvent) {
        let mut queues = self.shared.lock();
        if queues.best_effort.len() >= self.shared.config.best_effort_capacity {
            queues.dropped += 1;
            queues.dropped_since.get_or_insert(event.time);
            self.shared.stats.dropped.fetch_add(1, Ordering::Relaxed);
            metrics().audit_events("dropped", 1);
            return;
        }
        queues.best_effort.push_back(event);
        drop(queues);
        self.shared.work.notify_one();
    }

    /// Queues an event that must be durable, ahead of every best-effort one, and returns the
    /// receiver of its commit. It does not wait for room: guards that complete an event on drop
    /// use it, and there are never more of those than calls in flight.
    pub(crate) fn record_durably_now(&self, event: AuditEvent) -> Committed {
        let (done, committed) = oneshot::channel();
        self.shared.lock().durable.push_back(Durable { event, done: Some(done) });
        self.shared.work.notify_one();
        committed
    }

    /// Queues a durable event, waiting for room in the queue first, and waits for its commit.
    pub(crate) async fn record_durably(&self, event: AuditEvent) -> Result<(), String> {
        loop {
            let room = self.shared.room.notified();
            if self.shared.lock().durable.len() < self.shared.config.durable_capacity {
                break;
            }
            room.await;
        }
        self.record_durably_now(event).await.unwrap_or_else(|_| Err("the audit writer stopped".into()))
    }

    /// Waits until every queued event is committed (or given up), at most `timeout`; returns
    /// how many were still queued when it returned.
    pub(crate) fn flush(&self, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        let mut queues = self.shared.lock();
        loop {
            let queued = queues.durable.len() + queues.best_effort.len();
            if queued == 0 && !queues.busy {
                return 0;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return queued;
            }
            queues = self.shared.idle.wait_timeout(queues, left).unwrap_or_else(PoisonError::into_inner).0;
        }
    }

    /// Flushes what is queued (at most `timeout`), then stops the thread; returns how many events
    /// were left unwritten.
    pub(crate) fn close(&self, timeout: Duration) -> usize {
        let left = self.flush(timeout);
        self.shared.lock().closing = true;
        self.shared.work.notify_all();
        if left == 0
            && let Some(thread) = self.thread.lock().unwrap_or_else(PoisonError::into_inner).take()
        {
            let _ = thread.join();
        }
        left
    }
}

impl Drop for AuditWriter {
    fn drop(&mut self) {
        self.shared.lock().closing = true;
        self.shared.work.notify_all();
    }
}

/// Returns the summary event of dropped best-effort events.
fn overflow_event(dropped: u64, since: DateTime<Utc>) -> AuditEvent {
    let now = Utc::now();
    let mut event = AuditEvent::new("the gateway", "none", "audit-overflow", Decision::Allowed, "audit queue full");
    event.time = since;
    event.grpc_code = "RESOURCE_EXHAUSTED".into();
    event.duration_ms = (now - since).num_milliseconds().max(0);
    event.sentence = format!(
        "the gateway dropped {} best-effort audit events between {} and {}: its queue was full",
        super::thousands(i64::try_from(dropped).unwrap_or(i64::MAX)),
        since.format("%H:%M:%S%.3f"),
        now.format("%H:%M:%S%.3f"),
    );
    event
}

/// Takes the next batch: every durable event first (up to the batch size), then best-effort
/// ones, then a summary of what was dropped.
fn take_batch(queues: &mut Queues, max_batch: usize) -> (Vec<Durable>, Vec<AuditEvent>) {
    let durable_count = queues.durable.len().min(max_batch);
    let durable: Vec<Durable> = queues.durable.drain(..durable_count).collect();
    let room = max_batch - durable_count;
    let mut best_effort: Vec<AuditEvent> = queues.best_effort.drain(..queues.best_effort.len().min(room)).collect();
    if queues.dropped > 0
        && let Some(since) = queues.dropped_since.take()
    {
        best_effort.push(overflow_event(queues.dropped, since));
        queues.dropped = 0;
    }
    (durable, best_effort)
}

fn run(shared: &Shared, sink: &dyn BatchSink) {
    let mut backoff = Duration::from_millis(50);
    loop {
        let (durable, best_effort) = {
            let mut queues = shared.lock();
            while queues.durable.is_empty() && queues.best_effort.is_empty() && queues.dropped == 0 {
                if queues.closing {
                    return;
                }
                shared.idle.notify_all();
                queues = shared.work.wait(queues).unwrap_or_else(PoisonError::into_inner);
            }
            queues.busy = true;
            take_batch(&mut queues, shared.config.max_batch)
        };
        shared.room.notify_waiters();
        let mut events: Vec<AuditEvent> = durable.iter().map(|durable| durable.event.clone()).collect();
        events.extend(best_effort.iter().cloned());
        match sink.write_batch(&events) {
            Ok(()) => {
                backoff = Duration::from_millis(50);
                shared.stats.written.fetch_add(events.len() as u64, Ordering::Relaxed);
                metrics().audit_events("written", events.len() as u64);
                shared.stats.batches.fetch_add(1, Ordering::Relaxed);
                for mut durable in durable {
                    if let Some(done) = durable.done.take() {
                        let _ = done.send(Ok(()));
                    }
                }
                shared.lock().busy = false;
            }
            Err(error) => {
                let message = error.to_string();
                tracing::error!(error = %message, events = events.len(), "audit events could not be stored");
                shared.stats.failed_batches.fetch_add(1, Ordering::Relaxed);
                shared.stats.durable_failed.fetch_add(durable.len() as u64, Ordering::Relaxed);
                metrics().audit_events("failed", durable.len() as u64);
                for mut durable in durable {
                    if let Some(done) = durable.done.take() {
                        let _ = done.send(Err(message.clone()));
                    }
                }
                requeue(shared, best_effort);
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(shared.config.max_backoff);
            }
        }
    }
}

/// Puts best-effort events back at the front of their queue after a failed batch, dropping (and
/// counting) what no longer fits.
fn requeue(shared: &Shared, events: Vec<AuditEvent>) {
    let mut queues = shared.lock();
    queues.busy = false;
    for event in events.into_iter().rev() {
        if queues.best_effort.len() >= shared.config.best_effort_capacity {
            queues.dropped += 1;
            queues.dropped_since.get_or_insert(event.time);
            shared.stats.dropped.fetch_add(1, Ordering::Relaxed);
            metrics().audit_events("dropped", 1);
            continue;
        }
        queues.best_effort.push_front(event);
    }
}

impl BatchSink for super::AuditStore {
    fn write_batch(&self, events: &[AuditEvent]) -> Result<(), AuditError> {
        // The store's own batch write: one transaction, whichever backend is behind it.
        super::AuditStore::write_batch(self, events)
    }
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
