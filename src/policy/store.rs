//! Owns [`PolicyStore`]: the policy in force, swapped atomically when its file changes. A file
//! that stops parsing leaves the last good policy in force and logs why.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::{Duration, SystemTime};

use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::error::PolicyError;
use super::load::Policy;

/// What the store last saw of its file; a change in either part means the file changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    length: u64,
}

impl Stamp {
    fn of(path: &Path) -> Result<Stamp, PolicyError> {
        let metadata =
            std::fs::metadata(path).map_err(|source| PolicyError::Read { path: path.display().to_string(), source })?;
        Ok(Stamp { modified: metadata.modified().ok(), length: metadata.len() })
    }
}

/// Holds the policy in force; readers take a cheap [`Arc`] of it per call.
#[derive(Debug)]
pub(crate) struct PolicyStore {
    path: Option<PathBuf>,
    current: RwLock<Arc<Policy>>,
    seen: Mutex<Option<Stamp>>,
}

impl PolicyStore {
    /// Loads the policy file; the store can then follow its changes with
    /// [`PolicyStore::spawn_reload`].
    pub(crate) fn load(path: impl AsRef<Path>) -> Result<Arc<PolicyStore>, PolicyError> {
        let path = path.as_ref().to_path_buf();
        let stamp = Stamp::of(&path)?;
        let policy = Policy::load(&path)?;
        Ok(Arc::new(PolicyStore {
            path: Some(path),
            current: RwLock::new(Arc::new(policy)),
            seen: Mutex::new(Some(stamp)),
        }))
    }

    /// Holds a fixed policy that no file backs, such as [`Policy::allow_all`].
    pub(crate) fn from_policy(policy: Policy) -> PolicyStore {
        PolicyStore { path: None, current: RwLock::new(Arc::new(policy)), seen: Mutex::new(None) }
    }

    /// Returns the policy in force.
    pub(crate) fn current(&self) -> Arc<Policy> {
        // A poisoned lock still holds a whole policy: writers only ever swap the Arc.
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Returns the file the policy comes from, if any.
    pub(crate) fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Re-reads the file when its modified time or length changed since the last look. Returns
    /// `Ok(true)` when a new policy is in force, `Ok(false)` when nothing changed, and the error
    /// when the changed file is invalid (the last good policy then stays in force; the same bad
    /// file is reported once, not on every look).
    pub(crate) fn reload_if_changed(&self) -> Result<bool, PolicyError> {
        let Some(path) = &self.path else {
            return Ok(false);
        };
        let stamp = Stamp::of(path);
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let stamp = match stamp {
            Ok(stamp) if *seen == Some(stamp) => return Ok(false),
            Ok(stamp) => Some(stamp),
            Err(_) if seen.is_none() => return Ok(false),
            Err(error) => {
                *seen = None;
                return Err(error);
            }
        };
        *seen = stamp;
        let policy = Policy::load(path)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(policy);
        Ok(true)
    }

    /// Starts a task that looks at the file every `interval` and swaps in a changed, valid policy,
    /// logging each reload and each rejected file. The task ends when the store is dropped; a
    /// store without a file has nothing to follow and its task ends at once.
    pub(crate) fn spawn_reload(self: &Arc<Self>, interval: Duration) -> JoinHandle<()> {
        let store: Weak<PolicyStore> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            // The first tick fires at once; the file was just loaded.
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(strong) = store.upgrade() else {
                    return;
                };
                if strong.path.is_none() {
                    return;
                }
                let outcome = tokio::task::spawn_blocking({
                    let strong = Arc::clone(&strong);
                    move || strong.reload_if_changed()
                })
                .await;
                let path = strong.path().map(|path| path.display().to_string()).unwrap_or_default();
                match outcome {
                    Ok(Ok(true)) => {
                        let principals = strong.current().principals().len();
                        tracing::info!(%path, principals, "policy reloaded");
                    }
                    Ok(Ok(false)) => {}
                    Ok(Err(error)) => {
                        tracing::warn!(%path, %error, "policy file rejected; keeping the last good policy");
                    }
                    Err(error) => tracing::warn!(%path, %error, "policy reload task failed"),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE_RULE: &str = "version: 1\nprincipals:\n  - match: a\n    grants: { cards: read }\n";
    const TWO_RULES: &str = "version: 1\nprincipals:\n  - match: a\n    grants: { cards: read }\n  - match: b\n    grants: { search: read }\n";
    const MISSPELT: &str = "version: 1\nprincipals:\n  - match: a\n    grnts: { cards: full }\n";

    fn store_for(text: &str) -> (tempfile::TempDir, PathBuf, Arc<PolicyStore>) {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("policy.yaml");
        std::fs::write(&path, text).unwrap();
        let store = PolicyStore::load(&path).unwrap();
        (directory, path, store)
    }

    #[test]
    fn reload_keeps_the_last_good_policy_when_the_file_becomes_invalid() {
        let (_directory, path, store) = store_for(ONE_RULE);

        std::fs::write(&path, MISSPELT).unwrap();
        let error = store.reload_if_changed().unwrap_err();

        assert!(error.to_string().ends_with(":4:5: principals[0]: unknown field `grnts`, expected one of `match`, `credential`, `grants`, `collections`, `databases`, `max_rows`, `rate`, `rule_rate`, `max_streams`"), "{error}");
        assert_eq!(store.current().principals()[0].grants.get("cards"), Some(&crate::policy::Level::Read));
        assert!(!store.reload_if_changed().unwrap(), "the same bad file is reported once");
    }

    #[test]
    fn reload_picks_up_a_valid_change_after_a_bad_one() {
        let (_directory, path, store) = store_for(ONE_RULE);

        std::fs::write(&path, MISSPELT).unwrap();
        assert!(store.reload_if_changed().is_err());
        std::fs::write(&path, TWO_RULES).unwrap();

        assert!(store.reload_if_changed().unwrap());
        assert_eq!(store.current().principals().len(), 2);
        assert!(!store.reload_if_changed().unwrap());
    }

    #[test]
    fn a_removed_file_is_reported_once_and_reloaded_when_it_returns() {
        let (_directory, path, store) = store_for(ONE_RULE);

        std::fs::remove_file(&path).unwrap();
        assert!(matches!(store.reload_if_changed(), Err(PolicyError::Read { .. })));
        assert!(!store.reload_if_changed().unwrap());
        assert_eq!(store.current().principals().len(), 1);
        std::fs::write(&path, TWO_RULES).unwrap();

        assert!(store.reload_if_changed().unwrap());
        assert_eq!(store.current().principals().len(), 2);
    }

    #[tokio::test]
    async fn the_reload_task_swaps_in_a_changed_file() {
        let (_directory, path, store) = store_for(ONE_RULE);
        let task = store.spawn_reload(Duration::from_millis(10));

        std::fs::write(&path, TWO_RULES).unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while store.current().principals().len() != 2 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }

        assert_eq!(store.current().principals().len(), 2);
        drop(store);
        tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn a_store_without_a_file_keeps_its_policy_and_its_task_ends() {
        let store = Arc::new(PolicyStore::from_policy(Policy::allow_all()));

        let task = store.spawn_reload(Duration::from_millis(10));

        tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap();
        assert!(!store.reload_if_changed().unwrap());
        assert_eq!(store.current().principals()[0].pattern, "*");
        assert_eq!(store.path(), None);
    }
}
