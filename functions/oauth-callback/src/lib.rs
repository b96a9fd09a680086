//! `oauth-callback`: where GA4 and Meta send the browser back. There is no Supabase token on
//! this request (`verify_jwt` off): the signed, unexpired `state` issued by `oauth-start` to a
//! caller allowed to manage the source is the authority, and it is accepted once — its nonce is
//! consumed before the code is exchanged, so a replayed redirect is refused. The code is
//! exchanged with the PKCE verifier, and the resulting refresh or access token is stored
//! encrypted for the source; it is never part of the answer.
//!
//! The browser gets a small HTML page (see [`page`]); a client that asks with
//! `Accept: application/json` gets the JSON answer and the usual error envelope instead.

mod page;

use axum::{
    Json, Router,
    extract::{Query, State},
    http::{HeaderMap, header},
    response::{IntoResponse, Response},
    routing::get,
};
use gimbal_db::{Access, DbError, RequestScope};
use gimbal_edge::{ApiError, AppState, ErrorBody, Function};
use gimbal_sync::{
    authorize::{self, OAuthApp, Provider},
    credentials,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

pub const FUNCTION: Function = Function {
    name: "oauth-callback",
    verify_jwt: false,
    summary: "OAuth2 redirect target for GA4 and Meta; stores the tokens encrypted",
    router,
    openapi: || ApiDoc::openapi(),
};

fn router() -> Router<AppState> {
    Router::new().route("/", get(callback))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    /// Set by the provider when the person declined.
    pub error: Option<String>,
    pub error_description: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Connected {
    pub connected: bool,
    pub data_source_id: Uuid,
    pub provider: String,
}

#[utoipa::path(
    get,
    path = "/functions/v1/oauth-callback",
    tag = "sync",
    params(CallbackParams),
    responses(
        (status = 200, description = "The source is connected: an HTML page, or this JSON with `Accept: application/json`", content((String = "text/html"), (Connected = "application/json"))),
        (status = 400, description = "Declined, or a forged, expired, replayed or malformed state, or a refused code (HTML page, or the envelope as JSON)", content((String = "text/html"), (ErrorBody = "application/json"))),
        (status = 503, description = "OAuth is not configured", content((String = "text/html"), (ErrorBody = "application/json"))),
    )
)]
async fn callback(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<CallbackParams>,
) -> Response {
    let outcome = connect(&app, params).await;
    if wants_json(&headers) {
        return match outcome {
            Ok(connected) => Json(connected).into_response(),
            Err(error) => error.into_response(),
        };
    }
    let (status, shown) = match outcome {
        Ok(connected) => (
            axum::http::StatusCode::OK,
            page::Outcome {
                kind: "gimbal:oauth",
                status: "connected",
                message: format!(
                    "The {} account is connected. Its first sync can start now.",
                    provider_name(&connected.provider)
                ),
                data_source_id: Some(connected.data_source_id),
                provider: Some(connected.provider),
                error: None,
            },
        ),
        Err(error) => {
            if let ApiError::Internal(detail) = &error {
                tracing::error!(error.detail = %detail, "oauth callback failed");
            }
            let body = error.body();
            (
                error.status(),
                page::Outcome {
                    kind: "gimbal:oauth",
                    status: "error",
                    data_source_id: None,
                    provider: None,
                    error: body.error,
                    message: body.message,
                },
            )
        }
    };
    page::render(status, &shown, app.config.oauth_opener_origin.as_deref())
}

/// True when the client asked for JSON (an API client or a test), not a browser navigation.
fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            item.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
        })
}

fn provider_name(provider: &str) -> &'static str {
    match provider {
        "ga4" => "Google Analytics",
        "meta" => "Meta",
        _ => "provider",
    }
}

async fn connect(app: &AppState, params: CallbackParams) -> Result<Connected, ApiError> {
    let (Some(secret), Some(redirect)) = (
        &app.config.oauth_state_secret,
        &app.config.oauth_redirect_url,
    ) else {
        return Err(ApiError::Unavailable("OAuth is not configured".into()));
    };
    if let Some(error) = params.error {
        let detail = params.error_description.unwrap_or_default();
        return Err(ApiError::BadRequest(
            format!("the provider did not grant access: {error} {detail}")
                .trim()
                .to_string(),
        ));
    }
    let state = params
        .state
        .ok_or_else(|| ApiError::BadRequest("state is missing".into()))?;
    let code = params
        .code
        .ok_or_else(|| ApiError::BadRequest("code is missing".into()))?;
    let claims = authorize::verify_state(secret, &state, chrono::Utc::now().timestamp())
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    // Consumed (and committed) before the exchange: of two requests with one state, only one
    // reaches the provider, and a failed exchange cannot be retried with the same state.
    let scope = RequestScope::service("/functions/v1/oauth-callback");
    {
        let mut conn = app.conn().await?;
        let tx = gimbal_db::scope::begin(&mut conn, &scope, Access::ReadWrite).await?;
        authorize::consume_state(&tx, &claims)
            .await?
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        tx.commit().await.map_err(DbError::from)?;
    }
    let urls = gimbal_sync::ProviderUrls::with_overrides(
        app.config.ga4_api_url.as_deref(),
        Some(app.config.provider_urls.google_token.as_str()),
        Some(app.config.provider_urls.meta_graph.as_str()),
    );
    let oauth = match claims.provider {
        Provider::Ga4 => OAuthApp::configured(
            claims.provider,
            app.config.google_client_id.as_deref(),
            app.config.google_client_secret.as_ref(),
            &urls,
        ),
        Provider::Meta => OAuthApp::configured(
            claims.provider,
            app.config.meta_app_id.as_deref(),
            app.config.meta_app_secret.as_ref(),
            &urls,
        ),
    }
    .ok_or_else(|| {
        ApiError::Unavailable("no OAuth client is configured for this provider".into())
    })?;
    let verifier = authorize::pkce_verifier(secret, &claims.nonce);
    let stored = authorize::exchange_code(&app.http, &oauth, &code, redirect, &verifier)
        .await
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    // A connection again only now: none is held while the provider answers.
    let mut conn = app.conn().await?;
    let tx = gimbal_db::scope::begin(&mut conn, &scope, Access::ReadWrite).await?;
    credentials::store(&tx, &app.keyring, claims.data_source_id, &stored)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    tx.commit().await.map_err(DbError::from)?;
    tracing::info!(data_source.id = %claims.data_source_id, oauth.sub = ?claims.sub, "data source connected");
    Ok(Connected {
        connected: true,
        data_source_id: claims.data_source_id,
        provider: format!("{:?}", claims.provider).to_lowercase(),
    })
}

#[derive(OpenApi)]
#[openapi(paths(callback), components(schemas(Connected, ErrorBody)))]
struct ApiDoc;
