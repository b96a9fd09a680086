//! `send-campaign`: validates a campaign (template present, of the campaign's channel, parsing
//! with known variables; audience; sender; for email the unsubscribe link and postal address)
//! and starts it — or schedules it for `send_at` — by enqueueing `campaign.send` jobs. Answers
//! at once with 202 and the job ids; progress shows on the campaign row (`status`, `stats`).
//! Runs as the caller: RLS decides whether they may change the campaign.

use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
use gimbal_db::{Access, DbError};
use gimbal_dispatch::{DispatchError, Started};
use gimbal_edge::{ApiError, AppState, ErrorBody, Function, Invocation, JsonBody};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

pub const FUNCTION: Function = Function {
    name: "send-campaign",
    verify_jwt: true,
    summary: "Validate a campaign and start or schedule sending it",
    router,
    openapi: || ApiDoc::openapi(),
};

fn router() -> Router<AppState> {
    Router::new().route("/", post(send))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendCampaign {
    pub campaign_id: Uuid,
}

/// Maps engine errors to the error envelope.
pub fn api_error(err: DispatchError) -> ApiError {
    match err {
        DispatchError::NotFound(m) => ApiError::NotFound(m),
        DispatchError::Forbidden(m) => ApiError::Forbidden(m),
        DispatchError::Invalid { field, message } => ApiError::validation(field, message),
        DispatchError::Conflict(m) => ApiError::Conflict(m),
        DispatchError::Db(e) => e.into(),
        DispatchError::Jobs(e) => ApiError::Internal(e.to_string()),
    }
}

#[utoipa::path(
    post,
    path = "/functions/v1/send-campaign",
    tag = "campaigns",
    request_body = SendCampaign,
    responses(
        (status = 202, description = "Started (or scheduled); sending runs in the background", body = Started),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "The caller may not change this campaign", body = ErrorBody),
        (status = 404, description = "No such campaign visible to the caller", body = ErrorBody),
        (status = 409, description = "The campaign is running, paused, completed or cancelled", body = ErrorBody),
        (status = 422, description = "The campaign cannot be sent; `field` names what is missing or wrong", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn send(
    State(app): State<AppState>,
    call: Invocation,
    JsonBody(input): JsonBody<SendCampaign>,
) -> Result<(StatusCode, Json<Started>), ApiError> {
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadWrite).await?;
    let started = gimbal_dispatch::control::start(&tx, input.campaign_id, 2)
        .await
        .map_err(api_error)?;
    tx.commit().await.map_err(DbError::from)?;
    Ok((StatusCode::ACCEPTED, Json(started)))
}

#[derive(OpenApi)]
#[openapi(paths(send), components(schemas(SendCampaign, Started, ErrorBody)))]
struct ApiDoc;
