//! Faults a test injects into a running emulator: latency, a forced status (with `Retry-After`),
//! a connection reset or a stall after some bytes (per route), and a query failure after some
//! rows (for every query).

use std::sync::Mutex;
use std::time::Duration;

/// One injected fault, matched by method and axum route template (such as `/api/card/{id}`).
#[derive(Debug, Clone)]
pub struct Fault {
    /// The HTTP method, or any.
    pub method: Option<String>,
    /// The route template, as axum writes it.
    pub path: String,
    /// A delay before the route runs.
    pub latency: Option<Duration>,
    /// A delay after the route ran (its change applied) and before the answer leaves.
    pub answer_delay: Option<Duration>,
    /// A status and plain-text body returned instead of running the route.
    pub status: Option<(u16, String)>,
    /// The `Retry-After` seconds sent with a forced status.
    pub retry_after_secs: Option<u64>,
    /// Abort the connection after this many body bytes.
    pub reset_after_bytes: Option<usize>,
    /// Send this many body bytes, then nothing more while the connection stays open.
    pub stall_after_bytes: Option<usize>,
    /// How many requests the fault applies to; none means every one.
    pub remaining: Option<u32>,
}

impl Fault {
    /// Returns a fault for requests with this method (or `*`) to this route template.
    pub fn on(method: &str, path: &str) -> Self {
        Fault {
            method: (method != "*").then(|| method.to_uppercase()),
            path: path.into(),
            latency: None,
            answer_delay: None,
            status: None,
            retry_after_secs: None,
            reset_after_bytes: None,
            stall_after_bytes: None,
            remaining: None,
        }
    }

    /// Delays the route.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = Some(latency);
        self
    }

    /// Runs the route, then holds its answer back for this long: a change is applied but the
    /// client has not heard of it yet.
    pub fn answer_after(mut self, delay: Duration) -> Self {
        self.answer_delay = Some(delay);
        self
    }

    /// Answers with this status and plain-text body instead of running the route.
    pub fn status(mut self, status: u16, body: &str) -> Self {
        self.status = Some((status, body.into()));
        self
    }

    /// Sends `Retry-After: seconds` with the forced status.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_secs = Some(seconds);
        self
    }

    /// Sends this many response body bytes, then stalls: the body neither continues nor ends.
    pub fn stall_after_bytes(mut self, bytes: usize) -> Self {
        self.stall_after_bytes = Some(bytes);
        self
    }

    /// Aborts the connection after this many response body bytes.
    pub fn reset_after_bytes(mut self, bytes: usize) -> Self {
        self.reset_after_bytes = Some(bytes);
        self
    }

    /// Applies the fault to this many requests only.
    pub fn times(mut self, count: u32) -> Self {
        self.remaining = Some(count);
        self
    }
}

/// The faults in force.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<Fault>>,
    query_failure_after_rows: Mutex<Option<i64>>,
}

impl Faults {
    /// Adds a fault.
    pub fn add(&self, fault: Fault) {
        self.lock_rules().push(fault);
    }

    /// Removes every fault.
    pub fn clear(&self) {
        self.lock_rules().clear();
        *self.query_failure_after_rows.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    /// Makes every query fail after producing this many rows (none to stop).
    pub fn fail_queries_after_rows(&self, rows: Option<i64>) {
        *self.query_failure_after_rows.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = rows;
    }

    /// Returns the injected query failure point, if any.
    pub fn query_failure_after_rows(&self) -> Option<i64> {
        *self.query_failure_after_rows.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn lock_rules(&self) -> std::sync::MutexGuard<'_, Vec<Fault>> {
        self.rules.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Returns the fault for a request, using up one of its applications.
    pub fn take(&self, method: &str, path: &str) -> Option<Fault> {
        let mut rules = self.lock_rules();
        let index = rules.iter().position(|rule| {
            rule.path == path
                && rule.method.as_deref().is_none_or(|wanted| wanted == method)
                && rule.remaining != Some(0)
        })?;
        if let Some(remaining) = rules[index].remaining.as_mut() {
            *remaining -= 1;
        }
        Some(rules[index].clone())
    }
}
