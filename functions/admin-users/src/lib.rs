//! `admin-users`: user management for admins. `GET /` lists users, `POST /` invites (or
//! creates) one with an app role, `GET /{id}` reads one, `PATCH /{id}` changes the app role
//! (written to `app_metadata`) and/or bans or unbans, `DELETE /{id}` deletes.
//!
//! With `SUPABASE_URL` set it goes through Supabase Auth's admin API with the service-role
//! key; without it (`gimbal dev`), over the local `auth.users`. Both check in the caller's
//! transaction that the caller is an admin, and both refuse (409) to demote, ban or delete
//! the last active admin. Every change is recorded in the audit log as a security event.

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    routing::get,
};
use gimbal_admin::users::{
    AdminUser, LocalUsers, NewUser, Page, SupabaseAuthAdmin, UserChange, UserDirectory, UserError,
};
use gimbal_audit::SecurityEvent;
use gimbal_db::{Access, DbError};
use gimbal_edge::{ApiError, AppState, ErrorBody, Function, Invocation, JsonBody};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

pub const FUNCTION: Function = Function {
    name: "admin-users",
    verify_jwt: true,
    summary: "List, invite, change the role of, ban and delete users (admins)",
    router,
    openapi: || ApiDoc::openapi(),
};

fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(list).post(create))
        .route("/{id}", get(read).patch(update).delete(remove))
}

/// The implementation this deployment uses: the Auth admin API when there is a Supabase
/// project, the local `auth.users` otherwise.
fn directory(app: &AppState) -> Result<Box<dyn UserDirectory>, ApiError> {
    match &app.config.supabase_url {
        None => Ok(Box::new(LocalUsers)),
        Some(url) => {
            let key = app.config.service_role_key.clone().ok_or_else(|| {
                ApiError::Unavailable(
                    "user management needs SUPABASE_SERVICE_ROLE_KEY when SUPABASE_URL is set"
                        .into(),
                )
            })?;
            Ok(Box::new(SupabaseAuthAdmin::new(app.http.clone(), url, key)))
        }
    }
}

fn map_error(err: UserError) -> ApiError {
    match err {
        UserError::NotFound => ApiError::NotFound("no such user".into()),
        UserError::LastAdmin(m) | UserError::Conflict(m) => ApiError::Conflict(m),
        UserError::Invalid { field, message } => ApiError::validation(field, message),
        UserError::Upstream(detail) => {
            tracing::error!(error.detail = %detail, "auth admin api failed");
            ApiError::Unavailable("the auth server did not complete the request".into())
        }
        UserError::Db(e) => e.into(),
    }
}

async fn admit(tx: &gimbal_db::Transaction<'_>) -> Result<(), ApiError> {
    if gimbal_audit::admit_admins(tx).await? {
        Ok(())
    } else {
        Err(ApiError::Forbidden("only admins may manage users".into()))
    }
}

