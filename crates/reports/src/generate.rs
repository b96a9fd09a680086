//! Reports on request, as jobs. `generate-report` resolves and validates the request under the
//! caller's RLS, then [`queue`] records a `queued` run in `report_runs` and enqueues a
//! `report.generate` job in the same transaction, and the function answers 202 at once. The
//! job marks the run `running`, reads the data as the caller (the claims the request was
//! verified with: database role, user id and application role), renders, stores, and finishes
//! the run `succeeded` with the file's path, size and a signed link. The run row is the
//! progress the client watches (PostgREST under RLS, or realtime).
//!
//! A failed attempt leaves the run `queued` with the error and is retried with the queue's
//! backoff; when no attempt is left (or the failure cannot get better, such as a report
//! deleted meanwhile) the run is `failed` and whoever asked gets a `report.failed`
//! notification, as scheduled reports do.

use std::time::Duration;

use gimbal_db::{DbError, Pool, RequestScope};
use gimbal_jobs::{JobContext, JobFailure, JobResult, NewJob, Registry};
use gimbal_storage::Store;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    ReportError, data, definition,
    delivery::Failure,
    runs::{self, Resolved, service_tx},
};

pub const JOB_KIND: &str = "report.generate";
/// Attempts of one run (the queue's exponential backoff between them).
pub const MAX_ATTEMPTS: i32 = 3;

/// The answer of `generate-report`: the run, queued.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct QueuedReportRun {
    pub run_id: Uuid,
    pub report_id: Option<Uuid>,
    /// Always `queued` when answered; follow `report_runs` for the rest.
    pub status: String,
    pub format: String,
    pub job_id: i64,
    /// Where the run's progress is read: `GET /rest/v1/report_runs?id=eq.<run_id>`.
    pub status_url: String,
}

/// Who asked: the claims the job reads the data with. Only what RLS looks at is kept (the job
/// payload is readable by members), never the token.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Caller {
    /// `authenticated` or `service_role`.
    pub role: String,
    pub claims: Value,
}

impl Caller {
    /// From the verified claims of a request.
    pub fn from_claims(db_role: &str, claims: &Value) -> Caller {
        let mut kept = serde_json::Map::new();
        for key in ["role", "sub", "aud", "app_metadata", "is_anonymous", "aal"] {
            if let Some(v) = claims.get(key) {
                kept.insert(key.into(), v.clone());
            }
        }
        Caller {
            role: db_role.to_string(),
            claims: Value::Object(kept),
        }
    }

