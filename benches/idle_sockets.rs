//! The idle-socket attack, measured: a separate process opens `SOCKETS` TCP connections to the
//! gateway and never sends a byte, re-opening what the gateway closes, for `ATTACK`; meanwhile a
//! caller on a connection opened before the attack calls `GetCard` in a loop, and a new caller
//! connects and calls every 250 ms. Prints the calls each served and failed, their p50 and p99,
//! the most connections and file descriptors the gateway held, and the process's file limit.
//!
//! The gateway runs with its defaults (4,096 connections, a 10 s first-request timeout) in this
//! process, in front of the in-process emulator. The attacker is a `python3` script, so it has
//! its own file limit (the machine's 20,000 here: about 19,900 sockets).
//!
//! Run: `cargo bench --bench idle_sockets`; with `UNGUARDED=1` the gateway runs with limits so
//! large that they never act (1,000,000 connections, a one-hour first-request timeout), which is
//! how it behaved before connections were bounded.

use std::process::Stdio;
use std::time::{Duration, Instant};

use metabase_grpc::config::GatewayConfig;
use metabase_grpc::connections::ConnectionLimits;
use metabase_grpc::metabase::{ClientConfig, Credential};
use metabase_grpc::pb::v1::GetCardRequest;
use metabase_grpc::pb::v1::card_service_client::CardServiceClient;
use tonic::transport::Channel;

const SOCKETS: usize = 19_900;
const ATTACK: Duration = Duration::from_secs(25);
const ADMIN_KEY: &str = "mb_emulator_admin_key";

/// Opens sockets without blocking, keeps them open and silent, and re-opens those the gateway
/// closes, until killed.
const ATTACKER: &str = r#"
import resource, select, socket, sys, time
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
poller = select.epoll()
sockets = {}
def open_one():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.connect_ex((host, port))
    poller.register(s.fileno(), select.EPOLLIN | select.EPOLLRDHUP)
    sockets[s.fileno()] = s
opened = 0
while True:
    while len(sockets) < count:
        try:
            open_one()
            opened += 1
        except OSError:
            break
    for fd, _ in poller.poll(0.05):
        s = sockets.pop(fd, None)
        if s is not None:
            try:
                if s.recv(65536, socket.MSG_DONTWAIT):
                    sockets[fd] = s
                    continue
            except BlockingIOError:
                sockets[fd] = s
                continue
            except OSError:
                pass
            poller.unregister(fd)
            s.close()
    print(opened, len(sockets), flush=True)
"#;

/// What one caller saw during the attack.
#[derive(Default)]
struct Served {
    ok: usize,
    failed: usize,
    latencies: Vec<f64>,
}

impl Served {
    fn record(&mut self, started: Instant, result: Result<(), tonic::Status>) {
        match result {
            Ok(()) => {
                self.ok += 1;
                self.latencies.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            Err(_) => self.failed += 1,
        }
    }

    fn percentile(&self, fraction: f64) -> f64 {
        let mut sorted = self.latencies.clone();
        sorted.sort_by(f64::total_cmp);
        sorted.get(((sorted.len().max(1) - 1) as f64 * fraction).round() as usize).copied().unwrap_or(f64::NAN)
    }

    fn print(&self, who: &str) {
        println!(
            "{who}: {} served, {} failed, p50 {:.1} ms, p99 {:.1} ms",
            self.ok,
            self.failed,
            self.percentile(0.5),
            self.percentile(0.99)
        );
    }
}

async fn get_card(channel: Channel) -> Result<(), tonic::Status> {
    let request = GetCardRequest { card_id: 1, ..Default::default() };
    CardServiceClient::new(channel).get_card(request).await.map(|_| ())
}

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|entries| entries.count()).unwrap_or(0)
}

fn file_limit() -> String {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits.lines().find(|line| line.starts_with("Max open files")).unwrap_or("Max open files: unknown").to_owned()
}

#[tokio::main]
async fn main() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let emulator = metabase_emulator::start(Default::default(), listener).await.expect("emulator");
    let mut config = GatewayConfig::new(ClientConfig::new(emulator.url(), Credential::api_key(ADMIN_KEY)));
    config.allow_all = true;
    if std::env::var_os("UNGUARDED").is_some() {
        config.connections =
            ConnectionLimits { max_connections: 1_000_000, first_request_timeout: Duration::from_secs(3600) };
    }
    let limits = config.connections;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let gateway = metabase_grpc::server::start(config, listener).await.expect("gateway");
    let endpoint = gateway.endpoint();
    let existing = Channel::from_shared(endpoint.clone()).expect("endpoint").connect().await.expect("connect");
    get_card(existing.clone()).await.expect("served before the attack");

    let mut attacker = tokio::process::Command::new("python3")
        .args(["-c", ATTACKER, "127.0.0.1", &gateway.address.port().to_string(), &SOCKETS.to_string()])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 runs the attacker");
    let stdout = attacker.stdout.take().expect("attacker output");
    let attacker_state = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let state = attacker_state.clone();
    tokio::spawn(async move {
        use tokio::io::AsyncBufReadExt;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            *state.lock().unwrap() = line;
        }
    });

    let ends = Instant::now() + ATTACK;
    let (mut existing_served, mut newcomers) = (Served::default(), Served::default());
    let (mut most_connections, mut most_descriptors) = (0, 0);
    let mut next_newcomer = Instant::now() + Duration::from_secs(2);
    while Instant::now() < ends {
        let started = Instant::now();
        let result = tokio::time::timeout(Duration::from_secs(5), get_card(existing.clone())).await;
        existing_served.record(started, result.unwrap_or_else(|_| Err(tonic::Status::deadline_exceeded("5 s"))));
        if Instant::now() >= next_newcomer {
            next_newcomer += Duration::from_millis(250);
            let started = Instant::now();
            let endpoint = endpoint.clone();
            let attempt = async move {
                let channel = Channel::from_shared(endpoint).expect("endpoint").connect().await;
                get_card(channel.map_err(|error| tonic::Status::unavailable(error.to_string()))?).await
            };
            let result = tokio::time::timeout(Duration::from_secs(5), attempt).await;
            newcomers.record(started, result.unwrap_or_else(|_| Err(tonic::Status::deadline_exceeded("5 s"))));
        }
        most_connections = most_connections.max(gateway.open_connections());
        most_descriptors = most_descriptors.max(open_descriptors());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let attacker_said = attacker_state.lock().unwrap().clone();
    let _ = attacker.kill().await;

    println!(
        "limits: {} connections, first request within {} s",
        limits.max_connections,
        limits.first_request_timeout.as_secs()
    );
    println!(
        "attack: {SOCKETS} silent sockets held for {} s (attacker: opened, open now = {attacker_said})",
        ATTACK.as_secs()
    );
    existing_served.print("caller on a connection from before the attack");
    newcomers.print("new caller connecting every 250 ms");
    println!(
        "gateway: at most {most_connections} connections, at most {most_descriptors} file descriptors in this process"
    );
    println!("{}", file_limit());
}
