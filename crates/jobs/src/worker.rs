//! The worker: claims due jobs, runs their handlers (with a heartbeat that keeps the lease),
//! records each outcome with retry backoff and dead letters, and, on the elected leader, fires
//! cron schedules. [`Jobs::tick`] does one round of this; [`Jobs::run`] loops until shutdown.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use gimbal_db::Pool;
use rand::Rng;
use serde::Serialize;
use tokio::{sync::watch, task::JoinSet};
use tracing::{Instrument, debug, error, info, info_span, warn};

use crate::{
    JobContext, JobError, JobFailure, JobHandler, JobResult, Registry,
    leader::{self, LeaderGuard},
    queue::{self, ClaimedJob},
    schedule,
};

/// How a worker behaves. Every duration is configurable so tests can run with short ones.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Written to `locked_by`; unique per process.
    pub worker_id: String,
    /// Jobs run at once.
    pub concurrency: usize,
    /// Pause between claims when the queue is empty (and between scheduler rounds).
    pub poll_interval: Duration,
    /// How long a claimed job is reserved; the heartbeat renews it every third of this.
    pub lease: Duration,
    /// First retry delay; doubles with each attempt up to `backoff_max`, with ±20% jitter.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Whether this process competes for scheduler leadership.
    pub run_scheduler: bool,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            worker_id: default_worker_id(),
            concurrency: 4,
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(5 * 60),
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(60 * 60),
            run_scheduler: true,
        }
    }
}

impl WorkerConfig {
    /// Delay before retrying after failed attempt number `attempts` (1-based):
    /// `min(base * 2^(attempts-1), max)`, then ±20% jitter so failed jobs do not retry in step.
    pub fn backoff(&self, attempts: i32) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1))
            .unwrap_or(0)
            .min(31);
        let delay = self
            .backoff_base
            .saturating_mul(1 << doublings)
            .min(self.backoff_max);
        delay.mul_f64(rand::thread_rng().gen_range(0.8..=1.2))
    }

    /// The heartbeat period: a third of the lease, so two beats can fail before it expires.
    fn heartbeat(&self) -> Duration {
        (self.lease / 3).max(Duration::from_millis(10))
    }
}

/// `<hostname>-<pid>-<random>`: readable in `locked_by`, unique even across restarts.
fn default_worker_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".into());
    let suffix: u32 = rand::thread_rng().gen_range(0..0x100_0000);
    format!("{host}-{}-{suffix:06x}", std::process::id())
}

/// What one `tick` did.
#[derive(Debug, Default, Serialize)]
pub struct TickReport {
    pub schedules_fired: usize,
    /// Jobs whose handler ran (or that had none), successful or not.
    pub jobs_run: usize,
    /// Of `jobs_run`, those that failed (retried later or dead).
    pub jobs_failed: usize,
}

/// How a run ended, as far as this worker knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Succeeded,
    Retried,
    Dead,
    /// The outcome could not be recorded (lease lost or database error); the lease will expire.
    Unrecorded,
}

/// The job system: queue, handlers and worker settings. Cheap to clone.
#[derive(Clone)]
pub struct Jobs {
    pool: Pool,
    registry: Arc<Registry>,
    config: Arc<WorkerConfig>,
}

impl Jobs {
    pub fn new(pool: Pool, registry: Registry, config: WorkerConfig) -> Self {
        Jobs {
            pool,
            registry: Arc::new(registry),
            config: Arc::new(config),
        }
    }

    pub fn config(&self) -> &WorkerConfig {
        &self.config
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Fires due schedules and runs the jobs due when the tick started (up to `max_jobs`), then
    /// returns. Used by the `cron` function that pg_cron ticks, and by tests. Safe to call from
    /// many processes at once. A job that fails and is retried is not run again by the same tick.
    pub async fn tick(&self, max_jobs: usize) -> Result<TickReport, JobError> {
        let mut report = TickReport {
            schedules_fired: schedule::fire_due(&self.pool, Utc::now()).await?,
            ..TickReport::default()
        };
        let due_by = queue::database_now(&self.pool).await?;
        while report.jobs_run < max_jobs {
            let batch = (max_jobs - report.jobs_run).min(self.config.concurrency.max(1));
            let jobs = self.claim(batch, Some(due_by)).await?;
            if jobs.is_empty() {
                break;
            }
            for outcome in self.execute_all(jobs).await? {
                report.jobs_run += 1;
                report.jobs_failed +=
                    usize::from(matches!(outcome, Outcome::Retried | Outcome::Dead));
            }
        }
        Ok(report)
    }

    /// The worker loop until `shutdown` flips to true (or its sender is dropped): the
    /// leader-elected scheduler plus `concurrency` job runners. On shutdown no new job starts;
    /// the jobs in hand run to the end and their leases are released.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> Result<(), JobError> {
        info!(worker.id = %self.config.worker_id, concurrency = self.config.concurrency, "worker started");
        let scheduler = self
            .config
            .run_scheduler
            .then(|| tokio::spawn(self.clone().schedule_loop(shutdown.clone())));
        self.dispatch_loop(&mut shutdown).await;
        if let Some(task) = scheduler {
            task.await.map_err(|e| JobError::Worker(e.to_string()))?;
        }
        info!(worker.id = %self.config.worker_id, "worker stopped");
        Ok(())
    }

