//! `me`: who the caller is, as the database sees it: `auth.uid()`, `auth.email()`, the role
//! the transaction runs as and the app role RLS grants, read back inside the caller's own
//! transaction. It proves the whole request path: token → caller → scoped transaction → SQL.

use axum::{Json, Router, extract::State, routing::get};
use gimbal_db::{Access, identity::DatabaseIdentity};
use gimbal_edge::{ApiError, AppState, ErrorBody, Function, Invocation};
use utoipa::{OpenApi, ToSchema};

pub const FUNCTION: Function = Function {
    name: "me",
    verify_jwt: true,
    summary: "The caller as the database sees it",
    router,
    openapi: || ApiDoc::openapi(),
};

fn router() -> Router<AppState> {
    Router::new().route("/", get(me).post(me))
}

/// The caller's identity inside the database.
#[derive(serde::Serialize, ToSchema)]
pub struct Me {
    /// `auth.uid()`; null for anon and service-role callers.
    pub id: Option<String>,
    /// `auth.email()`.
    pub email: Option<String>,
    /// The database role: anon, authenticated or service_role.
    pub db_role: String,
    /// The application role RLS applies: admin, user or viewer (null for anon and service).
    pub role: Option<String>,
}

impl From<DatabaseIdentity> for Me {
    fn from(d: DatabaseIdentity) -> Self {
        Me {
            id: d.id.map(|u| u.to_string()),
            email: d.email,
            db_role: d.db_role,
            role: d.app_role,
        }
    }
}

#[utoipa::path(
    get,
    path = "/functions/v1/me",
    tag = "identity",
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn me(State(app): State<AppState>, call: Invocation) -> Result<Json<Me>, ApiError> {
    let mut conn = app.conn().await?;
    let tx = call.begin(&mut conn, Access::ReadOnly).await?;
    let identity = gimbal_db::identity::current(&tx).await?;
    tx.commit().await.map_err(gimbal_db::DbError::from)?;
    Ok(Json(identity.into()))
}

#[derive(OpenApi)]
#[openapi(paths(me), components(schemas(Me, ErrorBody)))]
struct ApiDoc;
