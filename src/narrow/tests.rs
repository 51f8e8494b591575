//! Table-driven tests of narrowing, one group per resource kind, over the emulator's layout:
//! Analytics (1) holds Sales (2, with Regional 8 below) and Marketing (3); Finance (4) is at the
//! root; database 1 is the sample, database 2 another warehouse.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::resources::unknown_card;
use super::*;
use crate::convert::json::{to_list, to_struct};
use crate::pb::v1::{
    Alert, AlertCard, Card, Collection, CollectionItem, CollectionRef, CollectionTreeNode, Dashboard, DashboardCard,
    Database, SearchCollection, SearchResult, collection_ref,
};

fn locations() -> HashMap<i64, String> {
    [(1, "/"), (2, "/1/"), (3, "/1/"), (4, "/"), (8, "/1/2/")]
        .into_iter()
        .map(|(id, location)| (id, location.to_owned()))
        .collect()
}

/// An allow-list of a rule, `None` when the rule is not narrowed.
type Listed<'a> = Option<&'a [i64]>;

fn narrowed(collections: Listed, databases: Listed) -> Visibility {
    Visibility::new(collections, databases, locations())
}

fn in_collection(id: i64) -> Option<CollectionRef> {
    Some(CollectionRef { collection: Some(collection_ref::Collection::Id(id)) })
}

fn extra(value: Value) -> Option<prost_types::Struct> {
    Some(to_struct(value.as_object().cloned().unwrap_or_default()))
}

fn a_card(id: i64, collection: i64, database: i64) -> Card {
    Card {
        id,
        name: format!("card {id}"),
        dataset_query: extra(json!({"database": database, "type": "native", "native": {"query": "SELECT 1"}})),
        collection_id: in_collection(collection),
        database_id: Some(database),
        creator_id: 1,
        ..Card::default()
    }
}

#[test]
fn collections_are_seen_with_their_subtrees_and_never_the_root_when_narrowed() {
    let cases: &[(Listed, Option<i64>, bool)] = &[
        (None, None, true),
        (None, Some(4), true),
        (Some(&[2]), Some(2), true),
        (Some(&[2]), Some(8), true),
        (Some(&[2]), Some(1), false),
        (Some(&[2]), Some(3), false),
        (Some(&[2]), None, false),
        (Some(&[2]), Some(99), false),
        (Some(&[1]), Some(8), true),
    ];
    for (collections, id, expected) in cases {
        let visibility = narrowed(*collections, None);
        assert_eq!(visibility.sees_collection(*id, None), *expected, "{collections:?} sees {id:?}");
    }
}

#[test]
fn effective_locations_keep_only_visible_ancestors() {
    let cases: &[(&[i64], &str, &str)] =
        &[(&[2], "/1/2/", "/2/"), (&[2], "/1/", "/"), (&[1], "/1/2/", "/1/2/"), (&[8], "/1/2/8/", "/8/")];
    for (collections, location, expected) in cases {
        assert_eq!(narrowed(Some(collections), None).effective_location(location), *expected, "{collections:?}");
    }
}

#[test]
fn cards_outside_the_collections_or_databases_are_hidden() {
    let cases: &[(Listed, Listed, (i64, i64), bool)] = &[
        (None, None, (4, 2), true),
        (Some(&[2]), None, (2, 1), true),
        (Some(&[2]), None, (8, 1), true),
        (Some(&[2]), None, (1, 1), false),
        (None, Some(&[1]), (4, 2), false),
        (None, Some(&[1]), (4, 1), true),
        (Some(&[2]), Some(&[1]), (8, 2), false),
    ];
    for (collections, databases, (collection, database), expected) in cases {
        let visibility = narrowed(*collections, *databases);
        let shown = card(&visibility, a_card(7, *collection, *database));
        assert_eq!(shown.is_some(), *expected, "{collections:?} {databases:?} card in {collection} on {database}");
    }
}

