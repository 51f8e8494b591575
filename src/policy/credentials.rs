//! Owns turning a policy's named credential into a Metabase [`Credential`]: reading API keys,
//! usernames and passwords from the environment map and from files. Errors name the credential,
//! the variable or the file, never a value read from them.

use std::collections::HashMap;

use super::error::PolicyError;
use super::load::Policy;
use crate::metabase::{Credential, Secret};

impl Policy {
    /// Resolves the named credential, reading environment variables from `environment` and files
    /// from disk (both trimmed); blank values are errors.
    pub fn resolve_credential(
        &self,
        name: &str,
        environment: &HashMap<String, String>,
    ) -> Result<Credential, PolicyError> {
        let Some(spec) = self.file().credentials.get(name) else {
            return Err(PolicyError::UnknownCredential { name: name.to_owned(), defined: self.defined_credentials() });
        };
        let source = Source { name, environment };
        if let Some(variable) = &spec.api_key_env {
            return Ok(Credential::api_key(source.variable(variable)?));
        }
        if let Some(path) = &spec.api_key_file {
            return Ok(Credential::api_key(source.file("api key", path)?));
        }
        let username = match (&spec.username, &spec.username_env) {
            (Some(username), _) => username.trim().to_owned(),
            (None, Some(variable)) => source.variable(variable)?.expose().to_owned(),
            (None, None) => return Err(source.unusable("username")),
        };
        let password = match (&spec.password_env, &spec.password_file) {
            (Some(variable), _) => source.variable(variable)?,
            (None, Some(path)) => source.file("password", path)?,
            (None, None) => return Err(source.unusable("password")),
        };
        Ok(Credential::session(username, password))
    }
}

/// Where one credential's parts are read from.
struct Source<'a> {
    name: &'a str,
    environment: &'a HashMap<String, String>,
}

impl Source<'_> {
    fn variable(&self, variable: &str) -> Result<Secret, PolicyError> {
        let missing =
            |state| PolicyError::MissingVariable { name: self.name.to_owned(), variable: variable.to_owned(), state };
        let value = self.environment.get(variable).ok_or_else(|| missing("not set"))?;
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Err(missing("empty"));
        }
        Ok(Secret::new(trimmed))
    }

    fn file(&self, part: &'static str, path: &str) -> Result<Secret, PolicyError> {
        let contents = std::fs::read_to_string(path).map_err(|source| PolicyError::UnreadableFile {
            name: self.name.to_owned(),
            part,
            path: path.to_owned(),
            source,
        })?;
        let trimmed = contents.trim();
        if trimmed.is_empty() {
            return Err(PolicyError::EmptyFile { name: self.name.to_owned(), part, path: path.to_owned() });
        }
        Ok(Secret::new(trimmed))
    }

    /// Reports a spec missing a part; validation at load time makes this unreachable in practice.
    fn unusable(&self, part: &str) -> PolicyError {
        PolicyError::BadCredential { name: self.name.to_owned(), problem: format!("names no {part}") }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "mb_TOPSECRETKEYVALUE";

    fn policy_with(credentials: &str) -> Policy {
        Policy::parse(&format!("version: 1\ncredentials:\n{credentials}principals: []\n")).unwrap()
    }

    fn environment(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
    }

    #[test]
    fn an_api_key_resolves_from_the_environment_map_trimmed() {
        let policy = policy_with("  main: { api_key_env: MB_KEY }\n");

        let credential = policy.resolve_credential("main", &environment(&[("MB_KEY", "  mb_abc \n")])).unwrap();

        assert!(matches!(credential, Credential::ApiKey(key) if key.expose() == "mb_abc"));
    }

    #[test]
    fn an_api_key_and_a_password_resolve_from_files_trimmed() {
        let directory = tempfile::tempdir().unwrap();
        let key_path = directory.path().join("key");
        let password_path = directory.path().join("password");
        std::fs::write(&key_path, format!("{SECRET}\n")).unwrap();
        std::fs::write(&password_path, "hunter2\n").unwrap();
        let policy = policy_with(&format!(
            "  key: {{ api_key_file: {} }}\n  admin: {{ username_env: MB_USER, password_file: {} }}\n",
            key_path.display(),
            password_path.display()
        ));
        let variables = environment(&[("MB_USER", "ada@example.com")]);

        let key = policy.resolve_credential("key", &variables).unwrap();
        let admin = policy.resolve_credential("admin", &variables).unwrap();

        assert!(matches!(key, Credential::ApiKey(key) if key.expose() == SECRET));
        let Credential::Session { username, password } = admin else { panic!("expected a session credential") };
        assert_eq!(username, "ada@example.com");
        assert_eq!(password.expose(), "hunter2");
    }

    #[test]
    fn credential_errors_name_the_variable_or_file_but_never_the_secret() {
        let directory = tempfile::tempdir().unwrap();
        let blank_path = directory.path().join("blank");
        std::fs::write(&blank_path, " \n").unwrap();
        let missing_path = directory.path().join("missing");
        let garbled_path = directory.path().join("garbled");
        std::fs::write(&garbled_path, [SECRET.as_bytes(), &[0xff, 0xfe]].concat()).unwrap();
        let policy = policy_with(&format!(
            "  unset: {{ api_key_env: MB_UNSET }}\n  blank: {{ api_key_env: MB_BLANK }}\n  \
             empty_file: {{ api_key_file: {} }}\n  no_file: {{ username: ada, password_file: {} }}\n  \
             no_password: {{ username: ada, password_env: MB_PASSWORD }}\n  garbled: {{ api_key_file: {} }}\n",
            blank_path.display(),
            missing_path.display(),
            garbled_path.display()
        ));
        let variables = environment(&[("MB_BLANK", "   "), ("MB_OTHER", SECRET), ("MB_PASSWORD_X", SECRET)]);

        let cases = [
            ("unset", "credential \"unset\": environment variable MB_UNSET is not set".to_owned()),
            ("blank", "credential \"blank\": environment variable MB_BLANK is empty".to_owned()),
            ("empty_file", format!("credential \"empty_file\": api key file {} is empty", blank_path.display())),
            (
                "no_file",
                format!("credential \"no_file\": password file {} could not be read: entity not found", missing_path.display()),
            ),
            (
                "garbled",
                format!("credential \"garbled\": api key file {} could not be read: invalid data", garbled_path.display()),
            ),
            ("no_password", "credential \"no_password\": environment variable MB_PASSWORD is not set".to_owned()),
            ("undefined", "credential \"undefined\" is not defined in the policy; defined credentials: blank, empty_file, garbled, no_file, no_password, unset".to_owned()),
        ];
        for (name, expected) in cases {
            let error = policy.resolve_credential(name, &variables).unwrap_err();
            let printed = format!("{error} {error:?}");
            assert_eq!(error.to_string(), expected);
            assert!(!printed.contains(SECRET), "{printed}");
        }
    }

    #[test]
    fn a_resolved_credential_prints_no_secret() {
        let policy = policy_with("  main: { api_key_env: MB_KEY }\n");

        let credential = policy.resolve_credential("main", &environment(&[("MB_KEY", SECRET)])).unwrap();

        assert!(!format!("{credential:?}").contains(SECRET));
    }
}
