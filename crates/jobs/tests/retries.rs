//! Failure handling: retries with exponential backoff, Retry-After, dead letters after
//! max_attempts, permanent failures, panics and unknown kinds.

use std::time::Duration;

use gimbal_jobs::{JobFailure, NewJob, Registry, WorkerConfig};
use serde_json::json;

use crate::support::{Runs, TestJobs, fast_config, flaky_registry};

fn backoff_config(base_ms: u64, max_ms: u64) -> WorkerConfig {
    WorkerConfig {
        backoff_base: Duration::from_millis(base_ms),
        backoff_max: Duration::from_millis(max_ms),
        ..fast_config()
    }
}

#[tokio::test]
async fn failing_job_retries_with_backoff_then_succeeds() {
    let t = TestJobs::new().await;
    let runs = Runs::default();
    let registry = flaky_registry(&runs, 3, JobFailure::retry("provider answered 503"));
    let jobs = t.jobs_with(registry, backoff_config(2_000, 60_000));
    let id = t.enqueue_now("test.flaky", json!({})).await;

    let first = jobs.tick(10).await.unwrap();
    let after_first = t.job(id).await;
    let too_soon = jobs.tick(10).await.unwrap();
    t.make_due(id).await;
    jobs.tick(10).await.unwrap();
    let after_second = t.job(id).await;
    t.make_due(id).await;
    jobs.tick(10).await.unwrap();

    assert_eq!((first.jobs_run, first.jobs_failed), (1, 1));
    assert_eq!(after_first.status, "queued");
    assert_eq!(
        after_first.last_error.as_deref(),
        Some("provider answered 503")
    );
    assert!(
        (1.6..=2.4).contains(&after_first.delay_secs),
        "{}",
        after_first.delay_secs
    );
    assert_eq!(too_soon.jobs_run, 0, "a retried job waits for its backoff");
    assert!(
        (3.2..=4.8).contains(&after_second.delay_secs),
        "{}",
        after_second.delay_secs
    );
    let done = t.job(id).await;
    assert_eq!((done.status.as_str(), done.attempts), ("succeeded", 3));
    assert_eq!(done.result, Some(json!({ "attempt": 3 })));
    assert_eq!(runs.of(id), [1, 2, 3]);
}

#[tokio::test]
async fn job_is_dead_after_max_attempts() {
    let t = TestJobs::new().await;
    let runs = Runs::default();
    let registry = flaky_registry(&runs, i32::MAX, JobFailure::retry("still down"));
    let jobs = t.jobs(registry);
    let job = NewJob {
        max_attempts: 3,
        ..NewJob::new("test.flaky", json!({}))
    };
    let id = t.enqueue(job).await.unwrap();

    for _ in 0..3 {
        jobs.tick(10).await.unwrap();
        t.make_due(id).await;
    }
    let after_dead = jobs.tick(10).await.unwrap();

    let job = t.job(id).await;
    assert_eq!((job.status.as_str(), job.attempts), ("dead", 3));
    assert_eq!(
        job.last_error.as_deref(),
        Some("still down (gave up after 3 attempts)")
    );
    assert_eq!(job.locked_by, None);
    assert_eq!(after_dead.jobs_run, 0);
    assert_eq!(runs.of(id), [1, 2, 3]);
}

#[tokio::test]
async fn permanent_failure_is_dead_at_once() {
    let t = TestJobs::new().await;
    let runs = Runs::default();
    let registry = flaky_registry(
        &runs,
        i32::MAX,
        JobFailure::permanent("contact 9 does not exist"),
    );
    let id = t.enqueue_now("test.flaky", json!({})).await;

    let report = t.jobs(registry).tick(10).await.unwrap();

    let job = t.job(id).await;
    assert_eq!((report.jobs_run, report.jobs_failed), (1, 1));
    assert_eq!((job.status.as_str(), job.attempts), ("dead", 1));
    assert_eq!(job.last_error.as_deref(), Some("contact 9 does not exist"));
}

#[tokio::test]
async fn retry_after_is_honoured_when_longer_than_the_backoff() {
    let t = TestJobs::new().await;
    let runs = Runs::default();
    let failure = JobFailure::retry_after("429 Too Many Requests", Duration::from_secs(3600));
    let id = t.enqueue_now("test.flaky", json!({})).await;

    t.jobs(flaky_registry(&runs, 2, failure))
        .tick(10)
        .await
        .unwrap();

    let job = t.job(id).await;
    assert_eq!(job.status, "queued");
    assert!(
        (3599.0..=3601.0).contains(&job.delay_secs),
        "{}",
        job.delay_secs
    );
}

#[tokio::test]
async fn backoff_wins_when_retry_after_is_shorter() {
    let t = TestJobs::new().await;
    let runs = Runs::default();
    let failure = JobFailure::retry_after("429", Duration::from_millis(1));
    let jobs = t.jobs_with(
        flaky_registry(&runs, 2, failure),
        backoff_config(60_000, 60_000),
    );
    let id = t.enqueue_now("test.flaky", json!({})).await;

    jobs.tick(10).await.unwrap();

    let delay = t.job(id).await.delay_secs;
    assert!((48.0..=72.0).contains(&delay), "{delay}");
}

#[tokio::test]
async fn tick_does_not_rerun_a_job_it_has_just_retried() {
    let t = TestJobs::new().await;
    let runs = Runs::default();
    let registry = flaky_registry(&runs, i32::MAX, JobFailure::retry("flaky"));
    let jobs = t.jobs_with(registry, backoff_config(0, 0));
    let id = t.enqueue_now("test.flaky", json!({})).await;

    let report = jobs.tick(10).await.unwrap();

    assert_eq!((report.jobs_run, report.jobs_failed), (1, 1));
    assert_eq!(runs.of(id), [1]);
}

#[tokio::test]
async fn panicking_handler_counts_as_a_retryable_failure() {
    let t = TestJobs::new().await;
    let mut registry = Registry::default();
    registry.register("test.panics", |_ctx, _payload| async move {
        if true {
            panic!("index out of bounds");
        }
        Ok(json!({}))
    });
    let id = t.enqueue_now("test.panics", json!({})).await;

    let report = t.jobs(registry).tick(10).await.unwrap();

    let job = t.job(id).await;
    assert_eq!((report.jobs_run, report.jobs_failed), (1, 1));
    assert_eq!((job.status.as_str(), job.attempts), ("queued", 1));
    assert_eq!(
        job.last_error.as_deref(),
        Some("handler panicked: index out of bounds")
    );
}

#[tokio::test]
async fn unknown_kind_is_dead_with_a_clear_error() {
    let t = TestJobs::new().await;
    let id = t.enqueue_now("nobody.handles.this", json!({})).await;

    t.jobs(Registry::with_builtins()).tick(10).await.unwrap();

    let job = t.job(id).await;
    assert_eq!(job.status, "dead");
    let error = job.last_error.unwrap();
    assert!(
        error.contains("no handler is registered for job kind \"nobody.handles.this\""),
        "{error}"
    );
}
