//! The one check of every query a caller supplies, ad hoc (RunQuery, ExportQuery) or saved
//! (CreateCard, UpdateCard): the inspector says what the query really does, and the caller's
//! policy must grant all of it before anything is sent to Metabase. A saved query needs the grant
//! of running it ad hoc: MBQL needs `datasets: read`, native SQL `datasets: full`; every database
//! it names must be among the caller's databases, and every saved question it reads must be one
//! the caller may read.

use serde::de::IgnoredAny;
use serde_json::Value;
use tonic::Status;

use super::cards::checked_card;
use crate::error::GatewayError;
use crate::middleware::call::CallContext;
use crate::policy::inspect::{QueryFacts, inspect};

/// Inspects a query and checks it against the caller's policy, recording what it does for the
/// audit ("ran native SQL on database 1"). The query is denied with INVALID_ARGUMENT when the
/// inspector cannot classify it, and with PERMISSION_DENIED when it does more than the caller
/// may.
pub(crate) async fn check_query(call: &CallContext, query: &Value) -> Result<QueryFacts, Status> {
    let facts = inspect(query).map_err(|error| Status::from(GatewayError::invalid_argument("query", error.message)))?;
    call.note_query(facts.describe());
    if let Some(database) = facts.databases.iter().next() {
        call.note_resource("database", *database);
    }
    call.check_query_grant(facts.native)?;
    for database in &facts.databases {
        call.check_database(*database)?;
    }
    for card in &facts.cards {
        checked_card::<IgnoredAny>(call, *card, false).await?;
    }
    Ok(facts)
}

/// Checks the query of a card being created or changed, given as the request's Struct; a request
/// without one has nothing to check.
pub(crate) async fn check_saved_query(
    call: &CallContext,
    dataset_query: Option<&prost_types::Struct>,
) -> Result<Option<QueryFacts>, Status> {
    let Some(dataset_query) = dataset_query else {
        return Ok(None);
    };
    let query = Value::Object(crate::convert::json::from_struct(dataset_query.clone()));
    check_query(call, &query).await.map(Some)
}
