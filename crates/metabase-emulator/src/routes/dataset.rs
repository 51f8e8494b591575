//! Query routes (CONTRACT.md §4, §8-§10): `POST /api/dataset` and card queries answer 202 with a
//! streamed JSON body, success or failure; exports answer 200 and stream csv, json or xlsx with
//! any failure written into the body. Checks that fail before streaming use normal error codes.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body as AxumBody;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::cards::find_card;
use crate::Context;
use crate::http::{ApiError, ApiResult, Body, Caller, positive_id};
use crate::query::execute::Run;
use crate::query::writers::{
    ApiResponse, ChunkSender, ExportFormat, ExportRequest, body_channel, write_api_response, write_export,
};
use crate::query::{EXPORT_ROW_LIMIT, PreparedQuery, QueryFailure, normalize, prepare};
use crate::state::{Access, QueryAccess};

/// What a query route runs: either a prepared query or a failure to report in the body.
struct Planned {
    prepared: Result<PreparedQuery, QueryFailure>,
    database_id: i64,
    json_query: Value,
}

fn started_at() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Checks an ad-hoc query's database and permissions, and prepares it.
fn plan_adhoc(context: &Context, caller: Caller, query: &Value) -> Result<Planned, ApiError> {
    context.observations.observe_query(query);
    let Some(database_id) = query.get("database").and_then(Value::as_i64) else {
        let mut data = Map::new();
        data.insert("status-code".into(), json!(400));
        data.insert("query".into(), query.clone());
        return Err(ApiError::exception(StatusCode::BAD_REQUEST, "Invalid query: missing or invalid :database", data));
    };
    let state = context.state();
    if !state.databases.contains_key(&database_id) {
        return Err(ApiError::NotFound);
    }
    if !state.can_view_database(caller.user_id, database_id) {
        return Err(ApiError::Forbidden);
    }
    let access = state.query_access(caller.user_id, database_id);
    drop(state);
    let parameters = query.get("parameters").cloned().unwrap_or_else(|| json!([]));
    let prepared = normalize::to_mbql5(query).map_err(QueryFailure::invalid_query).and_then(|modern| {
        let is_native = modern["stages"][0]["lib/type"] == "mbql.stage/native";
        let needed = if is_native { QueryAccess::QueryBuilderAndNative } else { QueryAccess::QueryBuilder };
        if access < needed {
            return Err(QueryFailure::of_type(
                "missing-required-permissions",
                "You do not have permissions to run this query.",
            ));
        }
        prepare(&modern, &parameters, &context.catalog)
    });
    Ok(Planned { prepared, database_id, json_query: query.clone() })
}

fn with_middleware(mut json_query: Value, constraints: bool) -> Value {
    if let Some(map) = json_query.as_object_mut() {
        map.insert(
            "middleware".into(),
            json!({"js-int-to-string?": true, "userland-query?": true, "add-default-userland-constraints?": true}),
        );
        if constraints {
            map.insert("constraints".into(), json!({"max-results": 10000, "max-results-bare-rows": 2000}));
        }
    }
    json_query
}

fn stream_api(context: Arc<Context>, planned: Planned, query_context: &'static str, card: bool) -> Response {
    let (sender, stream) = body_channel();
    let started = Instant::now();
    let started_at = started_at();
    let json_query = with_middleware(planned.json_query, card);
    tokio::task::spawn_blocking(move || {
        let mut chunks = ChunkSender::new(sender);
        match planned.prepared {
            Ok(prepared) => {
                let cap = context.row_limits.cap_for(&prepared);
                let max_rows = prepared.query_limit.map_or(cap, |limit| limit.min(cap));
                let response = ApiResponse {
                    run: Run {
                        database: &context.database_path,
                        query: &prepared,
                        max_rows,
                        fail_after_rows: context.faults.query_failure_after_rows(),
                    },
                    cap,
                    json_query,
                    database_id: planned.database_id,
                    context: query_context,
                    started_at,
                    card,
                };
                if write_api_response(&response, &mut chunks, started).is_some_and(|execution| execution.stopped) {
                    context.note_cancelled();
                }
            }
            Err(failure) => {
                let body = failure.to_json(&json_query, planned.database_id, query_context, &started_at, true);
                let _ = serde_json::to_writer(&mut chunks, &body);
                chunks.send();
            }
        }
    });
    let mut response = (StatusCode::ACCEPTED, AxumBody::from_stream(stream)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// `POST /api/dataset`.
pub(super) async fn adhoc_query(State(context): State<Arc<Context>>, caller: Caller, body: Body) -> ApiResult {
    let query = Value::Object(body.map);
    let planned = plan_adhoc(&context, caller, &query)?;
    Ok(stream_api(context, planned, "ad-hoc", false))
}

/// Checks that the caller may read a card, and plans its query with the request's parameters.
fn plan_card(
    context: &Context,
    caller: Caller,
    raw_id: &str,
    parameters: Value,
) -> Result<(Planned, String, &'static str), ApiError> {
    let state = context.state();
    let id = find_card(&state, raw_id)?;
    let card = state.cards.get(&id).cloned().ok_or(ApiError::NotFound)?;
    if state.card_access(caller.user_id, &card) == Access::None {
        return Err(ApiError::Forbidden);
    }
    drop(state);
    let prepared = prepare(&card.dataset_query, &parameters, &context.catalog);
    let legacy = normalize::to_legacy(&card.dataset_query);
    let query_context = if card.dashboard_id.is_some() { "dashboard" } else { "question" };
    Ok((Planned { prepared, database_id: card.database_id, json_query: legacy }, card.name, query_context))
}

fn list_parameter(body: &Body) -> Result<Value, ApiError> {
    match body.get("parameters") {
        None => Ok(json!([])),
        Some(Value::Array(items)) => Ok(Value::Array(items.clone())),
        // A form body carries the list JSON-encoded; `"null"` decodes to nil, as no parameters.
        Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(items)) => Ok(Value::Array(items)),
            Ok(Value::Null) => Ok(json!([])),
            _ => Err(ApiError::invalid("parameters", "nullable sequence of parameter maps", &json!(text))),
        },
        Some(other) => Err(ApiError::invalid("parameters", "nullable sequence of parameter maps", other)),
    }
}

