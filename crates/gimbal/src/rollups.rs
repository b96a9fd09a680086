//! `gimbal rollups rebuild`: recompute every dashboard rollup from the raw rows, in one
//! transaction, as the service role (after a restore, a bulk load with triggers disabled,
//! or a suspected drift). Writers to the source tables wait until it commits; dashboards
//! keep reading the previous figures until then.

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Subcommand};
use gimbal_db::{Access, RequestScope};
use tokio_postgres::Client;

#[derive(Subcommand, Debug)]
pub enum RollupsCommand {
    /// Recompute every dashboard rollup from the raw rows in one transaction.
    Rebuild(RebuildArgs),
}

#[derive(Args, Debug)]
pub struct RebuildArgs {
    /// Statement timeout of the rebuild, in seconds.
    #[arg(long, default_value_t = 3600)]
    pub timeout: u64,
    /// A login role that may `set role service_role` (the services' DATABASE_URL).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
}

pub async fn run(command: RollupsCommand) -> anyhow::Result<()> {
    match command {
        RollupsCommand::Rebuild(args) => {
            let mut client =
                gimbal_db::pool::connect_once("DATABASE_URL", &args.database_url).await?;
            let start = Instant::now();
            let counts = rebuild(&mut client, Duration::from_secs(args.timeout)).await?;
            println!(
                "rollups rebuilt in {:.1} s: {counts}",
                start.elapsed().as_secs_f64()
            );
            Ok(())
        }
    }
}

/// Rebuilds the rollups as the service role; answers the row count of each rollup table.
pub async fn rebuild(client: &mut Client, timeout: Duration) -> anyhow::Result<serde_json::Value> {
    let scope = RequestScope {
        statement_timeout: Some(timeout),
        ..RequestScope::service("cli/rollups/rebuild")
    };
    let tx = gimbal_db::scope::begin(client, &scope, Access::ReadWrite).await?;
    let counts: serde_json::Value = tx
        .query_one("select app_private.rebuild_rollups()", &[])
        .await
        .context("rebuilding the rollups")?
        .get(0);
    tx.commit().await.context("committing the rebuild")?;
    Ok(counts)
}
