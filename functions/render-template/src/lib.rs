//! `render-template`: previews a template (saved, or a draft in the request) for a contact or
//! for sample values, and reports what it costs as SMS (segments, GSM-7 or UCS-2, and the
//! characters that forced UCS-2) and its compliance problems (unsubscribe link and postal
//! address for email, opt-out language for SMS marketing). Read-only, as the caller: RLS
//! decides which templates and contacts the caller may use (viewers may preview templates
//! with sample values, not contacts).

use axum::{Json, Router, extract::State, routing::post};
use gimbal_campaigns::{
    WriteError,
    preview::{self, Preview, PreviewRequest, Problem, SmsInfo},
};
use gimbal_db::{Access, DbError};
use gimbal_edge::{ApiError, AppState, ErrorBody, Function, Invocation, JsonBody};
use utoipa::OpenApi;

pub const FUNCTION: Function = Function {
    name: "render-template",
    verify_jwt: true,
    summary: "Preview a template with SMS segments and compliance checks",
    router,
    openapi: || ApiDoc::openapi(),
};

fn router() -> Router<AppState> {
    Router::new().route("/", post(render))
}

fn map_error(err: WriteError) -> ApiError {
    match err {
        WriteError::Invalid(e) => ApiError::validation(e.field, e.message),
        WriteError::NotFound => ApiError::NotFound("not found".into()),
        WriteError::Forbidden => ApiError::Forbidden("the caller may not preview this".into()),
        WriteError::Conflict(m) => ApiError::Conflict(m),
        WriteError::Db(e) => e.into(),
    }
}

#[utoipa::path(
    post,
    path = "/functions/v1/render-template",
    tag = "templates",
    request_body = PreviewRequest,
    responses(
        (status = 200, description = "The rendered template, SMS figures and compliance problems", body = Preview),
        (status = 400, description = "Body is not valid JSON for this shape", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Anon may not preview", body = ErrorBody),
        (status = 422, description = "Unknown template or contact, or an invalid template (`field` names it)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn render(
    State(app): State<AppState>,
    call: Invocation,
    JsonBody(input): JsonBody<PreviewRequest>,
) -> Result<Json<Preview>, ApiError> {
    if call.scope.role == "anon" {
        return Err(ApiError::Forbidden("sign in to preview templates".into()));
    }
    // A preview must not carry a working link: the real one is signed per recipient at send.
    let base = app.config.webhooks.public_url.as_deref().unwrap_or("");
    let unsubscribe_url = format!(
        "{base}{}/functions/v1/unsubscribe?token=preview",
        app.config.path_prefix
    );
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadOnly).await?;
    let preview = preview::preview(&tx, &input, &unsubscribe_url)
        .await
        .map_err(map_error)?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(Json(preview))
}

#[derive(OpenApi)]
#[openapi(
    paths(render),
    components(schemas(PreviewRequest, Preview, SmsInfo, Problem, ErrorBody))
)]
struct ApiDoc;
