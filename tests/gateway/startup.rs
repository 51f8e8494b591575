//! The binary refuses a configuration it cannot honour before it serves anyone: exit 64 with a
//! message naming the flag and what would be valid; and a start-up failure names the address and
//! the cause.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `metabase-grpc serve` with `flags` in an empty directory; returns how it ended, or fails
/// the test if it is still running after 30 seconds (it started when it should not have).
fn serve(flags: &[&str]) -> Output {
    let directory = tempfile::tempdir().unwrap();
    let policy = directory.path().join("policy.yaml");
    std::fs::write(&policy, "version: 1\nprincipals: []\n").unwrap();
    let flags: Vec<String> = flags.iter().map(|flag| flag.replace("POLICY_FILE", policy.to_str().unwrap())).collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_metabase-grpc"))
        .args(["serve", "--metabase-url", "http://127.0.0.1:9", "--listen", "127.0.0.1:0"])
        .args(&flags)
        .env_clear()
        .env("MBGRPC_METABASE_API_KEY", "mb_not_used_here")
        .current_dir(directory.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the gateway binary runs");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the gateway started with {flags:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn an_invalid_identity_header_name_stops_the_gateway_with_exit_64_naming_the_flag() {
    let output = serve(&["--admin-listen", "127.0.0.1:0", "--policy", "POLICY_FILE", "--identity", "header:bad name"]);

    assert_eq!(output.status.code(), Some(64), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains("--identity (MBGRPC_IDENTITY) header:bad name"), "{message}");
    assert!(message.contains("such as header:l5d-client-id"), "{message}");
}

#[test]
fn a_policy_with_allow_all_stops_the_gateway_with_exit_64_naming_both_flags() {
    let output = serve(&["--admin-listen", "127.0.0.1:0", "--policy", "POLICY_FILE", "--allow-all"]);

    assert_eq!(output.status.code(), Some(64), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains("--allow-all (MBGRPC_ALLOW_ALL) and --policy (MBGRPC_POLICY) conflict"), "{message}");
}

#[test]
fn a_taken_admin_port_is_named_with_its_address_and_cause() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();

    let output = serve(&["--admin-listen", &address, "--allow-all"]);

    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains(&format!("the admin port {address} (--admin-listen, MBGRPC_ADMIN_LISTEN)")), "{message}");
    assert!(message.to_lowercase().contains("address already in use"), "{message}");
}
