//! Owns the notification routes (Metabase 0.54+, `/api/notification`): list with Metabase's
//! filters, get, create, the whole-object `PUT`, unsubscribe and send; and [`merge_change`], the
//! read-merge-write step a partial update needs, because Metabase's `PUT` deletes every handler,
//! subscription and recipient its body does not name.

use reqwest::Method;
use serde_json::Value;

use super::error::MetabaseError;
use super::ids::{CardId, NotificationId, UserId};
use super::models::{Handler, Notification, Subscription};
use super::transport::{Query, RequestBody, Transport, param};

/// The filters of `GET /api/notification`; unset ones are not sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NotificationFilter {
    /// Only notifications watching this card.
    pub card_id: Option<CardId>,
    /// Only notifications created by this user.
    pub creator_id: Option<UserId>,
    /// Only notifications with this user among the recipients.
    pub recipient_id: Option<UserId>,
    /// Include inactive (archived) ones.
    pub include_inactive: bool,
    /// Only this payload type, such as `notification/card`.
    pub payload_type: Option<String>,
}

impl NotificationFilter {
    fn query(&self) -> Query {
        let mut query = Vec::new();
        if let Some(card_id) = self.card_id {
            query.push(param("card_id", card_id));
        }
        if let Some(creator_id) = self.creator_id {
            query.push(param("creator_id", creator_id));
        }
        if let Some(recipient_id) = self.recipient_id {
            query.push(param("recipient_id", recipient_id));
        }
        if self.include_inactive {
            query.push(param("include_inactive", true));
        }
        if let Some(payload_type) = &self.payload_type {
            query.push(param("payload_type", payload_type));
        }
        query
    }
}

/// A partial change to a notification: what is set replaces, rows with an id replace the row
/// with that id, rows without one are added, and only the ids listed for removal go.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NotificationChange {
    /// Activate or archive.
    pub active: Option<bool>,
    /// The new send condition: `has_result`, `goal_above` or `goal_below`.
    pub send_condition: Option<String>,
    /// The new send-once flag.
    pub send_once: Option<bool>,
    /// Subscriptions to add (no id) or replace (a current id).
    pub subscriptions: Vec<Subscription>,
    /// Handlers to add (no id) or replace (a current id).
    pub handlers: Vec<Handler>,
    /// Subscriptions to delete.
    pub remove_subscription_ids: Vec<i64>,
    /// Handlers to delete.
    pub remove_handler_ids: Vec<i64>,
}

/// A change names a row the notification does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("notification {notification} has no {kind} {id}")]
pub struct UnknownRow {
    /// The notification changed.
    pub notification: NotificationId,
    /// `handler` or `subscription`.
    pub kind: &'static str,
    /// The id named.
    pub id: i64,
}

/// Replaces the rows whose id the change names, appends the new ones, drops the removed ones and
/// keeps every other row as it is.
fn merge_rows<T: Clone>(
    notification: NotificationId,
    kind: &'static str,
    current: Vec<T>,
    changed: Vec<T>,
    removed: &[i64],
    id_of: impl Fn(&T) -> Option<i64>,
) -> Result<Vec<T>, UnknownRow> {
    let known = |id: i64| current.iter().any(|row| id_of(row) == Some(id));
    if let Some(id) = removed.iter().copied().chain(changed.iter().filter_map(&id_of)).find(|id| !known(*id)) {
        return Err(UnknownRow { notification, kind, id });
    }
    let mut merged: Vec<T> = current
        .into_iter()
        .filter(|row| id_of(row).is_none_or(|id| !removed.contains(&id)))
        .map(|row| {
            let replacement = id_of(&row).and_then(|id| changed.iter().find(|new| id_of(new) == Some(id)));
            replacement.cloned().unwrap_or(row)
        })
        .collect();
    merged.extend(changed.into_iter().filter(|row| id_of(row).is_none()));
    Ok(merged)
}

