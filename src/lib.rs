//! metabase-grpc: a gRPC gateway that puts Metabase in front of an organisation's platform.
//!
//! The crate holds two programs that never import each other: the gateway (typed gRPC services
//! over a Metabase REST client) and [`emulator`], a Metabase stand-in for tests and the demo.
#![forbid(unsafe_code)]
#![recursion_limit = "256"]

pub mod cli;
pub mod emulator;
