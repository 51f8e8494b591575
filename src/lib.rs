//! metabase-grpc: a gRPC gateway that puts Metabase in front of an organisation's platform.
//!
//! The crate holds two programs that never import each other: the gateway (typed gRPC services
//! over a Metabase REST client) and [`emulator`], a Metabase stand-in for tests and the demo.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![recursion_limit = "256"]

pub mod audit;
pub mod cli;
pub mod config;
pub mod convert;
#[cfg(feature = "emulator")]
pub mod emulator;
pub mod error;
pub mod identity;
pub mod metabase;
pub mod middleware;
pub(crate) mod narrow;
pub mod pb;
pub mod policy;
pub mod rpcs;
pub mod server;
pub mod services;
pub mod streaming;
pub mod telemetry;
