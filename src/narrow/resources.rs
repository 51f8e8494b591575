//! The narrowing of each resource message the gateway answers with: lists keep what the caller
//! may see, embedded cards outside the grant keep only their id, and collection ancestry is
//! rewritten to the collections the caller may see.

use std::collections::HashMap;

use prost_types::{ListValue, Struct};
use serde_json::Value;

use super::Visibility;
use crate::convert::json::{from_list, from_struct, to_list, to_struct};
use crate::pb::v1::{
    Alert, Card, Collection, CollectionItem, CollectionRef, CollectionTreeNode, Dashboard, DashboardCard, Database,
    SearchResult, collection_ref,
};

/// Keys of a dashboard that describe the fields of its cards' parameters; they go when any card
/// of the dashboard is hidden, as they may describe that card's fields and values.
const PARAMETER_METADATA: [&str; 2] = ["param_fields", "param_values"];

fn collection_id(reference: Option<&CollectionRef>) -> Option<i64> {
    match reference.and_then(|reference| reference.collection) {
        Some(collection_ref::Collection::Id(id)) => Some(id),
        _ => None,
    }
}

/// Returns the id and location of the collection hydrated on an object's `extra`.
fn hydrated_collection(extra: Option<&Struct>) -> (Option<i64>, Option<String>) {
    let Some(prost_types::value::Kind::StructValue(object)) =
        extra.and_then(|extra| extra.fields.get("collection")).and_then(|collection| collection.kind.as_ref())
    else {
        return (None, None);
    };
    let id = match object.fields.get("id").and_then(|id| id.kind.as_ref()) {
        Some(prost_types::value::Kind::NumberValue(id)) => Some(*id as i64),
        _ => None,
    };
    let location = match object.fields.get("location").and_then(|location| location.kind.as_ref()) {
        Some(prost_types::value::Kind::StringValue(location)) => Some(location.clone()),
        _ => None,
    };
    (id, location)
}

/// Rewrites the collection ancestry an `extra` carries: the object itself (a collection's own
/// `effective_ancestors`) and a hydrated `collection`.
fn scrub_extra(visibility: &Visibility, extra: Option<Struct>) -> Option<Struct> {
    if !visibility.narrows_collections() {
        return extra;
    }
    let mut map = from_struct(extra?);
    visibility.scrub_collection_object(&mut map);
    if let Some(Value::Object(collection)) = map.get_mut("collection") {
        visibility.scrub_collection_object(collection);
    }
    Some(to_struct(map))
}

/// Returns a card of which the caller may know only the id.
pub(crate) fn unknown_card(id: i64) -> Card {
    Card { id, ..Card::default() }
}

/// Returns a card as the caller may see it, or `None` when it is outside the caller's
/// collections or databases.
pub(crate) fn card(visibility: &Visibility, card: Card) -> Option<Card> {
    let (hydrated_id, location) = hydrated_collection(card.extra.as_ref());
    // A card archived directly is presented in the Trash but keeps its own collection hydrated,
    // and it is that collection that decides who may see it (as the handlers' checks do).
    let collection = match hydrated_id {
        Some(original) if card.archived => Some(original),
        _ => collection_id(card.collection_id.as_ref()),
    };
    let visible = card.database_id.is_none_or(|database| visibility.sees_database(database))
        && visibility.sees_collection(collection, location.as_deref());
    if !visible {
        return None;
    }
    Some(Card { extra: scrub_extra(visibility, card.extra), ..card })
}

fn hidden_dashcard(dashcard: &DashboardCard) -> DashboardCard {
    DashboardCard {
        id: dashcard.id,
        card_id: dashcard.card_id,
        dashboard_tab_id: dashcard.dashboard_tab_id,
        row: dashcard.row,
        col: dashcard.col,
        size_x: dashcard.size_x,
        size_y: dashcard.size_y,
        card: dashcard.card_id.map(unknown_card),
        ..DashboardCard::default()
    }
}

/// Keeps the series cards the caller may see; reports whether any was dropped.
fn visible_series(visibility: &Visibility, series: Option<ListValue>) -> (Option<ListValue>, bool) {
    let Some(series) = series else {
        return (None, false);
    };
    let Value::Array(items) = from_list(series) else {
        return (None, true);
    };
    let before = items.len();
    let kept: Vec<Value> = items
        .into_iter()
        .filter(|item| item.as_object().is_some_and(|object| visibility.sees_object(object)))
        .collect();
    let dropped = kept.len() != before;
    (Some(to_list(kept)), dropped)
}

/// Returns a dashboard the caller may read as it may see it: each dashcard whose card is
/// outside the caller's grant keeps only its ids and place (no name, query, metadata, creator,
/// settings, series or parameter mappings).
pub(crate) fn dashboard(visibility: &Visibility, dashboard: Dashboard) -> Dashboard {
    if !visibility.narrows() {
        return dashboard;
    }
    let mut hid_any = false;
    let dashcards = dashboard
        .dashcards
        .into_iter()
        .map(|dashcard| {
            let shown = match dashcard.card.clone() {
                Some(embedded) => card(visibility, embedded),
                // A card we cannot see the place of is treated as hidden.
                None if dashcard.card_id.is_some() => None,
                None => return dashcard,
            };
            match shown {
                Some(shown) => {
                    let (series, dropped) = visible_series(visibility, dashcard.series.clone());
                    hid_any |= dropped;
                    DashboardCard { card: Some(shown), series, ..dashcard }
                }
                None => {
                    hid_any = true;
                    hidden_dashcard(&dashcard)
                }
            }
        })
        .collect();
    let mut extra = scrub_extra(visibility, dashboard.extra);
    if hid_any && let Some(extra) = extra.as_mut() {
        for key in PARAMETER_METADATA {
            extra.fields.remove(key);
        }
    }
    Dashboard { dashcards, extra, ..dashboard }
}

