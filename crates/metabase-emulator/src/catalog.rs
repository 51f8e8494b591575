//! The sample database's catalog: the tables and fields Metabase would have synced, with the ids,
//! types and display names that `/api/database/:id?include=tables` and query columns report.

/// The id of the sample database, as on a fresh Metabase instance.
pub const SAMPLE_DATABASE_ID: i64 = 1;

/// The number of rows the `EVENTS` table holds: more than Metabase's export cap of 1,048,575.
pub const EVENTS_ROW_COUNT: i64 = 1_100_000;

/// A synced table of the sample database.
#[derive(Debug, Clone)]
pub struct TableDef {
    /// Metabase's table id.
    pub id: i64,
    /// The table name in the warehouse.
    pub name: &'static str,
    /// The name Metabase shows.
    pub display_name: &'static str,
    /// A description as the sample database carries it.
    pub description: &'static str,
    /// The table's fields in column order.
    pub fields: Vec<FieldDef>,
}

/// A synced field (column) of a sample table.
#[derive(Debug, Clone)]
pub struct FieldDef {
    /// Metabase's field id, unique across the database.
    pub id: i64,
    /// The id of the table the field belongs to.
    pub table_id: i64,
    /// The column name in the warehouse.
    pub name: &'static str,
    /// The name Metabase shows.
    pub display_name: &'static str,
    /// Metabase's base type, such as `type/BigInteger`.
    pub base_type: &'static str,
    /// Metabase's semantic type, such as `type/PK`.
    pub semantic_type: Option<&'static str>,
    /// The type the warehouse reports, such as `BIGINT`.
    pub database_type: &'static str,
    /// The field's position in its table, from 0.
    pub position: i64,
    /// The field this one points at, for foreign keys.
    pub fk_target_field_id: Option<i64>,
}

impl FieldDef {
    /// Returns whether the field holds booleans, which SQLite stores as 0 and 1.
    pub fn is_boolean(&self) -> bool {
        self.base_type == "type/Boolean"
    }
}

/// One column as declared: name, display name, base type, semantic type, database type, FK target.
type ColumnSpec = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    Option<(&'static str, &'static str)>,
);

const PRODUCTS: &[ColumnSpec] = &[
    ("ID", "ID", "type/BigInteger", Some("type/PK"), "BIGINT", None),
    ("EAN", "Ean", "type/Text", None, "CHARACTER VARYING", None),
    ("TITLE", "Title", "type/Text", Some("type/Title"), "CHARACTER VARYING", None),
    ("CATEGORY", "Category", "type/Text", Some("type/Category"), "CHARACTER VARYING", None),
    ("VENDOR", "Vendor", "type/Text", Some("type/Company"), "CHARACTER VARYING", None),
    ("PRICE", "Price", "type/Float", None, "DOUBLE PRECISION", None),
    ("RATING", "Rating", "type/Float", Some("type/Score"), "DOUBLE PRECISION", None),
    ("IN_STOCK", "In Stock", "type/Boolean", Some("type/Category"), "BOOLEAN", None),
    ("CREATED_AT", "Created At", "type/DateTime", Some("type/CreationTimestamp"), "TIMESTAMP", None),
];

const ORDERS: &[ColumnSpec] = &[
    ("ID", "ID", "type/BigInteger", Some("type/PK"), "BIGINT", None),
    ("USER_ID", "User ID", "type/Integer", Some("type/FK"), "INTEGER", Some(("PEOPLE", "ID"))),
    ("PRODUCT_ID", "Product ID", "type/Integer", Some("type/FK"), "INTEGER", Some(("PRODUCTS", "ID"))),
    ("SUBTOTAL", "Subtotal", "type/Float", None, "DOUBLE PRECISION", None),
    ("TAX", "Tax", "type/Float", None, "DOUBLE PRECISION", None),
    ("TOTAL", "Total", "type/Float", None, "DOUBLE PRECISION", None),
    ("DISCOUNT", "Discount", "type/Float", Some("type/Discount"), "DOUBLE PRECISION", None),
    ("CREATED_AT", "Created At", "type/DateTime", Some("type/CreationTimestamp"), "TIMESTAMP", None),
    ("QUANTITY", "Quantity", "type/Integer", Some("type/Quantity"), "INTEGER", None),
];

const PEOPLE: &[ColumnSpec] = &[
    ("ID", "ID", "type/BigInteger", Some("type/PK"), "BIGINT", None),
    ("ADDRESS", "Address", "type/Text", None, "CHARACTER VARYING", None),
    ("EMAIL", "Email", "type/Text", Some("type/Email"), "CHARACTER VARYING", None),
    ("NAME", "Name", "type/Text", Some("type/Name"), "CHARACTER VARYING", None),
    ("CITY", "City", "type/Text", Some("type/City"), "CHARACTER VARYING", None),
    ("STATE", "State", "type/Text", Some("type/State"), "CHARACTER", None),
    ("ZIP", "Zip", "type/Text", Some("type/ZipCode"), "CHARACTER", None),
    ("LATITUDE", "Latitude", "type/Float", Some("type/Latitude"), "DOUBLE PRECISION", None),
    ("LONGITUDE", "Longitude", "type/Float", Some("type/Longitude"), "DOUBLE PRECISION", None),
    ("SOURCE", "Source", "type/Text", Some("type/Source"), "CHARACTER VARYING", None),
    ("BIRTH_DATE", "Birth Date", "type/Date", None, "DATE", None),
    ("CREATED_AT", "Created At", "type/DateTime", Some("type/CreationTimestamp"), "TIMESTAMP", None),
];

