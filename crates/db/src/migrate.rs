//! Applying the schema: Supabase's bootstrap (only where the platform's own objects are absent),
//! the versioned migrations in `sql/` (refinery; never edited once landed) and the policies in
//! `policies/` (idempotent, re-applied on every run so they always match the code).

use tokio_postgres::Client;

use crate::DbError;

refinery::embed_migrations!("../../sql");
include!(concat!(env!("OUT_DIR"), "/policies.rs"));

/// Roles, `auth` and `storage` for a plain PostgreSQL; the hosted platform already has them.
pub const BOOTSTRAP_SQL: &str = include_str!("../../../supabase/bootstrap.sql");

/// Where refinery records applied versions: a schema the API does not expose.
pub const HISTORY_TABLE: &str = "app_private.schema_history";

/// Serialises concurrent migrators (two deploys, or a test and `gimbal dev`).
const MIGRATE_LOCK: i64 = 0x6769_6d62_616c; // "gimbal"

#[derive(Debug, Default)]
pub struct MigrateReport {
    pub bootstrapped: bool,
    pub applied: Vec<String>,
    pub policy_files: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("bootstrap failed: {0}")]
    Bootstrap(DbError),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("policy file {file} failed: {source}")]
    Policy { file: String, source: DbError },
    #[error(transparent)]
    Db(#[from] DbError),
}

/// A migration as shipped in this binary.
pub struct MigrationFile {
    pub version: u32,
    pub name: String,
    pub sql: String,
}

pub fn migration_files() -> Vec<MigrationFile> {
    let runner = migrations::runner();
    let mut files: Vec<MigrationFile> = runner
        .get_migrations()
        .iter()
        .map(|m| MigrationFile {
            version: m.version(),
            name: m.name().to_string(),
            sql: m.sql().unwrap_or_default().to_string(),
        })
        .collect();
    files.sort_by_key(|m| m.version);
    files
}

/// The policies as one script, in file-name order.
pub fn policies_sql() -> String {
    POLICY_FILES
        .iter()
        .map(|(name, sql)| format!("-- policies/{name}\n{sql}\n"))
        .collect()
}

/// Applies bootstrap (when needed), migrations and policies. Must run as a role that owns the
/// schema (a superuser locally, `postgres` on a Supabase project).
pub async fn migrate(client: &mut Client) -> Result<MigrateReport, MigrateError> {
    client
        .execute("select pg_advisory_lock($1)", &[&MIGRATE_LOCK])
        .await
        .map_err(DbError::from)?;
    let result = migrate_locked(client).await;
    let unlock = client
        .execute("select pg_advisory_unlock($1)", &[&MIGRATE_LOCK])
        .await;
    let report = result?;
    unlock.map_err(DbError::from)?;
    Ok(report)
}

async fn migrate_locked(client: &mut Client) -> Result<MigrateReport, MigrateError> {
    let mut report = MigrateReport {
        bootstrapped: bootstrap(client).await?,
        ..Default::default()
    };
    client
        .batch_execute("create schema if not exists app_private")
        .await
        .map_err(|e| MigrateError::Migration(e.to_string()))?;
    let mut runner = migrations::runner();
    runner.set_migration_table_name(HISTORY_TABLE);
    let applied = runner
        .set_abort_divergent(true)
        .set_abort_missing(true)
        .run_async(client)
        .await
        .map_err(|e| MigrateError::Migration(e.to_string()))?;
    report.applied = applied
        .applied_migrations()
        .iter()
        .map(|m| m.to_string())
        .collect();
    report.policy_files = apply_policies(client).await?;
    Ok(report)
}

async fn bootstrap(client: &mut Client) -> Result<bool, MigrateError> {
    let row = client
        .query_one("select to_regclass('auth.users') is null", &[])
        .await
        .map_err(|e| MigrateError::Bootstrap(e.into()))?;
    if !row.get::<_, bool>(0) {
        return Ok(false);
    }
    let tx = client
        .transaction()
        .await
        .map_err(|e| MigrateError::Bootstrap(e.into()))?;
    tx.batch_execute(BOOTSTRAP_SQL)
        .await
        .map_err(|e| MigrateError::Bootstrap(e.into()))?;
    tx.commit()
        .await
        .map_err(|e| MigrateError::Bootstrap(e.into()))?;
    Ok(true)
}

async fn apply_policies(client: &mut Client) -> Result<usize, MigrateError> {
    let tx = client.transaction().await.map_err(DbError::from)?;
    for (file, sql) in POLICY_FILES {
        tx.batch_execute(sql)
            .await
            .map_err(|e| MigrateError::Policy {
                file: file.to_string(),
                source: e.into(),
            })?;
    }
    tx.commit().await.map_err(DbError::from)?;
    Ok(POLICY_FILES.len())
}
