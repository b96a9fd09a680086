//! Rate limits shared by every worker: a GCRA bucket per provider and per sender in Postgres
//! (`app_private.reserve_send_rate`). A worker reserves a batch's worth of messages before it
//! claims them and sleeps for the answer; what a claim did not find is kept for the next claim
//! and given back when the run stops. Two workers reserving at once queue behind each other on
//! the bucket's row, so the sum of all workers stays within the configured rate. A per-worker
//! share of the limit would need to know how many workers are alive; the bucket does not.

use std::time::Duration;

use gimbal_db::Pool;

use crate::{DispatchError, Dispatcher, settings::RateLimits};

/// Messages per claim so that one claim is about a second of budget (at least 1).
pub fn batch_for(limits: &RateLimits, sender: &str, max: usize) -> usize {
    let mut per_second = limits.provider.per_second;
    if let Some(s) = limits.senders.get(sender) {
        per_second = per_second.min(s.per_second);
    }
    let burst = limits
        .senders
        .get(sender)
        .map_or(limits.provider.burst, |s| s.burst);
    let budget = per_second.max(burst).floor();
    if budget.is_finite() && budget >= 1.0 {
        max.min(budget as usize).max(1)
    } else {
        1
    }
}

/// Reserves `n` messages from the provider's bucket and the sender's (when it has a limit of its
/// own) and waits until they may go.
pub async fn acquire(
    pool: &Pool,
    provider: &str,
    sender: &str,
    limits: &RateLimits,
    n: usize,
) -> Result<Duration, DispatchError> {
    let wait = reserve(
        pool,
        provider,
        sender,
        limits,
        i32::try_from(n).unwrap_or(i32::MAX),
    )
    .await?;
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    Ok(wait)
}

/// Gives back `n` reserved messages a run did not send (it stopped with budget left), so the
/// budget stays for other runs and campaigns.
pub async fn release(
    pool: &Pool,
    provider: &str,
    sender: &str,
    limits: &RateLimits,
    n: usize,
) -> Result<(), DispatchError> {
    if n > 0 {
        reserve(
            pool,
            provider,
            sender,
            limits,
            -i32::try_from(n).unwrap_or(i32::MAX),
        )
        .await?;
    }
    Ok(())
}

/// Moves both buckets by `wanted` messages (negative gives back); answers the wait before they
/// may go.
async fn reserve(
    pool: &Pool,
    provider: &str,
    sender: &str,
    limits: &RateLimits,
    wanted: i32,
) -> Result<Duration, DispatchError> {
    let mut client = pool.get().await?;
    let tx = Dispatcher::service(&mut client, "dispatch/rate").await?;
    let mut wait: f64 = tx
        .query_one(
            "select app_private.reserve_send_rate($1, $2, $3, $4)",
            &[
                &format!("provider:{provider}"),
                &limits.provider.per_second,
                &limits.provider.burst,
                &wanted,
            ],
        )
        .await?
        .get(0);
    if let Some(rate) = limits.senders.get(sender) {
        let sender_wait: f64 = tx
            .query_one(
                "select app_private.reserve_send_rate($1, $2, $3, $4)",
                &[
                    &format!("sender:{sender}"),
                    &rate.per_second,
                    &rate.burst,
                    &wanted,
                ],
            )
            .await?
            .get(0);
        wait = wait.max(sender_wait);
    }
    tx.commit().await?;
    Ok(Duration::from_secs_f64(wait.max(0.0)))
}
