//! CollectionService through the gateway.

use metabase_grpc::pb::v1::{
    CreateCollectionRequest, GetCollectionRequest, GetCollectionTreeRequest, ListCollectionItemsRequest,
    UpdateCollectionRequest,
};

use crate::support::{collection, root, start};

#[tokio::test]
async fn the_tree_nests_collections_and_items_page_through_metabase() {
    let stack = start().await;
    let mut collections = stack.collections();
    let tree = collections.get_collection_tree(GetCollectionTreeRequest::default()).await.unwrap().into_inner();
    let analytics = tree.collections.iter().find(|node| node.name == "Analytics").expect("Analytics at the top");
    let sales = analytics.children.iter().find(|node| node.name == "Sales").expect("Sales under Analytics");
    assert_eq!(sales.children[0].name, "Regional");
    assert!(analytics.here.contains(&"card".to_owned()));

    let root_collection =
        collections.get_collection(GetCollectionRequest { collection: root() }).await.unwrap().into_inner();
    assert_eq!((root_collection.id, root_collection.name.as_str()), (0, "Our analytics"));
    let sales_detail =
        collections.get_collection(GetCollectionRequest { collection: collection(2) }).await.unwrap().into_inner();
    assert_eq!(sales_detail.parent_id, collection(1));

    let first = collections
        .list_collection_items(ListCollectionItemsRequest {
            collection: collection(1),
            page_size: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.items.len(), 2);
    assert_eq!(first.total_size, 5, "two cards, one model and two child collections");
    let rest = collections
        .list_collection_items(ListCollectionItemsRequest {
            collection: collection(1),
            page_size: 10,
            page_token: first.next_page_token.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.items.len(), 3);
    assert!(rest.next_page_token.is_empty(), "the last page has no token");
    let only_collections = collections
        .list_collection_items(ListCollectionItemsRequest {
            collection: collection(1),
            models: vec!["collection".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(only_collections.items.iter().all(|item| item.model == "collection"));
}

#[tokio::test]
async fn create_move_archive_and_restore_a_collection() {
    let stack = start().await;
    let mut collections = stack.collections();
    let created = collections
        .create_collection(CreateCollectionRequest {
            name: "Experiments".into(),
            parent_id: collection(1),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.location.as_deref(), Some("/1/"));
    let moved = collections
        .update_collection(UpdateCollectionRequest {
            collection_id: created.id,
            parent_id: collection(3),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(moved.location.as_deref(), Some("/1/3/"));
    let archived = collections
        .update_collection(UpdateCollectionRequest {
            collection_id: created.id,
            archived: Some(true),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(archived.archived);
    let renamed = collections
        .update_collection(UpdateCollectionRequest {
            collection_id: created.id,
            name: Some("Old experiments".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        renamed.archived,
        "renaming a trashed collection keeps it trashed (the gateway sends the current archived)"
    );
    let restored = collections
        .update_collection(UpdateCollectionRequest {
            collection_id: created.id,
            archived: Some(false),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!restored.archived);
}
