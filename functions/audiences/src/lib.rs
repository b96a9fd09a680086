//! `audiences`: the validated write path for audiences and their members (reads go through
//! PostgREST). Writes run as the caller, so RLS decides: viewers and anon are refused (403),
//! users and admins create, rename and add members, only admins delete audiences and remove
//! members.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{patch, post},
};
use gimbal_campaigns::{
    WriteError,
    audiences::{self, Audience, AudiencePatch, Members, MembersChanged, NewAudience},
};
use gimbal_db::{Access, DbError};
use gimbal_edge::{ApiError, AppState, ErrorBody, Function, Invocation, JsonBody};
use utoipa::OpenApi;
use uuid::Uuid;

pub const FUNCTION: Function = Function {
    name: "audiences",
    verify_jwt: true,
    summary: "Create, update and delete audiences; add and remove members",
    router,
    openapi: || ApiDoc::openapi(),
};

fn router() -> Router<AppState> {
    Router::new()
        .route("/", post(create))
        .route("/{id}", patch(update).delete(remove))
        .route("/{id}/members", post(add_members).delete(remove_members))
}

fn map_error(err: WriteError) -> ApiError {
    match err {
        WriteError::Invalid(e) => ApiError::validation(e.field, e.message),
        WriteError::NotFound => ApiError::NotFound("no such audience".into()),
        WriteError::Forbidden => {
            ApiError::Forbidden("the caller may not change this audience".into())
        }
        WriteError::Conflict(m) => ApiError::Conflict(m),
        WriteError::Db(e) => e.into(),
    }
}

#[utoipa::path(
    post,
    path = "/functions/v1/audiences",
    tag = "audiences",
    request_body = NewAudience,
    responses(
        (status = 201, description = "Created, owned by the caller", body = Audience),
        (status = 400, description = "Body is not valid JSON for this shape", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "The caller's role may not create audiences", body = ErrorBody),
        (status = 422, description = "A field is invalid; `field` names it", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn create(
    State(app): State<AppState>,
    call: Invocation,
    JsonBody(input): JsonBody<NewAudience>,
) -> Result<(StatusCode, Json<Audience>), ApiError> {
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadWrite).await?;
    let audience = audiences::create(&tx, &input).await.map_err(map_error)?;
    tx.commit().await.map_err(DbError::from)?;
    Ok((StatusCode::CREATED, Json(audience)))
}

#[utoipa::path(
    patch,
    path = "/functions/v1/audiences/{id}",
    tag = "audiences",
    params(("id" = Uuid, Path, description = "Audience id")),
    request_body = AudiencePatch,
    responses(
        (status = 200, description = "Updated", body = Audience),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "The caller sees the audience but may not change it", body = ErrorBody),
        (status = 404, description = "No such audience visible to the caller", body = ErrorBody),
        (status = 422, description = "A field is invalid; `field` names it", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn update(
    State(app): State<AppState>,
    call: Invocation,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<AudiencePatch>,
) -> Result<Json<Audience>, ApiError> {
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadWrite).await?;
    let audience = audiences::update(&tx, id, &input)
        .await
        .map_err(map_error)?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(Json(audience))
}

#[utoipa::path(
    delete,
    path = "/functions/v1/audiences/{id}",
    tag = "audiences",
    params(("id" = Uuid, Path, description = "Audience id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "The caller sees the audience but may not delete it", body = ErrorBody),
        (status = 404, description = "No such audience visible to the caller", body = ErrorBody),
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
    audiences::delete(&tx, id).await.map_err(map_error)?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/functions/v1/audiences/{id}/members",
    tag = "audiences",
    params(("id" = Uuid, Path, description = "Audience id")),
    request_body = Members,
    responses(
        (status = 200, description = "Members added (already-present ones are not counted)", body = MembersChanged),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "The caller may not add members", body = ErrorBody),
        (status = 404, description = "No such audience visible to the caller", body = ErrorBody),
        (status = 422, description = "`contact_ids` is empty, too long, or names unknown contacts", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn add_members(
    State(app): State<AppState>,
    call: Invocation,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<Members>,
) -> Result<Json<MembersChanged>, ApiError> {
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadWrite).await?;
    let changed = audiences::add_members(&tx, id, &input)
        .await
        .map_err(map_error)?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(Json(changed))
}

#[utoipa::path(
    delete,
    path = "/functions/v1/audiences/{id}/members",
    tag = "audiences",
    params(("id" = Uuid, Path, description = "Audience id")),
    request_body = Members,
    responses(
        (status = 200, description = "Members removed", body = MembersChanged),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Only admins remove members", body = ErrorBody),
        (status = 404, description = "No such audience visible to the caller", body = ErrorBody),
        (status = 422, description = "`contact_ids` is empty or too long", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn remove_members(
    State(app): State<AppState>,
    call: Invocation,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<Members>,
) -> Result<Json<MembersChanged>, ApiError> {
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadWrite).await?;
    let changed = audiences::remove_members(&tx, id, &input)
        .await
        .map_err(map_error)?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(Json(changed))
}

#[derive(OpenApi)]
#[openapi(
    paths(create, update, remove, add_members, remove_members),
    components(schemas(
        NewAudience,
        AudiencePatch,
        Audience,
        Members,
        MembersChanged,
        ErrorBody
    ))
)]
struct ApiDoc;
