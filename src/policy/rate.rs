//! Owns request rates: [`Rate`] (`50/s`, `100/m`, `1000/h`) and [`RateLimiter`], token buckets
//! that hold N calls and refill at N per period: one per principal (a rule's `rate`) and one per
//! rule that all its principals share (its `rule_rate`).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Buckets kept before idle ones (refilled to capacity, so forgetting them changes nothing) are
/// dropped; principals may be globs, so the set of keys is open-ended.
const PRUNE_AT: usize = 10_000;

/// The period a rate counts calls over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RatePeriod {
    /// `s`.
    Second,
    /// `m`.
    Minute,
    /// `h`.
    Hour,
}

impl RatePeriod {
    /// Returns the period's length.
    pub fn duration(self) -> Duration {
        match self {
            RatePeriod::Second => Duration::from_secs(1),
            RatePeriod::Minute => Duration::from_secs(60),
            RatePeriod::Hour => Duration::from_secs(3600),
        }
    }

    /// Returns the period's name for sentences: `second`, `minute` or `hour`.
    pub fn name(self) -> &'static str {
        match self {
            RatePeriod::Second => "second",
            RatePeriod::Minute => "minute",
            RatePeriod::Hour => "hour",
        }
    }

    /// Returns the unit as the policy file writes it: `s`, `m` or `h`.
    pub fn unit(self) -> &'static str {
        match self {
            RatePeriod::Second => "s",
            RatePeriod::Minute => "m",
            RatePeriod::Hour => "h",
        }
    }
}

/// A request rate: at most `calls` per `period`, with bursts of up to `calls`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rate {
    /// How many calls a period allows; at least 1.
    pub calls: u32,
    /// The period the calls are counted over.
    pub period: RatePeriod,
}

impl Rate {
    /// Parses `N/s`, `N/m` or `N/h`, where N is a whole number of at least 1.
    pub fn parse(text: &str) -> Result<Rate, RateParseError> {
        let invalid = || RateParseError { text: text.to_owned() };
        let (count, unit) = text.trim().split_once('/').ok_or_else(invalid)?;
        let calls: u32 = count.trim().parse().map_err(|_| invalid())?;
        let period = match unit.trim() {
            "s" => RatePeriod::Second,
            "m" => RatePeriod::Minute,
            "h" => RatePeriod::Hour,
            _ => return Err(invalid()),
        };
        if calls == 0 {
            return Err(invalid());
        }
        Ok(Rate { calls, period })
    }

    /// Returns the period's name for sentences: `second`, `minute` or `hour`.
    pub fn period_name(self) -> &'static str {
        self.period.name()
    }
}

impl FromStr for Rate {
    type Err = RateParseError;

    fn from_str(text: &str) -> Result<Rate, RateParseError> {
        Rate::parse(text)
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}/{}", self.calls, self.period.unit())
    }
}

/// Says that a rate's text is not `N/s`, `N/m` or `N/h`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("rate {text:?} is not valid; expected N/s, N/m or N/h with N a whole number of at least 1, such as 50/s")]
pub struct RateParseError {
    /// The text as written.
    pub text: String,
}

/// Which bucket refused a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RateScope {
    /// The calling principal's own bucket, filled at its rule's `rate`.
    Principal,
    /// The bucket every principal of a rule shares, filled at its `rule_rate`; holds the rule's
    /// `match` text.
    Rule(String),
}

/// Says that a call would exceed a rate; `retry_after` is when the next call would pass.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("rate {rate} exceeded; the next call is allowed in {} ms", .retry_after.as_millis())]
pub(crate) struct RateExceeded {
    /// The rate that was exceeded.
    pub rate: Rate,
    /// How long until one call's worth has refilled.
    pub retry_after: Duration,
    /// Whose bucket was empty.
    pub scope: RateScope,
}

impl RateExceeded {
    /// Returns why the call was refused, as the audit event records it: `its policy allows 5 calls
    /// per second`, or `the rule "agents/*" allows 100 calls per second for all its principals
    /// together`.
    pub(crate) fn reason(&self) -> String {
        let (calls, period) = (self.rate.calls, self.rate.period_name());
        match &self.scope {
            RateScope::Principal => format!("its policy allows {calls} calls per {period}"),
            RateScope::Rule(pattern) => {
                format!("the rule {pattern:?} allows {calls} calls per {period} for all its principals together")
            }
        }
    }

    /// Returns the message the refused caller gets: who is over which rate, and why.
    pub(crate) fn message(&self, principal: &str) -> String {
        let which = match self.scope {
            RateScope::Principal => "its request rate",
            RateScope::Rule(_) => "its rule's shared request rate",
        };
        format!("{principal} is over {which}: {}", self.reason())
    }
}

