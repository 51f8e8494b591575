//! The code generated from `proto/metabase/gateway/v1/`, and the descriptor set reflection serves.
#![allow(missing_docs, clippy::all, clippy::pedantic)]

/// The `metabase.gateway.v1` package.
pub mod v1 {
    tonic::include_proto!("metabase.gateway.v1");
}

/// The encoded `FileDescriptorSet` of every gateway proto, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("metabase_gateway_descriptor");
