//! A bounded, seeded property test of the conversions: arbitrary JSON, shaped like Metabase's
//! objects or not, goes into the client's models and through the conversions to protobuf (and
//! through the JSON <-> protobuf `Value` bridge) without a panic.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::metabase;
use crate::pb::v1;
use crate::seeded::Seeded;

/// Keys Metabase's objects use, so random objects often decode into a model.
const KEYS: &[&str] = &[
    "id",
    "name",
    "description",
    "collection_id",
    "archived",
    "display",
    "dataset_query",
    "result_metadata",
    "created_at",
    "updated_at",
    "email",
    "first_name",
    "last_name",
    "common_name",
    "is_superuser",
    "is_active",
    "group_ids",
    "user_group_memberships",
    "engine",
    "details",
    "tables",
    "schema",
    "db_id",
    "card",
    "channels",
    "recipients",
    "model",
    "dashcards",
    "tabs",
    "parameters",
    "groups",
    "revision",
    "creator",
    "type",
    "query",
    "location",
    "personal_owner_id",
    "members",
    "user_id",
    "membership_id",
    "member_count",
    "features",
];

/// Returns a value for `key` that is often of the type Metabase uses for it, and sometimes not.
fn value_for(random: &mut Seeded, key: &str, depth: usize) -> Value {
    if random.below(3) == 0 {
        return random_value(random, depth + 1);
    }
    match key {
        "id" | "collection_id" | "db_id" | "user_id" | "membership_id" | "personal_owner_id" | "revision"
        | "member_count" => json!(random.next() as i64 >> random.below(64)),
        "archived" | "is_superuser" | "is_active" => json!(random.below(2) == 0),
        "created_at" | "updated_at" => {
            json!(random.pick(&["2024-05-01T10:00:00Z", "2024-05-01T10:00:00.123+02:00", "not a time", ""]))
        }
        "group_ids" | "features" => json!((0..random.below(4)).map(|_| random.below(100)).collect::<Vec<_>>()),
        "tables"
        | "channels"
        | "recipients"
        | "dashcards"
        | "tabs"
        | "parameters"
        | "members"
        | "user_group_memberships"
        | "result_metadata" => Value::Array((0..random.below(3)).map(|_| random_object(random, depth + 1)).collect()),
        "details" | "dataset_query" | "card" | "creator" | "groups" => random_object(random, depth + 1),
        _ => json!(random.text(b"ab 1-_:.\"\\\xc3\xa9", 16)),
    }
}

fn random_object(random: &mut Seeded, depth: usize) -> Value {
    let mut object = Map::new();
    if depth > 3 {
        return Value::Object(object);
    }
    for _ in 0..random.below(12) {
        let key = *random.pick(KEYS);
        let value = value_for(random, key, depth);
        object.insert(key.to_owned(), value);
    }
    Value::Object(object)
}

fn random_value(random: &mut Seeded, depth: usize) -> Value {
    match random.below(if depth > 3 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => json!(random.below(2) == 0),
        2 => json!(random.next() as i64),
        3 => json!(f64::from_bits(random.next() & 0x7fef_ffff_ffff_ffff)),
        4 => json!(random.text(b"ab1 {}[]\"", 12)),
        5 => random_object(random, depth + 1),
        _ => Value::Array((0..random.below(4)).map(|_| random_value(random, depth + 1)).collect()),
    }
}

/// Decodes `value` into model `M` and converts it to message `P`; returns whether it decoded.
fn converts<M: DeserializeOwned, P: From<M>>(value: &Value) -> bool {
    serde_json::from_value::<M>(value.clone()).map(P::from).is_ok()
}

#[test]
fn arbitrary_json_through_the_models_and_conversions_never_panics() {
    let mut random = Seeded::new(0x636f_6e76);
    let mut decoded = 0;
    for round in 0..3_000 {
        let value = if round % 5 == 0 { random_value(&mut random, 0) } else { random_object(&mut random, 0) };
        let outcomes = [
            converts::<metabase::Database, v1::Database>(&value),
            converts::<metabase::Table, v1::Table>(&value),
            converts::<metabase::User, v1::User>(&value),
            converts::<metabase::UserGroupMembership, v1::GroupMembership>(&value),
            converts::<metabase::Alert, v1::Alert>(&value),
            converts::<metabase::AlertCard, v1::AlertCard>(&value),
            converts::<metabase::AlertChannel, v1::AlertChannel>(&value),
            converts::<metabase::PermissionGroup, v1::PermissionGroup>(&value),
            converts::<metabase::GroupMember, v1::GroupMember>(&value),
            converts::<metabase::PermissionsGraph, v1::PermissionsGraph>(&value),
            converts::<metabase::Card, v1::Card>(&value),
            converts::<metabase::Dashboard, v1::Dashboard>(&value),
            converts::<metabase::DashCard, v1::DashboardCard>(&value),
            converts::<metabase::DashboardTab, v1::DashboardTab>(&value),
            converts::<metabase::Collection, v1::Collection>(&value),
            converts::<metabase::CollectionTreeNode, v1::CollectionTreeNode>(&value),
            converts::<metabase::CollectionItem, v1::CollectionItem>(&value),
            converts::<metabase::SearchResult, v1::SearchResult>(&value),
        ];
        decoded += outcomes.iter().filter(|decoded| **decoded).count();
        let _ = super::json::from_proto_value(super::json::to_proto_value(value));
    }
    assert!(decoded > 1_000, "only {decoded} random objects decoded into a model: the conversions went untested");
}
