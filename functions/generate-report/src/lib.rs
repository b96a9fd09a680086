//! `generate-report`: queues a report run — a saved report (or template, with overrides) or
//! an ad-hoc definition, as CSV, XLSX or PDF — and answers 202 with the run at once. The
//! request is resolved and validated in the caller's transaction, so RLS decides (anon is
//! refused) and bad definitions are answered 422 now; the `report.generate` job renders and
//! stores the file as the same caller, and the run in `report_runs` (readable through
//! PostgREST and realtime) goes from `queued` through `running` to `succeeded`, with the
//! file's path, size and signed link, or `failed` with the error. The run is recorded by the
//! system, since clients may only read runs.

use std::time::Duration;

use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
use gimbal_db::{Access, DbError};
use gimbal_edge::{ApiError, AppState, ErrorBody, Function, Invocation, JsonBody};
use gimbal_reports::{Caller, QueuedReportRun, ReportError, RunRequest, data, generate, runs};
use gimbal_storage::Store;
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

pub const FUNCTION: Function = Function {
    name: "generate-report",
    verify_jwt: true,
    summary: "Queue a report run (CSV, XLSX or PDF); the run in report_runs shows its progress",
    router,
    openapi: || ApiDoc::openapi(),
};

const DEFAULT_LINK_SECS: u64 = 3600;

fn router() -> Router<AppState> {
    Router::new().route("/", post(generate))
}

/// Input of `POST /functions/v1/generate-report`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateReport {
    /// A saved report or template; its definition is the base.
    pub report_id: Option<Uuid>,
    /// A definition, or overrides of the saved one (top-level keys replace).
    #[schema(value_type = Option<Object>)]
    pub definition: Option<serde_json::Value>,
    /// `csv`, `xlsx` or `pdf`; defaults to the definition's format, then `csv`.
    pub format: Option<String>,
    /// Lifetime of the signed link in seconds (60 to 604800; default 3600).
    pub expires_in: Option<u64>,
}

fn map_error(err: ReportError) -> ApiError {
    match err {
        ReportError::Invalid(e) => ApiError::validation(e.field, e.message),
        ReportError::NotFound(m) => ApiError::NotFound(m),
        ReportError::Db(e) => e.into(),
        ReportError::Render(e) => ApiError::Internal(e.to_string()),
        ReportError::Storage(e) => {
            tracing::error!(error = %e, "report file could not be stored");
            ApiError::Unavailable("the report could not be stored; try again later".into())
        }
    }
}

#[utoipa::path(
    post,
    path = "/functions/v1/generate-report",
    tag = "reports",
    request_body = GenerateReport,
    responses(
        (status = 202, description = "Validated and queued; follow the run in `report_runs` (status queued, running, succeeded with `url`, or failed with `error`)", body = QueuedReportRun),
        (status = 400, description = "Body is not valid JSON for this shape", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "The caller may not read dashboards (anon)", body = ErrorBody),
        (status = 404, description = "No such report visible to the caller", body = ErrorBody),
        (status = 422, description = "A definition field is invalid; `field` names it", body = ErrorBody),
        (status = 503, description = "File storage is not configured", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn generate(
    State(app): State<AppState>,
    call: Invocation,
    JsonBody(input): JsonBody<GenerateReport>,
) -> Result<(StatusCode, Json<QueuedReportRun>), ApiError> {
    let expires_in = input.expires_in.unwrap_or(DEFAULT_LINK_SECS);
    if !(60..=604_800).contains(&expires_in) {
        return Err(ApiError::validation(
            "expires_in",
            "must be between 60 and 604800 seconds",
        ));
    }
    // refused now rather than queued to fail: the job needs a store.
    Store::from_config(&app.config, app.http.clone()).ok_or_else(|| {
        ApiError::Unavailable(
            "file storage is not configured (SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY, or GIMBAL_STORAGE_DIR)"
                .into(),
        )
    })?;
    let request = RunRequest {
        report_id: input.report_id,
        definition: input.definition,
        format: input.format,
    };
    let resolved = {
        let mut conn = app.conn().await?;
        let tx = call.begin(&mut conn, Access::ReadOnly).await?;
        let resolved = runs::resolve(&tx, &request).await.map_err(map_error)?;
        data::check(&tx, &resolved.report)
            .await
            .map_err(map_error)?;
        tx.commit().await.map_err(DbError::from)?;
        resolved
    };
    let created_by = call
        .caller
        .claims
        .get("sub")
        .and_then(|s| s.as_str())
        .and_then(|s| s.parse::<Uuid>().ok());
    let queued = generate::queue(
        &app.pool,
        &resolved,
        request.report_id,
        Caller::from_claims(call.scope.role, &call.scope.claims),
        created_by,
        Duration::from_secs(expires_in),
    )
    .await
    .map_err(map_error)?;
    Ok((StatusCode::ACCEPTED, Json(queued)))
}

#[derive(OpenApi)]
#[openapi(
    paths(generate),
    components(schemas(GenerateReport, QueuedReportRun, ErrorBody))
)]
struct ApiDoc;
