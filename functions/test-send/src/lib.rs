//! `test-send`: the campaign's message, rendered for the caller (their contact row when one has
//! their address, placeholders like `[first_name]` otherwise), sent to the caller's own email
//! or phone from their token — never to an address in the request, so it cannot be used to
//! message anyone else. Validated like `send-campaign`; the send is an `email.send` /
//! `sms.send` job, answered at once with 202 and the job id.

use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
use gimbal_db::{Access, DbError};
use gimbal_dispatch::DispatchError;
use gimbal_edge::{ApiError, AppState, ErrorBody, Function, Invocation, JsonBody};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::Value;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

pub const FUNCTION: Function = Function {
    name: "test-send",
    verify_jwt: true,
    summary: "Send a campaign's message to the caller's own email or phone",
    router,
    openapi: || ApiDoc::openapi(),
};

fn router() -> Router<AppState> {
    Router::new().route("/", post(test_send))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestSend {
    pub campaign_id: Uuid,
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
    path = "/functions/v1/test-send",
    tag = "campaigns",
    request_body = TestSend,
    responses(
        (status = 202, description = "Queued to the caller's own address", body = Object),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "The caller may not change this campaign", body = ErrorBody),
        (status = 404, description = "No such campaign visible to the caller", body = ErrorBody),
        (status = 422, description = "The campaign cannot be sent, or the caller's token has no address for its channel", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn test_send(
    State(app): State<AppState>,
    call: Invocation,
    JsonBody(input): JsonBody<TestSend>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let claims = &call.caller.claims;
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadWrite).await?;
    let channel: Option<String> = tx
        .query_opt(
            "select channel from public.campaigns where id = $1",
            &[&input.campaign_id],
        )
        .await
        .map_err(DbError::from)?
        .map(|r| r.get(0));
    let address = match channel.as_deref() {
        Some("sms") => claims["phone"].as_str(),
        _ => claims["email"].as_str(),
    };
    let functions_url = gimbal_dispatch::public_functions_url(
        app.config.webhooks.public_url.as_deref(),
        app.config.supabase_url.as_deref(),
        app.config.bind,
        &app.config.path_prefix,
    );
    let config = gimbal_dispatch::DispatchConfig::new(
        &functions_url,
        gimbal_dispatch::unsubscribe_key(app.config.encryption_key.expose_secret()).ok_or_else(
            || ApiError::Unavailable("GIMBAL_ENCRYPTION_KEY is not 32 bytes of base64".into()),
        )?,
    );
    let result = gimbal_dispatch::control::test_send(&tx, input.campaign_id, address, &config)
        .await
        .map_err(api_error)?;
    tx.commit().await.map_err(DbError::from)?;
    Ok((StatusCode::ACCEPTED, Json(result)))
}

#[derive(OpenApi)]
#[openapi(paths(test_send), components(schemas(TestSend, ErrorBody)))]
struct ApiDoc;
