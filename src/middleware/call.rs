//! The per-call context the access layer hands to handlers: who is calling, the policy rule that
//! applies, the Metabase client for the caller's credential, and the audit note handlers fill in
//! (resources touched, rows sent, narrowing decisions).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tonic::Status;

use crate::audit::Decision as AuditDecision;
use crate::error::GatewayError;
use crate::identity::Identity;
use crate::metabase::MetabaseClient;
use crate::policy::{CollectionScope, Policy};

/// What a handler adds to the call's audit event.
#[derive(Clone, Debug, Default)]
pub struct AuditNote {
    /// Resources the call touched, such as `card` 42 and `collection` 7.
    pub resources: BTreeMap<String, i64>,
    /// Rows sent, for queries.
    pub rows: Option<i64>,
    /// The call's parameters, where they are worth recording (never credentials or rows).
    pub parameters: Option<Value>,
    /// A denial decided in the handler (resource narrowing), with its reason.
    pub denied: Option<(AuditDecision, String)>,
    /// Why a stream stopped short, such as `METABASE_EXPORT_LIMIT`.
    pub limit_cause: Option<&'static str>,
    /// What the call's query does, as the inspector found it: `native SQL on database 1`.
    pub query: Option<String>,
    /// Bytes of file sent, for exports.
    pub bytes: Option<u64>,
}

/// The context of one authorised call.
#[derive(Clone)]
pub struct CallContext {
    /// The caller.
    pub identity: Identity,
    /// The policy in force when the call arrived.
    pub policy: Arc<Policy>,
    /// The index of the principal rule that matched.
    pub rule: Option<usize>,
    /// The Metabase client for the caller's credential.
    pub client: MetabaseClient,
    /// The credential's name (never its secret).
    pub credential: String,
    /// Whether decisions are logged but not enforced.
    pub dry_run: bool,
    /// What the handler adds to the audit event.
    pub note: Arc<Mutex<AuditNote>>,
}

impl CallContext {
    /// Returns the context the access layer put on a request.
    pub fn of<T>(request: &tonic::Request<T>) -> Result<CallContext, Status> {
        request.extensions().get::<CallContext>().cloned().ok_or_else(|| {
            Status::from(GatewayError::Internal {
                message: "the call reached a handler without an access context".into(),
            })
        })
    }

    fn with_note(&self, change: impl FnOnce(&mut AuditNote)) {
        if let Ok(mut note) = self.note.lock() {
            change(&mut note);
        }
    }

    /// Records a resource the call touched.
    pub fn note_resource(&self, kind: &str, id: i64) {
        self.with_note(|note| {
            note.resources.insert(kind.to_owned(), id);
        });
    }

    /// Records how many rows were sent.
    pub fn note_rows(&self, rows: i64) {
        self.with_note(|note| note.rows = Some(rows));
    }

    /// Records which limit cut a stream short.
    pub fn note_limit(&self, cause: &'static str) {
        self.with_note(|note| note.limit_cause = Some(cause));
    }

    /// Adds bytes of an export sent to the caller.
    pub fn note_bytes(&self, bytes: u64) {
        self.with_note(|note| note.bytes = Some(note.bytes.unwrap_or_default() + bytes));
    }

    /// Records what the call's query does, for the audit sentence.
    pub fn note_query(&self, description: String) {
        self.with_note(|note| note.query = Some(description));
    }

    /// Records the call's parameters.
    pub fn note_parameters(&self, parameters: Value) {
        self.with_note(|note| note.parameters = Some(parameters));
    }

    /// Denies the call for `reason`, unless the policy is in dry-run mode, where the denial is
    /// only recorded.
    fn deny(&self, reason: String) -> Result<(), Status> {
        let decision = if self.dry_run { AuditDecision::DryRunDenied } else { AuditDecision::Denied };
        self.with_note(|note| note.denied = Some((decision, reason.clone())));
        if self.dry_run {
            tracing::warn!(principal = %self.identity.principal, %reason, "dry run: would deny");
            return Ok(());
        }
        Err(GatewayError::PolicyDenied { message: format!("{} may not do this: {reason}", self.identity.principal) }
            .into())
    }

