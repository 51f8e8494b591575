//! The `metabase-grpc` command: parses the command line and runs the chosen program. The gateway
//! is the `metabase_grpc` library; this binary composes it with the Metabase emulator for `demo`
//! and `emulator`.
#![forbid(unsafe_code)]

mod cli;

use std::process::ExitCode;

/// mimalloc: a unary call allocates and frees many small objects across threads, where glibc's
/// allocator spent a fifth of the gateway's time in its arena locks (`cargo bench --bench unary`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cli::main()
}