#[test]
fn a_dashboard_keeps_only_the_ids_and_place_of_cards_the_caller_may_not_see() {
    let visible = DashboardCard { id: 1, card_id: Some(10), card: Some(a_card(10, 2, 1)), ..Default::default() };
    let forbidden = DashboardCard {
        id: 2,
        card_id: Some(11),
        row: 3,
        size_x: 6,
        card: Some(a_card(11, 1, 1)),
        parameter_mappings: Some(to_list(vec![json!({"card_id": 11, "target": ["dimension", ["field", 5, null]]})])),
        visualization_settings: extra(json!({"card.title": "Secret revenue"})),
        series: Some(to_list(vec![json!({"id": 12, "name": "Secret series", "collection_id": 1})])),
        ..Default::default()
    };
    let unhydrated = DashboardCard { id: 3, card_id: Some(13), card: None, ..Default::default() };
    let text_card = DashboardCard { id: 4, card_id: None, card: None, ..Default::default() };
    let dashboard_message = Dashboard {
        id: 1,
        dashcards: vec![visible.clone(), forbidden, unhydrated, text_card.clone()],
        extra: extra(json!({"param_fields": {"5": {"name": "TOTAL"}}, "collection": {"id": 2, "location": "/1/"}})),
        ..Default::default()
    };

    let shown = dashboard(&narrowed(Some(&[2]), None), dashboard_message.clone());

    assert_eq!(shown.dashcards[0], visible);
    let hidden = &shown.dashcards[1];
    assert_eq!((hidden.id, hidden.card_id, hidden.row, hidden.size_x), (2, Some(11), 3, 6));
    assert_eq!(hidden.card, Some(unknown_card(11)));
    assert_eq!((&hidden.parameter_mappings, &hidden.visualization_settings, &hidden.series), (&None, &None, &None));
    assert_eq!(shown.dashcards[2].card, Some(unknown_card(13)), "a card whose place is unknown is hidden");
    assert_eq!(shown.dashcards[3], text_card);
    let extra = crate::convert::json::from_struct(shown.extra.unwrap());
    assert!(!extra.contains_key("param_fields"));
    assert_eq!(extra["collection"]["location"], json!("/"));
    assert_eq!(dashboard(&Visibility::everything(), dashboard_message.clone()), dashboard_message);
}

#[test]
fn series_cards_outside_the_grant_are_dropped_from_visible_dashcards() {
    let series = to_list(vec![
        json!({"id": 12, "name": "Secret series", "collection_id": 1, "database_id": 1}),
        json!({"id": 13, "name": "Open series", "collection_id": 8, "database_id": 1}),
    ]);
    let dashcard = DashboardCard {
        id: 1,
        card_id: Some(10),
        card: Some(a_card(10, 2, 1)),
        series: Some(series),
        ..Default::default()
    };

    let shown = dashboard(&narrowed(Some(&[2]), None), Dashboard { dashcards: vec![dashcard], ..Default::default() });

    let kept = crate::convert::json::from_list(shown.dashcards[0].series.clone().unwrap());
    assert_eq!(kept, json!([{"id": 13, "name": "Open series", "collection_id": 8, "database_id": 1}]));
}

#[test]
fn a_collection_names_only_the_ancestors_and_parent_the_caller_may_see() {
    let regional = Collection {
        id: 8,
        location: Some("/1/2/".into()),
        parent_id: in_collection(2),
        extra: extra(json!({
            "effective_location": "/1/2/",
            "effective_ancestors": [{"id": "root", "name": "Our analytics"}, {"id": 1, "name": "Analytics"}, {"id": 2, "name": "Sales"}]
        })),
        ..Default::default()
    };
    let sales = Collection { id: 2, location: Some("/1/".into()), parent_id: in_collection(1), ..Default::default() };
    let visibility = narrowed(Some(&[2]), None);

    let shown = collection(&visibility, regional.clone());
    let top = collection(&visibility, sales);

    assert_eq!(shown.location.as_deref(), Some("/2/"));
    assert_eq!(shown.parent_id, in_collection(2));
    let extra = crate::convert::json::from_struct(shown.extra.unwrap());
    assert_eq!(extra["effective_location"], json!("/2/"));
    assert_eq!(extra["effective_ancestors"], json!([{"id": 2, "name": "Sales"}]));
    assert_eq!((top.location.as_deref(), top.parent_id), (Some("/"), None));
    assert_eq!(collection(&Visibility::everything(), regional.clone()), regional);
}

#[test]
fn the_tree_lifts_visible_children_of_hidden_nodes() {
    let node = |id: i64, location: &str, children: Vec<CollectionTreeNode>| CollectionTreeNode {
        id,
        name: format!("collection {id}"),
        location: location.into(),
        children,
        ..Default::default()
    };
    let nodes = vec![
        node(1, "/", vec![node(2, "/1/", vec![node(8, "/1/2/", vec![])]), node(3, "/1/", vec![])]),
        node(4, "/", vec![]),
    ];

    let shown = tree(&narrowed(Some(&[2]), None), nodes);

    assert_eq!(shown.len(), 1);
    assert_eq!((shown[0].id, shown[0].location.as_str()), (2, "/"));
    assert_eq!((shown[0].children[0].id, shown[0].children[0].location.as_str()), (8, "/2/"));
}

