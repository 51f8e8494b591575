//! The checks of the invariant: what status a call must end with, that no answer carries a name
//! or native SQL the caller may not see, and that every typed id in an answer is one it may see.

use std::collections::BTreeSet;
use std::fmt::Debug;

use metabase_grpc::pb::v1::{
    Alert, Card, Collection, CollectionItem, CollectionRef, CollectionTreeNode, Dashboard, Database, SearchResult,
    collection_ref,
};
use tonic::{Code, Status};
use tonic_types::StatusExt;

use super::world::View;

/// What the policy says a call must end with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Allowed, and the upstream answers it.
    Ok,
    /// Denied by the gateway's policy.
    Denied,
    /// Allowed, but the resource does not exist.
    NotFound,
    /// Allowed by the policy; Metabase may still refuse or fail it.
    Allowed,
}

/// How a call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Denied,
    Failed(Code),
}

pub fn outcome(status: Option<&Status>) -> Outcome {
    let Some(status) = status else {
        return Outcome::Ok;
    };
    let reason = status.get_details_error_info().map(|info| info.reason).unwrap_or_default();
    if status.code() == Code::PermissionDenied && reason == "POLICY_DENIED" {
        Outcome::Denied
    } else {
        Outcome::Failed(status.code())
    }
}

/// Checks a call's outcome against what the policy expects.
pub fn settle(expect: Expect, outcome: &Outcome, status: Option<&Status>) -> Result<(), String> {
    let fits = match expect {
        Expect::Ok => *outcome == Outcome::Ok,
        Expect::Denied => *outcome == Outcome::Denied,
        Expect::NotFound => *outcome == Outcome::Failed(Code::NotFound),
        Expect::Allowed => *outcome != Outcome::Denied,
    };
    if fits {
        return Ok(());
    }
    let status = status.map_or_else(|| "OK".to_owned(), |status| format!("{:?}: {}", status.code(), status.message()));
    Err(format!("expected {expect:?}, got {outcome:?} ({status})"))
}

/// Checks that an answer carries no name and no native SQL of anything the caller may not see.
/// Names are compared as whole quoted strings of the answer's debug form, so a visible name that
/// contains a hidden one ("Sales overview", "Sales") cannot match.
pub fn no_leak(view: &View, answer: &impl Debug) -> Result<(), String> {
    let text = format!("{answer:?}");
    for name in view.hidden_names() {
        if text.contains(&format!("\"{name}\"")) {
            return Err(format!("the hidden name \"{name}\" is in the answer: {text}"));
        }
    }
    for sql in view.hidden_sql() {
        if text.contains(&sql) {
            return Err(format!("the native SQL of a hidden card ({sql}) is in the answer: {text}"));
        }
    }
    // Any whole string shaped like a location (`/1/2/`), typed or in `extra`, is ancestry.
    for quoted in text.split('"').filter(|part| is_location(part)) {
        location(view, "the answer", quoted).map_err(|problem| format!("{problem}: {text}"))?;
    }
    Ok(())
}

fn is_location(text: &str) -> bool {
    text.len() > 2
        && text.starts_with('/')
        && text.ends_with('/')
        && text[1..text.len() - 1]
            .split('/')
            .all(|part| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit()))
}

/// Returns the collection id of a reference; the root and a missing reference are `None`.
pub fn referenced(reference: Option<&CollectionRef>) -> Option<i64> {
    match reference.and_then(|reference| reference.collection) {
        Some(collection_ref::Collection::Id(id)) => Some(id),
        _ => None,
    }
}

fn location_ids(location: &str) -> impl Iterator<Item = i64> + '_ {
    location.split('/').filter_map(|part| part.parse().ok())
}

fn location(view: &View, what: &str, location: &str) -> Result<(), String> {
    match location_ids(location).find(|id| !view.collection(Some(*id))) {
        Some(hidden) => Err(format!("{what} has the hidden collection {hidden} in its location {location}")),
        None => Ok(()),
    }
}

/// A card shown in full: itself, its collection and its database must be visible.
pub fn card(view: &View, card: &Card) -> Result<(), String> {
    if !view.card_id(card.id) {
        return Err(format!("hidden card {} is shown: {card:?}", card.id));
    }
    let collection = referenced(card.collection_id.as_ref());
    if !view.collection(collection) {
        return Err(format!("card {} names the hidden collection {collection:?}", card.id));
    }
    if let Some(database) = card.database_id.filter(|database| !view.database(*database)) {
        return Err(format!("card {} names the hidden database {database}", card.id));
    }
    Ok(())
}

/// A dashboard: itself and its collection visible; a dashcard of a hidden card keeps only the
/// card's id and its place.
pub fn dashboard(view: &View, dashboard: &Dashboard) -> Result<(), String> {
    let visible = view.world.dashboard(dashboard.id).is_some_and(|row| view.dashboard(row));
    if !visible {
        return Err(format!("hidden dashboard {} is shown", dashboard.id));
    }
    let collection = referenced(dashboard.collection_id.as_ref());
    if !view.collection(collection) {
        return Err(format!("dashboard {} names the hidden collection {collection:?}", dashboard.id));
    }
    for dashcard in &dashboard.dashcards {
        let Some(card_id) = dashcard.card_id else {
            continue;
        };
        if view.card_id(card_id) {
            if let Some(shown) = &dashcard.card {
                self::card(view, shown)?;
                if shown.id != card_id {
                    return Err(format!("dashcard {} places card {card_id} but embeds card {}", dashcard.id, shown.id));
                }
            }
            continue;
        }
        let bare = Card { id: card_id, ..Card::default() };
        if dashcard.card.as_ref() != Some(&bare)
            || dashcard.parameter_mappings.is_some()
            || dashcard.visualization_settings.is_some()
            || dashcard.series.is_some()
        {
            return Err(format!(
                "dashcard {} of hidden card {card_id} shows more than its id: {dashcard:?}",
                dashcard.id
            ));
        }
    }
    Ok(())
}

