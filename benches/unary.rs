//! Unary latency benchmark: the same read two ways, in one run, against one in-process emulator.
//!
//! (a) gateway: `CardService/GetCard` through the gateway (started in this process, allow-all,
//!     no audit database), called with the generated tonic client; (b) direct: the equivalent
//!     `GET /api/card/1` sent straight to the emulator with reqwest, its JSON decoded as a REST
//!     caller would (the gRPC caller decodes its message too). Each side runs `TASKS` tasks,
//!     each on its own connection and each making one call after another. After a warm-up of
//!     both, the sides take turns for `ROUNDS` rounds of `ROUND` each (the gateway first in even
//!     rounds, the direct side first in odd ones), so that a machine that speeds up or slows
//!     down during the run weighs on both alike. Prints p50, p99 and calls/s for both over all
//!     rounds, the p50 the gateway adds, and the throughput ratio gateway/direct with its range
//!     over the rounds.
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
const ROUNDS: usize = 8;
const ROUND: Duration = Duration::from_millis(500);
const ADMIN_KEY: &str = "mb_emulator_admin_key";

/// The latencies (ms) of one side's measured calls, how long its rounds ran, and each round's rate.
#[derive(Default)]
struct Measured {
    latencies: Vec<f64>,
    seconds: f64,
    round_rates: Vec<f64>,
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

/// One side of the comparison: a caller per task, each with its own connection, kept across rounds.
struct Side<F> {
    callers: Vec<F>,
    measured: Measured,
}

impl<F, Fut> Side<F>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    fn new(callers: Vec<F>) -> Self {
        Side { callers, measured: Measured::default() }
    }

    /// Runs one closed loop per caller until `length` has passed (a call under way is finished),
    /// and keeps the latencies and the elapsed time when `measure` is set.
    async fn round(&mut self, length: Duration, measure: bool) {
        let started = Instant::now();
        let ending_at = started + length;
        let tasks: Vec<_> = self
            .callers
            .drain(..)
            .map(|mut call| {
                tokio::spawn(async move {
                    let mut latencies = Vec::new();
                    while Instant::now() < ending_at {
                        let began = Instant::now();
                        call().await;
                        latencies.push(began.elapsed().as_secs_f64() * 1000.0);
                    }
                    (call, latencies)
                })
            })
            .collect();
        let mut calls = 0;
        for task in tasks {
            let (call, latencies) = task.await.expect("a bench task ends");
            self.callers.push(call);
            calls += latencies.len();
            if measure {
                self.measured.latencies.extend(latencies);
            }
        }
        if measure {
            let seconds = started.elapsed().as_secs_f64();
            self.measured.seconds += seconds;
            self.measured.round_rates.push(calls as f64 / seconds);
        }
    }
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

    let mut gateway_callers = Vec::new();
    for _ in 0..TASKS {
        let client = CardServiceClient::new(channel(&gateway.endpoint()).await);
        gateway_callers.push(move || {
            let mut client = client.clone();
            async move {
                client.get_card(GetCardRequest { card_id: 1, legacy_mbql: false }).await.expect("GetCard answers");
            }
        });
    }
    let url = format!("{}/api/card/1", emulator.url());
    let direct_callers = (0..TASKS).map(|_| {
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
    });
    let mut through_gateway = Side::new(gateway_callers);
    let mut direct = Side::new(direct_callers.collect());

    through_gateway.round(WARM_UP, false).await;
    direct.round(WARM_UP, false).await;
    for round in 0..ROUNDS {
        if round % 2 == 0 {
            through_gateway.round(ROUND, true).await;
            direct.round(ROUND, true).await;
        } else {
            direct.round(ROUND, true).await;
            through_gateway.round(ROUND, true).await;
        }
    }
    let (through_gateway, direct) = (through_gateway.measured, direct.measured);

    println!(
        "unary GetCard, {TASKS} tasks, {ROUNDS} rounds of {} ms a side after {} ms warm-up",
        ROUND.as_millis(),
        WARM_UP.as_millis()
    );
    print("gateway", &through_gateway);
    print("direct", &direct);
    println!("p50 added by the gateway: {:.3} ms", through_gateway.percentile(0.5) - direct.percentile(0.5));
    let round_ratios: Vec<f64> =
        through_gateway.round_rates.iter().zip(&direct.round_rates).map(|(gateway, direct)| gateway / direct).collect();
    println!(
        "throughput gateway/direct: {:.3} (rounds {:.3} to {:.3})",
        through_gateway.calls_per_second() / direct.calls_per_second(),
        round_ratios.iter().copied().fold(f64::INFINITY, f64::min),
        round_ratios.iter().copied().fold(0.0, f64::max)
    );
    let _ = gateway.shutdown().await;
    emulator.shutdown().await;
}