    fn scope(&self) -> Result<RequestScope, String> {
        let role = match self.role.as_str() {
            "authenticated" => "authenticated",
            "service_role" => "service_role",
            other => return Err(format!("payload.caller.role: {other:?} cannot run reports")),
        };
        Ok(RequestScope {
            role,
            claims: self.claims.clone(),
            method: "POST".into(),
            path: format!("jobs/{JOB_KIND}"),
            headers: json!({}),
            statement_timeout: None,
        })
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    run_id: Uuid,
    name: String,
    /// The definition with range and format pinned ([`Resolved::pinned_definition`]).
    definition: Value,
    link_secs: u64,
    caller: Caller,
}

/// Records a `queued` run and enqueues the job that makes it, in one transaction.
pub async fn queue(
    pool: &Pool,
    resolved: &Resolved,
    report_id: Option<Uuid>,
    caller: Caller,
    created_by: Option<Uuid>,
    link_lifetime: Duration,
) -> Result<QueuedReportRun, ReportError> {
    let report = &resolved.report;
    let mut client = pool.get().await.map_err(DbError::from)?;
    let tx = service_tx(&mut client).await?;
    let run_id: Uuid = tx
        .query_one(
            "insert into public.report_runs
               (report_id, format, status, trigger, definition, period_from, period_to, created_by)
             values ($1, $2, 'queued', 'manual', $3, $4, $5, $6)
             returning id",
            &[
                &report_id,
                &report.format.as_str(),
                &runs::run_definition(report),
                &report.from,
                &report.to,
                &created_by,
            ],
        )
        .await
        .map_err(DbError::from)?
        .get(0);
    let payload = Payload {
        run_id,
        name: resolved.name.clone(),
        definition: resolved.pinned_definition(),
        link_secs: link_lifetime.as_secs(),
        caller,
    };
    let job = NewJob {
        max_attempts: MAX_ATTEMPTS,
        dedupe_key: Some(format!("report_run:{run_id}")),
        ..NewJob::new(
            JOB_KIND,
            serde_json::to_value(&payload).expect("payload is json"),
        )
    };
    let job_id = gimbal_jobs::enqueue(&tx, &job)
        .await
        .map_err(|e| DbError::Other(e.to_string()))?
        .ok_or_else(|| DbError::Other(format!("run {run_id} already has a job")))?;
    tx.execute(
        "update public.report_runs set job_id = $2 where id = $1",
        &[&run_id, &job_id],
    )
    .await
    .map_err(DbError::from)?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(QueuedReportRun {
        run_id,
        report_id,
        status: "queued".into(),
        format: report.format.as_str().into(),
        job_id,
        status_url: format!("/rest/v1/report_runs?id=eq.{run_id}"),
    })
}

/// Registers the `report.generate` handler; without a store every run fails (and says why).
pub fn register(registry: &mut Registry, store: Option<Store>) {
    registry.register(JOB_KIND, move |ctx, payload| {
        let store = store.clone();
        async move { generate(ctx, payload, store).await }
    });
}

impl From<DbError> for Failure {
    fn from(err: DbError) -> Self {
        Failure::Retry(err.to_string())
    }
}

async fn generate(ctx: JobContext, payload: Value, store: Option<Store>) -> JobResult {
    let payload: Payload = serde_json::from_value(payload)
        .map_err(|e| JobFailure::permanent(format!("payload: {e}")))?;
    let outcome = match store {
        Some(store) => run(&ctx, &payload, &store).await,
        None => Err(Failure::Permanent(
            "file storage is not configured (SUPABASE_URL + SUPABASE_SERVICE_ROLE_KEY, or GIMBAL_STORAGE_DIR)"
                .into(),
        )),
    };
    let failure = match outcome {
        Ok(result) => return Ok(result),
        Err(failure) => failure,
    };
    let (message, last) = match &failure {
        Failure::Permanent(m) => (m.clone(), true),
        Failure::Retry(m) => (m.clone(), ctx.is_last_attempt()),
    };
    if let Err(e) = record_failure(&ctx, payload.run_id, &payload.name, &message, last).await {
        tracing::error!(report_run.id = %payload.run_id, error = %e, "could not record the failed attempt");
    }
    Err(if last {
        JobFailure::permanent(message)
    } else {
        JobFailure::retry(message)
    })
}

async fn run(ctx: &JobContext, payload: &Payload, store: &Store) -> Result<Value, Failure> {
    // running, one more attempt; a run already finished (a duplicate delivery) is left alone.
    let report_id: Option<Option<Uuid>> = {
        let mut client = ctx.pool.get().await.map_err(DbError::from)?;
        let tx = service_tx(&mut client).await?;
        let row = tx
            .query_opt(
                "update public.report_runs
                 set status = 'running', attempts = attempts + 1, started_at = now()
                 where id = $1 and status in ('queued', 'running')
                 returning report_id",
                &[&payload.run_id],
            )
            .await
            .map_err(DbError::from)?;
        tx.commit().await.map_err(DbError::from)?;
        row.map(|r| r.get(0))
    };
    let Some(report_id) = report_id else {
        return Ok(json!({"run_id": payload.run_id, "skipped": "the run is already finished"}));
    };
    let data = {
        let scope = payload.caller.scope().map_err(Failure::Permanent)?;
        let mut client = ctx.pool.get().await.map_err(DbError::from)?;
        let tx = gimbal_db::scope::begin(&mut client, &scope, gimbal_db::Access::ReadOnly).await?;
        let report = definition::validate(&payload.definition, &payload.name, None, runs::today_in)
            .map_err(ReportError::from)?;
        let data = data::fetch(&tx, report).await?;
        tx.commit().await.map_err(DbError::from)?;
        data
    };
    let link = Duration::from_secs(payload.link_secs.clamp(60, 604_800));
    let (run, _) = runs::render_and_store(store, &data, payload.run_id, link).await?;
    runs::finish(&ctx.pool, payload.run_id, "succeeded", Some(&run), None).await?;
    Ok(json!({
        "run_id": payload.run_id,
        "report_id": report_id,
        "storage_path": run.storage_path,
        "byte_size": run.byte_size,
    }))
}

/// A failed attempt: the run goes back to `queued` with the error while attempts remain;
/// otherwise it is `failed` and whoever asked is notified.
async fn record_failure(
    ctx: &JobContext,
    run_id: Uuid,
    name: &str,
    message: &str,
    last: bool,
) -> Result<(), DbError> {
    let mut client = ctx.pool.get().await?;
    let tx = gimbal_db::scope::begin(
        &mut client,
        &RequestScope::service(&format!("jobs/{JOB_KIND}")),
        gimbal_db::Access::ReadWrite,
    )
    .await?;
    tx.execute(
        "update public.report_runs
         set status = case when $3 then 'failed' else 'queued' end, error = $2,
             finished_at = case when $3 then now() end
         where id = $1 and status in ('queued', 'running')",
        &[&run_id, &message, &last],
    )
    .await?;
    if last {
        tx.execute(
            "insert into public.notifications (user_id, kind, title, body, data)
             select coalesce(rr.created_by, r.created_by), 'report.failed',
                    'Report \"' || $2 || '\" failed', $3,
                    jsonb_build_object('report_run_id', rr.id, 'report_id', rr.report_id,
                                       'job_id', $4::bigint, 'attempt', $5::int)
             from public.report_runs rr
             left join public.reports r on r.id = rr.report_id
             where rr.id = $1 and coalesce(rr.created_by, r.created_by) is not null",
            &[&run_id, &name, &message, &ctx.job_id, &ctx.attempt],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
