//! Owns [`Credential`]: how the client proves who it is to Metabase (CONTRACT.md §3).

use super::secret::Secret;

/// Says how the client authenticates to Metabase. Its `Debug` output shows usernames but never a
/// key or a password.
#[derive(Clone, Debug)]
pub enum Credential {
    /// An API key (`mb_...`), sent as the `X-Api-Key` header on every request.
    ApiKey(Secret),
    /// A user's email and password, exchanged for a session id with `POST /api/session`; the id is
    /// then sent as `X-Metabase-Session`.
    Session {
        /// The user's email address, as Metabase expects it in the login body.
        username: String,
        /// The user's password.
        password: Secret,
    },
}

impl Credential {
    /// Builds an API-key credential.
    pub fn api_key(key: impl Into<Secret>) -> Self {
        Self::ApiKey(key.into())
    }

    /// Builds a username/password credential that logs in for a session.
    pub fn session(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self::Session { username: username.into(), password: password.into() }
    }

    /// Returns a description that is safe to log or show a caller: `api key`, or
    /// `session for user x@y`. It never contains a secret.
    pub fn describe(&self) -> String {
        match self {
            Self::ApiKey(_) => "api key".to_owned(),
            Self::Session { username, .. } => format!("session for user {username}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Credential;

    #[test]
    fn describe_names_the_kind_and_user_but_no_secret() {
        let api_key = Credential::api_key("mb_AAAAAAAAAAAAAAAA");
        let session = Credential::session("ada@example.com", "hunter2-password");

        assert_eq!(api_key.describe(), "api key");
        assert_eq!(session.describe(), "session for user ada@example.com");
    }

    #[test]
    fn credential_debug_hides_keys_and_passwords() {
        let api_key = Credential::api_key("mb_AAAAAAAAAAAAAAAA");
        let session = Credential::session("ada@example.com", "hunter2-password");

        let printed = format!("{api_key:?} {session:?} {api_key:#?} {session:#?}");

        assert!(!printed.contains("mb_AAAA"), "{printed}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("ada@example.com"));
    }
}
