//! User management behind one trait, [`UserDirectory`], with two implementations that behave
//! the same: [`SupabaseAuthAdmin`] speaks Supabase Auth's admin API with the service-role key;
//! [`LocalUsers`] works on the local `auth.users` through security-definer functions (what
//! `gimbal dev` uses, where no Auth server runs).
//!
//! Every operation takes the caller's transaction. Both implementations run
//! `app_private.require_admin()` in it (the database decides who is an admin), and every
//! change that could take admin rights away first runs `app_private.guard_last_admin`, which
//! serialises such changes on an advisory lock, so the last active admin can never be
//! demoted, banned or deleted — not even by two admins demoting each other at once.

use std::{future::Future, pin::Pin};

use chrono::{DateTime, Utc};
use gimbal_db::{DbError, Transaction};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What GoTrue treats as "banned forever": 100 years.
const BAN_FOREVER: &str = "876000h";

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("no such user")]
    NotFound,
    #[error("{0}")]
    LastAdmin(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// The Auth server answered with an error or not at all (details are logged, not shown).
    #[error("the auth server failed: {0}")]
    Upstream(String),
    #[error(transparent)]
    Db(DbError),
}

impl From<tokio_postgres::Error> for UserError {
    fn from(err: tokio_postgres::Error) -> Self {
        if let Some(db) = err.as_db_error()
            && db.code().code() == "P0001"
            && db.message().starts_with("last admin")
        {
            return UserError::LastAdmin(
                "this is the last active admin: make another user admin first".into(),
            );
        }
        match DbError::from(err) {
            DbError::Conflict { .. } => {
                UserError::Conflict("a user with this email address already exists".into())
            }
            other => UserError::Db(other),
        }
    }
}

/// A user as the admin screens show it.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq)]
pub struct AdminUser {
    pub id: Uuid,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The application role from `app_metadata.role` (`viewer` when absent or unknown).
    pub role: String,
    pub banned: bool,
    pub banned_until: Option<DateTime<Utc>>,
    pub invited_at: Option<DateTime<Utc>>,
    pub email_confirmed_at: Option<DateTime<Utc>>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    pub created_at: Option<DateTime<Utc>>,
}

impl AdminUser {
    /// From the JSON user object GoTrue's admin API answers with (the local functions
    /// answer in the same shape).
    pub fn from_gotrue(user: &Value) -> Result<Self, UserError> {
        let text = |k: &str| {
            user.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let time = |k: &str| {
            text(k)
                .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
                .map(|t| t.with_timezone(&Utc))
        };
        let id = text("id")
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| UserError::Upstream("user without an id".into()))?;
        let role = match user.pointer("/app_metadata/role").and_then(Value::as_str) {
            Some(r @ ("admin" | "user" | "viewer")) => r.to_string(),
            _ => "viewer".to_string(),
        };
        let banned_until = time("banned_until");
        Ok(AdminUser {
            id,
            email: text("email"),
            phone: text("phone"),
            role,
            banned: banned_until.is_some_and(|t| t > Utc::now()),
            banned_until,
            invited_at: time("invited_at"),
            email_confirmed_at: time("email_confirmed_at"),
            last_sign_in_at: time("last_sign_in_at"),
            created_at: time("created_at"),
        })
    }
}

/// A new user: invited (they set their password from the invitation email) or created
/// confirmed.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub email: String,
    /// `admin`, `user` or `viewer`; default `viewer`.
    pub role: Option<String>,
    /// Send an invitation (default true); false creates a confirmed account.
    pub invite: Option<bool>,
}

/// A change to a user: any of the role and the ban.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    /// `admin`, `user` or `viewer`.
    pub role: Option<String>,
    /// true bans the user indefinitely; false lifts a ban.
    pub banned: Option<bool>,
}

/// Validated [`NewUser`].
#[derive(Clone, Debug)]
pub struct ValidNewUser {
    pub email: String,
    pub role: String,
    pub invite: bool,
}

pub fn validate_new_user(input: &NewUser) -> Result<ValidNewUser, UserError> {
    let email = input.email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'))
        && !email.chars().any(char::is_whitespace);
    if !valid {
        return Err(invalid("email", "must be an email address"));
    }
    Ok(ValidNewUser {
        email,
        role: validate_role(input.role.as_deref().unwrap_or("viewer"))?,
        invite: input.invite.unwrap_or(true),
    })
}

