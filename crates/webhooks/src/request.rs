//! What the webhook functions share about an HTTP request: the public URL a provider called
//! (Twilio signs it), verifying a Twilio form POST, and the keys both providers verify with
//! (from the integrations store, else the environment: see [`crate::keys`]).

use gimbal_edge::{ApiError, App};
use http::HeaderMap;
use secrecy::{ExposeSecret, SecretString};

use crate::{
    keys::{self, KeySource, WebhookKey},
    security::{self, Rejection},
    twilio,
};

/// The URL the provider called: `public_url` (the configured origin) plus the path and query
/// as received. Without a configured origin, the request's own `Host` and
/// `X-Forwarded-Proto` are used — a forger gains nothing from choosing them, since the
/// signature still needs the provider's secret.
pub fn called_url(
    public_url: Option<&str>,
    host: Option<&str>,
    forwarded_proto: Option<&str>,
    path_and_query: &str,
) -> String {
    match public_url {
        Some(origin) => format!("{}{path_and_query}", origin.trim_end_matches('/')),
        None => format!(
            "{}://{}{path_and_query}",
            forwarded_proto.unwrap_or("https"),
            host.unwrap_or("localhost")
        ),
    }
}

/// The key `key`: the integrations store's, else the environment's. Unset in both answers
/// 503 naming what to configure; a store that cannot be read answers 503 too (its cause is
/// logged, never the key).
pub async fn webhook_key(app: &App, key: WebhookKey) -> Result<SecretString, ApiError> {
    let env = environment_key(app, key);
    match keys::resolve(key, &key_source(app, env.as_ref())).await {
        Ok(Some(secret)) => Ok(secret),
        Ok(None) => Err(ApiError::Unavailable(format!(
            "{} is not configured, neither in the integrations store nor in the environment",
            key.variable()
        ))),
        Err(e) => {
            tracing::error!(error = %e, "webhook key lookup failed");
            Err(ApiError::Unavailable(
                "the webhook verification key cannot be read".into(),
            ))
        }
    }
}

/// After a request failed to verify with `failed`: the key again when the store now holds
/// another one (saved or rotated since it was read), `None` otherwise (see [`keys::reread`]).
pub async fn changed_webhook_key(
    app: &App,
    key: WebhookKey,
    failed: &SecretString,
) -> Option<SecretString> {
    let env = environment_key(app, key);
    match keys::reread(key, &key_source(app, env.as_ref()), failed).await {
        Ok(changed) => changed,
        Err(e) => {
            tracing::error!(error = %e, "webhook key lookup failed");
            None
        }
    }
}

fn key_source<'a>(app: &'a App, fallback: Option<&'a SecretString>) -> KeySource<'a> {
    KeySource {
        pool: &app.pool,
        keyring: &app.keyring,
        database: app.config.database_url(),
        fallback,
    }
}

fn environment_key(app: &App, key: WebhookKey) -> Option<SecretString> {
    match key {
        WebhookKey::TwilioAuthToken => app.config.webhooks.twilio_auth_token.clone(),
        WebhookKey::SendGridPublicKey => app
            .config
            .webhooks
            .sendgrid_public_key
            .clone()
            .map(SecretString::from),
    }
}

/// Verifies a Twilio webhook's `X-Twilio-Signature` over the URL it called and returns the
/// form's parameters. A refused request has been logged and recorded as a security event,
/// and the error is the answer.
pub async fn verified_twilio_form(
    app: &App,
    function: &str,
    path_and_query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<(String, String)>, ApiError> {
    let token = webhook_key(app, WebhookKey::TwilioAuthToken).await?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let url = called_url(
        app.config.webhooks.public_url.as_deref(),
        header("host"),
        header("x-forwarded-proto"),
        path_and_query,
    );
    let signature = header("x-twilio-signature");
    let mut verified = twilio::verify_form(token.expose_secret().as_bytes(), &url, signature, body);
    if verified == Err(Rejection::BadSignature)
        && let Some(token) = changed_webhook_key(app, WebhookKey::TwilioAuthToken, &token).await
    {
        verified = twilio::verify_form(token.expose_secret().as_bytes(), &url, signature, body);
    }
    match verified {
        Ok(params) => Ok(params),
        Err(reason) => {
            let request_id = header("x-request-id").unwrap_or_default();
            security::reject(&app.pool, function, reason, request_id, body.len()).await;
            Err(ApiError::Forbidden(
                "the request's Twilio signature is missing or does not verify".into(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configured_origin_wins() {
        assert_eq!(
            called_url(
                Some("https://x.test/"),
                Some("127.0.0.1:1"),
                None,
                "/functions/v1/a?b=1"
            ),
            "https://x.test/functions/v1/a?b=1"
        );
        assert_eq!(
            called_url(None, Some("h.test"), Some("http"), "/p"),
            "http://h.test/p"
        );
    }
}
