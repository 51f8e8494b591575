//! NotificationService: Metabase 0.54+ alerts through `/api/notification`, narrowed through the
//! card each notification watches. An update reads the notification, merges the caller's change
//! and writes it whole, because Metabase's `PUT` deletes whatever its body does not name.

use std::collections::HashMap;

use tonic::{Request, Response, Status};

use super::{failed, total_size};
use crate::convert::notifications::{change, create_body};
use crate::convert::paging::Page;
use crate::error::GatewayError;
use crate::metabase::models as upstream;
use crate::metabase::{CardFilter, CardId, NotificationFilter, NotificationId, UserId, merge_change};
use crate::middleware::call::CallContext;
use crate::narrow::{CardPlace, Visibility};
use crate::pb::v1::notification_service_server::NotificationService;
use crate::pb::v1::{
    CreateNotificationRequest, GetNotificationRequest, ListNotificationsRequest, ListNotificationsResponse,
    Notification, SendNotificationRequest, SendNotificationResponse, UnsubscribeNotificationRequest,
    UnsubscribeNotificationResponse, UpdateNotificationRequest,
};

fn place_of(card: &upstream::Card) -> CardPlace {
    CardPlace { collection_id: card.collection_id.map(i64::from), database_id: card.database_id.map(i64::from) }
}

/// Returns every card's place by card id, read only when the caller is narrowed.
async fn card_places(call: &CallContext, visibility: &Visibility) -> Result<HashMap<i64, CardPlace>, Status> {
    if !visibility.narrows() {
        return Ok(HashMap::new());
    }
    let cards = call.client.cards().list(CardFilter::All, None).await.map_err(failed("cards"))?;
    Ok(cards.iter().map(|card| (card.id.get(), place_of(card))).collect())
}

/// Checks that the caller may see a card, recording its collection; denies naming `subject`.
async fn check_card(call: &CallContext, card_id: i64, subject: &str) -> Result<(), Status> {
    call.note_resource("card", card_id);
    let visibility = super::visibility(call).await?;
    if !visibility.narrows() {
        return Ok(());
    }
    let card = call.client.cards().get(CardId(card_id), false).await.map_err(failed(format!("card {card_id}")))?;
    let place = place_of(&card);
    if let Some(collection) = place.collection_id {
        call.note_resource("collection", collection);
    }
    if crate::narrow::sees_card(&visibility, Some(&place)) {
        return Ok(());
    }
    Err(call.denial(format!("{subject} is on saved question {card_id} outside its collections or databases")))
}

/// Reads a notification the caller may see, or denies naming it.
async fn visible(call: &CallContext, id: i64) -> Result<upstream::Notification, Status> {
    call.note_resource("notification", id);
    let notification =
        call.client.notifications().get(NotificationId(id)).await.map_err(failed(format!("notification {id}")))?;
    match notification.payload.as_ref().map(|payload| payload.card_id.get()) {
        Some(card_id) => check_card(call, card_id, &format!("notification {id}")).await?,
        None if super::visibility(call).await?.narrows() => {
            return Err(call.denial(format!("notification {id} watches no saved question")));
        }
        None => {}
    }
    Ok(notification)
}

/// The NotificationService handlers.
#[derive(Debug, Default)]
pub(crate) struct NotificationApi;

#[tonic::async_trait]
impl NotificationService for NotificationApi {
    async fn list_notifications(
        &self,
        request: Request<ListNotificationsRequest>,
    ) -> Result<Response<ListNotificationsResponse>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let page = Page::from_request(request.page_size, &request.page_token)?;
        let filter = NotificationFilter {
            card_id: request.card_id.map(CardId),
            creator_id: request.creator_id.map(UserId),
            recipient_id: request.recipient_id.map(UserId),
            include_inactive: request.include_inactive,
            payload_type: Some(request.payload_type).filter(|kind| !kind.is_empty()),
        };
        let listed = call.client.notifications().list(&filter).await.map_err(failed("notifications"))?;
        let visibility = super::visibility(&call).await?;
        let places = card_places(&call, &visibility).await?;
        let visible: Vec<Notification> = listed
            .into_iter()
            .map(Notification::from)
            .filter_map(|notification| crate::narrow::notification(&visibility, &places, notification))
            .collect();
        let (notifications, total) = page.slice(visible);
        Ok(Response::new(ListNotificationsResponse {
            notifications,
            next_page_token: page.next_token(total),
            total_size: total_size(total),
        }))
    }

    async fn get_notification(
        &self,
        request: Request<GetNotificationRequest>,
    ) -> Result<Response<Notification>, Status> {
        let call = CallContext::of(&request)?;
        let notification = visible(&call, request.into_inner().notification_id).await?;
        Ok(Response::new(Notification::from(notification)))
    }

    async fn create_notification(
        &self,
        request: Request<CreateNotificationRequest>,
    ) -> Result<Response<Notification>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let card_id = request.card_id;
        check_card(&call, card_id, "the new notification").await?;
        let body = create_body(request)?;
        let created = call.client.notifications().create(body).await.map_err(failed("new notification"))?;
        call.note_resource("notification", created.id.get());
        Ok(Response::new(Notification::from(created)))
    }

    async fn update_notification(
        &self,
        request: Request<UpdateNotificationRequest>,
    ) -> Result<Response<Notification>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let id = request.notification_id;
        let wanted = change(request)?;
        let current = visible(&call, id).await?;
        let merged = merge_change(current, wanted)
            .map_err(|unknown| GatewayError::invalid_argument(unknown.kind, unknown.to_string()))?;
        let written = call.client.notifications().put(&merged).await.map_err(failed(format!("notification {id}")))?;
        Ok(Response::new(Notification::from(written)))
    }

    async fn unsubscribe_notification(
        &self,
        request: Request<UnsubscribeNotificationRequest>,
    ) -> Result<Response<UnsubscribeNotificationResponse>, Status> {
        let call = CallContext::of(&request)?;
        let id = request.into_inner().notification_id;
        visible(&call, id).await?;
        call.client
            .notifications()
            .unsubscribe(NotificationId(id))
            .await
            .map_err(failed(format!("notification {id}")))?;
        Ok(Response::new(UnsubscribeNotificationResponse {}))
    }

    async fn send_notification(
        &self,
        request: Request<SendNotificationRequest>,
    ) -> Result<Response<SendNotificationResponse>, Status> {
        let call = CallContext::of(&request)?;
        let request = request.into_inner();
        let id = request.notification_id;
        visible(&call, id).await?;
        call.client
            .notifications()
            .send(NotificationId(id), &request.handler_ids)
            .await
            .map_err(failed(format!("notification {id}")))?;
        Ok(Response::new(SendNotificationResponse {}))
    }
}
