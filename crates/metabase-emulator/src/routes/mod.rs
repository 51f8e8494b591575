//! The emulator's route table (CONTRACT.md §1.1): every `/api` route the gateway maps, with
//! Metabase's trailing-slash tolerance, its 401-before-404 rule for unknown routes, the
//! `X-Metabase-Version` header, and injected faults.

mod alerts;
mod cards;
mod collections;
mod dashboards;
mod databases;
mod dataset;
mod fields;
mod metadata;
mod notification_rows;
mod notifications;
mod permissions;
mod render;
mod search;
mod session;
mod settings;
mod users;

use std::sync::Arc;

use axum::Router;
use axum::ServiceExt;
use axum::body::Body as AxumBody;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use bytes::Bytes;
use futures::StreamExt;
use tower::Layer;
use tower::util::{MapRequest, MapRequestLayer};

use super::http::error::{NO_ENDPOINT, text};
use super::http::request::resolve_caller;
use super::{Context, EMULATED_VERSION, RecordedRequest};

/// The `/api` prefixes Metabase wraps in `+auth`: an unknown route below one of them is 401 for
/// an anonymous caller, before it is 404.
const AUTH_PREFIXES: &[&str] = &[
    "/api/card",
    "/api/cards",
    "/api/collection",
    "/api/dashboard",
    "/api/database",
    "/api/dataset",
    "/api/user",
    "/api/permissions",
    "/api/alert",
    "/api/search",
    "/api/table",
    "/api/field",
    "/api/activity",
    "/api/notification",
    "/api/setting",
];

/// The emulator's HTTP service: the router behind trailing-slash normalisation.
pub(crate) type EmulatorService = axum::routing::IntoMakeService<MapRequest<Router, fn(Request) -> Request>>;

/// Builds the emulator's HTTP service.
pub(crate) fn router(context: Arc<Context>) -> EmulatorService {
    let api = Router::new()
        .route("/api/health", get(session::health))
        .route("/livez", get(session::health))
        .route("/api/session", post(session::login).delete(session::logout))
        .route("/api/session/properties", get(session::properties))
        .route("/api/card", get(cards::list).post(cards::create))
        .route("/api/card/{id}", get(cards::get_one).put(cards::update).delete(cards::remove))
        .route("/api/card/{id}/query", post(dataset::card_query))
        .route("/api/card/{id}/query/{format}", post(dataset::card_export))
        .route("/api/dashboard", get(dashboards::list).post(dashboards::create))
        .route("/api/dashboard/{id}", get(dashboards::get_one).put(dashboards::update).delete(dashboards::remove))
        .route("/api/collection", get(collections::list).post(collections::create))
        .route("/api/collection/tree", get(collections::tree))
        .route("/api/collection/{id}", get(collections::get_one).put(collections::update).delete(collections::remove))
        .route("/api/collection/{id}/items", get(collections::items))
        .route("/api/database", get(databases::list).post(databases::create))
        .route("/api/database/{id}", get(databases::get_one).put(databases::update).delete(databases::remove))
        .route("/api/database/{id}/sync_schema", post(databases::sync_schema))
        .route("/api/database/{id}/metadata", get(metadata::database_metadata))
        .route("/api/database/{id}/schemas", get(metadata::schemas))
        .route("/api/database/{id}/schema/{schema}", get(metadata::schema_tables))
        .route("/api/table", get(metadata::list_tables))
        .route("/api/table/{id}", get(metadata::get_table).put(metadata::update_table))
        .route("/api/table/{id}/query_metadata", get(metadata::table_query_metadata))
        .route("/api/table/{id}/fields/order", put(metadata::update_field_order))
        .route("/api/field/{id}", get(fields::get_field).put(fields::update_field))
        .route("/api/field/{id}/values", get(fields::field_values))
        .route("/api/dataset", post(dataset::adhoc_query))
        .route("/api/dataset/{format}", post(dataset::adhoc_export))
        .route("/api/user", get(users::list).post(users::create))
        .route("/api/user/current", get(users::current))
        .route("/api/user/recipients", get(users::recipients))
        .route("/api/user/{id}", get(users::get_one).put(users::update).delete(users::deactivate))
        .route("/api/user/{id}/reactivate", put(users::reactivate))
        .route("/api/permissions/group", get(permissions::list_groups).post(permissions::create_group))
        .route(
            "/api/permissions/group/{id}",
            get(permissions::get_group).put(permissions::update_group).delete(permissions::delete_group),
        )
        .route("/api/permissions/membership", get(permissions::list_memberships).post(permissions::add_member))
        .route("/api/permissions/membership/{id}", delete(permissions::remove_member))
        .route("/api/permissions/graph", get(permissions::graph).put(permissions::update_graph))
        .route("/api/alert", get(alerts::list))
        .route("/api/alert/{id}", get(alerts::get_one))
        .route("/api/alert/{id}/subscription", delete(alerts::unsubscribe))
        .route("/api/notification", get(notifications::list).post(notifications::create))
        .route("/api/notification/{id}", get(notifications::get_one).put(notifications::update))
        .route("/api/notification/{id}/unsubscribe", post(notifications::unsubscribe))
        .route("/api/notification/{id}/send", post(notifications::send))
        .route("/api/setting", get(settings::list))
        .route("/api/setting/{key}", get(settings::get_one))
        .route("/api/search", get(search::search))
        .route_layer(middleware::from_fn_with_state(context.clone(), apply_faults))
        .fallback(unknown_route)
        .method_not_allowed_fallback(unknown_route)
        .layer(middleware::from_fn_with_state(context.clone(), record_and_stamp))
        .with_state(context);
    let normalize: fn(Request) -> Request = strip_trailing_slash;
    let normalized = MapRequestLayer::new(normalize).layer(api);
    ServiceExt::<Request>::into_make_service(normalized)
}

