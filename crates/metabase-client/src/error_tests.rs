//! Tests of `error`, kept beside it so the module itself stays short.

use serde_json::json;

use super::{MetabaseError, cap_message, check_query_body, upstream_error};

fn upstream_parts(error: MetabaseError) -> (u16, String, Vec<(String, String)>, Option<String>) {
    match error {
        MetabaseError::Upstream { status, message, field_errors, error_code, .. } => {
            (status, message, field_errors, error_code)
        }
        other => panic!("expected an upstream error, got {other:?}"),
    }
}

#[test]
fn plain_text_body_becomes_the_message() {
    let error = upstream_error(404, "/api/card/{id}", Some("text/plain; charset=utf-8"), b"Not found.");

    assert_eq!(error.to_string(), "metabase answered /api/card/{id} with status 404: Not found.");
    assert_eq!(upstream_parts(error), (404, "Not found.".to_owned(), vec![], None));
}

#[test]
fn validation_errors_map_becomes_field_errors_and_a_summary() {
    let body = json!({
        "errors": {"name": "value must be a non-blank string.", "dataset_query": "Value must be a map."},
        "specific-errors": {"name": ["missing required key, received: nil"]}
    });

    let (status, message, field_errors, _) =
        upstream_parts(upstream_error(400, "/api/card", Some("application/json"), body.to_string().as_bytes()));

    assert_eq!(status, 400);
    assert_eq!(
        message,
        "invalid request: name: value must be a non-blank string.; dataset_query: Value must be a map."
    );
    assert_eq!(
        field_errors,
        vec![
            ("name".to_owned(), "value must be a non-blank string.".to_owned()),
            ("dataset_query".to_owned(), "Value must be a map.".to_owned()),
        ]
    );
}

#[test]
fn nested_field_error_is_kept_as_json_text() {
    let body = json!({"errors": {"parameters": {"0": "bad"}}});

    let (_, _, field_errors, _) =
        upstream_parts(upstream_error(400, "/api/card", Some("application/json"), body.to_string().as_bytes()));

    assert_eq!(field_errors, vec![("parameters".to_owned(), r#"{"0":"bad"}"#.to_owned())]);
}

#[test]
fn exception_map_gives_its_message_and_error_code() {
    let body = json!({
        "message": "Not able to reactivate an active user",
        "via": [{"type": "clojure.lang.ExceptionInfo"}],
        "trace": [],
        "error_code": "archived"
    });

    let (status, message, field_errors, error_code) = upstream_parts(upstream_error(
        400,
        "/api/user/{id}/reactivate",
        Some("application/json;charset=utf-8"),
        body.to_string().as_bytes(),
    ));

    assert_eq!(status, 400);
    assert_eq!(message, "Not able to reactivate an active user");
    assert!(field_errors.is_empty());
    assert_eq!(error_code.as_deref(), Some("archived"));
}

#[test]
fn message_wins_over_errors_summary_when_both_are_present() {
    let body = json!({"message": "Connection refused", "errors": {"host": "check your host"}});

    let (_, message, field_errors, _) =
        upstream_parts(upstream_error(400, "/api/database", None, body.to_string().as_bytes()));

    assert_eq!(message, "Connection refused");
    assert_eq!(field_errors, vec![("host".to_owned(), "check your host".to_owned())]);
}

#[test]
fn malformed_json_error_key_becomes_the_message() {
    let body = br#"{"error": "Unexpected character ('}' (code 125)) at 1:9"}"#;

    let (_, message, _, _) = upstream_parts(upstream_error(400, "/api/card", Some("application/json"), body));

    assert_eq!(message, "Unexpected character ('}' (code 125)) at 1:9");
}

#[test]
fn conflict_text_keeps_status_409() {
    let text = "Looks like someone else edited the permissions and your data is out of date. \
                Please fetch new data and try again.";

    let error = upstream_error(409, "/api/permissions/graph", Some("text/plain"), text.as_bytes());

    assert_eq!(error.status(), Some(409));
    assert_eq!(upstream_parts(error).1, text);
}

#[test]
fn unrecognised_body_gives_a_generic_message() {
    let html = upstream_error(502, "/api/card", Some("text/html"), b"<html>bad gateway</html>");
    let empty = upstream_error(500, "/api/card", Some("text/plain"), b"");

    assert_eq!(upstream_parts(html).1, "metabase returned status 502");
    assert_eq!(upstream_parts(empty).1, "metabase returned status 500");
}

#[test]
fn long_messages_are_capped_at_one_kibibyte() {
    let long = "é".repeat(2_000);

    let (_, message, _, _) = upstream_parts(upstream_error(400, "/api/card", Some("text/plain"), long.as_bytes()));

    assert!(message.len() <= crate::redact::MAX_ECHO_BYTES && message.len() > 1000, "{}", message.len());
    assert!(message.ends_with('…'));
    assert_eq!(cap_message("short"), "short");
}

#[test]
fn a_password_in_metabases_text_never_reaches_the_error() {
    let body =
        json!({"message": "Connections could not be acquired: jdbc:postgresql://db:5432/x?user=u&password=hunter2"});

    let error = upstream_error(400, "/api/database", Some("application/json"), body.to_string().as_bytes());
    let failed = check_query_body(&json!({"status": "failed", "error": "FATAL: password=hunter2"})).unwrap_err();

    for shown in [error.to_string(), format!("{error:?}"), format!("{failed:?}")] {
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}

#[test]
fn a_failed_querys_text_stays_out_of_display() {
    let error = check_query_body(&json!({"status": "failed", "error": "syntax error near SELECT secret_column FROM t", "error_type": "invalid-query"})).unwrap_err();

    assert_eq!(error.to_string(), "metabase query failed (invalid-query)");
}

#[test]
fn failed_query_body_becomes_query_failed_with_error_type() {
    let body = json!({
        "status": "failed",
        "error": "Table \"NOPE\" not found",
        "error_type": "invalid-query",
        "data": {"rows": [], "cols": []},
        "row_count": 0
    });

    match check_query_body(&body) {
        Err(MetabaseError::QueryFailed { error_type, message }) => {
            assert_eq!(error_type.as_deref(), Some("invalid-query"));
            assert_eq!(message, "Table \"NOPE\" not found");
        }
        other => panic!("expected QueryFailed, got {other:?}"),
    }
}

#[test]
fn completed_query_body_passes_the_check() {
    assert!(check_query_body(&json!({"status": "completed", "row_count": 1})).is_ok());
}

#[test]
fn failed_query_without_error_text_says_error_running_query() {
    let error = check_query_body(&json!({"status": "failed"})).unwrap_err();

    assert!(matches!(&error, MetabaseError::QueryFailed { message, .. } if message == "error running query"));
    assert_eq!(error.status(), None);
}
