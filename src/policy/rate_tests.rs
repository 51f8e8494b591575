//! Tests of `rate`, kept beside it so the module itself stays short.

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
    assert!(rejected.retry_after > Duration::from_millis(300) && rejected.retry_after <= Duration::from_millis(334));
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

const AGENTS: &str = "spiffe://cluster.local/ns/agents/sa/*";

/// Returns the rates of a call by `principal` under the agents rule.
fn agents(principal: &str, own: Option<Rate>, shared: Rate) -> CallRates<'_> {
    CallRates { principal: own.map(|rate| (principal, rate)), rule: Some((AGENTS, shared)) }
}

#[test]
fn a_rule_rate_is_one_bucket_shared_by_all_the_rules_principals() {
    let limiter = RateLimiter::new();
    let rate = Rate::parse("3/m").unwrap();
    let now = Instant::now();

    for principal in ["agent-1", "agent-2", "agent-1"] {
        assert_eq!(limiter.check_call(agents(principal, None, rate), now), Ok(()), "{principal}");
    }
    let refused = limiter.check_call(agents("agent-2", None, rate), now).unwrap_err();
    let other_rule = CallRates { principal: None, rule: Some(("orders-api", rate)) };

    assert_eq!(refused.scope, RateScope::Rule(AGENTS.to_owned()));
    assert_eq!(refused.rate, rate);
    assert!(refused.retry_after > Duration::from_secs(19) && refused.retry_after <= Duration::from_secs(20));
    assert!(limiter.check_call(agents("agent-3", None, rate), now).is_err(), "a new principal shares the empty bucket");
    assert_eq!(limiter.check_call(other_rule, now), Ok(()), "another rule has its own bucket");
    assert_eq!(limiter.check("spiffe://cluster.local/ns/agents/sa/*", rate, now), Ok(()), "not a principal's");
    assert_eq!(limiter.check_call(agents("agent-2", None, rate), now + Duration::from_secs(20)), Ok(()));
}

#[test]
fn with_both_rates_a_call_needs_a_token_from_each_and_a_refusal_takes_none() {
    let limiter = RateLimiter::new();
    let per_principal = Rate::parse("1/m").unwrap();
    let rule_rate = Rate::parse("3/m").unwrap();
    let now = Instant::now();
    let call = |principal| agents(principal, Some(per_principal), rule_rate);

    assert_eq!(limiter.check_call(call("agent-1"), now), Ok(()));
    let own = limiter.check_call(call("agent-1"), now).unwrap_err();
    assert_eq!(limiter.check_call(call("agent-2"), now), Ok(()));
    assert_eq!(limiter.check_call(call("agent-3"), now), Ok(()), "agent-1's refused call took no shared token");
    let rule = limiter.check_call(call("agent-4"), now).unwrap_err();

    assert_eq!((own.scope, own.rate), (RateScope::Principal, per_principal));
    assert_eq!((rule.scope, rule.rate), (RateScope::Rule(AGENTS.to_owned()), rule_rate));
    assert!(limiter.check("agent-4", per_principal, now).is_ok(), "agent-4's refused call took no token");
}

#[test]
fn a_changed_rule_rate_starts_a_full_shared_bucket() {
    let limiter = RateLimiter::new();
    let now = Instant::now();

    assert!(limiter.check_call(agents("a", None, Rate::parse("1/h").unwrap()), now).is_ok());
    assert!(limiter.check_call(agents("b", None, Rate::parse("1/h").unwrap()), now).is_err());
    assert!(limiter.check_call(agents("b", None, Rate::parse("2/h").unwrap()), now).is_ok());
}

#[test]
fn refusals_say_whose_rate_was_exceeded() {
    let rate = Rate::parse("100/s").unwrap();
    let retry_after = Duration::from_millis(10);
    let own = RateExceeded { rate, retry_after, scope: RateScope::Principal };
    let rule = RateExceeded { rate, retry_after, scope: RateScope::Rule(AGENTS.to_owned()) };

    assert_eq!(own.message("agent-7"), "agent-7 is over its request rate: its policy allows 100 calls per second");
    assert_eq!(
        rule.message("agent-7"),
        "agent-7 is over its rule's shared request rate: the rule \"spiffe://cluster.local/ns/agents/sa/*\" \
         allows 100 calls per second for all its principals together"
    );
}
