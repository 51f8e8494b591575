//! Server basics: version awareness, health that follows Metabase, reflection, request size
//! limits and graceful shutdown.

use std::time::Duration;

use metabase_emulator::faults::Fault;
use metabase_grpc::pb::v1::{CreateCardRequest, GetCardRequest, GetServerInfoRequest};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::support::start;

#[tokio::test]
async fn server_info_reports_the_metabase_version_and_the_tested_range() {
    let stack = start().await;
    let info = stack.gateway_service().get_server_info(GetServerInfoRequest {}).await.unwrap().into_inner();
    assert_eq!(info.metabase_version, "v0.58.3");
    assert!(info.version_supported);
    assert_eq!(info.supported_range, "0.50 to 0.62");
    assert_eq!(info.gateway_version, env!("CARGO_PKG_VERSION"));
}

async fn health(channel: tonic::transport::Channel) -> ServingStatus {
    let request = HealthCheckRequest { service: "metabase.gateway.v1.CardService".into() };
    let response = HealthClient::new(channel).check(request).await.unwrap().into_inner();
    ServingStatus::try_from(response.status).unwrap()
}

#[tokio::test]
async fn health_is_serving_only_while_metabase_answers() {
    let stack = start().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while health(stack.channel.clone()).await != ServingStatus::Serving {
        assert!(std::time::Instant::now() < deadline, "never became SERVING");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stack.emulator.faults().add(Fault::on("GET", "/api/health").status(503, "down for maintenance"));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while health(stack.channel.clone()).await != ServingStatus::NotServing {
        assert!(std::time::Instant::now() < deadline, "never became NOT_SERVING");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn liveness_stays_serving_while_metabase_is_down() {
    let stack = start().await;
    stack.emulator.faults().add(Fault::on("GET", "/api/health").status(503, "down for maintenance"));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while health(stack.channel.clone()).await != ServingStatus::NotServing {
        assert!(std::time::Instant::now() < deadline, "never became NOT_SERVING");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let request = HealthCheckRequest { service: metabase_grpc::server::LIVENESS_SERVICE.into() };
    let response = HealthClient::new(stack.channel.clone()).check(request).await.unwrap().into_inner();
    assert_eq!(ServingStatus::try_from(response.status).unwrap(), ServingStatus::Serving);
}

#[tokio::test]
async fn reflection_lists_every_service() {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let stack = start().await;
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = ServerReflectionClient::new(stack.channel.clone())
        .server_reflection_info(futures::stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.message().await.unwrap().expect("a reflection answer");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("not a service list")
    };
    let names: Vec<String> = list.service.into_iter().map(|service| service.name).collect();
    for service in [
        "CardService",
        "DashboardService",
        "CollectionService",
        "DatabaseService",
        "DatasetService",
        "UserService",
        "PermissionsService",
        "AlertService",
        "SearchService",
        "GatewayService",
    ] {
        assert!(names.contains(&format!("metabase.gateway.v1.{service}")), "{service} missing from {names:?}");
    }
}

#[tokio::test]
async fn an_oversized_request_is_refused_before_it_reaches_metabase() {
    let stack = start().await;
    let request =
        CreateCardRequest { name: "x".repeat(5 * 1024 * 1024), display: "table".into(), ..Default::default() };
    let status = stack.cards().create_card(request).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    let reached = stack
        .emulator
        .observations()
        .requests
        .lock()
        .unwrap()
        .iter()
        .any(|request| request.method == "POST" && request.uri == "/api/card");
    assert!(!reached);
}

#[tokio::test]
async fn shutdown_lets_a_call_in_flight_finish() {
    let stack = start().await;
    stack.emulator.faults().add(Fault::on("GET", "/api/card/{id}").latency(Duration::from_millis(600)));
    let mut cards = stack.cards();
    let in_flight =
        tokio::spawn(async move { cards.get_card(GetCardRequest { card_id: 1, legacy_mbql: false }).await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let crate::support::Stack { gateway, emulator: _emulator, channel: _channel } = stack;
    let shutdown = tokio::spawn(gateway.shutdown());
    let card = in_flight.await.unwrap().expect("the call in flight completes").into_inner();
    assert_eq!(card.name, "Orders");
    shutdown.await.unwrap().unwrap();
}

#[tokio::test]
async fn reflection_also_answers_the_older_v1alpha_protocol() {
    use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
    let stack = start().await;
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = ServerReflectionClient::new(stack.channel.clone())
        .server_reflection_info(futures::stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.message().await.unwrap().expect("a reflection answer");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("not a service list")
    };
    assert!(list.service.iter().any(|service| service.name == "metabase.gateway.v1.CardService"));
}
