//! AlertService through the gateway.

use metabase_grpc::pb::v1::{GetAlertRequest, ListAlertsRequest, UnsubscribeAlertRequest};

use crate::support::start;

#[tokio::test]
async fn alerts_are_listed_read_and_unsubscribed() {
    let stack = start().await;
    let mut alerts = stack.alerts();
    let listed = alerts.list_alerts(ListAlertsRequest::default()).await.unwrap().into_inner();
    assert_eq!(listed.total_size, 2);
    let alert = alerts.get_alert(GetAlertRequest { alert_id: 1 }).await.unwrap().into_inner();
    assert_eq!(alert.card.as_ref().map(|card| card.name.as_str()), Some("Revenue per month"));
    assert_eq!(alert.alert_condition, "rows");
    assert_eq!(alert.channels[0].schedule_type, "daily");
    alerts.unsubscribe_alert(UnsubscribeAlertRequest { alert_id: 1 }).await.unwrap();
    let missing = alerts.get_alert(GetAlertRequest { alert_id: 99 }).await.unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);
}
