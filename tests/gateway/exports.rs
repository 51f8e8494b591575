//! ExportCard and ExportQuery: Metabase's bytes unchanged, with the content type and file name
//! on the first chunk, and failures as error statuses.

use metabase_grpc::pb::v1::dataset_service_client::DatasetServiceClient;
use metabase_grpc::pb::v1::export_query_request::Query;
use metabase_grpc::pb::v1::{ExportCardRequest, ExportChunk, ExportFormat, ExportQueryRequest, NativeQuery};
use tonic::Code;

use crate::support::{ADMIN_KEY, Stack, start};

async fn bytes(mut stream: tonic::Streaming<ExportChunk>) -> Result<(String, String, Vec<u8>), tonic::Status> {
    let mut data = Vec::new();
    let first = stream.message().await?.expect("a first chunk");
    let (content_type, filename) = (first.content_type.clone(), first.filename.clone());
    data.extend_from_slice(&first.data);
    while let Some(chunk) = stream.message().await? {
        assert!(chunk.content_type.is_empty() && chunk.filename.is_empty(), "only the first chunk names the file");
        data.extend_from_slice(&chunk.data);
    }
    Ok((content_type, filename, data))
}

fn export_query(sql: &str, format: ExportFormat) -> ExportQueryRequest {
    ExportQueryRequest {
        database_id: 1,
        query: Some(Query::Native(NativeQuery { query: sql.into(), template_tags: None })),
        format: format as i32,
        format_rows: false,
        parameters: None,
    }
}

async fn direct(stack: &Stack, path: &str, form: &[(&str, &str)]) -> Vec<u8> {
    reqwest::Client::new()
        .post(format!("{}{path}", stack.emulator.url()))
        .header("X-Api-Key", ADMIN_KEY)
        .form(form)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec()
}

#[tokio::test]
async fn a_card_export_passes_metabases_bytes_through_unchanged() {
    let stack = start().await;
    for (format, path) in [(ExportFormat::Csv, "csv"), (ExportFormat::Json, "json")] {
        let request = ExportCardRequest { card_id: 4, format: format as i32, format_rows: false, parameters: None };
        let (content_type, filename, data) =
            bytes(stack.cards().export_card(request).await.unwrap().into_inner()).await.unwrap();
        let expected =
            direct(&stack, &format!("/api/card/4/query/{path}"), &[("parameters", "[]"), ("format_rows", "false")])
                .await;
        assert_eq!(data, expected, "{path}: byte for byte");
        assert!(filename.starts_with("top_rated_products_") && filename.ends_with(&format!(".{path}")), "{filename}");
        assert!(!content_type.is_empty());
    }
    let xlsx =
        ExportCardRequest { card_id: 4, format: ExportFormat::Xlsx as i32, format_rows: false, parameters: None };
    let (content_type, _, data) = bytes(stack.cards().export_card(xlsx).await.unwrap().into_inner()).await.unwrap();
    assert_eq!(content_type, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    assert!(zip::ZipArchive::new(std::io::Cursor::new(data)).is_ok(), "a valid workbook");
}

#[tokio::test]
async fn a_large_query_export_streams_every_row() {
    let stack = start().await;
    let stream = DatasetServiceClient::new(stack.channel.clone())
        .export_query(export_query("SELECT ID FROM EVENTS", ExportFormat::Csv))
        .await
        .unwrap()
        .into_inner();
    let (content_type, filename, data) = bytes(stream).await.unwrap();
    assert_eq!(content_type, "text/csv");
    assert!(filename.starts_with("query_result_"));
    assert_eq!(data.iter().filter(|byte| **byte == b'\n').count(), 1_048_576, "header and 1,048,575 rows");
}

#[tokio::test]
async fn an_export_failure_ends_the_call_with_an_error() {
    let stack = start().await;
    let status = bytes(
        DatasetServiceClient::new(stack.channel.clone())
            .export_query(export_query("SELECT * FROM NOPE", ExportFormat::Json))
            .await
            .unwrap()
            .into_inner(),
    )
    .await
    .expect_err("an error");
    assert_eq!(status.code(), Code::InvalidArgument);
    stack.emulator.faults().fail_queries_after_rows(Some(100));
    for format in [ExportFormat::Csv, ExportFormat::Json] {
        let outcome = bytes(
            DatasetServiceClient::new(stack.channel.clone())
                .export_query(export_query("SELECT ID FROM EVENTS", format))
                .await
                .unwrap()
                .into_inner(),
        )
        .await;
        let status = outcome.expect_err("a mid-export failure is an error, not a file");
        assert_eq!(status.code(), Code::Internal, "{format:?}");
    }
}
