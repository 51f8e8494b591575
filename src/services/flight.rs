//! FlightService (Arrow Flight): results as Arrow record batches for dataframe clients. A command
//! names a saved question or an ad-hoc query; every method that reads one checks it exactly as
//! RunCard or RunQuery does (the card's grant and narrowing, or the query inspector and the
//! datasets grant), and DoGet checks its ticket again, so a ticket grants nothing by itself.
//! Uploads, exchanges and actions answer UNIMPLEMENTED.

use std::pin::Pin;

use arrow_flight::flight_service_server::FlightService;
use arrow_flight::{
    Action, ActionType, Criteria, Empty, FlightData, FlightDescriptor, FlightInfo, HandshakeRequest, HandshakeResponse,
    PollInfo, PutResult, SchemaAsIpc, SchemaResult, Ticket,
};
use arrow_ipc::writer::IpcWriteOptions;
use futures::Stream;
use serde_json::json;
use tonic::{Request, Response, Status, Streaming};

use super::cards::readable_card;
use super::failed;
use super::queries::check_query;
use crate::convert::flight::{FlightCommand, FlightQuery};
use crate::error::GatewayError;
use crate::metabase::{CardFilter, QuerySource};
use crate::middleware::call::CallContext;
use crate::middleware::deadline::Deadline;
use crate::streaming::flight::{FlightDataStream, card_flight, flight_info, record_batches, result_schema};
use crate::streaming::plan::RowLimit;
use crate::streaming::{check_card_id, check_max_rows, dataset_body};

type Answers<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// What the gateway serves instead of the Flight methods it does not.
const READS_ONLY: &str = "the gateway serves GetFlightInfo, GetSchema, DoGet and ListFlights";

fn unimplemented<T>(method: &'static str) -> Result<T, Status> {
    Err(GatewayError::Unimplemented { method, instead: READS_ONLY }.into())
}

/// Checks a command as RunCard or RunQuery would check the same request, records it for the
/// audit, and returns what Metabase is to run with the call's row limit.
async fn checked_source(call: &CallContext, command: FlightCommand) -> Result<(QuerySource, RowLimit), Status> {
    check_max_rows(command.max_rows)?;
    let FlightCommand { query, parameters, max_rows } = command;
    let source = match query {
        FlightQuery::Card { card_id } => {
            check_card_id(card_id)?;
            call.check_card_grant()?;
            let card = readable_card(call, card_id).await?;
            call.note_parameters(json!({"card_id": card_id, "max_rows": max_rows, "parameters": parameters}));
            QuerySource::Card { card: Box::new(card), parameters }
        }
        FlightQuery::AdHoc { database_id, query } => {
            let body = dataset_body(database_id, query, parameters)?;
            check_query(call, &body).await?;
            call.note_parameters(json!({"database_id": database_id, "max_rows": max_rows, "query": body}));
            QuerySource::Dataset { query: body }
        }
    };
    Ok((source, RowLimit::new(max_rows, call.max_rows())))
}

/// The FlightService handlers.
#[derive(Debug, Default)]
pub(crate) struct FlightApi;

#[tonic::async_trait]
impl FlightService for FlightApi {
    type HandshakeStream = Answers<HandshakeResponse>;

    /// Callers identify themselves as on every other RPC (headers, mTLS or JWT); there is no
    /// Flight handshake.
    async fn handshake(
        &self,
        _: Request<Streaming<HandshakeRequest>>,
    ) -> Result<Response<Self::HandshakeStream>, Status> {
        unimplemented("FlightService/Handshake")
    }

    type ListFlightsStream = Answers<FlightInfo>;

    /// Lists the saved questions the caller may run, narrowed like ListCards; the criteria are
    /// not read.
    async fn list_flights(&self, request: Request<Criteria>) -> Result<Response<Self::ListFlightsStream>, Status> {
        let call = CallContext::of(&request)?;
        let listed = call.client.cards().list(CardFilter::All, None).await.map_err(failed("cards"))?;
        let visibility = super::visibility(&call).await?;
        let flights: Vec<Result<FlightInfo, Status>> = listed
            .iter()
            .filter(|card| crate::narrow::card(&visibility, crate::pb::v1::Card::from((*card).clone())).is_some())
            .map(card_flight)
            .collect();
        Ok(Response::new(Box::pin(futures::stream::iter(flights))))
    }

    async fn get_flight_info(&self, request: Request<FlightDescriptor>) -> Result<Response<FlightInfo>, Status> {
        let call = CallContext::of(&request)?;
        let descriptor = request.into_inner();
        let (source, _) = checked_source(&call, FlightCommand::from_descriptor(&descriptor)?).await?;
        let schema = result_schema(&call.client, &source).await?;
        Ok(Response::new(flight_info(descriptor, &schema)?))
    }

    async fn poll_flight_info(&self, _: Request<FlightDescriptor>) -> Result<Response<PollInfo>, Status> {
        unimplemented("FlightService/PollFlightInfo")
    }

    async fn get_schema(&self, request: Request<FlightDescriptor>) -> Result<Response<SchemaResult>, Status> {
        let call = CallContext::of(&request)?;
        let (source, _) = checked_source(&call, FlightCommand::from_descriptor(request.get_ref())?).await?;
        let schema = result_schema(&call.client, &source).await?;
        let result = SchemaAsIpc::new(&schema, &IpcWriteOptions::default()).try_into().map_err(|_| {
            Status::from(GatewayError::Internal { message: "a result schema could not be written as arrow ipc".into() })
        })?;
        Ok(Response::new(result))
    }

    type DoGetStream = FlightDataStream;

    async fn do_get(&self, request: Request<Ticket>) -> Result<Response<Self::DoGetStream>, Status> {
        let call = CallContext::of(&request)?;
        let deadline = request.extensions().get::<Deadline>().copied();
        let (source, limit) = checked_source(&call, FlightCommand::from_ticket(&request.get_ref().ticket)?).await?;
        Ok(Response::new(record_batches(&call, deadline, source, limit)))
    }

    type DoPutStream = Answers<PutResult>;

    async fn do_put(&self, _: Request<Streaming<FlightData>>) -> Result<Response<Self::DoPutStream>, Status> {
        unimplemented("FlightService/DoPut")
    }

    type DoExchangeStream = Answers<FlightData>;

    async fn do_exchange(&self, _: Request<Streaming<FlightData>>) -> Result<Response<Self::DoExchangeStream>, Status> {
        unimplemented("FlightService/DoExchange")
    }

    type DoActionStream = Answers<arrow_flight::Result>;

    async fn do_action(&self, _: Request<Action>) -> Result<Response<Self::DoActionStream>, Status> {
        unimplemented("FlightService/DoAction")
    }

    type ListActionsStream = Answers<ActionType>;

    async fn list_actions(&self, _: Request<Empty>) -> Result<Response<Self::ListActionsStream>, Status> {
        unimplemented("FlightService/ListActions")
    }
}
