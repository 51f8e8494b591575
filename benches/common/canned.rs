//! A fast stand-in for Metabase: `SELECT * FROM EVENTS` (1,048,575 rows, 7 columns) as a csv
//! export generated once into memory and served in 64 KiB chunks, with the column metadata and
//! the routes the gateway reads at start. It measures the gateway and its clients, not an
//! upstream's speed.

use axum::Router;
use axum::body::Body;
use axum::routing::{get, post};
use bytes::Bytes;
use serde_json::json;

/// The rows of the export: Metabase's export cap.
pub const ROWS: u64 = 1_048_575;
/// The columns and their Metabase base types.
pub const COLUMNS: &[(&str, &str)] = &[
    ("ID", "type/BigInteger"),
    ("USER_ID", "type/Integer"),
    ("EVENT_TYPE", "type/Text"),
    ("AMOUNT", "type/Float"),
    ("IS_MOBILE", "type/Boolean"),
    ("TRACE_NUMBER", "type/BigInteger"),
    ("OCCURRED_AT", "type/DateTime"),
];
/// The values of `EVENT_TYPE`, in turn.
pub const EVENT_TYPES: &[&str] = &["page_view", "click", "search", "add_to_cart", "purchase", "signup"];

/// Returns the fields of row `id`, as the export writes them.
pub fn row_fields(id: u64) -> [String; 7] {
    [
        id.to_string(),
        (id * 7919 % 2500 + 1).to_string(),
        EVENT_TYPES[(id % 6) as usize].to_owned(),
        format!("{}.{:02}", id % 1000, id % 100),
        id.is_multiple_of(2).to_string(),
        (9_007_199_254_740_993 + id).to_string(),
        format!("2024-{:02}-{:02}T{:02}:{:02}:{:02}.000Z", id % 12 + 1, id % 28 + 1, id % 24, id % 60, id % 60),
    ]
}

/// Returns the whole export: a header row and [`ROWS`] rows.
pub fn canned_export() -> Bytes {
    let mut body = COLUMNS.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(",");
    body.push('\n');
    for id in 1..=ROWS {
        body.push_str(&row_fields(id).join(","));
        body.push('\n');
    }
    Bytes::from(body)
}

/// A fast stand-in for Metabase: the export body from memory, plus the routes the gateway reads.
pub async fn upstream(export: Bytes) -> String {
    let cols: Vec<_> = COLUMNS
        .iter()
        .map(|(name, base_type)| json!({"name": name, "display_name": name, "base_type": base_type, "database_type": "X"}))
        .collect();
    let metadata = json!({"data": {"rows": [], "cols": cols}, "status": "completed", "row_count": 0}).to_string();
    let app = Router::new()
        .route("/api/health", get(|| async { axum::Json(json!({"status": "ok"})) }))
        .route("/api/session/properties", get(|| async { axum::Json(json!({"version": {"tag": "v0.58.3"}})) }))
        .route(
            "/api/dataset",
            post(move || {
                let metadata = metadata.clone();
                async move { ([("content-type", "application/json")], metadata) }
            }),
        )
        .route(
            "/api/dataset/csv",
            post(move || {
                let export = export.clone();
                async move {
                    let chunks = (0..export.len()).step_by(64 * 1024).map(move |start| {
                        Ok::<Bytes, std::io::Error>(export.slice(start..(start + 64 * 1024).min(export.len())))
                    });
                    (
                        [("content-type", "text/csv")],
                        Body::from_stream(futures::stream::iter(chunks.collect::<Vec<_>>())),
                    )
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}