    /// Jobs per status (every status, zero included), for the queue-depth gauge.
    pub async fn queue_depth(&self) -> Result<Vec<(String, i64)>, JobError> {
        queue::depth(&self.pool).await
    }

    async fn claim(
        &self,
        limit: usize,
        due_by: Option<chrono::DateTime<Utc>>,
    ) -> Result<Vec<ClaimedJob>, JobError> {
        let worker = &self.config.worker_id;
        queue::claim(&self.pool, worker, self.config.lease, limit, due_by).await
    }

    async fn execute_all(&self, jobs: Vec<ClaimedJob>) -> Result<Vec<Outcome>, JobError> {
        let mut running = JoinSet::new();
        for job in jobs {
            let this = self.clone();
            running.spawn(async move { this.execute(job).await });
        }
        let mut outcomes = Vec::new();
        while let Some(joined) = running.join_next().await {
            outcomes.push(joined.map_err(|e| JobError::Worker(e.to_string()))?);
        }
        Ok(outcomes)
    }

    /// Claims and starts jobs until the queue is empty or every slot is busy, sleeps, repeats.
    async fn dispatch_loop(&self, shutdown: &mut watch::Receiver<bool>) {
        let slots = self.config.concurrency.max(1);
        let mut running = JoinSet::new();
        while !stopping(shutdown) {
            while let Some(done) = running.try_join_next() {
                report_task_end(done);
            }
            let free = slots - running.len();
            let started = if free > 0 {
                self.start_jobs(free, &mut running).await
            } else {
                0
            };
            if free > 0 && started == free {
                continue;
            }
            tokio::select! {
                () = wait_for_shutdown(shutdown) => {}
                Some(done) = running.join_next(), if free == 0 => report_task_end(done),
                () = tokio::time::sleep(self.config.poll_interval), if free > 0 => {}
            }
        }
        info!(worker.id = %self.config.worker_id, in_flight = running.len(), "worker stopping; finishing jobs in hand");
        while let Some(done) = running.join_next().await {
            report_task_end(done);
        }
    }

    async fn start_jobs(&self, free: usize, running: &mut JoinSet<Outcome>) -> usize {
        match self.claim(free, None).await {
            Ok(jobs) => {
                let claimed = jobs.len();
                for job in jobs {
                    let this = self.clone();
                    running.spawn(async move { this.execute(job).await });
                }
                claimed
            }
            Err(err) => {
                error!(worker.id = %self.config.worker_id, error = %err, "claiming jobs failed");
                0
            }
        }
    }

    /// Fires due schedules while this process holds scheduler leadership.
    async fn schedule_loop(self, mut shutdown: watch::Receiver<bool>) {
        let mut leadership: Option<LeaderGuard> = None;
        while !stopping(&shutdown) {
            leadership = self.keep_or_seek_leadership(leadership).await;
            if leadership.is_some()
                && let Err(err) = schedule::fire_due(&self.pool, Utc::now()).await
            {
                error!(worker.id = %self.config.worker_id, error = %err, "firing schedules failed");
            }
            tokio::select! {
                () = wait_for_shutdown(&mut shutdown) => {}
                () = tokio::time::sleep(self.config.poll_interval) => {}
            }
        }
    }

    async fn keep_or_seek_leadership(&self, current: Option<LeaderGuard>) -> Option<LeaderGuard> {
        let worker = &self.config.worker_id;
        match current {
            Some(mut guard) => {
                if guard.is_held().await {
                    return Some(guard);
                }
                warn!(worker.id = %worker, "lost scheduler leadership");
                None
            }
            None => match leader::try_acquire(&self.pool).await {
                Ok(Some(guard)) => {
                    info!(worker.id = %worker, "became scheduler leader");
                    Some(guard)
                }
                Ok(None) => None,
                Err(err) => {
                    warn!(worker.id = %worker, error = %err, "scheduler leader election failed");
                    None
                }
            },
        }
    }

    /// Runs one claimed job and records its outcome, inside the job's tracing span.
    async fn execute(self, job: ClaimedJob) -> Outcome {
        let span = info_span!(
            "job",
            job.id = job.id,
            job.kind = %job.kind,
            job.attempt = job.attempts,
            worker.id = %self.config.worker_id,
        );
        async move {
            let result = match self.registry.get(&job.kind) {
                Some(handler) => self.run_handler(handler, &job).await,
                None => Err(JobFailure::permanent(format!(
                    "no handler is registered for job kind {:?} (known kinds: {})",
                    job.kind,
                    self.registry.kinds().join(", ")
                ))),
            };
            self.record(&job, result).await
        }
        .instrument(span)
        .await
    }

