//! Loading a prepared file into its table. The caller's right to import is decided by RLS on
//! `public.import_tables` (the registry row is written as the caller); only then does the
//! transaction switch to `service_role` to create the table and run `COPY`, which PostgreSQL
//! refuses on tables with row-level security for any role that does not bypass it.
//!
//! Reading and loading overlap: a blocking thread parses and checks the file into `COPY` text
//! chunks, a bounded channel carries them to the connection. The channel's capacity is what
//! bounds memory; a slow database slows the reader down instead of letting chunks pile up.

use std::{io::Read, time::Duration, time::Instant};

use bytes::Bytes;
use futures_util::SinkExt;
use gimbal_db::{DbError, Transaction};
use serde::Serialize;
use serde_json::json;
use tokio::sync::mpsc;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    ImportError, ReadOptions,
    csv_file::{self, Prepared, ReadSummary},
    runs::{self, Digesting, Reimport},
    schema::{self, Column},
};

/// Chunks in flight between the reader and the connection (each about 256 KiB).
const CHANNEL_CHUNKS: usize = 4;

/// Whether the load makes a new table or adds to a registered one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Create,
    Append,
}

/// Where and how to load.
#[derive(Clone, Debug)]
pub struct LoadRequest {
    /// The table in the `imports` schema: `^[a-z][a-z0-9_]{0,62}$`.
    pub table: String,
    pub mode: Mode,
    /// Name of the data source created with a new table (defaults to the table name).
    pub source_name: Option<String>,
    /// Statement timeout of the load itself (the caller's own is meant for short requests).
    pub statement_timeout: Duration,
    /// Natural key (table column names) of a new table: rows with a key already present
    /// replace it instead of being appended, so re-importing a file never duplicates. Appends
    /// use the key the table was created with.
    pub key: Vec<String>,
    /// A table without a key: what to do when this very file (by SHA-256) was imported into
    /// it before (see [`crate::runs`]).
    pub reimport: Reimport,
}

/// The outcome of an import.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ImportReport {
    /// `imports.<table>`.
    pub table: String,
    pub import_table_id: Uuid,
    pub data_source_id: Option<Uuid>,
    pub mode: Mode,
    /// The encoding the file was read in (WHATWG name, e.g. `UTF-8`, `windows-1252`).
    pub encoding: String,
    pub delimiter: String,
    pub columns: Vec<Column>,
    pub rows_read: u64,
    pub rows_loaded: u64,
    pub rows_rejected: u64,
    /// Tables without a key: SHA-256 of the file as uploaded (lower-case hex), by which a
    /// re-import of the same file is recognised.
    pub sha256: Option<String>,
    /// `reimport=replace`: rows of the earlier imports of this file that were deleted.
    pub rows_replaced: u64,
    /// The first 100 rejected rows, with line and column.
    pub errors: Vec<csv_file::RowError>,
    pub duration_ms: u64,
}

