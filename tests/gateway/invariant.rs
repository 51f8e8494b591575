//! A randomized invariant over narrowed answers: one policed gateway with many random principal
//! rules, random calls from random principals, and for every call a check against a ground truth
//! computed here from the emulator's seed: nothing outside the caller's grant appears in an answer
//! (no name, no native SQL, no typed id), list totals count only what it may see, a grant below
//! what the RPC needs is PERMISSION_DENIED, and native SQL reaches Metabase only from callers with
//! `datasets: full`.
//!
//! Runs are reproducible: `INVARIANT_SEED=<n> cargo test --test gateway invariant` replays one.

mod browse;
mod checks;
mod queries;
mod reads;
mod rng;
mod world;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use metabase_grpc::pb::v1::card_service_client::CardServiceClient;
use metabase_grpc::pb::v1::database_service_client::DatabaseServiceClient;
use metabase_grpc::pb::v1::{CreateCardRequest, CreateDatabaseRequest};
use serde_json::json;
use tonic::Status;
use tonic::transport::Channel;

use self::checks::{Expect, Outcome};
use self::rng::Rng;
use self::world::{CAPABILITIES, CardRow, Grant, Level, NARROWABLE, WAREHOUSE, World};
use crate::policed::{Policed, from, policed};
use crate::support::{collection, structure};

/// The seed of a run without `INVARIANT_SEED`.
const DEFAULT_SEED: u64 = 0x5EED_2026;
/// The most calls one run makes, and the longest it runs (it runs in CI on 2 cores).
const MAX_CASES: usize = 600;
const MAX_TIME: Duration = Duration::from_secs(20);
/// Fewer calls than this means the setup is broken, and the run must not pass vacuously.
const MIN_CASES: usize = 200;
/// The random principals `p0`..`p39`.
const PRINCIPALS: usize = 40;

/// Calls, answers and policy denials of one RPC.
#[derive(Default)]
struct Tally {
    calls: usize,
    ok: usize,
    denied: usize,
    time: Duration,
}

/// One run: the stack, the ground truth, the generator and what was called.
struct Run {
    stack: Policed,
    world: World,
    rng: Rng,
    tallies: BTreeMap<&'static str, Tally>,
    cases: usize,
    marks: u64,
}

fn seed() -> u64 {
    let Ok(text) = std::env::var("INVARIANT_SEED") else {
        return DEFAULT_SEED;
    };
    let text = text.trim();
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.unwrap_or_else(|_| panic!("INVARIANT_SEED must be a number, got {text:?}"))
}

fn random_level(rng: &mut Rng) -> Level {
    [Level::Off, Level::Read, Level::Full][rng.weighted(&[25, 40, 35])]
}

fn random_grant(rng: &mut Rng, principal: String) -> Grant {
    let mut levels = [Level::Off; CAPABILITIES.len()];
    for level in &mut levels {
        *level = random_level(rng);
    }
    let collections = match rng.weighted(&[35, 10, 55]) {
        0 => None,
        1 => Some(Vec::new()),
        _ => Some(rng.subset(&NARROWABLE)),
    };
    let databases = match rng.weighted(&[40, 10, 25, 15, 10]) {
        0 => None,
        1 => Some(Vec::new()),
        2 => Some(vec![1]),
        3 => Some(vec![WAREHOUSE]),
        _ => Some(vec![1, WAREHOUSE]),
    };
    Grant { principal, levels: Some(levels), collections, databases }
}

/// Returns the principals of a run: `admin`, `p0`..`p39` with random rules, and `stranger`,
/// whom no rule matches.
fn random_grants(rng: &mut Rng) -> Vec<Grant> {
    let admin = Grant {
        principal: "admin".into(),
        levels: Some([Level::Full; CAPABILITIES.len()]),
        collections: None,
        databases: None,
    };
    let mut grants = vec![admin];
    grants.extend((0..PRINCIPALS).map(|index| random_grant(rng, format!("p{index}"))));
    grants.push(Grant { principal: "stranger".into(), levels: None, collections: None, databases: None });
    grants
}

fn policy(grants: &[Grant]) -> String {
    let rules: String = grants.iter().map(Grant::yaml).collect();
    format!(
        "version: 1\ncredentials:\n  admin: {{ api_key_env: TEST_ADMIN_KEY }}\ndefault_credential: admin\nprincipals:\n{rules}"
    )
}

impl Run {
    fn channel(&self) -> Channel {
        self.stack.channel.clone()
    }

    fn native_count(&self) -> u64 {
        self.stack.emulator.observations().native_queries.load(Ordering::SeqCst)
    }

    /// Returns a fresh number for the names and SQL of what the run creates.
    fn mark(&mut self) -> u64 {
        self.marks += 1;
        self.marks
    }

    /// Makes one call and checks what every call must satisfy: the status the policy expects,
    /// native SQL reaching Metabase only from `datasets: full` and never on a denied call, and no
    /// hidden name or SQL in the answer or the error. Returns the answer when the call succeeded.
    async fn observe<T: Debug>(
        &mut self,
        grant: &Grant,
        rpc: &'static str,
        call: &str,
        expect: Expect,
        native: bool,
        answer: impl Future<Output = Result<T, Status>>,
    ) -> Result<Option<T>, String> {
        let before = self.native_count();
        let started = Instant::now();
        let result = answer.await;
        let took = started.elapsed();
        let reached = self.native_count() - before;
        self.cases += 1;
        let outcome = checks::outcome(result.as_ref().err());
        let tally = self.tallies.entry(rpc).or_default();
        tally.calls += 1;
        tally.time += took;
        tally.ok += usize::from(outcome == Outcome::Ok);
        tally.denied += usize::from(outcome == Outcome::Denied);
        let at = |problem: String| format!("call: {rpc} {call}\n  problem: {problem}");
        checks::settle(expect, &outcome, result.as_ref().err()).map_err(at)?;
        if reached > 0 && (grant.level("datasets") != Level::Full || outcome == Outcome::Denied) {
            let level = grant.level("datasets");
            return Err(at(format!("{reached} native queries reached metabase (datasets: {level:?}, {outcome:?})")));
        }
        if native && outcome == Outcome::Ok && reached == 0 {
            return Err(at("an allowed native query answered without reaching metabase".into()));
        }
        let view = self.world.view(grant);
        match result {
            Ok(answer) => {
                checks::no_leak(&view, &answer).map_err(at)?;
                Ok(Some(answer))
            }
            Err(status) => {
                checks::no_leak(&view, &status.message()).map_err(at)?;
                Ok(None)
            }
        }
    }