/// A collection's details: itself, its ancestry and its parent visible (the root only unnarrowed).
pub fn collection(view: &View, collection: &Collection, root: bool) -> Result<(), String> {
    if !root && !view.collection(Some(collection.id)) {
        return Err(format!("hidden collection {} is shown", collection.id));
    }
    location(view, &format!("collection {}", collection.id), collection.location.as_deref().unwrap_or_default())?;
    if let Some(parent) = referenced(collection.parent_id.as_ref()).filter(|parent| !view.collection(Some(*parent))) {
        return Err(format!("collection {} names its hidden parent {parent}", collection.id));
    }
    Ok(())
}

/// Returns every collection id of a tree, checking each node and its location.
pub fn tree(view: &View, nodes: &[CollectionTreeNode], ids: &mut Vec<i64>) -> Result<(), String> {
    for node in nodes {
        if !view.collection(Some(node.id)) {
            return Err(format!("hidden collection {} is in the tree", node.id));
        }
        location(view, &format!("tree node {}", node.id), &node.location)?;
        ids.push(node.id);
        tree(view, &node.children, ids)?;
    }
    Ok(())
}

/// Reports whether a (model, id) pair names something the caller may see.
fn sees_model(view: &View, model: &str, id: i64) -> bool {
    match model {
        "card" | "dataset" | "metric" => view.card_id(id),
        "dashboard" => view.world.dashboard(id).is_some_and(|row| view.dashboard(row)),
        "collection" => view.world.collection(id).is_some() && view.collection(Some(id)),
        "database" => view.world.database(id).is_some() && view.database(id),
        "table" => view.database(1) && view.world.tables.iter().any(|table| table.id == id),
        _ => !view.narrows_collections() && view.grant.databases.is_none(),
    }
}

/// A collection item: itself, the collection it is listed in, its database and location visible.
pub fn item(view: &View, item: &CollectionItem) -> Result<(), String> {
    if !sees_model(view, &item.model, item.id) {
        return Err(format!("hidden {} {} is listed", item.model, item.id));
    }
    let collection = referenced(item.collection_id.as_ref());
    if collection.is_some() && !view.collection(collection) {
        return Err(format!("{} {} names the hidden collection {collection:?}", item.model, item.id));
    }
    if let Some(database) = item.database_id.filter(|database| !view.database(*database)) {
        return Err(format!("{} {} names the hidden database {database}", item.model, item.id));
    }
    location(view, &format!("{} {}", item.model, item.id), item.location.as_deref().unwrap_or_default())
}

/// A search result: itself, its collection and its database visible.
pub fn search_result(view: &View, result: &SearchResult) -> Result<(), String> {
    if !sees_model(view, &result.model, result.id) {
        return Err(format!("hidden {} {} is found", result.model, result.id));
    }
    let collection = result.collection.as_ref().and_then(|collection| collection.id);
    if collection.is_some() && !view.collection(collection) {
        return Err(format!("{} {} names the hidden collection {collection:?}", result.model, result.id));
    }
    if let Some(database) = result.database_id.filter(|database| !view.database(*database)) {
        return Err(format!("{} {} names the hidden database {database}", result.model, result.id));
    }
    Ok(())
}

pub fn database(view: &View, database: &Database) -> Result<(), String> {
    if view.world.database(database.id).is_none() || !view.database(database.id) {
        return Err(format!("hidden database {} is shown", database.id));
    }
    Ok(())
}

pub fn alert(view: &View, alert: &Alert) -> Result<(), String> {
    let card = alert.card.as_ref().and_then(|card| card.id);
    let expected = view.world.alerts.iter().find(|(id, _)| *id == alert.id).map(|(_, card)| *card);
    if card != expected || !expected.is_some_and(|card| view.alert(card)) {
        return Err(format!("alert {} on card {card:?} (seeded on {expected:?}) is shown", alert.id));
    }
    let collection = alert.card.as_ref().and_then(|card| card.collection_id);
    if !view.collection(collection) {
        return Err(format!("alert {} names the hidden collection {collection:?}", alert.id));
    }
    Ok(())
}

/// Checks that the pages of a list showed each expected item once, and nothing else.
pub fn same_set<K: Ord + Debug + Clone>(what: &str, seen: &[K], expected: &BTreeSet<K>) -> Result<(), String> {
    let unique: BTreeSet<K> = seen.iter().cloned().collect();
    if unique.len() != seen.len() {
        return Err(format!("{what} repeat an item across pages: {seen:?}"));
    }
    if &unique != expected {
        return Err(format!("{what} are {unique:?}, the caller may see exactly {expected:?}"));
    }
    Ok(())
}

/// Checks a page's `total_size` against the number of visible matches.
pub fn total(what: &str, total: i32, expected: usize) -> Result<(), String> {
    if usize::try_from(total).ok() != Some(expected) {
        return Err(format!("{what}: total_size is {total}, the caller may see {expected}"));
    }
    Ok(())
}