    /// Runs the handler in a task of its own (so a panic becomes a retryable failure) and renews
    /// the lease while it runs.
    async fn run_handler(&self, handler: Arc<dyn JobHandler>, job: &ClaimedJob) -> JobResult {
        let ctx = JobContext {
            job_id: job.id,
            kind: job.kind.clone(),
            attempt: job.attempts,
            max_attempts: job.max_attempts,
            worker_id: self.config.worker_id.clone(),
            pool: self.pool.clone(),
        };
        let mut task = tokio::spawn(handler.run(ctx, job.payload.clone()).in_current_span());
        let period = self.config.heartbeat();
        let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                joined = &mut task => return joined.unwrap_or_else(|e| Err(failure_of_task(e))),
                _ = heartbeat.tick() => self.renew_lease(job.id).await,
            }
        }
    }

    async fn renew_lease(&self, id: i64) {
        match queue::extend_lease(&self.pool, id, &self.config.worker_id, self.config.lease).await {
            Ok(true) => debug!("lease renewed"),
            Ok(false) => warn!("lease lost: another worker may be running this job"),
            Err(err) => warn!(error = %err, "renewing the lease failed"),
        }
    }

    async fn record(&self, job: &ClaimedJob, result: JobResult) -> Outcome {
        let (pool, worker) = (&self.pool, self.config.worker_id.as_str());
        let (outcome, recorded) = match result {
            Ok(value) => (
                Outcome::Succeeded,
                queue::succeed(pool, job.id, worker, &value).await,
            ),
            Err(JobFailure::Retry { error, after }) if job.attempts < job.max_attempts => {
                let delay = after
                    .unwrap_or_default()
                    .max(self.config.backoff(job.attempts));
                warn!(error = %error, retry_in_ms = delay.as_millis(), "job failed; will retry");
                (
                    Outcome::Retried,
                    queue::retry(pool, job.id, worker, delay, &error).await,
                )
            }
            Err(failure) => {
                let error = final_error(job, &failure);
                error!(error = %error, "job failed for good; moved to dead letters");
                (
                    Outcome::Dead,
                    queue::bury(pool, job.id, worker, &error).await,
                )
            }
        };
        match recorded {
            Ok(true) => {
                if outcome == Outcome::Succeeded {
                    info!("job succeeded");
                }
                outcome
            }
            Ok(false) => {
                warn!("job outcome discarded: the lease had passed to another worker");
                Outcome::Unrecorded
            }
            Err(err) => {
                error!(error = %err, "recording the job outcome failed; it will run again when the lease expires");
                Outcome::Unrecorded
            }
        }
    }
}

fn final_error(job: &ClaimedJob, failure: &JobFailure) -> String {
    match failure {
        JobFailure::Retry { error, .. } => {
            format!("{error} (gave up after {} attempts)", job.attempts)
        }
        JobFailure::Permanent { error } => error.clone(),
    }
}

fn failure_of_task(err: tokio::task::JoinError) -> JobFailure {
    if !err.is_panic() {
        return JobFailure::retry("handler task was cancelled");
    }
    let panic = err.into_panic();
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".into());
    JobFailure::retry(format!("handler panicked: {message}"))
}

fn report_task_end(done: Result<Outcome, tokio::task::JoinError>) {
    if let Err(err) = done {
        error!(error = %err, "job task ended abnormally");
    }
}

/// A closed channel counts as shutdown: a worker must not outlive whoever could stop it.
fn stopping(shutdown: &watch::Receiver<bool>) -> bool {
    *shutdown.borrow() || shutdown.has_changed().is_err()
}

async fn wait_for_shutdown(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(base_ms: u64, max_ms: u64) -> WorkerConfig {
        WorkerConfig {
            backoff_base: Duration::from_millis(base_ms),
            backoff_max: Duration::from_millis(max_ms),
            ..WorkerConfig::default()
        }
    }

    #[test]
    fn backoff_doubles_per_attempt_within_twenty_percent() {
        let config = config(1_000, 3_600_000);
        for (attempts, expected_ms) in [(1, 1_000.0), (2, 2_000.0), (3, 4_000.0), (6, 32_000.0)] {
            for _ in 0..50 {
                let ms = config.backoff(attempts).as_secs_f64() * 1_000.0;
                assert!(
                    (expected_ms * 0.8..=expected_ms * 1.2).contains(&ms),
                    "{attempts}: {ms}"
                );
            }
        }
    }

    #[test]
    fn backoff_is_capped_at_the_maximum() {
        let config = config(1_000, 10_000);
        for attempts in [5, 20, 64, i32::MAX] {
            let ms = config.backoff(attempts).as_secs_f64() * 1_000.0;
            assert!((8_000.0..=12_000.0).contains(&ms), "{attempts}: {ms}");
        }
    }

    #[test]
    fn default_worker_id_names_host_and_process() {
        let id = WorkerConfig::default().worker_id;
        assert!(id.contains(&format!("-{}-", std::process::id())), "{id}");
        assert_ne!(id, WorkerConfig::default().worker_id);
    }

    #[tokio::test]
    async fn a_panic_becomes_a_retryable_failure_naming_the_message() {
        let err = tokio::spawn(async { panic!("boom") }).await.unwrap_err();
        assert_eq!(
            failure_of_task(err),
            JobFailure::retry("handler panicked: boom")
        );
    }
}
