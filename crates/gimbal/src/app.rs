//! Building the shared application state from a validated [`Config`].

use std::sync::Arc;

use anyhow::{Context, bail};
use gimbal_auth::{AuthConfig, Authenticator};
use gimbal_edge::{App, AppState, Config};
use gimbal_jobs::{Jobs, Registry, WorkerConfig};
use gimbal_secrets::Keyring;

/// Everything a host or worker needs, checked before anything is served.
pub async fn build_state(config: Config, worker: WorkerConfig) -> anyhow::Result<AppState> {
    let pool = gimbal_db::pool::connect(
        "DATABASE_URL",
        config.database_url(),
        config.database_pool_size,
    )?;
    refuse_rls_bypass(&pool).await?;
    let keyring = Keyring::from_parts(
        &config.encryption_key_id,
        &config.encryption_key,
        &config.encryption_old_keys,
    )?;
    let http = reqwest::Client::builder()
        .user_agent(concat!("gimbal/", env!("CARGO_PKG_VERSION")))
        .timeout(std::time::Duration::from_secs(10))
        .build()?;
    let auth = Authenticator::new(
        AuthConfig::new(
            config.jwt_secret.clone(),
            config.jwks_url(),
            config.service_role_key.clone(),
        ),
        http.clone(),
    );
    let mut registry = registry();
    gimbal_sync::runner::register(
        &mut registry,
        gimbal_sync::SyncDeps {
            pool: pool.clone(),
            keyring: keyring.clone(),
            http: http.clone(),
            urls: provider_urls(&config),
            backoff: gimbal_sync::Backoff::default(),
        },
    );
    gimbal_reports::delivery::register(
        &mut registry,
        gimbal_storage::Store::from_config(&config, http.clone()),
    );
    gimbal_reports::generate::register(
        &mut registry,
        gimbal_storage::Store::from_config(&config, http.clone()),
    );
    dispatcher(&config, &worker, pool.clone())?.register(&mut registry);
    let jobs = Jobs::new(pool.clone(), registry, worker);
    Ok(AppState(Arc::new(App {
        config,
        pool,
        auth,
        jobs,
        keyring,
        http,
    })))
}

/// Connector endpoints: the providers' public APIs unless the deployment overrides them.
pub fn provider_urls(config: &Config) -> gimbal_sync::ProviderUrls {
    gimbal_sync::ProviderUrls::with_overrides(
        config.ga4_api_url.as_deref(),
        Some(config.provider_urls.google_token.as_str()),
        Some(config.provider_urls.meta_graph.as_str()),
    )
}

/// The sending engine with the providers the environment configures (local ones when no
/// provider credentials are set).
fn dispatcher(
    config: &Config,
    worker: &WorkerConfig,
    pool: gimbal_db::Pool,
) -> anyhow::Result<gimbal_dispatch::Dispatcher> {
    use secrecy::ExposeSecret;
    let provider_config =
        gimbal_providers::ProviderConfig::from_env().context("provider configuration")?;
    let providers = gimbal_providers::Providers::build(&provider_config, pool.clone())?;
    let functions_url = gimbal_dispatch::public_functions_url(
        config.webhooks.public_url.as_deref(),
        config.supabase_url.as_deref(),
        config.bind,
        &config.path_prefix,
    );
    let mut dispatch = gimbal_dispatch::DispatchConfig::new(
        &functions_url,
        gimbal_dispatch::unsubscribe_key(config.encryption_key.expose_secret())
            .context("GIMBAL_ENCRYPTION_KEY must be base64 of 32 bytes")?,
    );
    dispatch.worker_id = worker.worker_id.clone();
    Ok(gimbal_dispatch::Dispatcher::new(pool, providers, dispatch))
}

/// The services must log in as a role that RLS applies to once it switches to the caller's role;
/// a superuser or BYPASSRLS login would make every policy moot.
async fn refuse_rls_bypass(pool: &gimbal_db::Pool) -> anyhow::Result<()> {
    let conn = pool.get().await.context("DATABASE_URL: cannot connect")?;
    let row = conn
        .query_one(
            "select current_user::text, rolsuper, rolbypassrls from pg_roles where rolname = current_user",
            &[],
        )
        .await
        .context("DATABASE_URL: cannot read the login role")?;
    let (role, superuser, bypass): (String, bool, bool) = (row.get(0), row.get(1), row.get(2));
    if superuser || bypass {
        bail!(
            "DATABASE_URL logs in as {role:?}, which bypasses row-level security; \
             use a login role without SUPERUSER/BYPASSRLS that is granted anon, authenticated \
             and service_role (such as `authenticator`; see the README)"
        );
    }
    Ok(())
}

/// Every job kind this binary runs: the queue's own maintenance plus the domains' handlers.
pub fn registry() -> Registry {
    let mut registry = Registry::with_builtins();
    gimbal_audit::register(&mut registry);
    gimbal_notifications::register(&mut registry);
    registry
}

/// Re-encrypts every secret under the current key, in one service-role transaction.
pub async fn rotate_keys(
    state: &AppState,
) -> anyhow::Result<gimbal_admin::rotation::RotationReport> {
    let mut conn = state
        .pool
        .get()
        .await
        .context("DATABASE_URL: cannot connect")?;
    let tx = gimbal_db::scope::begin(
        &mut conn,
        &gimbal_db::RequestScope::service("gimbal rotate-keys"),
        gimbal_db::Access::ReadWrite,
    )
    .await?;
    let report = gimbal_admin::rotation::rotate(&tx, &state.keyring).await?;
    tx.commit().await.map_err(gimbal_db::DbError::from)?;
    Ok(report)
}