/// Fills in the seeded cards' `result_metadata`, as Metabase computed it when they were saved.
pub(crate) fn describe_seeded_cards(context: &Context) {
    let queries: Vec<(i64, serde_json::Value)> =
        context.state().cards.values().map(|card| (card.id, card.dataset_query.clone())).collect();
    for (id, query) in queries {
        let metadata = cards::result_metadata(context, &query);
        if let Some(card) = context.state().cards.get_mut(&id) {
            card.result_metadata = metadata;
        }
    }
}

/// Treats `/api/card/` like `/api/card`, as Metabase's `split-path` does.
fn strip_trailing_slash(mut request: Request) -> Request {
    let path = request.uri().path();
    if path.len() > 1 && path.ends_with('/') {
        let trimmed = path.trim_end_matches('/');
        let rebuilt = match request.uri().query() {
            Some(query) => format!("{trimmed}?{query}"),
            None => trimmed.to_owned(),
        };
        if let Ok(uri) = rebuilt.parse::<Uri>() {
            *request.uri_mut() = uri;
        }
    }
    request
}

async fn unknown_route(State(context): State<Arc<Context>>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let under_auth = AUTH_PREFIXES.iter().any(|prefix| path == *prefix || path.starts_with(&format!("{prefix}/")));
    let (parts, _) = request.into_parts();
    if under_auth && resolve_caller(&parts, &context).is_none() {
        return text(StatusCode::UNAUTHORIZED, super::http::error::UNAUTHENTICATED);
    }
    text(StatusCode::NOT_FOUND, NO_ENDPOINT)
}

/// Records each request for tests and stamps `X-Metabase-Version` on each `/api` response.
async fn record_and_stamp(State(context): State<Arc<Context>>, request: Request, next: Next) -> Response {
    let recorded = RecordedRequest {
        method: request.method().to_string(),
        uri: request.uri().to_string(),
        headers: request
            .headers()
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or("").to_owned()))
            .collect(),
    };
    if let Ok(mut requests) = context.observations.requests.lock() {
        requests.push(recorded);
    }
    let is_api = request.uri().path().starts_with("/api");
    let mut response = next.run(request).await;
    if is_api {
        response.headers_mut().insert("x-metabase-version", HeaderValue::from_static(EMULATED_VERSION));
    }
    response
}

/// Applies the first matching injected fault: latency, a forced status, or a reset or a stall
/// mid-body.
async fn apply_faults(
    State(context): State<Arc<Context>>,
    matched: MatchedPath,
    request: Request,
    next: Next,
) -> Response {
    let Some(fault) = context.faults.take(request.method().as_str(), matched.as_str()) else {
        return next.run(request).await;
    };
    if let Some(latency) = fault.latency {
        tokio::time::sleep(latency).await;
    }
    if let Some((status, body)) = fault.status {
        let mut answer = text(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), body);
        if let Some(seconds) = fault.retry_after_secs {
            answer.headers_mut().insert("retry-after", HeaderValue::from(seconds));
        }
        return answer;
    }
    let response = next.run(request).await;
    if let Some(delay) = fault.answer_delay {
        tokio::time::sleep(delay).await;
    }
    match (fault.reset_after_bytes, fault.stall_after_bytes) {
        (Some(limit), _) => cut_body(response, limit, false),
        (None, Some(limit)) => cut_body(response, limit, true),
        (None, None) => response,
    }
}

/// Passes `limit` body bytes, then fails the body, which aborts the connection, or with `stall`
/// sends nothing more until the client goes away.
fn cut_body(response: Response, limit: usize, stall: bool) -> Response {
    let reset = || std::io::Error::new(std::io::ErrorKind::ConnectionReset, "emulated connection reset");
    let (parts, body) = response.into_parts();
    let stream = futures::stream::unfold(
        (body.into_data_stream(), limit, false),
        move |(mut stream, remaining, done)| async move {
            if done {
                return None;
            }
            if remaining == 0 {
                if stall {
                    futures::future::pending::<()>().await;
                }
                return Some((Err(reset()), (stream, 0, true)));
            }
            match stream.next().await {
                Some(Ok(chunk)) => {
                    let taken = chunk.len().min(remaining);
                    let head: Bytes = chunk.slice(..taken);
                    Some((Ok(head), (stream, remaining - taken, false)))
                }
                Some(Err(error)) => Some((Err(std::io::Error::other(error)), (stream, 0, true))),
                None => None,
            }
        },
    );
    Response::from_parts(parts, AxumBody::from_stream(stream)).into_response()
}
