//! The worker loop: it runs jobs as they arrive, fires schedules when it leads, and on shutdown
//! finishes the jobs in hand without starting new ones.

use std::{sync::Arc, time::Duration};

use gimbal_jobs::{Jobs, Registry, WorkerConfig, schedule::NewSchedule};
use serde_json::json;
use tokio::sync::{Notify, watch};

use crate::support::{Runs, TestJobs, eventually, fast_config, recording_registry};

#[tokio::test]
async fn worker_shutdown_finishes_in_flight_work_and_starts_nothing_new() {
    let t = TestJobs::new().await;
    let started = Arc::new(Notify::new());
    let mut registry = Registry::default();
    let signal = started.clone();
    registry.register("test.slow", move |_ctx, _payload| {
        let signal = signal.clone();
        async move {
            signal.notify_one();
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok(json!({ "finished": true }))
        }
    });
    let first = t.enqueue_now("test.slow", json!({})).await;
    let second = t.enqueue_now("test.slow", json!({})).await;
    let config = WorkerConfig {
        concurrency: 1,
        ..fast_config()
    };
    let (stop, shutdown) = watch::channel(false);
    let worker = tokio::spawn(t.jobs_with(registry, config).run(shutdown));

    started.notified().await;
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), worker)
        .await
        .unwrap()
        .unwrap()
        .unwrap();

    let done = t.job(first).await;
    assert_eq!(done.status, "succeeded");
    assert_eq!(done.result, Some(json!({ "finished": true })));
    assert_eq!(done.locked_by, None);
    let untouched = t.job(second).await;
    assert_eq!(
        (untouched.status.as_str(), untouched.attempts),
        ("queued", 0)
    );
}

#[tokio::test]
async fn worker_picks_up_jobs_enqueued_while_it_polls() {
    let t = TestJobs::new().await;
    let runs = Runs::default();
    let (stop, shutdown) = watch::channel(false);
    let worker = tokio::spawn(t.jobs(recording_registry(&runs)).run(shutdown));

    tokio::time::sleep(Duration::from_millis(50)).await;
    let id = t.enqueue_now("test.ok", json!({})).await;
    eventually(Duration::from_secs(5), "the job to run", || async {
        !runs.of(id).is_empty()
    })
    .await;
    stop.send(true).unwrap();
    worker.await.unwrap().unwrap();

    assert_eq!(runs.of(id), [1]);
}

#[tokio::test]
async fn worker_stops_when_the_shutdown_sender_is_dropped() {
    let t = TestJobs::new().await;
    let (stop, shutdown) = watch::channel(false);
    let worker = tokio::spawn(t.jobs(Registry::default()).run(shutdown));

    drop(stop);

    tokio::time::timeout(Duration::from_secs(5), worker)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn leading_worker_fires_due_schedules_and_runs_their_jobs() {
    let t = TestJobs::new().await;
    let runs = Runs::default();
    let id = t
        .upsert_schedule(&NewSchedule::new("tick", "* * * * *", "test.ok"))
        .await;
    t.sql("update public.cron_schedules set next_run_at = now() - interval '1 second'")
        .await;
    let config = WorkerConfig {
        run_scheduler: true,
        ..fast_config()
    };
    let (stop, shutdown) = watch::channel(false);
    let worker =
        tokio::spawn(Jobs::new(t.pool.clone(), recording_registry(&runs), config).run(shutdown));

    let sql = format!(
        "select count(*) from public.jobs where schedule_id = {id} and status = 'succeeded'"
    );
    eventually(Duration::from_secs(5), "the scheduled job", || async {
        t.count(&sql).await == 1
    })
    .await;
    stop.send(true).unwrap();
    worker.await.unwrap().unwrap();

    assert_eq!(runs.jobs(), 1);
}
