//! Renders stored objects as Metabase's JSON: the columns each object has, plus the hydrated keys
//! Metabase adds (CONTRACT.md §4.8, §5, §6, §11), in one place so every route agrees.

use serde_json::{Map, Value, json};

use crate::EMULATED_VERSION;
use crate::http::Caller;
use crate::query::normalize;
use crate::state::{Access, AppState, Card, Collection, DashCard, Dashboard, DashboardTab, User};

/// Returns a user as the caller may see it: admins and the user themself see every column;
/// others see the short form.
pub(super) fn user(state: &AppState, user: &User, caller: Caller) -> Value {
    if !caller.is_superuser && caller.user_id != user.id {
        return json!({
            "id": user.id, "email": user.email, "first_name": user.first_name,
            "last_name": user.last_name, "common_name": user.common_name()
        });
    }
    json!({
        "id": user.id,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "common_name": user.common_name(),
        "date_joined": user.date_joined,
        "last_login": user.last_login,
        "is_superuser": state.is_superuser(user.id),
        "is_qbnewb": false,
        "is_active": user.is_active,
        "updated_at": user.updated_at,
        "locale": user.locale,
        "sso_source": null,
        "login_attributes": user.login_attributes,
        "jwt_attributes": null,
        "tenant_id": null
    })
}

/// Adds `personal_collection_id` and `group_ids`, as admin lists and the current user carry.
pub(super) fn with_groups(state: &AppState, mut rendered: Value, user_id: i64) -> Value {
    rendered["personal_collection_id"] = json!(state.personal_collection_id(user_id));
    rendered["group_ids"] = json!(state.group_ids(user_id));
    rendered
}

/// Returns the user map hydrated as `creator` on cards and dashboards.
pub(super) fn creator(state: &AppState, user_id: i64) -> Value {
    let Some(user) = state.users.get(&user_id) else {
        return Value::Null;
    };
    json!({
        "id": user.id, "email": user.email, "first_name": user.first_name, "last_name": user.last_name,
        "common_name": user.common_name(), "date_joined": user.date_joined, "last_login": user.last_login,
        "is_superuser": state.is_superuser(user.id), "is_qbnewb": false, "tenant_id": null
    })
}

/// Returns `last-edit-info` for an object last edited by `user_id` at `timestamp`.
pub(super) fn last_edit_info(state: &AppState, user_id: i64, timestamp: &str) -> Value {
    let user = state.users.get(&user_id);
    json!({
        "id": user_id,
        "email": user.map(|user| user.email.clone()),
        "first_name": user.and_then(|user| user.first_name.clone()),
        "last_name": user.and_then(|user| user.last_name.clone()),
        "timestamp": timestamp
    })
}

/// Returns a URL slug for a collection name.
pub(super) fn slug(name: &str) -> String {
    name.to_lowercase().chars().map(|character| if character.is_alphanumeric() { character } else { '_' }).collect()
}

/// Returns the collection's stored columns.
pub(super) fn collection_columns(collection: &Collection) -> Map<String, Value> {
    let value = json!({
        "authority_level": collection.authority_level,
        "description": collection.description,
        "archived": collection.archived,
        "slug": slug(&collection.name),
        "archive_operation_id": null,
        "name": collection.name,
        "personal_owner_id": collection.personal_owner_id,
        "type": collection.kind,
        "is_sample": false,
        "id": collection.id,
        "archived_directly": collection.archived_directly,
        "entity_id": collection.entity_id,
        "location": collection.location,
        "namespace": collection.namespace,
        "is_remote_synced": false,
        "created_at": collection.created_at
    });
    value.as_object().cloned().unwrap_or_default()
}

/// Returns the virtual root collection.
pub(super) fn root_collection(state: &AppState, caller: Caller) -> Value {
    json!({
        "name": "Our analytics",
        "id": "root",
        "authority_level": null,
        "namespace": null,
        "is_personal": false,
        "effective_ancestors": [],
        "effective_location": null,
        "parent_id": null,
        "can_write": state.collection_access(caller.user_id, None) == Access::Write,
        "can_restore": false,
        "can_delete": false
    })
}

