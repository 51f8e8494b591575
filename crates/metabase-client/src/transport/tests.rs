//! Tests of `transport`, kept beside it so the module itself stays short.

use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::RequestBody;
use crate::test_support::api_key_client;
use crate::{CardId, ClientConfig, Credential, MetabaseClient, MetabaseError};

#[tokio::test]
async fn connection_refused_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let config = ClientConfig::new(format!("http://{address}"), Credential::api_key("mb_key_1234567"));

    let error = MetabaseClient::new(config).unwrap().cards().get(CardId(1), false).await.unwrap_err();

    assert!(matches!(&error, MetabaseError::Unavailable { route, .. } if route == "/api/card/{id}"), "{error:?}");
    assert_eq!(error.status(), None);
    assert!(!format!("{error:?}").contains("mb_key_1234567"));
}

#[tokio::test]
async fn slow_answer_is_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 1})).set_delay(Duration::from_secs(2)))
        .mount(&server)
        .await;
    let config =
        ClientConfig::new(server.uri(), Credential::api_key("mb_key_1234567")).with_timeout(Duration::from_millis(200));

    let error = MetabaseClient::new(config).unwrap().cards().get(CardId(1), false).await.unwrap_err();

    assert!(matches!(&error, MetabaseError::Timeout { route } if route == "/api/card/{id}"), "{error:?}");
}

#[tokio::test]
async fn empty_success_body_reads_as_null() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(204)).mount(&server).await;
    let client = api_key_client(&server);

    let answer: Value = client.transport().post_json("/api/thing", "/api/thing", &[], RequestBody::None).await.unwrap();

    assert_eq!(answer, Value::Null);
}

#[tokio::test]
async fn undecodable_success_body_is_a_decode_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"name": "no id"})))
        .mount(&server)
        .await;

    let error = api_key_client(&server).cards().get(CardId(1), false).await.unwrap_err();

    assert!(matches!(error, MetabaseError::Decode { .. }), "{error:?}");
}

#[tokio::test]
async fn a_redirect_is_not_followed_so_the_credential_never_reaches_another_host() {
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 1})))
        .mount(&elsewhere)
        .await;
    let metabase = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", format!("{}/api/card/1", elsewhere.uri())))
        .mount(&metabase)
        .await;

    let answer = api_key_client(&metabase).cards().get(CardId(1), false).await;

    let error = answer.expect_err("a redirect was followed");
    assert_eq!(error.status(), Some(302), "{error:?}");
    assert!(elsewhere.received_requests().await.unwrap_or_default().is_empty(), "the other host was called");
}
