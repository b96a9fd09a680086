//! Retrying provider calls that failed for a passing reason (quota, rate limit, 5xx, network):
//! exponential backoff, or exactly the wait the provider asked for (`Retry-After`, Meta's
//! `estimated_time_to_regain_access`), within a budget after which the error goes up to the
//! job, whose own retry takes over.

use std::{future::Future, time::Duration};

use crate::ConnectorError;

#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    /// Calls in all, the first included.
    pub attempts: u32,
    pub base: Duration,
    /// No single wait is longer; a provider asking for more ends the retries here.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            attempts: 4,
            base: Duration::from_millis(500),
            max: Duration::from_secs(60),
        }
    }
}

impl Backoff {
    /// Runs `call` until it succeeds, fails for good, or the attempts run out.
    pub async fn retry<T, F, Fut>(&self, what: &str, mut call: F) -> Result<T, ConnectorError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ConnectorError>>,
    {
        let mut attempt = 1;
        loop {
            let err = match call().await {
                Ok(value) => return Ok(value),
                Err(err) if !err.is_transient() || attempt >= self.attempts => return Err(err),
                Err(err) => err,
            };
            let wait = match &err {
                ConnectorError::Quota {
                    retry_after_secs: Some(secs),
                    ..
                } => Duration::from_secs(*secs),
                _ => self.base * 2u32.saturating_pow(attempt - 1),
            };
            if wait > self.max {
                return Err(err);
            }
            tracing::warn!(
                sync.call = what,
                sync.attempt = attempt,
                sync.wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                error = %err,
                "provider call failed; retrying"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

/// `Retry-After` in seconds (the HTTP-date form is rare from these APIs and is ignored).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}
