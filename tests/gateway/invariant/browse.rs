//! The browsing calls of the invariant: collections, their tree and items, and search, with the
//! exact set of what the caller may see computed from the ground truth.

use std::collections::BTreeSet;

use metabase_grpc::pb::v1::collection_service_client::CollectionServiceClient;
use metabase_grpc::pb::v1::search_service_client::SearchServiceClient;
use metabase_grpc::pb::v1::{
    CollectionRef, GetCollectionRequest, GetCollectionTreeRequest, ListCollectionItemsRequest, SearchRequest,
};
use tonic::Response;

use super::Run;
use super::checks::{self, Expect};
use super::reads::{MAX_PAGES, at, needs};
use super::world::{Grant, Level, View};
use crate::policed::from;
use crate::support::{collection, root};

/// Collection targets: the root (`None`), every seeded collection, and one that does not exist.
const TARGETS: [Option<i64>; 10] =
    [None, Some(1), Some(2), Some(3), Some(4), Some(5), Some(6), Some(7), Some(8), Some(9)];

const ITEM_MODELS: [&str; 4] = ["card", "dataset", "dashboard", "collection"];
const SEARCH_MODELS: [&str; 6] = ["card", "dataset", "dashboard", "collection", "database", "table"];

fn reference(target: Option<i64>) -> Option<CollectionRef> {
    target.map_or_else(root, collection)
}

/// What a call naming a collection (or the root) must end with.
fn collection_expect(view: &View, target: Option<i64>, root_denied: bool) -> Expect {
    match target {
        _ if !view.grant.has("collections", Level::Read) => Expect::Denied,
        None if root_denied && view.narrows_collections() => Expect::Denied,
        None => Expect::Ok,
        Some(id) if view.world.collection(id).is_none() => Expect::NotFound,
        Some(id) if !view.collection(Some(id)) => Expect::Denied,
        Some(_) => Expect::Ok,
    }
}

/// The items of a collection (or the root) the caller may see, as (model, id).
fn expected_items(view: &View, target: Option<i64>, models: &[&str]) -> BTreeSet<(String, i64)> {
    let wants = |model: &str| if models.is_empty() { model != "table" } else { models.contains(&model) };
    let world = view.world;
    let mut items = BTreeSet::new();
    for card in world.cards.iter().filter(|card| card.collection == target && wants(card.model) && view.card(card)) {
        items.insert((card.model.to_owned(), card.id));
    }
    for dashboard in &world.dashboards {
        if Some(dashboard.collection) == target && wants("dashboard") && view.dashboard(dashboard) {
            items.insert(("dashboard".to_owned(), dashboard.id));
        }
    }
    let children = match target.and_then(|id| world.collection(id)) {
        Some(parent) => format!("{}{}/", parent.location, parent.id),
        None => "/".to_owned(),
    };
    for child in &world.collections {
        let listed = child.location == children && !child.trash && !(target.is_none() && child.personal);
        if listed && wants("collection") && view.collection(Some(child.id)) {
            items.insert(("collection".to_owned(), child.id));
        }
    }
    items
}

/// What a search for `text` in `models` finds that the caller may see, as (model, id).
fn expected_results(view: &View, text: &str, models: &[&str]) -> BTreeSet<(String, i64)> {
    let needle = text.trim().to_lowercase();
    let matches = |name: &str, description: Option<&str>| {
        name.to_lowercase().contains(&needle) || description.is_some_and(|text| text.to_lowercase().contains(&needle))
    };
    let wants = |model: &str| models.is_empty() || models.contains(&model);
    let world = view.world;
    let mut found = BTreeSet::new();
    for card in &world.cards {
        if wants(card.model) && matches(&card.name, None) && view.card(card) {
            found.insert((card.model.to_owned(), card.id));
        }
    }
    for dashboard in &world.dashboards {
        if wants("dashboard") && matches(&dashboard.name, None) && view.dashboard(dashboard) {
            found.insert(("dashboard".to_owned(), dashboard.id));
        }
    }
    for row in &world.collections {
        let described = matches(&row.name, row.description.as_deref());
        if wants("collection") && !row.trash && described && view.collection(Some(row.id)) {
            found.insert(("collection".to_owned(), row.id));
        }
    }
    for database in &world.databases {
        if wants("database") && matches(&database.name, database.description.as_deref()) && view.database(database.id) {
            found.insert(("database".to_owned(), database.id));
        }
    }
    for table in &world.tables {
        let named = matches(&table.display_name, Some(&table.description)) || matches(&table.name, None);
        if wants("table") && named && view.database(1) {
            found.insert(("table".to_owned(), table.id));
        }
    }
    found
}

impl Run {
    pub(super) async fn get_collection(&mut self, grant: &Grant) -> Result<(), String> {
        let target = self.rng.pick(&TARGETS);
        let expect = collection_expect(&self.world.view(grant), target, true);
        let call = format!("(collection {target:?})");
        let request = from(&grant.principal, GetCollectionRequest { collection: reference(target) });
        let mut client = CollectionServiceClient::new(self.channel());
        let answer = async move { client.get_collection(request).await.map(Response::into_inner) };
        let Some(shown) = self.observe(grant, "GetCollection", &call, expect, false, answer).await? else {
            return Ok(());
        };
        let at = at("GetCollection", &call);
        checks::collection(&self.world.view(grant), &shown, target.is_none()).map_err(at)?;
        if target.is_some_and(|id| id != shown.id) {
            return Err(at(format!("asked for collection {target:?}, got {}", shown.id)));
        }
        Ok(())
    }