    /// Creates, as the admin, a second database and a native card on it in Sales (2) and in
    /// Finance (4), so database narrowing has something to hide.
    async fn create_warehouse(&mut self) {
        let database = DatabaseServiceClient::new(self.channel())
            .create_database(from(
                "admin",
                CreateDatabaseRequest {
                    name: "Warehouse".into(),
                    engine: "postgres".into(),
                    details: structure(json!({"host": "warehouse.internal", "dbname": "dwh", "user": "reader"})),
                    ..Default::default()
                },
            ))
            .await
            .expect("the admin creates the warehouse")
            .into_inner();
        assert_eq!(database.id, WAREHOUSE);
        self.world.databases.push(world::DatabaseRow { id: WAREHOUSE, name: "Warehouse".into(), description: None });
        for (name, collection_id, sql) in [
            ("Warehouse margins", 2, "SELECT margin FROM finance.margins"),
            ("Warehouse payroll", 4, "SELECT salary FROM finance.payroll"),
        ] {
            let card = CardServiceClient::new(self.channel())
                .create_card(from(
                    "admin",
                    CreateCardRequest {
                        name: name.into(),
                        display: "table".into(),
                        dataset_query: structure(
                            json!({"database": WAREHOUSE, "type": "native", "native": {"query": sql}}),
                        ),
                        visualization_settings: structure(json!({})),
                        collection_id: collection(collection_id),
                        ..Default::default()
                    },
                ))
                .await
                .expect("the admin creates a warehouse card")
                .into_inner();
            self.world.cards.push(CardRow {
                id: card.id,
                name: name.into(),
                collection: Some(collection_id),
                database: WAREHOUSE,
                sql: Some(sql.into()),
                model: "card",
            });
        }
    }

    /// Makes one random call (or a short run of pages) as `grant`.
    async fn step(&mut self, grant: &Grant) -> Result<(), String> {
        let weights = [8, 10, 5, 7, 7, 5, 9, 10, 5, 5, 5, 5, 10, 5, 2, 2];
        match self.rng.weighted(&weights) {
            0 => self.list_cards(grant).await,
            1 => self.get_card(grant).await,
            2 => self.list_dashboards(grant).await,
            3 => self.get_dashboard(grant).await.map(drop),
            4 => self.get_collection(grant).await,
            5 => self.get_collection_tree(grant).await,
            6 => self.list_collection_items(grant).await,
            7 => self.search(grant).await,
            8 => self.list_databases(grant).await,
            9 => self.get_database(grant).await,
            10 => self.list_alerts(grant).await,
            11 => self.get_alert(grant).await,
            12 => self.run_query(grant, false).await,
            13 => self.run_query(grant, true).await,
            14 => self.create_card(grant).await,
            _ => self.update_dashboard(grant).await,
        }
    }
}

#[tokio::test]
async fn no_answer_shows_a_caller_what_its_policy_hides() {
    let seed = seed();
    let mut rng = Rng::new(seed);
    let grants = random_grants(&mut rng);
    let stack = policed(&policy(&grants), None).await;
    let mut run = Run { stack, world: World::seeded(), rng, tallies: BTreeMap::new(), cases: 0, marks: 0 };
    run.create_warehouse().await;

    let started = Instant::now();
    while run.cases < MAX_CASES && started.elapsed() < MAX_TIME {
        let roll = run.rng.below(100);
        let grant = match roll {
            0..8 => grants[0].clone(),
            8..11 => grants[grants.len() - 1].clone(),
            _ => grants[1 + run.rng.below(PRINCIPALS)].clone(),
        };
        let case = run.cases + 1;
        if let Err(problem) = run.step(&grant).await {
            panic!(
                "invariant broken (replay with INVARIANT_SEED={seed})\n  seed: {seed}\n  case: {case}\n  principal: {}\n  rule:\n{}\n  {problem}",
                grant.principal,
                if grant.levels.is_some() { grant.yaml() } else { "    (no rule matches)\n".into() },
            );
        }
    }

    let elapsed = started.elapsed();
    println!("invariant: seed {seed}, {} cases in {:.1} s", run.cases, elapsed.as_secs_f64());
    for (rpc, tally) in &run.tallies {
        let average = tally.time.as_secs_f64() * 1000.0 / tally.calls.max(1) as f64;
        println!(
            "  {rpc:<20} calls {:>4}  ok {:>4}  denied {:>4}  {average:>6.1} ms a call",
            tally.calls, tally.ok, tally.denied
        );
    }
    assert!(run.cases >= MIN_CASES, "only {} cases ran in {elapsed:?}; a broken setup must not pass", run.cases);
    let answered: usize = run.tallies.values().map(|tally| tally.ok).sum();
    let denied: usize = run.tallies.values().map(|tally| tally.denied).sum();
    assert!(answered * 4 >= run.cases && denied * 10 >= run.cases, "{answered} answered, {denied} denied");
}
