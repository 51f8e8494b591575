//! Owns the gateway's access policy (API.md, "Identity, policy and audit"): the YAML file and its
//! validation, the pure [`authorize`] decision over the table of RPCs ([`crate::rpcs`]), request
//! rates, the reloading [`PolicyStore`], and the human explanations behind `policy check` and
//! `policy explain`.

mod credentials;
pub(crate) mod decide;
pub(crate) mod error;
pub(crate) mod explain;
pub(crate) mod inspect;
pub(crate) mod load;
pub(crate) mod model;
pub(crate) mod rate;
pub(crate) mod store;

use std::path::Path;

pub use self::decide::CollectionScope;
pub(crate) use self::decide::{Request, allows_collection, allows_database, authorize_with, max_rows};
pub use self::error::{Location, PolicyError};
pub use self::explain::explain;
pub use self::load::Policy;
pub(crate) use self::model::{Capability, CredentialSpec, Level};
pub use self::rate::Rate;
pub(crate) use self::rate::RateLimiter;
pub(crate) use self::store::PolicyStore;

/// Loads and checks a policy file, returning a one-line summary such as
/// `policy.yaml: ok, 3 principals, 2 credentials`; the error names the line of the problem.
pub fn check_file(path: impl AsRef<Path>) -> Result<String, PolicyError> {
    let path = path.as_ref();
    let policy = Policy::load(path)?;
    let principals = plural(policy.principals().len(), "principal");
    let credentials = plural(policy.file().credentials.len(), "credential");
    let dry_run = if policy.dry_run() { " (dry run: decisions are logged, not enforced)" } else { "" };
    Ok(format!("{}: ok, {principals}, {credentials}{dry_run}", path.display()))
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 { format!("1 {noun}") } else { format!("{count} {noun}s") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::fixtures::API_EXAMPLE;

    #[test]
    fn check_file_summarises_a_valid_file_and_rejects_an_invalid_one_with_its_line() {
        let directory = tempfile::tempdir().unwrap();
        let good = directory.path().join("policy.yaml");
        let bad = directory.path().join("bad.yaml");
        std::fs::write(&good, API_EXAMPLE).unwrap();
        std::fs::write(&bad, "version: 1\nprincipals:\n  - match: a\n    grnts: {}\n").unwrap();

        let summary = check_file(&good).unwrap();
        let error = check_file(&bad).unwrap_err().to_string();

        assert_eq!(summary, format!("{}: ok, 3 principals, 3 credentials", good.display()));
        assert!(error.starts_with(&format!("{}:4:5: principals[0]: unknown field `grnts`", bad.display())), "{error}");
    }
}

/// Policy texts shared by the tests of several files.
#[cfg(test)]
pub(crate) mod fixtures {
    /// The example policy of API.md, "Policy file format", verbatim.
    pub(crate) const API_EXAMPLE: &str = r#"version: 1
dry_run: false                 # true: log every decision, enforce none
credentials:                   # how the gateway authenticates to Metabase; secrets never inline
  default:   { api_key_env: MBGRPC_METABASE_API_KEY }
  reporting: { api_key_file: /run/secrets/metabase-reporting-key }
  admin:     { username_env: MB_ADMIN_USER, password_file: /run/secrets/metabase-admin-password }
default_credential: default    # for principals that name none
principals:                    # first match wins; no match: everything denied
  - match: "spiffe://cluster.local/ns/orders/sa/orders-api"     # exact, or a glob with *
    credential: reporting
    grants: { cards: read, dashboards: read, collections: read, search: read }
    collections: [5]           # these collections and everything below them
    max_rows: 100000
    rate: 50/s
  - match: "spiffe://cluster.local/ns/agents/sa/*"
    grants: { cards: read, datasets: read, search: read }
    databases: [1]
    rate: 5/s
  - match: "platform-admin"
    credential: admin
    grants: { "*": full }
"#;
}
