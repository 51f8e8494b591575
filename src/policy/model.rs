//! Owns the policy file's shape as YAML spells it (API.md, "Policy file format"): capabilities,
//! levels, credential specs and principal rules. Every struct rejects unknown keys, so a typo is an
//! error instead of a silent change of access.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

/// The whole policy file, as written; [`super::Policy`] is the validated form.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// The format version; only 1 exists.
    pub version: u32,
    /// When true, decisions are logged but none is enforced.
    #[serde(default)]
    pub dry_run: bool,
    /// How the gateway authenticates to Metabase, by credential name.
    #[serde(default)]
    pub credentials: BTreeMap<String, CredentialSpec>,
    /// The credential used for principals whose rule names none.
    #[serde(default)]
    pub default_credential: Option<String>,
    /// The principal rules, in order; the first that matches a caller applies.
    pub principals: Vec<PrincipalRule>,
}

/// Says where a credential's parts come from; secrets are never written inline.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialSpec {
    /// The environment variable holding a Metabase API key.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// The file holding a Metabase API key.
    #[serde(default)]
    pub api_key_file: Option<String>,
    /// The Metabase user's email, written out.
    #[serde(default)]
    pub username: Option<String>,
    /// The environment variable holding the Metabase user's email.
    #[serde(default)]
    pub username_env: Option<String>,
    /// The environment variable holding the user's password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// The file holding the user's password.
    #[serde(default)]
    pub password_file: Option<String>,
}

impl CredentialSpec {
    /// Checks that the spec names exactly one API key source, or exactly one username source
    /// together with exactly one password source; the error says what is wrong and what is valid.
    pub fn check(&self) -> Result<(), String> {
        const VALID: &str = "use api_key_env or api_key_file, or username (or username_env) with password_env or \
                             password_file";
        let api_keys = [&self.api_key_env, &self.api_key_file].iter().filter(|part| part.is_some()).count();
        let usernames = [&self.username, &self.username_env].iter().filter(|part| part.is_some()).count();
        let passwords = [&self.password_env, &self.password_file].iter().filter(|part| part.is_some()).count();
        match (api_keys, usernames, passwords) {
            (1, 0, 0) | (0, 1, 1) => Ok(()),
            (0, 0, 0) => Err(format!("names no source; {VALID}")),
            (2, _, _) => Err("names both api_key_env and api_key_file; keep one".to_owned()),
            (1, _, _) => Err(format!("names both an api key and a username or password; {VALID}")),
            (0, 2, _) => Err("names both username and username_env; keep one".to_owned()),
            (0, _, 2) => Err("names both password_env and password_file; keep one".to_owned()),
            (0, 1, _) => Err("names a username but no password_env or password_file".to_owned()),
            _ => Err("names a password but no username or username_env".to_owned()),
        }
    }
}

/// One entry of `principals`: which callers it matches and what they may do.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalRule {
    /// The principal, exact or a glob whose `*` matches any characters (including `/`).
    #[serde(rename = "match")]
    pub pattern: String,
    /// The credential these callers use; the policy's default when absent.
    #[serde(default)]
    pub credential: Option<String>,
    /// The level per capability key (a capability name or `*`); anything absent is `off`.
    #[serde(default, deserialize_with = "deserialize_grants")]
    pub grants: BTreeMap<String, Level>,
    /// When present, the only collections (with their subtrees) these callers may reach.
    #[serde(default)]
    pub collections: Option<Vec<i64>>,
    /// When present, the only databases these callers may reach.
    #[serde(default)]
    pub databases: Option<Vec<i64>>,
    /// The most rows one query may return to these callers.
    #[serde(default)]
    pub max_rows: Option<u64>,
    /// The request rate of each principal the rule matches, such as `50/s`, `100/m` or `1000/h`.
    #[serde(default)]
    pub rate: Option<String>,
    /// The request rate all the principals the rule matches share, together, such as `100/s`.
    #[serde(default)]
    pub rule_rate: Option<String>,
    /// The most streamed calls (RunCard, RunQuery, exports) each principal the rule matches may
    /// have open at once; more are answered RESOURCE_EXHAUSTED. Unlimited when absent.
    #[serde(default)]
    pub max_streams: Option<u32>,
}

