//! Generates the sample database: a real SQLite file modelled on Metabase's Sample Database, the
//! same bytes on every machine, built once and cached so that tests and the demo start quickly.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};

use super::catalog::{Catalog, EVENTS_ROW_COUNT};

/// Bumped whenever the generated data changes, so a stale cached file is never reused.
const DATA_VERSION: u32 = 3;

const PRODUCT_COUNT: i64 = 200;
const PEOPLE_COUNT: i64 = 2_500;
const ORDER_COUNT: i64 = 18_760;
const REVIEW_COUNT: i64 = 1_112;

/// The first value of `EVENTS.TRACE_NUMBER`: above 2^53, so JSON clients need it as a string.
pub const FIRST_TRACE_NUMBER: i64 = 9_007_199_254_740_993;

/// Returns the path of the sample database in `dir`, generating it first if it is missing.
///
/// Generation writes a temporary file and renames it into place, so concurrent processes never
/// see a half-written database.
pub fn ensure_sample_database(dir: &Path) -> rusqlite::Result<PathBuf> {
    let path = dir.join(format!("sample-database-v{DATA_VERSION}.sqlite"));
    if path.exists() {
        return Ok(path);
    }
    std::fs::create_dir_all(dir).map_err(|error| rusqlite::Error::ToSqlConversionFailure(Box::new(error)))?;
    let temporary = dir.join(format!("sample-database-v{DATA_VERSION}.{}.partial", std::process::id()));
    let _ = std::fs::remove_file(&temporary);
    {
        let mut connection = Connection::open(&temporary)?;
        connection.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")?;
        create_tables(&connection, &Catalog::sample())?;
        let transaction = connection.transaction()?;
        insert_products(&transaction)?;
        insert_people(&transaction)?;
        insert_orders(&transaction)?;
        insert_reviews(&transaction)?;
        insert_events(&transaction)?;
        transaction.commit()?;
    }
    std::fs::rename(&temporary, &path).map_err(|error| rusqlite::Error::ToSqlConversionFailure(Box::new(error)))?;
    Ok(path)
}

/// Returns the default directory for the cached sample database.
pub fn default_data_dir() -> PathBuf {
    std::env::temp_dir().join("metabase-grpc-emulator")
}

fn create_tables(connection: &Connection, catalog: &Catalog) -> rusqlite::Result<()> {
    for table in &catalog.tables {
        let columns: Vec<String> = table
            .fields
            .iter()
            .map(|field| {
                let key = if field.semantic_type == Some("type/PK") { " PRIMARY KEY" } else { "" };
                format!("\"{}\" {}{}", field.name, field.database_type, key)
            })
            .collect();
        connection.execute_batch(&format!("CREATE TABLE \"{}\" ({});", table.name, columns.join(", ")))?;
    }
    Ok(())
}

