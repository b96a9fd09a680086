//! `app-settings`: the company settings (name and postal address for email footers, default
//! time zone, quiet hours, sending rate limits, retention periods). `GET` answers every
//! setting with defaults filled in, to any signed-in member; `PATCH` (or `PUT`) takes
//! `{key: value, …}`, validates every key against the typed schema (422 naming the key or
//! member) and writes as the caller, so the table's policy lets admins only.

use axum::{Json, Router, extract::State, routing::get};
use gimbal_admin::settings::{SettingsError, SettingsView};
use gimbal_db::{Access, DbError};
use gimbal_edge::{ApiError, AppState, ErrorBody, Function, Invocation, JsonBody};
use serde_json::{Map, Value};
use utoipa::OpenApi;

pub const FUNCTION: Function = Function {
    name: "app-settings",
    verify_jwt: true,
    summary: "Read (members) and change (admins) the company settings",
    router,
    openapi: || ApiDoc::openapi(),
};

fn router() -> Router<AppState> {
    Router::new().route("/", get(read).patch(write).put(write))
}

fn map_error(err: SettingsError) -> ApiError {
    match err {
        SettingsError::Invalid { field, message } => ApiError::validation(field, message),
        SettingsError::Db(e) => e.into(),
    }
}

#[utoipa::path(
    operation_id = "app_settings_read",
    get, path = "/functions/v1/app-settings", tag = "admin",
    responses(
        (status = 200, description = "Every setting, defaults filled in", body = SettingsView),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not signed in", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn read(
    State(app): State<AppState>,
    call: Invocation,
) -> Result<Json<SettingsView>, ApiError> {
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadOnly).await?;
    Ok(Json(
        gimbal_admin::settings::read(&tx).await.map_err(map_error)?,
    ))
}

#[utoipa::path(
    operation_id = "app_settings_write",
    patch, path = "/functions/v1/app-settings", tag = "admin",
    request_body(content = Object, description = "Settings to change, e.g. {\"quiet_hours\": {\"start\": \"09:00\", \"end\": \"20:00\"}}"),
    responses(
        (status = 200, description = "Every setting after the change", body = SettingsView),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 422, description = "A value is invalid; `field` names the key (and member)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn write(
    State(app): State<AppState>,
    call: Invocation,
    JsonBody(changes): JsonBody<Map<String, Value>>,
) -> Result<Json<SettingsView>, ApiError> {
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadWrite).await?;
    let view = gimbal_admin::settings::write(&tx, &changes)
        .await
        .map_err(map_error)?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(Json(view))
}

#[derive(OpenApi)]
#[openapi(paths(read, write), components(schemas(SettingsView, ErrorBody)))]
struct ApiDoc;
