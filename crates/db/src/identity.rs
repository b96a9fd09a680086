//! The caller as the database itself sees it, read back through the same helpers RLS uses.

use serde::Serialize;
use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::DbError;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DatabaseIdentity {
    /// `auth.uid()`.
    pub id: Option<Uuid>,
    /// `auth.email()`.
    pub email: Option<String>,
    /// The database role the statement runs as (`current_user`).
    pub db_role: String,
    /// `app_private.current_app_role()`: admin, user or viewer; absent for anon and service.
    pub app_role: Option<String>,
}

pub async fn current(tx: &Transaction<'_>) -> Result<DatabaseIdentity, DbError> {
    let row = tx
        .query_one(
            "select auth.uid(), auth.email(), current_user::text, app_private.current_app_role()",
            &[],
        )
        .await?;
    let app_role: Option<String> = row.get(3);
    Ok(DatabaseIdentity {
        id: row.get(0),
        email: row.get(1),
        db_role: row.get(2),
        app_role: app_role.filter(|r| matches!(r.as_str(), "admin" | "user" | "viewer")),
    })
}
