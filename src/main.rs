//! The `metabase-grpc` command: parses the command line and runs the chosen program. The gateway
//! is the `metabase_grpc` library; this binary composes it with the Metabase emulator for `demo`
//! and `emulator`.
#![forbid(unsafe_code)]

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
