//! `gimbal rotate-keys`: re-encrypts every row of `public.secrets` that is not sealed under
//! the current key. Older keys (GIMBAL_ENCRYPTION_OLD_KEYS) keep opening the rows until
//! this has run; afterwards they can be retired. Rows are locked while they are rewritten,
//! and the whole rotation is one transaction: either every readable row moves to the new
//! key or none does.

use gimbal_db::{DbError, Transaction};
use gimbal_secrets::{Keyring, Sealed};
use uuid::Uuid;

use crate::integrations::secret_aad;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct RotationReport {
    pub total: usize,
    pub rotated: usize,
    pub already_current: usize,
    /// Rows that could not be opened (unknown key id, or altered): left untouched.
    pub unreadable: Vec<Uuid>,
}

/// Rotates inside `tx`, which must be a service-role transaction (only it reads ciphertext).
pub async fn rotate(tx: &Transaction<'_>, keyring: &Keyring) -> Result<RotationReport, DbError> {
    let rows = tx
        .query(
            "select id, scope, name, ciphertext, nonce, key_id from public.secrets order by id for update",
            &[],
        )
        .await?;
    let mut report = RotationReport {
        total: rows.len(),
        ..Default::default()
    };
    for row in rows {
        let (id, scope, name): (Uuid, String, String) = (row.get(0), row.get(1), row.get(2));
        let sealed = Sealed {
            ciphertext: row.get(3),
            nonce: row.get(4),
            key_id: row.get(5),
        };
        if sealed.key_id == keyring.current_key_id() {
            report.already_current += 1;
            continue;
        }
        let aad = secret_aad(&scope, &name);
        let Ok(clear) = keyring
            .open(&sealed, &aad)
            .map(secrecy::zeroize::Zeroizing::new)
        else {
            tracing::warn!(secret.id = %id, secret.key_id = %sealed.key_id, "secret cannot be opened; left as it is");
            report.unreadable.push(id);
            continue;
        };
        let resealed = keyring.seal(&clear, &aad);
        tx.execute(
            "update public.secrets set ciphertext = $2, nonce = $3, key_id = $4 where id = $1",
            &[&id, &resealed.ciphertext, &resealed.nonce, &resealed.key_id],
        )
        .await?;
        report.rotated += 1;
    }
    Ok(report)
}
