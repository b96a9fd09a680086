//! Re-imports into tables without a natural key. Such a table cannot tell a row loaded twice
//! from two equal rows, so the rule is about files instead: every load into a keyless table is
//! recorded in `public.import_runs` with the SHA-256 of the file's bytes (as uploaded, before
//! transcoding) and the `_row_id` range its rows received. Loading the same content into the
//! same table again is refused, unless the caller says `replace` (the earlier loads' rows are
//! deleted, in the same transaction as the new rows arrive) or `append` (rows are added again,
//! on purpose). The digest is known only once the whole file has been read, so the decision is
//! taken after `COPY`; a refused re-import is rolled back with everything else.
//!
//! A load holds `share row exclusive` on its table (readers go on; a second load waits), so no
//! other load draws identities inside its range and the range names exactly its rows.

use std::{
    io::Read,
    sync::{Arc, Mutex},
};

use chrono::{DateTime, Utc};
use gimbal_db::Transaction;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::ImportError;

/// What to do when the same file was already imported into a keyless table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Reimport {
    /// Refuse, naming the earlier import (the default).
    #[default]
    Refuse,
    /// Delete the rows the earlier imports of this content loaded, then load.
    Replace,
    /// Load the rows again.
    Append,
}

/// A reader that hashes what passes through it (when asked to); the digest is read once reading
/// is done.
pub struct Digesting<R> {
    inner: R,
    hasher: Option<Arc<Mutex<Sha256>>>,
}

/// The other end of a [`Digesting`] reader.
#[derive(Clone)]
pub struct DigestHandle(Arc<Mutex<Sha256>>);

impl<R: Read> Digesting<R> {
    /// `inner`, hashed when `hash` is set (only keyless loads need the digest).
    pub fn new(inner: R, hash: bool) -> (Self, Option<DigestHandle>) {
        let hasher = hash.then(|| Arc::new(Mutex::new(Sha256::new())));
        let handle = hasher.clone().map(DigestHandle);
        (Digesting { inner, hasher }, handle)
    }
}

impl<R: Read> Read for Digesting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(hasher) = &self.hasher {
            hasher
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .update(&buf[..n]);
        }
        Ok(n)
    }
}

impl DigestHandle {
    /// Lower-case hex SHA-256 of everything read so far.
    pub fn hex(&self) -> String {
        let hasher = self.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        hex::encode(hasher.finalize())
    }
}

/// Locks `imports.<table>` against other loads and answers the highest `_row_id` before this
/// one. `tx` runs as `service_role`; `quoted` is the quoted table name.
pub async fn begin_load(tx: &Transaction<'_>, quoted: &str) -> Result<i64, ImportError> {
    tx.batch_execute(&format!(
        "lock table imports.{quoted} in share row exclusive mode"
    ))
    .await?;
    let row = tx
        .query_one(
            &format!("select coalesce(max(_row_id), 0) from imports.{quoted}"),
            &[],
        )
        .await?;
    Ok(row.get(0))
}

/// Applies `policy` to earlier imports of `sha256` into the table and records this one: its
/// `rows` rows are those above `before`. Answers how many rows of earlier imports were
/// replaced.
pub async fn finish_load(
    tx: &Transaction<'_>,
    import_table_id: Uuid,
    quoted: &str,
    sha256: &str,
    before: i64,
    rows: u64,
    policy: Reimport,
) -> Result<u64, ImportError> {
    let earlier = tx
        .query(
            "select id, first_row_id, last_row_id, created_at from public.import_runs
              where import_table_id = $1 and sha256 = $2 order by created_at",
            &[&import_table_id, &sha256],
        )
        .await?;
    let mut replaced = 0;
    if let Some(first) = earlier.first() {
        match policy {
            Reimport::Refuse => {
                let at: DateTime<Utc> = first.get(3);
                return Err(ImportError::AlreadyImported {
                    sha256: sha256.to_string(),
                    imported_at: at.to_rfc3339(),
                });
            }
            Reimport::Replace => {
                for run in &earlier {
                    let (id, from, to): (Uuid, Option<i64>, Option<i64>) =
                        (run.get(0), run.get(1), run.get(2));
                    if let (Some(from), Some(to)) = (from, to) {
                        replaced += tx
                            .execute(
                                &format!(
                                    "delete from imports.{quoted} where _row_id between $1 and $2"
                                ),
                                &[&from, &to],
                            )
                            .await?;
                    }
                    tx.execute("delete from public.import_runs where id = $1", &[&id])
                        .await?;
                }
            }
            Reimport::Append => {}
        }
    }
    let row = tx
        .query_one(
            &format!("select min(_row_id), max(_row_id) from imports.{quoted} where _row_id > $1"),
            &[&before],
        )
        .await?;
    let (first, last): (Option<i64>, Option<i64>) = (row.get(0), row.get(1));
    let rows = i64::try_from(rows).unwrap_or(i64::MAX);
    tx.execute(
        "insert into public.import_runs (import_table_id, sha256, first_row_id, last_row_id, rows_loaded)
         values ($1, $2, $3, $4, $5)",
        &[&import_table_id, &sha256, &first, &last, &rows],
    )
    .await?;
    Ok(replaced)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_covers_every_byte_read() {
        let (mut reader, digest) = Digesting::new(&b"abc"[..], true);
        let digest = digest.unwrap();
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        // FIPS 180-2, appendix B.1: SHA-256("abc").
        assert_eq!(
            digest.hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
