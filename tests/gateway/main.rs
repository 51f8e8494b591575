//! The gateway end to end: the real server in-process in front of the Metabase emulator (or a
//! wiremock server for exact error cases), called through the generated clients.

mod alerts;
mod audit;
mod audit_crash;
mod audit_endings;
mod audit_postgres;
mod audit_replicas;
mod cards;
mod collections;
mod connections;
mod dashboards;
mod databases;
mod emulator_memory;
mod envoy;
mod errors;
mod exports;
mod flight;
mod identity;
mod inspection;
mod invariant;
mod metadata;
mod narrowing;
mod notifications;
mod permissions;
mod policed;
mod policy;
#[path = "../support/postgres.rs"]
mod postgres_cluster;
mod requests;
mod resilience;
mod rotation;
mod search;
mod secrets;
mod server;
mod sessions;
mod startup;
mod streaming;
mod support;
mod telemetry;
mod users;
mod wide_values;
