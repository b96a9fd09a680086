//! The command line.

use std::{path::PathBuf, time::Duration};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use gimbal_auth::{AppRole, DbRole, mint};
use gimbal_edge::Config;
use gimbal_jobs::WorkerConfig;
use secrecy::SecretString;

use crate::{app, dev, import, rollups, shutdown, telemetry};

#[derive(Parser, Debug)]
#[command(
    name = "gimbal",
    version,
    about = "Gimbal: Supabase-compatible functions, worker and tools"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the functions host (configuration from the environment; see .env.example).
    Serve,
    /// Run the job worker and scheduler.
    Worker {
        /// Jobs run at once by this process.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
    /// Apply the Supabase bootstrap (where needed), migrations and policies.
    Migrate {
        /// A role that owns the schema; defaults to MIGRATION_DATABASE_URL, then DATABASE_URL.
        #[arg(long, env = "MIGRATION_DATABASE_URL")]
        database_url: Option<String>,
    },
    /// Write the schema as Supabase CLI migrations (supabase/migrations).
    ExportMigrations {
        #[arg(long, default_value = "supabase/migrations")]
        dir: PathBuf,
        /// Fail instead of writing when the export is out of date.
        #[arg(long)]
        check: bool,
    },
    /// Write supabase/functions/<name>/index.ts forwarders and supabase/config.toml.
    GenForwarders {
        #[arg(long, default_value = "supabase")]
        dir: PathBuf,
        #[arg(long)]
        check: bool,
    },
    /// The local stack: private Postgres, schema, demo data, host, worker, tokens.
    Dev(dev::DevArgs),
    /// Mint an access token (or API key) for scripts.
    Token {
        /// admin, user, viewer, anon or service_role.
        #[arg(long)]
        role: String,
        #[arg(long)]
        sub: Option<uuid::Uuid>,
        #[arg(long)]
        email: Option<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
        /// Read the signing secret from this `gimbal dev` data directory instead of SUPABASE_JWT_SECRET.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Print a new random encryption key for GIMBAL_ENCRYPTION_KEY.
    Keygen,
    /// Re-encrypt every stored secret under the current GIMBAL_ENCRYPTION_KEY (older keys from
    /// GIMBAL_ENCRYPTION_OLD_KEYS open them until this has run).
    RotateKeys,
    /// Import data: `gimbal import csv FILE --table T`.
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// Dashboard rollups: `gimbal rollups rebuild` recomputes them from the raw rows.
    #[command(subcommand)]
    Rollups(rollups::RollupsCommand),
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve => serve().await,
        Command::Worker { concurrency } => worker(concurrency).await,
        Command::Migrate { database_url } => migrate(database_url).await,
        Command::ExportMigrations { dir, check } => export_migrations(&dir, check),
        Command::GenForwarders { dir, check } => gen_forwarders(&dir, check),
        Command::Dev(args) => dev::run(args).await,
        Command::Token {
            role,
            sub,
            email,
            ttl,
            data_dir,
        } => {
            let secret = signing_secret(data_dir)?;
            println!(
                "{}",
                token(&secret, &role, sub, email, Duration::from_secs(ttl))?
            );
            Ok(())
        }
        Command::Keygen => {
            println!("{}", gimbal_secrets::Keyring::generate_key_b64());
            Ok(())
        }
        Command::RotateKeys => rotate_keys().await,
        Command::Import(command) => import::run(command).await,
        Command::Rollups(command) => rollups::run(command).await,
    }
}

fn load_config() -> anyhow::Result<Config> {
    let config = Config::from_env().context("configuration")?;
    telemetry::init_logs(config.log_format);
    Ok(config)
}

async fn serve() -> anyhow::Result<()> {
    let config = load_config()?;
    let _sentry = telemetry::init_sentry(config.sentry_dsn.as_ref());
    let state = app::build_state(config, WorkerConfig::default()).await?;
    let application = gimbal_host::Application::build(state).await?;
    tracing::info!(addr = %application.local_addr(), "functions host listening");
    application
        .run_until(shutdown::wait(shutdown::on_signal()))
        .await?;
    Ok(())
}

async fn worker(concurrency: usize) -> anyhow::Result<()> {
    let config = load_config()?;
    let _sentry = telemetry::init_sentry(config.sentry_dsn.as_ref());
    let worker = WorkerConfig {
        concurrency,
        ..WorkerConfig::default()
    };
    let state = app::build_state(config, worker).await?;
    gimbal_audit::ensure_schedule(&state.pool).await?;
    gimbal_dispatch::scheduled::ensure_schedule(&state.pool).await?;
    tracing::info!("worker started");
    state.jobs.clone().run(shutdown::on_signal()).await?;
    Ok(())
}