/// Returns a collection in its detail form, as `GET /api/collection/:id` serves it.
pub(super) fn collection_detail(state: &AppState, collection: &Collection, caller: Caller) -> Value {
    let mut map = collection_columns(collection);
    let ancestors: Vec<Value> = collection
        .ancestor_ids()
        .into_iter()
        .filter(|id| state.collection_access(caller.user_id, Some(*id)) != Access::None)
        .filter_map(|id| state.collections.get(&id))
        .map(|ancestor| {
            json!({"id": ancestor.id, "name": ancestor.name, "type": ancestor.kind, "personal_owner_id": ancestor.personal_owner_id,
                   "can_write": state.collection_access(caller.user_id, Some(ancestor.id)) == Access::Write})
        })
        .collect();
    let mut effective_ancestors = vec![
        json!({"id": "root", "name": "Our analytics", "can_write": state.collection_access(caller.user_id, None) == Access::Write}),
    ];
    effective_ancestors.extend(ancestors);
    let can_write = state.collection_access(caller.user_id, Some(collection.id)) == Access::Write;
    map.insert("effective_location".into(), json!(collection.location));
    map.insert("effective_ancestors".into(), Value::Array(effective_ancestors));
    map.insert("can_write".into(), json!(can_write));
    map.insert("is_personal".into(), json!(state.personal_owner(collection).is_some()));
    map.insert("can_restore".into(), json!(collection.archived && can_write));
    map.insert("can_delete".into(), json!(collection.archived && caller.is_superuser));
    map.insert("parent_id".into(), json!(collection.parent_id()));
    Value::Object(map)
}

/// Returns the collection hydrated onto a card or dashboard (the root when there is none).
pub(super) fn hydrated_collection(state: &AppState, collection_id: Option<i64>, caller: Caller) -> Value {
    match collection_id.and_then(|id| state.collections.get(&id)) {
        Some(collection) => {
            let mut map = collection_columns(collection);
            map.insert("is_personal".into(), json!(state.personal_owner(collection).is_some()));
            map.insert("effective_location".into(), json!(collection.location));
            Value::Object(map)
        }
        None => root_collection(state, caller),
    }
}

/// Returns where an object appears to be: the Trash when it was archived directly.
pub(super) fn presented_collection_id(
    state: &AppState,
    collection_id: Option<i64>,
    archived_directly: bool,
) -> Option<i64> {
    if archived_directly { Some(state.trash_collection_id()) } else { collection_id }
}

