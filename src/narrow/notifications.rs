//! The narrowing of notifications and metadata: a notification is seen through the card it
//! watches (its collection and database), a table or field through its database.

use std::collections::HashMap;

use super::Visibility;
use crate::pb::v1::{Notification, TableMetadata};

/// Where a card lives: what decides who may see what refers to it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CardPlace {
    /// The card's collection; `None` is the root.
    pub(crate) collection_id: Option<i64>,
    /// The card's database, when known.
    pub(crate) database_id: Option<i64>,
}

/// Reports whether the caller may see a card at this place; an unknown place is seen only by a
/// caller who is not narrowed.
pub(crate) fn sees_card(visibility: &Visibility, place: Option<&CardPlace>) -> bool {
    if !visibility.narrows() {
        return true;
    }
    let Some(place) = place else {
        return false;
    };
    let database_visible = match place.database_id {
        Some(id) => visibility.sees_database(id),
        None => !visibility.narrows_databases(),
    };
    database_visible && visibility.sees_collection(place.collection_id, None)
}

/// Returns a notification if the caller may see its card (by `places`, card id to place); a
/// narrowed caller sees no notification without a card (dashboard or system-event ones).
pub(crate) fn notification(
    visibility: &Visibility,
    places: &HashMap<i64, CardPlace>,
    notification: Notification,
) -> Option<Notification> {
    if !visibility.narrows() {
        return Some(notification);
    }
    let card_id = notification.payload.as_ref().map(|payload| payload.card_id)?;
    sees_card(visibility, places.get(&card_id)).then_some(notification)
}

/// Returns a table if the caller may see its database.
pub(crate) fn table(visibility: &Visibility, table: TableMetadata) -> Option<TableMetadata> {
    visibility.sees_database(table.db_id).then_some(table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::v1::CardNotificationPayload;

    fn on_card(card_id: i64) -> Notification {
        Notification {
            id: card_id * 10,
            payload: Some(CardNotificationPayload { card_id, ..Default::default() }),
            ..Default::default()
        }
    }

    fn places() -> HashMap<i64, CardPlace> {
        HashMap::from([
            (1, CardPlace { collection_id: Some(2), database_id: Some(1) }),
            (2, CardPlace { collection_id: Some(4), database_id: Some(1) }),
            (3, CardPlace { collection_id: Some(2), database_id: Some(7) }),
        ])
    }

    #[test]
    fn notifications_are_seen_through_their_cards_collection_and_database() {
        let sales = Visibility::new(Some(&[2]), Some(&[1]), HashMap::new());
        let cases = [(1, true), (2, false), (3, false), (4, false)];

        for (card, visible) in cases {
            assert_eq!(notification(&sales, &places(), on_card(card)).is_some(), visible, "card {card}");
        }
        let system_event = Notification { payload_type: "notification/system-event".into(), ..Default::default() };
        assert!(notification(&sales, &places(), system_event.clone()).is_none());
        assert!(notification(&Visibility::everything(), &HashMap::new(), system_event).is_some());
    }

    #[test]
    fn tables_are_seen_through_their_database() {
        let warehouse = Visibility::new(None, Some(&[1001]), HashMap::new());

        assert!(table(&warehouse, TableMetadata { db_id: 1, ..Default::default() }).is_none());
        assert!(table(&warehouse, TableMetadata { db_id: 1001, ..Default::default() }).is_some());
    }
}