pub fn validate_change(change: &UserChange) -> Result<(), UserError> {
    if change.role.is_none() && change.banned.is_none() {
        return Err(invalid("role", "give a role or banned (or both)"));
    }
    if let Some(role) = &change.role {
        validate_role(role)?;
    }
    Ok(())
}

fn validate_role(role: &str) -> Result<String, UserError> {
    match role {
        "admin" | "user" | "viewer" => Ok(role.to_string()),
        other => Err(invalid(
            "role",
            format!("must be \"admin\", \"user\" or \"viewer\", not {other:?}"),
        )),
    }
}

fn invalid(field: &str, message: impl Into<String>) -> UserError {
    UserError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// One page of users: `page` from 1, `per_page` 1–1000.
#[derive(Clone, Copy, Debug)]
pub struct Page {
    pub page: u32,
    pub per_page: u32,
}

/// Whether a change could take admin rights away from its target.
fn removes_admin(change: &UserChange) -> bool {
    change.role.as_deref().is_some_and(|r| r != "admin") || change.banned == Some(true)
}

/// User management, as the caller (an admin or the service role) in `tx`.
pub trait UserDirectory: Send + Sync {
    fn list<'a>(
        &'a self,
        tx: &'a Transaction<'a>,
        page: Page,
    ) -> BoxFuture<'a, Result<Vec<AdminUser>, UserError>>;

    fn get<'a>(
        &'a self,
        tx: &'a Transaction<'a>,
        id: Uuid,
    ) -> BoxFuture<'a, Result<AdminUser, UserError>>;

    fn create<'a>(
        &'a self,
        tx: &'a Transaction<'a>,
        user: &'a ValidNewUser,
    ) -> BoxFuture<'a, Result<AdminUser, UserError>>;

    /// Applies a validated change; refused with [`UserError::LastAdmin`] when it would leave
    /// no active admin.
    fn update<'a>(
        &'a self,
        tx: &'a Transaction<'a>,
        id: Uuid,
        change: &'a UserChange,
    ) -> BoxFuture<'a, Result<AdminUser, UserError>>;

    fn delete<'a>(
        &'a self,
        tx: &'a Transaction<'a>,
        id: Uuid,
    ) -> BoxFuture<'a, Result<(), UserError>>;
}

async fn require_admin(tx: &Transaction<'_>) -> Result<(), UserError> {
    tx.execute("select app_private.require_admin()", &[])
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// local: auth.users through app_private.admin_* functions
// ---------------------------------------------------------------------------

/// The local `auth.users`, for `gimbal dev` (no Auth server; invitations are recorded but no
/// email is sent).
#[derive(Clone, Copy, Debug, Default)]
pub struct LocalUsers;

impl UserDirectory for LocalUsers {
    fn list<'a>(
        &'a self,
        tx: &'a Transaction<'a>,
        page: Page,
    ) -> BoxFuture<'a, Result<Vec<AdminUser>, UserError>> {
        Box::pin(async move {
            let per_page = page.per_page as i32;
            let offset = (page.page.saturating_sub(1) * page.per_page) as i32;
            let rows = tx
                .query(
                    "select app_private.admin_list_users($1, $2)",
                    &[&per_page, &offset],
                )
                .await?;
            rows.iter()
                .map(|r| AdminUser::from_gotrue(&r.get::<_, Value>(0)))
                .collect()
        })
    }

    fn get<'a>(
        &'a self,
        tx: &'a Transaction<'a>,
        id: Uuid,
    ) -> BoxFuture<'a, Result<AdminUser, UserError>> {
        Box::pin(async move {
            let user: Option<Value> = tx
                .query_one("select app_private.admin_get_user($1)", &[&id])
                .await?
                .get(0);
            AdminUser::from_gotrue(&user.ok_or(UserError::NotFound)?)
        })
    }

    fn create<'a>(
        &'a self,
        tx: &'a Transaction<'a>,
        user: &'a ValidNewUser,
    ) -> BoxFuture<'a, Result<AdminUser, UserError>> {
        Box::pin(async move {
            let created: Value = tx
                .query_one(
                    "select app_private.admin_create_user($1, $2, $3)",
                    &[&user.email, &user.role, &user.invite],
                )
                .await?
                .get(0);
            AdminUser::from_gotrue(&created)
        })
    }

    fn update<'a>(
        &'a self,
        tx: &'a Transaction<'a>,
        id: Uuid,
        change: &'a UserChange,
    ) -> BoxFuture<'a, Result<AdminUser, UserError>> {
        Box::pin(async move {
            let updated: Option<Value> = tx
                .query_one(
                    "select app_private.admin_update_user($1, $2, $3)",
                    &[&id, &change.role, &change.banned],
                )
                .await?
                .get(0);
            AdminUser::from_gotrue(&updated.ok_or(UserError::NotFound)?)
        })
    }

    fn delete<'a>(
        &'a self,
        tx: &'a Transaction<'a>,
        id: Uuid,
    ) -> BoxFuture<'a, Result<(), UserError>> {
        Box::pin(async move {
            let deleted: bool = tx
                .query_one("select app_private.admin_delete_user($1)", &[&id])
                .await?
                .get(0);
            if deleted {
                Ok(())
            } else {
                Err(UserError::NotFound)
            }
        })
    }
}

