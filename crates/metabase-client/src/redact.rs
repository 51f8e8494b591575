//! Owns what may be echoed of text the gateway does not control (Metabase's error messages, a
//! caller's search string or names): [`safe_text`] removes what looks like a credential
//! (passwords and secrets in `key=value` or JSON form, `jdbc:` URLs, `user:password@host` in
//! URLs, bearer and basic tokens, JSON web tokens, Metabase `mb_` API keys), flattens control
//! characters so a log line stays one line, and caps the result at [`MAX_ECHO_BYTES`].

use std::sync::LazyLock;

use regex::Regex;

/// The most bytes of foreign text a message or a log field carries, its ellipsis included.
pub const MAX_ECHO_BYTES: usize = 1024;

/// The most bytes searched for secrets: the rest is cut anyway, and a bound keeps a hostile
/// megabyte cheap.
const MAX_SCANNED_BYTES: usize = 64 * 1024;

/// What replaces a secret.
const REDACTED: &str = "[redacted]";

/// The patterns and what each becomes, applied in order.
static RULES: LazyLock<Vec<(Regex, String)>> = LazyLock::new(|| {
    let rule = |pattern: &str, replacement: String| (Regex::new(pattern).expect("a valid pattern"), replacement);
    vec![
        // A jdbc URL names host, database and often the user and password in its own syntax
        // (`;password=`, `?password=`, `user/pass@`): none of it is echoed.
        rule(r#"(?i)jdbc:[^\s"'<>]+"#, format!("jdbc:{REDACTED}")),
        // `scheme://user:password@host` (postgres://, mongodb+srv://, https://).
        rule(r#"(?i)\b([a-z][a-z0-9+.\-]*://)[^\s/@"'<>]+@"#, format!("${{1}}{REDACTED}@")),
        // `Authorization: Bearer abc`, `Basic dXNlcjpwYXNz`.
        rule(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]+=*", format!("${{1}} {REDACTED}")),
        // A JSON web token anywhere.
        rule(r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*", REDACTED.to_owned()),
        // Metabase API keys.
        rule(r"\bmb_[A-Za-z0-9+/=_\-]{4,}", format!("mb_{REDACTED}")),
        // `password=x`, `"password": "x"`, `api_key: x`, `X-Metabase-Session: x`.
        rule(
            r#"(?i)("?[a-z0-9_\-]*(?:password|passwd|pwd|secret|token|api[_\-]?key|access[_\-]?key|session|credential)s?"?\s*[=:]\s*)("[^"]*"?|'[^']*'?|[^\s&;,"'}\])]+)"#,
            format!("${{1}}{REDACTED}"),
        ),
    ]
});

/// Returns `text` fit to echo in a status message or a log line: secrets replaced by
/// `[redacted]`, control characters turned into spaces, and at most [`MAX_ECHO_BYTES`] bytes,
/// a cut marked with `…`.
pub fn safe_text(text: &str) -> String {
    let scanned = cut_at_char_boundary(text, MAX_SCANNED_BYTES);
    let mut redacted = scanned.to_owned();
    for (pattern, replacement) in RULES.iter() {
        if let std::borrow::Cow::Owned(replaced) = pattern.replace_all(&redacted, replacement.as_str()) {
            redacted = replaced;
        }
    }
    let flattened: String =
        redacted.chars().map(|character| if character.is_control() { ' ' } else { character }).collect();
    cap(&flattened, scanned.len() < text.len())
}

/// Returns `text` cut to at most [`MAX_ECHO_BYTES`] bytes with an ellipsis when it was longer, or
/// when `already_cut` says an earlier cut dropped its end.
fn cap(text: &str, already_cut: bool) -> String {
    const ELLIPSIS: char = '…';
    if text.len() <= MAX_ECHO_BYTES && !already_cut {
        return text.to_owned();
    }
    let kept = cut_at_char_boundary(text, MAX_ECHO_BYTES - ELLIPSIS.len_utf8());
    let mut capped = String::with_capacity(kept.len() + ELLIPSIS.len_utf8());
    capped.push_str(kept);
    capped.push(ELLIPSIS);
    capped
}

fn cut_at_char_boundary(text: &str, most: usize) -> &str {
    if text.len() <= most {
        return text;
    }
    let mut end = most;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_upstream_text_are_redacted() {
        let cases = [
            "Connections could not be acquired: jdbc:postgresql://db:5432/x?user=u&password=hunter2 refused",
            "jdbc:sqlserver://db;user=sa;password=hunter2;database=x",
            "could not connect to postgres://app:hunter2@db.internal:5432/shop",
            "FATAL: password authentication failed (password=hunter2)",
            r#"details were {"host":"db","password":"hunter2"}"#,
            "header Authorization: Bearer hunter2.abc-def was rejected",
            "api_key: hunter2 is unknown",
            "x-api-key=mb_hunter2hunter2 is unknown",
            "the key mb_hunter2hunter2 is unknown",
            "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJodW50ZXIyIn0.c2lnbmF0dXJl expired",
            "X-Metabase-Session: hunter2",
        ];
        for case in cases {
            let safe = safe_text(case);
            assert!(!safe.contains("hunter2"), "{case} became {safe}");
            assert!(!safe.contains("eyJzdWIi"), "{case} became {safe}");
            assert!(safe.contains(REDACTED), "{case} became {safe}");
        }
    }

    #[test]
    fn ordinary_text_passes_unchanged() {
        for text in ["Not found.", "Table \"ORDERS\" not found", "value must be a non-blank string.", "a: b"] {
            assert_eq!(safe_text(text), text);
        }
    }

    #[test]
    fn a_megabyte_is_cut_to_one_kibibyte_with_an_ellipsis_on_a_character_boundary() {
        let safe = safe_text(&"é".repeat(500_000));
        assert!(safe.len() <= MAX_ECHO_BYTES, "{}", safe.len());
        assert!(safe.len() > MAX_ECHO_BYTES - 8);
        assert!(safe.ends_with('…'));
        let secret_at_the_end = format!("{} password=hunter2", "x".repeat(2_000));
        assert!(!safe_text(&secret_at_the_end).contains("hunter2"));
    }

    #[test]
    fn control_characters_cannot_start_a_forged_log_line() {
        assert_eq!(safe_text("bad\nINFO forged line\r\u{1b}[31m"), "bad INFO forged line  [31m");
    }
}
