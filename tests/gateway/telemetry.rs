//! OpenTelemetry: one server span per RPC parented from the caller's traceparent, one client span
//! per Metabase request, the trace id carried to Metabase, spans shipped over OTLP, no secrets in
//! attributes or logs, and `/metrics`.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use metabase_grpc::pb::v1::card_service_client::CardServiceClient;
use metabase_grpc::pb::v1::dataset_service_client::DatasetServiceClient;
use metabase_grpc::pb::v1::run_query_request::Query;
use metabase_grpc::pb::v1::{GetCardRequest, GetUserRequest, NativeQuery, RunCardRequest, RunQueryRequest};
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry_sdk::trace::SpanData;
use tonic::Code;

use crate::policed::{from, policed};
use crate::support::{ADMIN_KEY, captured, start};

fn trace_id() -> String {
    format!("{:032x}", uuid::Uuid::new_v4().as_u128())
}

fn traced<T>(message: T, trace: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("traceparent", format!("00-{trace}-00f067aa0ba902b7-01").parse().unwrap());
    request
}

/// Returns the finished spans of one trace, waiting briefly for them.
async fn spans_of(trace: &str, at_least: usize) -> Vec<SpanData> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let found: Vec<SpanData> = captured()
            .spans
            .get_finished_spans()
            .unwrap_or_default()
            .into_iter()
            .filter(|span| span.span_context.trace_id().to_string() == trace)
            .collect();
        if found.len() >= at_least || Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes.iter().find(|attribute| attribute.key.as_str() == key).map(|attribute| attribute.value.to_string())
}

fn server_span<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans.iter().find(|span| span.span_kind == SpanKind::Server && span.name == name).unwrap_or_else(|| {
        panic!("no server span {name}: {:?}", spans.iter().map(|span| &span.name).collect::<Vec<_>>())
    })
}

#[tokio::test]
async fn a_unary_call_has_a_server_span_from_the_callers_trace_and_a_client_span_per_request() {
    let stack = start().await;
    let trace = trace_id();
    stack.cards().get_card(traced(GetCardRequest { card_id: 1, legacy_mbql: false }, &trace)).await.unwrap();
    let spans = spans_of(&trace, 2).await;
    let server = server_span(&spans, "metabase.gateway.v1.CardService/GetCard");
    assert_eq!(server.parent_span_id.to_string(), "00f067aa0ba902b7", "parented from the caller's traceparent");
    assert_eq!(attribute(server, "rpc.system").as_deref(), Some("grpc"));
    assert_eq!(attribute(server, "rpc.service").as_deref(), Some("metabase.gateway.v1.CardService"));
    assert_eq!(attribute(server, "rpc.method").as_deref(), Some("GetCard"));
    assert_eq!(attribute(server, "rpc.grpc.status_code").as_deref(), Some("0"));
    assert_eq!(attribute(server, "caller.principal").as_deref(), Some("anonymous"));
    assert!(attribute(server, "server.port").is_some());
    let client: Vec<&SpanData> = spans.iter().filter(|span| span.span_kind == SpanKind::Client).collect();
    assert!(!client.is_empty());
    for span in &client {
        assert_eq!(span.parent_span_id, server.span_context.span_id(), "client spans are children of the server span");
    }
    let get =
        client.iter().find(|span| span.name == "GET /api/card/{id}").expect("a client span named by route template");
    assert_eq!(attribute(get, "url.template").as_deref(), Some("/api/card/{id}"));
    assert_eq!(attribute(get, "http.request.method").as_deref(), Some("GET"));
    assert_eq!(attribute(get, "http.response.status_code").as_deref(), Some("200"));
    assert_eq!(attribute(get, "server.address").as_deref(), Some("127.0.0.1"));

    let seen = stack.emulator.observations().requests.lock().unwrap().clone();
    let carried = seen
        .iter()
        .filter_map(|request| {
            request.headers.iter().find(|(name, _)| name == "traceparent").map(|(_, value)| value.clone())
        })
        .any(|value| value.contains(&trace));
    assert!(carried, "the traceparent Metabase received carries the caller's trace id");
}

