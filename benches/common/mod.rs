//! What the benches that run the gateway binary share: starting it in front of an upstream, and
//! reading its peak resident memory, and a fast canned upstream. Each bench uses a part of it.
#![allow(dead_code)]

pub mod canned;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Returns the peak resident memory (VmHWM) of a process, in MiB.
pub fn peak_rss_mib(child: &Child) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// Starts the gateway binary (`--allow-all`, quiet) in front of `upstream` with `api_key`, and
/// returns it with its `host:port` once it accepts connections. `name` names its audit file.
pub async fn start_gateway(upstream: &str, api_key: &str, name: &str) -> (Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let audit = std::env::temp_dir().join(format!("metabase-grpc-{name}-bench-audit.db"));
    let child = Command::new(env!("CARGO_BIN_EXE_metabase-grpc"))
        .args(["serve", "--allow-all", "--metabase-url", upstream, "--listen", &format!("127.0.0.1:{port}")])
        .args(["--admin-listen", "127.0.0.1:0", "--audit-db", audit.to_str().unwrap_or("bench-audit.db")])
        .env("MBGRPC_METABASE_API_KEY", api_key)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the gateway binary starts");
    let address = format!("127.0.0.1:{port}");
    for _ in 0..400 {
        if tokio::net::TcpStream::connect(&address).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    (child, address)
}
