//! The queue's rows: enqueueing, claiming with `for update skip locked`, extending leases and
//! recording outcomes. Every change a worker makes to a job it holds is conditioned on
//! `locked_by`, so a worker that lost its lease cannot overwrite the worker that took over.

use std::time::Duration;

use chrono::{DateTime, Utc};
use gimbal_db::{Pool, Transaction};
use serde_json::Value;

use crate::{JobError, service};

/// Longest `last_error` stored; provider error bodies can be large.
const MAX_ERROR_CHARS: usize = 4_000;

/// A job to put on the queue.
#[derive(Clone, Debug)]
pub struct NewJob {
    /// Names the handler, e.g. `campaigns.send`.
    pub kind: String,
    pub payload: Value,
    /// `None` runs as soon as a worker is free.
    pub run_at: Option<DateTime<Utc>>,
    /// Higher runs first.
    pub priority: i16,
    pub max_attempts: i32,
    /// At most one unfinished (queued or running) job per key.
    pub dedupe_key: Option<String>,
}

impl NewJob {
    /// A job to run now, with priority 0, up to 5 attempts and no dedupe key.
    pub fn new(kind: impl Into<String>, payload: Value) -> Self {
        NewJob {
            kind: kind.into(),
            payload,
            run_at: None,
            priority: 0,
            max_attempts: 5,
            dedupe_key: None,
        }
    }
}

/// Enqueues `job` inside the caller's (service-role) transaction, so the job exists if and only
/// if the change that needs it commits. Returns `None` when an unfinished job with the same
/// `dedupe_key` already exists.
pub async fn enqueue(tx: &Transaction<'_>, job: &NewJob) -> Result<Option<i64>, JobError> {
    insert(tx, job, None).await
}

