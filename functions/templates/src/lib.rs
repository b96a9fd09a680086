//! `templates`: the validated write path for message templates (reads go through PostgREST).
//! A template is parsed and its variables checked when saved: an unknown variable answers 422
//! naming the field, line and column. Writes run as the caller, so RLS decides: viewers are
//! refused (403), users change their own templates, admins any.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{patch, post},
};
use gimbal_campaigns::{
    WriteError,
    templates::{self, NewTemplate, Template, TemplatePatch},
};
use gimbal_db::{Access, DbError};
use gimbal_edge::{ApiError, AppState, ErrorBody, Function, Invocation, JsonBody};
use utoipa::OpenApi;
use uuid::Uuid;

pub const FUNCTION: Function = Function {
    name: "templates",
    verify_jwt: true,
    summary: "Create, update and delete message templates",
    router,
    openapi: || ApiDoc::openapi(),
};

fn router() -> Router<AppState> {
    Router::new()
        .route("/", post(create))
        .route("/{id}", patch(update).delete(remove))
}

fn map_error(err: WriteError) -> ApiError {
    match err {
        WriteError::Invalid(e) => ApiError::validation(e.field, e.message),
        WriteError::NotFound => ApiError::NotFound("no such template".into()),
        WriteError::Forbidden => {
            ApiError::Forbidden("the caller may not change this template".into())
        }
        WriteError::Conflict(m) => ApiError::Conflict(m),
        WriteError::Db(e) => e.into(),
    }
}

#[utoipa::path(
    post,
    path = "/functions/v1/templates",
    tag = "templates",
    request_body = NewTemplate,
    responses(
        (status = 201, description = "Created, owned by the caller", body = Template),
        (status = 400, description = "Body is not valid JSON for this shape", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "The caller's role may not create templates", body = ErrorBody),
        (status = 422, description = "A field is invalid (syntax or unknown variable with line and column); `field` names it", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn create(
    State(app): State<AppState>,
    call: Invocation,
    JsonBody(input): JsonBody<NewTemplate>,
) -> Result<(StatusCode, Json<Template>), ApiError> {
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadWrite).await?;
    let template = templates::create(&tx, &input).await.map_err(map_error)?;
    tx.commit().await.map_err(DbError::from)?;
    Ok((StatusCode::CREATED, Json(template)))
}

#[utoipa::path(
    patch,
    path = "/functions/v1/templates/{id}",
    tag = "templates",
    params(("id" = Uuid, Path, description = "Template id")),
    request_body = TemplatePatch,
    responses(
        (status = 200, description = "Updated", body = Template),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "The caller sees the template but may not change it", body = ErrorBody),
        (status = 404, description = "No such template visible to the caller", body = ErrorBody),
        (status = 422, description = "A field is invalid; `field` names it", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn update(
    State(app): State<AppState>,
    call: Invocation,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<TemplatePatch>,
) -> Result<Json<Template>, ApiError> {
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadWrite).await?;
    let template = templates::update(&tx, id, &input)
        .await
        .map_err(map_error)?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(Json(template))
}

#[utoipa::path(
    delete,
    path = "/functions/v1/templates/{id}",
    tag = "templates",
    params(("id" = Uuid, Path, description = "Template id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "The caller sees the template but may not delete it", body = ErrorBody),
        (status = 404, description = "No such template visible to the caller", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn remove(
    State(app): State<AppState>,
    call: Invocation,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadWrite).await?;
    templates::delete(&tx, id).await.map_err(map_error)?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(OpenApi)]
#[openapi(
    paths(create, update, remove),
    components(schemas(NewTemplate, TemplatePatch, Template, ErrorBody))
)]
struct ApiDoc;
