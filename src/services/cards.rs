//! CardService: saved questions, models and metrics.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::{GatewayState, failed, total_size};
use crate::convert::paging::Page;
use crate::convert::{cards, to_json};
use crate::error::GatewayError;
use crate::metabase::{CardFilter as UpstreamFilter, CardId};
use crate::pb::v1::card_service_server::CardService;
use crate::pb::v1::{
    Card, CardFilter, CreateCardRequest, ExportCardRequest, GetCardRequest, ListCardsRequest, ListCardsResponse,
    RunCardRequest, UpdateCardRequest,
};
use crate::streaming::{ExportStream, QueryStream};

/// The CardService handlers.
pub struct CardApi {
    state: Arc<GatewayState>,
}

impl CardApi {
    /// Returns the service over the shared state.
    pub fn new(state: Arc<GatewayState>) -> Self {
        CardApi { state }
    }
}

fn filter(raw: i32) -> Result<UpstreamFilter, GatewayError> {
    let filter = CardFilter::try_from(raw)
        .map_err(|_| GatewayError::invalid_argument("filter", format!("unknown card filter {raw}")))?;
    Ok(match filter {
        CardFilter::Unspecified | CardFilter::All => UpstreamFilter::All,
        CardFilter::Mine => UpstreamFilter::Mine,
        CardFilter::Bookmarked => UpstreamFilter::Bookmarked,
        CardFilter::Database => UpstreamFilter::Database,
        CardFilter::Table => UpstreamFilter::Table,
        CardFilter::Archived => UpstreamFilter::Archived,
        CardFilter::UsingModel => UpstreamFilter::UsingModel,
        CardFilter::UsingSegment => UpstreamFilter::UsingSegment,
    })
}

#[tonic::async_trait]
impl CardService for CardApi {
    async fn list_cards(&self, request: Request<ListCardsRequest>) -> Result<Response<ListCardsResponse>, Status> {
        let request = request.into_inner();
        let page = Page::from_request(request.page_size, &request.page_token)?;
        let filter = filter(request.filter)?;
        let listed = self.state.client.cards().list(filter, request.model_id).await.map_err(failed("cards"))?;
        let (listed, total) = page.slice(listed);
        Ok(Response::new(ListCardsResponse {
            cards: listed.iter().map(|card| cards::card(to_json(card))).collect(),
            next_page_token: page.next_token(total),
            total_size: total_size(total),
        }))
    }

    async fn get_card(&self, request: Request<GetCardRequest>) -> Result<Response<Card>, Status> {
        let request = request.into_inner();
        // legacy-mbql exists from 0.57; older releases return legacy MBQL anyway.
        let legacy = request.legacy_mbql
            && self.state.version().await.and_then(|version| version.parsed).is_none_or(|version| version.minor >= 57);
        let card = self
            .state
            .client
            .cards()
            .get(CardId(request.card_id), legacy)
            .await
            .map_err(failed(format!("card {}", request.card_id)))?;
        Ok(Response::new(cards::card(to_json(&card))))
    }

    async fn create_card(&self, request: Request<CreateCardRequest>) -> Result<Response<Card>, Status> {
        let body = cards::create_body(request.into_inner())?;
        let card = self.state.client.cards().create(body).await.map_err(failed("new card"))?;
        Ok(Response::new(cards::card(to_json(&card))))
    }

    async fn update_card(&self, request: Request<UpdateCardRequest>) -> Result<Response<Card>, Status> {
        let request = request.into_inner();
        let id = request.card_id;
        let body = cards::update_body(request);
        let card = self.state.client.cards().update(CardId(id), body).await.map_err(failed(format!("card {id}")))?;
        Ok(Response::new(cards::card(to_json(&card))))
    }

    type RunCardStream = QueryStream;

    async fn run_card(&self, request: Request<RunCardRequest>) -> Result<Response<Self::RunCardStream>, Status> {
        crate::streaming::run_card(&self.state, request).await
    }

    type ExportCardStream = ExportStream;

    async fn export_card(
        &self,
        request: Request<ExportCardRequest>,
    ) -> Result<Response<Self::ExportCardStream>, Status> {
        crate::streaming::export_card(&self.state, request).await
    }
}
