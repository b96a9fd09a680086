//! `oauth-start`: begins connecting a GA4 or Meta source interactively. For the source's owner
//! or an admin (RLS on `data_sources` decides), it answers the provider's authorization URL
//! with a signed, expiring, single-use `state` (its nonce is recorded, and the callback consumes
//! it) and a PKCE S256 challenge; the frontend sends the browser there, and the provider sends
//! it back to `oauth-callback`.

use axum::{Json, Router, extract::State, routing::post};
use gimbal_db::{Access, DbError, RequestScope};
use gimbal_edge::{ApiError, AppState, ErrorBody, Function, Invocation, JsonBody};
use gimbal_sync::{
    SyncError,
    access::{self, AccessError},
    authorize::{self, OAuthApp, Provider},
};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use uuid::Uuid;

pub const FUNCTION: Function = Function {
    name: "oauth-start",
    verify_jwt: true,
    summary: "Start connecting a GA4 or Meta source (OAuth2 code flow with PKCE)",
    router,
    openapi: || ApiDoc::openapi(),
};

fn router() -> Router<AppState> {
    Router::new().route("/", post(start))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    pub data_source_id: Uuid,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StartResponse {
    /// Send the browser here.
    pub authorization_url: String,
    /// Unix seconds after which the callback is refused.
    pub expires_at: i64,
}

#[utoipa::path(
    post,
    path = "/functions/v1/oauth-start",
    tag = "sync",
    request_body = StartRequest,
    responses(
        (status = 200, description = "The provider's authorization URL", body = StartResponse),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "The caller may not manage this source", body = ErrorBody),
        (status = 404, description = "No such source visible to the caller", body = ErrorBody),
        (status = 422, description = "The source is not a GA4 or Meta source", body = ErrorBody),
        (status = 503, description = "OAuth is not configured for this provider", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn start(
    State(app): State<AppState>,
    call: Invocation,
    JsonBody(input): JsonBody<StartRequest>,
) -> Result<Json<StartResponse>, ApiError> {
    let (Some(secret), Some(redirect)) = (
        &app.config.oauth_state_secret,
        &app.config.oauth_redirect_url,
    ) else {
        return Err(ApiError::Unavailable(
            "OAuth is not configured (GIMBAL_OAUTH_STATE_SECRET, GIMBAL_OAUTH_REDIRECT_URL)".into(),
        ));
    };
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadWrite).await?;
    let (kind, _) = access::manageable(&tx, input.data_source_id)
        .await
        .map_err(map_error)?;
    drop(tx);
    let provider = Provider::from_kind(&kind).ok_or_else(|| {
        ApiError::validation(
            "data_source_id",
            "only ga4 and meta sources connect with OAuth",
        )
    })?;
    let urls = gimbal_sync::ProviderUrls::with_overrides(
        app.config.ga4_api_url.as_deref(),
        Some(app.config.provider_urls.google_token.as_str()),
        Some(app.config.provider_urls.meta_graph.as_str()),
    );
    let oauth = match provider {
        Provider::Ga4 => OAuthApp::configured(
            provider,
            app.config.google_client_id.as_deref(),
            app.config.google_client_secret.as_ref(),
            &urls,
        ),
        Provider::Meta => OAuthApp::configured(
            provider,
            app.config.meta_app_id.as_deref(),
            app.config.meta_app_secret.as_ref(),
            &urls,
        ),
    }
    .ok_or_else(|| ApiError::Unavailable(format!("no OAuth client is configured for {kind}")))?;
    let sub = call
        .caller
        .claims
        .get("sub")
        .and_then(|s| s.as_str())
        .map(str::to_string);
    let claims = authorize::new_state(
        input.data_source_id,
        provider,
        sub,
        chrono::Utc::now().timestamp(),
    );
    // The caller may manage the source (checked above): the state is recorded on its behalf.
    let scope = RequestScope::service("/functions/v1/oauth-start");
    let tx = gimbal_db::scope::begin(&mut conn, &scope, Access::ReadWrite).await?;
    authorize::record_state(&tx, &claims).await?;
    tx.commit().await.map_err(DbError::from)?;
    let state = authorize::sign_state(secret, &claims);
    let challenge = authorize::pkce_challenge(&authorize::pkce_verifier(secret, &claims.nonce));
    Ok(Json(StartResponse {
        authorization_url: authorize::authorization_url(&oauth, redirect, &state, &challenge),
        expires_at: claims.exp,
    }))
}

fn map_error(err: AccessError) -> ApiError {
    match err {
        AccessError::Invalid { field, message } => ApiError::validation(field, message),
        AccessError::NotFound(id) => ApiError::NotFound(format!("no data source {id}")),
        AccessError::Forbidden(what) => {
            ApiError::Forbidden(format!("the caller may not manage {what}"))
        }
        AccessError::Sync(SyncError::Db(e)) => e.into(),
        AccessError::Sync(other) => ApiError::Internal(other.to_string()),
    }
}

#[derive(OpenApi)]
#[openapi(
    paths(start),
    components(schemas(StartRequest, StartResponse, ErrorBody))
)]
struct ApiDoc;
