//! One call of a function: who the caller is (set by the host's authentication layer before
//! the function runs) and how the database must see the request. Every handler reaches the
//! database through [`Invocation::begin`], so it always runs as its caller under RLS.

use std::time::Duration;

use axum::{extract::FromRequestParts, http::request::Parts};
use gimbal_auth::{Caller, DbRole};
use gimbal_db::{Access, Connection, RequestScope, Transaction};
use serde_json::{Map, Value};

use crate::{ApiError, AppState};

/// Headers never copied into `request.headers`: credentials stay out of SQL-visible settings
/// (and so out of anything a trigger might record).
const PRIVATE_HEADERS: [&str; 4] = ["authorization", "apikey", "cookie", "x-api-key"];

pub struct Invocation {
    pub caller: Caller,
    pub scope: RequestScope,
    pub request_id: String,
}

impl Invocation {
    /// Opens the caller's transaction on `conn`.
    pub async fn begin<'c>(
        &self,
        conn: &'c mut Connection,
        access: Access,
    ) -> Result<Transaction<'c>, ApiError> {
        Ok(gimbal_db::scope::begin(conn, &self.scope, access).await?)
    }

    /// The transaction mode PostgREST would pick: read-only for GET and HEAD.
    pub fn default_access(&self) -> Access {
        match self.scope.method.as_str() {
            "GET" | "HEAD" => Access::ReadOnly,
            _ => Access::ReadWrite,
        }
    }
}

impl FromRequestParts<AppState> for Invocation {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
            ApiError::Internal("function mounted without the authentication layer".into())
        })?;
        let request_id = parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let scope = RequestScope {
            role: caller.db_role.as_str(),
            claims: caller.claims.clone(),
            method: parts.method.to_string(),
            path: parts.uri.path().to_string(),
            headers: public_headers(parts),
            statement_timeout: statement_timeout(state, caller.db_role),
        };
        Ok(Invocation {
            caller,
            scope,
            request_id,
        })
    }
}

fn statement_timeout(state: &AppState, role: DbRole) -> Option<Duration> {
    match role {
        DbRole::Anon => Some(state.config.anon_statement_timeout),
        DbRole::Authenticated => Some(state.config.authenticated_statement_timeout),
        DbRole::ServiceRole => None,
    }
}

fn public_headers(parts: &Parts) -> Value {
    let mut map = Map::new();
    for (name, value) in &parts.headers {
        let name = name.as_str();
        if PRIVATE_HEADERS.contains(&name) {
            continue;
        }
        if let Ok(value) = value.to_str() {
            map.insert(name.to_string(), Value::String(value.to_string()));
        }
    }
    Value::Object(map)
}
