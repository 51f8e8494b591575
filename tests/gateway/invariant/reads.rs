//! The read calls of the invariant: cards, dashboards, databases and alerts, each checked against
//! what the caller may see, lists page by page until the last one.

use metabase_grpc::pb::v1::alert_service_client::AlertServiceClient;
use metabase_grpc::pb::v1::card_service_client::CardServiceClient;
use metabase_grpc::pb::v1::dashboard_service_client::DashboardServiceClient;
use metabase_grpc::pb::v1::database_service_client::DatabaseServiceClient;
use metabase_grpc::pb::v1::{
    Dashboard, GetAlertRequest, GetCardRequest, GetDashboardRequest, GetDatabaseRequest, ListAlertsRequest,
    ListCardsRequest, ListDashboardsRequest, ListDatabasesRequest,
};
use tonic::Response;

use super::Run;
use super::checks::{self, Expect};
use super::world::{Grant, Level, WAREHOUSE};
use crate::policed::from;

/// How many pages one list call follows at most.
pub const MAX_PAGES: usize = 12;

/// Returns a closure that puts a call in front of a problem.
pub fn at(rpc: &str, call: &str) -> impl Fn(String) -> String + Copy {
    move |problem| format!("call: {rpc} {call}\n  problem: {problem}")
}

/// Returns what a call needing `level` of `capability` must end with, when that is all it needs.
pub fn needs(grant: &Grant, capability: &str, level: Level) -> Expect {
    if grant.has(capability, level) { Expect::Ok } else { Expect::Denied }
}

impl Run {
    pub(super) async fn list_cards(&mut self, grant: &Grant) -> Result<(), String> {
        let page_size = self.rng.pick(&[0, 0, 3, 5]);
        let expect = needs(grant, "cards", Level::Read);
        let expected = self.world.view(grant).visible_cards();
        let mut token = String::new();
        let mut seen = Vec::new();
        for _ in 0..MAX_PAGES {
            let call = format!("(page_size {page_size}, page_token {token:?})");
            let request = ListCardsRequest { page_size, page_token: token.clone(), ..Default::default() };
            let request = from(&grant.principal, request);
            let mut client = CardServiceClient::new(self.channel());
            let answer = async move { client.list_cards(request).await.map(Response::into_inner) };
            let Some(page) = self.observe(grant, "ListCards", &call, expect, false, answer).await? else {
                return Ok(());
            };
            let view = self.world.view(grant);
            let at = at("ListCards", &call);
            for card in &page.cards {
                checks::card(&view, card).map_err(at)?;
                seen.push(card.id);
            }
            checks::total("cards", page.total_size, expected.len()).map_err(at)?;
            if page.next_page_token.is_empty() {
                return checks::same_set("cards", &seen, &expected).map_err(at);
            }
            token = page.next_page_token;
        }
        Ok(())
    }

    pub(super) async fn get_card(&mut self, grant: &Grant) -> Result<(), String> {
        let mut ids: Vec<i64> = (1..=12).collect();
        ids.extend(self.world.cards.iter().map(|card| card.id).filter(|id| *id > 12));
        let card_id = self.rng.pick(&ids);
        let legacy_mbql = self.rng.chance(20);
        let view = self.world.view(grant);
        let expect = match self.world.card(card_id) {
            _ if !grant.has("cards", Level::Read) => Expect::Denied,
            None => Expect::NotFound,
            Some(card) if !view.card(card) => Expect::Denied,
            Some(_) => Expect::Ok,
        };
        let call = format!("(card_id {card_id}, legacy_mbql {legacy_mbql})");
        let request = from(&grant.principal, GetCardRequest { card_id, legacy_mbql });
        let mut client = CardServiceClient::new(self.channel());
        let answer = async move { client.get_card(request).await.map(Response::into_inner) };
        let Some(card) = self.observe(grant, "GetCard", &call, expect, false, answer).await? else {
            return Ok(());
        };
        let at = at("GetCard", &call);
        checks::card(&self.world.view(grant), &card).map_err(at)?;
        if card.id != card_id {
            return Err(at(format!("asked for card {card_id}, got card {}", card.id)));
        }
        Ok(())
    }

    pub(super) async fn list_dashboards(&mut self, grant: &Grant) -> Result<(), String> {
        let expect = needs(grant, "dashboards", Level::Read);
        let request = from(&grant.principal, ListDashboardsRequest::default());
        let mut client = DashboardServiceClient::new(self.channel());
        let answer = async move { client.list_dashboards(request).await.map(Response::into_inner) };
        let Some(listed) = self.observe(grant, "ListDashboards", "()", expect, false, answer).await? else {
            return Ok(());
        };
        let view = self.world.view(grant);
        let at = at("ListDashboards", "()");
        let mut seen = Vec::new();
        for dashboard in &listed.dashboards {
            checks::dashboard(&view, dashboard).map_err(at)?;
            seen.push(dashboard.id);
        }
        let expected = view.visible_dashboards();
        checks::total("dashboards", listed.total_size, expected.len()).map_err(at)?;
        checks::same_set("dashboards", &seen, &expected).map_err(at)
    }

