//! Sync runs. A run is a `sync_logs` row and a `sync.run` job. The job reads the source page by
//! page; each page is stored — upserted into `imported_data` on (source, stream, natural key),
//! its known marketing metrics into `analytics_data` — together with the run's counters and the
//! position of the next page, in one transaction. So the counters show progress while the run
//! goes on, and a run killed at any point resumes from its last committed page: pages already
//! stored are not read again, and a page read twice (killed after reading, before committing)
//! is upserted, never duplicated. The source's cursor moves only when the run succeeds.

use std::{collections::HashMap, time::Instant};

use gimbal_db::{Access, DbError, Pool, RequestScope, Transaction};
use gimbal_jobs::{JobContext, JobFailure, NewJob, Registry};
use gimbal_secrets::Keyring;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    Backoff, ConnectorError, Record,
    connector::Connector,
    credentials,
    sources::{self, AnyConnector, ProviderUrls, SourceSpec},
};

pub const JOB_KIND: &str = "sync.run";

/// What a run needs besides its id.
#[derive(Clone)]
pub struct SyncDeps {
    pub pool: Pool,
    pub keyring: Keyring,
    pub http: reqwest::Client,
    pub urls: ProviderUrls,
    pub backoff: Backoff,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{0}")]
    Connector(#[from] ConnectorError),
    #[error("no data source {0}")]
    NoSource(Uuid),
    #[error("a run of this source is already queued or running ({0})")]
    AlreadyRunning(Uuid),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{0}")]
    Internal(String),
}

impl From<tokio_postgres::Error> for SyncError {
    fn from(err: tokio_postgres::Error) -> Self {
        SyncError::Db(err.into())
    }
}

impl From<gimbal_jobs::JobError> for SyncError {
    fn from(err: gimbal_jobs::JobError) -> Self {
        SyncError::Internal(err.to_string())
    }
}

/// A queued run.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct QueuedRun {
    pub run_id: Uuid,
    pub job_id: i64,
}

/// Queues a run of `source` (in a service-role transaction): a `sync_logs` row and its job.
/// A source has at most one live run.
pub async fn queue_run(tx: &Transaction<'_>, source: Uuid) -> Result<QueuedRun, SyncError> {
    // Serialises concurrent requests for the same source.
    tx.execute(
        "select 1 from public.data_sources where id = $1 for update",
        &[&source],
    )
    .await?;
    if let Some(row) = tx
        .query_opt(
            "select id from public.sync_logs
             where data_source_id = $1 and status in ('queued', 'running')",
            &[&source],
        )
        .await?
    {
        return Err(SyncError::AlreadyRunning(row.get(0)));
    }
    let run_id: Uuid = tx
        .query_one(
            "insert into public.sync_logs (data_source_id) values ($1) returning id",
            &[&source],
        )
        .await?
        .get(0);
    // One live run per source is enforced above, under the source's row lock.
    let mut job = NewJob::new(JOB_KIND, json!({ "sync_log_id": run_id }));
    job.max_attempts = 5;
    let job_id = gimbal_jobs::enqueue(tx, &job)
        .await?
        .ok_or(SyncError::AlreadyRunning(run_id))?;
    tx.execute(
        "update public.sync_logs set job_id = $2 where id = $1",
        &[&run_id, &job_id],
    )
    .await?;
    Ok(QueuedRun { run_id, job_id })
}

/// How a run ended.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    pub rows_read: i64,
    pub rows_inserted: i64,
    pub rows_updated: i64,
    pub pages: i64,
    /// True when the run had already finished before this call (a redelivered job).
    pub already_finished: bool,
}

struct RunState {
    source: Uuid,
    kind: String,
    stream: String,
    position: Value,
}

async fn service_tx(client: &mut gimbal_db::Connection) -> Result<Transaction<'_>, SyncError> {
    Ok(gimbal_db::scope::begin(
        client,
        &RequestScope::service("/jobs/sync.run"),
        Access::ReadWrite,
    )
    .await?)
}

/// Runs (or resumes) the run `run_id` to the end.
pub async fn run(deps: &SyncDeps, run_id: Uuid) -> Result<RunSummary, SyncError> {
    let started = Instant::now();
    let mut conn = deps.pool.get().await.map_err(DbError::from)?;
    let Some((connector, mut state)) = open_run(deps, &mut conn, run_id).await? else {
        return Ok(RunSummary {
            already_finished: true,
            ..RunSummary::default()
        });
    };
    let mut summary = RunSummary::default();
    loop {
        let page = connector.read_page(&state.stream, &state.position).await?;
        let read = i64::try_from(page.records.len()).unwrap_or(i64::MAX);
        let tx = service_tx(&mut conn).await?;
        let (inserted, updated) = store_page(&tx, &state, &page.records).await?;
        tx.execute(
            "update public.sync_logs
                set rows_read = rows_read + $2, rows_inserted = rows_inserted + $3,
                    rows_updated = rows_updated + $4, checkpoint = $5,
                    cursor_after = coalesce($6, cursor_after)
              where id = $1",
            &[
                &run_id,
                &read,
                &inserted,
                &updated,
                &page.next,
                &page.cursor,
            ],
        )
        .await?;
        tx.commit().await?;
        summary.rows_read += read;
        summary.rows_inserted += inserted;
        summary.rows_updated += updated;
        summary.pages += 1;
        match page.next {
            Some(next) => state.position = next,
            None => break,
        }
    }
    finish(&mut conn, run_id, state.source, started).await?;
    tracing::info!(
        sync.run_id = %run_id,
        sync.rows_read = summary.rows_read,
        sync.rows_inserted = summary.rows_inserted,
        sync.rows_updated = summary.rows_updated,
        "sync run finished"
    );
    Ok(summary)
}

