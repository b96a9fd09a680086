//! `notifications`: what PostgREST alone does not give a signed-in user. `POST /read-all` marks
//! every unread notification of the caller read; `GET /preferences` answers the caller's
//! channels (in-app, email, SMS) for every event type, defaults filled in; `PUT
//! /preferences/{event_type}` sets them. Everything runs as the caller, so RLS keeps each
//! user to their own rows (reading and deleting single notifications is PostgREST's job).

use axum::{
    Json, Router,
    extract::{Path, State},
    routing::{get, post, put},
};
use gimbal_db::{Access, DbError};
use gimbal_edge::{ApiError, AppState, ErrorBody, Function, Invocation, JsonBody};
use gimbal_notifications::{Channels, NotifyError, PreferenceView};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

pub const FUNCTION: Function = Function {
    name: "notifications",
    verify_jwt: true,
    summary: "Mark all notifications read; notification preferences with defaults",
    router,
    openapi: || ApiDoc::openapi(),
};

fn router() -> Router<AppState> {
    Router::new()
        .route("/read-all", post(read_all))
        .route("/preferences", get(preferences))
        .route("/preferences/{event_type}", put(set_preference))
}

/// Notifications belong to a signed-in user: anon and the service role (which has no user
/// of its own; it notifies through `gimbal_notifications::notify`) are refused.
fn signed_in(call: &Invocation) -> Result<(), ApiError> {
    if call.caller.user_id.is_some() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "notifications belong to a signed-in user".into(),
        ))
    }
}

fn map_error(err: NotifyError) -> ApiError {
    match err {
        NotifyError::Invalid { field, message } => ApiError::validation(field, message),
        NotifyError::Db(e) => e.into(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadAll {
    /// How many notifications were unread and are now read.
    pub marked: u64,
}

#[utoipa::path(
    operation_id = "notifications_read_all",
    post, path = "/functions/v1/notifications/read-all", tag = "notifications",
    responses(
        (status = 200, description = "The caller's unread notifications are now read", body = ReadAll),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not a signed-in user (anon, service role)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn read_all(
    State(app): State<AppState>,
    call: Invocation,
) -> Result<Json<ReadAll>, ApiError> {
    signed_in(&call)?;
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadWrite).await?;
    let marked = gimbal_notifications::mark_all_read(&tx)
        .await
        .map_err(map_error)?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(Json(ReadAll { marked }))
}

#[utoipa::path(
    operation_id = "notifications_preferences",
    get, path = "/functions/v1/notifications/preferences", tag = "notifications",
    responses(
        (status = 200, description = "The caller's channels per event type", body = [PreferenceView]),
        (status = 403, description = "Not a signed-in user (anon, service role)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn preferences(
    State(app): State<AppState>,
    call: Invocation,
) -> Result<Json<Vec<PreferenceView>>, ApiError> {
    signed_in(&call)?;
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadOnly).await?;
    Ok(Json(
        gimbal_notifications::effective_preferences(&tx)
            .await
            .map_err(map_error)?,
    ))
}

#[utoipa::path(
    operation_id = "notifications_set_preference",
    put, path = "/functions/v1/notifications/preferences/{event_type}", tag = "notifications",
    params(("event_type" = String, Path, description = "campaign.completed, campaign.paused, sync.failed, report.ready or import.completed_with_rejects")),
    request_body = Channels,
    responses(
        (status = 200, description = "Stored", body = PreferenceView),
        (status = 403, description = "Not a signed-in user (anon, service role)", body = ErrorBody),
        (status = 422, description = "Unknown event type", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn set_preference(
    State(app): State<AppState>,
    call: Invocation,
    Path(event_type): Path<String>,
    JsonBody(channels): JsonBody<Channels>,
) -> Result<Json<PreferenceView>, ApiError> {
    signed_in(&call)?;
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadWrite).await?;
    let view = gimbal_notifications::set_preference(&tx, &event_type, channels)
        .await
        .map_err(map_error)?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(Json(view))
}

#[derive(OpenApi)]
#[openapi(
    paths(read_all, preferences, set_preference),
    components(schemas(ReadAll, PreferenceView, Channels, ErrorBody))
)]
struct ApiDoc;
