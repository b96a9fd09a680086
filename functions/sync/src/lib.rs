//! `sync`: runs and schedules of a data source, for its owner or an admin (RLS on
//! `data_sources` decides; viewers and anon are refused). A run is queued and answered at once
//! with its id; its progress is the `sync_logs` row, readable through PostgREST and Realtime.
//! Credentials are stored encrypted and never returned; a schedule is a `cron_schedules` row
//! firing `sync.run` jobs.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{delete, post},
};
use gimbal_db::{Access, DbError};
use gimbal_edge::{ApiError, AppState, ErrorBody, Function, Invocation, JsonBody};
use gimbal_sync::{
    QueuedRun, SyncError,
    access::{self, AccessError},
    credentials,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

pub const FUNCTION: Function = Function {
    name: "sync",
    verify_jwt: true,
    summary: "Queue a sync run of a data source; store its credentials; schedule it",
    router,
    openapi: || ApiDoc::openapi(),
};

fn router() -> Router<AppState> {
    Router::new()
        .route("/", post(run))
        .route("/credentials", post(store_credentials))
        .route("/schedule", post(schedule))
        .route("/schedule/{data_source_id}", delete(unschedule))
}

fn map_error(err: AccessError) -> ApiError {
    match err {
        AccessError::Invalid { field, message } => ApiError::validation(field, message),
        AccessError::NotFound(id) => ApiError::NotFound(format!("no data source {id}")),
        AccessError::Forbidden(what) => {
            ApiError::Forbidden(format!("the caller may not manage {what}"))
        }
        AccessError::Sync(SyncError::AlreadyRunning(run)) => ApiError::Conflict(format!(
            "a run of this source is already queued or running: {run}"
        )),
        AccessError::Sync(SyncError::Db(e)) => e.into(),
        AccessError::Sync(other) => ApiError::Internal(other.to_string()),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    pub data_source_id: Uuid,
}

#[utoipa::path(
    post,
    path = "/functions/v1/sync",
    tag = "sync",
    request_body = RunRequest,
    responses(
        (status = 202, description = "Queued; follow `sync_logs` row `run_id`", body = QueuedRun),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "The caller may not manage this source", body = ErrorBody),
        (status = 404, description = "No such source visible to the caller", body = ErrorBody),
        (status = 409, description = "A run is already queued or running", body = ErrorBody),
        (status = 422, description = "The source cannot be synced (csv)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn run(
    State(app): State<AppState>,
    call: Invocation,
    JsonBody(input): JsonBody<RunRequest>,
) -> Result<(StatusCode, Json<QueuedRun>), ApiError> {
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadWrite).await?;
    let (kind, _) = access::manageable(&tx, input.data_source_id)
        .await
        .map_err(map_error)?;
    if kind == "csv" {
        return Err(ApiError::validation(
            "data_source_id",
            "csv sources are loaded with import-csv, not synced",
        ));
    }
    access::become_service_role(&tx).await.map_err(map_error)?;
    let queued = gimbal_sync::runner::queue_run(&tx, input.data_source_id)
        .await
        .map_err(|e| map_error(e.into()))?;
    tx.commit().await.map_err(DbError::from)?;
    tracing::info!(sync.run_id = %queued.run_id, data_source.id = %input.data_source_id, "sync queued");
    Ok((StatusCode::ACCEPTED, Json(queued)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialsRequest {
    pub data_source_id: Uuid,
    /// `{access_token}`, `{client_id, client_secret, refresh_token}`, a service account
    /// (`{client_email, private_key}`) or `{url}` for databases. Stored encrypted; never returned.
    #[schema(value_type = Object)]
    pub credentials: Value,
}

#[utoipa::path(
    post,
    path = "/functions/v1/sync/credentials",
    tag = "sync",
    request_body = CredentialsRequest,
    responses(
        (status = 204, description = "Stored, encrypted"),
        (status = 403, description = "The caller may not manage this source", body = ErrorBody),
        (status = 404, description = "No such source visible to the caller", body = ErrorBody),
        (status = 422, description = "credentials must be an object", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn store_credentials(
    State(app): State<AppState>,
    call: Invocation,
    JsonBody(input): JsonBody<CredentialsRequest>,
) -> Result<StatusCode, ApiError> {
    if !input.credentials.is_object() || input.credentials.as_object().is_some_and(|o| o.is_empty())
    {
        return Err(ApiError::validation(
            "credentials",
            "must be a non-empty object",
        ));
    }
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadWrite).await?;
    access::manageable(&tx, input.data_source_id)
        .await
        .map_err(map_error)?;
    access::become_service_role(&tx).await.map_err(map_error)?;
    credentials::store(&tx, &app.keyring, input.data_source_id, &input.credentials)
        .await
        .map_err(|e| map_error(e.into()))?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleRequest {
    pub data_source_id: Uuid,
    /// Five-field cron (or `@daily`…), read in `time_zone`.
    pub cron: String,
    /// IANA zone; default UTC.
    pub time_zone: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleResponse {
    pub schedule_id: i64,
    pub name: String,
}

#[utoipa::path(
    post,
    path = "/functions/v1/sync/schedule",
    tag = "sync",
    request_body = ScheduleRequest,
    responses(
        (status = 200, description = "Created or updated", body = ScheduleResponse),
        (status = 403, description = "The caller may not manage this source", body = ErrorBody),
        (status = 404, description = "No such source visible to the caller", body = ErrorBody),
        (status = 422, description = "cron or time_zone is invalid", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn schedule(
    State(app): State<AppState>,
    call: Invocation,
    JsonBody(input): JsonBody<ScheduleRequest>,
) -> Result<Json<ScheduleResponse>, ApiError> {
    let time_zone = input.time_zone.unwrap_or_else(|| "UTC".into());
    gimbal_jobs::schedule::validate(&input.cron, &time_zone).map_err(|e| {
        let field = if e.to_string().contains("zone") {
            "time_zone"
        } else {
            "cron"
        };
        ApiError::validation(field, e.to_string())
    })?;
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadWrite).await?;
    let (kind, _) = access::manageable(&tx, input.data_source_id)
        .await
        .map_err(map_error)?;
    if kind == "csv" {
        return Err(ApiError::validation(
            "data_source_id",
            "csv sources are not synced",
        ));
    }
    access::become_service_role(&tx).await.map_err(map_error)?;
    let name = format!("sync:{}", input.data_source_id);
    let mut new =
        gimbal_jobs::schedule::NewSchedule::new(&name, &input.cron, gimbal_sync::runner::JOB_KIND);
    new.time_zone = time_zone;
    new.payload = json!({ "data_source_id": input.data_source_id });
    let schedule_id = gimbal_jobs::schedule::upsert(&tx, &new)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(Json(ScheduleResponse { schedule_id, name }))
}

#[utoipa::path(
    delete,
    path = "/functions/v1/sync/schedule/{data_source_id}",
    tag = "sync",
    params(("data_source_id" = Uuid, Path, description = "The source")),
    responses(
        (status = 204, description = "No schedule any more"),
        (status = 403, description = "The caller may not manage this source", body = ErrorBody),
        (status = 404, description = "No such source visible to the caller", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn unschedule(
    State(app): State<AppState>,
    call: Invocation,
    Path(data_source_id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadWrite).await?;
    access::manageable(&tx, data_source_id)
        .await
        .map_err(map_error)?;
    access::become_service_role(&tx).await.map_err(map_error)?;
    tx.execute(
        "delete from public.cron_schedules where name = $1",
        &[&format!("sync:{data_source_id}")],
    )
    .await
    .map_err(DbError::from)?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(OpenApi)]
#[openapi(
    paths(run, store_credentials, schedule, unschedule),
    components(schemas(
        RunRequest,
        QueuedRun,
        CredentialsRequest,
        ScheduleRequest,
        ScheduleResponse,
        ErrorBody
    ))
)]
struct ApiDoc;