/// Loads the run and its source, builds the connector and marks the run running; `None` when
/// the run is already over.
async fn open_run(
    deps: &SyncDeps,
    conn: &mut gimbal_db::Connection,
    run_id: Uuid,
) -> Result<Option<(AnyConnector, RunState)>, SyncError> {
    let tx = service_tx(conn).await?;
    let row = tx
        .query_opt(
            "select l.status, l.checkpoint, l.stream, s.id, s.kind, s.config, s.sync_cursor
               from public.sync_logs l join public.data_sources s on s.id = l.data_source_id
              where l.id = $1
                for update of l",
            &[&run_id],
        )
        .await?
        .ok_or_else(|| SyncError::Internal(format!("no sync run {run_id}")))?;
    let status: String = row.get(0);
    if matches!(status.as_str(), "succeeded" | "failed" | "cancelled") {
        return Ok(None);
    }
    let (checkpoint, stream): (Option<Value>, Option<String>) = (row.get(1), row.get(2));
    let (source, kind, config, cursor): (Uuid, String, Value, Option<Value>) =
        (row.get(3), row.get(4), row.get(5), row.get(6));
    let secret = credentials::load(&tx, &deps.keyring, source).await?;
    let connector = sources::build(
        SourceSpec {
            kind: &kind,
            config: &config,
            credentials: secret,
        },
        &deps.urls,
        &deps.http,
        deps.backoff,
    )?;
    let stream = stream.unwrap_or_else(|| connector.stream());
    let position = match checkpoint {
        Some(p) => p,
        None => connector.start(&stream, cursor.as_ref())?,
    };
    tx.execute(
        "update public.sync_logs
            set status = 'running', started_at = coalesce(started_at, now()), stream = $2,
                cursor_before = coalesce(cursor_before, $3), checkpoint = $4, error = null
          where id = $1",
        &[&run_id, &stream, &cursor, &position],
    )
    .await?;
    tx.execute(
        "update public.data_sources set status = 'syncing' where id = $1",
        &[&source],
    )
    .await?;
    tx.commit().await?;
    Ok(Some((
        connector,
        RunState {
            source,
            kind,
            stream,
            position,
        },
    )))
}

