//! One test per row of API.md's error table that concerns Metabase and deadlines: the gRPC code,
//! the ErrorInfo reason and Metabase's message. (Identity and policy rows arrive with the policy
//! feature; failed queries with streaming.)

use std::time::Duration;

use metabase_emulator::faults::Fault;
use metabase_grpc::metabase::{BreakerSettings, Credential, RetrySettings};
use metabase_grpc::pb::v1::card_service_client::CardServiceClient;
use metabase_grpc::pb::v1::permissions_service_client::PermissionsServiceClient;
use metabase_grpc::pb::v1::{CreateCardRequest, GetCardRequest, UpdatePermissionsGraphRequest};
use serde_json::json;
use tonic::Code;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{error_info, gateway, gateway_config, start, start_with, structure, unhurried};

async fn mocked(server: &MockServer) -> (metabase_grpc::server::GatewayHandle, tonic::transport::Channel) {
    Mock::given(method("GET"))
        .and(path("/api/session/properties"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"version": {"tag": "v0.58.3"}})))
        .mount(server)
        .await;
    gateway(gateway_config(server.uri(), Credential::api_key("mb_mocked_key_123"))).await
}

fn get_card(id: i64) -> GetCardRequest {
    GetCardRequest { card_id: id, legacy_mbql: false }
}

#[tokio::test]
async fn a_metabase_validation_error_is_invalid_argument_with_field_violations() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/card"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "errors": {"display": "value must be a non-blank string."},
            "specific-errors": {"display": ["should be a non-blank string, received: \" \""]}
        })))
        .mount(&server)
        .await;
    let (_gateway, channel) = mocked(&server).await;
    let request = CreateCardRequest {
        name: "x".into(),
        display: "table".into(),
        dataset_query: structure(json!({"database": 1, "type": "query", "query": {"source-table": 1}})),
        visualization_settings: structure(json!({})),
        ..Default::default()
    };
    let status = CardServiceClient::new(channel).create_card(request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("display: value must be a non-blank string."), "{}", status.message());
    let (reason, metadata) = error_info(&status);
    assert_eq!((reason.as_str(), metadata["http_status"].as_str()), ("METABASE_BAD_REQUEST", "400"));
    use tonic_types::StatusExt;
    let violations = status.get_details_bad_request().expect("BadRequest").field_violations;
    assert_eq!(violations[0].field, "display");
}

#[tokio::test]
async fn a_rejected_gateway_credential_is_internal_upstream_credential_rejected() {
    let stack = start_with(Default::default(), |_| Credential::api_key("mb_not_a_real_key")).await;
    let status = stack.cards().get_card(get_card(1)).await.unwrap_err();
    assert_eq!(status.code(), Code::Internal);
    let (reason, metadata) = error_info(&status);
    assert_eq!((reason.as_str(), metadata["http_status"].as_str()), ("UPSTREAM_CREDENTIAL_REJECTED", "401"));
}

#[tokio::test]
async fn metabase_403_is_permission_denied_with_metabases_message() {
    let stack = start_with(Default::default(), |_| Credential::api_key("mb_emulator_analyst_key")).await;
    let status = stack.cards().get_card(get_card(9)).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert!(status.message().contains("You don't have permissions to do that."), "{}", status.message());
    assert_eq!(error_info(&status).0, "METABASE_FORBIDDEN");
}

#[tokio::test]
async fn metabase_404_is_not_found_naming_the_card() {
    let stack = start().await;
    let status = stack.cards().get_card(get_card(424242)).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert!(status.message().contains("card 424242 not found in metabase: Not found."), "{}", status.message());
    let (reason, metadata) = error_info(&status);
    assert_eq!(
        (reason.as_str(), metadata["http_status"].as_str(), metadata["route"].as_str()),
        ("METABASE_NOT_FOUND", "404", "/api/card/{id}")
    );
}

#[tokio::test]
async fn metabase_409_is_aborted() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/api/permissions/graph"))
        .respond_with(ResponseTemplate::new(409).insert_header("content-type", "text/plain").set_body_string(
            "Looks like someone else edited the permissions and your data is out of date. Please fetch new data and try again.",
        ))
        .mount(&server)
        .await;
    let (_gateway, channel) = mocked(&server).await;
    let request = UpdatePermissionsGraphRequest { revision: 1, groups: structure(json!({})), force: false };
    let status = PermissionsServiceClient::new(channel).update_permissions_graph(request).await.unwrap_err();
    assert_eq!(status.code(), Code::Aborted);
    assert!(status.message().contains("someone else edited the permissions"), "{}", status.message());
    assert_eq!(error_info(&status).0, "METABASE_CONFLICT");
}

#[tokio::test]
async fn metabase_5xx_is_unavailable() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/card/1"))
        .respond_with(
            ResponseTemplate::new(503)
                .insert_header("content-type", "text/plain")
                .set_body_string("Metabase is still initializing. Please sit tight..."),
        )
        .mount(&server)
        .await;
    let (_gateway, channel) = mocked(&server).await;
    let status = CardServiceClient::new(channel).get_card(get_card(1)).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert!(status.message().contains("Metabase is still initializing"), "{}", status.message());
    let (reason, metadata) = error_info(&status);
    assert_eq!((reason.as_str(), metadata["http_status"].as_str()), ("METABASE_UNAVAILABLE", "503"));
}

#[tokio::test]
async fn a_refused_connection_is_unavailable() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut config = gateway_config(url, Credential::api_key("mb_emulator_admin_key"));
    // The health probe's failures would open the circuit before the call; the open circuit has
    // its own test in `resilience`.
    let never_open = BreakerSettings { failure_threshold: 0, ..BreakerSettings::default() };
    config.metabase = config.metabase.clone().with_resilience(RetrySettings::default(), never_open);
    let (_gateway, channel) = gateway(config).await;
    let status = CardServiceClient::new(channel).get_card(get_card(1)).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(error_info(&status).0, "METABASE_UNAVAILABLE");
}

#[tokio::test]
async fn a_connection_reset_mid_answer_is_unavailable() {
    let stack = start().await;
    stack.emulator.faults().add(Fault::on("GET", "/api/card/{id}").reset_after_bytes(20));
    let status = stack.cards().get_card(get_card(1)).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
}

#[tokio::test]
async fn a_passed_deadline_is_deadline_exceeded_and_drops_the_upstream_call() {
    let stack = start().await;
    stack.emulator.faults().add(Fault::on("GET", "/api/card/{id}").latency(Duration::from_secs(3)));
    let mut request = tonic::Request::new(get_card(1));
    request.set_timeout(Duration::from_millis(300));
    let started = std::time::Instant::now();
    let (transport, origin) = unhurried(&stack.gateway.endpoint());
    let status = CardServiceClient::with_origin(transport, origin).get_card(request).await.unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert_eq!(error_info(&status).0, "DEADLINE_EXCEEDED");
    assert!(started.elapsed() < Duration::from_secs(2), "answered at the deadline, not after the upstream");
}
