//! Security events: a webhook request whose signature does not verify is refused and
//! recorded in `audit_logs` (kind `security`), so forgeries and tampering are visible to admins.
//! Only what identifies the attempt is kept — never the signature, the token or the body.

use gimbal_db::DbError;
use serde_json::json;
use tokio_postgres::Transaction;

/// Why a webhook request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    MissingSignature,
    BadSignature,
    StaleTimestamp,
}

impl Rejection {
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::MissingSignature => "missing_signature",
            Rejection::BadSignature => "bad_signature",
            Rejection::StaleTimestamp => "stale_timestamp",
        }
    }
}

/// Records a refused webhook request (on a service-role transaction of its own).
pub async fn record_rejection(
    tx: &Transaction<'_>,
    function: &str,
    reason: Rejection,
    request_id: &str,
    body_bytes: usize,
) -> Result<(), DbError> {
    let details = json!({
        "function": function,
        "reason": reason.as_str(),
        "body_bytes": body_bytes,
    });
    tx.execute(
        "insert into public.audit_logs (actor_role, action, table_name, kind, details, request_id)
         values ('anon', 'webhook.rejected', null, 'security', $1, nullif($2, ''))",
        &[&details, &request_id],
    )
    .await?;
    Ok(())
}

/// Logs a refused webhook request and records it, each on its own: the refusal stands even if
/// the audit write fails (that failure is logged too).
pub async fn reject(
    pool: &gimbal_db::Pool,
    function: &str,
    reason: Rejection,
    request_id: &str,
    body_bytes: usize,
) {
    tracing::warn!(
        webhook.function = function,
        webhook.reason = reason.as_str(),
        request.id = request_id,
        "webhook request refused"
    );
    let recorded = async {
        let mut conn = pool.get().await.map_err(DbError::from)?;
        let tx = crate::service_transaction(&mut conn, function).await?;
        record_rejection(&tx, function, reason, request_id, body_bytes).await?;
        tx.commit().await.map_err(DbError::from)
    };
    if let Err(e) = recorded.await {
        tracing::error!(error = %e, webhook.function = function, "could not record a refused webhook request");
    }
}
