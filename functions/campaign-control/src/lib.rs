//! `campaign-control`: pause, resume or cancel a campaign, as the caller. One function with an
//! `action` rather than three: the rules (who may, from which status) are one table, and the
//! frontend calls one endpoint. Pausing stops workers after their current batch; resuming
//! enqueues workers again; cancelling also drops the messages never handed to a provider.

use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
use gimbal_db::{Access, DbError};
use gimbal_dispatch::{ControlAction, DispatchError};
use gimbal_edge::{ApiError, AppState, ErrorBody, Function, Invocation, JsonBody};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

pub const FUNCTION: Function = Function {
    name: "campaign-control",
    verify_jwt: true,
    summary: "Pause, resume or cancel a campaign",
    router,
    openapi: || ApiDoc::openapi(),
};

fn router() -> Router<AppState> {
    Router::new().route("/", post(control))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Control {
    pub campaign_id: Uuid,
    /// `pause`, `resume` or `cancel`.
    pub action: ControlAction,
}

fn api_error(err: DispatchError) -> ApiError {
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
    path = "/functions/v1/campaign-control",
    tag = "campaigns",
    request_body = Control,
    responses(
        (status = 200, description = "Done: the campaign's new status", body = Object),
        (status = 400, description = "Body is not valid JSON for this shape (e.g. unknown action)", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "The caller may not change this campaign", body = ErrorBody),
        (status = 404, description = "No such campaign visible to the caller", body = ErrorBody),
        (status = 409, description = "Not possible from the campaign's status", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn control(
    State(app): State<AppState>,
    call: Invocation,
    JsonBody(input): JsonBody<Control>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadWrite).await?;
    let result = gimbal_dispatch::control::control(&tx, input.campaign_id, input.action, 2)
        .await
        .map_err(api_error)?;
    tx.commit().await.map_err(DbError::from)?;
    Ok((StatusCode::OK, Json(result)))
}

#[derive(OpenApi)]
#[openapi(paths(control), components(schemas(Control, ControlAction, ErrorBody)))]
struct ApiDoc;