/// `POST /api/card/:id/query`.
pub(super) async fn card_query(
    State(context): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult {
    let parameters = list_parameter(&body)?;
    let (planned, _, query_context) = plan_card(&context, caller, &id, parameters)?;
    Ok(stream_api(context, planned, query_context, true))
}

fn export_format(raw: &str) -> Result<ExportFormat, ApiError> {
    ExportFormat::parse(raw).ok_or_else(|| ApiError::invalid("export-format", "enum of csv, json, xlsx", &json!(raw)))
}

fn file_stem(name: &str) -> String {
    let slug: String = name
        .to_lowercase()
        .chars()
        .map(|character| if character.is_ascii_alphanumeric() { character } else { '_' })
        .take(200)
        .collect();
    format!("{slug}_{}", chrono::Utc::now().format("%Y-%m-%dT%H%M%S"))
}

fn stream_export(
    context: Arc<Context>,
    planned: Planned,
    format: ExportFormat,
    format_rows: bool,
    stem: String,
) -> Response {
    let (sender, stream) = body_channel();
    let started_at = started_at();
    tokio::task::spawn_blocking(move || {
        let mut chunks = ChunkSender::new(sender);
        let export_context = format!("{}-download", format.extension());
        match planned.prepared {
            Ok(prepared) => {
                let max_rows = prepared.query_limit.map_or(EXPORT_ROW_LIMIT, |limit| limit.min(EXPORT_ROW_LIMIT));
                let request = ExportRequest {
                    run: Run {
                        database: &context.database_path,
                        query: &prepared,
                        max_rows,
                        fail_after_rows: context.faults.query_failure_after_rows(),
                    },
                    format,
                    format_rows,
                    context: export_context,
                    database_id: planned.database_id,
                    started_at,
                };
                if write_export(&request, chunks).stopped {
                    context.note_cancelled();
                }
            }
            Err(failure) => {
                let mut body = failure.to_json(&Value::Null, planned.database_id, &export_context, &started_at, false);
                if let Some(map) = body.as_object_mut() {
                    map.remove("json_query");
                }
                let _ = serde_json::to_writer(&mut chunks, &body);
                chunks.send();
            }
        }
    });
    let mut response = (StatusCode::OK, AxumBody::from_stream(stream)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    let disposition = format!("attachment; filename=\"{stem}.{}\"", format.extension());
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=0, no-cache, must-revalidate, proxy-revalidate"),
    );
    headers.insert(header::EXPIRES, HeaderValue::from_static("Tue, 03 Jul 2001 06:00:00 GMT"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// `POST /api/dataset/:export-format`, with a JSON body or a form body (`query=<json>`).
pub(super) async fn adhoc_export(
    State(context): State<Arc<Context>>,
    caller: Caller,
    Path(format): Path<String>,
    body: Body,
) -> ApiResult {
    let format = export_format(&format)?;
    let query = body
        .optional_map("query")?
        .ok_or_else(|| ApiError::missing("query", "value must be a map or a JSON-encoded map."))?;
    let format_rows = body.optional_bool("format_rows")?.unwrap_or(false);
    let mut planned = plan_adhoc(&context, caller, &Value::Object(query))?;
    planned.json_query = Value::Null;
    Ok(stream_export(context, planned, format, format_rows, file_stem("query_result")))
}

/// `POST /api/card/:id/query/:export-format`; the id must be an integer here.
pub(super) async fn card_export(
    State(context): State<Arc<Context>>,
    caller: Caller,
    Path((id, format)): Path<(String, String)>,
    body: Body,
) -> ApiResult {
    positive_id("card-id", &id)?;
    let format = export_format(&format)?;
    let parameters = list_parameter(&body)?;
    let format_rows = body.optional_bool("format_rows")?.unwrap_or(false);
    let (planned, name, _) = plan_card(&context, caller, &id, parameters)?;
    Ok(stream_export(context, planned, format, format_rows, file_stem(&name)))
}