const REVIEWS: &[ColumnSpec] = &[
    ("ID", "ID", "type/BigInteger", Some("type/PK"), "BIGINT", None),
    ("PRODUCT_ID", "Product ID", "type/Integer", Some("type/FK"), "INTEGER", Some(("PRODUCTS", "ID"))),
    ("REVIEWER", "Reviewer", "type/Text", None, "CHARACTER VARYING", None),
    ("RATING", "Rating", "type/Integer", Some("type/Score"), "SMALLINT", None),
    ("BODY", "Body", "type/Text", Some("type/Description"), "CHARACTER VARYING", None),
    ("CREATED_AT", "Created At", "type/DateTime", Some("type/CreationTimestamp"), "TIMESTAMP", None),
];

const EVENTS: &[ColumnSpec] = &[
    ("ID", "ID", "type/BigInteger", Some("type/PK"), "BIGINT", None),
    ("USER_ID", "User ID", "type/Integer", Some("type/FK"), "INTEGER", Some(("PEOPLE", "ID"))),
    ("EVENT_TYPE", "Event Type", "type/Text", Some("type/Category"), "CHARACTER VARYING", None),
    ("AMOUNT", "Amount", "type/Float", None, "DOUBLE PRECISION", None),
    ("IS_MOBILE", "Is Mobile", "type/Boolean", Some("type/Category"), "BOOLEAN", None),
    ("TRACE_NUMBER", "Trace Number", "type/BigInteger", None, "BIGINT", None),
    ("OCCURRED_AT", "Occurred At", "type/DateTime", Some("type/CreationTimestamp"), "TIMESTAMP", None),
];

/// The sample tables in id order: name, display name, description, columns.
const TABLES: &[(&str, &str, &str, &[ColumnSpec])] = &[
    ("PRODUCTS", "Products", "Includes a catalog of all the products ever sold by the famed Sample Company.", PRODUCTS),
    ("ORDERS", "Orders", "Confirmed Sample Company orders for a product, from a user.", ORDERS),
    ("PEOPLE", "People", "Information on the user accounts registered with Sample Company.", PEOPLE),
    ("REVIEWS", "Reviews", "Reviews that Sample Company customers have left on our products.", REVIEWS),
    ("EVENTS", "Events", "Product analytics events: more rows than any Metabase export can carry.", EVENTS),
];

/// The synced metadata of the sample database.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// The tables, in id order.
    pub tables: Vec<TableDef>,
}

impl Catalog {
    /// Builds the catalog of the sample database, assigning table and field ids in order.
    pub fn sample() -> Self {
        let mut tables = Vec::new();
        let mut next_field_id = 1;
        for (index, (name, display_name, description, columns)) in TABLES.iter().enumerate() {
            let table_id = index as i64 + 1;
            let fields = columns
                .iter()
                .enumerate()
                .map(|(position, column)| {
                    let field = FieldDef {
                        id: next_field_id,
                        table_id,
                        name: column.0,
                        display_name: column.1,
                        base_type: column.2,
                        semantic_type: column.3,
                        database_type: column.4,
                        position: position as i64,
                        fk_target_field_id: None,
                    };
                    next_field_id += 1;
                    field
                })
                .collect();
            tables.push(TableDef { id: table_id, name, display_name, description, fields });
        }
        let mut catalog = Catalog { tables };
        catalog.resolve_foreign_keys();
        catalog
    }

    fn resolve_foreign_keys(&mut self) {
        let mut targets = Vec::new();
        for (table_index, (_, _, _, columns)) in TABLES.iter().enumerate() {
            for (field_index, column) in columns.iter().enumerate() {
                if let Some((target_table, target_field)) = column.5 {
                    let target = self.table_by_name(target_table).and_then(|table| {
                        table.fields.iter().find(|field| field.name == target_field).map(|field| field.id)
                    });
                    targets.push((table_index, field_index, target));
                }
            }
        }
        for (table_index, field_index, target) in targets {
            self.tables[table_index].fields[field_index].fk_target_field_id = target;
        }
    }

    /// Returns the table with this id.
    pub fn table(&self, table_id: i64) -> Option<&TableDef> {
        self.tables.iter().find(|table| table.id == table_id)
    }

    /// Returns the table with this warehouse name, ignoring case.
    pub fn table_by_name(&self, name: &str) -> Option<&TableDef> {
        self.tables.iter().find(|table| table.name.eq_ignore_ascii_case(name))
    }

    /// Returns the field with this id, with its table.
    pub fn field(&self, field_id: i64) -> Option<(&TableDef, &FieldDef)> {
        self.tables
            .iter()
            .find_map(|table| table.fields.iter().find(|field| field.id == field_id).map(|field| (table, field)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_catalog_numbers_fields_across_tables_and_links_foreign_keys() {
        let catalog = Catalog::sample();
        let orders = catalog.table_by_name("orders").expect("orders table");
        assert_eq!(orders.id, 2);
        assert_eq!(orders.fields[0].id, PRODUCTS.len() as i64 + 1);
        let user_id = &orders.fields[1];
        let (people, people_id) = catalog.field(user_id.fk_target_field_id.expect("fk")).expect("target");
        assert_eq!((people.name, people_id.name), ("PEOPLE", "ID"));
    }
}