impl PrincipalRule {
    /// Returns the level the rule grants for a capability: its own key, else `*`, else `off`.
    pub fn level(&self, capability: Capability) -> Level {
        self.grants.get(capability.as_str()).or_else(|| self.grants.get("*")).copied().unwrap_or(Level::Off)
    }

    /// Reports whether the rule's pattern matches a principal; `*` matches any run of characters.
    pub fn matches(&self, principal: &str) -> bool {
        glob_matches(&self.pattern, principal)
    }
}

/// Matches `text` against a pattern in which `*` stands for any characters and all else is literal.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let mut pieces = pattern.split('*');
    let first = pieces.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let middle: Vec<&str> = pieces.collect();
    let Some((last, between)) = middle.split_last() else {
        return rest.is_empty();
    };
    for piece in between {
        match rest.find(piece) {
            Some(found) => rest = &rest[found + piece.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// How much of a capability a principal has; `Off < Read < Full`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Nothing.
    Off,
    /// List, get, search and run saved questions; MBQL queries only for datasets.
    Read,
    /// Everything `read` allows plus create, update, delete, sync and membership changes.
    Full,
}

impl Level {
    /// Returns the level as the policy file spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Off => "off",
            Level::Read => "read",
            Level::Full => "full",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// An area of Metabase a policy grants a level of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Capability {
    /// Saved questions and models.
    Cards,
    /// Dashboards.
    Dashboards,
    /// Collections.
    Collections,
    /// Database connections.
    Databases,
    /// Ad-hoc queries; native SQL needs `full`.
    Datasets,
    /// Metabase users.
    Users,
    /// Permission groups, memberships and the permissions graph.
    Groups,
    /// Alerts.
    Alerts,
    /// Search.
    Search,
    /// The gateway's audit log.
    Audit,
}

impl Capability {
    /// Lists every capability, in the order the documentation gives them.
    pub const ALL: [Capability; 10] = [
        Capability::Cards,
        Capability::Dashboards,
        Capability::Collections,
        Capability::Databases,
        Capability::Datasets,
        Capability::Users,
        Capability::Groups,
        Capability::Alerts,
        Capability::Search,
        Capability::Audit,
    ];

    /// Returns the capability's key in a policy's `grants`.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Cards => "cards",
            Capability::Dashboards => "dashboards",
            Capability::Collections => "collections",
            Capability::Databases => "databases",
            Capability::Datasets => "datasets",
            Capability::Users => "users",
            Capability::Groups => "groups",
            Capability::Alerts => "alerts",
            Capability::Search => "search",
            Capability::Audit => "audit",
        }
    }

    /// Returns the capability a `grants` key names, if it names one (`*` names them all, not one).
    pub fn parse(key: &str) -> Option<Capability> {
        Capability::ALL.into_iter().find(|capability| capability.as_str() == key)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// Reads `grants`, rejecting keys that name no capability and keys given twice.
fn deserialize_grants<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BTreeMap<String, Level>, D::Error> {
    deserializer.deserialize_map(GrantsVisitor)
}

struct GrantsVisitor;

impl<'de> Visitor<'de> for GrantsVisitor {
    type Value = BTreeMap<String, Level>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a map from capability to level, such as { cards: read }")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut grants = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            if key != "*" && Capability::parse(&key).is_none() {
                let expected: Vec<&str> = Capability::ALL.iter().map(|capability| capability.as_str()).collect();
                return Err(de::Error::custom(format!(
                    "unknown capability {key:?}, expected one of {}, or \"*\" for all",
                    expected.join(", ")
                )));
            }
            let level: Level = map.next_value()?;
            if grants.insert(key.clone(), level).is_some() {
                return Err(de::Error::custom(format!("capability {key:?} is granted twice")));
            }
        }
        Ok(grants)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(pattern: &str, grants: &[(&str, Level)]) -> PrincipalRule {
        PrincipalRule {
            pattern: pattern.to_owned(),
            credential: None,
            grants: grants.iter().map(|(key, level)| ((*key).to_owned(), *level)).collect(),
            collections: None,
            databases: None,
            max_rows: None,
            rate: None,
            rule_rate: None,
            max_streams: None,
        }
    }

    #[test]
    fn levels_order_off_below_read_below_full() {
        assert!(Level::Off < Level::Read);
        assert!(Level::Read < Level::Full);
        let parsed: Vec<Level> = serde_yaml::from_str("[off, read, full]").unwrap();
        assert_eq!(parsed, [Level::Off, Level::Read, Level::Full]);
    }

    #[test]
    fn every_capability_round_trips_through_its_key() {
        for capability in Capability::ALL {
            assert_eq!(Capability::parse(capability.as_str()), Some(capability));
        }
        assert_eq!(Capability::parse("*"), None);
        assert_eq!(Capability::parse("card"), None);
    }

    #[test]
    fn a_capability_key_wins_over_star_and_absent_keys_are_off() {
        let with_star = rule("p", &[("*", Level::Full), ("users", Level::Off)]);
        let without_star = rule("p", &[("cards", Level::Read)]);

        assert_eq!(with_star.level(Capability::Users), Level::Off);
        assert_eq!(with_star.level(Capability::Groups), Level::Full);
        assert_eq!(without_star.level(Capability::Cards), Level::Read);
        assert_eq!(without_star.level(Capability::Dashboards), Level::Off);
    }

    #[test]
    fn star_in_a_pattern_matches_any_characters_including_slashes() {
        let agents = rule("spiffe://cluster.local/ns/agents/sa/*", &[]);
        let middle = rule("spiffe://*/sa/orders-api", &[]);
        let everyone = rule("*", &[]);
        let exact = rule("platform-admin", &[]);

        assert!(agents.matches("spiffe://cluster.local/ns/agents/sa/agent-7"));
        assert!(agents.matches("spiffe://cluster.local/ns/agents/sa/team/agent-7"));
        assert!(!agents.matches("spiffe://cluster.local/ns/orders/sa/orders-api"));
        assert!(middle.matches("spiffe://cluster.local/ns/orders/sa/orders-api"));
        assert!(!middle.matches("spiffe://cluster.local/ns/orders/sa/orders-api-2"));
        assert!(everyone.matches(""));
        assert!(exact.matches("platform-admin"));
        assert!(!exact.matches("platform-admin-2"));
        assert!(!rule("a*a", &[]).matches("a"));
    }

    #[test]
    fn credential_spec_needs_exactly_one_source() {
        let api_key = CredentialSpec { api_key_env: Some("KEY".into()), ..CredentialSpec::default() };
        let session = CredentialSpec {
            username: Some("ada@example.com".into()),
            password_file: Some("/run/secret".into()),
            ..CredentialSpec::default()
        };
        let both = CredentialSpec { api_key_file: Some("/k".into()), ..session.clone() };
        let two_keys = CredentialSpec { api_key_file: Some("/k".into()), ..api_key.clone() };
        let no_password = CredentialSpec { username_env: Some("USER".into()), ..CredentialSpec::default() };

        assert_eq!(api_key.check(), Ok(()));
        assert_eq!(session.check(), Ok(()));
        assert!(CredentialSpec::default().check().unwrap_err().starts_with("names no source; use api_key_env"));
        assert!(both.check().unwrap_err().contains("both an api key and a username"));
        assert!(two_keys.check().unwrap_err().contains("both api_key_env and api_key_file"));
        assert!(no_password.check().unwrap_err().contains("no password_env or password_file"));
    }
}
