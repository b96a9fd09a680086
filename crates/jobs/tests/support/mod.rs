//! `TestJobs`: a test database, the service pool, a superuser connection for fixtures, and typed
//! helpers to enqueue jobs, build workers with short timings and read jobs back.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use gimbal_db::{Access, Pool, RequestScope, harness::TestDatabase, postgres::Client};
use gimbal_jobs::{
    JobContext, JobFailure, Jobs, NewJob, Registry, WorkerConfig, enqueue,
    schedule::{self, NewSchedule},
};
use serde_json::{Value, json};

pub struct TestJobs {
    pub pool: Pool,
    pub superuser: Client,
    db: TestDatabase,
}

/// A job as stored, for assertions.
#[derive(Debug)]
pub struct JobRow {
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub locked_by: Option<String>,
    pub result: Option<Value>,
    pub schedule_id: Option<i64>,
    pub dedupe_key: Option<String>,
    /// `run_at - updated_at`: the retry delay the last failure chose.
    pub delay_secs: f64,
}

impl TestJobs {
    pub async fn new() -> Self {
        let db = TestDatabase::new().await;
        let superuser = db.superuser().await;
        TestJobs {
            pool: db.app_pool(8),
            superuser,
            db,
        }
    }

    /// Another pool on the same database, as a second worker process would have.
    pub fn second_pool(&self) -> Pool {
        self.db.app_pool(8)
    }

    pub fn jobs(&self, registry: Registry) -> Jobs {
        Jobs::new(self.pool.clone(), registry, fast_config())
    }

    pub fn jobs_with(&self, registry: Registry, config: WorkerConfig) -> Jobs {
        Jobs::new(self.pool.clone(), registry, config)
    }

    pub async fn enqueue(&self, job: NewJob) -> Option<i64> {
        let mut client = self.pool.get().await.expect("connection");
        let tx = service_tx(&mut client).await;
        let id = enqueue(&tx, &job).await.expect("enqueue");
        tx.commit().await.expect("commit");
        id
    }

    pub async fn enqueue_now(&self, kind: &str, payload: Value) -> i64 {
        self.enqueue(NewJob::new(kind, payload))
            .await
            .expect("new job id")
    }

    pub async fn upsert_schedule(&self, s: &NewSchedule) -> i64 {
        let mut client = self.pool.get().await.expect("connection");
        let tx = service_tx(&mut client).await;
        let id = schedule::upsert(&tx, s).await.expect("upsert schedule");
        tx.commit().await.expect("commit");
        id
    }

    pub async fn job(&self, id: i64) -> JobRow {
        let row = self
            .superuser
            .query_one(
                "select status, attempts, last_error, locked_by, result, schedule_id, dedupe_key,
                        extract(epoch from run_at - updated_at)::float8
                 from public.jobs where id = $1",
                &[&id],
            )
            .await
            .expect("job row");
        JobRow {
            status: row.get(0),
            attempts: row.get(1),
            last_error: row.get(2),
            locked_by: row.get(3),
            result: row.get(4),
            schedule_id: row.get(5),
            dedupe_key: row.get(6),
            delay_secs: row.get(7),
        }
    }

    /// A superuser connection of its own, shareable with handlers.
    pub async fn db_superuser(&self) -> Arc<Client> {
        Arc::new(self.db.superuser().await)
    }

    pub async fn count(&self, sql: &str) -> i64 {
        self.superuser
            .query_one(sql, &[])
            .await
            .expect("count")
            .get(0)
    }

    pub async fn sql(&self, sql: &str) {
        self.superuser
            .batch_execute(sql)
            .await
            .expect("fixture sql");
    }

    /// Makes a queued job due now, skipping whatever delay a retry gave it.
    pub async fn make_due(&self, id: i64) {
        self.superuser
            .execute(
                "update public.jobs set run_at = now() where id = $1",
                &[&id],
            )
            .await
            .expect("make due");
    }
}

pub async fn service_tx(client: &mut Client) -> gimbal_db::Transaction<'_> {
    gimbal_db::scope::begin(client, &RequestScope::service("test"), Access::ReadWrite)
        .await
        .expect("service transaction")
}

/// Worker settings with timings short enough for tests.
pub fn fast_config() -> WorkerConfig {
    WorkerConfig {
        concurrency: 4,
        poll_interval: Duration::from_millis(20),
        lease: Duration::from_secs(30),
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(50),
        run_scheduler: false,
        ..WorkerConfig::default()
    }
}

/// Records every run: job id to the attempt numbers it ran with.
#[derive(Clone, Default)]
pub struct Runs(Arc<Mutex<HashMap<i64, Vec<i32>>>>);

impl Runs {
    pub fn record(&self, ctx: &JobContext) {
        self.0
            .lock()
            .unwrap()
            .entry(ctx.job_id)
            .or_default()
            .push(ctx.attempt);
    }

    pub fn of(&self, id: i64) -> Vec<i32> {
        self.0.lock().unwrap().get(&id).cloned().unwrap_or_default()
    }

    pub fn jobs(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    pub fn snapshot(&self) -> HashMap<i64, Vec<i32>> {
        self.0.lock().unwrap().clone()
    }
}

/// A registry whose `test.ok` handler records the run and echoes its payload.
pub fn recording_registry(runs: &Runs) -> Registry {
    let mut registry = Registry::default();
    let runs = runs.clone();
    registry.register("test.ok", move |ctx, payload| {
        let runs = runs.clone();
        async move {
            runs.record(&ctx);
            Ok(json!({ "echo": payload }))
        }
    });
    registry
}

/// A registry whose `test.flaky` handler fails with `failure` until attempt `succeed_on`.
pub fn flaky_registry(runs: &Runs, succeed_on: i32, failure: JobFailure) -> Registry {
    let mut registry = Registry::default();
    let runs = runs.clone();
    registry.register("test.flaky", move |ctx: JobContext, _payload| {
        let (runs, failure) = (runs.clone(), failure.clone());
        async move {
            runs.record(&ctx);
            if ctx.attempt >= succeed_on {
                Ok(json!({ "attempt": ctx.attempt }))
            } else {
                Err(failure)
            }
        }
    });
    registry
}

/// Polls `check` every 10 ms until it holds, failing the test after `limit`.
pub async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