/// Imports `input` into `request.table` inside `tx`, a transaction that runs as the caller.
/// The caller commits; any error leaves the transaction to be rolled back.
pub async fn import_csv<R: Read + Send + 'static>(
    tx: &Transaction<'_>,
    input: R,
    mut options: ReadOptions,
    request: &LoadRequest,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    if !schema::is_table_name(&request.table) {
        return Err(ImportError::invalid(
            "table",
            "must be 1-63 lower-case letters, digits or _, starting with a letter",
        ));
    }
    let mut key = request.key.clone();
    if request.mode == Mode::Append {
        let (columns, registered_key) = registered_columns(tx, &request.table).await?;
        if !key.is_empty() && key != registered_key {
            return Err(ImportError::invalid(
                "key",
                format!("the table's key is {registered_key:?}; appends use it"),
            ));
        }
        key = registered_key;
        options.table_columns = Some(columns);
    }
    // the content's digest identifies a keyless load (see `runs`); keyed loads upsert instead
    let (input, digest) = Digesting::new(input, key.is_empty());
    let prepared = tokio::task::spawn_blocking(move || csv_file::prepare(input, &options))
        .await
        .map_err(|e| ImportError::Read(e.to_string()))??;
    let columns = prepared.table_columns();
    if let Some(missing) = key.iter().find(|k| !columns.iter().any(|c| &c.name == *k)) {
        return Err(ImportError::invalid(
            "key",
            format!("{missing:?} is not a column of this import"),
        ));
    }
    let encoding = prepared.encoding.name().to_string();
    let delimiter = (prepared.delimiter as char).to_string();
    // Only plain values cross the awaits below: the reader need not be Sync.
    let (import_table_id, data_source_id) =
        register(tx, request, &columns, &key, &encoding, &delimiter).await?;
    become_service_role(tx, request.statement_timeout).await?;
    if request.mode == Mode::Create {
        tx.execute(
            "select app_private.create_import_table($1, $2::jsonb, $3::text[])",
            &[
                &request.table,
                &serde_json::to_value(&columns).unwrap_or_default(),
                &key,
            ],
        )
        .await?;
    }
    let (summary, rows_loaded, sha256, rows_replaced) = match digest {
        Some(digest) => {
            let quoted = quote(&request.table);
            let before = runs::begin_load(tx, &quoted).await?;
            let (summary, rows) = copy(tx, &request.table, &columns, prepared).await?;
            let sha256 = digest.hex();
            let replaced = runs::finish_load(
                tx,
                import_table_id,
                &quoted,
                &sha256,
                before,
                rows,
                request.reimport,
            )
            .await?;
            (summary, rows, Some(sha256), replaced)
        }
        None => {
            let (summary, rows) = merge(tx, &request.table, &columns, &key, prepared).await?;
            (summary, rows, None, 0)
        }
    };
    tracing::info!(
        import.table = %request.table,
        import.rows_loaded = rows_loaded,
        import.rows_rejected = summary.rows_rejected,
        "file imported"
    );
    Ok(ImportReport {
        table: format!("imports.{}", request.table),
        import_table_id,
        data_source_id,
        mode: request.mode,
        encoding,
        delimiter,
        columns,
        rows_read: summary.rows_read,
        rows_loaded,
        rows_rejected: summary.rows_rejected,
        sha256,
        rows_replaced,
        errors: summary.errors,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}

/// The columns and key of a registered table the caller can see.
async fn registered_columns(
    tx: &Transaction<'_>,
    table: &str,
) -> Result<(Vec<Column>, Vec<String>), ImportError> {
    let row = tx
        .query_opt(
            "select columns, key_columns from public.import_tables where table_name = $1",
            &[&table],
        )
        .await?
        .ok_or_else(|| ImportError::NotFound(format!("no import table {table:?}")))?;
    let columns = serde_json::from_value(row.get(0))
        .map_err(|e| ImportError::Db(DbError::Other(format!("import_tables.columns: {e}"))))?;
    Ok((columns, row.get(1)))
}

/// Writes the registry rows as the caller, so RLS decides whether the caller may import.
async fn register(
    tx: &Transaction<'_>,
    request: &LoadRequest,
    columns: &[Column],
    key: &[String],
    encoding: &str,
    delimiter: &str,
) -> Result<(Uuid, Option<Uuid>), ImportError> {
    let refused = |e: tokio_postgres::Error| match DbError::from(e) {
        DbError::PermissionDenied => ImportError::Forbidden(request.table.clone()),
        DbError::Conflict { .. } => ImportError::Conflict(format!(
            "an import table named {:?} already exists; choose another name or mode=append",
            request.table
        )),
        other => ImportError::Db(other),
    };
    if request.mode == Mode::Append {
        // The update succeeds only where the caller could write the registry row.
        let row = tx
            .query_opt(
                "update public.import_tables set columns = columns where table_name = $1
                 returning id, data_source_id",
                &[&request.table],
            )
            .await
            .map_err(refused)?
            .ok_or_else(|| ImportError::Forbidden(request.table.clone()))?;
        return Ok((row.get(0), row.get(1)));
    }
    let config = json!({
        "table": format!("imports.{}", request.table),
        "encoding": encoding,
        "delimiter": delimiter,
    });
    let name = request.source_name.as_deref().unwrap_or(&request.table);
    let source: Uuid = tx
        .query_one(
            "insert into public.data_sources (name, kind, config) values ($1, 'csv', $2)
             returning id",
            &[&name, &config],
        )
        .await
        .map_err(refused)?
        .get(0);
    let columns = serde_json::to_value(columns).unwrap_or_default();
    let id: Uuid = tx
        .query_one(
            "insert into public.import_tables (data_source_id, table_name, columns, key_columns)
             values ($1, $2, $3, $4) returning id",
            &[&source, &request.table, &columns, &key],
        )
        .await
        .map_err(refused)?
        .get(0);
    Ok((id, Some(source)))
}

async fn become_service_role(tx: &Transaction<'_>, timeout: Duration) -> Result<(), ImportError> {
    let timeout = format!("{}ms", timeout.as_millis());
    tx.execute(
        "select set_config('role', 'service_role', true),
                set_config('statement_timeout', $1, true)",
        &[&timeout],
    )
    .await?;
    Ok(())
}

/// `copy imports."t" ("a", "b") from stdin`, names quoted (they are validated identifiers too).
pub fn copy_statement(table: &str, columns: &[Column]) -> String {
    copy_into(&format!("imports.{}", quote(table)), columns)
}

fn copy_into(target: &str, columns: &[Column]) -> String {
    format!("copy {target} ({}) from stdin", names(columns))
}

fn names(columns: &[Column]) -> String {
    let names: Vec<String> = columns.iter().map(|c| quote(&c.name)).collect();
    names.join(", ")
}

/// Loads through a staging table and upserts on `key`: a key seen again (in this file or an
/// earlier one) replaces the row; the last occurrence in the file wins.
async fn merge<R: Read + Send + 'static>(
    tx: &Transaction<'_>,
    table: &str,
    columns: &[Column],
    key: &[String],
    prepared: Prepared<R>,
) -> Result<(ReadSummary, u64), ImportError> {
    let target = format!("imports.{}", quote(table));
    tx.batch_execute(&format!(
        "create temp table gimbal_import_stage on commit drop as
           select {cols} from {target} with no data;
         alter table gimbal_import_stage add column gimbal_line bigserial",
        cols = names(columns)
    ))
    .await?;
    let (summary, _) = stream(tx, &copy_into("gimbal_import_stage", columns), prepared).await?;
    let keys: Vec<String> = key.iter().map(|k| quote(k)).collect();
    let updates: Vec<String> = columns
        .iter()
        .filter(|c| !key.contains(&c.name))
        .map(|c| format!("{0} = excluded.{0}", quote(&c.name)))
        .collect();
    let action = if updates.is_empty() {
        "do nothing".to_string()
    } else {
        format!("do update set {}", updates.join(", "))
    };
    let written = tx
        .execute(
            &format!(
                "insert into {target} ({cols})
                 select distinct on ({keys}) {cols} from gimbal_import_stage
                  order by {keys}, gimbal_line desc
                 on conflict ({keys}) {action}",
                cols = names(columns),
                keys = keys.join(", "),
            ),
            &[],
        )
        .await?;
    tx.batch_execute("drop table gimbal_import_stage").await?;
    Ok((summary, written))
}

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// Streams the file into the table; returns what was read and the rows the server stored.
async fn copy<R: Read + Send + 'static>(
    tx: &Transaction<'_>,
    table: &str,
    columns: &[Column],
    prepared: Prepared<R>,
) -> Result<(ReadSummary, u64), ImportError> {
    stream(tx, &copy_statement(table, columns), prepared).await
}