#[tokio::test]
async fn status_codes_and_ports_are_exported_as_integers() {
    let stack = start().await;
    let trace = trace_id();
    stack.cards().get_card(traced(GetCardRequest { card_id: 1, legacy_mbql: false }, &trace)).await.unwrap();
    let spans = spans_of(&trace, 2).await;
    let typed = |span: &SpanData, key: &str| {
        span.attributes.iter().find(|attribute| attribute.key.as_str() == key).map(|attribute| attribute.value.clone())
    };
    let server = server_span(&spans, "metabase.gateway.v1.CardService/GetCard");
    let client = spans.iter().find(|span| span.name == "GET /api/card/{id}").expect("the client span");
    let emulator_port = i64::from(stack.emulator.address.port());
    let gateway_port = i64::from(stack.gateway.address.port());

    assert_eq!(typed(client, "http.response.status_code"), Some(opentelemetry::Value::I64(200)));
    assert_eq!(typed(client, "server.port"), Some(opentelemetry::Value::I64(emulator_port)));
    assert_eq!(typed(server, "server.port"), Some(opentelemetry::Value::I64(gateway_port)));
}

#[tokio::test]
async fn a_streamed_calls_span_lasts_until_the_stream_ends_and_records_rows() {
    let stack = start().await;
    let trace = trace_id();
    let mut stream = stack
        .cards()
        .run_card(traced(RunCardRequest { card_id: 1, parameters: None, max_rows: 0 }, &trace))
        .await
        .unwrap()
        .into_inner();
    let mut last_message = Instant::now();
    while stream.message().await.unwrap().is_some() {
        last_message = Instant::now();
    }
    let _ = last_message;
    let spans = spans_of(&trace, 3).await;
    let server = server_span(&spans, "metabase.gateway.v1.CardService/RunCard");
    assert_eq!(attribute(server, "rows").as_deref(), Some("18760"));
    assert_eq!(attribute(server, "limit_cause").as_deref(), Some("LIMIT_CAUSE_NONE"));
    assert!(spans.iter().any(|span| span.name == "POST /api/card/{id}/query/{format}"), "the export request is traced");
    let export = spans.iter().find(|span| span.name == "POST /api/card/{id}/query/{format}").unwrap();
    assert!(server.end_time >= export.end_time, "the server span outlives the upstream request");
}

#[tokio::test]
async fn calls_metabase_rejects_mark_the_client_span_with_error_type() {
    let stack = start().await;
    let trace = trace_id();
    let status = stack
        .cards()
        .get_card(traced(GetCardRequest { card_id: 424_242, legacy_mbql: false }, &trace))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let spans = spans_of(&trace, 2).await;
    let server = server_span(&spans, "metabase.gateway.v1.CardService/GetCard");
    assert_eq!(attribute(server, "rpc.grpc.status_code").as_deref(), Some("5"));
    assert_eq!(server.status, Status::Unset, "NOT_FOUND is not a server error");
    let client = spans.iter().find(|span| span.name == "GET /api/card/{id}").unwrap();
    assert_eq!(
        (attribute(client, "http.response.status_code").as_deref(), attribute(client, "error.type").as_deref()),
        (Some("404"), Some("404"))
    );

    let failed_trace = trace_id();
    let query = RunQueryRequest {
        database_id: 1,
        query: Some(Query::Native(NativeQuery { query: "SELECT * FROM NOPE".into(), template_tags: None })),
        parameters: None,
        max_rows: 10,
    };
    let outcome = DatasetServiceClient::new(stack.channel.clone()).run_query(traced(query, &failed_trace)).await;
    if let Ok(response) = outcome {
        let mut stream = response.into_inner();
        while let Ok(Some(_)) = stream.message().await {}
    }
    let spans = spans_of(&failed_trace, 2).await;
    let dataset = spans.iter().find(|span| span.name == "POST /api/dataset").expect("the query request span");
    assert_eq!(
        (attribute(dataset, "http.response.status_code").as_deref(), attribute(dataset, "error.type").as_deref()),
        (Some("202"), Some("query_failed"))
    );
    let server = server_span(&spans, "metabase.gateway.v1.DatasetService/RunQuery");
    assert_eq!(attribute(server, "rpc.grpc.status_code").as_deref(), Some("3"));
}

#[tokio::test]
async fn a_call_the_policy_denies_has_a_server_span_and_no_metabase_request() {
    let stack = policed("version: 1\nprincipals:\n  - match: \"reader\"\n    grants: { cards: read }\n", None).await;
    let trace = trace_id();
    let mut request = from("reader", GetUserRequest { user_id: 1 });
    request.metadata_mut().insert("traceparent", format!("00-{trace}-00f067aa0ba902b7-01").parse().unwrap());
    let status = metabase_grpc::pb::v1::user_service_client::UserServiceClient::new(stack.channel.clone())
        .get_user(request)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let spans = spans_of(&trace, 1).await;
    let server = server_span(&spans, "metabase.gateway.v1.UserService/GetUser");
    assert_eq!(attribute(server, "rpc.grpc.status_code").as_deref(), Some("7"));
    assert_eq!(attribute(server, "caller.principal").as_deref(), Some("reader"));
    assert!(spans.iter().all(|span| span.span_kind != SpanKind::Client), "a denied call never reaches Metabase");
}

