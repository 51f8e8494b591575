//! The query and write calls of the invariant: RunQuery and ExportQuery in random shapes (plain
//! MBQL, native SQL in the `native` field or wrapped in the `mbql` field, MBQL reading a saved
//! question, native SQL naming one), and the rare writes, CreateCard and UpdateDashboard, whose
//! effects the ground truth then takes in.

use metabase_grpc::pb::v1::card_service_client::CardServiceClient;
use metabase_grpc::pb::v1::dashboard_service_client::DashboardServiceClient;
use metabase_grpc::pb::v1::dataset_service_client::DatasetServiceClient;
use metabase_grpc::pb::v1::{
    CreateCardRequest, DashboardCard, ExportFormat, ExportQueryRequest, NativeQuery, RunQueryRequest,
    UpdateDashboardRequest, export_query_request, run_query_request,
};
use serde_json::{Value, json};
use tonic::Response;

use super::Run;
use super::checks::{self, Expect};
use super::reads::at;
use super::world::{CardRow, Grant, Level, View, WAREHOUSE};
use crate::inspection::native_wrappers;
use crate::policed::from;
use crate::support::{collection, root, structure};

/// The sample database's ORDERS table.
const ORDERS: i64 = 2;

/// One random ad-hoc query and what it does.
struct Query {
    shape: String,
    query: run_query_request::Query,
    native: bool,
    card: Option<i64>,
    /// Whether the emulator answers it when run on the sample database.
    runs: bool,
}

fn mbql(value: Value) -> run_query_request::Query {
    run_query_request::Query::Mbql(structure(value).expect("an object"))
}

fn native(sql: String) -> run_query_request::Query {
    run_query_request::Query::Native(NativeQuery { query: sql, template_tags: None })
}

fn export_query(query: run_query_request::Query) -> export_query_request::Query {
    match query {
        run_query_request::Query::Native(native) => export_query_request::Query::Native(native),
        run_query_request::Query::Mbql(mbql) => export_query_request::Query::Mbql(mbql),
    }
}

/// What an ad-hoc query on `database` must end with.
fn query_expect(view: &View, database: i64, query: &Query) -> Expect {
    let grant = view.grant;
    if !grant.has("datasets", Level::Read)
        || (query.native && !grant.has("datasets", Level::Full))
        || !view.database(database)
    {
        return Expect::Denied;
    }
    match query.card.map(|id| view.world.card(id)) {
        Some(None) => Expect::NotFound,
        Some(Some(card)) if !view.card(card) => Expect::Denied,
        Some(Some(_)) => Expect::Allowed,
        None if query.runs && database == 1 => Expect::Ok,
        None => Expect::Allowed,
    }
}

impl Run {
    fn random_card_id(&mut self) -> i64 {
        let mut ids: Vec<i64> = self.world.cards.iter().map(|card| card.id).collect();
        ids.push(12);
        self.rng.pick(&ids)
    }

    fn random_query(&mut self) -> Query {
        let wrappers = native_wrappers();
        let plain = |shape: &str, query, native| Query { shape: shape.into(), query, native, card: None, runs: true };
        match self.rng.weighted(&[3, 3, 4, 3, 2]) {
            0 => plain("mbql", mbql(json!({"type": "query", "query": {"source-table": ORDERS, "limit": 3}})), false),
            1 => plain("native field", native("SELECT ID, TOTAL FROM ORDERS ORDER BY ID LIMIT 3".into()), true),
            2 => {
                let (shape, query) = self.rng.pick(&wrappers);
                Query {
                    shape: format!("native wrapped: {shape}"),
                    query: mbql(query),
                    native: true,
                    card: None,
                    runs: false,
                }
            }
            3 => {
                let card = self.random_card_id();
                let (shape, query) = if self.rng.chance(50) {
                    ("legacy source card", json!({"type": "query", "query": {"source-table": format!("card__{card}")}}))
                } else {
                    let stage = json!({"lib/type": "mbql.stage/mbql", "source-card": card});
                    ("mbql 5 source card", json!({"lib/type": "mbql/query", "stages": [stage]}))
                };
                Query {
                    shape: format!("{shape} {card}"),
                    query: mbql(query),
                    native: false,
                    card: Some(card),
                    runs: false,
                }
            }
            _ => {
                let card = self.random_card_id();
                let sql = format!("SELECT * FROM {{{{#{card}}}}} LIMIT 3");
                Query {
                    shape: format!("native naming card {card}"),
                    query: native(sql),
                    native: true,
                    card: Some(card),
                    runs: false,
                }
            }
        }
    }

