//! A caller's Metabase credential follows the policy and its secret files: a rotated key file, a
//! revoked key or a reloaded policy that changes a credential's source takes effect for the next
//! call, without a restart, and the old key is no longer sent.

use std::time::{Duration, Instant};

use metabase_grpc::pb::v1::GetCurrentUserRequest;
use metabase_grpc::pb::v1::user_service_client::UserServiceClient;
use tonic::Code;
use tonic::transport::Channel;

use crate::policed::{from, policed};
use crate::support::ADMIN_KEY;

const ANALYST_KEY: &str = "mb_emulator_analyst_key";

fn policy(credential: &str) -> String {
    format!(
        "version: 1\ncredentials:\n  rotating: {credential}\nprincipals:\n  - match: agent\n    credential: rotating\n    \
         grants: {{ users: read }}\n"
    )
}

async fn current_email(users: &mut UserServiceClient<Channel>) -> Result<String, tonic::Status> {
    Ok(users.get_current_user(from("agent", GetCurrentUserRequest {})).await?.into_inner().email)
}

#[tokio::test]
async fn a_rotated_or_revoked_key_file_takes_effect_for_the_next_call() {
    let directory = tempfile::tempdir().unwrap();
    let key_path = directory.path().join("metabase-key");
    std::fs::write(&key_path, format!("{ADMIN_KEY}\n")).unwrap();
    let stack = policed(&policy(&format!("{{ api_key_file: {} }}", key_path.display())), None).await;
    let mut users = UserServiceClient::new(stack.channel.clone());
    let admin = current_email(&mut users).await.expect("the admin key works");

    std::fs::write(&key_path, format!("{ANALYST_KEY}\n")).unwrap();
    let analyst = current_email(&mut users).await.expect("the rotated key works");
    assert_ne!(analyst, admin, "the next call uses the rotated key");

    std::fs::write(&key_path, "mb_revoked_and_replaced_key\n").unwrap();
    let refused = current_email(&mut users).await.expect_err("the old keys are no longer sent");
    assert_eq!(refused.code(), Code::Internal, "{refused:?}");
    assert!(refused.message().contains("rejected the gateway's credential"), "{}", refused.message());

    std::fs::remove_file(&key_path).unwrap();
    let missing = current_email(&mut users).await.expect_err("a removed key file leaves no usable credential");
    assert_eq!(missing.code(), Code::Internal, "{missing:?}");
    assert!(!missing.message().contains("mb_"), "{}", missing.message());
}

#[tokio::test]
async fn a_reloaded_policy_that_changes_a_credentials_source_takes_effect_without_restart() {
    let stack = policed(&policy("{ api_key_env: TEST_ADMIN_KEY }"), None).await;
    let mut users = UserServiceClient::new(stack.channel.clone());
    let admin = current_email(&mut users).await.expect("the admin key works");

    std::fs::write(&stack.policy_path, policy("{ api_key_env: TEST_ANALYST_KEY }")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if current_email(&mut users).await.expect("the analyst key works") != admin {
            break;
        }
        assert!(Instant::now() < deadline, "the reloaded credential never took effect");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