/// Returns a card with its hydrations. `legacy` converts `dataset_query` to MBQL 4.
pub(super) fn card(state: &AppState, card: &Card, caller: Caller, legacy: bool) -> Value {
    let can_write = state.card_access(caller.user_id, card) == Access::Write;
    let dashboard_count = state
        .dashboards
        .values()
        .filter(|dashboard| dashboard.dashcards.iter().any(|dashcard| dashcard.card_id == Some(card.id)))
        .count();
    let dataset_query = if legacy { normalize::to_legacy(&card.dataset_query) } else { card.dataset_query.clone() };
    let collection_id = presented_collection_id(state, card.collection_id, card.archived && card.archived_directly);
    let mut map = json!({
        "cache_invalidated_at": null,
        "description": card.description,
        "archived": card.archived,
        "view_count": 0,
        "collection_position": card.collection_position,
        "source_card_id": null,
        "table_id": card.table_id,
        "can_run_adhoc_query": true,
        "result_metadata": card.result_metadata,
        "creator": creator(state, card.creator_id),
        "initially_published_at": null,
        "can_write": can_write,
        "card_schema": 22,
        "database_id": card.database_id,
        "enable_embedding": false,
        "collection_id": collection_id,
        "query_type": card.query_type,
        "name": card.name,
        "last_query_start": null,
        "dashboard_count": dashboard_count,
        "last_used_at": null,
        "dashboard": null,
        "type": card.card_type,
        "average_query_time": null,
        "creator_id": card.creator_id,
        "can_restore": card.archived && can_write,
        "moderation_reviews": [],
        "updated_at": card.updated_at,
        "made_public_by_id": null,
        "embedding_params": null,
        "cache_ttl": card.cache_ttl,
        "dataset_query": dataset_query,
        "id": card.id,
        "parameter_mappings": card.parameter_mappings,
        "can_manage_db": caller.is_superuser,
        "display": card.display,
        "archived_directly": card.archived_directly,
        "entity_id": card.entity_id,
        "collection_preview": true,
        "last-edit-info": last_edit_info(state, card.creator_id, &card.updated_at),
        "visualization_settings": card.visualization_settings,
        "collection": hydrated_collection(state, card.collection_id, caller),
        "metabase_version": format!("{EMULATED_VERSION} (emulator)"),
        "parameters": card.parameters,
        "dashboard_id": card.dashboard_id,
        "dashboard_tab_id": null,
        "created_at": card.created_at,
        "parameter_usage_count": 0,
        "public_uuid": null,
        "can_delete": caller.is_superuser || can_write,
        "is_remote_synced": false,
        "based_on_upload": null,
        "embedding_type": null
    });
    if let Some(extra) = map.as_object_mut() {
        for (key, value) in &card.extra {
            extra.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    map
}

/// Returns a dashcard, with its card hydrated (or `{"id": n}` when the caller cannot read it).
pub(super) fn dashcard(state: &AppState, dashboard_id: i64, dashcard: &DashCard, caller: Caller) -> Value {
    let card_value = match dashcard.card_id.and_then(|id| state.cards.get(&id)) {
        Some(card_row) if state.card_access(caller.user_id, card_row) != Access::None => {
            let mut rendered = card(state, card_row, caller, false);
            rendered["average_execution_time"] = Value::Null;
            rendered
        }
        Some(card_row) => json!({"id": card_row.id}),
        None => Value::Null,
    };
    json!({
        "size_x": dashcard.size_x,
        "dashboard_tab_id": dashcard.dashboard_tab_id,
        "series": dashcard.series,
        "action_id": null,
        "collection_authority_level": null,
        "card": card_value,
        "updated_at": dashcard.updated_at,
        "col": dashcard.col,
        "id": dashcard.id,
        "parameter_mappings": dashcard.parameter_mappings,
        "card_id": dashcard.card_id,
        "entity_id": crate::state::entity_id("dashcard", dashcard.id),
        "visualization_settings": dashcard.visualization_settings,
        "inline_parameters": dashcard.inline_parameters,
        "size_y": dashcard.size_y,
        "dashboard_id": dashboard_id,
        "created_at": dashcard.created_at,
        "row": dashcard.row
    })
}

/// Returns a dashboard tab.
pub(super) fn tab(dashboard_id: i64, tab: &DashboardTab) -> Value {
    json!({
        "id": tab.id, "dashboard_id": dashboard_id, "name": tab.name, "position": tab.position,
        "entity_id": tab.entity_id, "created_at": tab.created_at, "updated_at": tab.updated_at
    })
}

/// Returns a dashboard's columns plus `creator` and `last-edit-info`, as the list serves it.
pub(super) fn dashboard_summary(state: &AppState, dashboard: &Dashboard, caller: Caller) -> Value {
    let collection_id =
        presented_collection_id(state, dashboard.collection_id, dashboard.archived && dashboard.archived_directly);
    let mut map = json!({
        "description": dashboard.description,
        "archived": dashboard.archived,
        "view_count": 0,
        "collection_position": dashboard.collection_position,
        "creator": creator(state, dashboard.creator_id),
        "initially_published_at": null,
        "enable_embedding": false,
        "collection_id": collection_id,
        "show_in_getting_started": false,
        "name": dashboard.name,
        "width": dashboard.width,
        "caveats": null,
        "creator_id": dashboard.creator_id,
        "updated_at": dashboard.updated_at,
        "made_public_by_id": null,
        "embedding_params": null,
        "cache_ttl": dashboard.cache_ttl,
        "id": dashboard.id,
        "position": null,
        "entity_id": dashboard.entity_id,
        "last-edit-info": last_edit_info(state, dashboard.creator_id, &dashboard.updated_at),
        "parameters": dashboard.parameters,
        "auto_apply_filters": dashboard.auto_apply_filters,
        "created_at": dashboard.created_at,
        "public_uuid": null,
        "points_of_interest": null,
        "archived_directly": dashboard.archived_directly,
        "embedding_type": null
    });
    if let Some(map) = map.as_object_mut() {
        for (key, value) in &dashboard.extra {
            map.insert(key.clone(), value.clone());
        }
    }
    let _ = caller;
    map
}

/// Returns a dashboard with its dashcards, tabs and hydrations, as `GET /api/dashboard/:id` does.
pub(super) fn dashboard_detail(state: &AppState, dashboard: &Dashboard, caller: Caller) -> Value {
    let mut map = dashboard_summary(state, dashboard, caller);
    let can_write = state.collection_access(caller.user_id, dashboard.collection_id) == Access::Write;
    let dashcards: Vec<Value> =
        dashboard.dashcards.iter().map(|item| dashcard(state, dashboard.id, item, caller)).collect();
    let tabs: Vec<Value> = dashboard.tabs.iter().map(|item| tab(dashboard.id, item)).collect();
    map["dashcards"] = Value::Array(dashcards);
    map["tabs"] = Value::Array(tabs);
    map["can_write"] = json!(can_write);
    map["can_restore"] = json!(dashboard.archived && can_write);
    map["can_delete"] = json!(dashboard.archived && can_write);
    map["collection_authority_level"] = json!(
        dashboard.collection_id.and_then(|id| state.collections.get(&id)).and_then(|c| c.authority_level.clone())
    );
    map["param_fields"] = json!({});
    map["param_values"] = Value::Null;
    map["moderation_reviews"] = json!([]);
    map["collection"] = hydrated_collection(state, dashboard.collection_id, caller);
    map["is_remote_synced"] = json!(false);
    map
}