/// Merges a partial change over the current notification, giving the whole body to `PUT`.
pub fn merge_change(current: Notification, change: NotificationChange) -> Result<Notification, UnknownRow> {
    let id = current.id;
    let subscriptions = merge_rows(
        id,
        "subscription",
        current.subscriptions,
        change.subscriptions,
        &change.remove_subscription_ids,
        |row: &Subscription| row.id,
    )?;
    let handlers =
        merge_rows(id, "handler", current.handlers, change.handlers, &change.remove_handler_ids, |row: &Handler| {
            row.id
        })?;
    let payload = current.payload.map(|mut payload| {
        if change.send_condition.is_some() {
            payload.send_condition = change.send_condition;
        }
        if change.send_once.is_some() {
            payload.send_once = change.send_once;
        }
        payload
    });
    Ok(Notification { active: change.active.unwrap_or(current.active), payload, subscriptions, handlers, ..current })
}

/// The notification routes, from [`super::MetabaseClient::notifications`].
#[derive(Clone, Copy, Debug)]
pub struct Notifications<'a> {
    transport: &'a Transport,
}

impl<'a> Notifications<'a> {
    pub(super) fn new(transport: &'a Transport) -> Self {
        Self { transport }
    }

    /// Lists notifications (`GET /api/notification`), active ones unless `include_inactive`.
    pub async fn list(&self, filter: &NotificationFilter) -> Result<Vec<Notification>, MetabaseError> {
        self.transport.get_json("/api/notification", "/api/notification", &filter.query()).await
    }

    /// Returns one notification (`GET /api/notification/:id`).
    pub async fn get(&self, id: NotificationId) -> Result<Notification, MetabaseError> {
        self.transport.get_json("/api/notification/{id}", &format!("/api/notification/{id}"), &[]).await
    }

    /// Creates a notification from a whole body (`POST /api/notification`).
    pub async fn create(&self, body: Value) -> Result<Notification, MetabaseError> {
        self.transport.post_json("/api/notification", "/api/notification", &[], RequestBody::Json(body)).await
    }

    /// Writes a whole notification (`PUT /api/notification/:id`). Metabase deletes every handler,
    /// subscription and recipient the body does not name: send what [`merge_change`] gives.
    pub async fn put(&self, notification: &Notification) -> Result<Notification, MetabaseError> {
        let id = notification.id;
        let body = serde_json::to_value(notification)
            .map_err(|source| MetabaseError::Decode { route: "/api/notification/{id}".into(), source })?;
        let path = format!("/api/notification/{id}");
        self.transport.put_json("/api/notification/{id}", &path, &[], RequestBody::Json(body)).await
    }

    /// Removes the client's user from the recipients (`POST /api/notification/:id/unsubscribe`, 204).
    pub async fn unsubscribe(&self, id: NotificationId) -> Result<(), MetabaseError> {
        let path = format!("/api/notification/{id}/unsubscribe");
        self.post_no_content("/api/notification/{id}/unsubscribe", &path, RequestBody::None).await
    }

    /// Sends now, to every handler or to `handler_ids` (`POST /api/notification/:id/send`, 204).
    pub async fn send(&self, id: NotificationId, handler_ids: &[i64]) -> Result<(), MetabaseError> {
        let path = format!("/api/notification/{id}/send");
        let body = if handler_ids.is_empty() {
            RequestBody::None
        } else {
            RequestBody::Json(serde_json::json!({"handler_ids": handler_ids}))
        };
        self.post_no_content("/api/notification/{id}/send", &path, body).await
    }

    async fn post_no_content(&self, route: &'static str, path: &str, body: RequestBody) -> Result<(), MetabaseError> {
        let response = self.transport.send_raw(Method::POST, route, path, &[], body).await?;
        response.bytes().await.map(drop).map_err(|error| MetabaseError::from_transport(route, error))
    }
}

#[cfg(test)]
mod tests;
