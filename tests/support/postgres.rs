//! A throwaway PostgreSQL cluster for tests and benchmarks: `initdb` into a temporary directory,
//! a server listening only on 127.0.0.1 on a free port with trust authentication, stopped and
//! deleted when the handle drops. Shared by the gateway tests and `benches/audit.rs` through
//! `#[path]`, so it uses nothing but std and tempfile.
//!
//! PostgreSQL refuses to run as root, so as root the directory is given to the `postgres` user
//! and every PostgreSQL program runs through `runuser -u postgres`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What to install when no PostgreSQL server programs are found.
const INSTALL_HINT: &str = "no PostgreSQL server programs (initdb, pg_ctl) under /usr/lib/postgresql/*/bin or on the \
                            PATH: run `apt-get install -y postgresql` (the tests need a real server; CI installs it)";

/// A running throwaway PostgreSQL server; dropping it stops the server and deletes its files.
pub struct PostgresCluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    as_postgres_user: bool,
    // Deleted after the server has stopped, since fields drop after `Drop::drop`.
    _directory: tempfile::TempDir,
}

impl PostgresCluster {
    /// Creates and starts a cluster, panicking with what to install when PostgreSQL is missing.
    pub fn start() -> PostgresCluster {
        let bin = server_programs().unwrap_or_else(|| panic!("{INSTALL_HINT}"));
        let as_postgres_user = running_as_root();
        let directory = tempfile::Builder::new().prefix("audit-pg-").tempdir().expect("temporary directory");
        if as_postgres_user {
            run(Command::new("chown").args(["-R", "postgres:postgres"]).arg(directory.path()), "chown");
        }
        let data = directory.path().join("data");
        let mut initdb = postgres_command(&bin, "initdb", as_postgres_user);
        initdb.arg("-D").arg(&data).args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"]);
        run(&mut initdb, "initdb");
        // Another process may take the port between our probe and the server's bind: try again.
        for _ in 0..5 {
            let port = free_port();
            let mut start = postgres_command(&bin, "pg_ctl", as_postgres_user);
            start
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(directory.path().join("server.log"))
                .args(["-w", "-t", "60", "-o"])
                .arg(format!("-c listen_addresses=127.0.0.1 -p {port} -k {}", directory.path().display()))
                .arg("start");
            if start.output().expect("pg_ctl runs").status.success() {
                return PostgresCluster { bin, data, port, as_postgres_user, _directory: directory };
            }
        }
        let log = std::fs::read_to_string(directory.path().join("server.log")).unwrap_or_default();
        panic!("the throwaway postgres server did not start; its log:\n{log}");
    }

    /// Returns the URL of the cluster's `postgres` database as its superuser.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PostgresCluster {
    fn drop(&mut self) {
        let mut stop = postgres_command(&self.bin, "pg_ctl", self.as_postgres_user);
        stop.arg("-D").arg(&self.data).args(["-m", "immediate", "-w", "stop"]);
        let _ = stop.output();
    }
}

/// Returns the newest `/usr/lib/postgresql/VERSION/bin` that has initdb and pg_ctl, else the
/// directory of an `initdb` on the PATH.
fn server_programs() -> Option<PathBuf> {
    let has_programs = |bin: &Path| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file();
    let installed = std::fs::read_dir("/usr/lib/postgresql").into_iter().flatten().flatten();
    let mut versions: Vec<(u32, PathBuf)> = installed
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| has_programs(bin))
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find(|directory| has_programs(directory))
}

fn running_as_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// Returns a command running a PostgreSQL program, as the `postgres` user when asked.
fn postgres_command(bin: &Path, program: &str, as_postgres_user: bool) -> Command {
    if !as_postgres_user {
        return Command::new(bin.join(program));
    }
    let mut command = Command::new("runuser");
    command.args(["-u", "postgres", "--"]).arg(bin.join(program));
    command
}

fn run(command: &mut Command, what: &str) {
    let output = command.output().unwrap_or_else(|error| panic!("{what} could not run: {error}"));
    assert!(
        output.status.success(),
        "{what} failed with {}:\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("loopback address").port()
}
