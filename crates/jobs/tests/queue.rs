//! Enqueueing (atomic with the caller's transaction, dedupe keys), ticks and queue depth.

use chrono::{TimeDelta, Utc};
use gimbal_jobs::{NewJob, enqueue};
use serde_json::json;

use crate::support::{Runs, TestJobs, recording_registry, service_tx};

#[tokio::test]
async fn enqueue_returns_the_new_job_id_and_queues_it() {
    let t = TestJobs::new().await;

    let id = t.enqueue_now("test.ok", json!({ "n": 1 })).await;

    let job = t.job(id).await;
    assert_eq!((job.status.as_str(), job.attempts), ("queued", 0));
}

#[tokio::test]
async fn enqueue_rolls_back_with_the_callers_transaction() {
    let t = TestJobs::new().await;
    let mut client = t.pool.get().await.unwrap();

    let tx = service_tx(&mut client).await;
    enqueue(&tx, &NewJob::new("test.ok", json!({})))
        .await
        .unwrap()
        .unwrap();
    tx.rollback().await.unwrap();

    assert_eq!(t.count("select count(*) from public.jobs").await, 0);
}

#[tokio::test]
async fn enqueue_with_a_live_dedupe_key_returns_none() {
    let t = TestJobs::new().await;
    let job = NewJob {
        dedupe_key: Some("report:42".into()),
        ..NewJob::new("test.ok", json!({}))
    };

    let first = t.enqueue(job.clone()).await;
    let second = t.enqueue(job).await;

    assert!(first.is_some());
    assert_eq!(second, None);
    assert_eq!(t.count("select count(*) from public.jobs").await, 1);
}

#[tokio::test]
async fn dedupe_key_is_free_again_once_the_job_has_finished() {
    let t = TestJobs::new().await;
    let runs = Runs::default();
    let job = NewJob {
        dedupe_key: Some("sync:7".into()),
        ..NewJob::new("test.ok", json!({}))
    };
    let first = t.enqueue(job.clone()).await.unwrap();

    t.jobs(recording_registry(&runs)).tick(10).await.unwrap();
    let again = t.enqueue(job).await;

    assert_eq!(t.job(first).await.status, "succeeded");
    assert!(again.is_some_and(|id| id != first));
}

#[tokio::test]
async fn invalid_kind_is_rejected_by_the_database() {
    let t = TestJobs::new().await;
    let mut client = t.pool.get().await.unwrap();
    let tx = service_tx(&mut client).await;

    let err = enqueue(&tx, &NewJob::new("Not A Kind", json!({})))
        .await
        .unwrap_err();

    assert!(err.to_string().contains("jobs_kind_check"), "{err}");
}

#[tokio::test]
async fn tick_runs_due_jobs_once_and_returns() {
    let t = TestJobs::new().await;
    let runs = Runs::default();
    let jobs = t.jobs(recording_registry(&runs));
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(t.enqueue_now("test.ok", json!({ "n": n })).await);
    }
    let later = NewJob {
        run_at: Some(Utc::now() + TimeDelta::hours(1)),
        ..NewJob::new("test.ok", json!({}))
    };
    let later = t.enqueue(later).await.unwrap();

    let first = jobs.tick(10).await.unwrap();
    let second = jobs.tick(10).await.unwrap();

    assert_eq!((first.jobs_run, first.jobs_failed), (3, 0));
    assert_eq!(second.jobs_run, 0);
    for id in ids {
        assert_eq!(runs.of(id), [1]);
        let job = t.job(id).await;
        assert_eq!(job.status, "succeeded");
        assert_eq!(job.locked_by, None);
        assert!(job.result.unwrap()["echo"]["n"].is_number());
    }
    assert_eq!(t.job(later).await.status, "queued");
    assert!(runs.of(later).is_empty());
}

#[tokio::test]
async fn tick_stops_at_max_jobs() {
    let t = TestJobs::new().await;
    let runs = Runs::default();
    for n in 0..5 {
        t.enqueue_now("test.ok", json!({ "n": n })).await;
    }

    let report = t.jobs(recording_registry(&runs)).tick(2).await.unwrap();

    assert_eq!(report.jobs_run, 2);
    assert_eq!(
        t.count("select count(*) from public.jobs where status = 'queued'")
            .await,
        3
    );
}

#[tokio::test]
async fn higher_priority_jobs_run_first() {
    let t = TestJobs::new().await;
    let runs = Runs::default();
    let low = t.enqueue_now("test.ok", json!({})).await;
    let high = t
        .enqueue(NewJob {
            priority: 10,
            ..NewJob::new("test.ok", json!({}))
        })
        .await
        .unwrap();

    t.jobs(recording_registry(&runs)).tick(1).await.unwrap();

    assert_eq!(runs.of(high), [1]);
    assert!(runs.of(low).is_empty());
}

#[tokio::test]
async fn queue_depth_lists_every_status() {
    let t = TestJobs::new().await;
    let runs = Runs::default();
    let jobs = t.jobs(recording_registry(&runs));
    t.enqueue_now("test.ok", json!({})).await;
    jobs.tick(1).await.unwrap();
    t.enqueue_now("test.ok", json!({})).await;
    t.enqueue_now("test.ok", json!({})).await;

    let depth = jobs.queue_depth().await.unwrap();

    let expected = [
        ("cancelled", 0),
        ("dead", 0),
        ("queued", 2),
        ("running", 0),
        ("succeeded", 1),
    ];
    let expected: Vec<(String, i64)> = expected.iter().map(|(s, n)| (s.to_string(), *n)).collect();
    assert_eq!(depth, expected);
}
