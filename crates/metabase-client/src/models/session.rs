//! Owns the session-properties model (`GET /api/session/properties`, CONTRACT.md §3.5).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The readable settings; only `version` is typed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionProperties {
    /// The server's version.
    #[serde(default)]
    pub version: VersionInfo,
    /// Every other setting, verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `version` setting: `{"tag": "v0.58.3", "hash": "...", "date": ...}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VersionInfo {
    /// The release tag, e.g. `v0.58.3` (`v1.x` for Enterprise builds).
    #[serde(default)]
    pub tag: Option<String>,
    /// The build's git hash.
    #[serde(default)]
    pub hash: Option<String>,
    /// Every other key, verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