pub(crate) async fn insert(
    tx: &Transaction<'_>,
    job: &NewJob,
    schedule_id: Option<i64>,
) -> Result<Option<i64>, JobError> {
    // `on conflict do nothing` without a target: the only unique index a new row can hit is the
    // partial one on live dedupe keys.
    let row = tx
        .query_opt(
            "insert into public.jobs
               (kind, payload, run_at, priority, max_attempts, dedupe_key, schedule_id)
             values ($1, $2, coalesce($3, now()), $4, $5, $6, $7)
             on conflict do nothing
             returning id",
            &[
                &job.kind,
                &job.payload,
                &job.run_at,
                &job.priority,
                &job.max_attempts,
                &job.dedupe_key,
                &schedule_id,
            ],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// A job this worker holds the lease on.
#[derive(Debug)]
pub(crate) struct ClaimedJob {
    pub id: i64,
    pub kind: String,
    pub payload: Value,
    /// Including the one about to run.
    pub attempts: i32,
    pub max_attempts: i32,
}

/// Claims up to `limit` runnable jobs: queued ones due by `due_by` (or now), and running ones
/// whose lease expired. Jobs whose lease expired on their last attempt are buried instead.
pub(crate) async fn claim(
    pool: &Pool,
    worker: &str,
    lease: Duration,
    limit: usize,
    due_by: Option<DateTime<Utc>>,
) -> Result<Vec<ClaimedJob>, JobError> {
    let mut client = pool.get().await?;
    let tx = service::begin(&mut client).await?;
    tx.execute(
        "update public.jobs
         set status = 'dead',
             last_error = 'lease expired after ' || attempts || ' attempts',
             finished_at = now(), locked_by = null, locked_until = null
         where id in (
           select id from public.jobs
           where status = 'running' and locked_until < now() and attempts >= max_attempts
           for update skip locked)",
        &[],
    )
    .await?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = tx
        .query(
            "update public.jobs
             set status = 'running', attempts = attempts + 1, locked_by = $1,
                 locked_until = now() + make_interval(secs => $2), started_at = now()
             where id in (
               select id from public.jobs
               where (status = 'queued' and run_at <= coalesce($4, now()))
                  or (status = 'running' and locked_until < now())
               order by priority desc, run_at, id
               for update skip locked
               limit $3)
             returning id, kind, payload, attempts, max_attempts",
            &[&worker, &lease.as_secs_f64(), &limit, &due_by],
        )
        .await?;
    tx.commit().await?;
    Ok(rows
        .iter()
        .map(|row| ClaimedJob {
            id: row.get(0),
            kind: row.get(1),
            payload: row.get(2),
            attempts: row.get(3),
            max_attempts: row.get(4),
        })
        .collect())
}

/// Pushes the lease forward; false when the job is no longer this worker's.
pub(crate) async fn extend_lease(
    pool: &Pool,
    id: i64,
    worker: &str,
    lease: Duration,
) -> Result<bool, JobError> {
    let rows = service::execute(
        pool,
        "update public.jobs set locked_until = now() + make_interval(secs => $3)
         where id = $1 and locked_by = $2 and status = 'running'",
        &[&id, &worker, &lease.as_secs_f64()],
    )
    .await?;
    Ok(rows == 1)
}

/// Records success; false when the job is no longer this worker's.
pub(crate) async fn succeed(
    pool: &Pool,
    id: i64,
    worker: &str,
    result: &Value,
) -> Result<bool, JobError> {
    let rows = service::execute(
        pool,
        "update public.jobs
         set status = 'succeeded', result = $3, finished_at = now(),
             locked_by = null, locked_until = null
         where id = $1 and locked_by = $2 and status = 'running'",
        &[&id, &worker, result],
    )
    .await?;
    Ok(rows == 1)
}

/// Puts the job back on the queue to run again after `delay`.
pub(crate) async fn retry(
    pool: &Pool,
    id: i64,
    worker: &str,
    delay: Duration,
    error: &str,
) -> Result<bool, JobError> {
    let rows = service::execute(
        pool,
        "update public.jobs
         set status = 'queued', run_at = now() + make_interval(secs => $3), last_error = $4,
             locked_by = null, locked_until = null
         where id = $1 and locked_by = $2 and status = 'running'",
        &[&id, &worker, &delay.as_secs_f64(), &truncate(error)],
    )
    .await?;
    Ok(rows == 1)
}

/// Moves the job to the dead letters: it will not run again unless someone re-queues it.
pub(crate) async fn bury(
    pool: &Pool,
    id: i64,
    worker: &str,
    error: &str,
) -> Result<bool, JobError> {
    let rows = service::execute(
        pool,
        "update public.jobs
         set status = 'dead', last_error = $3, finished_at = now(),
             locked_by = null, locked_until = null
         where id = $1 and locked_by = $2 and status = 'running'",
        &[&id, &worker, &truncate(error)],
    )
    .await?;
    Ok(rows == 1)
}

/// Jobs per status, every status listed (zero included) so a gauge drops back to zero.
pub(crate) async fn depth(pool: &Pool) -> Result<Vec<(String, i64)>, JobError> {
    let mut client = pool.get().await?;
    let tx = service::begin(&mut client).await?;
    let rows = tx
        .query(
            "select s.status, count(j.id)
             from unnest(array['queued', 'running', 'succeeded', 'dead', 'cancelled']) as s (status)
             left join public.jobs j on j.status = s.status
             group by s.status
             order by s.status",
            &[],
        )
        .await?;
    tx.commit().await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// The database's clock, which leases and `run_at` are measured against.
pub(crate) async fn database_now(pool: &Pool) -> Result<DateTime<Utc>, JobError> {
    let mut client = pool.get().await?;
    let tx = service::begin(&mut client).await?;
    let now = tx.query_one("select now()", &[]).await?.get(0);
    tx.commit().await?;
    Ok(now)
}

fn truncate(error: &str) -> String {
    match error.char_indices().nth(MAX_ERROR_CHARS) {
        Some((end, _)) => format!("{}…", &error[..end]),
        None => error.to_string(),
    }
}
