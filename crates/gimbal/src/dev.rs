//! `gimbal dev`: a working system with no accounts. A private PostgreSQL cluster from the
//! machine's binaries (kept in the data directory and reused), Supabase's bootstrap, every
//! migration and policy, demo data, the functions host and the worker in one process, and
//! ready-made tokens. Secrets are generated once per data directory so tokens survive restarts.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context;
use gimbal_auth::AppRole;
use gimbal_db::cluster::{ClusterOptions, LocalCluster};
use gimbal_edge::{Config, config::LogFormat};
use gimbal_jobs::WorkerConfig;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::{app, cli, shutdown, telemetry};

/// The project reference the local stack puts in its API keys.
pub const PROJECT_REF: &str = "gimbal-local";
/// The `iss` of locally minted access tokens.
pub const ISSUER: &str = "http://127.0.0.1/auth/v1";
/// Demo data lives here (`supabase/seed.sql`, the Supabase CLI's seed file).
const SEED_SQL: &str = include_str!("../../../supabase/seed.sql");
const DATABASE: &str = "gimbal";
/// Tokens printed by `gimbal dev` last this long; `gimbal token` mints fresh ones.
const TOKEN_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// The demo users of `supabase/seed.sql`, one per app role.
pub fn demo_user_id(role: AppRole) -> uuid::Uuid {
    let last = match role {
        AppRole::Admin => 0xa,
        AppRole::User => 0xb,
        AppRole::Viewer => 0xc,
    };
    uuid::Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0000 | last)
}

#[derive(clap::Args, Debug)]
pub struct DevArgs {
    /// Port of the functions host.
    #[arg(long, default_value_t = 54321)]
    pub port: u16,
    /// Where the cluster, its secrets and dev.json live.
    #[arg(long, default_value = ".gimbal/dev")]
    pub data_dir: PathBuf,
}

/// Secrets generated once per data directory.
#[derive(Serialize, Deserialize)]
pub struct DevSecrets {
    jwt_secret: String,
    authenticator_password: String,
    encryption_key: String,
}

impl DevSecrets {
    fn path(dir: &Path) -> PathBuf {
        dir.join("secrets.json")
    }

    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let path = Self::path(dir);
        let bytes = std::fs::read(&path)
            .with_context(|| format!("{} (run `gimbal dev` first)", path.display()))?;
        Ok(serde_json::from_slice(&bytes)?)
    }

    fn load_or_create(dir: &Path) -> anyhow::Result<Self> {
        if Self::path(dir).exists() {
            return Self::load(dir);
        }
        let random = || {
            format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            )
        };
        let secrets = DevSecrets {
            jwt_secret: random(),
            authenticator_password: uuid::Uuid::new_v4().simple().to_string(),
            encryption_key: gimbal_secrets::Keyring::generate_key_b64(),
        };
        write_private(&Self::path(dir), &serde_json::to_vec_pretty(&secrets)?)?;
        Ok(secrets)
    }

    pub fn jwt_secret(&self) -> SecretString {
        SecretString::from(self.jwt_secret.clone())
    }
}

/// What `<data-dir>/dev.json` holds, for scripts and frontends.
#[derive(Serialize)]
struct DevInfo {
    url: String,
    functions_url: String,
    database_url: String,
    anon_key: String,
    service_role_key: String,
    jwt_secret: String,
    tokens: HashMap<&'static str, String>,
}

pub async fn run(args: DevArgs) -> anyhow::Result<()> {
    telemetry::init_logs(LogFormat::Pretty);
    std::fs::create_dir_all(&args.data_dir)?;
    let secrets = DevSecrets::load_or_create(&args.data_dir)?;
    let options = ClusterOptions {
        port: None,
        ephemeral: false,
    };
    let cluster = LocalCluster::ensure(&args.data_dir.join("postgres"), &options).await?;
    prepare_database(&cluster, &secrets).await?;
    let database_url = cluster.url("authenticator", &secrets.authenticator_password, DATABASE);
    let info = dev_info(&args, &secrets, &database_url)?;
    let config = dev_config(&args, &secrets, &info)?;
    let state = app::build_state(config, WorkerConfig::default()).await?;
    gimbal_audit::ensure_schedule(&state.pool).await?;
    gimbal_dispatch::scheduled::ensure_schedule(&state.pool).await?;
    let application = gimbal_host::Application::build(state.clone()).await?;
    write_private(
        &args.data_dir.join("dev.json"),
        &serde_json::to_vec_pretty(&info)?,
    )?;
    print_banner(&args, &info);
    let stop = shutdown::on_signal();
    let worker = tokio::spawn(state.jobs.clone().run(stop.clone()));
    let served = application.run_until(shutdown::wait(stop)).await;
    let worked = worker.await;
    cluster.stop().await?;
    println!(
        "gimbal dev stopped; the database stays in {}",
        args.data_dir.display()
    );
    served?;
    worked??;
    Ok(())
}

