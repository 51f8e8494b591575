//! Unary latency benchmark: the same read two ways, in one run, against one in-process emulator.
//!
//! (a) gateway: `CardService/GetCard` through the gateway (started in this process, allow-all,
//!     no audit database), called with the generated tonic client; (b) direct: the equivalent
//!     `GET /api/card/1` sent straight to the emulator with reqwest, its JSON decoded as a REST
//!     caller would (the gRPC caller decodes its message too). Each side runs `TASKS` tasks,
//!     each on its own connection and each making one call after another, for `PHASE` after a
//!     warm-up. Prints p50, p99 and calls/s for both, the p50 the gateway adds, and the
//!     throughput ratio gateway/direct.
//!
//! Run: `cargo bench --bench unary`

use std::time::{Duration, Instant};

use metabase_grpc::config::GatewayConfig;
use metabase_grpc::metabase::{ClientConfig, Credential};
use metabase_grpc::pb::v1::GetCardRequest;
use metabase_grpc::pb::v1::card_service_client::CardServiceClient;
use tonic::transport::Channel;

/// The gateway binary's allocator, so the in-process gateway runs as it ships.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TASKS: usize = 8;
const WARM_UP: Duration = Duration::from_millis(500);
const PHASE: Duration = Duration::from_secs(4);
const ADMIN_KEY: &str = "mb_emulator_admin_key";

/// The latencies (ms) of one side's calls during the measured phase, and how long it ran.
struct Measured {
    latencies: Vec<f64>,
    seconds: f64,
}

impl Measured {
    fn percentile(&self, fraction: f64) -> f64 {
        let mut sorted = self.latencies.clone();
        sorted.sort_by(f64::total_cmp);
        sorted[((sorted.len() as f64 - 1.0) * fraction).round() as usize]
    }

    fn calls_per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.seconds
    }
}

/// Runs `TASKS` closed loops of `call` for the warm-up and then `PHASE`, keeping the latencies of
/// the calls that started after the warm-up.
async fn drive<C, F, Fut>(mut make_caller: C) -> Measured
where
    C: FnMut() -> F,
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let started = Instant::now();
    let measuring_from = started + WARM_UP;
    let ending_at = measuring_from + PHASE;
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let mut call = make_caller();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let began = Instant::now();
                    if began >= ending_at {
                        return latencies;
                    }
                    call().await;
                    if began >= measuring_from {
                        latencies.push(began.elapsed().as_secs_f64() * 1000.0);
                    }
                }
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("a bench task ends"));
    }
    Measured { latencies, seconds: PHASE.as_secs_f64() }
}

async fn channel(endpoint: &str) -> Channel {
    Channel::from_shared(endpoint.to_owned()).expect("endpoint").connect().await.expect("the gateway accepts")
}

fn print(label: &str, measured: &Measured) {
    println!(
        "{label:<8} p50 {:>7.3} ms   p99 {:>7.3} ms   {:>8.0} calls/s   ({} calls)",
        measured.percentile(0.5),
        measured.percentile(0.99),
        measured.calls_per_second(),
        measured.latencies.len()
    );
}

#[tokio::main]
async fn main() {
    let emulator_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let emulator = metabase_emulator::start(Default::default(), emulator_listener).await.expect("emulator starts");
    let mut config = GatewayConfig::new(ClientConfig::new(emulator.url(), Credential::api_key(ADMIN_KEY)));
    config.allow_all = true;
    config.shutdown_grace = Duration::from_secs(1);
    let gateway_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let gateway = metabase_grpc::server::start(config, gateway_listener).await.expect("gateway starts");

    let mut channels = Vec::new();
    for _ in 0..TASKS {
        channels.push(channel(&gateway.endpoint()).await);
    }
    let through_gateway = drive(|| {
        let client = CardServiceClient::new(channels.pop().expect("one channel per task"));
        move || {
            let mut client = client.clone();
            async move {
                client.get_card(GetCardRequest { card_id: 1, legacy_mbql: false }).await.expect("GetCard answers");
            }
        }
    })
    .await;

    let url = format!("{}/api/card/1", emulator.url());
    let direct = drive(|| {
        // One client per task: its own connection, as each gateway task has its own channel.
        let http = reqwest::Client::new();
        let url = url.clone();
        move || {
            let request = http.get(&url).header("x-api-key", ADMIN_KEY);
            async move {
                let response = request.send().await.expect("the emulator answers");
                assert!(response.status().is_success(), "GET /api/card/1 answered {}", response.status());
                // A REST caller decodes the card, as the gRPC caller decodes the message.
                let _card: serde_json::Value = response.json().await.expect("the card body is JSON");
            }
        }
    })
    .await;

    println!("unary GetCard, {TASKS} tasks, {} s each after {} ms warm-up", PHASE.as_secs(), WARM_UP.as_millis());
    print("gateway", &through_gateway);
    print("direct", &direct);
    println!("p50 added by the gateway: {:.3} ms", through_gateway.percentile(0.5) - direct.percentile(0.5));
    println!("throughput gateway/direct: {:.2}", through_gateway.calls_per_second() / direct.calls_per_second());
    let _ = gateway.shutdown().await;
    emulator.shutdown().await;
}