    /// Reads a random dashboard (or the given one), returning it when the caller may read it.
    pub(super) async fn read_dashboard(
        &mut self,
        grant: &Grant,
        dashboard_id: i64,
    ) -> Result<Option<Dashboard>, String> {
        let view = self.world.view(grant);
        let expect = match self.world.dashboard(dashboard_id) {
            _ if !grant.has("dashboards", Level::Read) => Expect::Denied,
            None => Expect::NotFound,
            Some(dashboard) if !view.dashboard(dashboard) => Expect::Denied,
            Some(_) => Expect::Ok,
        };
        let call = format!("(dashboard_id {dashboard_id})");
        let request = from(&grant.principal, GetDashboardRequest { dashboard_id });
        let mut client = DashboardServiceClient::new(self.channel());
        let answer = async move { client.get_dashboard(request).await.map(Response::into_inner) };
        let Some(dashboard) = self.observe(grant, "GetDashboard", &call, expect, false, answer).await? else {
            return Ok(None);
        };
        let at = at("GetDashboard", &call);
        checks::dashboard(&self.world.view(grant), &dashboard).map_err(at)?;
        if dashboard.id != dashboard_id {
            return Err(at(format!("asked for dashboard {dashboard_id}, got {}", dashboard.id)));
        }
        Ok(Some(dashboard))
    }

    pub(super) async fn get_dashboard(&mut self, grant: &Grant) -> Result<Option<Dashboard>, String> {
        let dashboard_id = self.rng.pick(&[1, 2, 3]);
        self.read_dashboard(grant, dashboard_id).await
    }

    pub(super) async fn list_databases(&mut self, grant: &Grant) -> Result<(), String> {
        let page_size = self.rng.pick(&[0, 1]);
        let expect = needs(grant, "databases", Level::Read);
        let expected = self.world.view(grant).visible_databases();
        let mut token = String::new();
        let mut seen = Vec::new();
        for _ in 0..MAX_PAGES {
            let call = format!("(page_size {page_size}, page_token {token:?})");
            let request = ListDatabasesRequest { page_size, page_token: token.clone(), ..Default::default() };
            let request = from(&grant.principal, request);
            let mut client = DatabaseServiceClient::new(self.channel());
            let answer = async move { client.list_databases(request).await.map(Response::into_inner) };
            let Some(page) = self.observe(grant, "ListDatabases", &call, expect, false, answer).await? else {
                return Ok(());
            };
            let view = self.world.view(grant);
            let at = at("ListDatabases", &call);
            for database in &page.databases {
                checks::database(&view, database).map_err(at)?;
                seen.push(database.id);
            }
            checks::total("databases", page.total_size, expected.len()).map_err(at)?;
            if page.next_page_token.is_empty() {
                return checks::same_set("databases", &seen, &expected).map_err(at);
            }
            token = page.next_page_token;
        }
        Ok(())
    }

    pub(super) async fn get_database(&mut self, grant: &Grant) -> Result<(), String> {
        let database_id = self.rng.pick(&[1, WAREHOUSE, 7]);
        let view = self.world.view(grant);
        let expect = match self.world.database(database_id) {
            _ if !grant.has("databases", Level::Read) || !view.database(database_id) => Expect::Denied,
            None => Expect::NotFound,
            Some(_) => Expect::Ok,
        };
        let call = format!("(database_id {database_id})");
        let request = from(&grant.principal, GetDatabaseRequest { database_id, include_tables: false });
        let mut client = DatabaseServiceClient::new(self.channel());
        let answer = async move { client.get_database(request).await.map(Response::into_inner) };
        let Some(database) = self.observe(grant, "GetDatabase", &call, expect, false, answer).await? else {
            return Ok(());
        };
        let at = at("GetDatabase", &call);
        checks::database(&self.world.view(grant), &database).map_err(at)?;
        if database.id != database_id {
            return Err(at(format!("asked for database {database_id}, got {}", database.id)));
        }
        Ok(())
    }

    pub(super) async fn list_alerts(&mut self, grant: &Grant) -> Result<(), String> {
        let page_size = self.rng.pick(&[0, 1]);
        let expect = needs(grant, "alerts", Level::Read);
        let expected = self.world.view(grant).visible_alerts();
        let mut token = String::new();
        let mut seen = Vec::new();
        for _ in 0..MAX_PAGES {
            let call = format!("(page_size {page_size}, page_token {token:?})");
            let request = ListAlertsRequest { page_size, page_token: token.clone(), ..Default::default() };
            let request = from(&grant.principal, request);
            let mut client = AlertServiceClient::new(self.channel());
            let answer = async move { client.list_alerts(request).await.map(Response::into_inner) };
            let Some(page) = self.observe(grant, "ListAlerts", &call, expect, false, answer).await? else {
                return Ok(());
            };
            let view = self.world.view(grant);
            let at = at("ListAlerts", &call);
            for alert in &page.alerts {
                checks::alert(&view, alert).map_err(at)?;
                seen.push(alert.id);
            }
            checks::total("alerts", page.total_size, expected.len()).map_err(at)?;
            if page.next_page_token.is_empty() {
                return checks::same_set("alerts", &seen, &expected).map_err(at);
            }
            token = page.next_page_token;
        }
        Ok(())
    }

    pub(super) async fn get_alert(&mut self, grant: &Grant) -> Result<(), String> {
        let alert_id = self.rng.pick(&[1, 2, 3]);
        let card = self.world.alerts.iter().find(|(id, _)| *id == alert_id).map(|(_, card)| *card);
        let view = self.world.view(grant);
        let expect = match card {
            _ if !grant.has("alerts", Level::Read) => Expect::Denied,
            None => Expect::NotFound,
            Some(card) if !view.alert(card) => Expect::Denied,
            Some(_) => Expect::Ok,
        };
        let call = format!("(alert_id {alert_id})");
        let request = from(&grant.principal, GetAlertRequest { alert_id });
        let mut client = AlertServiceClient::new(self.channel());
        let answer = async move { client.get_alert(request).await.map(Response::into_inner) };
        let Some(alert) = self.observe(grant, "GetAlert", &call, expect, false, answer).await? else {
            return Ok(());
        };
        checks::alert(&self.world.view(grant), &alert).map_err(at("GetAlert", &call))
    }
}
