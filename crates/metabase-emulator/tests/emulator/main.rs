//! Contract tests of the Metabase emulator: it must answer the way CONTRACT.md says Metabase
//! answers, because real users will point the gateway at a real Metabase.

mod auth;
mod contract;
mod exports;
mod fixtures;
mod metadata;
mod notifications;
mod oracles;
mod queries;
mod support;
