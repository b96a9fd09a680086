//! The one way this crate talks to the database: a read-write transaction as `service_role`,
//! begun through `gimbal_db::scope` like every other request, so the worker is visible in
//! `request.path` and never needs a privileged login.

use gimbal_db::{Access, Pool, RequestScope, Transaction, postgres::Client};
use tokio_postgres::types::ToSql;

use crate::JobError;

/// `request.path` the worker's statements carry.
const SCOPE_PATH: &str = "worker";

pub(crate) async fn begin(client: &mut Client) -> Result<Transaction<'_>, JobError> {
    let scope = RequestScope::service(SCOPE_PATH);
    Ok(gimbal_db::scope::begin(client, &scope, Access::ReadWrite).await?)
}

/// Runs one statement in a transaction of its own and returns the number of rows it touched.
pub(crate) async fn execute(
    pool: &Pool,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, JobError> {
    let mut client = pool.get().await?;
    let tx = begin(&mut client).await?;
    let rows = tx.execute(sql, params).await?;
    tx.commit().await?;
    Ok(rows)
}
