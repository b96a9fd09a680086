//! Retention: the `audit.purge_logs` job deletes entries older than the period in the
//! `retention.audit_logs_days` setting (30 days when unset), through
//! `app_private.purge_audit_logs` — the one way anything leaves the append-only log. A daily
//! schedule runs it; the worker puts the schedule in place when it starts.

use gimbal_db::{Access, DbError, Pool, RequestScope};
use gimbal_jobs::{JobContext, JobFailure, JobResult, Registry, schedule};
use serde_json::{Value, json};

pub const PURGE_JOB: &str = "audit.purge_logs";
pub const PURGE_SCHEDULE: &str = "audit.purge-logs";
/// The app setting holding the retention period in days.
pub const RETENTION_SETTING: &str = "retention.audit_logs_days";
pub const DEFAULT_RETENTION_DAYS: i32 = 30;

pub fn register(registry: &mut Registry) {
    registry.register(PURGE_JOB, |ctx: JobContext, payload: Value| async move {
        run(&ctx.pool, &payload).await
    });
}

async fn run(pool: &Pool, payload: &Value) -> JobResult {
    let override_days = match payload.get("older_than_days") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .filter(|d| (1..=36_500).contains(d))
                .ok_or_else(|| {
                    JobFailure::permanent("older_than_days must be a whole number from 1 to 36500")
                })? as i32,
        ),
    };
    let (days, deleted) = purge(pool, override_days)
        .await
        .map_err(JobFailure::retry)?;
    tracing::info!(
        audit.deleted = deleted,
        audit.older_than_days = days,
        "audit log purged"
    );
    Ok(json!({ "deleted": deleted, "older_than_days": days }))
}

/// Deletes entries older than `older_than_days`, or the configured period when `None`.
/// Returns the period used and the number of entries deleted.
pub async fn purge(pool: &Pool, older_than_days: Option<i32>) -> Result<(i32, i64), DbError> {
    let mut client = pool.get().await?;
    let tx = gimbal_db::scope::begin(
        &mut client,
        &RequestScope::service("audit.purge"),
        Access::ReadWrite,
    )
    .await?;
    let days = match older_than_days {
        Some(d) => d,
        None => tx
            .query_opt(
                "select (value #>> '{}')::int from public.app_settings
                 where key = $1 and jsonb_typeof(value) = 'number'",
                &[&RETENTION_SETTING],
            )
            .await?
            .and_then(|r| r.get::<_, Option<i32>>(0))
            .filter(|d| *d >= 1)
            .unwrap_or(DEFAULT_RETENTION_DAYS),
    };
    let deleted: i64 = tx
        .query_one("select app_private.purge_audit_logs($1)", &[&days])
        .await?
        .get(0);
    tx.commit().await?;
    Ok((days, deleted))
}

/// Creates (or keeps) the daily purge schedule: 03:30 UTC.
pub async fn ensure_schedule(pool: &Pool) -> Result<(), gimbal_jobs::JobError> {
    let mut client = pool.get().await.map_err(DbError::from)?;
    let tx = gimbal_db::scope::begin(
        &mut client,
        &RequestScope::service("audit.schedule"),
        Access::ReadWrite,
    )
    .await?;
    schedule::upsert(
        &tx,
        &schedule::NewSchedule::new(PURGE_SCHEDULE, "30 3 * * *", PURGE_JOB),
    )
    .await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(())
}
