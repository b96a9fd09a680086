//! Schedules in the database: creating or updating them, and firing the due ones. Firing is a
//! compare-and-set on `next_run_at`, so any number of workers may fire at once and every due
//! occurrence still becomes exactly one job.

use chrono::{DateTime, SecondsFormat, Utc};
use gimbal_db::{Pool, Transaction};
use serde_json::Value;
use tracing::{info, warn};

use super::{next_after, validate};
use crate::{JobError, NewJob, queue, service};

/// Most due schedules fired by one call; the rest wait for the next call.
const FIRE_BATCH: i64 = 500;

/// A recurring job as its owner describes it.
#[derive(Clone, Debug)]
pub struct NewSchedule {
    /// Unique; upserting the same name updates the schedule.
    pub name: String,
    pub cron: String,
    /// IANA zone the cron expression is read in, e.g. `Europe/Berlin`.
    pub time_zone: String,
    pub job_kind: String,
    pub payload: Value,
}

impl NewSchedule {
    /// A schedule in UTC with an empty payload.
    pub fn new(
        name: impl Into<String>,
        cron: impl Into<String>,
        job_kind: impl Into<String>,
    ) -> Self {
        NewSchedule {
            name: name.into(),
            cron: cron.into(),
            time_zone: "UTC".into(),
            job_kind: job_kind.into(),
            payload: serde_json::json!({}),
        }
    }
}

/// Creates the schedule or updates the one with the same name, and returns its id. The next run
/// is recomputed only when the timing changed, so re-applying a schedule never skips a due run.
pub async fn upsert(tx: &Transaction<'_>, s: &NewSchedule) -> Result<i64, JobError> {
    validate(&s.cron, &s.time_zone)?;
    let next = next_after(&s.cron, &s.time_zone, Utc::now())?;
    let row = tx
        .query_one(
            "insert into public.cron_schedules (name, cron, time_zone, job_kind, payload, next_run_at)
             values ($1, $2, $3, $4, $5, $6)
             on conflict (name) do update
               set cron = excluded.cron,
                   time_zone = excluded.time_zone,
                   job_kind = excluded.job_kind,
                   payload = excluded.payload,
                   next_run_at = case
                     when cron_schedules.cron = excluded.cron
                      and cron_schedules.time_zone = excluded.time_zone
                      and cron_schedules.next_run_at is not null
                     then cron_schedules.next_run_at
                     else excluded.next_run_at
                   end
             returning id",
            &[&s.name, &s.cron, &s.time_zone, &s.job_kind, &s.payload, &next],
        )
        .await?;
    Ok(row.get(0))
}

/// One enabled schedule whose `next_run_at` has come.
struct DueSchedule {
    id: i64,
    cron: String,
    time_zone: String,
    job_kind: String,
    payload: Value,
    due: DateTime<Utc>,
}

/// Fires every enabled schedule whose `next_run_at <= now` and returns how many this call fired.
/// A schedule missed for a long time fires once and moves on to its next future time; one with
/// no `next_run_at` only gets one computed.
pub async fn fire_due(pool: &Pool, now: DateTime<Utc>) -> Result<usize, JobError> {
    plan_unplanned(pool, now).await?;
    let mut fired = 0;
    for schedule in due_schedules(pool, now).await? {
        match fire_one(pool, &schedule, now).await {
            Ok(true) => fired += 1,
            Ok(false) => {}
            Err(JobError::Schedule(err)) => {
                warn!(schedule.id = schedule.id, error = %err, "schedule skipped: its cron cannot be evaluated");
            }
            Err(err) => return Err(err),
        }
    }
    Ok(fired)
}

/// Gives schedules inserted without a `next_run_at` (e.g. by SQL) their first one.
async fn plan_unplanned(pool: &Pool, now: DateTime<Utc>) -> Result<(), JobError> {
    let mut client = pool.get().await?;
    let tx = service::begin(&mut client).await?;
    let rows = tx
        .query(
            "select id, cron, time_zone from public.cron_schedules
             where enabled and next_run_at is null",
            &[],
        )
        .await?;
    for row in rows {
        let (id, cron, zone): (i64, String, String) = (row.get(0), row.get(1), row.get(2));
        match next_after(&cron, &zone, now) {
            Ok(next) => {
                tx.execute(
                    "update public.cron_schedules set next_run_at = $2
                     where id = $1 and next_run_at is null",
                    &[&id, &next],
                )
                .await?;
            }
            Err(err) => warn!(schedule.id = id, error = %err, "schedule cannot be planned"),
        }
    }
    tx.commit().await?;
    Ok(())
}

async fn due_schedules(pool: &Pool, now: DateTime<Utc>) -> Result<Vec<DueSchedule>, JobError> {
    let mut client = pool.get().await?;
    let tx = service::begin(&mut client).await?;
    let rows = tx
        .query(
            "select id, cron, time_zone, job_kind, payload, next_run_at
             from public.cron_schedules
             where enabled and next_run_at <= $1
             order by next_run_at, id
             limit $2",
            &[&now, &FIRE_BATCH],
        )
        .await?;
    tx.commit().await?;
    Ok(rows
        .iter()
        .map(|row| DueSchedule {
            id: row.get(0),
            cron: row.get(1),
            time_zone: row.get(2),
            job_kind: row.get(3),
            payload: row.get(4),
            due: row.get(5),
        })
        .collect())
}

/// Moves the schedule past `now` and enqueues its job, in one transaction. Returns false when
/// another worker fired this occurrence first.
async fn fire_one(pool: &Pool, s: &DueSchedule, now: DateTime<Utc>) -> Result<bool, JobError> {
    let next = next_after(&s.cron, &s.time_zone, now.max(s.due))?;
    let mut client = pool.get().await?;
    let tx = service::begin(&mut client).await?;
    // The row lock taken here makes a concurrent firing wait, then find next_run_at moved.
    let won = tx
        .execute(
            "update public.cron_schedules set next_run_at = $2, last_run_at = $3
             where id = $1 and next_run_at = $3 and enabled",
            &[&s.id, &next, &s.due],
        )
        .await?;
    if won == 0 {
        return Ok(false);
    }
    let job = NewJob {
        dedupe_key: Some(occurrence_key(s.id, s.due)),
        ..NewJob::new(s.job_kind.clone(), s.payload.clone())
    };
    if let Some(job_id) = queue::insert(&tx, &job, Some(s.id)).await? {
        tx.execute(
            "update public.cron_schedules set last_job_id = $2 where id = $1",
            &[&s.id, &job_id],
        )
        .await?;
    }
    tx.commit().await?;
    info!(schedule.id = s.id, job.kind = %s.job_kind, due = %s.due, next = %next, "schedule fired");
    Ok(true)
}

fn occurrence_key(schedule_id: i64, due: DateTime<Utc>) -> String {
    format!(
        "schedule:{schedule_id}:{}",
        due.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    )
}
