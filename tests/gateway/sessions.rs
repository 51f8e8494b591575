//! Username/password sessions: one shared login, one transparent re-login, no loops.

use std::sync::atomic::Ordering;

use metabase_grpc::metabase::Credential;
use metabase_grpc::pb::v1::GetCardRequest;
use tonic::Code;

use crate::support::{error_info, start_with};

fn session_logins(stack: &crate::support::Stack) -> usize {
    let requests = stack.emulator.observations().requests.lock().unwrap();
    requests.iter().filter(|request| request.method == "POST" && request.uri.starts_with("/api/session")).count()
}

#[tokio::test]
async fn an_expired_session_is_renewed_once_transparently() {
    let stack = start_with(Default::default(), |_| Credential::session("admin@example.com", "emulator-admin")).await;
    let mut cards = stack.cards();
    cards.get_card(GetCardRequest { card_id: 1, legacy_mbql: false }).await.unwrap();
    let logins_before = stack.emulator.observations().logins.load(Ordering::SeqCst);
    stack.emulator.expire_sessions();
    let card = cards.get_card(GetCardRequest { card_id: 1, legacy_mbql: false }).await.unwrap().into_inner();
    assert_eq!(card.name, "Orders", "the caller never saw the expiry");
    assert_eq!(stack.emulator.observations().logins.load(Ordering::SeqCst), logins_before + 1, "exactly one re-login");
}

#[tokio::test]
async fn concurrent_calls_share_one_login() {
    let stack = start_with(Default::default(), |_| Credential::session("admin@example.com", "emulator-admin")).await;
    let before = session_logins(&stack);
    let calls = (0..10).map(|_| {
        let mut cards = stack.cards();
        async move { cards.get_card(GetCardRequest { card_id: 2, legacy_mbql: false }).await }
    });
    for result in futures::future::join_all(calls).await {
        result.unwrap();
    }
    assert!(
        session_logins(&stack) - before <= 1,
        "ten concurrent calls logged in {} times",
        session_logins(&stack) - before
    );
}

#[tokio::test]
async fn a_rejected_session_credential_fails_once_without_looping() {
    let stack = start_with(Default::default(), |_| Credential::session("admin@example.com", "not-the-password")).await;
    let before = session_logins(&stack);
    let status = stack.cards().get_card(GetCardRequest { card_id: 1, legacy_mbql: false }).await.unwrap_err();
    assert_eq!(status.code(), Code::Internal);
    assert_eq!(error_info(&status).0, "UPSTREAM_CREDENTIAL_REJECTED");
    let attempts = session_logins(&stack) - before;
    assert!((1..=2).contains(&attempts), "{attempts} login attempts for one call");
}
