//! Owns the aggregation of refusal floods: thousands of unauthenticated or denied calls a second
//! from one peer or principal become one event for the first refusal and one summary event per
//! window ("an unidentified caller from 10.0.0.7 was refused 4,999 more times between ..."),
//! instead of one row each. Every refusal is still counted and logged; only the rows are folded.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::{AuditEvent, AuditWriter, thousands};

/// Who a flood comes from: a principal, or for unidentified callers their peer address.
type FloodKey = String;

/// The key that callers share once the map is full, so the map stays bounded.
const OTHERS: &str = "other callers";

struct Window {
    opened: Instant,
    since: DateTime<Utc>,
    folded: u64,
    last: AuditEvent,
}

/// Folds repeated refusals of one caller within a window into a summary event.
pub(crate) struct Floods {
    windows: Mutex<HashMap<FloodKey, Window>>,
    period: Duration,
    max_callers: usize,
}

impl std::fmt::Debug for Floods {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Floods").field("period", &self.period).finish_non_exhaustive()
    }
}

impl Floods {
    /// Returns an aggregator with windows of `period`, tracking at most `max_callers` callers.
    pub(crate) fn new(period: Duration, max_callers: usize) -> Floods {
        Floods { windows: Mutex::new(HashMap::new()), period, max_callers }
    }

    /// Records a refusal: the first of a caller's window is written as it is, later ones in the
    /// window are folded into the window's summary.
    pub(crate) fn record(&self, writer: &AuditWriter, event: AuditEvent, peer: Option<IpAddr>) {
        let mut key = if event.identity_source == "none" {
            format!(
                "{} from {}",
                event.principal,
                peer.map_or_else(|| "an unknown address".to_owned(), |ip| ip.to_string())
            )
        } else {
            event.principal.clone()
        };
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if !windows.contains_key(&key) && windows.len() >= self.max_callers {
            key = OTHERS.to_owned();
        }
        match windows.get_mut(&key) {
            Some(window) if window.opened.elapsed() < self.period => {
                window.folded += 1;
                window.last = event;
            }
            Some(window) => {
                if let Some(summary) = summary(&key, window) {
                    writer.record(summary);
                }
                *window = Window { opened: Instant::now(), since: event.time, folded: 0, last: event.clone() };
                writer.record(event);
            }
            None => {
                windows
                    .insert(key, Window { opened: Instant::now(), since: event.time, folded: 0, last: event.clone() });
                writer.record(event);
            }
        }
    }

    /// Writes the summaries of windows older than the period and forgets them; the gateway calls
    /// it on a timer and at shutdown (`everything` then closes every window).
    pub(crate) fn flush(&self, writer: &AuditWriter, everything: bool) {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        windows.retain(|key, window| {
            if !everything && window.opened.elapsed() < self.period {
                return true;
            }
            if let Some(summary) = summary(key, window) {
                writer.record(summary);
            }
            false
        });
    }
}

/// Returns the summary event of a window, if it folded any refusal.
fn summary(key: &str, window: &Window) -> Option<AuditEvent> {
    if window.folded == 0 {
        return None;
    }
    let now = Utc::now();
    let mut event = window.last.clone();
    event.id = super::event::event_id();
    event.time = window.since;
    event.rows = None;
    event.parameters = None;
    event.resources.clear();
    event.duration_ms = (now - window.since).num_milliseconds().max(0);
    let count = thousands(i64::try_from(window.folded).unwrap_or(i64::MAX));
    let times = if window.folded == 1 { "time" } else { "times" };
    event.sentence = format!(
        "{key} was refused {count} more {times} between {} and {}, last calling {} ({}): {}",
        window.since.format("%H:%M:%S%.3f"),
        now.format("%H:%M:%S%.3f"),
        crate::rpcs::short_name(&event.rpc),
        event.grpc_code,
        event.reason,
    );
    Some(event)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::audit::writer::BatchSink;
    use crate::audit::{AuditError, Decision, WriterConfig};

    #[derive(Default)]
    struct Recorder(Mutex<Vec<AuditEvent>>);

    impl BatchSink for Recorder {
        fn write_batch(&self, events: &[AuditEvent]) -> Result<(), AuditError> {
            self.0.lock().unwrap().extend_from_slice(events);
            Ok(())
        }
    }

    fn refusal(principal: &str, source: &str) -> AuditEvent {
        let mut event = AuditEvent::new(
            principal,
            source,
            "/metabase.gateway.v1.CardService/GetCard",
            Decision::Denied,
            "no identity",
        );
        event.grpc_code = "UNAUTHENTICATED".into();
        event
    }

    #[test]
    fn a_flood_from_one_peer_is_one_event_and_one_summary_per_window() {
        let sink = Arc::new(Recorder::default());
        let writer = AuditWriter::start(sink.clone(), WriterConfig::default());
        let floods = Floods::new(Duration::from_secs(60), 100);
        let peer: IpAddr = "127.0.0.9".parse().unwrap();

        for _ in 0..5_000 {
            floods.record(&writer, refusal("an unidentified caller", "none"), Some(peer));
        }
        floods.record(&writer, refusal("agent-7", "header:x-caller"), None);
        floods.flush(&writer, true);
        writer.flush(Duration::from_secs(5));

        let written = sink.0.lock().unwrap();
        assert_eq!(written.len(), 3, "{written:#?}");
        let summary = &written[2];
        assert!(
            summary.sentence.starts_with("an unidentified caller from 127.0.0.9 was refused 4,999 more times between"),
            "{}",
            summary.sentence
        );
        assert!(summary.sentence.ends_with("last calling CardService/GetCard (UNAUTHENTICATED): no identity"));
    }

    #[test]
    fn the_map_of_callers_stays_bounded() {
        let sink = Arc::new(Recorder::default());
        let writer = AuditWriter::start(sink.clone(), WriterConfig::default());
        let floods = Floods::new(Duration::from_secs(60), 10);

        for index in 0..1_000 {
            floods.record(&writer, refusal(&format!("caller-{index}"), "header:x-caller"), None);
        }
        floods.flush(&writer, true);
        writer.flush(Duration::from_secs(5));

        assert_eq!(floods.windows.lock().unwrap().len(), 0);
        let written = sink.0.lock().unwrap();
        assert_eq!(written.len(), 10 + 1 + 1, "ten callers, the first of the rest, and one summary");
        assert!(written.last().unwrap().sentence.starts_with("other callers was refused 989 more times"));
    }
}
