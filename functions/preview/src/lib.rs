//! `preview`: what a data source offers (streams with their columns and types) and its first
//! rows, without storing anything. Same access and answer rules as `test-connection`: a failing
//! source is a `200` with `ok: false` and an actionable `error`.

use axum::{Json, Router, extract::State, routing::post};
use gimbal_db::Access;
use gimbal_edge::{ApiError, AppState, ErrorBody, Function, Invocation, JsonBody};
use gimbal_sync::{
    SyncError,
    access::{self, AccessError, SourceRef},
    wizard::{self, Preview},
};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

pub const FUNCTION: Function = Function {
    name: "preview",
    verify_jwt: true,
    summary: "A data source's streams, columns and first rows",
    router,
    openapi: || ApiDoc::openapi(),
};

fn router() -> Router<AppState> {
    Router::new().route("/", post(preview))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PreviewRequest {
    #[serde(flatten)]
    pub source: SourceRef,
    /// The stream to show rows of (default: the source's own).
    pub stream: Option<String>,
    /// 1-100; default 20.
    pub limit: Option<usize>,
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

#[utoipa::path(
    post,
    path = "/functions/v1/preview",
    tag = "sync",
    request_body = PreviewRequest,
    responses(
        (status = 200, description = "Streams and rows, or an actionable `error`", body = Preview),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "The caller may not manage this source, or set up sources", body = ErrorBody),
        (status = 404, description = "No such source visible to the caller", body = ErrorBody),
        (status = 422, description = "A field is invalid; `field` names it", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn preview(
    State(app): State<AppState>,
    call: Invocation,
    JsonBody(input): JsonBody<PreviewRequest>,
) -> Result<Json<Preview>, ApiError> {
    let limit = input.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::validation("limit", "must be 1-100"));
    }
    let mut conn = app.conn().await?;
    // Read-write only because `select … for update` is how RLS tells who may manage a
    // source; nothing is written.
    let tx = call.begin(&mut conn, Access::ReadWrite).await?;
    let source = access::resolve(&tx, &app.keyring, &input.source)
        .await
        .map_err(map_error)?;
    drop(tx);
    let urls = gimbal_sync::ProviderUrls::with_overrides(
        app.config.ga4_api_url.as_deref(),
        Some(app.config.provider_urls.google_token.as_str()),
        Some(app.config.provider_urls.meta_graph.as_str()),
    );
    Ok(Json(
        wizard::preview(source, input.stream, limit, &urls, &app.http).await,
    ))
}

#[derive(OpenApi)]
#[openapi(
    paths(preview),
    components(schemas(PreviewRequest, SourceRef, Preview, ErrorBody))
)]
struct ApiDoc;
