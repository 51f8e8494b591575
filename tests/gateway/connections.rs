//! The idle-socket attack: sockets that connect and never send a request must not use up the
//! gateway's connections, and callers must be served while they are open.

use std::time::Duration;

use metabase_emulator::EmulatorConfig;
use metabase_grpc::connections::ConnectionLimits;
use metabase_grpc::identity::IdentitySource;
use metabase_grpc::metabase::Credential;
use metabase_grpc::pb::v1::GetCardRequest;
use metabase_grpc::pb::v1::card_service_client::CardServiceClient;
use metabase_grpc::server::GatewayHandle;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tonic::transport::Channel;

use crate::support::{ADMIN_KEY, gateway, gateway_config};

/// Starts an emulator and a gateway under `limits`, with one caller's channel that has already
/// made a call.
async fn guarded(limits: ConnectionLimits) -> (metabase_emulator::EmulatorHandle, GatewayHandle, Channel) {
    guarded_by(limits, Vec::new()).await
}

/// Like [`guarded`], with callers identified by `sources` (the first caller sends `x-caller`).
async fn guarded_by(
    limits: ConnectionLimits,
    sources: Vec<IdentitySource>,
) -> (metabase_emulator::EmulatorHandle, GatewayHandle, Channel) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let emulator = metabase_emulator::start(EmulatorConfig::default(), listener).await.expect("emulator starts");
    let mut config = gateway_config(emulator.url(), Credential::api_key(ADMIN_KEY));
    config.connections = limits;
    config.identity = sources;
    let (gateway, channel) = gateway(config).await;
    call(&channel).await.expect("the first caller is served");
    (emulator, gateway, channel)
}

async fn call(channel: &Channel) -> Result<(), tonic::Status> {
    call_as(channel, Some("orders-api")).await
}

/// Calls GetCard as `caller` (its `x-caller` header), or with no identity at all.
async fn call_as(channel: &Channel, caller: Option<&str>) -> Result<(), tonic::Status> {
    let mut request = tonic::Request::new(GetCardRequest { card_id: 1, ..Default::default() });
    if let Some(caller) = caller {
        request.metadata_mut().insert("x-caller", caller.parse().expect("header value"));
    }
    CardServiceClient::new(channel.clone()).get_card(request).await.map(|_| ())
}

async fn connect(gateway: &GatewayHandle) -> Channel {
    Channel::from_shared(gateway.endpoint()).expect("endpoint").connect().await.expect("connect")
}

/// Opens `count` sockets that never send a request (some send half an HTTP/2 preface, as a
/// slow client would) and waits until the gateway holds them.
async fn silent_sockets(gateway: &GatewayHandle, count: usize) -> Vec<TcpStream> {
    let before = gateway.open_connections();
    let mut sockets = Vec::with_capacity(count);
    for index in 0..count {
        let mut socket = TcpStream::connect(gateway.address).await.expect("connect");
        if index % 2 == 1 {
            socket.write_all(b"PRI * HTTP/2.0\r\n").await.expect("half a preface");
        }
        sockets.push(socket);
    }
    wait_until(|| gateway.open_connections() >= before + count).await;
    sockets
}

async fn wait_until(mut condition: impl FnMut() -> bool) {
    for _ in 0..400 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(condition(), "the condition did not hold within 4 s");
}

/// Returns whether the gateway closed `socket`: a read ends (EOF or reset) within `within`.
async fn closed(socket: &mut TcpStream, within: Duration) -> bool {
    let mut buffer = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, socket.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            // The gateway's HTTP/2 settings frame; keep reading.
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn silent_sockets_are_closed_at_the_first_request_timeout_while_callers_are_served() {
    let limits = ConnectionLimits { max_connections: 1_000, first_request_timeout: Duration::from_millis(400) };
    let (_emulator, gateway, channel) = guarded(limits).await;

    let mut sockets = silent_sockets(&gateway, 200).await;
    assert_eq!(gateway.open_connections(), 201, "the caller and 200 silent sockets");
    call(&channel).await.expect("the caller is served while the sockets are open");

    for socket in &mut sockets {
        assert!(closed(socket, Duration::from_secs(3)).await, "a silent socket outlived its timeout");
    }
    wait_until(|| gateway.open_connections() == 1).await;
    call(&channel).await.expect("the caller's connection, which made calls, stays open");
}

#[tokio::test]
async fn a_full_gateway_closes_its_oldest_silent_socket_for_a_new_caller() {
    let limits = ConnectionLimits { max_connections: 11, first_request_timeout: Duration::from_secs(60) };
    let (_emulator, gateway, channel) = guarded(limits).await;
    let mut sockets = silent_sockets(&gateway, 10).await;
    assert_eq!(gateway.open_connections(), 11);

    let newcomer = connect(&gateway).await;
    call(&newcomer).await.expect("a new caller gets in when the gateway is full of silent sockets");

    assert!(closed(&mut sockets[0], Duration::from_secs(2)).await, "the oldest silent socket made way");
    assert!(!closed(&mut sockets[1], Duration::from_millis(200)).await, "only one socket was closed");
    assert!(gateway.open_connections() <= 11, "{} connections", gateway.open_connections());
    call(&channel).await.expect("the first caller was not evicted");
}

#[tokio::test]
async fn a_gateway_full_of_callers_refuses_a_new_socket_and_keeps_its_callers() {
    let limits = ConnectionLimits { max_connections: 2, first_request_timeout: Duration::from_secs(60) };
    let (_emulator, gateway, first) = guarded(limits).await;
    let second = connect(&gateway).await;
    call(&second).await.expect("the second caller fits");

    let mut intruder = TcpStream::connect(gateway.address).await.expect("the kernel accepts the socket");
    assert!(closed(&mut intruder, Duration::from_secs(2)).await, "a socket beyond a gateway full of callers is closed");

    call(&first).await.expect("the first caller keeps its connection");
    call(&second).await.expect("the second caller keeps its connection");
    assert_eq!(gateway.open_connections(), 2);
}

#[tokio::test]
async fn refused_requests_do_not_make_a_connection_a_callers_so_it_is_evicted_for_a_real_caller() {
    let limits = ConnectionLimits { max_connections: 3, first_request_timeout: Duration::from_secs(60) };
    let sources = vec![IdentitySource::Header("x-caller".into())];
    let (_emulator, gateway, channel) = guarded_by(limits, sources).await;
    // The attacker speaks proper HTTP/2 and sends requests, but none of them is identified.
    let intruders = [connect(&gateway).await, connect(&gateway).await];
    for intruder in &intruders {
        let status = call_as(intruder, None).await.expect_err("no identity");
        assert_eq!(status.code(), tonic::Code::Unauthenticated);
    }
    assert_eq!(gateway.open_connections(), 3, "the caller and two intruders fill the gateway");

    let newcomer = connect(&gateway).await;
    call(&newcomer).await.expect("an identified caller gets in past connections that were never identified");
    wait_until(|| gateway.open_connections() <= 3).await;
    call(&channel).await.expect("the first caller was not evicted");
    call(&newcomer).await.expect("the newcomer keeps its connection");
}
