//! Many workers, one database: every job runs exactly once and every due schedule occurrence
//! becomes exactly one job, however the workers race.

use std::time::Duration;

use gimbal_jobs::{
    Jobs, NewJob,
    schedule::{self, NewSchedule},
};
use serde_json::json;
use tokio::sync::watch;

use crate::support::{Runs, TestJobs, eventually, fast_config, recording_registry, service_tx};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_racing_over_200_jobs_run_each_exactly_once() {
    let t = TestJobs::new().await;
    let runs = Runs::default();
    {
        let mut client = t.pool.get().await.unwrap();
        let tx = service_tx(&mut client).await;
        for n in 0..200 {
            gimbal_jobs::enqueue(&tx, &NewJob::new("test.ok", json!({ "n": n })))
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
    }
    let (stop, shutdown) = watch::channel(false);
    let workers: Vec<_> = [t.pool.clone(), t.second_pool()]
        .into_iter()
        .map(|pool| {
            let jobs = Jobs::new(pool, recording_registry(&runs), fast_config());
            tokio::spawn(jobs.run(shutdown.clone()))
        })
        .collect();

    eventually(Duration::from_secs(20), "200 jobs to finish", || async {
        t.count("select count(*) from public.jobs where status = 'succeeded'")
            .await
            == 200
    })
    .await;
    stop.send(true).unwrap();
    for worker in workers {
        worker.await.unwrap().unwrap();
    }

    let runs = runs.snapshot();
    assert_eq!(runs.len(), 200);
    assert!(
        runs.values().all(|attempts| attempts == &[1]),
        "some job ran twice"
    );
    assert_eq!(
        t.count("select count(*) from public.jobs where attempts = 1")
            .await,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_ticks_run_each_job_exactly_once() {
    let t = TestJobs::new().await;
    let runs = Runs::default();
    for n in 0..40 {
        t.enqueue_now("test.ok", json!({ "n": n })).await;
    }
    let ticks: Vec<_> = (0..4)
        .map(|_| {
            let jobs = Jobs::new(t.second_pool(), recording_registry(&runs), fast_config());
            tokio::spawn(async move { jobs.tick(100).await.unwrap().jobs_run })
        })
        .collect();

    let mut total = 0;
    for tick in ticks {
        total += tick.await.unwrap();
    }

    assert_eq!(total, 40);
    assert!(runs.snapshot().values().all(|attempts| attempts == &[1]));
}

/// `n` every-minute schedules, all due since a minute and a half ago.
async fn due_schedules(t: &TestJobs, n: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(
            t.upsert_schedule(&NewSchedule::new(
                format!("every-minute-{i}"),
                "* * * * *",
                "test.ok",
            ))
            .await,
        );
    }
    t.sql("update public.cron_schedules set next_run_at = date_trunc('minute', now()) - interval '1 minute'")
        .await;
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_schedule_firings_enqueue_each_occurrence_once() {
    let t = TestJobs::new().await;
    let ids = due_schedules(&t, 10).await;
    let now = chrono::Utc::now();

    let firings: Vec<_> = (0..4)
        .map(|_| {
            let pool = t.second_pool();
            tokio::spawn(async move { schedule::fire_due(&pool, now).await.unwrap() })
        })
        .collect();
    let mut fired = 0;
    for firing in firings {
        fired += firing.await.unwrap();
    }

    assert_eq!(fired, 10);
    assert_eq!(t.count("select count(*) from public.jobs").await, 10);
    for id in ids {
        let sql = format!("select count(*) from public.jobs where schedule_id = {id}");
        assert_eq!(t.count(&sql).await, 1, "schedule {id}");
    }
    assert_eq!(
        t.count("select count(distinct dedupe_key) from public.jobs")
            .await,
        10
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_ticks_fire_each_due_schedule_once() {
    let t = TestJobs::new().await;
    let runs = Runs::default();
    due_schedules(&t, 5).await;

    let ticks: Vec<_> = (0..3)
        .map(|_| {
            let jobs = Jobs::new(t.second_pool(), recording_registry(&runs), fast_config());
            tokio::spawn(async move { jobs.tick(100).await.unwrap() })
        })
        .collect();
    let (mut fired, mut run) = (0, 0);
    for tick in ticks {
        let report = tick.await.unwrap();
        fired += report.schedules_fired;
        run += report.jobs_run;
    }

    assert_eq!((fired, run), (5, 5));
    assert_eq!(runs.jobs(), 5);
    assert_eq!(
        t.count("select count(*) from public.cron_schedules where next_run_at > now()")
            .await,
        5
    );
}
