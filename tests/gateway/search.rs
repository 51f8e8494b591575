//! SearchService through the gateway.

use metabase_grpc::pb::v1::SearchRequest;

use crate::support::start;

#[tokio::test]
async fn search_finds_items_filters_by_model_and_pages() {
    let stack = start().await;
    let mut search = stack.search();
    let found =
        search.search(SearchRequest { query: "orders".into(), ..Default::default() }).await.unwrap().into_inner();
    assert!(found.results.iter().any(|result| result.model == "card" && result.name == "Orders"));
    assert!(found.results.iter().any(|result| result.model == "table" && result.name == "Orders"));
    let dashboards = search
        .search(SearchRequest { query: "sales".into(), models: vec!["dashboard".into()], ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        dashboards.results.iter().map(|result| result.name.as_str()).collect::<Vec<_>>(),
        vec!["Sales overview"]
    );
    let first = search.search(SearchRequest { page_size: 3, ..Default::default() }).await.unwrap().into_inner();
    assert_eq!(first.results.len(), 3);
    assert!(first.total_size > 3 && !first.next_page_token.is_empty());
    let second = search
        .search(SearchRequest { page_size: 3, page_token: first.next_page_token, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_ne!(second.results[0].name, first.results[0].name);
}