    /// Runs (or exports) a random query to its end.
    pub(super) async fn run_query(&mut self, grant: &Grant, export: bool) -> Result<(), String> {
        let database_id = if self.rng.chance(75) { 1 } else { WAREHOUSE };
        let query = self.random_query();
        let expect = query_expect(&self.world.view(grant), database_id, &query);
        let call = format!("(database_id {database_id}, {}: {:?})", query.shape, query.query);
        let mut client = DatasetServiceClient::new(self.channel());
        if export {
            let request = ExportQueryRequest {
                database_id,
                query: Some(export_query(query.query)),
                format: ExportFormat::Csv as i32,
                max_rows: 3,
                ..Default::default()
            };
            let request = from(&grant.principal, request);
            let answer = async move {
                let mut stream = client.export_query(request).await?.into_inner();
                let mut data = Vec::new();
                while let Some(chunk) = stream.message().await? {
                    data.extend_from_slice(&chunk.data);
                }
                Ok(String::from_utf8_lossy(&data).into_owned())
            };
            self.observe(grant, "ExportQuery", &call, expect, query.native, answer).await?;
        } else {
            let request = RunQueryRequest { database_id, query: Some(query.query), parameters: None, max_rows: 3 };
            let request = from(&grant.principal, request);
            let answer = async move {
                let mut stream = client.run_query(request).await?.into_inner();
                let mut chunks = Vec::new();
                while let Some(chunk) = stream.message().await? {
                    chunks.push(chunk);
                }
                Ok(chunks)
            };
            self.observe(grant, "RunQuery", &call, expect, query.native, answer).await?;
        }
        Ok(())
    }

    /// Creates a card (native or MBQL, on either database) in a random collection or the root.
    pub(super) async fn create_card(&mut self, grant: &Grant) -> Result<(), String> {
        let target = self.rng.pick(&[None, Some(1), Some(2), Some(3), Some(4), Some(7), Some(8)]);
        let database = if self.rng.chance(60) { 1 } else { WAREHOUSE };
        let is_native = database == WAREHOUSE || self.rng.chance(50);
        let mark = self.mark();
        let name = format!("Invariant card {mark}");
        let sql = format!("SELECT {mark} AS INVARIANT_{mark}_MARK");
        let dataset_query = if is_native {
            json!({"database": database, "type": "native", "native": {"query": sql}})
        } else {
            json!({"database": database, "type": "query", "query": {"source-table": ORDERS}})
        };
        let view = self.world.view(grant);
        let expect = if !grant.has("cards", Level::Full)
            || !view.collection(target)
            || !grant.has("datasets", Level::Read)
            || (is_native && !grant.has("datasets", Level::Full))
            || !view.database(database)
        {
            Expect::Denied
        } else {
            Expect::Ok
        };
        let call = format!("(name {name:?}, collection {target:?}, dataset_query {dataset_query})");
        let request = CreateCardRequest {
            name: name.clone(),
            display: "table".into(),
            dataset_query: structure(dataset_query),
            visualization_settings: structure(json!({})),
            collection_id: target.map_or_else(root, collection),
            ..Default::default()
        };
        let request = from(&grant.principal, request);
        let mut client = CardServiceClient::new(self.channel());
        let answer = async move { client.create_card(request).await.map(Response::into_inner) };
        let Some(created) = self.observe(grant, "CreateCard", &call, expect, is_native, answer).await? else {
            return Ok(());
        };
        self.world.cards.push(CardRow {
            id: created.id,
            name,
            collection: target,
            database,
            sql: is_native.then_some(sql),
            model: "card",
        });
        checks::card(&self.world.view(grant), &created).map_err(at("CreateCard", &call))
    }

    /// Reads a dashboard as the caller and places one more card on it, sending back every
    /// dashcard as the caller saw it (hidden cards as bare ids).
    pub(super) async fn update_dashboard(&mut self, grant: &Grant) -> Result<(), String> {
        let dashboard_id = self.rng.pick(&[1, 2, 3]);
        let card_id = self.random_card_id();
        let current = self.read_dashboard(grant, dashboard_id).await?;
        let view = self.world.view(grant);
        let mut expect = match self.world.dashboard(dashboard_id) {
            _ if !grant.has("dashboards", Level::Full) => Expect::Denied,
            None => Expect::NotFound,
            Some(dashboard) if !view.dashboard(dashboard) => Expect::Denied,
            Some(_) => Expect::Ok,
        };
        let request = match current {
            Some(current) => {
                let placed = DashboardCard {
                    id: -1,
                    card_id: Some(card_id),
                    dashboard_tab_id: current.tabs.first().map(|tab| tab.id),
                    row: 60 + self.rng.below(40) as i32,
                    col: 0,
                    size_x: 4,
                    size_y: 4,
                    ..Default::default()
                };
                if expect == Expect::Ok {
                    expect = match self.world.card(card_id) {
                        None => Expect::NotFound,
                        Some(card) if !view.card(card) => Expect::Denied,
                        Some(_) => Expect::Ok,
                    };
                }
                let mut dashcards = current.dashcards;
                dashcards.push(placed);
                UpdateDashboardRequest { dashboard_id, replace_dashcards: true, dashcards, ..Default::default() }
            }
            None => UpdateDashboardRequest {
                dashboard_id,
                description: Some("touched by the invariant".into()),
                ..Default::default()
            },
        };
        let placing = request.dashcards.last().and_then(|dashcard| dashcard.card_id);
        let call = format!("(dashboard_id {dashboard_id}, placing card {placing:?})");
        let request = from(&grant.principal, request);
        let mut client = DashboardServiceClient::new(self.channel());
        let answer = async move { client.update_dashboard(request).await.map(Response::into_inner) };
        let Some(updated) = self.observe(grant, "UpdateDashboard", &call, expect, false, answer).await? else {
            return Ok(());
        };
        checks::dashboard(&self.world.view(grant), &updated).map_err(at("UpdateDashboard", &call))
    }
}