/// Runs `statement` (a `copy … from stdin`) fed by the reader thread.
async fn stream<R: Read + Send + 'static>(
    tx: &Transaction<'_>,
    statement: &str,
    prepared: Prepared<R>,
) -> Result<(ReadSummary, u64), ImportError> {
    let sink = tx.copy_in(statement).await?;
    let mut sink = std::pin::pin!(sink);
    let (chunks, mut received) = mpsc::channel::<Vec<u8>>(CHANNEL_CHUNKS);
    let reader = tokio::task::spawn_blocking(move || {
        prepared.encode(|chunk| {
            chunks
                .blocking_send(chunk)
                .map_err(|_| ImportError::Read("the load stopped".into()))
        })
    });
    let mut sent = Ok(());
    while let Some(chunk) = received.recv().await {
        if let Err(e) = sink.send(Bytes::from(chunk)).await {
            sent = Err(e);
            break;
        }
    }
    // Closing the channel stops a reader still running after a failed send.
    drop(received);
    let summary = reader.await.map_err(|e| ImportError::Read(e.to_string()));
    // A database error explains a stopped reader better than the reader's own error does.
    sent?;
    let summary = summary??;
    let rows = sink.as_mut().finish().await?;
    Ok((summary, rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ColumnType;

    #[test]
    fn copy_statement_quotes_every_identifier() {
        let columns = vec![Column {
            source: "Select".into(),
            name: "select".into(),
            column_type: ColumnType::Text,
        }];
        assert_eq!(
            copy_statement("order", &columns),
            "copy imports.\"order\" (\"select\") from stdin"
        );
    }
}
