//! Security events: things a function notices that no table change shows (a caller refused
//! access, a webhook with a bad signature, a failed login a provider reports). They are
//! written in a service-role transaction of their own, so the event is kept even when the
//! request that noticed it is rolled back.

use gimbal_db::{Access, DbError, Pool, RequestScope};
use serde_json::Value;
use uuid::Uuid;

/// One security event, e.g. `access.denied` with `{"function": "admin-users"}`.
#[derive(Clone, Debug)]
pub struct SecurityEvent {
    /// Dotted name: `access.denied`, `webhook.bad_signature`, `login.failed`, `user.role_changed`.
    pub action: String,
    pub actor_id: Option<Uuid>,
    /// The caller's application role (`admin`, `user`, `viewer`), `anon` or `service_role`.
    pub actor_role: Option<String>,
    /// What happened, for people reading the log. Never a credential.
    pub details: Value,
    pub request_id: Option<String>,
}

impl SecurityEvent {
    pub fn new(action: impl Into<String>, details: Value) -> Self {
        SecurityEvent {
            action: action.into(),
            actor_id: None,
            actor_role: None,
            details,
            request_id: None,
        }
    }
}

/// Appends `event` to the audit log (kind `security`) and returns its id.
pub async fn record_security_event(pool: &Pool, event: &SecurityEvent) -> Result<i64, DbError> {
    let mut client = pool.get().await?;
    let tx = gimbal_db::scope::begin(
        &mut client,
        &RequestScope::service("audit.security_event"),
        Access::ReadWrite,
    )
    .await?;
    let row = tx
        .query_one(
            "insert into public.audit_logs (actor_id, actor_role, action, kind, details, request_id)
             values ($1, $2, $3, 'security', $4, nullif($5, ''))
             returning id",
            &[
                &event.actor_id,
                &event.actor_role,
                &event.action,
                &event.details,
                &event.request_id,
            ],
        )
        .await?;
    tx.commit().await?;
    tracing::info!(audit.action = %event.action, audit.actor_id = ?event.actor_id, "security event recorded");
    Ok(row.get(0))
}

/// Records that a caller was refused by `function` (kind `security`, action
/// `access.denied`). Recording must never turn a 403 into a 500, so a failure to record is
/// logged and swallowed.
pub async fn record_access_denied(
    pool: &Pool,
    function: &str,
    actor_id: Option<Uuid>,
    actor_role: Option<String>,
    request_id: &str,
) {
    let event = SecurityEvent {
        action: "access.denied".into(),
        actor_id,
        actor_role,
        details: serde_json::json!({ "function": function }),
        request_id: Some(request_id.to_string()),
    };
    if let Err(e) = record_security_event(pool, &event).await {
        tracing::warn!(error = %e, "could not record a denied access in the audit log");
    }
}

/// Whether the caller of `tx` is an admin or the service role, as the database sees it
/// (`app_private.current_app_role()`). The host records every 403 a function answers, so a
/// refusal based on this is recorded too.
pub async fn admit_admins(tx: &gimbal_db::Transaction<'_>) -> Result<bool, DbError> {
    let role: Option<String> = tx
        .query_one("select app_private.current_app_role()", &[])
        .await?
        .get(0);
    Ok(matches!(role.as_deref(), Some("admin" | "service_role")))
}