    /// Denies the call for a reason found while narrowing an answer, returning the status to
    /// answer with. Narrowing sees everything in dry run, so this is never a dry-run denial.
    pub fn denial(&self, reason: String) -> Status {
        self.with_note(|note| note.denied = Some((AuditDecision::Denied, reason.clone())));
        GatewayError::PolicyDenied { message: format!("{} may not do this: {reason}", self.identity.principal) }.into()
    }

    /// Checks the principal's collection narrowing for one collection (`None` is the root).
    pub fn check_collection(&self, scope: &CollectionScope) -> Result<(), Status> {
        if crate::policy::allows_collection(&self.policy, self.rule, scope) {
            return Ok(());
        }
        let place = scope.id.map_or_else(|| "the root collection".to_owned(), |id| format!("collection {id}"));
        self.deny(format!("{place} is outside its collections"))
    }

    /// Checks the principal's database narrowing.
    pub fn check_database(&self, database_id: i64) -> Result<(), Status> {
        if crate::policy::allows_database(&self.policy, self.rule, database_id) {
            return Ok(());
        }
        self.deny(format!("database {database_id} is outside its databases"))
    }

    /// Checks that the principal may run a query of this kind: MBQL needs `datasets: read` and
    /// native SQL `datasets: full`, whichever RPC carries the query (a saved query needs the
    /// grant of running it ad hoc).
    pub fn check_query_grant(&self, native: bool) -> Result<(), Status> {
        let request = crate::policy::Request {
            principal: &self.identity.principal,
            rpc: "/metabase.gateway.v1.DatasetService/RunQuery",
            native_sql: native,
            collection: None,
            database: None,
        };
        let decision = crate::policy::authorize_with(&self.policy, self.rule, &request);
        if decision.allowed {
            return Ok(());
        }
        let reason =
            if native { decision.reason } else { format!("an MBQL query needs datasets: read; {}", decision.reason) };
        self.deny(reason)
    }

    /// Checks that the principal may run a saved question: the grant RunCard needs (`cards:
    /// read`), for calls whose request decides what they run (a Flight descriptor naming a card).
    pub fn check_card_grant(&self) -> Result<(), Status> {
        let request = crate::policy::Request {
            principal: &self.identity.principal,
            rpc: "/metabase.gateway.v1.CardService/RunCard",
            native_sql: false,
            collection: None,
            database: None,
        };
        let decision = crate::policy::authorize_with(&self.policy, self.rule, &request);
        if decision.allowed {
            return Ok(());
        }
        self.deny(format!("a saved question needs cards: read; {}", decision.reason))
    }

    /// Returns whether a collection is visible to the principal, for filtering lists.
    pub fn sees_collection(&self, scope: &CollectionScope) -> bool {
        self.dry_run || crate::policy::allows_collection(&self.policy, self.rule, scope)
    }

    /// Returns whether a database is visible to the principal, for filtering lists.
    pub fn sees_database(&self, database_id: i64) -> bool {
        self.dry_run || crate::policy::allows_database(&self.policy, self.rule, database_id)
    }

    /// Returns whether the principal's collections are narrowed at all.
    pub fn narrows_collections(&self) -> bool {
        !self.sees_collection(&CollectionScope { id: None, ancestors: Vec::new() })
    }

    /// Returns the policy's row limit for the principal.
    pub fn max_rows(&self) -> Option<u64> {
        crate::policy::max_rows(&self.policy, self.rule)
    }
}

/// Reads a collection's ancestry from Metabase's `location` (`/1/4/`).
pub(crate) fn scope(id: Option<i64>, location: Option<&str>) -> CollectionScope {
    let ancestors =
        location.map(|location| location.split('/').filter_map(|part| part.parse().ok()).collect()).unwrap_or_default();
    CollectionScope { id, ancestors }
}