#[tokio::test]
async fn no_span_attribute_or_log_line_holds_a_credential_or_sql_parameter_value() {
    let stack = start().await;
    let trace = trace_id();
    let secret_value = "parameter-value-never-logged-81c2";
    let query = RunQueryRequest {
        database_id: 1,
        query: Some(Query::Native(NativeQuery {
            query: "SELECT * FROM PRODUCTS WHERE TITLE = {{title}}".into(),
            template_tags: crate::support::structure(
                serde_json::json!({"title": {"name": "title", "display-name": "Title", "type": "text"}}),
            ),
        })),
        parameters: Some(metabase_grpc::convert::json::to_list(vec![
            serde_json::json!({"type": "category", "target": ["variable", ["template-tag", "title"]], "value": secret_value}),
        ])),
        max_rows: 10,
    };
    let mut stream =
        DatasetServiceClient::new(stack.channel.clone()).run_query(traced(query, &trace)).await.unwrap().into_inner();
    while stream.message().await.unwrap().is_some() {}
    let spans = spans_of(&trace, 2).await;
    let attributes: String = spans
        .iter()
        .flat_map(|span| span.attributes.iter().map(|attribute| format!("{}={} ", attribute.key, attribute.value)))
        .collect();
    let logs = String::from_utf8_lossy(&captured().logs.lock().unwrap()).into_owned();
    for forbidden in [ADMIN_KEY, secret_value] {
        assert!(!attributes.contains(forbidden), "a span attribute holds {forbidden}");
        assert!(!logs.contains(forbidden), "a log line holds {forbidden}");
    }
}

#[tokio::test]
async fn the_metrics_endpoint_serves_the_rpc_counter() {
    let stack = start().await;
    stack.cards().get_card(GetCardRequest { card_id: 1, legacy_mbql: false }).await.unwrap();
    let admin = stack.gateway.admin_address.expect("an admin port");
    let text = reqwest::get(format!("http://{admin}/metrics")).await.unwrap().text().await.unwrap();
    assert!(text.contains("rpc_server_calls"), "{}", &text[..text.len().min(2000)]);
    assert!(text.contains("CardService/GetCard"), "counted by method");
    assert!(text.contains("metabase_client_duration"), "Metabase requests by route template");
    assert!(text.contains("metabase_gateway_policy_decisions"), "policy decisions");
}

/// A stand-in OpenTelemetry collector: records the span names it receives.
#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<String>>>);

#[tonic::async_trait]
impl opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest>,
    ) -> Result<
        tonic::Response<opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse>,
        tonic::Status,
    > {
        let names = request
            .into_inner()
            .resource_spans
            .into_iter()
            .flat_map(|resource| resource.scope_spans)
            .flat_map(|scope| scope.spans)
            .map(|span| span.name);
        self.0.lock().unwrap().extend(names);
        Ok(tonic::Response::new(Default::default()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_are_shipped_over_otlp_to_a_real_receiver() {
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector_address = listener.local_addr().unwrap();
    let service = opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceServiceServer::new(
        collector.clone(),
    );
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let emulator_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let emulator = metabase_emulator::start(Default::default(), emulator_listener).await.unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_metabase-grpc"))
        .args([
            "serve",
            "--allow-all",
            "--metabase-url",
            &emulator.url(),
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .args(["--shutdown-grace-secs", "2"])
        .env("MBGRPC_METABASE_API_KEY", ADMIN_KEY)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{collector_address}"))
        .env("OTEL_SERVICE_NAME", "metabase-grpc-otlp-test")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the gateway binary starts");
    let endpoint = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let channel = loop {
        if let Ok(channel) = tonic::transport::Channel::from_shared(endpoint.clone()).unwrap().connect().await {
            break channel;
        }
        assert!(Instant::now() < deadline, "the gateway did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let channel_guard = channel.clone();
    CardServiceClient::new(channel).get_card(GetCardRequest { card_id: 1, legacy_mbql: false }).await.unwrap();
    drop(channel_guard);
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    // Wait off the runtime: the collector must keep answering while the gateway flushes.
    let _ = tokio::task::spawn_blocking(move || child.wait()).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let names = collector.0.lock().unwrap().clone();
        if names.iter().any(|name| name == "metabase.gateway.v1.CardService/GetCard")
            && names.iter().any(|name| name == "GET /api/card/{id}")
        {
            break;
        }
        assert!(Instant::now() < deadline, "spans never arrived: {names:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
