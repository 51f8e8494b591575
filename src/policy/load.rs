//! Owns [`Policy`]: a policy file that parsed and passed every check, with its rates parsed, and
//! the lookups the gateway makes on it (which rule matches a principal, which credential it uses,
//! which rates a call is held to).

use std::collections::BTreeMap;
use std::path::Path;

use super::error::{KeyFinder, Location, PolicyError};
use super::model::{Level, PolicyFile, PrincipalRule};
use super::rate::{CallRates, Rate};

/// The name errors use for policy text that did not come from a file.
const UNNAMED: &str = "policy";

/// A validated policy: every credential reference resolves to a defined credential, every
/// credential names exactly one source, and every rate parses.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    file: PolicyFile,
    rates: Vec<RuleRates>,
}

/// One rule's parsed rates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct RuleRates {
    /// `rate`: each principal's own.
    per_principal: Option<Rate>,
    /// `rule_rate`: shared by all the rule's principals.
    shared: Option<Rate>,
}

impl Policy {
    /// Parses and checks policy text; errors name the line of the problem.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        Policy::parse_named(UNNAMED, text)
    }

    /// Reads, parses and checks a policy file; errors start with the file's path and the line.
    pub fn load(path: impl AsRef<Path>) -> Result<Policy, PolicyError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read { path: name.clone(), source })?;
        Policy::parse_named(&name, &text)
    }

    /// Parses and checks policy text, naming it `file` in errors.
    pub fn parse_named(file: &str, text: &str) -> Result<Policy, PolicyError> {
        let parsed: PolicyFile = serde_yaml::from_str(text).map_err(|error| PolicyError::from_yaml(file, &error))?;
        let checker = Checker { file, finder: KeyFinder::new(text), defined: defined_names(&parsed) };
        checker.check_version(&parsed)?;
        checker.check_credentials(&parsed)?;
        let rates = (0..parsed.principals.len())
            .map(|index| checker.check_rule(&parsed, index))
            .collect::<Result<Vec<_>, PolicyError>>()?;
        Ok(Policy { file: parsed, rates })
    }

    /// Returns a policy that lets every principal do everything, for `--allow-all`.
    pub fn allow_all() -> Policy {
        let rule = PrincipalRule {
            pattern: "*".to_owned(),
            credential: None,
            grants: BTreeMap::from([("*".to_owned(), Level::Full)]),
            collections: None,
            databases: None,
            max_rows: None,
            rate: None,
            rule_rate: None,
            max_streams: None,
        };
        let file = PolicyFile {
            version: 1,
            dry_run: false,
            credentials: BTreeMap::new(),
            default_credential: None,
            principals: vec![rule],
        };
        Policy { file, rates: vec![RuleRates::default()] }
    }

    /// Returns the file as written.
    pub fn file(&self) -> &PolicyFile {
        &self.file
    }

    /// Reports whether decisions are logged but not enforced.
    pub fn dry_run(&self) -> bool {
        self.file.dry_run
    }

    /// Returns the principal rules, in order.
    pub fn principals(&self) -> &[PrincipalRule] {
        &self.file.principals
    }

    /// Returns the rule at an index.
    pub fn rule(&self, rule_index: usize) -> Option<&PrincipalRule> {
        self.file.principals.get(rule_index)
    }

    /// Returns the index of the first rule that matches a principal.
    pub fn matching_rule(&self, principal: &str) -> Option<usize> {
        self.file.principals.iter().position(|rule| rule.matches(principal))
    }

    /// Returns the parsed per-principal request rate (`rate`) of the rule at an index, if it has one.
    pub fn rate(&self, rule_index: usize) -> Option<Rate> {
        self.rates.get(rule_index).and_then(|rates| rates.per_principal)
    }

    /// Returns the parsed rate the principals of the rule at an index share (`rule_rate`), if it
    /// has one.
    pub fn rule_rate(&self, rule_index: usize) -> Option<Rate> {
        self.rates.get(rule_index).and_then(|rates| rates.shared)
    }

    /// Returns the rates a call by `principal` under the rule at an index is held to: the
    /// principal's own bucket, and the bucket the rule's principals share, keyed by its `match`.
    pub fn call_rates<'a>(&'a self, rule_index: usize, principal: &'a str) -> CallRates<'a> {
        let Some(rule) = self.rule(rule_index) else {
            return CallRates::default();
        };
        CallRates {
            principal: self.rate(rule_index).map(|rate| (principal, rate)),
            rule: self.rule_rate(rule_index).map(|rate| (rule.pattern.as_str(), rate)),
        }
    }

    /// Returns the name of the credential the rule's principals use: the rule's own, else the
    /// policy's `default_credential`, else none (the gateway's own credential).
    pub fn credential_for(&self, rule_index: usize) -> Option<&str> {
        let rule = self.rule(rule_index)?;
        rule.credential.as_deref().or(self.file.default_credential.as_deref())
    }

    /// Returns the defined credential names, comma-separated, or `none`.
    pub(crate) fn defined_credentials(&self) -> String {
        defined_names(&self.file)
    }
}

