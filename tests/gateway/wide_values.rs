//! The wide-cell attack: values as wide as a query can make them. No message may pass the 1 MiB
//! the API promises (standard clients refuse 4 MiB), no call may hold more than a bounded part of
//! the answer, and a value too wide for any message ends the stream with a status naming its column.

use metabase_grpc::pb::v1::dataset_service_client::DatasetServiceClient;
use metabase_grpc::pb::v1::run_query_request::Query;
use metabase_grpc::pb::v1::{NativeQuery, ResultSource, RunQueryRequest};
use metabase_grpc::streaming::wire::{Chunk, QueryResultChunk};
use prost::Message;
use tonic::Code;

use crate::support::{Stack, start};

const MESSAGE_LIMIT: usize = 1024 * 1024;

/// `rows` rows whose `WIDE` column holds `width` characters.
fn wide(rows: u32, width: u32, max_rows: i64) -> RunQueryRequest {
    let sql = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows}) \
         SELECT i AS ID, hex(zeroblob({})) AS WIDE FROM n",
        width / 2
    );
    RunQueryRequest {
        database_id: 1,
        query: Some(Query::Native(NativeQuery { query: sql, template_tags: None })),
        parameters: None,
        max_rows,
    }
}

/// What a stream delivered: rows, the largest message, the summary's source, and how it ended.
struct Seen {
    rows: u64,
    widths: Vec<usize>,
    largest_message: usize,
    source: Option<ResultSource>,
    ended: Result<(), tonic::Status>,
}

async fn run(stack: &Stack, request: RunQueryRequest) -> Seen {
    let mut seen = Seen { rows: 0, widths: Vec::new(), largest_message: 0, source: None, ended: Ok(()) };
    let mut stream = match DatasetServiceClient::new(stack.channel.clone())
        .max_decoding_message_size(4 * 1024 * 1024)
        .run_query(request)
        .await
    {
        Ok(response) => response.into_inner(),
        Err(status) => return Seen { ended: Err(status), ..seen },
    };
    loop {
        let chunk: QueryResultChunk = match stream.message().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => return seen,
            Err(status) => return Seen { ended: Err(status), ..seen },
        };
        seen.largest_message = seen.largest_message.max(chunk.encoded_len());
        match chunk.chunk {
            Some(Chunk::Rows(batch)) => {
                seen.rows += batch.rows.len() as u64;
                for row in batch.rows {
                    if let Some(metabase_grpc::pb::v1::value::Kind::StringValue(text)) =
                        row.values.get(1).and_then(|value| value.kind.clone())
                    {
                        seen.widths.push(text.len());
                    }
                }
            }
            Some(Chunk::Summary(summary)) => seen.source = ResultSource::try_from(summary.source).ok(),
            _ => {}
        }
    }
}

#[tokio::test]
async fn wide_values_that_fit_arrive_whole_in_messages_under_one_mebibyte_on_both_routes() {
    let stack = start().await;
    // 30 rows of 400 KB: a 12 MB answer, too large for the JSON route to hold, so the export
    // route streams it; 3 rows of 400 KB: the JSON route holds it.
    for (rows, max_rows, route) in
        [(30, 30, ResultSource::Export), (3, 3, ResultSource::JsonQuery), (30, 0, ResultSource::Export)]
    {
        let seen = run(&stack, wide(rows, 400_000, max_rows)).await;
        seen.ended.as_ref().expect("the stream ends with its summary");
        assert_eq!(seen.rows, u64::from(rows), "{rows} rows, max_rows {max_rows}");
        assert!(seen.widths.iter().all(|width| *width == 400_000), "every value arrives whole");
        assert!(seen.largest_message <= MESSAGE_LIMIT, "a {} byte message", seen.largest_message);
        assert_eq!(seen.source, Some(route), "{rows} rows, max_rows {max_rows}");
    }
}

#[tokio::test]
async fn a_value_wider_than_a_message_ends_the_stream_naming_its_column_on_both_routes() {
    let stack = start().await;
    for max_rows in [5, 0] {
        // Two ordinary rows first would be sent; here every row is 2 MB wide.
        let seen = run(&stack, wide(3, 2_000_000, max_rows)).await;
        let status = seen.ended.expect_err("a 2 MB value cannot be sent");
        assert_eq!(status.code(), Code::ResourceExhausted, "max_rows {max_rows}: {status:?}");
        assert!(status.message().contains("column `WIDE`"), "{}", status.message());
        assert!(status.message().contains("row 1 of query on database 1"), "{}", status.message());
        assert!(status.message().contains("ExportQuery"), "the message says how to read it: {}", status.message());
        assert_eq!(seen.rows, 0);
        assert!(seen.largest_message <= MESSAGE_LIMIT);
    }
}
