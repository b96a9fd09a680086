//! `unsubscribe`: the signed per-recipient link in every marketing message (and the target of
//! the RFC 8058 `List-Unsubscribe` header). No JWT and no cookies: the token in the link says
//! who and what, and its HMAC says we issued it.
//!
//! * GET shows a confirmation page with a button and changes nothing: mail scanners and link
//!   previewers follow GETs, and must not unsubscribe anyone.
//! * POST unsubscribes — from that page's button, or as a mailbox provider's one-click
//!   request (`List-Unsubscribe=One-Click`, RFC 8058) — and answers with a page, never a
//!   redirect. The address is suppressed, the contact's consent revoked (as `service_role`,
//!   see `gimbal_webhooks::unsubscribe`). Doing it twice is harmless.
//! * A malformed or forged token answers 400 with a page; a forged one is also recorded as a
//!   security event.

use axum::{
    Router,
    body::Bytes,
    extract::{Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use gimbal_campaigns::unsubscribe::{self, LinkError, UnsubscribeClaim};
use gimbal_db::DbError;
use gimbal_edge::{ApiError, AppState, ErrorBody, Function};
use gimbal_webhooks::security::{self, Rejection};
use secrecy::ExposeSecret;
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

pub const FUNCTION: Function = Function {
    name: "unsubscribe",
    verify_jwt: false,
    summary: "Signed unsubscribe links: confirmation page (GET), unsubscribe (POST, RFC 8058 one-click)",
    router,
    openapi: || ApiDoc::openapi(),
};

const NAME: &str = "unsubscribe";

fn router() -> Router<AppState> {
    Router::new().route("/", get(confirm).post(unsubscribe))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct LinkQuery {
    /// The signed token from the link.
    pub token: Option<String>,
}

fn page(status: StatusCode, title: &str, body_html: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{title}</title></head>\
         <body style=\"font-family: sans-serif; max-width: 32rem; margin: 3rem auto;\">\
         <h1>{title}</h1>{body_html}</body></html>"
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

fn bad_link() -> Response {
    page(
        StatusCode::BAD_REQUEST,
        "This link is not valid",
        "<p>The unsubscribe link is incomplete or has been altered. Please use the link from \
         the message exactly as you received it.</p>",
    )
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// `ada@example.com` → `a••@example.com`: the page confirms whose link it is without showing
/// the whole address to whoever holds the link.
fn masked(claim: &UnsubscribeClaim) -> String {
    match claim.address.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}••@{domain}")
        }
        None => {
            let digits = claim.address.len();
            let tail = &claim.address[digits.saturating_sub(4)..];
            format!("••• {tail}")
        }
    }
}

/// Checks the token; a forged one is recorded as a security event.
async fn verified(
    app: &AppState,
    token: Option<&str>,
    headers: &HeaderMap,
) -> Result<UnsubscribeClaim, Response> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Err(bad_link());
    };
    let key = unsubscribe::link_key_from_base64(app.config.encryption_key.expose_secret())
        .ok_or_else(|| {
            ApiError::Unavailable("GIMBAL_ENCRYPTION_KEY is not 32 bytes of base64".into())
                .into_response()
        })?;
    match unsubscribe::verify(&key, token) {
        Ok(claim) => Ok(claim),
        Err(LinkError::Malformed) => Err(bad_link()),
        Err(LinkError::BadSignature) => {
            let request_id = headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            security::reject(
                &app.pool,
                NAME,
                Rejection::BadSignature,
                request_id,
                token.len(),
            )
            .await;
            Err(bad_link())
        }
    }
}

#[utoipa::path(
    get,
    path = "/functions/v1/unsubscribe",
    tag = "webhooks",
    params(LinkQuery),
    responses(
        (status = 200, description = "Confirmation page with an Unsubscribe button; changes nothing", content_type = "text/html", body = String),
        (status = 400, description = "Missing, malformed or forged token (page)", content_type = "text/html", body = String),
    )
)]
async fn confirm(
    State(app): State<AppState>,
    Query(query): Query<LinkQuery>,
    headers: HeaderMap,
) -> Response {
    let claim = match verified(&app, query.token.as_deref(), &headers).await {
        Ok(claim) => claim,
        Err(page) => return page,
    };
    let what = if claim.channel == "email" {
        "emails"
    } else {
        "text messages"
    };
    // No action attribute: the form posts back to this very URL, token included.
    page(
        StatusCode::OK,
        "Unsubscribe?",
        &format!(
            "<p>Stop marketing {what} to <strong>{}</strong>?</p>\
             <form method=\"post\"><input type=\"hidden\" name=\"confirm\" value=\"yes\">\
             <button type=\"submit\">Unsubscribe</button></form>",
            escape_html(&masked(&claim))
        ),
    )
}

#[utoipa::path(
    post,
    path = "/functions/v1/unsubscribe",
    tag = "webhooks",
    params(LinkQuery),
    request_body(content_type = "application/x-www-form-urlencoded", description = "`List-Unsubscribe=One-Click` (RFC 8058) or the confirmation form; `token` may also be a form field"),
    responses(
        (status = 200, description = "Unsubscribed (page); no redirect", content_type = "text/html", body = String),
        (status = 400, description = "Missing, malformed or forged token (page)", content_type = "text/html", body = String),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    )
)]
async fn unsubscribe(
    State(app): State<AppState>,
    Query(query): Query<LinkQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let from_form = form
        .iter()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.as_str());
    let one_click = form
        .iter()
        .any(|(k, v)| k == "List-Unsubscribe" && v == "One-Click");
    let claim = match verified(&app, query.token.as_deref().or(from_form), &headers).await {
        Ok(claim) => claim,
        Err(page) => return page,
    };
    match apply(&app, &claim, one_click).await {
        Ok(()) => page(
            StatusCode::OK,
            "You are unsubscribed",
            &format!(
                "<p>{} will receive no more marketing {} from us.</p>",
                escape_html(&masked(&claim)),
                if claim.channel == "email" {
                    "emails"
                } else {
                    "text messages"
                }
            ),
        ),
        Err(e) => e.into_response(),
    }
}

async fn apply(app: &AppState, claim: &UnsubscribeClaim, one_click: bool) -> Result<(), ApiError> {
    let mut conn = app.conn().await?;
    let tx = gimbal_webhooks::service_transaction(&mut conn, NAME).await?;
    let outcome = gimbal_webhooks::unsubscribe::apply(
        &tx,
        &claim.channel,
        &claim.address,
        claim.campaign_id,
        one_click,
    )
    .await?;
    tx.commit().await.map_err(DbError::from)?;
    tracing::info!(
        unsubscribe.channel = %claim.channel,
        unsubscribe.one_click = one_click,
        unsubscribe.new = outcome.newly_suppressed,
        "unsubscribed"
    );
    Ok(())
}

#[derive(OpenApi)]
#[openapi(paths(confirm, unsubscribe), components(schemas(ErrorBody)))]
struct ApiDoc;
