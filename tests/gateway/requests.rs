//! Hostile request bodies: bytes that are not the RPC's message answer INVALID_ARGUMENT and a
//! message over the gateway's limit RESOURCE_EXHAUSTED (tonic alone says INTERNAL and
//! OUT_OF_RANGE), and the audit trail records the code the caller got.

use std::time::{Duration, Instant};

use metabase_grpc::audit::{AuditFilter, AuditStore};
use metabase_grpc::pb::v1::search_service_client::SearchServiceClient;
use metabase_grpc::pb::v1::{SearchRequest, SearchResponse};
use tonic::Code;
use tonic::codegen::http::uri::PathAndQuery;

use crate::policed::{from, policed};
use crate::support::error_info;

const POLICY: &str = "version: 1\ncredentials:\n  admin: { api_key_env: TEST_ADMIN_KEY }\ndefault_credential: admin\n\
                      principals:\n  - match: agent\n    grants: { search: read }\n";

#[tokio::test]
async fn undecodable_and_oversize_requests_are_the_callers_fault_in_the_answer_and_the_trail() {
    let stack = policed(POLICY, None).await;

    // A Duration's field 1 is a varint; SearchRequest's field 1 is a string: not its encoding.
    let mut raw = tonic::client::Grpc::new(stack.channel.clone());
    raw.ready().await.unwrap();
    let undecodable = raw
        .unary(
            from("agent", prost_types::Duration { seconds: 5, nanos: 0 }),
            PathAndQuery::from_static("/metabase.gateway.v1.SearchService/Search"),
            tonic_prost::ProstCodec::<prost_types::Duration, SearchResponse>::default(),
        )
        .await
        .expect_err("not a SearchRequest");
    let oversize = SearchServiceClient::new(stack.channel.clone())
        .max_encoding_message_size(64 << 20)
        .search(from("agent", SearchRequest { query: "x".repeat(5 << 20), ..Default::default() }))
        .await
        .expect_err("over the 4 MiB limit");

    assert_eq!(undecodable.code(), Code::InvalidArgument, "{undecodable:?}");
    assert_eq!(error_info(&undecodable).0, "INVALID_ARGUMENT");
    assert_eq!(oversize.code(), Code::ResourceExhausted, "{oversize:?}");
    assert_eq!(error_info(&oversize).0, "REQUEST_TOO_LARGE");
    assert_eq!(error_info(&oversize).1["limit_bytes"], (4 << 20).to_string());
    let store = AuditStore::open(&stack.audit_path).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let codes = loop {
        let (events, _) = store.list(&AuditFilter::default(), 100, 0).unwrap();
        let mut codes: Vec<String> = events.into_iter().map(|event| event.grpc_code).collect();
        codes.sort();
        if codes.len() >= 2 || Instant::now() > deadline {
            break codes;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(codes, ["INVALID_ARGUMENT", "RESOURCE_EXHAUSTED"]);
}