/// The rates one call is held to; the call needs a token from the bucket of each that is set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallRates<'a> {
    /// The principal and its own rate (its rule's `rate`).
    pub principal: Option<(&'a str, Rate)>,
    /// The rule's `match` text and the rate all its principals share (its `rule_rate`).
    pub rule: Option<(&'a str, Rate)>,
}

/// Limits calls with token buckets, per principal and per rule; safe to share between threads.
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    buckets: Mutex<Buckets>,
}

/// The buckets, by principal and by rule `match` text; two maps, so that a principal spelt like a
/// rule's pattern never shares the rule's bucket.
#[derive(Debug, Default)]
struct Buckets {
    principals: HashMap<String, Bucket>,
    rules: HashMap<String, Bucket>,
}

#[derive(Debug)]
struct Bucket {
    rate: Rate,
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    fn full(rate: Rate, now: Instant) -> Bucket {
        Bucket { rate, tokens: f64::from(rate.calls), updated: now }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        let per_second = f64::from(self.rate.calls) / self.rate.period.duration().as_secs_f64();
        self.tokens = (self.tokens + elapsed * per_second).min(f64::from(self.rate.calls));
        self.updated = self.updated.max(now);
    }

    fn is_full_at(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.updated) >= self.rate.period.duration()
    }

    /// Returns how long until the bucket holds a whole call, or `None` when it holds one now.
    fn wait(&self) -> Option<Duration> {
        if self.tokens >= 1.0 {
            return None;
        }
        let missing = 1.0 - self.tokens;
        Some(self.rate.period.duration().mul_f64(missing / f64::from(self.rate.calls)))
    }
}

/// Returns the refilled bucket for `key`, full if it is new or its rate changed (after a policy
/// reload), dropping idle buckets first when there are many.
fn refilled<'map>(map: &'map mut HashMap<String, Bucket>, key: &str, rate: Rate, now: Instant) -> &'map mut Bucket {
    if map.len() >= PRUNE_AT && !map.contains_key(key) {
        map.retain(|_, bucket| !bucket.is_full_at(now));
    }
    let bucket = map.entry(key.to_owned()).or_insert_with(|| Bucket::full(rate, now));
    if bucket.rate != rate {
        *bucket = Bucket::full(rate, now);
    }
    bucket.refill(now);
    bucket
}

impl RateLimiter {
    /// Returns a limiter with every bucket full.
    pub(crate) fn new() -> RateLimiter {
        RateLimiter::default()
    }

    /// Takes one call from the principal's bucket, or says when the next call would be allowed.
    /// A changed rate (after a policy reload) starts a fresh, full bucket.
    pub(crate) fn check(&self, principal: &str, rate: Rate, now: Instant) -> Result<(), RateExceeded> {
        self.check_call(CallRates { principal: Some((principal, rate)), rule: None }, now)
    }

    /// Takes one call from each bucket the call's rates name, or from none when any is empty, and
    /// then says which bucket refused: the one the caller must wait longer for, the principal's own
    /// on a tie. A changed rate, or a rule whose `match` changed, starts a fresh, full bucket.
    pub(crate) fn check_call(&self, rates: CallRates<'_>, now: Instant) -> Result<(), RateExceeded> {
        // A poisoned lock only means another caller panicked mid-check; the buckets stay usable.
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let Buckets { principals, rules } = &mut *buckets;
        let mut own = rates.principal.map(|(principal, rate)| refilled(principals, principal, rate, now));
        let mut shared = rates.rule.map(|(pattern, rate)| refilled(rules, pattern, rate, now));
        let own_wait = own.as_deref().and_then(Bucket::wait);
        let shared_wait = shared.as_deref().and_then(Bucket::wait);
        match (rates.principal.zip(own_wait), rates.rule.zip(shared_wait)) {
            (None, None) => {
                for bucket in own.iter_mut().chain(shared.iter_mut()) {
                    bucket.tokens -= 1.0;
                }
                Ok(())
            }
            (Some(((_, rate), retry_after)), None) => {
                Err(RateExceeded { rate, retry_after, scope: RateScope::Principal })
            }
            (Some(((_, rate), retry_after)), Some((_, shared_after))) if retry_after >= shared_after => {
                Err(RateExceeded { rate, retry_after, scope: RateScope::Principal })
            }
            (_, Some(((pattern, rate), retry_after))) => {
                Err(RateExceeded { rate, retry_after, scope: RateScope::Rule(pattern.to_owned()) })
            }
        }
    }
}

#[cfg(test)]
#[path = "rate_tests.rs"]
mod tests;
