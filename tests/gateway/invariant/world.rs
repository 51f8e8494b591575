//! The ground truth of the invariant test: what the emulator holds (its seed, hard-coded here, and
//! what the test creates) and what one principal's rule lets it see, computed without the gateway.

use std::collections::BTreeSet;

use metabase_emulator::catalog::Catalog;

/// The capabilities of a policy rule, in the order the random rules list them.
pub const CAPABILITIES: [&str; 10] =
    ["cards", "dashboards", "collections", "databases", "datasets", "users", "groups", "alerts", "search", "audit"];

/// The id the emulator gives the first database created after the sample.
pub const WAREHOUSE: i64 = 1001;

/// The name Metabase gives the root collection.
pub const ROOT_NAME: &str = "Our analytics";

/// The collection ids a random rule may be narrowed to.
pub const NARROWABLE: [i64; 6] = [1, 2, 3, 4, 7, 8];

/// A capability level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Off,
    Read,
    Full,
}

impl Level {
    fn word(self) -> &'static str {
        match self {
            Level::Off => "off",
            Level::Read => "read",
            Level::Full => "full",
        }
    }
}

/// One principal and the rule that matches it (`levels` is `None` when no rule matches).
#[derive(Clone, Debug)]
pub struct Grant {
    pub principal: String,
    pub levels: Option<[Level; 10]>,
    pub collections: Option<Vec<i64>>,
    pub databases: Option<Vec<i64>>,
}

impl Grant {
    /// Returns the level the rule grants for a capability.
    pub fn level(&self, capability: &str) -> Level {
        let index = CAPABILITIES.iter().position(|known| *known == capability).expect("a known capability");
        self.levels.map_or(Level::Off, |levels| levels[index])
    }

    /// Reports whether the rule grants at least `level` of `capability`.
    pub fn has(&self, capability: &str, level: Level) -> bool {
        self.level(capability) >= level
    }

    /// Returns the rule as the policy file lists it (empty when no rule matches).
    pub fn yaml(&self) -> String {
        let Some(levels) = self.levels else {
            return String::new();
        };
        let grants = if levels.iter().all(|level| *level == Level::Full) && self.principal == "admin" {
            "\"*\": full".to_owned()
        } else {
            let pairs: Vec<String> =
                CAPABILITIES.iter().zip(levels).map(|(name, level)| format!("{name}: {}", level.word())).collect();
            pairs.join(", ")
        };
        let mut rule = format!("  - match: {}\n    grants: {{ {grants} }}\n", self.principal);
        let list = |ids: &[i64]| ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
        if let Some(collections) = &self.collections {
            rule.push_str(&format!("    collections: [{}]\n", list(collections)));
        }
        if let Some(databases) = &self.databases {
            rule.push_str(&format!("    databases: [{}]\n", list(databases)));
        }
        rule
    }
}

#[derive(Clone, Debug)]
pub struct CollectionRow {
    pub id: i64,
    pub name: String,
    pub location: String,
    pub description: Option<String>,
    pub trash: bool,
    pub personal: bool,
}

#[derive(Clone, Debug)]
pub struct CardRow {
    pub id: i64,
    pub name: String,
    pub collection: Option<i64>,
    pub database: i64,
    pub sql: Option<String>,
    /// The model search and collection items report: `card`, or `dataset` for a model.
    pub model: &'static str,
}

#[derive(Clone, Debug)]
pub struct DashboardRow {
    pub id: i64,
    pub name: String,
    pub collection: i64,
}

#[derive(Clone, Debug)]
pub struct DatabaseRow {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
}

#[derive(Clone, Debug)]
pub struct TableRow {
    pub id: i64,
    pub name: String,
    pub display_name: String,
    pub description: String,
}

/// Everything the emulator holds that a caller could be shown.
#[derive(Clone, Debug)]
pub struct World {
    pub collections: Vec<CollectionRow>,
    pub cards: Vec<CardRow>,
    pub dashboards: Vec<DashboardRow>,
    /// Alerts as (alert id, card id).
    pub alerts: Vec<(i64, i64)>,
    pub databases: Vec<DatabaseRow>,
    /// The tables of the sample database (database 1).
    pub tables: Vec<TableRow>,
}

