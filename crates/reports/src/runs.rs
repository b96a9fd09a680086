//! A report run: resolve the definition (a saved report or template, plus overrides), read
//! the data, render the file, store it and record the run in `report_runs`. Reading happens in
//! the transaction the caller brings; recording is service-role work (clients only read runs),
//! done in transactions of its own so a failed run is still on record.

use std::time::Duration;

use chrono::{DateTime, Utc};
use gimbal_db::{Access, DbError, Pool, RequestScope};
use gimbal_storage::{ObjectStore, REPORTS_BUCKET, Store};
use serde::Serialize;
use serde_json::Value;
use tokio_postgres::Transaction;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    ReportError,
    data::{self, ReportData},
    definition::{self, Report},
    render,
};

/// What to run: a saved report (or template) and/or a definition (overrides when both).
#[derive(Clone, Debug, Default)]
pub struct RunRequest {
    pub report_id: Option<Uuid>,
    pub definition: Option<Value>,
    pub format: Option<String>,
}

/// A finished run, as `generate-report` answers it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ReportRun {
    pub run_id: Uuid,
    pub report_id: Option<Uuid>,
    pub format: String,
    pub file_name: String,
    pub content_type: String,
    pub byte_size: i64,
    pub row_count: i32,
    /// Object path in the `reports` bucket.
    pub storage_path: String,
    /// A signed link to the file.
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// A request resolved under the caller's RLS: the saved report's name and the definition as
/// merged and validated.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub name: String,
    pub definition: Value,
    pub report: Report,
}

impl Resolved {
    /// The definition with its range and format fixed to what was validated, so a job that
    /// runs it later (or retries it tomorrow) renders the same period, not a new "last 7 days".
    pub fn pinned_definition(&self) -> Value {
        let mut pinned = self.definition.clone();
        if let Value::Object(map) = &mut pinned {
            map.insert(
                "range".into(),
                serde_json::json!({"from": self.report.from, "to": self.report.to}),
            );
            map.insert("format".into(), self.report.format.as_str().into());
        }
        pinned
    }
}

/// Reads the definition (under the transaction's RLS), validates it and reads the data.
pub async fn prepare(
    tx: &Transaction<'_>,
    request: &RunRequest,
) -> Result<ReportData, ReportError> {
    let resolved = resolve(tx, request).await?;
    data::fetch(tx, resolved.report).await
}

/// Reads the definition (under the transaction's RLS), merges the overrides and validates it.
pub async fn resolve(tx: &Transaction<'_>, request: &RunRequest) -> Result<Resolved, ReportError> {
    let (name, base) = match request.report_id {
        Some(id) => {
            let row = tx
                .query_opt(
                    "select name, definition from public.reports where id = $1",
                    &[&id],
                )
                .await
                .map_err(DbError::from)?
                .ok_or_else(|| ReportError::NotFound(format!("report {id} not found")))?;
            (row.get::<_, String>(0), row.get::<_, Value>(1))
        }
        None => ("Report".to_string(), Value::Object(Default::default())),
    };
    let definition = match &request.definition {
        Some(overrides) => definition::merge(&base, overrides),
        None if request.report_id.is_none() => {
            return Err(ReportError::Invalid(definition::invalid(
                "definition",
                "give a report_id, a definition, or both",
            )));
        }
        None => base,
    };
    let report = definition::validate(&definition, &name, request.format.as_deref(), today_in)?;
    Ok(Resolved {
        name,
        definition,
        report,
    })
}

/// Today's date in `zone`.
pub fn today_in(zone: &str) -> Option<chrono::NaiveDate> {
    let tz: chrono_tz::Tz = zone.parse().ok()?;
    Some(Utc::now().with_timezone(&tz).date_naive())
}

/// `weekly-channel-performance-2024-03-08-2024-03-14.pdf`
pub fn file_name(report: &Report) -> String {
    let mut slug: String = report
        .title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while slug.contains("--") {
        slug = slug.replace("--", "-");
    }
    let slug = slug.trim_matches('-');
    let slug = if slug.is_empty() { "report" } else { slug };
    let slug: String = slug.chars().take(60).collect();
    format!(
        "{}-{}-{}.{}",
        slug.trim_end_matches('-'),
        report.from,
        report.to,
        report.format.as_str()
    )
}

pub(crate) async fn service_tx<'a>(
    client: &'a mut gimbal_db::Connection,
) -> Result<Transaction<'a>, ReportError> {
    Ok(
        gimbal_db::scope::begin(client, &RequestScope::service("reports"), Access::ReadWrite)
            .await?,
    )
}

