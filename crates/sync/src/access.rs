//! Who may do what with a source, decided by RLS as the caller: a source is *visible* to members
//! (select policy) and *manageable* by its owner or an admin (update policy). `select … for
//! update` passes only rows the caller may update, so no right is re-implemented here. Work
//! that needs the service role (decrypting credentials, queueing runs) switches to it only after
//! that check, inside the same transaction.

use gimbal_db::Transaction;
use gimbal_secrets::Keyring;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{SyncError, credentials};

/// A source as the connection wizard names it: a saved one, or one being set up.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceRef {
    /// A saved source; its stored credentials are used unless `credentials` is given.
    pub data_source_id: Option<Uuid>,
    /// For a source not saved yet: `ga4`, `meta` or `postgres`.
    pub kind: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub config: Option<Value>,
    /// Never stored by this call and never echoed back.
    #[schema(value_type = Option<Object>)]
    pub credentials: Option<Value>,
}

/// What a connector is built from, once access is granted.
pub struct ResolvedSource {
    pub id: Option<Uuid>,
    pub kind: String,
    pub config: Value,
    pub credentials: Option<Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("no data source {0} visible to the caller")]
    NotFound(Uuid),
    #[error("the caller may not manage data source {0}")]
    Forbidden(String),
    #[error(transparent)]
    Sync(#[from] SyncError),
}

impl From<tokio_postgres::Error> for AccessError {
    fn from(err: tokio_postgres::Error) -> Self {
        AccessError::Sync(err.into())
    }
}

/// The kind and config of `source` if the caller may manage it (owner or admin).
pub async fn manageable(
    tx: &Transaction<'_>,
    source: Uuid,
) -> Result<(String, Value), AccessError> {
    let visible = tx
        .query_opt(
            "select 1 from public.data_sources where id = $1",
            &[&source],
        )
        .await?;
    if visible.is_none() {
        return Err(AccessError::NotFound(source));
    }
    let row = tx
        .query_opt(
            "select kind, config from public.data_sources where id = $1 for update",
            &[&source],
        )
        .await?
        .ok_or_else(|| AccessError::Forbidden(source.to_string()))?;
    Ok((row.get(0), row.get(1)))
}

/// Switches the transaction to the service role (after the caller's rights were checked).
pub async fn become_service_role(tx: &Transaction<'_>) -> Result<(), AccessError> {
    tx.execute("select set_config('role', 'service_role', true)", &[])
        .await?;
    Ok(())
}

/// Resolves what the wizard asked about. Saved sources need the right to manage them (their
/// credentials are decrypted); sources being set up need a user or admin role, because they
/// make the server connect to a host of the caller's choosing.
pub async fn resolve(
    tx: &Transaction<'_>,
    keyring: &Keyring,
    source: &SourceRef,
) -> Result<ResolvedSource, AccessError> {
    if let Some(id) = source.data_source_id {
        let (kind, config) = manageable(tx, id).await?;
        let config = source.config.clone().unwrap_or(config);
        let credentials = match &source.credentials {
            Some(c) => Some(c.clone()),
            None => {
                become_service_role(tx).await?;
                credentials::load(tx, keyring, id).await?
            }
        };
        return Ok(ResolvedSource {
            id: Some(id),
            kind,
            config,
            credentials,
        });
    }
    let kind = source.kind.clone().ok_or_else(|| AccessError::Invalid {
        field: "kind",
        message: "give data_source_id, or kind with config and credentials".into(),
    })?;
    let config = source.config.clone().ok_or_else(|| AccessError::Invalid {
        field: "config",
        message: "is required with kind".into(),
    })?;
    let may: bool = tx
        .query_one(
            "select current_user = 'service_role' or (select app_private.can_write())",
            &[],
        )
        .await?
        .get(0);
    if !may {
        return Err(AccessError::Forbidden("new sources".into()));
    }
    Ok(ResolvedSource {
        id: None,
        kind,
        config,
        credentials: source.credentials.clone(),
    })
}
