//! Stored schedules: upserting, firing due occurrences once, catching up after downtime without
//! a backfill storm, and planning schedules that have no next run yet.

use chrono::{DateTime, Utc};
use gimbal_jobs::{
    JobError, ScheduleError,
    schedule::{self, NewSchedule},
};
use serde_json::json;

use crate::support::{TestJobs, service_tx};

async fn next_run(t: &TestJobs, id: i64) -> Option<DateTime<Utc>> {
    t.superuser
        .query_one(
            "select next_run_at from public.cron_schedules where id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn upsert_computes_the_next_run_and_updates_by_name() {
    let t = TestJobs::new().await;
    let mut nightly = NewSchedule::new("nightly-report", "0 3 * * *", "reports.nightly");
    nightly.time_zone = "Europe/Berlin".into();

    let id = t.upsert_schedule(&nightly).await;
    let first = next_run(&t, id).await.unwrap();
    nightly.cron = "30 4 * * *".into();
    nightly.payload = json!({ "format": "pdf" });
    let same_id = t.upsert_schedule(&nightly).await;

    assert_eq!(same_id, id);
    assert_eq!(
        first,
        schedule::next_after("0 3 * * *", "Europe/Berlin", Utc::now()).unwrap()
    );
    let second = next_run(&t, id).await.unwrap();
    assert_eq!(
        second,
        schedule::next_after("30 4 * * *", "Europe/Berlin", Utc::now()).unwrap()
    );
    let payload: serde_json::Value = t
        .superuser
        .query_one(
            "select payload from public.cron_schedules where id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(payload, json!({ "format": "pdf" }));
}

#[tokio::test]
async fn upsert_keeps_a_due_run_when_the_timing_is_unchanged() {
    let t = TestJobs::new().await;
    let s = NewSchedule::new("sync", "*/5 * * * *", "sync.run");
    let id = t.upsert_schedule(&s).await;
    t.sql("update public.cron_schedules set next_run_at = now() - interval '1 minute'")
        .await;
    let due = next_run(&t, id).await;

    t.upsert_schedule(&s).await;

    assert_eq!(next_run(&t, id).await, due);
}

#[tokio::test]
async fn upsert_rejects_an_invalid_cron_naming_the_field() {
    let t = TestJobs::new().await;
    let mut client = t.pool.get().await.unwrap();
    let tx = service_tx(&mut client).await;

    let err = schedule::upsert(&tx, &NewSchedule::new("bad", "0 25 * * *", "x.y"))
        .await
        .unwrap_err();

    assert!(
        matches!(
            err,
            JobError::Schedule(ScheduleError::Field { field: "hour", .. })
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("hour"), "{err}");
}

#[tokio::test]
async fn schedule_missed_for_days_fires_once_then_moves_to_the_future() {
    let t = TestJobs::new().await;
    let id = t
        .upsert_schedule(&NewSchedule::new("often", "*/5 * * * *", "test.ok"))
        .await;
    t.sql("update public.cron_schedules set next_run_at = now() - interval '3 days'")
        .await;
    let now = Utc::now();

    let fired = schedule::fire_due(&t.pool, now).await.unwrap();
    let again = schedule::fire_due(&t.pool, now).await.unwrap();

    assert_eq!((fired, again), (1, 0));
    assert_eq!(t.count("select count(*) from public.jobs").await, 1);
    let next = next_run(&t, id).await.unwrap();
    assert!(
        next > now && next <= now + chrono::TimeDelta::minutes(5),
        "{next}"
    );
}

#[tokio::test]
async fn fired_job_records_its_schedule_and_occurrence() {
    let t = TestJobs::new().await;
    let mut s = NewSchedule::new("digest", "0 * * * *", "digest.send");
    s.payload = json!({ "channel": "email" });
    let id = t.upsert_schedule(&s).await;
    t.sql("update public.cron_schedules set next_run_at = '2025-01-01T10:00:00Z'")
        .await;

    schedule::fire_due(&t.pool, Utc::now()).await.unwrap();

    let row = t
        .superuser
        .query_one(
            "select j.id, j.kind, j.payload, c.last_job_id, c.last_run_at
             from public.jobs j join public.cron_schedules c on c.id = j.schedule_id",
            &[],
        )
        .await
        .unwrap();
    let job_id: i64 = row.get(0);
    let job = t.job(job_id).await;
    assert_eq!(job.schedule_id, Some(id));
    assert_eq!(
        job.dedupe_key,
        Some(format!("schedule:{id}:2025-01-01T10:00:00Z"))
    );
    assert_eq!(row.get::<_, String>(1), "digest.send");
    assert_eq!(
        row.get::<_, serde_json::Value>(2),
        json!({ "channel": "email" })
    );
    assert_eq!(row.get::<_, Option<i64>>(3), Some(job_id));
    assert_eq!(
        row.get::<_, Option<DateTime<Utc>>>(4),
        Some("2025-01-01T10:00:00Z".parse().unwrap())
    );
}

#[tokio::test]
async fn schedule_without_a_next_run_is_planned_not_fired() {
    let t = TestJobs::new().await;
    t.sql("insert into public.cron_schedules (name, cron, job_kind) values ('raw', '0 3 * * *', 'test.ok')")
        .await;

    let fired = schedule::fire_due(&t.pool, Utc::now()).await.unwrap();

    assert_eq!(fired, 0);
    assert_eq!(t.count("select count(*) from public.jobs").await, 0);
    assert_eq!(
        t.count("select count(*) from public.cron_schedules where next_run_at > now()")
            .await,
        1
    );
}

#[tokio::test]
async fn disabled_schedule_does_not_fire() {
    let t = TestJobs::new().await;
    t.upsert_schedule(&NewSchedule::new("off", "* * * * *", "test.ok"))
        .await;
    t.sql(
        "update public.cron_schedules set enabled = false, next_run_at = now() - interval '1 hour'",
    )
    .await;

    let fired = schedule::fire_due(&t.pool, Utc::now()).await.unwrap();

    assert_eq!(fired, 0);
    assert_eq!(t.count("select count(*) from public.jobs").await, 0);
}
