//! Leases: a crashed worker's job is reclaimed when its lease expires, a long job keeps its
//! lease with heartbeats, and a worker that lost its lease cannot record an outcome.

use std::time::Duration;

use gimbal_jobs::{Registry, WorkerConfig};
use serde_json::json;

use crate::support::{Runs, TestJobs, fast_config, recording_registry};

/// Marks the job as held by a worker that stopped heartbeating; `expired` puts its lease in
/// the past.
async fn held_by_crashed_worker(t: &TestJobs, id: i64, attempts: i32, expired: bool) {
    let until = if expired {
        "now() - interval '1 second'"
    } else {
        "now() + interval '1 hour'"
    };
    t.sql(&format!(
        "update public.jobs set status = 'running', attempts = {attempts}, locked_by = 'crashed-worker',
                locked_until = {until}, started_at = now() where id = {id}"
    ))
    .await;
}

#[tokio::test]
async fn job_of_a_crashed_worker_is_reclaimed_once_its_lease_expires() {
    let t = TestJobs::new().await;
    let runs = Runs::default();
    let jobs = t.jobs(recording_registry(&runs));
    let id = t.enqueue_now("test.ok", json!({})).await;
    held_by_crashed_worker(&t, id, 1, false).await;

    let while_leased = jobs.tick(10).await.unwrap();
    held_by_crashed_worker(&t, id, 1, true).await;
    let after_expiry = jobs.tick(10).await.unwrap();

    assert_eq!(while_leased.jobs_run, 0);
    assert_eq!(after_expiry.jobs_run, 1);
    assert_eq!(runs.of(id), [2]);
    let job = t.job(id).await;
    assert_eq!(
        (job.status.as_str(), job.attempts, job.locked_by),
        ("succeeded", 2, None)
    );
}

#[tokio::test]
async fn expired_lease_on_the_last_attempt_sends_the_job_to_dead_letters() {
    let t = TestJobs::new().await;
    let runs = Runs::default();
    let id = t.enqueue_now("test.ok", json!({})).await;
    held_by_crashed_worker(&t, id, 5, true).await;

    let report = t.jobs(recording_registry(&runs)).tick(10).await.unwrap();

    assert_eq!(report.jobs_run, 0);
    assert!(runs.of(id).is_empty());
    let job = t.job(id).await;
    assert_eq!(job.status, "dead");
    assert_eq!(
        job.last_error.as_deref(),
        Some("lease expired after 5 attempts")
    );
}

#[tokio::test]
async fn long_job_keeps_its_lease_with_heartbeats() {
    let t = TestJobs::new().await;
    let mut registry = Registry::default();
    registry.register("test.slow", |_ctx, _payload| async move {
        tokio::time::sleep(Duration::from_millis(900)).await;
        Ok(json!({}))
    });
    let lease = WorkerConfig {
        lease: Duration::from_millis(300),
        ..fast_config()
    };
    let slow = t.jobs_with(registry, lease.clone());
    let other = t.jobs_with(recording_registry(&Runs::default()), lease);
    let id = t.enqueue_now("test.slow", json!({})).await;

    let running = tokio::spawn(async move { slow.tick(1).await });
    tokio::time::sleep(Duration::from_millis(600)).await;
    let meanwhile = other.tick(10).await.unwrap();
    let report = running.await.unwrap().unwrap();

    assert_eq!(
        meanwhile.jobs_run, 0,
        "the job was taken over despite its heartbeat"
    );
    assert_eq!(report.jobs_run, 1);
    let job = t.job(id).await;
    assert_eq!((job.status.as_str(), job.attempts), ("succeeded", 1));
}

#[tokio::test]
async fn worker_that_lost_its_lease_cannot_overwrite_the_new_holder() {
    let t = TestJobs::new().await;
    let mut registry = Registry::default();
    let superuser = t.db_superuser().await;
    registry.register("test.outlived", move |ctx, _payload| {
        let superuser = superuser.clone();
        async move {
            // Meanwhile the lease expired and another worker claimed the job.
            superuser
                .execute(
                    "update public.jobs set locked_by = 'new-holder' where id = $1",
                    &[&ctx.job_id],
                )
                .await
                .unwrap();
            Ok(json!({ "late": true }))
        }
    });
    let id = t.enqueue_now("test.outlived", json!({})).await;

    t.jobs(registry).tick(10).await.unwrap();

    let job = t.job(id).await;
    assert_eq!(job.status, "running");
    assert_eq!(job.locked_by.as_deref(), Some("new-holder"));
    assert_eq!(job.result, None);
}
