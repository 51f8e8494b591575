//! Reads a card in one pass: each typed key into its field, every other key straight into
//! `extra`. (A derived `#[serde(flatten)]` buffers every unknown key and its value, then reads
//! them a second time; a card carries some thirty keys this type does not name.)

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

use super::card::Card;

impl<'de, J: Deserialize<'de>> Deserialize<'de> for Card<J> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(CardVisitor(PhantomData))
    }
}

struct CardVisitor<J>(PhantomData<J>);

/// A key, borrowed from the answer when it can be (no escapes).
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a key")
            }

            fn visit_borrowed_str<E>(self, key: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(key)))
            }

            fn visit_str<E>(self, key: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(key.to_owned())))
            }

            fn visit_string<E>(self, key: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(key)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Reads the value of a typed key; a key sent twice is refused, as for any derived struct.
fn fill<'de, A: MapAccess<'de>, T: Deserialize<'de>>(
    slot: &mut Option<T>,
    map: &mut A,
    key: &'static str,
) -> Result<(), A::Error> {
    if slot.is_some() {
        return Err(de::Error::duplicate_field(key));
    }
    *slot = Some(map.next_value()?);
    Ok(())
}

impl<'de, J: Deserialize<'de>> Visitor<'de> for CardVisitor<J> {
    type Value = Card<J>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a card object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Card<J>, A::Error> {
        let (mut id, mut entity_id, mut name, mut description, mut card_type) = (None, None, None, None, None);
        let (mut display, mut query_type, mut dataset_query, mut result_metadata) = (None, None, None, None);
        let (mut visualization_settings, mut parameters, mut database_id, mut table_id) = (None, None, None, None);
        let (mut collection_id, mut collection, mut collection_position, mut dashboard_id) = (None, None, None, None);
        let (mut dashboard_tab_id, mut parameter_mappings, mut archived, mut creator_id) = (None, None, None, None);
        let (mut can_write, mut cache_ttl, mut view_count, mut created_at) = (None, None, None, None);
        let (mut updated_at, mut last_edit_info) = (None, None);
        let mut extra = BTreeMap::new();
        while let Some(Key(key)) = map.next_key()? {
            let map = &mut map;
            match key.as_ref() {
                "id" => fill(&mut id, map, "id")?,
                "entity_id" => fill(&mut entity_id, map, "entity_id")?,
                "name" => fill(&mut name, map, "name")?,
                "description" => fill(&mut description, map, "description")?,
                "type" => fill(&mut card_type, map, "type")?,
                "display" => fill(&mut display, map, "display")?,
                "query_type" => fill(&mut query_type, map, "query_type")?,
                "dataset_query" => fill(&mut dataset_query, map, "dataset_query")?,
                "result_metadata" => fill(&mut result_metadata, map, "result_metadata")?,
                "visualization_settings" => fill(&mut visualization_settings, map, "visualization_settings")?,
                "parameters" => fill(&mut parameters, map, "parameters")?,
                "database_id" => fill(&mut database_id, map, "database_id")?,
                "table_id" => fill(&mut table_id, map, "table_id")?,
                "collection_id" => fill(&mut collection_id, map, "collection_id")?,
                "collection" => fill(&mut collection, map, "collection")?,
                "collection_position" => fill(&mut collection_position, map, "collection_position")?,
                "dashboard_id" => fill(&mut dashboard_id, map, "dashboard_id")?,
                "dashboard_tab_id" => fill(&mut dashboard_tab_id, map, "dashboard_tab_id")?,
                "parameter_mappings" => fill(&mut parameter_mappings, map, "parameter_mappings")?,
                "archived" => fill(&mut archived, map, "archived")?,
                "creator_id" => fill(&mut creator_id, map, "creator_id")?,
                "can_write" => fill(&mut can_write, map, "can_write")?,
                "cache_ttl" => fill(&mut cache_ttl, map, "cache_ttl")?,
                "view_count" => fill(&mut view_count, map, "view_count")?,
                "created_at" => fill(&mut created_at, map, "created_at")?,
                "updated_at" => fill(&mut updated_at, map, "updated_at")?,
                "last-edit-info" => fill(&mut last_edit_info, map, "last-edit-info")?,
                _ => {
                    extra.insert(key.into_owned(), map.next_value()?);
                }
            }
        }
        Ok(Card {
            id: id.ok_or_else(|| de::Error::missing_field("id"))?,
            entity_id: entity_id.flatten(),
            name: name.flatten(),
            description: description.flatten(),
            card_type: card_type.flatten(),
            display: display.flatten(),
            query_type: query_type.flatten(),
            dataset_query: dataset_query.flatten(),
            result_metadata: result_metadata.flatten(),
            visualization_settings: visualization_settings.flatten(),
            parameters: parameters.flatten().unwrap_or_default(),
            database_id: database_id.flatten(),
            table_id: table_id.flatten(),
            collection_id: collection_id.flatten(),
            collection: collection.flatten(),
            collection_position: collection_position.flatten(),
            dashboard_id: dashboard_id.flatten(),
            dashboard_tab_id: dashboard_tab_id.flatten(),
            parameter_mappings: parameter_mappings.flatten(),
            archived: archived.flatten().unwrap_or_default(),
            creator_id: creator_id.flatten(),
            can_write: can_write.flatten(),
            cache_ttl: cache_ttl.flatten(),
            view_count: view_count.flatten(),
            created_at: created_at.flatten(),
            updated_at: updated_at.flatten(),
            last_edit_info: last_edit_info.flatten(),
            extra,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::models::Card;

    /// A card with every typed key set to something other than its default.
    fn every_key() -> Value {
        json!({
            "id": 5, "entity_id": "e5", "name": "Orders", "description": "All orders", "type": "model",
            "display": "table", "query_type": "query", "dataset_query": {"database": 1},
            "result_metadata": [{"name": "ID"}], "visualization_settings": {"a": 1},
            "parameters": [{"id": "p"}], "database_id": 1, "table_id": 2, "collection_id": 3,
            "collection": {"id": 3, "name": "Sales", "location": "/"}, "collection_position": 1,
            "dashboard_id": 4, "dashboard_tab_id": 6, "parameter_mappings": [{"card_id": 5}],
            "archived": true, "creator_id": 7, "can_write": true, "cache_ttl": 60, "view_count": 9,
            "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-01-02T00:00:00Z",
            "last-edit-info": {
                "id": 7, "email": "ada@example.com", "first_name": "Ada", "last_name": "L", "timestamp": "2025-01-02T00:00:00Z"
            },
            "future_key": [1]
        })
    }

    #[test]
    fn every_typed_key_is_read_into_its_field_and_nothing_else_into_extra() {
        let card: Card = serde_json::from_value(every_key()).unwrap();

        assert_eq!(card.extra.keys().collect::<Vec<_>>(), ["future_key"]);
        assert_eq!(serde_json::to_value(&card).unwrap(), every_key());
    }

    #[test]
    fn nulls_read_as_unset_and_a_missing_id_or_a_repeated_key_is_refused() {
        let card: Card =
            serde_json::from_str(r#"{"id": 1, "archived": null, "parameters": null, "name": null}"#).unwrap();
        assert!(!card.archived && card.parameters.is_empty() && card.name.is_none());

        let missing = serde_json::from_str::<Card>(r#"{"name": "x"}"#).unwrap_err();
        assert!(missing.to_string().contains("missing field `id`"), "{missing}");
        let repeated =
            serde_json::from_str::<Card>(r#"{"id": 1, "collection_id": 2, "collection_id": 3}"#).unwrap_err();
        assert!(repeated.to_string().contains("duplicate field `collection_id`"), "{repeated}");
    }

    #[test]
    fn escaped_keys_are_read_as_the_same_keys() {
        let card: Card = serde_json::from_str(r#"{"i\u0064": 8, "fut\u0075re": true}"#).unwrap();

        assert_eq!((card.id.get(), card.extra.get("future")), (8, Some(&json!(true))));
    }
}
