//! `cron`: fires due schedules and runs due jobs once, then answers. For deployments that tick
//! the system from pg_cron (through pg_net) instead of, or beside, running `gimbal worker`.
//! Only the service role may call it: it does system work, not a user's.

use axum::{Json, Router, extract::State, routing::post};
use gimbal_edge::{ApiError, AppState, ErrorBody, Function, Invocation};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

pub const FUNCTION: Function = Function {
    name: "cron",
    verify_jwt: true,
    summary: "Run due schedules and jobs once (service role only)",
    router,
    openapi: || ApiDoc::openapi(),
};

fn router() -> Router<AppState> {
    Router::new().route("/", post(tick))
}

/// Optional body: how many due jobs to run in this tick.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct TickRequest {
    /// 1–1000; default 50.
    pub max_jobs: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TickResponse {
    pub schedules_fired: usize,
    pub jobs_run: usize,
    pub jobs_failed: usize,
}

#[utoipa::path(
    post,
    path = "/functions/v1/cron",
    tag = "jobs",
    request_body(content = TickRequest, description = "Optional"),
    responses(
        (status = 200, description = "What the tick did", body = TickResponse),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not the service role", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn tick(
    State(app): State<AppState>,
    call: Invocation,
    body: Option<Json<TickRequest>>,
) -> Result<Json<TickResponse>, ApiError> {
    if !call.caller.is_service_role() {
        return Err(ApiError::Forbidden(
            "only the service role may tick the scheduler".into(),
        ));
    }
    let max_jobs = body.and_then(|Json(b)| b.max_jobs).unwrap_or(50);
    if !(1..=1000).contains(&max_jobs) {
        return Err(ApiError::validation(
            "max_jobs",
            "must be between 1 and 1000",
        ));
    }
    let report = app
        .jobs
        .tick(max_jobs)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    tracing::info!(
        tick.schedules_fired = report.schedules_fired,
        tick.jobs_run = report.jobs_run,
        "cron tick"
    );
    Ok(Json(TickResponse {
        schedules_fired: report.schedules_fired,
        jobs_run: report.jobs_run,
        jobs_failed: report.jobs_failed,
    }))
}

#[derive(OpenApi)]
#[openapi(paths(tick), components(schemas(TickRequest, TickResponse, ErrorBody)))]
struct ApiDoc;
