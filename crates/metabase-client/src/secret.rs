//! Owns [`Secret`], the wrapper that keeps credentials out of logs, errors and debug output.

use std::fmt;

/// Holds a credential (an API key, a password, a session token) and prints `***` wherever it is
/// formatted, so that a stray `{:?}` or `{}` cannot leak it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential so that formatting it never shows the value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// Returns the credential itself, for the one place that has to send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Reports whether the credential is empty (or only whitespace), which is never a usable value.
    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn secret_debug_and_display_never_show_the_value() {
        let secret = Secret::new("mb_super_secret_key");

        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(format!("{secret}"), "***");
        assert_eq!(secret.expose(), "mb_super_secret_key");
    }

    #[test]
    fn secret_of_whitespace_is_blank() {
        assert!(Secret::new("  ").is_blank());
        assert!(!Secret::from("x").is_blank());
    }
}
