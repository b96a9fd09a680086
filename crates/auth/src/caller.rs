//! The established identity of a request, as handlers and the database layer consume it.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::roles::{AppRole, DbRole};

/// Who is calling, after verification.
#[derive(Clone, Debug)]
pub struct Caller {
    pub db_role: DbRole,
    pub user_id: Option<Uuid>,
    pub email: Option<String>,
    /// `None` for anon and service_role.
    pub app_role: Option<AppRole>,
    /// The verified claims object, exactly what PostgREST puts in `request.jwt.claims`.
    pub claims: Value,
}

impl Caller {
    /// A caller with no credentials.
    pub fn anon() -> Self {
        Self::without_user(DbRole::Anon, json!({ "role": "anon" }))
    }

    /// The service itself, authenticated by the service-role key.
    pub fn service_role() -> Self {
        Self::without_user(DbRole::ServiceRole, json!({ "role": "service_role" }))
    }

    pub fn is_service_role(&self) -> bool {
        self.db_role == DbRole::ServiceRole
    }

    pub(crate) fn without_user(db_role: DbRole, claims: Value) -> Self {
        Self {
            db_role,
            user_id: None,
            email: None,
            app_role: None,
            claims,
        }
    }
}
