//! `auth-hook`: the HTTP endpoint for Supabase Auth's *Password Verification Attempt* and *MFA
//! Verification Attempt* hooks, so failed logins reach the audit trail as security events
//! (`login.failed`, `mfa.failed`). No JWT: Supabase Auth signs each call the Standard Webhooks
//! way (`webhook-id`, `webhook-timestamp`, `webhook-signature`: HMAC-SHA256 over
//! `id.timestamp.body` with the hook's secret, `SUPABASE_AUTH_HOOK_SECRET`, shown by Supabase as
//! `v1,whsec_<base64>`), verified with the `standardwebhooks` crate, which also refuses a
//! timestamp more than five minutes away. A refused call is itself a security event.
//!
//! The hook only observes: it always answers `{"decision": "continue"}`, leaving Supabase's own
//! behaviour (and any lockout policy) unchanged.

use axum::{Json, Router, body::Bytes, extract::State, http::HeaderMap, routing::post};
use gimbal_audit::SecurityEvent;
use gimbal_edge::{ApiError, AppState, ErrorBody, Function};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

pub const FUNCTION: Function = Function {
    name: "auth-hook",
    verify_jwt: false,
    summary: "Supabase Auth verification hooks (signed): failed logins into the audit trail",
    router,
    openapi: || ApiDoc::openapi(),
};

fn router() -> Router<AppState> {
    Router::new().route("/", post(receive))
}

/// What Supabase Auth sends: `user_id` and `valid` for a password attempt; MFA attempts add
/// `factor_id` (and `factor_type`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct VerificationAttempt {
    pub user_id: Uuid,
    pub valid: bool,
    pub factor_id: Option<Uuid>,
    pub factor_type: Option<String>,
}

/// The hook's answer: Supabase Auth goes on as it would have.
#[derive(Debug, Serialize, ToSchema)]
pub struct Decision {
    /// Always `continue`.
    pub decision: &'static str,
}

/// The hook secret as Supabase shows it (`v1,whsec_<base64>`), or just the `whsec_…` part.
fn webhook(secret: &str) -> Option<standardwebhooks::Webhook> {
    let secret = secret.trim();
    let secret = secret.strip_prefix("v1,").unwrap_or(secret);
    standardwebhooks::Webhook::new(secret).ok()
}

#[utoipa::path(
    post,
    path = "/functions/v1/auth-hook",
    tag = "webhooks",
    request_body = VerificationAttempt,
    params(
        ("webhook-id" = String, Header, description = "Standard Webhooks message id"),
        ("webhook-timestamp" = String, Header, description = "Unix seconds; refused when more than 5 minutes away"),
        ("webhook-signature" = String, Header, description = "`v1,<base64 HMAC-SHA256 of id.timestamp.body>`"),
    ),
    responses(
        (status = 200, description = "Recorded; Supabase Auth continues as usual", body = Decision),
        (status = 403, description = "Missing, stale or wrong signature; recorded as a security event", body = ErrorBody),
        (status = 422, description = "Not a verification attempt", body = ErrorBody),
        (status = 503, description = "SUPABASE_AUTH_HOOK_SECRET is not configured or malformed", body = ErrorBody),
    )
)]
async fn receive(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Decision>, ApiError> {
    let hook = app
        .config
        .webhooks
        .auth_hook_secret
        .as_ref()
        .and_then(|s| webhook(s.expose_secret()))
        .ok_or_else(|| {
            ApiError::Unavailable("SUPABASE_AUTH_HOOK_SECRET is not configured".into())
        })?;
    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Err(reason) = hook.verify(&body, &headers) {
        tracing::warn!(reason = %reason, "auth hook refused: bad signature");
        let mut event = SecurityEvent::new(
            "webhook.bad_signature",
            json!({"function": "auth-hook", "reason": reason.to_string(), "body_bytes": body.len()}),
        );
        event.request_id = request_id;
        record(&app, &event).await;
        return Err(ApiError::Forbidden(
            "the request's webhook signature is missing, stale or does not verify".into(),
        ));
    }
    let attempt: VerificationAttempt = serde_json::from_slice(&body)
        .map_err(|e| ApiError::validation("body", format!("not a verification attempt: {e}")))?;
    if !attempt.valid {
        let (action, details) = match attempt.factor_id {
            Some(factor_id) => (
                "mfa.failed",
                json!({"source": "supabase-auth", "factor_id": factor_id, "factor_type": attempt.factor_type}),
            ),
            None => (
                "login.failed",
                json!({"source": "supabase-auth", "method": "password"}),
            ),
        };
        let mut event = SecurityEvent::new(action, details);
        event.actor_id = Some(attempt.user_id);
        event.request_id = request_id;
        record(&app, &event).await;
        tracing::info!(user.id = %attempt.user_id, action, "failed verification recorded");
    }
    Ok(Json(Decision {
        decision: "continue",
    }))
}

/// Recording must not turn Supabase's login into an error: a failure is logged and the hook
/// still answers.
async fn record(app: &AppState, event: &SecurityEvent) {
    if let Err(e) = gimbal_audit::record_security_event(&app.pool, event).await {
        tracing::error!(error = %e, action = %event.action, "could not record security event");
    }
}

#[derive(OpenApi)]
#[openapi(
    paths(receive),
    components(schemas(VerificationAttempt, Decision, ErrorBody))
)]
struct ApiDoc;

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks reference vector (standard-webhooks' own libraries test it): the
    /// secret as Supabase shows it, with its `v1,` prefix, yields the published signature.
    #[test]
    fn supabase_shaped_secret_signs_the_reference_vector() {
        let hook = webhook("v1,whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").expect("secret");
        let signature = hook
            .sign(
                "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
                1_649_367_553,
                br#"{"email":"test@example.com","username":"test_user"}"#,
            )
            .unwrap();
        assert_eq!(signature, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
        assert!(webhook("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").is_some());
        assert!(webhook("v1,whsec_not base64!").is_none());
    }
}
