//! `integrations`: provider credentials for admins. `GET /` and `GET /{provider}` show what is
//! configured (which fields are set; identifiers hinted by their last four characters, secrets
//! never), `PUT /{provider}` validates and stores the credentials sealed with AES-256-GCM,
//! `PATCH /{provider}` changes some fields and keeps the rest, `DELETE /{provider}` removes
//! them, and `POST /{provider}/test` calls the provider with the stored credentials and reports
//! what failed: the credentials were refused, a permission is missing, the provider was
//! unreachable, or it answered something unexpected.
//!
//! Providers: `twilio`, `sendgrid`, `ga4`, `meta`.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{get, post},
};
use gimbal_admin::integrations::{
    self as store, ConnectionReport, Endpoints, IntegrationError, IntegrationView, Provider,
};
use gimbal_audit::SecurityEvent;
use gimbal_db::{Access, DbError, RequestScope, Transaction};
use gimbal_edge::{ApiError, AppState, ErrorBody, Function, Invocation, JsonBody};
use serde_json::{Map, Value, json};
use utoipa::OpenApi;

pub const FUNCTION: Function = Function {
    name: "integrations",
    verify_jwt: true,
    summary: "Store provider credentials (write-only) and test connections (admins)",
    router,
    openapi: || ApiDoc::openapi(),
};

fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(list))
        .route(
            "/{provider}",
            get(read).put(save).patch(update).delete(remove),
        )
        .route("/{provider}/test", post(test))
}

fn map_error(err: IntegrationError) -> ApiError {
    match err {
        IntegrationError::Invalid { field, message } => ApiError::validation(field, message),
        e @ IntegrationError::UnknownProvider(_) => ApiError::NotFound(e.to_string()),
        e @ IntegrationError::NotConfigured(_) => ApiError::NotFound(e.to_string()),
        IntegrationError::Sealed(e) => {
            tracing::error!(error = %e, "stored credentials cannot be opened");
            ApiError::Conflict(
                "the stored credentials cannot be decrypted with the configured keys; store them again".into(),
            )
        }
        IntegrationError::Db(e) => e.into(),
    }
}

async fn admit(tx: &Transaction<'_>) -> Result<(), ApiError> {
    if gimbal_audit::admit_admins(tx).await? {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only admins may manage integrations".into(),
        ))
    }
}

fn provider(name: &str) -> Result<Provider, ApiError> {
    Provider::parse(name).map_err(map_error)
}

#[utoipa::path(
    operation_id = "integrations_list",
    get, path = "/functions/v1/integrations", tag = "admin",
    responses(
        (status = 200, description = "Every provider, configured or not (metadata only)", body = [IntegrationView]),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn list(
    State(app): State<AppState>,
    call: Invocation,
) -> Result<Json<Vec<IntegrationView>>, ApiError> {
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadOnly).await?;
    admit(&tx).await?;
    Ok(Json(store::list(&tx).await.map_err(map_error)?))
}

#[utoipa::path(
    operation_id = "integrations_read",
    get, path = "/functions/v1/integrations/{provider}", tag = "admin",
    params(("provider" = String, Path, description = "twilio, sendgrid, ga4 or meta")),
    responses(
        (status = 200, description = "Metadata of the stored credentials", body = IntegrationView),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "Unknown provider", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn read(
    State(app): State<AppState>,
    call: Invocation,
    Path(name): Path<String>,
) -> Result<Json<IntegrationView>, ApiError> {
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadOnly).await?;
    admit(&tx).await?;
    Ok(Json(
        store::get(&tx, provider(&name)?).await.map_err(map_error)?,
    ))
}