fn collection(id: i64, name: &str, location: &str) -> CollectionRow {
    CollectionRow { id, name: name.into(), location: location.into(), description: None, trash: false, personal: false }
}

fn card(id: i64, name: &str, collection: Option<i64>, sql: Option<&str>) -> CardRow {
    let model = if id == 6 { "dataset" } else { "card" };
    CardRow { id, name: name.into(), collection, database: 1, sql: sql.map(Into::into), model }
}

impl World {
    /// Returns what the emulator seeds (crates/metabase-emulator/src/state/seed.rs).
    pub fn seeded() -> World {
        let mut analytics = collection(1, "Analytics", "/");
        analytics.description = Some("Company-wide reporting".into());
        let mut trash = collection(5, "Trash", "/");
        trash.trash = true;
        let mut ada = collection(6, "Ada Admin's Personal Collection", "/");
        ada.personal = true;
        let mut ana = collection(7, "Ana Analyst's Personal Collection", "/");
        ana.personal = true;
        let collections = vec![
            analytics,
            collection(2, "Sales", "/1/"),
            collection(3, "Marketing", "/1/"),
            collection(4, "Finance", "/"),
            trash,
            ada,
            ana,
            collection(8, "Regional", "/1/2/"),
        ];
        let cards = vec![
            card(1, "Orders", Some(2), None),
            card(2, "Orders per month", Some(2), None),
            card(3, "Revenue per month", Some(1), None),
            card(
                4,
                "Top rated products",
                Some(3),
                Some("SELECT TITLE, CATEGORY, RATING FROM PRODUCTS ORDER BY RATING DESC, ID LIMIT 10"),
            ),
            card(5, "People by source", Some(3), None),
            card(6, "Product catalog", Some(1), None),
            card(7, "All events", Some(1), Some("SELECT * FROM EVENTS ORDER BY ID")),
            card(8, "Big orders", Some(8), None),
            card(
                9,
                "Revenue by quarter",
                Some(4),
                Some(
                    "SELECT substr(CREATED_AT, 1, 4) AS YEAR, (CAST(substr(CREATED_AT, 6, 2) AS INTEGER) + 2) / 3 AS QUARTER, ROUND(SUM(TOTAL), 2) AS REVENUE FROM ORDERS GROUP BY 1, 2 ORDER BY 1, 2",
                ),
            ),
            card(10, "Recent reviews", None, Some("SELECT * FROM REVIEWS ORDER BY CREATED_AT DESC LIMIT 50")),
            card(11, "Analyst scratch", Some(7), Some("SELECT COUNT(*) AS ORDERS FROM ORDERS")),
        ];
        let dashboards = vec![
            DashboardRow { id: 1, name: "Sales overview".into(), collection: 2 },
            DashboardRow { id: 2, name: "Marketing pulse".into(), collection: 3 },
        ];
        let databases = vec![DatabaseRow {
            id: 1,
            name: "Sample Database".into(),
            description: Some("Some example data for you to play around with.".into()),
        }];
        let tables = Catalog::sample()
            .tables
            .iter()
            .map(|table| TableRow {
                id: table.id,
                name: table.name.into(),
                display_name: table.display_name.into(),
                description: table.description.into(),
            })
            .collect();
        World { collections, cards, dashboards, alerts: vec![(1, 3), (2, 8)], databases, tables }
    }

    pub fn collection(&self, id: i64) -> Option<&CollectionRow> {
        self.collections.iter().find(|collection| collection.id == id)
    }

    pub fn card(&self, id: i64) -> Option<&CardRow> {
        self.cards.iter().find(|card| card.id == id)
    }

    pub fn dashboard(&self, id: i64) -> Option<&DashboardRow> {
        self.dashboards.iter().find(|dashboard| dashboard.id == id)
    }

    pub fn database(&self, id: i64) -> Option<&DatabaseRow> {
        self.databases.iter().find(|database| database.id == id)
    }