// ---------------------------------------------------------------------------
// supabase auth admin api
// ---------------------------------------------------------------------------

/// Supabase Auth's admin API at `<SUPABASE_URL>/auth/v1`, called with the service-role key as
/// both `apikey` and bearer token.
#[derive(Clone)]
pub struct SupabaseAuthAdmin {
    http: reqwest::Client,
    /// `<SUPABASE_URL>/auth/v1`
    base: String,
    service_key: SecretString,
}

impl std::fmt::Debug for SupabaseAuthAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupabaseAuthAdmin")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl SupabaseAuthAdmin {
    pub fn new(http: reqwest::Client, supabase_url: &str, service_key: SecretString) -> Self {
        SupabaseAuthAdmin {
            http,
            base: format!("{}/auth/v1", supabase_url.trim_end_matches('/')),
            service_key,
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Value>,
    ) -> Result<Value, UserError> {
        let key = self.service_key.expose_secret();
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .query(query)
            .header("apikey", key)
            .bearer_auth(key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| UserError::Upstream(format!("{method} {path}: {}", e.without_url())))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        Err(upstream_error(status, &body, &method, path))
    }

    async fn put_user(&self, id: Uuid, body: Value) -> Result<AdminUser, UserError> {
        let user = self
            .call(
                reqwest::Method::PUT,
                &format!("/admin/users/{id}"),
                &[],
                Some(body),
            )
            .await?;
        AdminUser::from_gotrue(&user)
    }
}