/// Checks what serde cannot: values and references. Errors point at the offending key's line.
struct Checker<'text> {
    file: &'text str,
    finder: KeyFinder<'text>,
    defined: String,
}

impl Checker<'_> {
    fn invalid(&self, location: Option<Location>, message: String) -> PolicyError {
        PolicyError::invalid(self.file, location, message)
    }

    fn check_version(&self, parsed: &PolicyFile) -> Result<(), PolicyError> {
        if parsed.version == 1 {
            return Ok(());
        }
        let message = format!("version: {} is not supported; the only version is 1", parsed.version);
        Err(self.invalid(self.finder.key_after("version", 0), message))
    }

    fn check_credentials(&self, parsed: &PolicyFile) -> Result<(), PolicyError> {
        let section = self.finder.key_after("credentials", 0).map_or(0, |location| location.line - 1);
        for (name, spec) in &parsed.credentials {
            if let Err(problem) = spec.check() {
                let message = format!("credentials.{name}: credential {name:?} {problem}");
                return Err(self.invalid(self.finder.key_after(name, section), message));
            }
        }
        if let Some(name) = &parsed.default_credential
            && !parsed.credentials.contains_key(name)
        {
            let defined = &self.defined;
            let message =
                format!("default_credential: credential {name:?} is not defined; defined credentials: {defined}");
            return Err(self.invalid(self.finder.key_after("default_credential", 0), message));
        }
        Ok(())
    }

    /// Checks the rule at `index` and returns its parsed rates.
    fn check_rule(&self, parsed: &PolicyFile, index: usize) -> Result<RuleRates, PolicyError> {
        let rule = &parsed.principals[index];
        let start = self.finder.rule_start(index);
        let next = self.finder.rule_start(index + 1).unwrap_or(usize::MAX);
        // The key's own line, else the line the rule starts on.
        let locate = |key: &str| {
            let rule_start = start.map(|line| Location { line: line + 1, column: 1 });
            self.finder.key_in(key, start.unwrap_or(0), next).or(rule_start)
        };
        if rule.pattern.trim().is_empty() {
            let message = format!(
                "principals[{index}].match is empty; write a principal, a glob such as \
                 \"spiffe://cluster.local/ns/agents/sa/*\", or \"*\" for everyone"
            );
            return Err(self.invalid(locate("match"), message));
        }
        if let Some(name) = &rule.credential
            && !parsed.credentials.contains_key(name)
        {
            let defined = &self.defined;
            let message = format!(
                "principals[{index}].credential: credential {name:?} is not defined; defined credentials: {defined}"
            );
            return Err(self.invalid(locate("credential"), message));
        }
        if rule.max_rows == Some(0) {
            let message =
                format!("principals[{index}].max_rows: 0 would allow no rows; use at least 1, or leave it out");
            return Err(self.invalid(locate("max_rows"), message));
        }
        if rule.max_streams == Some(0) {
            let message = format!(
                "principals[{index}].max_streams: 0 would allow no streamed call; use at least 1, or leave it out"
            );
            return Err(self.invalid(locate("max_streams"), message));
        }
        let parse = |key: &str, text: Option<&str>| {
            text.map(Rate::parse)
                .transpose()
                .map_err(|error| self.invalid(locate(key), format!("principals[{index}].{key}: {error}")))
        };
        let per_principal = parse("rate", rule.rate.as_deref())?;
        let shared = parse("rule_rate", rule.rule_rate.as_deref())?;
        Ok(RuleRates { per_principal, shared })
    }
}

