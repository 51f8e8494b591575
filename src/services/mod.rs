//! The tonic handlers, one file per gRPC service. Each handler reads the request, converts it,
//! makes one Metabase call and converts the answer back; conversions live in `convert/`.

mod alerts;
mod cards;
mod collections;
mod dashboards;
mod databases;
mod dataset;
mod gateway;
mod permissions;
mod search;
mod users;

use tokio::sync::RwLock;
use tonic::Status;

pub use self::alerts::AlertApi;
pub use self::cards::CardApi;
pub use self::collections::CollectionApi;
pub use self::dashboards::DashboardApi;
pub use self::databases::DatabaseApi;
pub use self::dataset::DatasetApi;
pub use self::gateway::GatewayApi;
pub use self::permissions::PermissionsApi;
pub use self::search::SearchApi;
pub use self::users::UserApi;
use crate::error::GatewayError;
use crate::metabase::{MetabaseClient, MetabaseError, MetabaseVersion};

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

/// Returns a closure turning a client error about `subject` into a status.
pub fn failed(subject: impl Into<String>) -> impl FnOnce(MetabaseError) -> Status {
    let wrap = GatewayError::metabase(subject);
    move |error| Status::from(wrap(error))
}

/// Converts a page's `usize` total to the `int32` the protos carry.
pub fn total_size(total: usize) -> i32 {
    i32::try_from(total).unwrap_or(i32::MAX)
}
