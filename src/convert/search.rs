//! Search: the client's search hit model to `SearchResult`.

use super::model::{extra, key_id, proto_of, timestamp};
use crate::metabase::{CollectionSummary, SearchResult as UpstreamResult};
use crate::pb::v1::{SearchCollection, SearchResult};

impl From<CollectionSummary> for SearchCollection {
    fn from(collection: CollectionSummary) -> Self {
        SearchCollection {
            id: collection.id.as_ref().and_then(key_id),
            name: collection.name.unwrap_or_default(),
            authority_level: collection.authority_level,
            extra: extra(collection.extra, [("location", proto_of(collection.location.as_ref()))]),
        }
    }
}

impl From<UpstreamResult> for SearchResult {
    fn from(result: UpstreamResult) -> Self {
        let id = result.id_as_i64().unwrap_or_default();
        SearchResult {
            model: result.model.unwrap_or_default(),
            id,
            name: result.name.unwrap_or_default(),
            description: result.description,
            archived: result.archived,
            collection: result.collection.map(SearchCollection::from),
            database_id: result.database_id.map(|id| id.get()),
            table_id: result.table_id.map(|id| id.get()),
            dashboard_id: result.dashboard.and_then(|dashboard| dashboard.id).map(|id| id.get()),
            created_at: timestamp(result.created_at.as_deref()),
            updated_at: timestamp(result.updated_at.as_deref()),
            extra: extra(
                result.extra,
                [
                    ("table_name", proto_of(result.table_name.as_ref())),
                    ("table_schema", proto_of(result.table_schema.as_ref())),
                    ("last_edited_at", proto_of(result.last_edited_at.as_ref())),
                ],
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::convert::json::from_struct;

    fn result(value: Value) -> SearchResult {
        SearchResult::from(serde_json::from_value::<UpstreamResult>(value).unwrap())
    }

    #[test]
    fn search_hits_read_ids_collections_and_dashboards_and_keep_unknown_keys_in_extra() {
        let cases = [
            (
                json!({"model": "card", "id": 42, "name": "Orders", "scores": [],
                    "collection": {"id": 5, "name": "Sales", "authority_level": "official", "type": null},
                    "dashboard": {"id": 7, "name": "Board"}, "table_name": "ORDERS"}),
                (42, Some(5), Some(7)),
            ),
            (json!({"model": "indexed-entity", "id": "17", "name": "Acme", "scores": []}), (17, None, None)),
            (
                json!({"model": "dashboard", "id": 3, "scores": [], "collection": {"id": "root", "name": "Our analytics"}}),
                (3, None, None),
            ),
        ];
        for (hit, (id, collection, dashboard)) in cases {
            let converted = result(hit);
            assert_eq!(converted.id, id);
            assert_eq!(converted.collection.as_ref().and_then(|collection| collection.id), collection);
            assert_eq!(converted.dashboard_id, dashboard);
            let extra = from_struct(converted.extra.unwrap());
            assert!(extra.contains_key("scores") && !extra.contains_key("dashboard") && !extra.contains_key("name"));
        }
    }

    #[test]
    fn a_search_collection_keeps_its_location_and_other_keys_in_extra() {
        let converted = result(json!({"model": "card", "id": 1, "table_name": "ORDERS",
            "collection": {"id": 5, "name": "Sales", "location": "/2/", "effective_ancestors": []}}));

        let collection = converted.collection.unwrap();
        assert_eq!((collection.id, collection.name.as_str()), (Some(5), "Sales"));
        let collection_extra = from_struct(collection.extra.unwrap());
        assert_eq!(
            (&collection_extra["location"], &collection_extra["effective_ancestors"]),
            (&json!("/2/"), &json!([]))
        );
        assert_eq!(from_struct(converted.extra.unwrap())["table_name"], json!("ORDERS"));
    }
}
