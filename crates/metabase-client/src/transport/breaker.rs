//! The circuit breaker in front of one Metabase instance: after `failure_threshold` failures in a
//! row (transport errors and 5xx answers) it opens, and requests fail at once for `open_for`;
//! then one request goes through as a probe (half-open), and its outcome closes the circuit or
//! opens it again. Its state is published on a watch channel, so health can follow it at once.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::watch;

/// When the breaker opens and for how long.
#[derive(Clone, Copy, Debug)]
pub struct BreakerSettings {
    /// Failures in a row that open the circuit; zero never opens it.
    pub failure_threshold: u32,
    /// How long the circuit stays open before one probe is let through.
    pub open_for: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        BreakerSettings { failure_threshold: 5, open_for: Duration::from_secs(5) }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// One probe is in flight; every other request is refused until it ends.
    HalfOpen,
}

/// The breaker's state, shared by every client built from one configuration.
#[derive(Debug)]
pub(crate) struct Breaker {
    settings: BreakerSettings,
    state: Mutex<State>,
    closed: watch::Sender<bool>,
}

/// The right to send one request; its outcome must be recorded, and a probe dropped unrecorded
/// (its caller went away) lets the next request probe instead.
#[must_use]
pub(crate) struct Ticket<'a> {
    breaker: &'a Breaker,
    probe: bool,
    recorded: bool,
}

impl Ticket<'_> {
    /// Records whether Metabase answered healthily (any answer below 500).
    pub(crate) fn record(mut self, healthy: bool) {
        self.recorded = true;
        self.breaker.record(healthy, self.probe);
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if self.probe && !self.recorded {
            let mut state = self.breaker.lock();
            if *state == State::HalfOpen {
                *state = State::Open { until: Instant::now() };
            }
        }
    }
}

impl Breaker {
    pub(crate) fn new(settings: BreakerSettings) -> Self {
        Breaker { settings, state: Mutex::new(State::Closed { failures: 0 }), closed: watch::Sender::new(true) }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Admits a request, or returns how long until the circuit lets a probe through.
    pub(crate) fn admit(&self) -> Result<Ticket<'_>, Duration> {
        let mut state = self.lock();
        let probe = match *state {
            State::Closed { .. } => false,
            State::Open { until } => {
                let now = Instant::now();
                if now < until {
                    return Err(until - now);
                }
                *state = State::HalfOpen;
                true
            }
            // The probe's answer is due within the request timeout; callers retry after a pause.
            State::HalfOpen => return Err(self.settings.open_for),
        };
        Ok(Ticket { breaker: self, probe, recorded: false })
    }

    fn record(&self, healthy: bool, probe: bool) {
        let mut state = self.lock();
        let next = match (*state, healthy) {
            (_, true) => State::Closed { failures: 0 },
            (State::HalfOpen, false) if probe => State::Open { until: Instant::now() + self.settings.open_for },
            (State::Closed { failures }, false) => {
                let failures = failures.saturating_add(1);
                if self.settings.failure_threshold > 0 && failures >= self.settings.failure_threshold {
                    State::Open { until: Instant::now() + self.settings.open_for }
                } else {
                    State::Closed { failures }
                }
            }
            // A request admitted before the circuit opened failed too: it stays open.
            (current, false) => current,
        };
        let was_closed = matches!(*state, State::Closed { .. });
        let is_closed = matches!(next, State::Closed { .. });
        *state = next;
        drop(state);
        if was_closed != is_closed {
            if is_closed {
                tracing::info!("metabase answered again: the circuit is closed");
            } else {
                tracing::warn!(
                    open_for_ms = u64::try_from(self.settings.open_for.as_millis()).unwrap_or(u64::MAX),
                    "metabase keeps failing: the circuit is open and requests fail at once"
                );
            }
            self.closed.send_replace(is_closed);
        }
    }

    /// Returns a receiver that sees `true` while the circuit is closed and `false` while it is
    /// open or probing.
    pub(crate) fn subscribe(&self) -> watch::Receiver<bool> {
        self.closed.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Breaker, BreakerSettings};

    fn breaker(open_for: Duration) -> Breaker {
        Breaker::new(BreakerSettings { failure_threshold: 3, open_for })
    }

    #[test]
    fn the_circuit_opens_after_failures_in_a_row_and_a_success_resets_the_count() {
        let breaker = breaker(Duration::from_secs(60));
        for healthy in [false, false, true, false, false] {
            breaker.admit().expect("closed").record(healthy);
        }
        assert!(breaker.admit().is_ok(), "two failures in a row (a success between) do not open it");

        breaker.admit().expect("closed").record(false);

        let wait = breaker.admit().err().expect("open");
        assert!(wait > Duration::from_secs(50) && wait <= Duration::from_secs(60), "{wait:?}");
        assert!(!*breaker.subscribe().borrow());
    }

    #[test]
    fn one_probe_goes_through_once_open_for_passed_and_its_success_closes_the_circuit() {
        let breaker = breaker(Duration::ZERO);
        for _ in 0..3 {
            breaker.admit().expect("closed").record(false);
        }

        let probe = breaker.admit().expect("the first request after open_for probes");
        assert!(breaker.admit().is_err(), "no second request while the probe is in flight");
        probe.record(true);

        assert!(breaker.admit().is_ok());
        assert!(*breaker.subscribe().borrow());
    }

    #[test]
    fn a_failed_probe_opens_the_circuit_again_and_a_dropped_probe_lets_another_probe() {
        let breaker = breaker(Duration::ZERO);
        for _ in 0..3 {
            breaker.admit().expect("closed").record(false);
        }
        breaker.admit().expect("probe").record(false);
        assert!(!*breaker.subscribe().borrow(), "still open after a failed probe");

        drop(breaker.admit().expect("a new probe once open_for passed"));

        breaker.admit().expect("the dropped probe's caller left; another probes").record(true);
        assert!(*breaker.subscribe().borrow());
    }
}
