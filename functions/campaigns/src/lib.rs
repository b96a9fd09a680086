//! `campaigns`: the validated write path for campaigns (reads go through PostgREST under the
//! same policies). The function validates, then writes as the caller; RLS decides whether the
//! caller may, so a viewer's create answers 403 and a user's delete of someone else's campaign
//! answers 404, exactly as the table's policies say. An edit (PATCH) of a campaign the caller
//! sees but may not change answers 403; a campaign that is running (or has run) cannot be
//! edited (409).
//!
//! Saving a campaign with a `send_at` makes it `scheduled`, and the same transaction enqueues
//! its start at that instant (`gimbal_dispatch::scheduled`), so it starts on time without a
//! call to `send-campaign`; whether it may be sent is checked then, as `send-campaign` checks.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{delete, post},
};
use gimbal_campaigns::{Campaign, CampaignError, CampaignPatch, NewCampaign};
use gimbal_db::{Access, DbError};
use gimbal_edge::{ApiError, AppState, ErrorBody, Function, Invocation, JsonBody};
use utoipa::OpenApi;
use uuid::Uuid;

pub const FUNCTION: Function = Function {
    name: "campaigns",
    verify_jwt: true,
    summary: "Create, update and delete campaigns",
    router,
    openapi: || ApiDoc::openapi(),
};

fn router() -> Router<AppState> {
    Router::new()
        .route("/", post(create))
        .route("/{id}", delete(remove).patch(update))
}

fn map_error(err: CampaignError) -> ApiError {
    match err {
        CampaignError::Invalid(e) => ApiError::validation(e.field, e.message),
        CampaignError::NotFound => ApiError::NotFound("no such campaign".into()),
        CampaignError::Forbidden => {
            ApiError::Forbidden("the caller may not change this campaign".into())
        }
        CampaignError::Conflict(m) => ApiError::Conflict(m),
        CampaignError::Db(e) => e.into(),
    }
}

/// A campaign saved as scheduled gets its start job at `send_at` (one per instant; a job left
/// at an old instant re-checks the campaign when it runs and does nothing).
async fn schedule_start(
    tx: &gimbal_db::Transaction<'_>,
    campaign: &Campaign,
) -> Result<(), ApiError> {
    if let (true, Some(at)) = (campaign.status == "scheduled", campaign.send_at) {
        gimbal_dispatch::scheduled::enqueue_start(tx, campaign.id, at)
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
    }
    Ok(())
}

#[utoipa::path(
    post,
    path = "/functions/v1/campaigns",
    tag = "campaigns",
    request_body = NewCampaign,
    responses(
        (status = 201, description = "Created, owned by the caller", body = Campaign),
        (status = 400, description = "Body is not valid JSON for this shape", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "The caller's role may not create campaigns", body = ErrorBody),
        (status = 422, description = "A field is invalid; `field` names it", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn create(
    State(app): State<AppState>,
    call: Invocation,
    JsonBody(input): JsonBody<NewCampaign>,
) -> Result<(StatusCode, Json<Campaign>), ApiError> {
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadWrite).await?;
    let campaign = gimbal_campaigns::create(&tx, &input)
        .await
        .map_err(map_error)?;
    schedule_start(&tx, &campaign).await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok((StatusCode::CREATED, Json(campaign)))
}

#[utoipa::path(
    delete,
    path = "/functions/v1/campaigns/{id}",
    tag = "campaigns",
    params(("id" = Uuid, Path, description = "Campaign id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 404, description = "No such campaign that the caller may delete", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn remove(
    State(app): State<AppState>,
    call: Invocation,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadWrite).await?;
    let deleted = gimbal_campaigns::delete(&tx, id).await.map_err(map_error)?;
    tx.commit().await.map_err(DbError::from)?;
    if deleted {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!(
            "campaign {id} not found or not deletable by the caller"
        )))
    }
}

#[utoipa::path(
    patch,
    path = "/functions/v1/campaigns/{id}",
    tag = "campaigns",
    params(("id" = Uuid, Path, description = "Campaign id")),
    request_body = CampaignPatch,
    responses(
        (status = 200, description = "Updated", body = Campaign),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "The caller sees the campaign but may not change it", body = ErrorBody),
        (status = 404, description = "No such campaign visible to the caller", body = ErrorBody),
        (status = 409, description = "The campaign is running or finished and can no longer be edited", body = ErrorBody),
        (status = 422, description = "A field is invalid; `field` names it", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn update(
    State(app): State<AppState>,
    call: Invocation,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<CampaignPatch>,
) -> Result<Json<Campaign>, ApiError> {
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadWrite).await?;
    let campaign = gimbal_campaigns::update(&tx, id, &input)
        .await
        .map_err(map_error)?;
    schedule_start(&tx, &campaign).await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(Json(campaign))
}

#[derive(OpenApi)]
#[openapi(
    paths(create, update, remove),
    components(schemas(NewCampaign, CampaignPatch, Campaign, ErrorBody))
)]
struct ApiDoc;
