//! DashboardService through the gateway.

use metabase_grpc::pb::v1::{
    CreateDashboardRequest, DashboardCard, DashboardFilter, DashboardTab, GetDashboardRequest, ListDashboardsRequest,
    UpdateDashboardRequest,
};

use crate::support::{collection, start};

#[tokio::test]
async fn list_get_create_and_update_dashcards_as_a_complete_set() {
    let stack = start().await;
    let mut dashboards = stack.dashboards();
    let listed = dashboards.list_dashboards(ListDashboardsRequest::default()).await.unwrap().into_inner();
    let names: Vec<&str> = listed.dashboards.iter().map(|dashboard| dashboard.name.as_str()).collect();
    assert_eq!(names, vec!["Marketing pulse", "Sales overview"]);

    let sales = dashboards.get_dashboard(GetDashboardRequest { dashboard_id: 1 }).await.unwrap().into_inner();
    assert_eq!(sales.dashcards.len(), 3);
    assert_eq!(sales.tabs.iter().map(|tab| tab.name.as_str()).collect::<Vec<_>>(), vec!["Overview", "Revenue"]);
    assert_eq!(sales.dashcards[0].card.as_ref().map(|card| card.name.as_str()), Some("Orders"));

    let created = dashboards
        .create_dashboard(CreateDashboardRequest {
            name: "Ops".into(),
            collection_id: collection(3),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(created.dashcards.is_empty() && created.tabs.is_empty());

    let with_cards = dashboards
        .update_dashboard(UpdateDashboardRequest {
            dashboard_id: created.id,
            dashcards: vec![
                DashboardCard { id: -1, card_id: Some(4), row: 0, col: 0, size_x: 6, size_y: 4, ..Default::default() },
                DashboardCard { id: -2, card_id: Some(5), row: 0, col: 6, size_x: 6, size_y: 4, ..Default::default() },
            ],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(with_cards.dashcards.len(), 2, "negative ids create");
    let kept = with_cards.dashcards.iter().find(|dashcard| dashcard.card_id == Some(5)).unwrap().clone();

    let trimmed = dashboards
        .update_dashboard(UpdateDashboardRequest {
            dashboard_id: created.id,
            dashcards: vec![DashboardCard { row: 3, ..kept.clone() }],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(trimmed.dashcards.len(), 1, "missing ids delete");
    assert_eq!((trimmed.dashcards[0].id, trimmed.dashcards[0].row), (kept.id, 3), "existing ids update");

    let emptied = dashboards
        .update_dashboard(UpdateDashboardRequest {
            dashboard_id: created.id,
            replace_dashcards: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(emptied.dashcards.is_empty(), "replace_dashcards with none removes every card");

    let tabbed = dashboards
        .update_dashboard(UpdateDashboardRequest {
            dashboard_id: created.id,
            tabs: vec![DashboardTab { id: -1, name: "First".into(), ..Default::default() }],
            dashcards: vec![DashboardCard {
                id: -1,
                card_id: Some(4),
                dashboard_tab_id: Some(-1),
                size_x: 4,
                size_y: 4,
                ..Default::default()
            }],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(tabbed.tabs.len(), 1);
    assert_eq!(tabbed.dashcards[0].dashboard_tab_id, Some(tabbed.tabs[0].id), "temporary tab ids are remapped");

    let archived = dashboards
        .update_dashboard(UpdateDashboardRequest {
            dashboard_id: created.id,
            archived: Some(true),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(archived.archived);
    let trash = dashboards
        .list_dashboards(ListDashboardsRequest { filter: DashboardFilter::Archived as i32, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(trash.dashboards.iter().map(|dashboard| dashboard.id).collect::<Vec<_>>(), vec![created.id]);
}
