//! The tonic handlers, one file per gRPC service. Each handler reads the request, converts it,
//! makes one Metabase call and converts the answer back; conversions live in `convert/`.

mod alerts;
mod audit;
mod cards;
mod collections;
mod dashboards;
mod databases;
mod dataset;
mod flight;
mod gateway;
mod metadata;
mod notifications;
mod permissions;
mod queries;
mod search;
mod users;

use std::collections::HashMap;

use tonic::Status;

pub(crate) use self::alerts::AlertApi;
pub(crate) use self::audit::AuditApi;
pub(crate) use self::cards::CardApi;
pub(crate) use self::collections::CollectionApi;
pub(crate) use self::dashboards::DashboardApi;
pub(crate) use self::databases::DatabaseApi;
pub(crate) use self::dataset::DatasetApi;
pub(crate) use self::flight::FlightApi;
pub(crate) use self::gateway::GatewayApi;
pub(crate) use self::metadata::MetadataApi;
pub(crate) use self::notifications::NotificationApi;
pub(crate) use self::permissions::PermissionsApi;
pub(crate) use self::search::SearchApi;
pub(crate) use self::users::UserApi;
use crate::error::GatewayError;
use crate::metabase::{
    Card, CollectionId, CollectionKey, CollectionSummary, CollectionTreeNode, Dashboard, KnownVersion, MetabaseClient,
    MetabaseError,
};
use crate::middleware::call::CallContext;
use crate::narrow::Visibility;
use crate::policy::CollectionScope;

/// What every handler shares.
pub(crate) struct GatewayState {
    /// The Metabase client; the clients of callers with their own credential are its siblings.
    pub client: MetabaseClient,
}

/// The Metabase versions the gateway is tested against.
pub(crate) const TESTED_RANGE: &str = "0.50 to 0.62";

impl GatewayState {
    /// Returns the shared state around a client.
    pub(crate) fn new(client: MetabaseClient) -> Self {
        GatewayState { client }
    }

    /// Reads Metabase's version from `/api/session/properties`, warning outside the tested range;
    /// on failure, returns the version read last.
    pub(crate) async fn refresh_version(&self) -> Option<KnownVersion> {
        let known = match self.client.refresh_version().await {
            Ok(known) => known,
            Err(error) => {
                tracing::warn!(%error, "could not read the metabase version");
                return self.client.known_version();
            }
        };
        match known.parsed {
            Some(version) if version.is_tested() => {
                tracing::info!(version = %known.tag, "metabase version is in the tested range")
            }
            _ => {
                tracing::warn!(version = %known.tag, tested = TESTED_RANGE, "metabase version is outside the tested range")
            }
        }
        Some(known)
    }
}

/// An object Metabase keeps in a collection (a card, a dashboard), as the client decoded it.
pub(crate) trait Placed {
    /// Reports whether the object is in the Trash.
    fn archived(&self) -> bool;
    /// Returns the collection it is presented in (`None` is the root; the Trash when archived
    /// directly).
    fn collection_id(&self) -> Option<CollectionId>;
    /// Returns its own collection, hydrated, when Metabase sent it.
    fn hydrated_collection(&self) -> Option<&CollectionSummary>;
}

impl<J> Placed for Card<J> {
    fn archived(&self) -> bool {
        self.archived
    }

    fn collection_id(&self) -> Option<CollectionId> {
        self.collection_id
    }

    fn hydrated_collection(&self) -> Option<&CollectionSummary> {
        self.collection.as_ref()
    }
}

impl Placed for Dashboard {
    fn archived(&self) -> bool {
        self.archived
    }

    fn collection_id(&self) -> Option<CollectionId> {
        self.collection_id
    }

    fn hydrated_collection(&self) -> Option<&CollectionSummary> {
        self.collection.as_ref()
    }
}

/// Returns the collection scope of a card or dashboard: its `collection_id` and, hydrated, its
/// `collection`'s `location`; `locations` fills in the ancestry when the object carries none.
///
/// An object archived directly is presented in the Trash (`collection_id` is the Trash's id) but
/// keeps its own collection hydrated; its scope is that collection, so a caller may read and
/// restore from the Trash what it was allowed to archive, and nothing else.
pub(crate) fn object_scope(object: &impl Placed, locations: Option<&HashMap<i64, String>>) -> CollectionScope {
    let hydrated = object.hydrated_collection();
    let hydrated_id = hydrated.and_then(|collection| collection.id.as_ref()).and_then(CollectionKey::id);
    let id = match hydrated_id {
        Some(original) if object.archived() => Some(original),
        _ => object.collection_id(),
    }
    .map(CollectionId::get);
    let hydrated_location = hydrated.and_then(|collection| collection.location.as_deref());
    let from_map = id.and_then(|id| locations.and_then(|map| map.get(&id))).map(String::as_str);
    crate::middleware::call::scope(id, hydrated_location.or(from_map))
}

/// Returns every live collection's location by id, read from the collection tree, for checking
/// lists against a principal's collection narrowing. Empty when the caller is not narrowed.
pub(crate) async fn collection_locations(call: &CallContext) -> Result<HashMap<i64, String>, Status> {
    if !call.narrows_collections() {
        return Ok(HashMap::new());
    }
    let tree = call.client.collections().tree(false, None).await.map_err(failed("collection tree"))?;
    let mut locations = HashMap::new();
    let mut pending: Vec<&CollectionTreeNode> = tree.iter().collect();
    while let Some(node) = pending.pop() {
        if let (Some(id), Some(location)) = (node.id.id(), node.location.as_ref()) {
            locations.insert(id.get(), location.clone());
        }
        pending.extend(node.children.iter());
    }
    Ok(locations)
}

/// Returns what the caller may see, for narrowing answers: everything in dry run or when its rule
/// is not narrowed, else its collections (with the tree's locations) and databases.
pub(crate) async fn visibility(call: &CallContext) -> Result<Visibility, Status> {
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
pub(crate) fn collection_scope(id: Option<i64>, locations: &HashMap<i64, String>) -> CollectionScope {
    crate::middleware::call::scope(id, id.and_then(|id| locations.get(&id)).map(String::as_str))
}

/// Returns a closure turning a client error about `subject` into a status.
pub(crate) fn failed(subject: impl Into<String>) -> impl FnOnce(MetabaseError) -> Status {
    let wrap = GatewayError::metabase(subject);
    move |error| Status::from(wrap(error))
}

/// Converts a page's `usize` total to the `int32` the protos carry.
pub(crate) fn total_size(total: usize) -> i32 {
    i32::try_from(total).unwrap_or(i32::MAX)
}
