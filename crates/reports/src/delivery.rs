//! Scheduled reports. A report with a `schedule` (cron) and `time_zone` has a cron schedule
//! `report:<id>` (kept by a trigger on `reports`) that enqueues `reports.deliver`. The job runs
//! the report as the system, stores the file, and enqueues one `email.send` job per recipient:
//! the file attached when it is at most `delivery.attach_max_bytes` (5 MiB by default),
//! otherwise a signed link valid for seven days. Email is sent by the `email.send` handler;
//! the contract between the two is that job's payload. A failed run is retried by the queue;
//! when the last attempt fails, the report's owner gets an in-app notification.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::STANDARD};
use gimbal_db::{Access, DbError, RequestScope};
use gimbal_jobs::{JobContext, JobFailure, JobResult, NewJob, Registry};
use gimbal_storage::Store;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    ReportError, ReportRun,
    data::ReportData,
    runs::{self, RunRequest},
};

pub const JOB_KIND: &str = "reports.deliver";
/// The job kind the email handler implements.
pub const EMAIL_JOB_KIND: &str = "email.send";
const LINK_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// Registers the `reports.deliver` handler; without a store every run fails (and says why).
pub fn register(registry: &mut Registry, store: Option<Store>) {
    registry.register(JOB_KIND, move |ctx, payload| {
        let store = store.clone();
        async move { deliver(ctx, payload, store).await }
    });
}

async fn deliver(ctx: JobContext, payload: Value, store: Option<Store>) -> JobResult {
    let report_id = payload
        .get("report_id")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<Uuid>().ok())
        .ok_or_else(|| JobFailure::permanent("payload.report_id: missing or not a uuid"))?;
    let outcome = match store {
        Some(store) => run(&ctx, report_id, &store).await,
        None => Err(Failure::Permanent(
            "file storage is not configured (SUPABASE_URL + SUPABASE_SERVICE_ROLE_KEY, or GIMBAL_STORAGE_DIR)"
                .into(),
        )),
    };
    match outcome {
        Ok(result) => Ok(result),
        Err(failure) => {
            let (message, last) = match &failure {
                Failure::Permanent(m) => (m.clone(), true),
                Failure::Retry(m) => (m.clone(), ctx.is_last_attempt()),
            };
            if last && let Err(e) = notify_owner(&ctx, report_id, &message).await {
                tracing::error!(report.id = %report_id, error = %e, "could not notify the report owner");
            }
            Err(match failure {
                Failure::Permanent(m) => JobFailure::permanent(m),
                Failure::Retry(m) => JobFailure::retry(m),
            })
        }
    }
}

/// How a report job's attempt failed: for good, or worth another attempt.
pub(crate) enum Failure {
    Permanent(String),
    Retry(String),
}

impl From<ReportError> for Failure {
    fn from(err: ReportError) -> Self {
        match err {
            // a definition that no longer validates, or a deleted report, will not get better.
            ReportError::Invalid(_) | ReportError::NotFound(_) => {
                Failure::Permanent(err.to_string())
            }
            other => Failure::Retry(other.to_string()),
        }
    }
}

async fn run(ctx: &JobContext, report_id: Uuid, store: &Store) -> Result<Value, Failure> {
    let (data, owner) = {
        let mut client = ctx
            .pool
            .get()
            .await
            .map_err(|e| Failure::Retry(e.to_string()))?;
        let tx = gimbal_db::scope::begin(
            &mut client,
            &RequestScope::service("reports.deliver"),
            Access::ReadOnly,
        )
        .await
        .map_err(|e| Failure::Retry(e.to_string()))?;
        let owner: Option<Uuid> = tx
            .query_opt(
                "select created_by from public.reports where id = $1",
                &[&report_id],
            )
            .await
            .map_err(|e| Failure::Retry(e.to_string()))?
            .ok_or_else(|| Failure::Permanent(format!("report {report_id} no longer exists")))?
            .get(0);
        let request = RunRequest {
            report_id: Some(report_id),
            ..RunRequest::default()
        };
        let data = runs::prepare(&tx, &request).await?;
        (data, owner)
    };
    let (run, bytes) = runs::execute(
        &ctx.pool,
        store,
        &data,
        Some(report_id),
        owner,
        ctx.job_id,
        LINK_LIFETIME,
    )
    .await?;
    let emails = enqueue_emails(ctx, &data, &run, &bytes).await?;
    Ok(json!({"run_id": run.run_id, "emails": emails, "attached": attach(&data, &bytes)}))
}

fn attach(data: &ReportData, bytes: &[u8]) -> bool {
    bytes.len() as u64 <= data.report.attach_max_bytes
}

/// One `email.send` job per recipient, in one transaction; deduplicated per run and recipient.
async fn enqueue_emails(
    ctx: &JobContext,
    data: &ReportData,
    run: &ReportRun,
    bytes: &[u8],
) -> Result<usize, Failure> {
    let report = &data.report;
    let attached = attach(data, bytes);
    let period = format!("{} to {} ({})", report.from, report.to, report.time_zone);
    let text = if attached {
        format!(
            "Your report \"{}\" for {period} is attached.\n",
            report.title
        )
    } else {
        format!(
            "Your report \"{}\" for {period} is ready: {}\n\nThe link works for seven days.\n",
            report.title, run.url
        )
    };
    let attachments = if attached {
        json!([{
            "filename": run.file_name,
            "content_type": run.content_type,
            "content_base64": STANDARD.encode(bytes),
        }])
    } else {
        json!([])
    };
    let db = |e: DbError| Failure::Retry(e.to_string());
    let mut client = ctx
        .pool
        .get()
        .await
        .map_err(|e| Failure::Retry(e.to_string()))?;
    let tx = gimbal_db::scope::begin(
        &mut client,
        &RequestScope::service("reports.deliver"),
        Access::ReadWrite,
    )
    .await
    .map_err(db)?;
    for to in &report.recipients {
        let payload = json!({
            "to": to,
            "subject": format!("Report: {} ({} to {})", report.title, report.from, report.to),
            "text": text,
            "html": null,
            "attachments": attachments,
            "category": "report",
            "reference": format!("report_run:{}", run.run_id),
        });
        let job = NewJob {
            dedupe_key: Some(format!("report_run:{}:{to}", run.run_id)),
            ..NewJob::new(EMAIL_JOB_KIND, payload)
        };
        gimbal_jobs::enqueue(&tx, &job)
            .await
            .map_err(|e| Failure::Retry(e.to_string()))?;
    }
    tx.commit().await.map_err(|e| db(e.into()))?;
    Ok(report.recipients.len())
}

async fn notify_owner(ctx: &JobContext, report_id: Uuid, message: &str) -> Result<(), DbError> {
    let mut client = ctx.pool.get().await?;
    let tx = gimbal_db::scope::begin(
        &mut client,
        &RequestScope::service("reports.deliver"),
        Access::ReadWrite,
    )
    .await?;
    tx.execute(
        "insert into public.notifications (user_id, kind, title, body, data)
         select r.created_by, 'report.failed', 'Scheduled report \"' || r.name || '\" failed', $2,
                jsonb_build_object('report_id', r.id, 'job_id', $3::bigint, 'attempt', $4::int)
         from public.reports r
         where r.id = $1 and r.created_by is not null",
        &[&report_id, &message, &ctx.job_id, &ctx.attempt],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
