//! Compiles the gateway's protobuf files without a system `protoc`: protox parses them in pure
//! Rust, tonic-prost-build generates the code, and the descriptor set is kept for reflection.

use std::path::PathBuf;

use prost::Message;

const PROTOS: &[&str] = &[
    "metabase/gateway/v1/common.proto",
    "metabase/gateway/v1/card_service.proto",
    "metabase/gateway/v1/dashboard_service.proto",
    "metabase/gateway/v1/collection_service.proto",
    "metabase/gateway/v1/database_service.proto",
    "metabase/gateway/v1/dataset_service.proto",
    "metabase/gateway/v1/user_service.proto",
    "metabase/gateway/v1/permissions_service.proto",
    "metabase/gateway/v1/alert_service.proto",
    "metabase/gateway/v1/search_service.proto",
    "metabase/gateway/v1/metadata_service.proto",
    "metabase/gateway/v1/notification_service.proto",
    "metabase/gateway/v1/gateway_service.proto",
    "metabase/gateway/v1/audit_service.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let descriptors = protox::compile(PROTOS, ["proto"])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out_dir.join("metabase_gateway_descriptor.bin"), descriptors.encode_to_vec())?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // Row batches are written as protobuf bytes straight from the parsed upstream body, so
        // the stream's chunk type is hand-written (see src/streaming/wire.rs).
        .extern_path(".metabase.gateway.v1.QueryResultChunk", "crate::streaming::wire::QueryResultChunk")
        // Export chunks carry Metabase's body chunks as they are, without a copy.
        .bytes(".metabase.gateway.v1.ExportChunk.data")
        .compile_fds(descriptors)?;
    Ok(())
}