async fn prepare_database(cluster: &LocalCluster, secrets: &DevSecrets) -> anyhow::Result<()> {
    let admin = gimbal_db::pool::connect_once("dev", &cluster.superuser_url("postgres")).await?;
    let exists = admin
        .query_opt("select 1 from pg_database where datname = $1", &[&DATABASE])
        .await?;
    if exists.is_none() {
        admin
            .batch_execute(&format!("create database {DATABASE}"))
            .await?;
    }
    let mut client = gimbal_db::pool::connect_once("dev", &cluster.superuser_url(DATABASE)).await?;
    let report = gimbal_db::migrate::migrate(&mut client).await?;
    tracing::info!(
        applied = report.applied.len(),
        policies = report.policy_files,
        "schema ready"
    );
    let tx = client.transaction().await?;
    tx.batch_execute(SEED_SQL)
        .await
        .context("loading demo data (supabase/seed.sql)")?;
    // The password is hex, generated above, so it can be inlined safely.
    tx.batch_execute(&format!(
        "alter role authenticator with login password '{}'",
        secrets.authenticator_password
    ))
    .await?;
    tx.commit().await?;
    Ok(())
}

fn dev_info(args: &DevArgs, secrets: &DevSecrets, database_url: &str) -> anyhow::Result<DevInfo> {
    let secret = secrets.jwt_secret();
    let url = format!("http://127.0.0.1:{}", args.port);
    let mut tokens = HashMap::new();
    for role in ["admin", "user", "viewer"] {
        tokens.insert(role, cli::token(&secret, role, None, None, TOKEN_TTL)?);
    }
    let ten_years = Duration::from_secs(10 * 365 * 24 * 3600);
    Ok(DevInfo {
        functions_url: format!("{url}/functions/v1"),
        url,
        database_url: database_url.to_string(),
        anon_key: cli::token(&secret, "anon", None, None, ten_years)?,
        service_role_key: cli::token(&secret, "service_role", None, None, ten_years)?,
        jwt_secret: secret.expose_secret().to_string(),
        tokens,
    })
}

fn dev_config(args: &DevArgs, secrets: &DevSecrets, info: &DevInfo) -> anyhow::Result<Config> {
    let values: HashMap<&str, String> = HashMap::from([
        ("DATABASE_URL", info.database_url.clone()),
        ("DATABASE_POOL_SIZE", "16".into()),
        ("SUPABASE_JWT_SECRET", secrets.jwt_secret.clone()),
        ("SUPABASE_SERVICE_ROLE_KEY", info.service_role_key.clone()),
        ("SUPABASE_ANON_KEY", info.anon_key.clone()),
        ("GIMBAL_ENCRYPTION_KEY", secrets.encryption_key.clone()),
        ("GIMBAL_BIND", format!("127.0.0.1:{}", args.port)),
        ("GIMBAL_LOG_FORMAT", "pretty".into()),
        (
            "GIMBAL_STORAGE_DIR",
            args.data_dir.join("storage").display().to_string(),
        ),
        (
            "GIMBAL_PUBLIC_URL",
            format!("http://127.0.0.1:{}", args.port),
        ),
    ]);
    Ok(Config::from_lookup(|k| values.get(k).cloned())?)
}

fn print_banner(args: &DevArgs, info: &DevInfo) {
    println!(
        "\nGimbal is running.\n\n  functions  {}/<name>\n  health     {}/health\n  metrics    {}/metrics\n  openapi    {}/openapi.json\n  database   {}\n\n  anon key          {}\n  service role key  {}\n",
        info.functions_url,
        info.url,
        info.url,
        info.url,
        info.database_url,
        info.anon_key,
        info.service_role_key
    );
    for role in ["admin", "user", "viewer"] {
        println!("  {role:<7} token  {}", info.tokens[role]);
    }
    println!(
        "\n  try:  curl -H \"Authorization: Bearer $(jq -r .tokens.viewer {}/dev.json)\" {}/me\n\nCtrl-C stops everything.",
        args.data_dir.display(),
        info.functions_url
    );
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| path.display().to_string())?;
    file.write_all(bytes)?;
    Ok(())
}
