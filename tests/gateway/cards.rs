//! CardService through the gateway.

use metabase_grpc::pb::v1::{CardFilter, CreateCardRequest, GetCardRequest, ListCardsRequest, UpdateCardRequest};
use serde_json::json;

use crate::support::{collection, root, start, structure};

#[tokio::test]
async fn list_get_create_update_archive_and_restore_a_card() {
    let stack = start().await;
    let mut cards = stack.cards();
    let listed = cards.list_cards(ListCardsRequest::default()).await.unwrap().into_inner();
    assert_eq!(listed.total_size, 11, "the seeded saved questions");
    assert!(listed.cards.iter().any(|card| card.name == "Orders" && card.r#type == "question"));

    let paged = cards.list_cards(ListCardsRequest { page_size: 4, ..Default::default() }).await.unwrap().into_inner();
    assert_eq!(paged.cards.len(), 4);
    let second = cards
        .list_cards(ListCardsRequest { page_size: 4, page_token: paged.next_page_token.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_ne!(second.cards[0].id, paged.cards[0].id, "the token moves to the next page");

    let card = cards.get_card(GetCardRequest { card_id: 4, legacy_mbql: false }).await.unwrap().into_inner();
    assert_eq!(card.name, "Top rated products");
    assert_eq!(card.query_type, "native");
    assert_eq!(card.collection_id, collection(3));
    let extra = card.extra.expect("extra carries every other key");
    assert!(extra.fields.contains_key("creator"));
    assert!(!extra.fields.contains_key("entity_id"), "typed fields are not repeated in extra");
    let legacy = cards.get_card(GetCardRequest { card_id: 4, legacy_mbql: true }).await.unwrap().into_inner();
    let legacy_query = legacy.dataset_query.unwrap();
    assert_eq!(legacy_query.fields["type"], metabase_grpc::convert::json::to_proto_value(json!("native")));

    let created = cards
        .create_card(CreateCardRequest {
            name: "Gizmo prices".into(),
            display: "table".into(),
            dataset_query: structure(json!({"database": 1, "type": "query", "query": {"source-table": 1, "filter": ["=", ["field", 4, null], "Gizmo"]}})),
            visualization_settings: structure(json!({})),
            collection_id: collection(3),
            description: Some("Every gizmo".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(created.id > 0);
    assert_eq!(created.description.as_deref(), Some("Every gizmo"));

    let renamed = cards
        .update_card(UpdateCardRequest {
            card_id: created.id,
            name: Some("Gizmo price list".into()),
            collection_id: root(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((renamed.name.as_str(), renamed.collection_id), ("Gizmo price list", root()));
    assert_eq!(renamed.description.as_deref(), Some("Every gizmo"), "fields the caller did not set are untouched");

    let archived = cards
        .update_card(UpdateCardRequest { card_id: created.id, archived: Some(true), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert!(archived.archived);
    let in_trash = cards
        .list_cards(ListCardsRequest { filter: CardFilter::Archived as i32, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert!(in_trash.cards.iter().any(|card| card.id == created.id), "archived cards are listed under ARCHIVED");
    let restored = cards
        .update_card(UpdateCardRequest { card_id: created.id, archived: Some(false), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert!(!restored.archived);
    assert_eq!(restored.collection_id, root(), "restored to where it was");
    let again = cards.get_card(GetCardRequest { card_id: created.id, legacy_mbql: false }).await.unwrap().into_inner();
    assert_eq!(again.name, "Gizmo price list", "a second read shows the change");
}

#[tokio::test]
async fn the_database_filter_needs_a_model_id() {
    let stack = start().await;
    let status = stack
        .cards()
        .list_cards(ListCardsRequest { filter: CardFilter::Database as i32, ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(status.message().contains("model_id"), "{}", status.message());
    let listed = stack
        .cards()
        .list_cards(ListCardsRequest { filter: CardFilter::Database as i32, model_id: Some(1), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.total_size, 11);
}