/// Records a completed change; the change stands even if recording fails (it is logged).
async fn record(
    app: &AppState,
    call: &Invocation,
    action: &str,
    target: Uuid,
    details: serde_json::Value,
) {
    let mut event = SecurityEvent::new(action, json!({ "user_id": target, "change": details }));
    event.actor_id = call.caller.user_id;
    event.actor_role = Some(
        call.caller
            .app_role
            .map(|r| r.as_str().to_string())
            .unwrap_or_else(|| call.caller.db_role.as_str().to_string()),
    );
    event.request_id = Some(call.request_id.clone());
    if let Err(e) = gimbal_audit::record_security_event(&app.pool, &event).await {
        tracing::warn!(error = %e, "could not record a user change in the audit log");
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ListParams {
    /// From 1 (default 1).
    pub page: Option<u32>,
    /// 1–1000 (default 50).
    pub per_page: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub users: Vec<AdminUser>,
    pub page: u32,
    pub per_page: u32,
}

#[utoipa::path(
    operation_id = "admin_users_list",
    get, path = "/functions/v1/admin-users", tag = "admin",
    params(ListParams),
    responses(
        (status = 200, description = "One page of users", body = UserList),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 422, description = "Bad paging; `field` names it", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn list(
    State(app): State<AppState>,
    call: Invocation,
    Query(params): Query<ListParams>,
) -> Result<Json<UserList>, ApiError> {
    let page = Page {
        page: params.page.unwrap_or(1),
        per_page: params.per_page.unwrap_or(50),
    };
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadOnly).await?;
    admit(&tx).await?;
    if page.page == 0 {
        return Err(ApiError::validation("page", "must be 1 or more"));
    }
    if !(1..=1000).contains(&page.per_page) {
        return Err(ApiError::validation("per_page", "must be 1 to 1000"));
    }
    let users = directory(&app)?.list(&tx, page).await.map_err(map_error)?;
    Ok(Json(UserList {
        users,
        page: page.page,
        per_page: page.per_page,
    }))
}

#[utoipa::path(
    operation_id = "admin_users_create",
    post, path = "/functions/v1/admin-users", tag = "admin",
    request_body = NewUser,
    responses(
        (status = 201, description = "Invited or created", body = AdminUser),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "The email address is taken", body = ErrorBody),
        (status = 422, description = "A field is invalid; `field` names it", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn create(
    State(app): State<AppState>,
    call: Invocation,
    JsonBody(input): JsonBody<NewUser>,
) -> Result<(StatusCode, Json<AdminUser>), ApiError> {
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadWrite).await?;
    admit(&tx).await?;
    let valid = gimbal_admin::users::validate_new_user(&input).map_err(map_error)?;
    let user = directory(&app)?
        .create(&tx, &valid)
        .await
        .map_err(map_error)?;
    tx.commit().await.map_err(DbError::from)?;
    let action = if valid.invite {
        "user.invited"
    } else {
        "user.created"
    };
    record(&app, &call, action, user.id, json!({ "role": valid.role })).await;
    Ok((StatusCode::CREATED, Json(user)))
}

#[utoipa::path(
    operation_id = "admin_users_read",
    get, path = "/functions/v1/admin-users/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "The user", body = AdminUser),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn read(
    State(app): State<AppState>,
    call: Invocation,
    Path(id): Path<Uuid>,
) -> Result<Json<AdminUser>, ApiError> {
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadOnly).await?;
    admit(&tx).await?;
    Ok(Json(
        directory(&app)?.get(&tx, id).await.map_err(map_error)?,
    ))
}

#[utoipa::path(
    operation_id = "admin_users_update",
    patch, path = "/functions/v1/admin-users/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "User id")),
    request_body = UserChange,
    responses(
        (status = 200, description = "The user after the change", body = AdminUser),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "It would leave no active admin", body = ErrorBody),
        (status = 422, description = "A field is invalid; `field` names it", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn update(
    State(app): State<AppState>,
    call: Invocation,
    Path(id): Path<Uuid>,
    JsonBody(change): JsonBody<UserChange>,
) -> Result<Json<AdminUser>, ApiError> {
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadWrite).await?;
    admit(&tx).await?;
    gimbal_admin::users::validate_change(&change).map_err(map_error)?;
    let user = directory(&app)?
        .update(&tx, id, &change)
        .await
        .map_err(map_error)?;
    tx.commit().await.map_err(DbError::from)?;
    if let Some(role) = &change.role {
        record(
            &app,
            &call,
            "user.role_changed",
            id,
            json!({ "role": role }),
        )
        .await;
    }
    match change.banned {
        Some(true) => record(&app, &call, "user.banned", id, json!({})).await,
        Some(false) => record(&app, &call, "user.unbanned", id, json!({})).await,
        None => {}
    }
    Ok(Json(user))
}

#[utoipa::path(
    operation_id = "admin_users_remove",
    delete, path = "/functions/v1/admin-users/{id}", tag = "admin",
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "It is the last active admin", body = ErrorBody),
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
    admit(&tx).await?;
    directory(&app)?.delete(&tx, id).await.map_err(map_error)?;
    tx.commit().await.map_err(DbError::from)?;
    record(&app, &call, "user.deleted", id, json!({})).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(OpenApi)]
#[openapi(
    paths(list, create, read, update, remove),
    components(schemas(UserList, AdminUser, NewUser, UserChange, ErrorBody))
)]
struct ApiDoc;
