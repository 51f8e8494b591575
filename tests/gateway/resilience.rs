//! In front of a failing Metabase: GETs retried through a burst of 503s (never a POST), the retry
//! budget against a retry storm, the circuit breaker failing calls at once and reporting
//! NOT_SERVING until Metabase answers again, a stalled answer ending its stream, and the
//! per-principal stream limit.

use std::time::{Duration, Instant};

use metabase_emulator::faults::Fault;
use metabase_emulator::{EmulatorConfig, EmulatorHandle};
use metabase_grpc::config::GatewayConfig;
use metabase_grpc::metabase::{BreakerSettings, Credential, RetrySettings};
use metabase_grpc::pb::v1::card_service_client::CardServiceClient;
use metabase_grpc::pb::v1::{CreateCollectionRequest, GetCardRequest, RunCardRequest};
use metabase_grpc::server::GatewayHandle;
use opentelemetry::Value;
use opentelemetry::trace::SpanKind;
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt;

use crate::policed::{CALLER, policed_with};
use crate::support::{ADMIN_KEY, captured, error_info, gateway, gateway_config, start};

const CARD_ROUTE: &str = "/api/card/{id}";
const CARD_EXPORT_ROUTE: &str = "/api/card/{id}/query/{format}";

/// Starts an emulator and a gateway whose configuration `change` adjusts.
async fn stack_with(change: impl FnOnce(&mut GatewayConfig)) -> (EmulatorHandle, GatewayHandle, Channel) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let emulator = metabase_emulator::start(EmulatorConfig::default(), listener).await.expect("emulator starts");
    let mut config = gateway_config(emulator.url(), Credential::api_key(ADMIN_KEY));
    change(&mut config);
    let (gateway, channel) = gateway(config).await;
    (emulator, gateway, channel)
}

/// Counts the requests the emulator received for a method and a path.
fn requests_to(emulator: &EmulatorHandle, method: &str, path: &str) -> usize {
    let requests = emulator.observations().requests.lock().expect("requests");
    requests.iter().filter(|request| request.method == method && request.uri.split('?').next() == Some(path)).count()
}

fn get_card(card_id: i64) -> GetCardRequest {
    GetCardRequest { card_id, legacy_mbql: false }
}

async fn health(channel: Channel) -> ServingStatus {
    let response = HealthClient::new(channel).check(HealthCheckRequest { service: String::new() }).await;
    ServingStatus::try_from(response.expect("health answers").into_inner().status).expect("a known status")
}

