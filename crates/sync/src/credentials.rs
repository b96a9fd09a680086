//! A source's credentials (refresh tokens, passwords, keys) live in `public.secrets`, sealed with
//! AES-256-GCM by the deployment's keyring, under the name `data_source:<id>` which is also the
//! associated data (a ciphertext moved to another source's row does not open). Only the service
//! role reads ciphertext; no function ever returns credentials.

use gimbal_db::Transaction;
use gimbal_secrets::{Keyring, Sealed};
use serde_json::Value;
use uuid::Uuid;

use crate::SyncError;

fn name(source: Uuid) -> String {
    format!("data_source:{source}")
}

/// Stores (or replaces) the credentials of `source`. Runs in a service-role transaction.
pub async fn store(
    tx: &Transaction<'_>,
    keyring: &Keyring,
    source: Uuid,
    credentials: &Value,
) -> Result<(), SyncError> {
    let name = name(source);
    let plaintext = serde_json::to_vec(credentials).expect("JSON serialises");
    let sealed = keyring.seal(&plaintext, name.as_bytes());
    tx.execute(
        "insert into public.secrets (scope, name, owner_ref, ciphertext, nonce, key_id)
         values ('data_source', $1, $1, $2, $3, $4)
         on conflict (scope, name) do update
           set ciphertext = excluded.ciphertext, nonce = excluded.nonce, key_id = excluded.key_id",
        &[&name, &sealed.ciphertext, &sealed.nonce, &sealed.key_id],
    )
    .await?;
    Ok(())
}

/// The decrypted credentials of `source`, if it has any.
pub async fn load(
    tx: &Transaction<'_>,
    keyring: &Keyring,
    source: Uuid,
) -> Result<Option<Value>, SyncError> {
    let name = name(source);
    let Some(row) = tx
        .query_opt(
            "select ciphertext, nonce, key_id from public.secrets
             where scope = 'data_source' and name = $1",
            &[&name],
        )
        .await?
    else {
        return Ok(None);
    };
    let sealed = Sealed {
        ciphertext: row.get(0),
        nonce: row.get(1),
        key_id: row.get(2),
    };
    let plaintext = keyring
        .open(&sealed, name.as_bytes())
        .map_err(|e| SyncError::Internal(format!("credentials of {source}: {e}")))?;
    serde_json::from_slice(&plaintext)
        .map(Some)
        .map_err(|_| SyncError::Internal(format!("credentials of {source} are not JSON")))
}