#[test]
fn collection_items_are_kept_by_place_and_database() {
    let item =
        |model: &str, id: i64, collection: Option<i64>, database: Option<i64>, location: Option<&str>| CollectionItem {
            model: model.into(),
            id,
            collection_id: collection.and_then(in_collection),
            database_id: database,
            location: location.map(str::to_owned),
            ..Default::default()
        };
    let cases = [
        (item("collection", 8, None, None, Some("/1/2/")), true),
        (item("collection", 3, None, None, Some("/1/")), false),
        (item("card", 5, None, Some(1), None), true),
        (item("card", 6, None, Some(2), None), false),
        (item("dashboard", 7, Some(1), None, None), false),
        (item("dataset", 9, Some(8), Some(1), None), true),
    ];
    let visibility = narrowed(Some(&[2]), Some(&[1]));
    for (candidate, expected) in cases {
        let label = format!("{} {}", candidate.model, candidate.id);
        assert_eq!(collection_item(&visibility, Some(2), candidate).is_some(), expected, "{label}");
    }
    let root_card = item("card", 5, None, Some(1), None);
    assert!(collection_item(&visibility, None, root_card).is_none(), "items at the root are hidden");
}

#[test]
fn search_results_are_kept_by_model_place_and_database() {
    let result =
        |model: &str, id: i64, collection: Option<i64>, database: Option<i64>, location: Option<&str>| SearchResult {
            model: model.into(),
            id,
            name: format!("{model} {id}"),
            collection: Some(SearchCollection { id: collection, ..Default::default() }),
            database_id: database,
            extra: location.and_then(|location| extra(json!({"effective_location": location}))),
            ..Default::default()
        };
    let cases = [
        (result("card", 1, Some(2), Some(1), None), true),
        (result("card", 3, Some(1), Some(1), None), false),
        (result("card", 12, Some(2), Some(2), None), false),
        (result("dashboard", 2, Some(3), None, None), false),
        (result("collection", 8, None, None, Some("/1/2/")), true),
        (result("collection", 4, None, None, Some("/")), false),
        (result("database", 1, None, None, None), true),
        (result("database", 2, None, None, None), false),
        (result("table", 20, None, Some(2), None), false),
        (result("table", 21, None, Some(1), None), true),
    ];
    let visibility = narrowed(Some(&[2]), Some(&[1]));
    for (candidate, expected) in cases {
        let label = candidate.name.clone();
        let shown = search_result(&visibility, candidate);
        assert_eq!(shown.is_some(), expected, "{label}");
        if let Some(extra) = shown.and_then(|shown| shown.extra) {
            let location = crate::convert::json::from_struct(extra)["effective_location"].clone();
            assert_eq!(location, json!("/2/"), "{label}");
        }
    }
}

#[test]
fn a_collection_result_names_no_parent_the_caller_may_not_see() {
    let found = |id: i64, parent: Option<i64>, parent_name: &str| SearchResult {
        model: "collection".into(),
        id,
        name: format!("collection {id}"),
        collection: Some(SearchCollection { id: parent, name: parent_name.into(), ..Default::default() }),
        ..Default::default()
    };
    let visibility = narrowed(Some(&[2, 4]), None);

    let sales = search_result(&visibility, found(2, Some(1), "Analytics")).expect("collection 2 is granted");
    let finance = search_result(&visibility, found(4, None, "Our analytics")).expect("collection 4 is granted");
    let regional = search_result(&visibility, found(8, Some(2), "Sales")).expect("collection 8 is below 2");
    let whole = search_result(&Visibility::everything(), found(2, Some(1), "Analytics")).expect("not narrowed");

    assert_eq!((sales.collection, finance.collection), (None, None), "the hidden parent and the root are left out");
    assert_eq!(regional.collection.map(|parent| parent.name), Some("Sales".to_owned()));
    assert_eq!(whole.collection.map(|parent| parent.name), Some("Analytics".to_owned()));
}

#[test]
fn databases_and_alerts_follow_the_grant() {
    let visibility = narrowed(Some(&[2]), Some(&[1]));
    let a_database = |id: i64| Database { id, name: format!("db {id}"), ..Default::default() };
    assert!(database(&visibility, a_database(1)).is_some());
    assert!(database(&visibility, a_database(2)).is_none());

    let an_alert = |card_id: i64, collection: Option<i64>| Alert {
        id: card_id,
        card: Some(AlertCard { id: Some(card_id), collection_id: collection, ..Default::default() }),
        ..Default::default()
    };
    let databases = HashMap::from([(1, 1), (2, 2), (3, 1)]);
    assert!(alert(&visibility, &databases, an_alert(1, Some(8))).is_some());
    assert!(alert(&visibility, &databases, an_alert(2, Some(8))).is_none(), "its card is on database 2");
    assert!(alert(&visibility, &databases, an_alert(3, Some(1))).is_none(), "its card is in collection 1");
    assert!(alert(&visibility, &databases, an_alert(4, Some(2))).is_none(), "its card's database is unknown");
    assert!(alert(&narrowed(Some(&[2]), None), &databases, an_alert(4, Some(2))).is_some());
}