/// Polls health until it reports `wanted`, for at most five seconds.
async fn wait_for_health(channel: &Channel, wanted: ServingStatus) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while health(channel.clone()).await != wanted {
        assert!(Instant::now() < deadline, "health never reported {wanted:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn a_get_is_retried_through_a_burst_of_503s_and_each_attempt_has_its_client_span() {
    let stack = start().await;
    stack.emulator.faults().add(Fault::on("GET", CARD_ROUTE).status(503, "warming up").times(2));
    let trace = format!("{:032x}", uuid::Uuid::new_v4().as_u128());
    let mut request = tonic::Request::new(get_card(1));
    request.metadata_mut().insert("traceparent", format!("00-{trace}-00f067aa0ba902b7-01").parse().unwrap());

    let card = stack.cards().get_card(request).await.expect("the third attempt answers").into_inner();

    assert_eq!(card.id, 1);
    assert_eq!(requests_to(&stack.emulator, "GET", "/api/card/1"), 3);
    let deadline = Instant::now() + Duration::from_secs(5);
    let attempts = loop {
        let attempts: Vec<_> = captured()
            .spans
            .get_finished_spans()
            .unwrap_or_default()
            .into_iter()
            .filter(|span| span.span_context.trace_id().to_string() == trace)
            .filter(|span| span.span_kind == SpanKind::Client && span.name == "GET /api/card/{id}")
            .collect();
        if attempts.len() >= 3 || Instant::now() > deadline {
            break attempts;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    let attribute = |span: &opentelemetry_sdk::trace::SpanData, key: &str| {
        span.attributes.iter().find(|attribute| attribute.key.as_str() == key).map(|attribute| attribute.value.clone())
    };
    let mut seen: Vec<(Option<Value>, Option<Value>)> = attempts
        .iter()
        .map(|span| (attribute(span, "http.request.resend_count"), attribute(span, "http.response.status_code")))
        .collect();
    seen.sort_by_key(|(resend, _)| format!("{resend:?}"));
    assert_eq!(
        seen,
        vec![
            (None, Some(Value::I64(503))),
            (Some(Value::I64(1)), Some(Value::I64(503))),
            (Some(Value::I64(2)), Some(Value::I64(200))),
        ],
        "one client span per attempt, the retries numbered"
    );
    let metrics = prometheus::TextEncoder::new().encode_to_string(&captured().registry.gather()).unwrap();
    assert!(metrics.contains("metabase_client_retries_total"), "retries are counted in /metrics");
}

#[tokio::test]
async fn a_post_that_meets_a_503_is_never_retried() {
    let stack = start().await;
    stack.emulator.faults().add(Fault::on("POST", "/api/collection").status(503, "busy").times(1));
    let request = CreateCollectionRequest { name: "Once only".into(), ..Default::default() };

    let status = stack.collections().create_collection(request).await.expect_err("the 503 is the answer");

    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(requests_to(&stack.emulator, "POST", "/api/collection"), 1, "sent once, not retried");
    let created =
        stack.emulator.state().collections.values().filter(|collection| collection.name == "Once only").count();
    assert_eq!(created, 0);
}

#[tokio::test]
async fn the_retry_budget_stops_a_retry_storm() {
    let retry = RetrySettings {
        base_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(2),
        budget_min_per_second: 0,
        budget_ratio: 0.1,
        ..RetrySettings::default()
    };
    let never_open = BreakerSettings { failure_threshold: 0, ..BreakerSettings::default() };
    let (emulator, _gateway, channel) = stack_with(|config| {
        config.metabase = config.metabase.clone().with_resilience(retry, never_open);
    })
    .await;
    emulator.faults().add(Fault::on("GET", CARD_ROUTE).status(503, "down"));
    let mut cards = CardServiceClient::new(channel);

    for _ in 0..50 {
        let status = cards.get_card(get_card(1)).await.expect_err("metabase is down");
        assert_eq!(status.code(), Code::Unavailable);
    }

    let sent = requests_to(&emulator, "GET", "/api/card/1");
    assert!(sent >= 51, "some calls were retried: {sent} requests for 50 calls");
    assert!(sent <= 60, "the budget allowed about one retry per ten calls, not two per call: {sent} requests");
}

#[tokio::test]
async fn with_metabase_down_calls_fail_at_once_once_the_circuit_opens_and_recover_after_it_closes() {
    let retry = RetrySettings { max_attempts: 1, ..RetrySettings::default() };
    let breaker = BreakerSettings { failure_threshold: 3, open_for: Duration::from_secs(1) };
    let (emulator, _gateway, channel) = stack_with(|config| {
        config.metabase = config.metabase.clone().with_resilience(retry, breaker);
    })
    .await;
    wait_for_health(&channel, ServingStatus::Serving).await;
    // Metabase is down, and slow to say so.
    let slow = Duration::from_millis(300);
    emulator.faults().add(Fault::on("GET", CARD_ROUTE).latency(slow).status(503, "down"));
    emulator.faults().add(Fault::on("GET", "/api/health").latency(slow).status(503, "down"));
    let mut cards = CardServiceClient::new(channel.clone());

    let mut failures_sent = 0;
    let refused = loop {
        let status = cards.get_card(get_card(1)).await.expect_err("metabase is down");
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        if error_info(&status).0 == "METABASE_CIRCUIT_OPEN" {
            break status;
        }
        failures_sent += 1;
        assert!(failures_sent <= 3, "the circuit opens after three failures in a row");
    };
    let sent_before = requests_to(&emulator, "GET", "/api/card/1");
    let started = Instant::now();
    let again = cards.get_card(get_card(1)).await.expect_err("the circuit is still open");
    let fast = started.elapsed();

    assert_eq!(error_info(&again).0, "METABASE_CIRCUIT_OPEN");
    assert!(fast < slow / 2, "an open circuit answers before metabase could: {fast:?}");
    assert_eq!(requests_to(&emulator, "GET", "/api/card/1"), sent_before, "nothing was sent to metabase");
    let retry_info = refused.get_details_retry_info().expect("the refusal says when to retry");
    assert!(retry_info.retry_delay.is_some_and(|delay| delay <= Duration::from_secs(1)), "{retry_info:?}");
    wait_for_health(&channel, ServingStatus::NotServing).await;

    emulator.faults().clear();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match cards.get_card(get_card(1)).await {
            Ok(card) => break assert_eq!(card.into_inner().id, 1),
            Err(status) => assert_eq!(error_info(&status).0, "METABASE_CIRCUIT_OPEN", "{status:?}"),
        }
        assert!(Instant::now() < deadline, "the circuit never closed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_for_health(&channel, ServingStatus::Serving).await;
}

#[tokio::test]
async fn a_stalled_metabase_answer_ends_the_stream_unavailable_before_the_callers_deadline() {
    let (emulator, _gateway, channel) = stack_with(|config| {
        config.metabase = config.metabase.clone().with_body_idle_timeout(Duration::from_millis(300));
    })
    .await;
    emulator.faults().add(Fault::on("POST", CARD_EXPORT_ROUTE).stall_after_bytes(64));
    let mut request = tonic::Request::new(RunCardRequest { card_id: 1, parameters: None, max_rows: 0 });
    request.set_timeout(Duration::from_secs(60));
    let started = Instant::now();

    let outcome = async {
        let mut stream = CardServiceClient::new(channel).run_card(request).await?.into_inner();
        while stream.message().await?.is_some() {}
        Ok::<(), tonic::Status>(())
    }
    .await;

    let status = outcome.expect_err("a stalled answer cannot complete");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(error_info(&status).0, "METABASE_STALLED");
    assert!(started.elapsed() < Duration::from_secs(30), "ended by the idle timeout, not the deadline");
}

const STREAM_LIMITED_POLICY: &str = "version: 1\nprincipals:\n  - match: agent\n    grants: { cards: read }\n    \
                                     max_streams: 1\n  - match: other\n    grants: { cards: read }\n    max_streams: 1\n";

fn run_card_as(principal: &str) -> tonic::Request<RunCardRequest> {
    let mut request = tonic::Request::new(RunCardRequest { card_id: 1, parameters: None, max_rows: 0 });
    request.metadata_mut().insert(CALLER, principal.parse().unwrap());
    request
}

#[tokio::test]
async fn a_principal_at_its_stream_limit_is_answered_resource_exhausted_until_its_stream_ends() {
    let policed = policed_with(STREAM_LIMITED_POLICY, |_| ()).await;
    // The first stream stays open: Metabase stalls part way through its answer.
    policed.emulator.faults().add(Fault::on("POST", CARD_EXPORT_ROUTE).stall_after_bytes(64).times(1));
    let mut cards = CardServiceClient::new(policed.channel.clone());
    let open = cards.run_card(run_card_as("agent")).await.expect("the first stream opens");

    let refused = cards.run_card(run_card_as("agent")).await.expect_err("a second stream is one too many");
    let other = cards.run_card(run_card_as("other")).await;

    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert_eq!(error_info(&refused).0, "STREAM_LIMIT");
    assert!(refused.get_details_retry_info().is_some(), "the refusal says when to retry");
    assert!(other.is_ok(), "another principal has its own streams: {:?}", other.err());
    drop(open);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match cards.run_card(run_card_as("agent")).await {
            Ok(_) => break,
            Err(status) => assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}"),
        }
        assert!(Instant::now() < deadline, "the closed stream's slot was never given back");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn beyond_the_global_limit_calls_are_answered_resource_exhausted() {
    let (emulator, _gateway, channel) = stack_with(|config| config.max_concurrent_calls = Some(1)).await;
    emulator.faults().add(Fault::on("GET", CARD_ROUTE).latency(Duration::from_millis(500)).times(1));
    let mut first = CardServiceClient::new(channel.clone());
    let mut second = CardServiceClient::new(channel);

    let slow = tokio::spawn(async move { first.get_card(get_card(1)).await });
    let deadline = Instant::now() + Duration::from_secs(5);
    while requests_to(&emulator, "GET", "/api/card/1") == 0 {
        assert!(Instant::now() < deadline, "the first call never reached metabase");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let refused = second.get_card(get_card(1)).await.expect_err("one call in flight is the limit");

    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert_eq!(error_info(&refused).0, "OVERLOADED");
    assert!(refused.get_details_retry_info().is_some());
    assert!(slow.await.expect("the first call ends").is_ok(), "the call in flight is unaffected");
    let deadline = Instant::now() + Duration::from_secs(5);
    while let Err(status) = second.get_card(get_card(1)).await {
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        assert!(Instant::now() < deadline, "the ended call's slot was never given back");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
