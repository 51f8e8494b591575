//! Databases and their tables, and the create and update bodies. Connection `details` are
//! passed through as Metabase masks them; the gateway never logs them.

use serde_json::{Map, Value};

use super::BodyBuilder;
use super::json::Fields;
use crate::error::GatewayError;
use crate::pb::v1::{CreateDatabaseRequest, Database, Table, UpdateDatabaseRequest};

/// Converts Metabase's database JSON.
pub fn database(value: Value) -> Database {
    let mut fields = Fields::new(value);
    Database {
        id: fields.int("id"),
        name: fields.string("name"),
        engine: fields.string("engine"),
        description: fields.opt_string("description"),
        is_sample: fields.bool("is_sample"),
        is_full_sync: fields.bool("is_full_sync"),
        is_on_demand: fields.bool("is_on_demand"),
        features: fields.strings("features"),
        timezone: fields.opt_string("timezone"),
        dbms_version: fields.structure("dbms_version"),
        initial_sync_status: fields.string("initial_sync_status"),
        details: fields.structure("details"),
        tables: fields.objects("tables").into_iter().map(table).collect(),
        created_at: fields.timestamp("created_at"),
        updated_at: fields.timestamp("updated_at"),
        auto_run_queries: fields.bool("auto_run_queries"),
        cache_ttl: fields.opt_i32("cache_ttl"),
        settings: fields.structure("settings"),
        extra: fields.extra(),
    }
}

fn table(value: Value) -> Table {
    let mut fields = Fields::new(value);
    Table {
        id: fields.int("id"),
        db_id: fields.int("db_id"),
        name: fields.string("name"),
        display_name: fields.string("display_name"),
        schema: fields.opt_string("schema"),
        entity_type: fields.opt_string("entity_type"),
        description: fields.opt_string("description"),
        extra: fields.extra(),
    }
}

/// Builds `POST /api/database`'s body.
pub fn create_body(request: CreateDatabaseRequest) -> Result<Map<String, Value>, GatewayError> {
    if request.name.trim().is_empty() {
        return Err(GatewayError::invalid_argument("name", "name is required"));
    }
    if request.engine.trim().is_empty() {
        return Err(GatewayError::invalid_argument("engine", "engine is required, such as postgres"));
    }
    let details = request.details.ok_or_else(|| GatewayError::invalid_argument("details", "details are required"))?;
    Ok(BodyBuilder::default()
        .set("name", request.name)
        .set("engine", request.engine)
        .structure("details", Some(details))
        .maybe("is_full_sync", request.is_full_sync)
        .maybe("is_on_demand", request.is_on_demand)
        .maybe("auto_run_queries", request.auto_run_queries)
        .structure("schedules", request.schedules)
        .build())
}

/// Builds `PUT /api/database/:id`'s body from the fields the caller set.
pub fn update_body(request: UpdateDatabaseRequest) -> Map<String, Value> {
    BodyBuilder::default()
        .maybe("name", request.name)
        .maybe("engine", request.engine)
        .structure("details", request.details)
        .structure("schedules", request.schedules)
        .maybe("description", request.description)
        .maybe("caveats", request.caveats)
        .maybe("points_of_interest", request.points_of_interest)
        .maybe("auto_run_queries", request.auto_run_queries)
        .structure("settings", request.settings)
        .build()
}