/// GoTrue errors: `{"code": 422, "error_code": "email_exists", "msg": "…"}` (older servers:
/// `{"error": …, "error_description": …}`).
fn upstream_error(
    status: reqwest::StatusCode,
    body: &Value,
    method: &reqwest::Method,
    path: &str,
) -> UserError {
    let code = body
        .get("error_code")
        .or_else(|| body.get("error"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    match (status.as_u16(), code) {
        (404, _) | (_, "user_not_found") => UserError::NotFound,
        (_, "email_exists" | "user_already_exists") | (409, _) => {
            UserError::Conflict("a user with this email address already exists".into())
        }
        _ => {
            let message = body
                .get("msg")
                .or_else(|| body.get("error_description"))
                .or_else(|| body.get("message"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            UserError::Upstream(format!(
                "{method} {path} answered {status}: {code} {message}"
            ))
        }
    }
}

impl UserDirectory for SupabaseAuthAdmin {
    fn list<'a>(
        &'a self,
        tx: &'a Transaction<'a>,
        page: Page,
    ) -> BoxFuture<'a, Result<Vec<AdminUser>, UserError>> {
        Box::pin(async move {
            require_admin(tx).await?;
            let body = self
                .call(
                    reqwest::Method::GET,
                    "/admin/users",
                    &[
                        ("page", page.page.to_string()),
                        ("per_page", page.per_page.to_string()),
                    ],
                    None,
                )
                .await?;
            body.get("users")
                .and_then(Value::as_array)
                .ok_or_else(|| UserError::Upstream("user list without `users`".into()))?
                .iter()
                .map(AdminUser::from_gotrue)
                .collect()
        })
    }

    fn get<'a>(
        &'a self,
        tx: &'a Transaction<'a>,
        id: Uuid,
    ) -> BoxFuture<'a, Result<AdminUser, UserError>> {
        Box::pin(async move {
            require_admin(tx).await?;
            let user = self
                .call(
                    reqwest::Method::GET,
                    &format!("/admin/users/{id}"),
                    &[],
                    None,
                )
                .await?;
            AdminUser::from_gotrue(&user)
        })
    }

    fn create<'a>(
        &'a self,
        tx: &'a Transaction<'a>,
        user: &'a ValidNewUser,
    ) -> BoxFuture<'a, Result<AdminUser, UserError>> {
        Box::pin(async move {
            require_admin(tx).await?;
            if user.invite {
                // the invite endpoint takes no app_metadata: the role is set right after.
                let invited = self
                    .call(
                        reqwest::Method::POST,
                        "/invite",
                        &[],
                        Some(json!({ "email": user.email })),
                    )
                    .await?;
                let id = AdminUser::from_gotrue(&invited)?.id;
                self.put_user(id, json!({ "app_metadata": { "role": user.role } }))
                    .await
            } else {
                let created = self
                    .call(
                        reqwest::Method::POST,
                        "/admin/users",
                        &[],
                        Some(json!({
                            "email": user.email,
                            "email_confirm": true,
                            "app_metadata": { "role": user.role },
                        })),
                    )
                    .await?;
                AdminUser::from_gotrue(&created)
            }
        })
    }

    fn update<'a>(
        &'a self,
        tx: &'a Transaction<'a>,
        id: Uuid,
        change: &'a UserChange,
    ) -> BoxFuture<'a, Result<AdminUser, UserError>> {
        Box::pin(async move {
            require_admin(tx).await?;
            if removes_admin(change) {
                // holds the lock until the caller's transaction ends, after the api call.
                tx.execute("select app_private.guard_last_admin($1)", &[&id])
                    .await?;
            }
            let mut body = serde_json::Map::new();
            if let Some(role) = &change.role {
                body.insert("app_metadata".into(), json!({ "role": role }));
            }
            if let Some(banned) = change.banned {
                let duration = if banned { BAN_FOREVER } else { "none" };
                body.insert("ban_duration".into(), json!(duration));
            }
            self.put_user(id, Value::Object(body)).await
        })
    }

    fn delete<'a>(
        &'a self,
        tx: &'a Transaction<'a>,
        id: Uuid,
    ) -> BoxFuture<'a, Result<(), UserError>> {
        Box::pin(async move {
            require_admin(tx).await?;
            tx.execute("select app_private.guard_last_admin($1)", &[&id])
                .await?;
            self.call(
                reqwest::Method::DELETE,
                &format!("/admin/users/{id}"),
                &[],
                None,
            )
            .await?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gotrue_users_map_to_admin_users() {
        let user = AdminUser::from_gotrue(&json!({
            "id": "00000000-0000-4000-8000-00000000000a",
            "email": "a@example.com",
            "phone": "",
            "app_metadata": {"provider": "email", "role": "admin"},
            "banned_until": "2999-01-01T00:00:00Z",
            "created_at": "2026-01-01T00:00:00Z"
        }))
        .unwrap();
        assert_eq!(user.role, "admin");
        assert!(user.banned);
        assert_eq!(user.phone, None);
    }

    #[test]
    fn unknown_roles_read_as_viewer() {
        let user = AdminUser::from_gotrue(&json!({
            "id": "00000000-0000-4000-8000-00000000000a",
            "app_metadata": {"role": "owner"}
        }))
        .unwrap();
        assert_eq!(user.role, "viewer");
        assert!(!user.banned);
    }

    #[test]
    fn new_users_are_validated_field_by_field() {
        let bad_email = NewUser {
            email: "nobody".into(),
            role: None,
            invite: None,
        };
        assert!(
            matches!(validate_new_user(&bad_email), Err(UserError::Invalid { field, .. }) if field == "email")
        );
        let bad_role = NewUser {
            email: "New@Example.com".into(),
            role: Some("owner".into()),
            invite: None,
        };
        assert!(
            matches!(validate_new_user(&bad_role), Err(UserError::Invalid { field, .. }) if field == "role")
        );
        let good = validate_new_user(&NewUser {
            email: " New@Example.com ".into(),
            role: None,
            invite: None,
        })
        .unwrap();
        assert_eq!(
            (good.email.as_str(), good.role.as_str(), good.invite),
            ("new@example.com", "viewer", true)
        );
    }
}
