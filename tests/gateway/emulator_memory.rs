//! The `metabase-grpc emulator` command streams exports: the emulator's peak memory stays flat however
//! many rows it sends.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

#[tokio::test]
async fn exporting_1048575_rows_keeps_the_emulators_peak_rss_under_100_mib() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_metabase-grpc"))
        .args(["emulator", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the emulator binary");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while client.get(format!("{base}/api/health")).send().await.is_err() {
        assert!(Instant::now() < deadline, "emulator did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let query =
        serde_json::json!({"query": {"database": 1, "type": "native", "native": {"query": "SELECT * FROM EVENTS"}}});
    let mut response = client
        .post(format!("{base}/api/dataset/csv"))
        .header("X-Api-Key", "mb_emulator_admin_key")
        .json(&query)
        .send()
        .await
        .unwrap();
    let mut newlines = 0u64;
    while let Some(chunk) = response.chunk().await.unwrap() {
        newlines += chunk.iter().filter(|byte| **byte == b'\n').count() as u64;
    }
    assert_eq!(newlines, 1_048_576, "a header and 1,048,575 rows");
    let peak = peak_rss_kib(child.id());
    let _ = child.kill();
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    let _ = child.wait();
    println!("emulator peak RSS while exporting 1,048,575 rows: {} KiB ({:.1} MiB)", peak, peak as f64 / 1024.0);
    assert!(peak < 100 * 1024, "peak RSS {peak} KiB is over 100 MiB");
}
