//! The built-in `maintenance.purge_jobs` job.

use gimbal_jobs::{NewJob, Registry};
use serde_json::json;

use crate::support::TestJobs;

#[tokio::test]
async fn purge_jobs_deletes_only_finished_jobs_older_than_the_retention() {
    let t = TestJobs::new().await;
    t.sql(
        "insert into public.jobs (kind, status, finished_at) values
           ('old.succeeded', 'succeeded', now() - interval '20 days'),
           ('old.dead', 'dead', now() - interval '20 days'),
           ('old.cancelled', 'cancelled', now() - interval '20 days'),
           ('recent.succeeded', 'succeeded', now() - interval '2 days');
         insert into public.jobs (kind, status, run_at) values ('old.queued', 'queued', now() + interval '1 day')",
    )
    .await;
    let purge = t
        .enqueue(NewJob::new("maintenance.purge_jobs", json!({})))
        .await
        .unwrap();

    t.jobs(Registry::with_builtins()).tick(10).await.unwrap();

    let job = t.job(purge).await;
    assert_eq!(job.status, "succeeded");
    assert_eq!(
        job.result,
        Some(json!({ "deleted": 3, "older_than_days": 14 }))
    );
    assert_eq!(
        t.count("select count(*) from public.jobs where kind like 'old.%'")
            .await,
        1
    );
    assert_eq!(
        t.count("select count(*) from public.jobs where kind = 'recent.succeeded'")
            .await,
        1
    );
}

#[tokio::test]
async fn purge_jobs_honours_older_than_days() {
    let t = TestJobs::new().await;
    t.sql("insert into public.jobs (kind, status, finished_at) values ('a', 'succeeded', now() - interval '2 days')")
        .await;
    let purge = t
        .enqueue(NewJob::new(
            "maintenance.purge_jobs",
            json!({ "older_than_days": 1 }),
        ))
        .await;

    t.jobs(Registry::with_builtins()).tick(10).await.unwrap();

    assert_eq!(
        t.job(purge.unwrap()).await.result,
        Some(json!({ "deleted": 1, "older_than_days": 1 }))
    );
}

#[test]
fn builtins_include_purge_jobs() {
    assert_eq!(
        Registry::with_builtins().kinds(),
        ["maintenance.purge_jobs"]
    );
}
