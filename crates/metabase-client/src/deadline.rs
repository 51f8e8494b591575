//! Owns the caller's deadline as the client sees it: a server that knows when its caller stops
//! waiting runs the call inside [`within`], and the transport then retries only while a retry can
//! still answer in time.

use std::future::Future;
use std::time::Instant;

tokio::task_local! {
    static CALL_DEADLINE: Instant;
}

/// Runs `future` with `deadline` as the instant its caller stops waiting; requests sent from it
/// are not retried past that instant.
pub async fn within<F: Future>(deadline: Instant, future: F) -> F::Output {
    CALL_DEADLINE.scope(deadline, future).await
}

/// Returns the deadline of the call the current task serves, if one was set with [`within`].
pub(crate) fn current() -> Option<Instant> {
    CALL_DEADLINE.try_with(|deadline| *deadline).ok()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{current, within};

    #[tokio::test]
    async fn the_deadline_is_seen_inside_the_scope_only() {
        let deadline = Instant::now() + Duration::from_secs(3);

        let inside = within(deadline, async { current() }).await;

        assert_eq!(inside, Some(deadline));
        assert_eq!(current(), None);
    }
}