#[utoipa::path(
    operation_id = "integrations_save",
    put, path = "/functions/v1/integrations/{provider}", tag = "admin",
    params(("provider" = String, Path, description = "twilio, sendgrid, ga4 or meta")),
    request_body(content = Object, description = "twilio: account_sid, auth_token, messaging_service_sid?, from_number?; sendgrid: api_key, from_email?, webhook_public_key?; ga4: client_id, client_secret, refresh_token, property_id?; meta: access_token, ad_account_id?"),
    responses(
        (status = 200, description = "Stored; metadata only", body = IntegrationView),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "Unknown provider", body = ErrorBody),
        (status = 422, description = "A field is missing or invalid; `field` names it", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn save(
    State(app): State<AppState>,
    call: Invocation,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Json<IntegrationView>, ApiError> {
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadWrite).await?;
    admit(&tx).await?;
    let provider = provider(&name)?;
    let creds = store::validate(provider, &body).map_err(map_error)?;
    let view = store::save(&tx, &app.keyring, provider, &creds)
        .await
        .map_err(map_error)?;
    tx.commit().await.map_err(DbError::from)?;
    tracing::info!(
        integration.provider = provider.as_str(),
        "integration credentials stored"
    );
    Ok(Json(view))
}

#[utoipa::path(
    operation_id = "integrations_update",
    patch, path = "/functions/v1/integrations/{provider}", tag = "admin",
    params(("provider" = String, Path, description = "twilio, sendgrid, ga4 or meta")),
    request_body(content = Object, description = "Only the fields to change; null removes an optional field. Stored secrets not named are kept."),
    responses(
        (status = 200, description = "Stored; metadata only", body = IntegrationView),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "Unknown provider, or nothing stored yet (use PUT)", body = ErrorBody),
        (status = 422, description = "A field is invalid, or a required one would be removed; `field` names it", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn update(
    State(app): State<AppState>,
    call: Invocation,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Json<IntegrationView>, ApiError> {
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadWrite).await?;
    admit(&tx).await?;
    let provider = provider(&name)?;
    let existing = load_as_service(&app, provider).await?;
    let creds = store::merge(provider, existing, &body).map_err(map_error)?;
    let view = store::save(&tx, &app.keyring, provider, &creds)
        .await
        .map_err(map_error)?;
    tx.commit().await.map_err(DbError::from)?;
    tracing::info!(
        integration.provider = provider.as_str(),
        "integration credentials updated"
    );
    Ok(Json(view))
}

/// The one service-role step: only it may read ciphertext. Callers take it after the admin
/// check.
async fn load_as_service(
    app: &AppState,
    provider: Provider,
) -> Result<store::Credentials, ApiError> {
    let mut conn = app.conn().await?;
    let tx = gimbal_db::scope::begin(
        &mut conn,
        &RequestScope::service("integrations"),
        Access::ReadOnly,
    )
    .await?;
    store::load(&tx, &app.keyring, provider)
        .await
        .map_err(map_error)
}

#[utoipa::path(
    operation_id = "integrations_remove",
    delete, path = "/functions/v1/integrations/{provider}", tag = "admin",
    params(("provider" = String, Path, description = "twilio, sendgrid, ga4 or meta")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "Unknown or not configured", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn remove(
    State(app): State<AppState>,
    call: Invocation,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadWrite).await?;
    admit(&tx).await?;
    let provider = provider(&name)?;
    if !store::remove(&tx, provider).await.map_err(map_error)? {
        return Err(map_error(IntegrationError::NotConfigured(
            provider.as_str(),
        )));
    }
    tx.commit().await.map_err(DbError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    operation_id = "integrations_test",
    post, path = "/functions/v1/integrations/{provider}/test", tag = "admin",
    params(("provider" = String, Path, description = "twilio, sendgrid, ga4 or meta")),
    responses(
        (status = 200, description = "What the provider said; `ok` false with `outcome` naming the failure", body = ConnectionReport),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "Unknown provider, or no credentials stored", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn test(
    State(app): State<AppState>,
    call: Invocation,
    Path(name): Path<String>,
) -> Result<Json<ConnectionReport>, ApiError> {
    {
        let mut conn = app.conn().await?;
        let tx = call.begin(&mut conn, Access::ReadOnly).await?;
        admit(&tx).await?;
    }
    let provider = provider(&name)?;
    let creds = load_as_service(&app, provider).await?;
    let urls = &app.config.provider_urls;
    let endpoints = Endpoints {
        twilio: urls.twilio.clone(),
        sendgrid: urls.sendgrid.clone(),
        google_token: urls.google_token.clone(),
        meta_graph: urls.meta_graph.clone(),
    };
    let report = store::test_connection(&app.http, &endpoints, provider, &creds).await;
    tracing::info!(
        integration.provider = provider.as_str(),
        integration.outcome = ?report.outcome,
        "integration connection tested"
    );
    let mut event = SecurityEvent::new(
        "integration.tested",
        json!({ "provider": provider.as_str(), "outcome": report.outcome, "http_status": report.http_status }),
    );
    event.actor_id = call.caller.user_id;
    event.actor_role = Some(
        call.caller
            .app_role
            .map(|r| r.as_str().to_string())
            .unwrap_or_else(|| call.caller.db_role.as_str().to_string()),
    );
    event.request_id = Some(call.request_id.clone());
    if let Err(e) = gimbal_audit::record_security_event(&app.pool, &event).await {
        tracing::warn!(error = %e, "could not record a connection test in the audit log");
    }
    Ok(Json(report))
}

#[derive(OpenApi)]
#[openapi(
    paths(list, read, save, update, remove, test),
    components(schemas(IntegrationView, ConnectionReport, ErrorBody))
)]
struct ApiDoc;