/// Renders, stores and records `data` for the schedule's job `job_id`. The run row is written
/// first, so a failure to render or store leaves a `failed` run with the reason. (Runs asked for
/// through `generate-report` are queued and completed by [`crate::generate`].)
pub async fn execute(
    pool: &Pool,
    store: &Store,
    data: &ReportData,
    report_id: Option<Uuid>,
    created_by: Option<Uuid>,
    job_id: i64,
    link_lifetime: Duration,
) -> Result<(ReportRun, Vec<u8>), ReportError> {
    let report = &data.report;
    let run_id: Uuid = {
        let mut client = pool.get().await.map_err(DbError::from)?;
        let tx = service_tx(&mut client).await?;
        let id = tx
            .query_one(
                "insert into public.report_runs
                   (report_id, format, status, trigger, definition, period_from, period_to, job_id, created_by)
                 values ($1, $2, 'running', 'schedule', $3, $4, $5, $6, $7)
                 returning id",
                &[
                    &report_id,
                    &report.format.as_str(),
                    &run_definition(report),
                    &report.from,
                    &report.to,
                    &job_id,
                    &created_by,
                ],
            )
            .await
            .map_err(DbError::from)?
            .get(0);
        tx.commit().await.map_err(DbError::from)?;
        id
    };
    match render_and_store(store, data, run_id, link_lifetime).await {
        Ok((run, bytes)) => {
            finish(pool, run_id, "succeeded", Some(&run), None).await?;
            Ok((ReportRun { report_id, ..run }, bytes))
        }
        Err(err) => {
            finish(pool, run_id, "failed", None, Some(&err.to_string())).await?;
            Err(err)
        }
    }
}

pub(crate) async fn render_and_store(
    store: &Store,
    data: &ReportData,
    run_id: Uuid,
    link_lifetime: Duration,
) -> Result<(ReportRun, Vec<u8>), ReportError> {
    let bytes = render::render(data)?;
    let name = file_name(&data.report);
    let path = format!("runs/{run_id}/{name}");
    let content_type = data.report.format.content_type();
    store
        .put(REPORTS_BUCKET, &path, bytes.clone(), content_type)
        .await?;
    let url = store
        .signed_url(REPORTS_BUCKET, &path, link_lifetime)
        .await?;
    let run = ReportRun {
        run_id,
        report_id: None,
        format: data.report.format.as_str().into(),
        file_name: name,
        content_type: content_type.into(),
        byte_size: bytes.len() as i64,
        row_count: data.rows.len() as i32,
        storage_path: path,
        url,
        expires_at: Utc::now()
            + chrono::Duration::from_std(link_lifetime).unwrap_or(chrono::Duration::zero()),
    };
    Ok((run, bytes))
}

pub(crate) async fn finish(
    pool: &Pool,
    run_id: Uuid,
    status: &str,
    run: Option<&ReportRun>,
    error: Option<&str>,
) -> Result<(), ReportError> {
    let mut client = pool.get().await.map_err(DbError::from)?;
    let tx = service_tx(&mut client).await?;
    tx.execute(
        "update public.report_runs
         set status = $2, row_count = $3, byte_size = $4, storage_path = $5, error = $6,
             file_name = $7, content_type = $8, url = $9, url_expires_at = $10,
             finished_at = now()
         where id = $1",
        &[
            &run_id,
            &status,
            &run.map(|r| r.row_count),
            &run.map(|r| r.byte_size),
            &run.map(|r| r.storage_path.as_str()),
            &error,
            &run.map(|r| r.file_name.as_str()),
            &run.map(|r| r.content_type.as_str()),
            &run.map(|r| r.url.as_str()),
            &run.map(|r| r.expires_at),
        ],
    )
    .await
    .map_err(DbError::from)?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(())
}

/// The definition as it ran, for the record.
pub(crate) fn run_definition(report: &Report) -> Value {
    serde_json::json!({
        "title": report.title,
        "metrics": report.metrics.iter().map(|m| m.name).collect::<Vec<_>>(),
        "dimension": report.dimension.label().to_lowercase(),
        "interval": report.interval,
        "filters": {"channel": report.channel, "campaign_id": report.campaign_id},
        "from": report.from,
        "to": report.to,
        "time_zone": report.time_zone,
        "format": report.format.as_str(),
    })
}
