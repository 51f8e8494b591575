//! CardService: saved questions, models and metrics, narrowed to the caller's collections.

use serde::de::DeserializeOwned;
use tonic::{Request, Response, Status};

use super::queries::check_saved_query;
use super::{collection_locations, collection_scope, failed, object_scope, total_size};
use crate::convert::collection_target;
use crate::convert::paging::Page;
use crate::convert::proto_json::ProtoJson;
use crate::error::GatewayError;
use crate::metabase::{
    Card as UpstreamCard, CardCreate, CardFilter as UpstreamFilter, CardId, CardUpdate, DashboardId,
};
use crate::middleware::call::CallContext;
use crate::pb::v1::card_service_server::CardService;
use crate::pb::v1::{
    Card, CardFilter, CreateCardRequest, ExportCardRequest, GetCardRequest, ListCardsRequest, ListCardsResponse,
    RunCardRequest, UpdateCardRequest,
};
use crate::streaming::{ExportStream, QueryStream};

/// The CardService handlers.
#[derive(Debug, Default)]
pub(crate) struct CardApi;

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

/// Reads a card, notes it for the audit, and checks it against the caller's narrowing.
pub(super) async fn readable_card(call: &CallContext, card_id: i64) -> Result<UpstreamCard, Status> {
    checked_card(call, card_id, true).await
}

/// Reads a card and checks it against the caller's collections and databases; `note` records it
/// (and its collection) as what the call acted on, for calls where the card is the subject. `J`
/// is how its free-form JSON is read: JSON values, or protobuf values for a card answered as is.
pub(super) async fn checked_card<J: DeserializeOwned>(
    call: &CallContext,
    card_id: i64,
    note: bool,
) -> Result<UpstreamCard<J>, Status> {
    let card = call.client.cards().get_as(CardId(card_id), false).await.map_err(failed(format!("card {card_id}")))?;
    let scope = object_scope(&card, None);
    if note {
        call.note_resource("card", card_id);
        if let Some(collection) = scope.id {
            call.note_resource("collection", collection);
        }
    }
    call.check_collection(&scope)?;
    if let Some(database) = card.database_id {
        call.check_database(database.0)?;
    }
    Ok(card)
}

/// Checks the dashboard a card is saved into (a dashboard question): it must be in the caller's
/// collections, as the card then lives in the dashboard's collection.
async fn check_dashboard(call: &CallContext, dashboard_id: Option<i64>) -> Result<(), Status> {
    let Some(id) = dashboard_id else {
        return Ok(());
    };
    let dashboard = call.client.dashboards().get(DashboardId(id)).await.map_err(failed(format!("dashboard {id}")))?;
    call.check_collection(&object_scope(&dashboard, None))
}

/// Returns a card the caller may read as it may see it (its collection's ancestry narrowed).
async fn narrowed_card(call: &CallContext, card: Card) -> Result<Card, Status> {
    let id = card.id;
    crate::narrow::card(&super::visibility(call).await?, card)
        .ok_or_else(|| Status::from(GatewayError::Internal { message: format!("card {id} changed place while read") }))
}

#[tonic::async_trait]
impl CardService for CardApi {
    async fn list_cards(&self, request: Request<ListCardsRequest>) -> Result<Response<ListCardsResponse>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let page = Page::from_request(request.page_size, &request.page_token)?;
        let filter = filter(request.filter)?;
        let listed =
            call.client.cards().list_as::<ProtoJson>(filter, request.model_id).await.map_err(failed("cards"))?;
        let visibility = super::visibility(&call).await?;
        let visible: Vec<Card> =
            listed.into_iter().map(Card::from).filter_map(|card| crate::narrow::card(&visibility, card)).collect();
        let (visible, total) = page.slice(visible);
        Ok(Response::new(ListCardsResponse {
            cards: visible,
            next_page_token: page.next_token(total),
            total_size: total_size(total),
        }))
    }

    async fn get_card(&self, request: Request<GetCardRequest>) -> Result<Response<Card>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let card = checked_card::<ProtoJson>(&call, request.card_id, true).await?;
        let card = if request.legacy_mbql {
            call.client
                .cards()
                .get_as(CardId(request.card_id), true)
                .await
                .map_err(failed(format!("card {}", request.card_id)))?
        } else {
            card
        };
        Ok(Response::new(narrowed_card(&call, Card::from(card)).await?))
    }

    async fn create_card(&self, request: Request<CreateCardRequest>) -> Result<Response<Card>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let target = request.collection_id.as_ref().and_then(collection_target).map(|id| id.get());
        let locations = collection_locations(&call).await?;
        call.check_collection(&collection_scope(target, &locations))?;
        if request.dataset_query.is_none() {
            return Err(GatewayError::invalid_argument("dataset_query", "dataset_query is required").into());
        }
        check_saved_query(&call, request.dataset_query.as_ref()).await?;
        check_dashboard(&call, request.dashboard_id).await?;
        let body = CardCreate::try_from(request)?;
        let card = call.client.cards().create(&body).await.map_err(failed("new card"))?;
        let converted = Card::from(card);
        call.note_resource("card", converted.id);
        Ok(Response::new(converted))
    }

    async fn update_card(&self, request: Request<UpdateCardRequest>) -> Result<Response<Card>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let id = request.card_id;
        readable_card(&call, id).await?;
        if let Some(target) = request.collection_id.as_ref().filter(|_| request.archived != Some(true)) {
            let locations = collection_locations(&call).await?;
            call.check_collection(&collection_scope(collection_target(target).map(|id| id.get()), &locations))?;
        }
        check_saved_query(&call, request.dataset_query.as_ref()).await?;
        check_dashboard(&call, request.dashboard_id.filter(|id| *id != 0)).await?;
        let body = CardUpdate::from(request);
        let card = call.client.cards().update(CardId(id), &body).await.map_err(failed(format!("card {id}")))?;
        Ok(Response::new(Card::from(card)))
    }

    type RunCardStream = QueryStream;

    async fn run_card(&self, request: Request<RunCardRequest>) -> Result<Response<Self::RunCardStream>, Status> {
        let call = CallContext::of(&request)?;
        let card = readable_card(&call, request.get_ref().card_id).await?;
        crate::streaming::run_card(&call, request, card).await
    }

    type ExportCardStream = ExportStream;

    async fn export_card(
        &self,
        request: Request<ExportCardRequest>,
    ) -> Result<Response<Self::ExportCardStream>, Status> {
        let call = CallContext::of(&request)?;
        let card = readable_card(&call, request.get_ref().card_id).await?;
        crate::streaming::export_card(&call, request, card).await
    }
}
