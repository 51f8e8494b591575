//! Tests of the audit writer over a sink that records batches and can be made to fail or stall.

use std::sync::atomic::AtomicBool;

use super::*;

#[derive(Default)]
struct Recorder {
    batches: Mutex<Vec<Vec<AuditEvent>>>,
    failing: AtomicBool,
    /// Holds every write until released, so a test can fill the queues behind a busy writer.
    gate: Mutex<()>,
}

impl BatchSink for Recorder {
    fn write_batch(&self, events: &[AuditEvent]) -> Result<(), AuditError> {
        let _held = self.gate.lock().unwrap();
        if self.failing.load(Ordering::SeqCst) {
            return Err(AuditError::Unavailable { message: "the store is down".into() });
        }
        self.batches.lock().unwrap().push(events.to_vec());
        Ok(())
    }
}

impl Recorder {
    fn written(&self) -> Vec<AuditEvent> {
        self.batches.lock().unwrap().iter().flatten().cloned().collect()
    }
}

fn event(principal: &str) -> AuditEvent {
    AuditEvent::new(principal, "header:x-caller", "/metabase.gateway.v1.CardService/GetCard", Decision::Allowed, "")
}

/// Waits until the writer has taken a batch (and is held at the sink's gate).
fn wait_until_busy(writer: &AuditWriter) {
    for _ in 0..5_000 {
        if writer.shared.lock().busy {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("the writer never took a batch");
}

fn small() -> WriterConfig {
    WriterConfig { durable_capacity: 4, best_effort_capacity: 8, max_batch: 64, max_backoff: Duration::from_millis(20) }
}

#[tokio::test]
async fn events_queued_while_the_writer_is_busy_commit_together_in_one_batch() {
    let sink = Arc::new(Recorder::default());
    let writer = AuditWriter::start(sink.clone(), WriterConfig::default());
    let gate = sink.gate.lock().unwrap();
    writer.record(event("first"));
    wait_until_busy(&writer);
    for index in 0..500 {
        writer.record(event(&format!("caller-{index}")));
    }
    drop(gate);

    assert_eq!(writer.flush(Duration::from_secs(5)), 0);
    let batches = sink.batches.lock().unwrap();
    assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), 501);
    assert!(batches.len() <= 3, "500 queued events took {} transactions", batches.len());
    assert_eq!(writer.stats().written.load(Ordering::SeqCst), 501);
}

#[tokio::test]
async fn durable_events_jump_the_best_effort_queue_and_their_submitters_learn_the_commit() {
    let sink = Arc::new(Recorder::default());
    let writer = AuditWriter::start(sink.clone(), WriterConfig { max_batch: 2, ..small() });
    let gate = sink.gate.lock().unwrap();
    writer.record(event("blocker"));
    wait_until_busy(&writer);
    for index in 0..6 {
        writer.record(event(&format!("read-{index}")));
    }
    let committed = writer.record_durably_now(event("write"));
    drop(gate);

    assert_eq!(committed.await.unwrap(), Ok(()));
    let batches = sink.batches.lock().unwrap();
    assert_eq!(batches[1][0].principal, "write", "the write went into the first batch after the blocker");
}

#[tokio::test]
async fn a_full_best_effort_queue_drops_and_counts_and_the_trail_says_how_many() {
    let sink = Arc::new(Recorder::default());
    let writer = AuditWriter::start(sink.clone(), small());
    let gate = sink.gate.lock().unwrap();
    writer.record(event("blocker"));
    wait_until_busy(&writer);
    for index in 0..20 {
        writer.record(event(&format!("flood-{index}")));
    }
    drop(gate);

    assert_eq!(writer.flush(Duration::from_secs(5)), 0);
    assert_eq!(writer.stats().dropped.load(Ordering::SeqCst), 12);
    let written = sink.written();
    let summary = written.iter().find(|event| event.rpc == "audit-overflow").expect("a summary event");
    assert!(
        summary.sentence.starts_with("the gateway dropped 12 best-effort audit events between"),
        "{}",
        summary.sentence
    );
    assert_eq!(written.len(), 1 + 8 + 1);
}

#[tokio::test]
async fn while_the_store_fails_durable_submitters_are_told_and_best_effort_events_wait_for_it() {
    let sink = Arc::new(Recorder::default());
    let writer = AuditWriter::start(sink.clone(), small());
    sink.failing.store(true, Ordering::SeqCst);

    let refused = writer.record_durably(event("write")).await;
    writer.record(event("read"));
    std::thread::sleep(Duration::from_millis(100));
    sink.failing.store(false, Ordering::SeqCst);

    assert_eq!(refused, Err("the audit store is unavailable: the store is down".into()));
    assert_eq!(writer.flush(Duration::from_secs(5)), 0);
    assert_eq!(sink.written().iter().map(|event| event.principal.as_str()).collect::<Vec<_>>(), vec!["read"]);
    assert_eq!(writer.stats().durable_failed.load(Ordering::SeqCst), 1);
    assert!(writer.stats().failed_batches.load(Ordering::SeqCst) >= 1);
}

// The gate holds the writer thread, not an async task, so holding it across the await is the point.
#[allow(clippy::await_holding_lock)]
#[tokio::test]
async fn a_durable_submitter_waits_for_room_instead_of_growing_the_queue() {
    let sink = Arc::new(Recorder::default());
    let writer = Arc::new(AuditWriter::start(sink.clone(), small()));
    let gate = sink.gate.lock().unwrap();
    writer.record(event("blocker"));
    wait_until_busy(&writer);
    let mut pending = Vec::new();
    for index in 0..4 {
        pending.push(writer.record_durably_now(event(&format!("queued-{index}"))));
    }
    let waiting_writer = writer.clone();
    let waiter = tokio::spawn(async move { waiting_writer.record_durably(event("late")).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!waiter.is_finished(), "the queue is full, so the fifth durable event waits");
    drop(gate);

    assert_eq!(waiter.await.unwrap(), Ok(()));
    for committed in pending {
        assert_eq!(committed.await.unwrap(), Ok(()));
    }
}

#[test]
fn close_writes_everything_queued_before_it_returns() {
    let sink = Arc::new(Recorder::default());
    let writer = AuditWriter::start(sink.clone(), WriterConfig::default());
    for index in 0..100 {
        writer.record(event(&format!("caller-{index}")));
    }

    assert_eq!(writer.close(Duration::from_secs(5)), 0);
    assert_eq!(sink.written().len(), 100);
}
