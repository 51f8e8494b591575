//! The `metabase-grpc` command: parses the command line and runs the chosen program.
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    metabase_grpc::cli::main()
}
