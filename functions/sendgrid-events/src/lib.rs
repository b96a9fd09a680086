//! `sendgrid-events`: SendGrid's signed Event Webhook. No JWT: each batch carries an ECDSA
//! P-256 signature over `timestamp || raw body`, checked against the integrations store's
//! `webhook_public_key`, else `SENDGRID_WEBHOOK_PUBLIC_KEY`; a missing or wrong signature,
//! or a timestamp outside the replay window, is refused (403) and recorded as a security
//! event. A verified batch is
//! applied in one `service_role` statement (see `gimbal_webhooks::email`): deduplicated on
//! `sg_event_id`, so SendGrid's redeliveries are harmless, and answered at once with counts.

use axum::{Json, Router, body::Bytes, extract::State, http::HeaderMap, routing::post};
use chrono::Utc;
use gimbal_edge::{ApiError, AppState, ErrorBody, Function};
use gimbal_webhooks::{
    email::{self, BatchOutcome},
    keys::WebhookKey,
    request,
    security::{self, Rejection},
    sendgrid::{EventKey, SIGNATURE_HEADER, TIMESTAMP_HEADER},
};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

pub const FUNCTION: Function = Function {
    name: "sendgrid-events",
    verify_jwt: false,
    summary: "SendGrid Event Webhook batches (signed ECDSA)",
    router,
    openapi: || ApiDoc::openapi(),
};

const NAME: &str = "sendgrid-events";

fn router() -> Router<AppState> {
    Router::new().route("/", post(receive))
}

/// The answer to a batch (SendGrid only looks at the status; the counts help operators).
#[derive(Debug, Serialize, ToSchema)]
pub struct Received {
    pub received: usize,
    pub recorded: u64,
    pub duplicates: u64,
    pub skipped: usize,
    pub messages_updated: u64,
    pub suppressed: u64,
}

impl From<BatchOutcome> for Received {
    fn from(o: BatchOutcome) -> Self {
        Received {
            received: o.received,
            recorded: o.recorded,
            duplicates: o.duplicates,
            skipped: o.skipped,
            messages_updated: o.messages_updated,
            suppressed: o.suppressed,
        }
    }
}

/// Why a batch is not from SendGrid, if it is not.
fn check(
    app: &AppState,
    key: &EventKey,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), Rejection> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(signature), Some(timestamp)) = (header(SIGNATURE_HEADER), header(TIMESTAMP_HEADER))
    else {
        return Err(Rejection::MissingSignature);
    };
    if !key.verify(timestamp, body, signature) {
        return Err(Rejection::BadSignature);
    }
    // Signed but old: a captured batch replayed later. Exact redeliveries inside the window
    // are harmless (deduplicated); anything altered fails the signature above.
    let max_age = app.config.webhooks.sendgrid_max_age_secs as i64;
    let age = timestamp
        .trim()
        .parse::<i64>()
        .map(|t| Utc::now().timestamp() - t)
        .map_err(|_| Rejection::BadSignature)?;
    if age > max_age || age < -300 {
        return Err(Rejection::StaleTimestamp);
    }
    Ok(())
}

fn event_key(secret: &SecretString) -> Result<EventKey, ApiError> {
    EventKey::from_base64_der(secret.expose_secret())
        .map_err(|e| ApiError::Unavailable(e.to_string()))
}

#[utoipa::path(
    post,
    path = "/functions/v1/sendgrid-events",
    tag = "webhooks",
    request_body(content_type = "application/json", description = "A JSON array of SendGrid events"),
    params(
        ("X-Twilio-Email-Event-Webhook-Signature" = String, Header, description = "base64 DER ECDSA P-256 signature of timestamp || body"),
        ("X-Twilio-Email-Event-Webhook-Timestamp" = String, Header, description = "Unix seconds, part of what is signed"),
    ),
    responses(
        (status = 200, description = "Batch applied", body = Received),
        (status = 400, description = "Verified, but not a JSON array of events", body = ErrorBody),
        (status = 403, description = "Missing or wrong signature, or a stale timestamp; recorded as a security event", body = ErrorBody),
        (status = 503, description = "SENDGRID_WEBHOOK_PUBLIC_KEY is not configured or invalid", body = ErrorBody),
    )
)]
async fn receive(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Received>, ApiError> {
    let secret = request::webhook_key(&app, WebhookKey::SendGridPublicKey).await?;
    let key = event_key(&secret)?;
    let mut checked = check(&app, &key, &headers, &body);
    if checked == Err(Rejection::BadSignature)
        && let Some(secret) =
            request::changed_webhook_key(&app, WebhookKey::SendGridPublicKey, &secret).await
    {
        // the key was saved or rotated since it was read
        checked = check(&app, &event_key(&secret)?, &headers, &body);
    }
    if let Err(reason) = checked {
        let request_id = headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        security::reject(&app.pool, NAME, reason, request_id, body.len()).await;
        return Err(ApiError::Forbidden(format!(
            "the batch is not signed by SendGrid ({})",
            reason.as_str()
        )));
    }
    let (events, skipped) =
        email::parse_batch(&body).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let mut conn = app.conn().await?;
    let mut outcome = email::ingest(&mut conn, NAME, &events).await?;
    outcome.skipped = skipped;
    outcome.received += skipped;
    tracing::info!(
        sendgrid.received = outcome.received,
        sendgrid.recorded = outcome.recorded,
        sendgrid.duplicates = outcome.duplicates,
        "sendgrid event batch"
    );
    Ok(Json(outcome.into()))
}

#[derive(OpenApi)]
#[openapi(paths(receive), components(schemas(Received, ErrorBody)))]
struct ApiDoc;
