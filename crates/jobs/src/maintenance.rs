//! Built-in jobs that keep the queue itself healthy: `maintenance.purge_jobs` deletes finished
//! jobs after a retention period so the table does not grow forever.

use serde_json::{Value, json};

use crate::{JobContext, JobFailure, JobResult, Registry, service};

pub const PURGE_JOBS: &str = "maintenance.purge_jobs";
const DEFAULT_RETENTION_DAYS: i32 = 14;

pub(crate) fn register(registry: &mut Registry) {
    registry.register(PURGE_JOBS, purge_jobs);
}

/// Deletes succeeded, cancelled and dead jobs that finished more than `older_than_days`
/// (default 14) days ago. Result: `{"deleted": n}`.
async fn purge_jobs(ctx: JobContext, payload: Value) -> JobResult {
    let days = retention_days(&payload)?;
    let deleted = service::execute(
        &ctx.pool,
        "delete from public.jobs
         where status in ('succeeded', 'cancelled', 'dead')
           and finished_at < now() - make_interval(days => $1)",
        &[&days],
    )
    .await
    .map_err(JobFailure::retry)?;
    Ok(json!({ "deleted": deleted, "older_than_days": days }))
}

fn retention_days(payload: &Value) -> Result<i32, JobFailure> {
    match payload.get("older_than_days") {
        None | Some(Value::Null) => Ok(DEFAULT_RETENTION_DAYS),
        Some(v) => v
            .as_i64()
            .filter(|d| (0..=36_500).contains(d))
            .map(|d| d as i32)
            .ok_or_else(|| {
                JobFailure::permanent(format!(
                    "older_than_days must be a whole number of days between 0 and 36500, got {v}"
                ))
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_defaults_to_fourteen_days() {
        assert_eq!(retention_days(&json!({})), Ok(14));
        assert_eq!(retention_days(&json!({ "older_than_days": 3 })), Ok(3));
    }

    #[test]
    fn retention_rejects_a_negative_or_fractional_number_of_days() {
        assert!(matches!(
            retention_days(&json!({ "older_than_days": -1 })),
            Err(JobFailure::Permanent { .. })
        ));
        assert!(retention_days(&json!({ "older_than_days": 1.5 })).is_err());
        assert!(retention_days(&json!({ "older_than_days": "7" })).is_err());
    }
}
