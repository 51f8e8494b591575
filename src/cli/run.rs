//! What each command does.

use std::net::SocketAddr;
use std::process::ExitCode;

use super::{EXIT_CONFIG, PolicyCommand, ServeArgs};
use metabase_grpc::config::{AuditLocation, CredentialSettings, GatewayConfig, TlsFiles};
use metabase_grpc::metabase::ClientConfig;

/// Waits for SIGTERM or SIGINT.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = terminate => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

fn config_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("metabase-grpc: invalid configuration: {message}");
    ExitCode::from(EXIT_CONFIG)
}

/// Returns an error's message followed by its causes, such as `audit database cannot be opened:
/// audit database at 10.0.0.5:5432 could not be reached: error connecting to server: ...`.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut cause = error.source();
    while let Some(source) = cause {
        // Some errors (the postgres client's among them) already end their message with their cause.
        let text = source.to_string();
        if !message.ends_with(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = source.source();
    }
    message
}

pub(super) async fn bind(address: SocketAddr) -> Result<tokio::net::TcpListener, ExitCode> {
    tokio::net::TcpListener::bind(address)
        .await
        .map_err(|error| config_error(format!("MBGRPC_LISTEN: cannot listen on {address}: {error}")))
}

pub(super) async fn serve_until_signal(config: GatewayConfig, listener: tokio::net::TcpListener) -> ExitCode {
    let handle = match metabase_grpc::server::start(config, listener).await {
        Ok(handle) => handle,
        Err(error) => {
            eprintln!("metabase-grpc: {}", with_causes(&error));
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(address = %handle.address, "gateway listening");
    shutdown_signal().await;
    tracing::info!("shutting down: letting calls in flight finish");
    match handle.shutdown().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("metabase-grpc: {error}");
            ExitCode::FAILURE
        }
    }
}

pub(super) async fn serve(
    args: ServeArgs,
    environment: &std::collections::HashMap<String, String>,
    registry: prometheus::Registry,
) -> ExitCode {
    if args.policy.is_none() && !args.allow_all {
        return config_error(
            "--policy (MBGRPC_POLICY): no policy given; pass --policy FILE, or --allow-all, which grants every call \
             to every caller and is for local development only",
        );
    }
    if args.policy.is_some() && args.allow_all {
        return config_error(
            "--allow-all (MBGRPC_ALLOW_ALL) and --policy (MBGRPC_POLICY) conflict: --allow-all grants every call to \
             every caller, a policy only what it lists; pass one of them",
        );
    }
    if args.policy.is_none() {
        tracing::warn!(
            "--allow-all: EVERY caller may make EVERY call. Local development only; never expose this gateway."
        );
    }
    let sources = match args.identity_sources() {
        Ok(sources) => sources,
        Err(error) => return config_error(error),
    };
    if args.policy.is_some() && sources.is_empty() {
        return config_error(
            "--identity (MBGRPC_IDENTITY): a policy needs at least one identity source, such as header:l5d-client-id",
        );
    }
    let credential = match CredentialSettings::from_environment(environment).resolve() {
        Ok(credential) => credential,
        Err(error) => return config_error(error),
    };
    let audit = match AuditLocation::from_flags(args.audit_db.clone(), args.audit_url.clone()) {
        Ok(location) => location,
        Err(error) => return config_error(error),
    };
    let metabase = ClientConfig::new(args.metabase_url.clone(), credential);
    let listener = match bind(args.gateway.listen).await {
        Ok(listener) => listener,
        Err(code) => return code,
    };
    let mut config = args.gateway.config(metabase, args.allow_all && args.policy.is_none());
    config.policy_file = args.policy.clone();
    config.identity = sources;
    audit.apply(&mut config);
    config.peer_rate = args.peer_rate;
    config.environment = environment.clone();
    config.metrics_registry = Some(registry);
    config.tls = args.tls_cert.clone().zip(args.tls_key.clone()).map(|(cert, key)| TlsFiles {
        cert,
        key,
        client_ca: args.client_ca.clone(),
    });
    serve_until_signal(config, listener).await
}

pub(super) fn policy(command: PolicyCommand) -> ExitCode {
    match command {
        PolicyCommand::Check { file } => match metabase_grpc::policy::check_file(&file) {
            Ok(summary) => {
                println!("{summary}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("{error}");
                ExitCode::from(EXIT_CONFIG)
            }
        },
        PolicyCommand::Explain { policy, principal, rpc, collection, collection_ancestors, database, native } => {
            let loaded = match metabase_grpc::policy::Policy::load(&policy) {
                Ok(loaded) => loaded,
                Err(error) => {
                    eprintln!("{error}");
                    return ExitCode::from(EXIT_CONFIG);
                }
            };
            let scope = collection
                .map(|id| metabase_grpc::policy::CollectionScope { id: Some(id), ancestors: collection_ancestors });
            println!("{}", metabase_grpc::policy::explain(&loaded, &principal, &rpc, native, scope, database));
            ExitCode::SUCCESS
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("audit database cannot be opened")]
    struct Outer(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("audit database at 127.0.0.1:5432 could not be reached")]
    struct Middle(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("error connecting to server: {0}")]
    struct Inner(#[source] std::io::Error);

    #[test]
    fn a_startup_error_is_printed_with_its_causes_once_each() {
        let error = Outer(Middle(Inner(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused"))));
        assert_eq!(
            with_causes(&error),
            "audit database cannot be opened: audit database at 127.0.0.1:5432 could not be reached: \
             error connecting to server: refused"
        );
    }
}
