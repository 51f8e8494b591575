//! Owns what several models share: [`LastEditInfo`], [`CollectionSummary`] and the `null`-tolerant
//! deserializer.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::ids::{CollectionKey, UserId};

/// Says who last edited an object and when (Metabase's hyphenated `last-edit-info` key).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LastEditInfo {
    /// The editor's user id.
    #[serde(default)]
    pub id: Option<UserId>,
    /// The editor's email address.
    #[serde(default)]
    pub email: Option<String>,
    /// The editor's first name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// The editor's last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// When the edit happened, as ISO-8601 text.
    #[serde(default)]
    pub timestamp: Option<String>,
    /// Every other key, verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A collection hydrated on another object (`collection` on a card, a dashboard or a search hit):
/// the keys read for placing the object typed, every other key verbatim. Keys Metabase did not
/// send stay absent when written back.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CollectionSummary {
    /// The collection's id; `None` or `"root"` for the root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<CollectionKey>,
    /// The collection's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The collection's ancestor path, e.g. `/1/4/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// `official`, or `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority_level: Option<String>,
    /// Every other key, verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Reads a value that Metabase may send as `null`, giving the type's default for `null`.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