async fn migrate(url: Option<String>) -> anyhow::Result<()> {
    let url = url
        .or_else(|| std::env::var("DATABASE_URL").ok())
        .context("MIGRATION_DATABASE_URL (or --database-url, or DATABASE_URL) is required")?;
    let mut client = gimbal_db::pool::connect_once("MIGRATION_DATABASE_URL", &url).await?;
    let report = gimbal_db::migrate::migrate(&mut client).await?;
    if report.bootstrapped {
        println!("bootstrap: applied Supabase roles, auth and storage");
    }
    for name in &report.applied {
        println!("migration: applied {name}");
    }
    println!("policies: applied {} files", report.policy_files);
    Ok(())
}

async fn rotate_keys() -> anyhow::Result<()> {
    let config = load_config()?;
    let state = app::build_state(config, WorkerConfig::default()).await?;
    let report = app::rotate_keys(&state).await?;
    println!(
        "rotate-keys: {} secrets, {} re-encrypted under key `{}`, {} already under it",
        report.total,
        report.rotated,
        state.keyring.current_key_id(),
        report.already_current
    );
    if !report.unreadable.is_empty() {
        bail!(
            "{} secrets could not be opened with the configured keys and were left as they are \
             (list their key in GIMBAL_ENCRYPTION_OLD_KEYS and run again): {:?}",
            report.unreadable.len(),
            report.unreadable
        );
    }
    Ok(())
}

fn export_migrations(dir: &std::path::Path, check: bool) -> anyhow::Result<()> {
    if check {
        let problems = gimbal_db::export::stale(dir)?;
        if !problems.is_empty() {
            bail!(
                "{} is out of date (run `gimbal export-migrations`):\n  {}",
                dir.display(),
                problems.join("\n  ")
            );
        }
        println!("{} is up to date", dir.display());
        return Ok(());
    }
    for name in gimbal_db::export::write(dir)? {
        println!("wrote {}", dir.join(name).display());
    }
    Ok(())
}

fn gen_forwarders(dir: &std::path::Path, check: bool) -> anyhow::Result<()> {
    let functions = gimbal_host::FUNCTIONS;
    if check {
        let stale = gimbal_host::forwarders::stale(dir, functions);
        if !stale.is_empty() {
            bail!("stale (run `gimbal gen-forwarders`): {}", stale.join(", "));
        }
        return Ok(());
    }
    for path in gimbal_host::forwarders::write(dir, functions)? {
        println!("wrote {}", dir.join(path).display());
    }
    Ok(())
}

fn signing_secret(data_dir: Option<PathBuf>) -> anyhow::Result<SecretString> {
    if let Some(dir) = data_dir {
        return Ok(dev::DevSecrets::load(&dir)?.jwt_secret());
    }
    std::env::var("SUPABASE_JWT_SECRET")
        .map(SecretString::from)
        .context("SUPABASE_JWT_SECRET is required (or pass --data-dir of a `gimbal dev` stack)")
}

/// A token for `role`: an access token for admin/user/viewer, an API key for anon/service_role.
pub fn token(
    secret: &SecretString,
    role: &str,
    sub: Option<uuid::Uuid>,
    email: Option<String>,
    ttl: Duration,
) -> anyhow::Result<String> {
    match role {
        "anon" => Ok(mint::api_key(secret, DbRole::Anon, dev::PROJECT_REF, ttl)?),
        "service_role" => Ok(mint::api_key(
            secret,
            DbRole::ServiceRole,
            dev::PROJECT_REF,
            ttl,
        )?),
        other => {
            let app_role: AppRole = other.parse().map_err(|_| {
                anyhow::anyhow!("--role must be admin, user, viewer, anon or service_role")
            })?;
            let spec = mint::TokenSpec {
                role: DbRole::Authenticated,
                sub: Some(sub.unwrap_or_else(|| dev::demo_user_id(app_role))),
                email: Some(email.unwrap_or_else(|| format!("{}@gimbal.local", app_role.as_str()))),
                app_role: Some(app_role),
                ttl,
                issuer: dev::ISSUER.into(),
            };
            Ok(mint::access_token(secret, &spec)?)
        }
    }
}