fn defined_names(file: &PolicyFile) -> String {
    if file.credentials.is_empty() {
        return "none".to_owned();
    }
    file.credentials.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::fixtures::API_EXAMPLE;
    use crate::policy::rate::RatePeriod;

    fn error_of(text: &str) -> String {
        Policy::parse(text).expect_err("the policy should be rejected").to_string()
    }

    #[test]
    fn the_api_md_example_policy_parses() {
        let policy = Policy::parse(API_EXAMPLE).unwrap();

        assert!(!policy.dry_run());
        assert_eq!(policy.principals().len(), 3);
        assert_eq!(policy.file().credentials.len(), 3);
        assert_eq!(policy.principals()[0].collections, Some(vec![5]));
        assert_eq!(policy.principals()[0].max_rows, Some(100_000));
        assert_eq!(policy.rate(0), Some(Rate { calls: 50, period: RatePeriod::Second }));
        assert_eq!(policy.rate(2), None);
        assert_eq!(policy.rule_rate(1), None);
        assert_eq!(policy.principals()[2].grants.get("*"), Some(&Level::Full));
    }

    #[test]
    fn a_misspelt_key_is_reported_at_its_line() {
        let text = "version: 1\nprincipals:\n  - match: a\n    grnts: { cards: read }\n";

        let message = error_of(text);

        assert!(message.starts_with("policy:4:5: principals[0]: unknown field `grnts`"), "{message}");
        assert!(message.contains("expected one of `match`, `credential`, `grants`"), "{message}");
        assert!(!message.contains(" at line "), "{message}");
    }

    #[test]
    fn an_unknown_capability_is_reported_with_its_line_and_the_valid_ones() {
        let text = "version: 1\nprincipals:\n  - match: a\n  - match: b\n    grants:\n      card: read\n";

        let message = error_of(text);

        assert!(message.starts_with("policy:6:7: principals[1].grants: unknown capability \"card\""), "{message}");
        assert!(message.contains("expected one of cards, dashboards, collections, databases, datasets"), "{message}");
    }

    #[test]
    fn a_file_error_starts_with_the_file_name_and_line() {
        let error =
            Policy::parse_named("policy.yaml", "version: 1\nprincipals:\n  - match: a\n    grants: { cards: fulll }\n")
                .unwrap_err();

        assert_eq!(error.location(), Some(Location { line: 4, column: 22 }));
        assert!(error.to_string().starts_with("policy.yaml:4:22: principals[0].grants.cards: unknown variant `fulll`"));
    }

    #[test]
    fn semantic_errors_point_at_the_offending_key_and_say_what_is_valid() {
        let cases = [
            ("version: 2\nprincipals: []\n", "policy:1:1: version: 2 is not supported; the only version is 1"),
            (
                "version: 1\nprincipals:\n  - match: a\n    rate: 5/x\n",
                "policy:4:5: principals[0].rate: rate \"5/x\" is not valid; expected N/s, N/m or N/h",
            ),
            (
                "version: 1\ncredentials:\n  a: { api_key_env: K }\nprincipals:\n  - match: a\n  - match: b\n    credential: nope\n",
                "policy:7:5: principals[1].credential: credential \"nope\" is not defined; defined credentials: a",
            ),
            (
                "version: 1\ndefault_credential: x\nprincipals: []\n",
                "policy:2:1: default_credential: credential \"x\" is not defined",
            ),
            (
                "version: 1\ncredentials:\n  one: {}\nprincipals: []\n",
                "policy:3:3: credentials.one: credential \"one\" names no source",
            ),
            (
                "version: 1\ncredentials:\n  two: { api_key_env: K, username: u, password_env: P }\nprincipals: []\n",
                "policy:3:3: credentials.two: credential \"two\" names both an api key and a username",
            ),
            ("version: 1\nprincipals:\n  - match: ''\n", "policy:3:5: principals[0].match is empty; write a principal"),
            (
                "version: 1\nprincipals:\n  - match: a\n    max_rows: 0\n",
                "policy:4:5: principals[0].max_rows: 0 would allow no rows",
            ),
            (
                "version: 1\nprincipals:\n  - match: a\n    max_streams: 0\n",
                "policy:4:5: principals[0].max_streams: 0 would allow no streamed call",
            ),
        ];
        for (text, expected) in cases {
            let message = error_of(text);
            assert!(message.starts_with(expected), "expected {expected:?}, got {message:?}");
        }
    }

    #[test]
    fn a_rule_rate_parses_beside_the_rate_and_is_keyed_by_the_rules_match() {
        let text = "version: 1\nprincipals:\n  - match: \"agents/*\"\n    rate: 5/s\n    rule_rate: 100/m\n  - match: solo\n    rule_rate: 1/h\n";
        let policy = Policy::parse(text).unwrap();

        let both = policy.call_rates(0, "agents/a");
        let shared_only = policy.call_rates(1, "solo");

        assert_eq!(policy.rate(0), Some(Rate { calls: 5, period: RatePeriod::Second }));
        assert_eq!(policy.rule_rate(0), Some(Rate { calls: 100, period: RatePeriod::Minute }));
        assert_eq!(both.principal, Some(("agents/a", Rate { calls: 5, period: RatePeriod::Second })));
        assert_eq!(both.rule, Some(("agents/*", Rate { calls: 100, period: RatePeriod::Minute })));
        assert_eq!(shared_only.principal, None);
        assert_eq!(shared_only.rule, Some(("solo", Rate { calls: 1, period: RatePeriod::Hour })));
        assert_eq!(policy.call_rates(2, "nobody"), CallRates::default());
        assert_eq!(Policy::allow_all().call_rates(0, "anyone"), CallRates::default());
    }

    #[test]
    fn a_bad_rule_rate_is_reported_at_its_own_line_and_a_misspelt_one_is_unknown() {
        let bad = error_of("version: 1\nprincipals:\n  - match: a\n    rate: 5/s\n    rule_rate: 0/s\n");
        let misspelt = error_of("version: 1\nprincipals:\n  - match: a\n    rule_rat: 5/s\n");

        assert!(bad.starts_with("policy:5:5: principals[0].rule_rate: rate \"0/s\" is not valid"), "{bad}");
        assert!(misspelt.starts_with("policy:4:5: principals[0]: unknown field `rule_rat`"), "{misspelt}");
        assert!(misspelt.contains("`rate`, `rule_rate`"), "{misspelt}");
    }

    #[test]
    fn loading_a_missing_file_names_the_file() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("absent.yaml");

        let message = Policy::load(&path).unwrap_err().to_string();

        assert!(message.starts_with("policy file "), "{message}");
        assert!(message.contains("absent.yaml could not be read: entity not found"), "{message}");
    }

    #[test]
    fn a_rule_uses_its_own_credential_else_the_default() {
        let policy = Policy::parse(API_EXAMPLE).unwrap();

        assert_eq!(policy.credential_for(0), Some("reporting"));
        assert_eq!(policy.credential_for(1), Some("default"));
        assert_eq!(policy.credential_for(2), Some("admin"));
        assert_eq!(policy.credential_for(3), None);
        assert_eq!(Policy::allow_all().credential_for(0), None);
    }

    #[test]
    fn the_first_matching_rule_is_found() {
        let policy = Policy::parse(API_EXAMPLE).unwrap();

        assert_eq!(policy.matching_rule("spiffe://cluster.local/ns/orders/sa/orders-api"), Some(0));
        assert_eq!(policy.matching_rule("spiffe://cluster.local/ns/agents/sa/agent-7"), Some(1));
        assert_eq!(policy.matching_rule("platform-admin"), Some(2));
        assert_eq!(policy.matching_rule("someone-else"), None);
    }
}