    /// Returns what `grant` may see of this world.
    pub fn view<'a>(&'a self, grant: &'a Grant) -> View<'a> {
        View { world: self, grant }
    }
}

/// What one principal may see of the world, by the documented policy semantics.
#[derive(Clone, Copy)]
pub struct View<'a> {
    pub world: &'a World,
    pub grant: &'a Grant,
}

impl View<'_> {
    pub fn narrows_collections(&self) -> bool {
        self.grant.collections.is_some()
    }

    /// A collection (`None` is the root) is visible when it or one of its ancestors is listed;
    /// a rule without `collections` sees everything, a narrowed one never the root.
    pub fn collection(&self, id: Option<i64>) -> bool {
        let Some(listed) = &self.grant.collections else {
            return true;
        };
        let Some(id) = id else {
            return false;
        };
        let location = self.world.collection(id).map(|row| row.location.as_str()).unwrap_or_default();
        listed.contains(&id) || location.split('/').filter_map(|part| part.parse().ok()).any(|up| listed.contains(&up))
    }

    pub fn database(&self, id: i64) -> bool {
        self.grant.databases.as_ref().is_none_or(|listed| listed.contains(&id))
    }

    pub fn card(&self, card: &CardRow) -> bool {
        self.collection(card.collection) && self.database(card.database)
    }

    /// Reports whether the card with this id exists and is visible.
    pub fn card_id(&self, id: i64) -> bool {
        self.world.card(id).is_some_and(|card| self.card(card))
    }

    pub fn dashboard(&self, dashboard: &DashboardRow) -> bool {
        self.collection(Some(dashboard.collection))
    }

    pub fn alert(&self, card_id: i64) -> bool {
        self.card_id(card_id)
    }

    pub fn visible_cards(&self) -> BTreeSet<i64> {
        self.world.cards.iter().filter(|card| self.card(card)).map(|card| card.id).collect()
    }

    pub fn visible_dashboards(&self) -> BTreeSet<i64> {
        self.world
            .dashboards
            .iter()
            .filter(|dashboard| self.dashboard(dashboard))
            .map(|dashboard| dashboard.id)
            .collect()
    }

    pub fn visible_databases(&self) -> BTreeSet<i64> {
        self.world.databases.iter().filter(|database| self.database(database.id)).map(|database| database.id).collect()
    }

    pub fn visible_alerts(&self) -> BTreeSet<i64> {
        self.world.alerts.iter().filter(|(_, card)| self.alert(*card)).map(|(id, _)| *id).collect()
    }

    /// The collections of the tree: every visible collection but the Trash.
    pub fn tree_collections(&self) -> BTreeSet<i64> {
        self.world
            .collections
            .iter()
            .filter(|row| !row.trash && self.collection(Some(row.id)))
            .map(|row| row.id)
            .collect()
    }

    /// Names the caller must never be shown: those of every card, dashboard, collection and
    /// database it may not see (and the root's, when narrowed), except names it is shown
    /// legitimately by something visible (a visible card, or a sample table named the same).
    pub fn hidden_names(&self) -> Vec<String> {
        let world = self.world;
        let mut hidden = BTreeSet::new();
        let mut shown = BTreeSet::new();
        let mut sort = |name: &str, visible: bool| {
            if visible {
                shown.insert(name.to_owned());
            } else {
                hidden.insert(name.to_owned());
            }
        };
        for card in &world.cards {
            sort(&card.name, self.card(card));
        }
        for dashboard in &world.dashboards {
            sort(&dashboard.name, self.dashboard(dashboard));
        }
        for row in &world.collections {
            sort(&row.name, self.collection(Some(row.id)));
        }
        for database in &world.databases {
            sort(&database.name, self.database(database.id));
        }
        sort(ROOT_NAME, !self.narrows_collections());
        for table in &world.tables {
            sort(&table.display_name, self.database(1));
        }
        hidden.difference(&shown).cloned().collect()
    }

    /// The native SQL of every card the caller may not see.
    pub fn hidden_sql(&self) -> Vec<String> {
        self.world.cards.iter().filter(|card| !self.card(card)).filter_map(|card| card.sql.clone()).collect()
    }
}