async fn finish(
    conn: &mut gimbal_db::Connection,
    run_id: Uuid,
    source: Uuid,
    started: Instant,
) -> Result<(), SyncError> {
    let tx = service_tx(conn).await?;
    let millis = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    tx.execute(
        "update public.sync_logs
            set status = 'succeeded', finished_at = now(), checkpoint = null,
                duration_ms = coalesce(duration_ms, 0) + $2
          where id = $1",
        &[&run_id, &millis],
    )
    .await?;
    tx.execute(
        "update public.data_sources
            set sync_cursor = coalesce((select cursor_after from public.sync_logs where id = $2), sync_cursor),
                last_synced_at = now(), status = 'active'
          where id = $1",
        &[&source, &run_id],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Records a failed attempt. `final_attempt` marks the run failed and the source in error;
/// otherwise the run waits for the job's retry (its checkpoint kept).
pub async fn record_failure(
    pool: &Pool,
    run_id: Uuid,
    error: &str,
    final_attempt: bool,
) -> Result<(), SyncError> {
    let mut conn = pool.get().await.map_err(DbError::from)?;
    let tx = service_tx(&mut conn).await?;
    let status = if final_attempt { "failed" } else { "queued" };
    let row = tx
        .query_opt(
            "update public.sync_logs
                set status = $2, error = $3,
                    finished_at = case when $2 = 'failed' then now() end
              where id = $1 and status in ('queued', 'running')
          returning data_source_id",
            &[&run_id, &status, &error],
        )
        .await?;
    if let Some(row) = row {
        let source: Uuid = row.get(0);
        let source_status = if final_attempt { "error" } else { "syncing" };
        tx.execute(
            "update public.data_sources set status = $2 where id = $1",
            &[&source, &source_status],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Upserts a page; returns (inserted, updated). Unchanged rows count as neither.
async fn store_page(
    tx: &Transaction<'_>,
    state: &RunState,
    records: &[Record],
) -> Result<(i64, i64), SyncError> {
    // One row per key: a page repeating a key would make the upsert touch a row twice.
    let mut latest: HashMap<&str, &Record> = HashMap::with_capacity(records.len());
    for record in records {
        latest.insert(record.key.as_str(), record);
    }
    let records: Vec<&Record> = latest.into_values().collect();
    let dates: Vec<Option<chrono::NaiveDate>> = records.iter().map(|r| r.date).collect();
    let keys: Vec<&str> = records.iter().map(|r| r.key.as_str()).collect();
    let dimensions: Vec<Value> = records
        .iter()
        .map(|r| Value::Object(r.dimensions.clone()))
        .collect();
    let metrics: Vec<Value> = records
        .iter()
        .map(|r| Value::Object(r.metrics.clone()))
        .collect();
    let rows = tx
        .query(
            "insert into public.imported_data
               (data_source_id, stream, record_date, natural_key, dimensions, metrics)
             select $1, $2, u.record_date, u.natural_key, u.dimensions, u.metrics
               from unnest($3::date[], $4::text[], $5::jsonb[], $6::jsonb[])
                 as u(record_date, natural_key, dimensions, metrics)
             on conflict (data_source_id, stream, natural_key) do update
               set record_date = excluded.record_date, dimensions = excluded.dimensions,
                   metrics = excluded.metrics, imported_at = now()
               where (imported_data.record_date, imported_data.dimensions, imported_data.metrics)
                     is distinct from (excluded.record_date, excluded.dimensions, excluded.metrics)
             returning (xmax = 0) as inserted",
            &[
                &state.source,
                &state.stream,
                &dates,
                &keys,
                &dimensions,
                &metrics,
            ],
        )
        .await?;
    let inserted = rows.iter().filter(|r| r.get::<_, bool>(0)).count() as i64;
    let updated = rows.len() as i64 - inserted;
    crate::normalise::store_analytics(tx, state.source, &state.kind, &state.stream, &records)
        .await?;
    Ok((inserted, updated))
}

/// Registers the `sync.run` job: payload `{"sync_log_id": …}` (a queued run) or
/// `{"data_source_id": …}` (a cron schedule), which queues a run first.
pub fn register(registry: &mut Registry, deps: SyncDeps) {
    registry.register(JOB_KIND, move |ctx: JobContext, payload: Value| {
        let deps = deps.clone();
        async move { run_job(&deps, &ctx, &payload).await }
    });
}

async fn run_job(deps: &SyncDeps, ctx: &JobContext, payload: &Value) -> gimbal_jobs::JobResult {
    let id = |key: &str| {
        payload
            .get(key)
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<Uuid>().ok())
    };
    let run_id = match (id("sync_log_id"), id("data_source_id")) {
        (Some(run), _) => run,
        (None, Some(source)) => match queue_scheduled(deps, source).await {
            Ok(Some(run)) => run,
            Ok(None) => return Ok(json!({"skipped": "a run is already queued or running"})),
            Err(e) => return Err(JobFailure::retry(e)),
        },
        _ => {
            return Err(JobFailure::permanent(
                "payload needs sync_log_id or data_source_id",
            ));
        }
    };
    match run(deps, run_id).await {
        Ok(summary) => Ok(json!({"run_id": run_id, "summary": summary})),
        Err(e) => {
            let transient = match &e {
                SyncError::Connector(c) => c.is_transient(),
                SyncError::Db(_) | SyncError::Internal(_) => true,
                SyncError::NoSource(_) | SyncError::AlreadyRunning(_) => false,
            };
            let final_attempt = !transient || ctx.is_last_attempt();
            let message = format!("attempt {} of {}: {e}", ctx.attempt, ctx.max_attempts);
            if let Err(log_error) =
                record_failure(&deps.pool, run_id, &message, final_attempt).await
            {
                tracing::error!(error = %log_error, "cannot record the sync failure");
            }
            match &e {
                _ if final_attempt => Err(JobFailure::permanent(message)),
                SyncError::Connector(ConnectorError::Quota {
                    retry_after_secs: Some(secs),
                    ..
                }) => Err(JobFailure::retry_after(
                    message,
                    std::time::Duration::from_secs(*secs),
                )),
                _ => Err(JobFailure::retry(message)),
            }
        }
    }
}

/// A scheduled run: queued here (from the worker), unless one is live already.
async fn queue_scheduled(deps: &SyncDeps, source: Uuid) -> Result<Option<Uuid>, SyncError> {
    let mut conn = deps.pool.get().await.map_err(DbError::from)?;
    let tx = service_tx(&mut conn).await?;
    // The schedule's own job holds the dedupe key; the run is recorded without a second job.
    let live: Option<Uuid> = tx
        .query_opt(
            "select id from public.sync_logs where data_source_id = $1 and status in ('queued', 'running')",
            &[&source],
        )
        .await?
        .map(|r| r.get(0));
    if live.is_some() {
        return Ok(None);
    }
    let run: Uuid = tx
        .query_one(
            "insert into public.sync_logs (data_source_id) values ($1) returning id",
            &[&source],
        )
        .await?
        .get(0);
    tx.commit().await?;
    Ok(Some(run))
}
