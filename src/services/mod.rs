//! The tonic handlers, one file per gRPC service. Each handler reads the request, converts it,
//! makes one Metabase call and converts the answer back; conversions live in `convert/`.

mod alerts;
mod audit;
mod cards;
mod collections;
mod dashboards;
mod databases;
mod dataset;
mod gateway;
mod metadata;
mod notifications;
mod permissions;
mod queries;
mod search;
mod users;

use std::collections::HashMap;

use tokio::sync::RwLock;
use tonic::Status;

pub use self::alerts::AlertApi;
pub use self::audit::AuditApi;
pub use self::cards::CardApi;
pub use self::collections::CollectionApi;
pub use self::dashboards::DashboardApi;
pub use self::databases::DatabaseApi;
pub use self::dataset::DatasetApi;
pub use self::gateway::GatewayApi;
pub use self::metadata::MetadataApi;
pub use self::notifications::NotificationApi;
pub use self::permissions::PermissionsApi;
pub use self::search::SearchApi;
pub use self::users::UserApi;
use crate::error::GatewayError;
use crate::metabase::{MetabaseClient, MetabaseError, MetabaseVersion};
use crate::middleware::call::CallContext;
use crate::narrow::Visibility;
use crate::policy::CollectionScope;

/// The Metabase version the gateway last read, and whether it is in the tested range.
#[derive(Debug, Clone)]
pub struct KnownVersion {
    /// The tag, such as `v0.58.3`.
    pub tag: String,
    /// The build hash.
    pub hash: String,
    /// The parsed version, when the tag is a release tag.
    pub parsed: Option<MetabaseVersion>,
}

/// What every handler shares.
pub struct GatewayState {
    /// The Metabase client.
    pub client: MetabaseClient,
    version: RwLock<Option<KnownVersion>>,
}

/// The Metabase versions the gateway is tested against.
pub const TESTED_RANGE: &str = "0.50 to 0.62";

impl GatewayState {
    /// Returns the shared state around a client.
    pub fn new(client: MetabaseClient) -> Self {
        GatewayState { client, version: RwLock::new(None) }
    }

    /// Reads Metabase's version from `/api/session/properties`, warning outside the tested range.
    pub async fn refresh_version(&self) -> Option<KnownVersion> {
        let properties = match self.client.server().properties().await {
            Ok(properties) => properties,
            Err(error) => {
                tracing::warn!(%error, "could not read the metabase version");
                return self.version.read().await.clone();
            }
        };
        let tag = properties.version.tag.clone().unwrap_or_default();
        let parsed = MetabaseVersion::parse(&tag);
        match parsed {
            Some(version) if version.is_tested() => {
                tracing::info!(version = %tag, "metabase version is in the tested range")
            }
            _ => tracing::warn!(version = %tag, tested = TESTED_RANGE, "metabase version is outside the tested range"),
        }
        let known = KnownVersion { tag, hash: properties.version.hash.clone().unwrap_or_default(), parsed };
        *self.version.write().await = Some(known.clone());
        Some(known)
    }

    /// Returns the version read last, if any.
    pub async fn version(&self) -> Option<KnownVersion> {
        self.version.read().await.clone()
    }
}

/// Returns the collection scope of an object that carries `collection_id` and, hydrated, a
/// `collection` with its `location` (cards, dashboards); `locations` fills in the ancestry when
/// the object carries none.
///
/// An object archived directly is presented in the Trash (`collection_id` is the Trash's id) but
/// keeps its own collection hydrated; its scope is that collection, so a caller may read and
/// restore from the Trash what it was allowed to archive, and nothing else.
pub fn object_scope(object: &serde_json::Value, locations: Option<&HashMap<i64, String>>) -> CollectionScope {
    let archived = object.get("archived").and_then(serde_json::Value::as_bool) == Some(true);
    let hydrated_id =
        object.get("collection").and_then(|collection| collection.get("id")).and_then(serde_json::Value::as_i64);
    let id = match hydrated_id {
        Some(original) if archived => Some(original),
        _ => object.get("collection_id").and_then(serde_json::Value::as_i64),
    };
    let hydrated =
        object.get("collection").and_then(|collection| collection.get("location")).and_then(serde_json::Value::as_str);
    let from_map = id.and_then(|id| locations.and_then(|map| map.get(&id))).map(String::as_str);
    crate::middleware::call::scope(id, hydrated.or(from_map))
}

/// Returns every live collection's location by id, read from the collection tree, for checking
/// lists against a principal's collection narrowing. Empty when the caller is not narrowed.
pub async fn collection_locations(call: &CallContext) -> Result<HashMap<i64, String>, Status> {
    if !call.narrows_collections() {
        return Ok(HashMap::new());
    }
    let tree = call.client.collections().tree(false, None).await.map_err(failed("collection tree"))?;
    let mut locations = HashMap::new();
    let mut pending: Vec<serde_json::Value> = tree.iter().map(crate::convert::to_json).collect();
    while let Some(node) = pending.pop() {
        if let (Some(id), Some(location)) = (
            node.get("id").and_then(serde_json::Value::as_i64),
            node.get("location").and_then(serde_json::Value::as_str),
        ) {
            locations.insert(id, location.to_owned());
        }
        if let Some(children) = node.get("children").and_then(serde_json::Value::as_array) {
            pending.extend(children.iter().cloned());
        }
    }
    Ok(locations)
}

/// Returns what the caller may see, for narrowing answers: everything in dry run or when its rule
/// is not narrowed, else its collections (with the tree's locations) and databases.
pub async fn visibility(call: &CallContext) -> Result<Visibility, Status> {
    if call.dry_run {
        return Ok(Visibility::everything());
    }
    let Some(rule) = call.rule.and_then(|index| call.policy.rule(index)) else {
        return Ok(Visibility::new(Some(&[]), Some(&[]), HashMap::new()));
    };
    let locations = collection_locations(call).await?;
    Ok(Visibility::new(rule.collections.as_deref(), rule.databases.as_deref(), locations))
}

/// Returns the scope of a collection id, with its ancestry from `locations`.
pub fn collection_scope(id: Option<i64>, locations: &HashMap<i64, String>) -> CollectionScope {
    crate::middleware::call::scope(id, id.and_then(|id| locations.get(&id)).map(String::as_str))
}

/// Returns a closure turning a client error about `subject` into a status.
pub fn failed(subject: impl Into<String>) -> impl FnOnce(MetabaseError) -> Status {
    let wrap = GatewayError::metabase(subject);
    move |error| Status::from(wrap(error))
}

/// Converts a page's `usize` total to the `int32` the protos carry.
pub fn total_size(total: usize) -> i32 {
    i32::try_from(total).unwrap_or(i32::MAX)
}
