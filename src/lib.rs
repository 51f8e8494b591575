//! metabase-grpc: a gRPC gateway that puts Metabase in front of an organisation's platform.
//!
//! This library is the gateway: typed gRPC services over the Metabase REST client (the
//! `metabase-client` crate, re-exported as [`metabase`]), with identity, policy, audit, streaming
//! and telemetry. The command line lives in the binary, which is also the only place that embeds
//! the Metabase emulator (the `metabase-emulator` crate) for `demo` and `emulator`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(unreachable_pub)]
#![recursion_limit = "256"]

pub mod audit;
pub mod config;
pub mod connections;
pub mod convert;
pub(crate) mod error;
pub mod identity;
pub mod middleware;
pub(crate) mod narrow;
pub mod pb;
pub mod policy;
pub mod rpcs;
#[cfg(test)]
pub(crate) mod seeded;
pub mod server;
pub(crate) mod services;
pub mod streaming;
pub mod telemetry;

pub use metabase_client as metabase;
