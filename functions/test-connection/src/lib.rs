//! `test-connection`: does a data source connect? For a saved source (its stored credentials)
//! or one being set up (kind, config and credentials in the body, never stored or echoed).
//! The answer comes within seconds; a failing source is a `200` with `ok: false` and an
//! actionable `error` (auth_failed, host_unreachable, permission_denied, quota, timeout, tls_failed,
//! invalid_config); the error envelope is for requests that are themselves wrong.

use axum::{Json, Router, extract::State, routing::post};
use gimbal_db::Access;
use gimbal_edge::{ApiError, AppState, ErrorBody, Function, Invocation, JsonBody};
use gimbal_sync::{
    SyncError,
    access::{self, AccessError, SourceRef},
    wizard::{self, Verdict},
};
use utoipa::OpenApi;

pub const FUNCTION: Function = Function {
    name: "test-connection",
    verify_jwt: true,
    summary: "Check that a data source connects, with actionable errors",
    router,
    openapi: || ApiDoc::openapi(),
};

fn router() -> Router<AppState> {
    Router::new().route("/", post(test_connection))
}

pub fn map_error(err: AccessError) -> ApiError {
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

#[utoipa::path(
    post,
    path = "/functions/v1/test-connection",
    tag = "sync",
    request_body = SourceRef,
    responses(
        (status = 200, description = "The verdict (`ok`, or an actionable `error`)", body = Verdict),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "The caller may not manage this source, or set up sources", body = ErrorBody),
        (status = 404, description = "No such source visible to the caller", body = ErrorBody),
        (status = 422, description = "Neither data_source_id nor kind and config", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn test_connection(
    State(app): State<AppState>,
    call: Invocation,
    JsonBody(input): JsonBody<SourceRef>,
) -> Result<Json<Verdict>, ApiError> {
    let mut conn = app.conn().await?;
    // Read-write only because `select … for update` is how RLS tells who may manage a
    // source; nothing is written.
    let tx = call.begin(&mut conn, Access::ReadWrite).await?;
    let source = access::resolve(&tx, &app.keyring, &input)
        .await
        .map_err(map_error)?;
    // Nothing to keep: end the transaction before waiting on the source.
    drop(tx);
    let urls = gimbal_sync::ProviderUrls::with_overrides(
        app.config.ga4_api_url.as_deref(),
        Some(app.config.provider_urls.google_token.as_str()),
        Some(app.config.provider_urls.meta_graph.as_str()),
    );
    Ok(Json(wizard::test(source, &urls, &app.http).await))
}

#[derive(OpenApi)]
#[openapi(
    paths(test_connection),
    components(schemas(SourceRef, Verdict, ErrorBody))
)]
struct ApiDoc;
