//! `contacts`: the validated write path for contacts (reads go through PostgREST). Phone
//! numbers are normalised to E.164, emails checked and lower-cased, time zones must be IANA
//! names; setting consent needs its source and leaves a consent record. Writes run as the
//! caller, so RLS decides: viewers and anon are refused (403), users and admins create and
//! update, only admins delete. An address that belongs to another contact answers 409.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{patch, post},
};
use gimbal_campaigns::{
    WriteError,
    contacts::{self, Contact, ContactPatch, NewContact},
};
use gimbal_db::{Access, DbError};
use gimbal_edge::{ApiError, AppState, ErrorBody, Function, Invocation, JsonBody};
use utoipa::OpenApi;
use uuid::Uuid;

pub const FUNCTION: Function = Function {
    name: "contacts",
    verify_jwt: true,
    summary: "Create, update and delete contacts",
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
        WriteError::NotFound => ApiError::NotFound("no such contact".into()),
        WriteError::Forbidden => {
            ApiError::Forbidden("the caller may not change this contact".into())
        }
        WriteError::Conflict(m) => ApiError::Conflict(m),
        WriteError::Db(e) => e.into(),
    }
}

#[utoipa::path(
    post,
    path = "/functions/v1/contacts",
    tag = "contacts",
    request_body = NewContact,
    responses(
        (status = 201, description = "Created", body = Contact),
        (status = 409, description = "The email or phone belongs to another contact", body = ErrorBody),
        (status = 400, description = "Body is not valid JSON for this shape", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Viewers and anon may not create contacts", body = ErrorBody),
        (status = 422, description = "A field is invalid; `field` names it", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn create(
    State(app): State<AppState>,
    call: Invocation,
    JsonBody(input): JsonBody<NewContact>,
) -> Result<(StatusCode, Json<Contact>), ApiError> {
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadWrite).await?;
    let contact = contacts::create(&tx, &input).await.map_err(map_error)?;
    tx.commit().await.map_err(DbError::from)?;
    Ok((StatusCode::CREATED, Json(contact)))
}

#[utoipa::path(
    patch,
    path = "/functions/v1/contacts/{id}",
    tag = "contacts",
    params(("id" = Uuid, Path, description = "Contact id")),
    request_body = ContactPatch,
    responses(
        (status = 200, description = "Updated", body = Contact),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "The caller sees the contact but may not change it", body = ErrorBody),
        (status = 404, description = "No such contact visible to the caller", body = ErrorBody),
        (status = 422, description = "A field is invalid; `field` names it", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn update(
    State(app): State<AppState>,
    call: Invocation,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<ContactPatch>,
) -> Result<Json<Contact>, ApiError> {
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadWrite).await?;
    let contact = contacts::update(&tx, id, &input).await.map_err(map_error)?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(Json(contact))
}

#[utoipa::path(
    delete,
    path = "/functions/v1/contacts/{id}",
    tag = "contacts",
    params(("id" = Uuid, Path, description = "Contact id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "The caller sees the contact but may not delete it", body = ErrorBody),
        (status = 404, description = "No such contact visible to the caller", body = ErrorBody),
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
    contacts::delete(&tx, id).await.map_err(map_error)?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(OpenApi)]
#[openapi(
    paths(create, update, remove),
    components(schemas(NewContact, ContactPatch, Contact, ErrorBody))
)]
struct ApiDoc;