/// Returns a collection the caller may read with its ancestry narrowed: `location` and
/// `effective_location` keep only visible ancestors, `effective_ancestors` drops the others, and
/// a hidden parent becomes the nearest visible ancestor (or none).
pub(crate) fn collection(visibility: &Visibility, collection: Collection) -> Collection {
    if !visibility.narrows_collections() {
        return collection;
    }
    let location = collection.location.clone().unwrap_or_default();
    let parent_id = match collection_id(collection.parent_id.as_ref()) {
        Some(parent) if !visibility.sees_collection(Some(parent), None) => visibility
            .visible_parent(&location)
            .map(|id| CollectionRef { collection: Some(collection_ref::Collection::Id(id)) }),
        Some(_) => collection.parent_id,
        // The root is above every listed collection, so a narrowed caller never sees it.
        None => None,
    };
    Collection {
        location: collection.location.map(|location| visibility.effective_location(&location)),
        parent_id,
        extra: scrub_extra(visibility, collection.extra),
        ..collection
    }
}

/// Returns the collection tree the caller may see: a hidden node's visible children take its
/// place, as Metabase does for collections a user cannot read.
pub(crate) fn tree(visibility: &Visibility, nodes: Vec<CollectionTreeNode>) -> Vec<CollectionTreeNode> {
    if !visibility.narrows_collections() {
        return nodes;
    }
    let mut kept = Vec::new();
    for node in nodes {
        let children = tree(visibility, node.children.clone());
        if visibility.sees_collection(Some(node.id), Some(&node.location)) {
            kept.push(CollectionTreeNode {
                location: visibility.effective_location(&node.location),
                children,
                extra: scrub_extra(visibility, node.extra),
                ..node
            });
        } else {
            kept.extend(children);
        }
    }
    kept
}

/// Returns a collection item if the caller may see it: a collection by its own place, anything
/// else by the collection it is in (`in_collection` when the item does not say) and its database.
pub(crate) fn collection_item(
    visibility: &Visibility,
    in_collection: Option<i64>,
    item: CollectionItem,
) -> Option<CollectionItem> {
    let visible = if item.model == "collection" {
        visibility.sees_collection(Some(item.id), item.location.as_deref())
    } else {
        let place = collection_id(item.collection_id.as_ref()).or(in_collection);
        visibility.sees_collection(place, None) && item.database_id.is_none_or(|id| visibility.sees_database(id))
    };
    if !visible {
        return None;
    }
    Some(CollectionItem {
        location: item.location.as_deref().map(|location| {
            if visibility.narrows_collections() { visibility.effective_location(location) } else { location.to_owned() }
        }),
        extra: scrub_extra(visibility, item.extra),
        ..item
    })
}

fn extra_string(extra: Option<&Struct>, key: &str) -> Option<String> {
    match extra?.fields.get(key)?.kind.as_ref()? {
        prost_types::value::Kind::StringValue(text) => Some(text.clone()),
        _ => None,
    }
}

/// Returns a search result if the caller may see it: collections by their place, databases by
/// id, tables by their database, everything else by its collection and database. A collection's
/// result names its parent in `collection`; a parent the caller may not see (the root, when
/// narrowed) is left out, id and name.
pub(crate) fn search_result(visibility: &Visibility, result: SearchResult) -> Option<SearchResult> {
    let database_visible = match result.model.as_str() {
        "database" => visibility.sees_database(result.id),
        _ => result.database_id.is_none_or(|id| visibility.sees_database(id)),
    };
    let collection_visible = match result.model.as_str() {
        "collection" => {
            let location = extra_string(result.extra.as_ref(), "effective_location")
                .or_else(|| extra_string(result.extra.as_ref(), "location"));
            visibility.sees_collection(Some(result.id), location.as_deref())
        }
        "table" | "database" => true,
        _ => visibility.sees_collection(result.collection.as_ref().and_then(|collection| collection.id), None),
    };
    if !(database_visible && collection_visible) {
        return None;
    }
    let collection =
        result.collection.filter(|collection| visibility.sees_collection(collection.id, None)).map(|collection| {
            crate::pb::v1::SearchCollection { extra: scrub_extra(visibility, collection.extra), ..collection }
        });
    Some(SearchResult { collection, extra: scrub_extra(visibility, result.extra), ..result })
}

/// Returns a database if the caller may see it.
pub(crate) fn database(visibility: &Visibility, database: Database) -> Option<Database> {
    visibility.sees_database(database.id).then_some(database)
}

/// Returns an alert if the caller may see its card: the card's collection, and its database as
/// `card_databases` (card id to database id) or the alert's card object says.
pub(crate) fn alert(visibility: &Visibility, card_databases: &HashMap<i64, i64>, alert: Alert) -> Option<Alert> {
    let card = alert.card.as_ref()?;
    let database = card.id.and_then(|id| card_databases.get(&id).copied()).or_else(|| {
        card.extra.as_ref().and_then(|extra| match extra.fields.get("database_id")?.kind.as_ref()? {
            prost_types::value::Kind::NumberValue(number) => Some(*number as i64),
            _ => None,
        })
    });
    // A database-narrowed caller sees an alert only when the gateway knows its card's database.
    let database_visible = match database {
        Some(id) => visibility.sees_database(id),
        None => !visibility.narrows_databases(),
    };
    (database_visible && visibility.sees_collection(card.collection_id, None)).then_some(alert)
}
