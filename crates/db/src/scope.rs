//! Transactions scoped to a caller, set up exactly as PostgREST and Supabase Storage do: one
//! transaction per request whose first statement sets the role and the request GUCs locally, so
//! that `auth.uid()`, `auth.jwt()` and every RLS policy see the caller and nobody else.

use std::time::Duration;

use serde_json::Value;
use tokio_postgres::{Client, IsolationLevel, Transaction};

use crate::DbError;

/// Whether the transaction may write. GET requests run read-only, as PostgREST does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    ReadOnly,
    ReadWrite,
}

/// Everything the database is told about a request.
#[derive(Clone, Debug)]
pub struct RequestScope {
    /// `anon`, `authenticated` or `service_role`; never a login or owner role.
    pub role: &'static str,
    /// The verified JWT claims (`{}` for a caller without a token).
    pub claims: Value,
    pub method: String,
    pub path: String,
    /// Lower-cased header names to values, without `authorization`, `apikey` or cookies.
    pub headers: Value,
    /// Applied with `set local`, because role defaults only take effect at login, not on `set role`.
    pub statement_timeout: Option<Duration>,
}

impl RequestScope {
    /// A scope for work the system does on its own behalf (worker, webhooks): explicit and narrow.
    pub fn service(path: &str) -> Self {
        RequestScope {
            role: "service_role",
            claims: serde_json::json!({ "role": "service_role" }),
            method: "POST".into(),
            path: path.into(),
            headers: serde_json::json!({}),
            statement_timeout: None,
        }
    }

    fn sub(&self) -> String {
        self.claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    }
}

const ALLOWED_ROLES: [&str; 3] = ["anon", "authenticated", "service_role"];

/// Begins a transaction that runs as the caller described by `scope`.
pub async fn begin<'a>(
    client: &'a mut Client,
    scope: &RequestScope,
    access: Access,
) -> Result<Transaction<'a>, DbError> {
    // The role is passed as a bind parameter to set_config, but a wrong value would still switch
    // to an arbitrary role, so only the three API roles are accepted.
    if !ALLOWED_ROLES.contains(&scope.role) {
        return Err(DbError::Other(format!(
            "refusing to assume role {:?}",
            scope.role
        )));
    }
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::ReadCommitted)
        .read_only(access == Access::ReadOnly)
        .start()
        .await?;
    let claims = scope.claims.to_string();
    let headers = scope.headers.to_string();
    let timeout = scope
        .statement_timeout
        .map(|t| format!("{}ms", t.as_millis()))
        .unwrap_or_else(|| "0".into());
    tx.execute(
        "select set_config('role', $1, true),
                set_config('request.jwt.claims', $2, true),
                set_config('request.jwt.claim.sub', $3, true),
                set_config('request.jwt.claim.role', $1, true),
                set_config('request.method', $4, true),
                set_config('request.path', $5, true),
                set_config('request.headers', $6, true),
                set_config('statement_timeout', $7, true)",
        &[
            &scope.role,
            &claims,
            &scope.sub(),
            &scope.method,
            &scope.path,
            &headers,
            &timeout,
        ],
    )
    .await?;
    Ok(tx)
}
