//! Several gateway replicas sharing one PostgreSQL audit trail: each lists the calls made through
//! every replica. And the flags: an SQLite file and a PostgreSQL URL at once is refused.

use std::process::Command;
use std::time::{Duration, Instant};

use metabase_grpc::pb::v1::audit_service_client::AuditServiceClient;
use metabase_grpc::pb::v1::card_service_client::CardServiceClient;
use metabase_grpc::pb::v1::user_service_client::UserServiceClient;
use metabase_grpc::pb::v1::{AuditEvent, Decision, GetCardRequest, GetCurrentUserRequest, ListAuditEventsRequest};
use tonic::Code;
use tonic::transport::Channel;

use crate::policed::{from, policed_on_postgres};
use crate::postgres_cluster::PostgresCluster;
use crate::support::ADMIN_KEY;

const POLICY: &str = r#"
version: 1
credentials:
  admin: { api_key_env: TEST_ADMIN_KEY }
default_credential: admin
principals:
  - match: "orders-api"
    grants: { cards: read }
  - match: "platform-admin"
    grants: { "*": full }
"#;

/// Lists the events of `principal` through a gateway's AuditService.
async fn listed(channel: &Channel, principal: &str) -> Vec<AuditEvent> {
    let request = ListAuditEventsRequest { principal: Some(principal.into()), ..Default::default() };
    let response = AuditServiceClient::new(channel.clone())
        .list_audit_events(from("platform-admin", request))
        .await
        .expect("ListAuditEvents answers");
    response.into_inner().events
}

/// Lists until `count` events of `principal` are visible: reads are stored after they answer.
async fn listed_at_least(channel: &Channel, principal: &str, count: usize) -> Vec<AuditEvent> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let events = listed(channel, principal).await;
        if events.len() >= count || Instant::now() > deadline {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn two_gateways_on_one_postgres_each_list_the_events_of_both() {
    let cluster = PostgresCluster::start();
    let first = policed_on_postgres(POLICY, &cluster.url()).await;
    let second = policed_on_postgres(POLICY, &cluster.url()).await;

    let read = CardServiceClient::new(first.channel.clone())
        .get_card(from("orders-api", GetCardRequest { card_id: 1, legacy_mbql: false }))
        .await;
    assert!(read.is_ok(), "{read:?}");
    let denied = UserServiceClient::new(second.channel.clone())
        .get_current_user(from("orders-api", GetCurrentUserRequest {}))
        .await
        .expect_err("orders-api holds no users grant");
    assert_eq!(denied.code(), Code::PermissionDenied);

    let through_first = listed_at_least(&first.channel, "orders-api", 2).await;
    let through_second = listed_at_least(&second.channel, "orders-api", 2).await;
    let summary =
        |events: &[AuditEvent]| events.iter().map(|event| (event.rpc.clone(), event.decision)).collect::<Vec<_>>();
    let expected = vec![
        ("/metabase.gateway.v1.UserService/GetCurrentUser".to_owned(), Decision::Denied as i32),
        ("/metabase.gateway.v1.CardService/GetCard".to_owned(), Decision::Allowed as i32),
    ];
    assert_eq!(summary(&through_first), expected, "the first gateway lists both replicas' calls, newest first");
    assert_eq!(through_first, through_second, "both gateways list the same trail");
    // The platform admin's own ListAuditEvents calls, through either gateway, are in the trail too.
    let admin_calls = listed_at_least(&first.channel, "platform-admin", 2).await;
    assert!(admin_calls.len() >= 2, "{} ListAuditEvents calls listed", admin_calls.len());
}

#[test]
fn serve_refuses_an_audit_file_and_an_audit_url_together() {
    let output = Command::new(env!("CARGO_BIN_EXE_metabase-grpc"))
        .args(["serve", "--metabase-url", "http://127.0.0.1:9", "--allow-all", "--listen", "127.0.0.1:0"])
        .args(["--audit-db", "/tmp/never-created.db", "--audit-url", "postgres://auditor:s3cret@127.0.0.1:9/audit"])
        .env_clear()
        .env("MBGRPC_METABASE_API_KEY", ADMIN_KEY)
        .output()
        .expect("the gateway binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(64), "{stderr}");
    assert!(stderr.contains("--audit-db") && stderr.contains("--audit-url"), "{stderr}");
    assert!(!stderr.contains("s3cret"), "the url's password was printed: {stderr}");
    assert!(!std::path::Path::new("/tmp/never-created.db").exists());
}

#[test]
fn serve_names_the_postgres_server_it_cannot_reach() {
    let unused = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = unused.local_addr().expect("address").port();
    drop(unused);
    let output = Command::new(env!("CARGO_BIN_EXE_metabase-grpc"))
        .args(["serve", "--metabase-url", "http://127.0.0.1:9", "--allow-all", "--listen", "127.0.0.1:0"])
        .args(["--admin-listen", "127.0.0.1:0"])
        .env_clear()
        .env("MBGRPC_METABASE_API_KEY", ADMIN_KEY)
        .env("MBGRPC_AUDIT_URL", format!("postgres://auditor:s3cret@127.0.0.1:{port}/audit"))
        .output()
        .expect("the gateway binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("audit database at 127.0.0.1:{port} could not be reached")), "{stderr}");
    assert!(!stderr.contains("s3cret"), "the url's password was printed: {stderr}");
}

#[tokio::test]
async fn with_postgres_down_a_change_fails_closed_and_nothing_reaches_metabase() {
    let cluster = PostgresCluster::start();
    let stack = policed_on_postgres(POLICY, &cluster.url()).await;
    drop(cluster);

    let mut request = from(
        "platform-admin",
        metabase_grpc::pb::v1::CreateCollectionRequest { name: "Unrecorded".into(), ..Default::default() },
    );
    request.set_timeout(Duration::from_secs(20));
    let status = metabase_grpc::pb::v1::collection_service_client::CollectionServiceClient::new(stack.channel.clone())
        .create_collection(request)
        .await
        .unwrap_err();

    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(crate::support::error_info(&status).0, "AUDIT_UNAVAILABLE");
    let created = stack.emulator.state().collections.values().filter(|c| c.name == "Unrecorded").count();
    assert_eq!(created, 0, "the change was never sent to Metabase");
}