    pub(super) async fn get_collection_tree(&mut self, grant: &Grant) -> Result<(), String> {
        let expect = needs(grant, "collections", Level::Read);
        let request = from(&grant.principal, GetCollectionTreeRequest::default());
        let mut client = CollectionServiceClient::new(self.channel());
        let answer = async move { client.get_collection_tree(request).await.map(Response::into_inner) };
        let Some(tree) = self.observe(grant, "GetCollectionTree", "()", expect, false, answer).await? else {
            return Ok(());
        };
        let view = self.world.view(grant);
        let at = at("GetCollectionTree", "()");
        let mut ids = Vec::new();
        checks::tree(&view, &tree.collections, &mut ids).map_err(at)?;
        checks::same_set("tree collections", &ids, &view.tree_collections()).map_err(at)
    }

    pub(super) async fn list_collection_items(&mut self, grant: &Grant) -> Result<(), String> {
        let target = self.rng.pick(&TARGETS);
        let models: Vec<&str> = if self.rng.chance(50) { Vec::new() } else { self.rng.subset(&ITEM_MODELS) };
        let page_size = self.rng.pick(&[0, 1, 2, 3]);
        let view = self.world.view(grant);
        let expect = collection_expect(&view, target, false);
        let expected = expected_items(&view, target, &models);
        let mut token = String::new();
        let mut seen = Vec::new();
        for _ in 0..MAX_PAGES {
            let call =
                format!("(collection {target:?}, models {models:?}, page_size {page_size}, page_token {token:?})");
            let request = ListCollectionItemsRequest {
                collection: reference(target),
                models: models.iter().map(|model| (*model).to_owned()).collect(),
                page_size,
                page_token: token.clone(),
                ..Default::default()
            };
            let request = from(&grant.principal, request);
            let mut client = CollectionServiceClient::new(self.channel());
            let answer = async move { client.list_collection_items(request).await.map(Response::into_inner) };
            let Some(page) = self.observe(grant, "ListCollectionItems", &call, expect, false, answer).await? else {
                return Ok(());
            };
            let view = self.world.view(grant);
            let at = at("ListCollectionItems", &call);
            for item in &page.items {
                checks::item(&view, item).map_err(at)?;
                seen.push((item.model.clone(), item.id));
            }
            checks::total("items", page.total_size, expected.len()).map_err(at)?;
            if page.next_page_token.is_empty() {
                return checks::same_set("items", &seen, &expected).map_err(at);
            }
            token = page.next_page_token;
        }
        Ok(())
    }

    /// Returns a search text: empty, a whole name, or a word of one.
    fn search_text(&mut self) -> String {
        let world = &self.world;
        let mut names: Vec<String> = world.cards.iter().map(|card| card.name.clone()).collect();
        names.extend(world.dashboards.iter().map(|dashboard| dashboard.name.clone()));
        names.extend(world.collections.iter().map(|row| row.name.clone()));
        names.extend(world.databases.iter().map(|database| database.name.clone()));
        names.extend(["orders", "REVENUE", "sample", "a", "ware"].map(String::from));
        let name = self.rng.pick(&names);
        match self.rng.below(4) {
            0 => String::new(),
            1 => name,
            _ => {
                let words: Vec<&str> = name.split_whitespace().collect();
                self.rng.pick(&words).to_owned()
            }
        }
    }

    pub(super) async fn search(&mut self, grant: &Grant) -> Result<(), String> {
        let text = self.search_text();
        let models: Vec<&str> = if self.rng.chance(40) { Vec::new() } else { self.rng.subset(&SEARCH_MODELS) };
        let page_size = self.rng.pick(&[0, 2, 5]);
        let expect = needs(grant, "search", Level::Read);
        let expected = expected_results(&self.world.view(grant), &text, &models);
        let mut token = String::new();
        let mut seen = Vec::new();
        for _ in 0..MAX_PAGES {
            let call = format!("(query {text:?}, models {models:?}, page_size {page_size}, page_token {token:?})");
            let request = SearchRequest {
                query: text.clone(),
                models: models.iter().map(|model| (*model).to_owned()).collect(),
                page_size,
                page_token: token.clone(),
                ..Default::default()
            };
            let request = from(&grant.principal, request);
            let mut client = SearchServiceClient::new(self.channel());
            let answer = async move { client.search(request).await.map(Response::into_inner) };
            let Some(page) = self.observe(grant, "Search", &call, expect, false, answer).await? else {
                return Ok(());
            };
            let view = self.world.view(grant);
            let at = at("Search", &call);
            for result in &page.results {
                checks::search_result(&view, result).map_err(at)?;
                seen.push((result.model.clone(), result.id));
            }
            checks::total("search results", page.total_size, expected.len()).map_err(at)?;
            if page.next_page_token.is_empty() {
                return checks::same_set("search results", &seen, &expected).map_err(at);
            }
            token = page.next_page_token;
        }
        Ok(())
    }
}
