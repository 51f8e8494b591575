//! Retries, only where a second send cannot change anything twice: `GET` requests that met a
//! connection error or a 502, 503 or 504. The pause is Metabase's `Retry-After` when it sends one,
//! else an exponential backoff with jitter; a retry happens only if it can start before the
//! caller's deadline and the retry budget (a fraction of recent requests, tower's `TpsBudget`)
//! has a token, so a Metabase outage cannot be multiplied into a retry storm.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use opentelemetry::metrics::Counter;
use reqwest::header::RETRY_AFTER;
use reqwest::{Method, Response, StatusCode};
use tower::retry::budget::{Budget, TpsBudget};

use super::breaker::{Breaker, BreakerSettings};
use crate::error::MetabaseError;

/// How requests are retried.
#[derive(Clone, Copy, Debug)]
pub struct RetrySettings {
    /// Attempts per request, the first included; one never retries.
    pub max_attempts: u32,
    /// The backoff before the first retry; it doubles with each retry.
    pub base_backoff: Duration,
    /// The longest pause before a retry, `Retry-After` included.
    pub max_backoff: Duration,
    /// How long a request counts towards the budget (1 to 60 seconds).
    pub budget_window: Duration,
    /// Retries allowed per second whatever the traffic, for quiet clients.
    pub budget_min_per_second: u32,
    /// Retries allowed per request sent, such as 0.2 for one retry per five requests.
    pub budget_ratio: f32,
}

impl Default for RetrySettings {
    fn default() -> Self {
        RetrySettings {
            max_attempts: 3,
            base_backoff: Duration::from_millis(25),
            max_backoff: Duration::from_secs(2),
            budget_window: Duration::from_secs(10),
            budget_min_per_second: 5,
            budget_ratio: 0.2,
        }
    }
}

/// The retry budget and circuit breaker of one Metabase instance. Clones share them, so every
/// client built from one [`crate::ClientConfig`] (one per credential) spends one budget and
/// trips one breaker.
#[derive(Clone)]
pub struct Resilience {
    shared: Arc<Shared>,
}

struct Shared {
    retry: RetrySettings,
    budget: TpsBudget,
    breaker: Breaker,
}

impl fmt::Debug for Resilience {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Resilience")
            .field("retry", &self.shared.retry)
            .field("breaker", &self.shared.breaker)
            .finish_non_exhaustive()
    }
}

impl Default for Resilience {
    fn default() -> Self {
        Resilience::new(RetrySettings::default(), BreakerSettings::default())
    }
}

impl Resilience {
    /// Returns a fresh budget and a closed breaker with these settings. The budget window is
    /// held between 1 and 60 seconds and the ratio between 0 and 1000, as tower requires.
    pub fn new(retry: RetrySettings, breaker: BreakerSettings) -> Self {
        let window = retry.budget_window.clamp(Duration::from_secs(1), Duration::from_secs(60));
        let min_per_second = retry.budget_min_per_second.min(i32::MAX as u32 - 1);
        let budget = TpsBudget::new(window, min_per_second, retry.budget_ratio.clamp(0.0, 1000.0));
        Resilience { shared: Arc::new(Shared { retry, budget, breaker: Breaker::new(breaker) }) }
    }

    pub(super) fn breaker(&self) -> &Breaker {
        &self.shared.breaker
    }

    /// Returns a receiver that sees `true` while the circuit is closed (Metabase answers) and
    /// `false` while requests fail at once.
    pub fn circuit_closed(&self) -> tokio::sync::watch::Receiver<bool> {
        self.shared.breaker.subscribe()
    }

    /// Counts one request towards the budget.
    pub(super) fn deposit(&self) {
        self.shared.budget.deposit();
    }

    /// Returns the pause before attempt `attempt + 1`, or `None` when the outcome of attempt
    /// `attempt` (0 for the first) is final. `request_deadline` is when the client's own timeout
    /// ends the whole request, for callers without a deadline.
    pub(super) fn retry_after(
        &self,
        method: &Method,
        route: &'static str,
        outcome: &Result<Response, MetabaseError>,
        attempt: u32,
        request_deadline: Instant,
    ) -> Option<Duration> {
        if *method != Method::GET || attempt + 1 >= self.shared.retry.max_attempts {
            return None;
        }
        let (reason, asked) = match outcome {
            Err(MetabaseError::Unavailable { .. }) => ("connection", None),
            Ok(response) if is_retryable_status(response.status()) => {
                (status_reason(response.status()), retry_after_header(response))
            }
            _ => return None,
        };
        let pause = asked.unwrap_or_else(|| self.backoff(attempt)).min(self.shared.retry.max_backoff);
        let deadline = crate::deadline::current().map_or(request_deadline, |caller| caller.min(request_deadline));
        if Instant::now() + pause >= deadline {
            tracing::debug!(route, reason, "no retry: it could not answer before the deadline");
            return None;
        }
        if !self.shared.budget.withdraw() {
            tracing::debug!(route, reason, "no retry: the retry budget is spent");
            metrics().budget_spent.add(1, &[KeyValue::new("url.template", route)]);
            return None;
        }
        tracing::debug!(route, reason, attempt = attempt + 1, "retrying a metabase request");
        metrics().retries.add(1, &[KeyValue::new("url.template", route), KeyValue::new("reason", reason)]);
        Some(pause)
    }

    /// Returns the exponential backoff before retry `attempt + 1`, with equal jitter: half of it
    /// fixed, half random, so clients that failed together do not retry together.
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .shared
            .retry
            .base_backoff
            .saturating_mul(1u32.checked_shl(attempt).unwrap_or(u32::MAX))
            .min(self.shared.retry.max_backoff);
        let half = ceiling / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

/// The statuses that say Metabase (or a proxy before it) could not serve the request this time.
fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status, StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT)
}

/// Reads a `Retry-After` given in seconds (an HTTP date is ignored; the backoff applies).
fn retry_after_header(response: &Response) -> Option<Duration> {
    let seconds: u64 = response.headers().get(RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

/// Names a retried status for logs and the retry metric.
fn status_reason(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_GATEWAY => "502",
        StatusCode::SERVICE_UNAVAILABLE => "503",
        _ => "504",
    }
}

struct RetryMetrics {
    retries: Counter<u64>,
    budget_spent: Counter<u64>,
}

fn metrics() -> &'static RetryMetrics {
    static METRICS: OnceLock<RetryMetrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let meter = opentelemetry::global::meter("metabase-grpc");
        RetryMetrics {
            retries: meter
                .u64_counter("metabase.client.retries")
                .with_description("Metabase requests sent again after a connection error or a 502, 503 or 504")
                .build(),
            budget_spent: meter
                .u64_counter("metabase.client.retries_refused")
                .with_description("Retries not sent because the retry budget was spent")
                .build(),
        }
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{BreakerSettings, Resilience, RetrySettings};

    #[test]
    fn the_backoff_doubles_with_jitter_and_stays_under_the_ceiling() {
        let settings = RetrySettings {
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(300),
            ..RetrySettings::default()
        };
        let resilience = Resilience::new(settings, BreakerSettings::default());

        for _ in 0..50 {
            let first = resilience.backoff(0);
            let second = resilience.backoff(1);
            let capped = resilience.backoff(5);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100), "{first:?}");
            assert!(second >= Duration::from_millis(100) && second <= Duration::from_millis(200), "{second:?}");
            assert!(capped >= Duration::from_millis(150) && capped <= Duration::from_millis(300), "{capped:?}");
        }
    }
}
