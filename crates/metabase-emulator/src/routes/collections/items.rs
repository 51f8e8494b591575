//! `GET /api/collection/:id/items` (also `root/items`): a collection's children, cards,
//! dashboards and other items, filtered by model and paged as `{total,data,models,limit,offset}`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::*;

const ITEM_MODELS: &[&str] =
    &["card", "dataset", "metric", "dashboard", "collection", "pulse", "snippet", "timeline", "document", "no_models"];

/// `GET /api/collection/:id/items` (also `root/items`).
pub(crate) async fn items(
    State(context): State<Arc<Context>>,
    caller: Caller,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult {
    let requested: Vec<&str> = params.all("models");
    if let Some(bad) = requested.iter().find(|model| !ITEM_MODELS.contains(model)) {
        return Err(ApiError::invalid("models", "nullable value must be a seq of models", &json!(bad)));
    }
    let archived = params.boolean("archived", false)?;
    let paging = params.paging()?;
    let state = context.state();
    let target = resolve(&state, &id)?;
    let (collection_id, in_trash) = match target {
        Target::Root => (None, false),
        Target::Stored(id) => {
            let collection = state.collections.get(&id).ok_or(ApiError::NotFound)?;
            if !visible(&state, caller, collection) {
                return Err(ApiError::Forbidden);
            }
            (Some(id), collection.kind.as_deref() == Some("trash"))
        }
    };
    let mut models: Vec<&str> = if requested.is_empty() {
        vec!["card", "collection", "dashboard", "dataset", "metric"]
    } else {
        requested
            .iter()
            .copied()
            .filter(|model| ["card", "dataset", "metric", "dashboard", "collection"].contains(model))
            .collect()
    };
    models.sort_unstable();
    models.dedup();
    let listed = collection_id.map_or(json!(null), |id| json!(id));
    let mut items: Vec<(bool, String, i64, Value)> = Vec::new();
    let place_matches = |owner: Option<i64>, is_archived: bool, directly: bool| -> bool {
        if in_trash { is_archived && directly } else { owner == collection_id && is_archived == archived }
    };
    for card in state.cards.values() {
        let model = card_model(&card.card_type);
        if !models.contains(&model) || !place_matches(card.collection_id, card.archived, card.archived_directly) {
            continue;
        }
        if state.card_access(caller.user_id, card) == Access::None {
            continue;
        }
        items.push((
            false,
            card.name.to_lowercase(),
            card.id,
            json!({
                "id": card.id, "name": card.name, "description": card.description, "entity_id": card.entity_id,
                "model": model, "display": card.display, "collection_preview": true, "dataset_query": card.dataset_query,
                "collection_id": listed, "collection_position": card.collection_position, "dashboard_id": card.dashboard_id,
                "archived": card.archived, "database_id": card.database_id, "table_id": card.table_id, "query_type": card.query_type,
                "moderated_status": null, "icon": null, "last_used_at": null, "is_remote_synced": false, "authority_level": null,
                "personal_owner_id": null, "location": null, "type": null,
                "can_write": state.card_access(caller.user_id, card) == Access::Write,
                "last-edit-info": render::last_edit_info(&state, card.creator_id, &card.updated_at)
            }),
        ));
    }
    if models.contains(&"dashboard") {
        for dashboard in state.dashboards.values() {
            if !place_matches(dashboard.collection_id, dashboard.archived, dashboard.archived_directly)
                || state.collection_access(caller.user_id, dashboard.collection_id) == Access::None
            {
                continue;
            }
            items.push((
                false,
                dashboard.name.to_lowercase(),
                dashboard.id,
                json!({
                    "id": dashboard.id, "name": dashboard.name, "description": dashboard.description, "entity_id": dashboard.entity_id,
                    "model": "dashboard", "collection_id": listed, "collection_position": dashboard.collection_position,
                    "archived": dashboard.archived, "dashboard_id": null, "database_id": null, "display": null,
                    "moderated_status": null, "icon": null, "last_used_at": null, "is_remote_synced": false, "authority_level": null,
                    "personal_owner_id": null, "location": null, "type": null,
                    "can_write": state.collection_access(caller.user_id, dashboard.collection_id) == Access::Write,
                    "last-edit-info": render::last_edit_info(&state, dashboard.creator_id, &dashboard.updated_at)
                }),
            ));
        }
    }
    if models.contains(&"collection") {
        let location =
            collection_id.and_then(|id| state.collections.get(&id)).map_or("/".to_owned(), Collection::child_location);
        for child in state.collections.values() {
            let here = if in_trash {
                child.archived && child.archived_directly == Some(true)
            } else {
                child.location == location && child.archived == archived
            };
            if !here || child.kind.as_deref() == Some("trash") || !visible(&state, caller, child) {
                continue;
            }
            if collection_id.is_none() && state.personal_owner(child).is_some() {
                continue;
            }
            items.push((
                child.authority_level.is_some(),
                child.name.to_lowercase(),
                child.id,
                json!({
                    "id": child.id, "name": child.name, "description": child.description, "entity_id": child.entity_id,
                    "model": "collection", "location": child.location, "authority_level": child.authority_level,
                    "personal_owner_id": child.personal_owner_id, "type": child.kind, "archived": child.archived,
                    "collection_id": listed, "collection_position": null, "here": [], "below": [], "is_remote_synced": false,
                    "can_write": state.collection_access(caller.user_id, Some(child.id)) == Access::Write,
                    "database_id": null, "display": null, "moderated_status": null, "icon": null
                }),
            ));
        }
    }
    let descending = params.get("sort_direction") == Some("desc");
    items.sort_by(|left, right| {
        let order = right.0.cmp(&left.0).then_with(|| left.1.cmp(&right.1)).then_with(|| left.2.cmp(&right.2));
        if descending { order.reverse() } else { order }
    });
    let total = items.len();
    let data: Vec<Value> = page(items, paging).into_iter().map(|(_, _, _, item)| item).collect();
    let (limit, offset) = paging_json(paging);
    Ok(json_response(
        StatusCode::OK,
        &json!({"total": total, "data": data, "models": models, "limit": limit, "offset": offset}),
    ))
}
