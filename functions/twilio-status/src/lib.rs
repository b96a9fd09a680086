//! `twilio-status`: Twilio's message status callbacks (`StatusCallback`). No JWT: Twilio
//! authenticates with `X-Twilio-Signature`, checked over the URL it called against the auth
//! token of the integrations store, else `TWILIO_AUTH_TOKEN`. A request that fails the check
//! is refused (403) and recorded as a security event. A verified callback is recorded once per (MessageSid, MessageStatus) and updates
//! the message as `service_role` (see `gimbal_webhooks::sms`); the answer is an empty 204.

use axum::{
    Router,
    body::Bytes,
    extract::{OriginalUri, State},
    http::{HeaderMap, StatusCode},
    routing::post,
};
use gimbal_db::DbError;
use gimbal_edge::{ApiError, AppState, ErrorBody, Function};
use gimbal_webhooks::{
    sms::{self, StatusUpdate},
    twilio,
};
use serde_json::{Map, Value};
use utoipa::OpenApi;

pub const FUNCTION: Function = Function {
    name: "twilio-status",
    verify_jwt: false,
    summary: "Twilio message status callbacks (signed)",
    router,
    openapi: || ApiDoc::openapi(),
};

const NAME: &str = "twilio-status";

fn router() -> Router<AppState> {
    Router::new().route("/", post(receive))
}

fn required<'a>(params: &'a [(String, String)], name: &'static str) -> Result<&'a str, ApiError> {
    twilio::param(params, name).ok_or_else(|| ApiError::validation(name, "is required"))
}

#[utoipa::path(
    post,
    path = "/functions/v1/twilio-status",
    tag = "webhooks",
    request_body(content_type = "application/x-www-form-urlencoded", description = "Twilio's status callback parameters (MessageSid, MessageStatus, ErrorCode, To, …)"),
    params(("X-Twilio-Signature" = String, Header, description = "base64 HMAC-SHA1 of the URL and sorted parameters")),
    responses(
        (status = 204, description = "Recorded (or already recorded)"),
        (status = 403, description = "Missing or wrong signature; recorded as a security event", body = ErrorBody),
        (status = 422, description = "MessageSid or MessageStatus missing", body = ErrorBody),
        (status = 503, description = "TWILIO_AUTH_TOKEN is not configured", body = ErrorBody),
    )
)]
async fn receive(
    State(app): State<AppState>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let path = uri.0.path_and_query().map_or("/", |p| p.as_str());
    let params =
        gimbal_webhooks::request::verified_twilio_form(&app, NAME, path, &headers, &body).await?;
    let update = StatusUpdate {
        message_sid: required(&params, "MessageSid")?.to_string(),
        message_status: required(&params, "MessageStatus")?.to_string(),
        error_code: twilio::param(&params, "ErrorCode").map(str::to_string),
        to: twilio::param(&params, "To").map(str::to_string),
        payload: Value::Object(
            params
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect::<Map<_, _>>(),
        ),
    };
    let mut conn = app.conn().await?;
    let tx = gimbal_webhooks::service_transaction(&mut conn, NAME).await?;
    let outcome = sms::apply_status(&tx, &update).await?;
    tx.commit().await.map_err(DbError::from)?;
    tracing::info!(
        twilio.message_sid = %update.message_sid,
        twilio.status = %update.message_status,
        outcome = ?outcome,
        "twilio status callback"
    );
    Ok(StatusCode::NO_CONTENT)
}

#[derive(OpenApi)]
#[openapi(paths(receive), components(schemas(ErrorBody)))]
struct ApiDoc;
