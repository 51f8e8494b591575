//! Owns request rates: [`Rate`] (`50/s`, `100/m`, `1000/h`) and [`RateLimiter`], one token bucket
//! per principal that holds N calls and refills at N per period.

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

/// Says that a principal has used up its rate; `retry_after` is when the next call would pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("rate {rate} exceeded; the next call is allowed in {} ms", .retry_after.as_millis())]
pub struct RateExceeded {
    /// The rate that was exceeded.
    pub rate: Rate,
    /// How long until one call's worth has refilled.
    pub retry_after: Duration,
}

/// Limits each principal's calls with a token bucket; safe to share between threads.
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
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
}

impl RateLimiter {
    /// Returns a limiter with every bucket full.
    pub fn new() -> RateLimiter {
        RateLimiter::default()
    }

    /// Takes one call from the principal's bucket, or says when the next call would be allowed.
    /// A changed rate (after a policy reload) starts a fresh, full bucket.
    pub fn check(&self, principal: &str, rate: Rate, now: Instant) -> Result<(), RateExceeded> {
        // A poisoned lock only means another caller panicked mid-check; the buckets stay usable.
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= PRUNE_AT && !buckets.contains_key(principal) {
            buckets.retain(|_, bucket| !bucket.is_full_at(now));
        }
        let bucket = buckets.entry(principal.to_owned()).or_insert_with(|| Bucket::full(rate, now));
        if bucket.rate != rate {
            *bucket = Bucket::full(rate, now);
        }
        bucket.refill(now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let missing = 1.0 - bucket.tokens;
        let retry_after = rate.period.duration().mul_f64(missing / f64::from(rate.calls));
        Err(RateExceeded { rate, retry_after })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_per_second_minute_and_hour() {
        assert_eq!(Rate::parse("50/s"), Ok(Rate { calls: 50, period: RatePeriod::Second }));
        assert_eq!(Rate::parse(" 100 / m "), Ok(Rate { calls: 100, period: RatePeriod::Minute }));
        assert_eq!("1000/h".parse::<Rate>().map(|rate| rate.to_string()), Ok("1000/h".to_owned()));
        assert_eq!(Rate::parse("5/h").unwrap().period_name(), "hour");
        for invalid in ["", "50", "0/s", "-1/s", "50/d", "fifty/s", "50/sec", "1.5/s"] {
            let error = Rate::parse(invalid).unwrap_err();
            assert!(error.to_string().contains("expected N/s, N/m or N/h"), "{invalid}: {error}");
        }
    }

    #[test]
    fn the_limiter_allows_n_then_rejects_then_refills() {
        let limiter = RateLimiter::new();
        let rate = Rate::parse("3/s").unwrap();
        let start = Instant::now();

        for call in 0..3 {
            assert_eq!(limiter.check("agent", rate, start), Ok(()), "call {call}");
        }
        let rejected = limiter.check("agent", rate, start).unwrap_err();
        assert_eq!(rejected.rate, rate);
        assert!(
            rejected.retry_after > Duration::from_millis(300) && rejected.retry_after <= Duration::from_millis(334)
        );
        assert_eq!(limiter.check("agent", rate, start + Duration::from_millis(340)), Ok(()));
        assert!(limiter.check("agent", rate, start + Duration::from_millis(340)).is_err());
        for call in 0..3 {
            assert_eq!(limiter.check("agent", rate, start + Duration::from_secs(5)), Ok(()), "call {call}");
        }
        assert!(limiter.check("agent", rate, start + Duration::from_secs(5)).is_err());
    }

    #[test]
    fn each_principal_has_its_own_bucket() {
        let limiter = RateLimiter::new();
        let rate = Rate::parse("1/m").unwrap();
        let now = Instant::now();

        assert!(limiter.check("a", rate, now).is_ok());
        assert!(limiter.check("a", rate, now).is_err());
        assert!(limiter.check("b", rate, now).is_ok());
    }

    #[test]
    fn a_changed_rate_starts_a_full_bucket() {
        let limiter = RateLimiter::new();
        let now = Instant::now();

        assert!(limiter.check("a", Rate::parse("1/h").unwrap(), now).is_ok());
        assert!(limiter.check("a", Rate::parse("1/h").unwrap(), now).is_err());
        assert!(limiter.check("a", Rate::parse("2/h").unwrap(), now).is_ok());
    }
}