/// A small deterministic generator (SplitMix64), so the data is identical everywhere.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut value = self.0;
        value = (value ^ (value >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        value = (value ^ (value >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        value ^ (value >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    fn between(&mut self, low: i64, high: i64) -> i64 {
        low + self.below((high - low + 1) as u64) as i64
    }

    fn fraction(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// Seconds from the Unix epoch to 2022-04-30T00:00:00Z, where the sample's history begins.
const HISTORY_START: i64 = 1_651_276_800;
/// About four years of history, in seconds.
const HISTORY_SPAN: i64 = 4 * 365 * 86_400;

fn timestamp(seconds: i64, millis: i64) -> String {
    let time = chrono::DateTime::from_timestamp(seconds, (millis * 1_000_000) as u32).unwrap_or_default();
    time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

const ADJECTIVES: &[&str] = &[
    "Rustic",
    "Aerodynamic",
    "Heavy-Duty",
    "Enormous",
    "Ergonomic",
    "Fantastic",
    "Gorgeous",
    "Incredible",
    "Intelligent",
    "Lightweight",
    "Mediocre",
    "Practical",
    "Sleek",
    "Small",
    "Synergistic",
    "Durable",
];
const MATERIALS: &[&str] = &[
    "Paper", "Copper", "Silk", "Wool", "Leather", "Granite", "Marble", "Plastic", "Rubber", "Steel", "Wooden",
    "Bronze", "Cotton", "Linen", "Aluminum", "Concrete",
];
const NOUNS: &[&str] = &[
    "Wallet", "Knife", "Chair", "Car", "Lamp", "Bottle", "Clock", "Computer", "Gloves", "Hat", "Keyboard", "Pants",
    "Shoes", "Table", "Watch", "Bench",
];
const CATEGORIES: &[&str] = &["Doohickey", "Gadget", "Gizmo", "Widget"];
const VENDOR_NAMES: &[&str] = &[
    "Swaniawski",
    "Casper",
    "Hilll",
    "Balistreri",
    "Ankunding",
    "Kuhlman",
    "Zemlak",
    "Nolan",
    "Schamberger",
    "Murazik",
    "Greenfelder",
    "Bernhard",
    "Considine",
    "Stroman",
    "Upton",
    "Kub",
];
const FIRST_NAMES: &[&str] = &[
    "Hudson",
    "Domenica",
    "Lina",
    "Arnold",
    "Dominique",
    "Rene",
    "Roselyn",
    "Aracely",
    "Anais",
    "Lorenzo",
    "Nicholas",
    "Hazel",
    "Camryn",
    "Tressa",
    "Kenya",
    "Marlen",
    "Irwin",
    "Simone",
    "Ottis",
    "Priscilla",
];
const LAST_NAMES: &[&str] = &[
    "Borer",
    "Williamson",
    "Wolf",
    "Adams",
    "Leffler",
    "Kertzmann",
    "Hettinger",
    "Jast",
    "Zboncak",
    "Schuster",
    "Fitzpatrick",
    "Mante",
    "Rempel",
    "Gulgowski",
    "Hyatt",
    "Bode",
    "Reichel",
    "Trantow",
    "Feest",
    "Lind",
];
const CITIES: &[(&str, &str, f64, f64)] = &[
    ("Wood River", "NE", 40.71, -98.52),
    ("Bucklin", "KS", 37.55, -99.63),
    ("Lakeland", "FL", 28.04, -81.95),
    ("Rye", "NY", 40.98, -73.68),
    ("Santa Fe", "NM", 35.69, -105.94),
    ("Dover", "DE", 39.16, -75.52),
    ("Eugene", "OR", 44.05, -123.09),
    ("Athens", "GA", 33.96, -83.38),
    ("Peoria", "IL", 40.69, -89.59),
    ("Fargo", "ND", 46.88, -96.79),
    ("Tacoma", "WA", 47.25, -122.44),
    ("Bangor", "ME", 44.80, -68.77),
];
const SOURCES: &[&str] = &["Affiliate", "Facebook", "Google", "Organic", "Twitter"];
const STREETS: &[&str] = &["Oak", "Maple", "Cedar", "Pine", "Elm", "Lake", "Hill", "Park", "Ridge", "River"];
const REVIEW_WORDS: &[&str] = &[
    "great",
    "solid",
    "disappointing",
    "sturdy",
    "flimsy",
    "worth",
    "the",
    "price",
    "would",
    "buy",
    "again",
    "arrived",
    "late",
    "exactly",
    "as",
    "described",
    "love",
    "it",
];
const EVENT_TYPES: &[&str] = &["page_view", "click", "search", "add_to_cart", "purchase", "signup"];

fn insert_products(transaction: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let mut random = Random(1);
    let mut statement = transaction.prepare("INSERT INTO PRODUCTS VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")?;
    for id in 1..=PRODUCT_COUNT {
        let title = format!("{} {} {}", random.pick(ADJECTIVES), random.pick(MATERIALS), random.pick(NOUNS));
        let ean = format!("{:013}", random.next() % 10_000_000_000_000);
        let vendor =
            format!("{}, {} and {}", random.pick(VENDOR_NAMES), random.pick(VENDOR_NAMES), random.pick(VENDOR_NAMES));
        let price = 15.0 + random.fraction() * 85.0;
        let rating = (random.between(0, 50) as f64) / 10.0;
        let in_stock = random.below(5) != 0;
        let created = timestamp(HISTORY_START + random.between(0, HISTORY_SPAN / 4), random.between(0, 999));
        statement.execute(params![
            id,
            ean,
            title,
            random.pick(CATEGORIES),
            vendor,
            price,
            rating,
            in_stock,
            created
        ])?;
    }
    Ok(())
}

fn insert_people(transaction: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let mut random = Random(2);
    let mut statement =
        transaction.prepare("INSERT INTO PEOPLE VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)")?;
    for id in 1..=PEOPLE_COUNT {
        let first = random.pick(FIRST_NAMES);
        let last = random.pick(LAST_NAMES);
        let (city, state, latitude, longitude) = CITIES[random.below(CITIES.len() as u64) as usize];
        let address = format!("{} {} Street", random.between(1, 9999), random.pick(STREETS));
        let email = format!("{}.{}{}@example.com", first.to_lowercase(), last.to_lowercase(), id);
        let birth =
            chrono::NaiveDate::from_ymd_opt(1950, 1, 1).unwrap_or_default() + chrono::Days::new(random.below(365 * 50));
        let created = timestamp(HISTORY_START + random.between(0, HISTORY_SPAN / 2), random.between(0, 999));
        statement.execute(params![
            id,
            address,
            email,
            format!("{first} {last}"),
            city,
            state,
            format!("{:05}", random.between(10_000, 99_999)),
            latitude + random.fraction() / 10.0,
            longitude - random.fraction() / 10.0,
            random.pick(SOURCES),
            birth.format("%Y-%m-%d").to_string(),
            created
        ])?;
    }
    Ok(())
}

fn insert_orders(transaction: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let mut random = Random(3);
    let mut statement = transaction.prepare("INSERT INTO ORDERS VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")?;
    for id in 1..=ORDER_COUNT {
        let quantity = random.between(1, 8);
        let subtotal = round2((15.0 + random.fraction() * 85.0) * quantity as f64 / 2.0);
        let tax = round2(subtotal * 0.06);
        let discount = if random.below(10) == 0 { Some(round2(subtotal * random.fraction() / 5.0)) } else { None };
        let total = round2(subtotal + tax - discount.unwrap_or(0.0));
        let created = timestamp(HISTORY_START + random.between(0, HISTORY_SPAN), random.between(0, 999));
        statement.execute(params![
            id,
            random.between(1, PEOPLE_COUNT),
            random.between(1, PRODUCT_COUNT),
            subtotal,
            tax,
            total,
            discount,
            created,
            quantity
        ])?;
    }
    Ok(())
}

fn insert_reviews(transaction: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let mut random = Random(4);
    let mut statement = transaction.prepare("INSERT INTO REVIEWS VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
    for id in 1..=REVIEW_COUNT {
        let reviewer = format!("{}_{}", random.pick(FIRST_NAMES).to_lowercase(), random.between(1, 999));
        let words: Vec<&str> = (0..random.between(6, 18)).map(|_| random.pick(REVIEW_WORDS)).collect();
        let created = timestamp(HISTORY_START + random.between(0, HISTORY_SPAN), random.between(0, 999));
        statement.execute(params![
            id,
            random.between(1, PRODUCT_COUNT),
            reviewer,
            random.between(1, 5),
            words.join(" "),
            created
        ])?;
    }
    Ok(())
}

fn insert_events(transaction: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let mut random = Random(5);
    let mut statement = transaction.prepare("INSERT INTO EVENTS VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?;
    for id in 1..=EVENTS_ROW_COUNT {
        let occurred = HISTORY_START + id * (HISTORY_SPAN / EVENTS_ROW_COUNT);
        statement.execute(params![
            id,
            random.between(1, PEOPLE_COUNT),
            random.pick(EVENT_TYPES),
            (random.below(100_000) as f64) / 100.0,
            random.below(2) == 0,
            FIRST_TRACE_NUMBER + id - 1,
            timestamp(occurred, 0)
        ])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_database_has_the_documented_row_counts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = ensure_sample_database(dir.path()).expect("generate");
        let connection = Connection::open(path).expect("open");
        let count = |table: &str| -> i64 {
            connection.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| row.get(0)).expect("count")
        };
        assert_eq!(count("PRODUCTS"), PRODUCT_COUNT);
        assert_eq!(count("PEOPLE"), PEOPLE_COUNT);
        assert_eq!(count("ORDERS"), ORDER_COUNT);
        assert_eq!(count("REVIEWS"), REVIEW_COUNT);
        assert_eq!(count("EVENTS"), EVENTS_ROW_COUNT);
        let first_title: String =
            connection.query_row("SELECT TITLE FROM PRODUCTS WHERE ID = 1", [], |row| row.get(0)).expect("title");
        let again = tempfile::tempdir().expect("tempdir");
        let second = Connection::open(ensure_sample_database(again.path()).expect("again")).expect("open");
        let second_title: String =
            second.query_row("SELECT TITLE FROM PRODUCTS WHERE ID = 1", [], |row| row.get(0)).expect("title");
        assert_eq!(first_title, second_title, "generation is deterministic");
    }
}
