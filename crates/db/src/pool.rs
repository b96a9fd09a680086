//! Connection pools. TLS follows the URL's `sslmode`: `disable` (or a Unix socket) connects in
//! clear, anything else uses rustls with the Mozilla root store, as hosted Supabase requires.

use std::{str::FromStr, sync::Arc, time::Duration};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::config::{Host, SslMode};

#[derive(Debug, thiserror::Error)]
pub enum PoolSetupError {
    #[error("{var} is not a valid PostgreSQL URL: {reason}")]
    BadUrl { var: &'static str, reason: String },
    #[error("could not build the connection pool: {0}")]
    Build(String),
}

/// Builds a pool for `url`; `var` names the setting the URL came from, for error messages.
pub fn connect(var: &'static str, url: &str, max_size: usize) -> Result<Pool, PoolSetupError> {
    let config = parse(var, url)?;
    let manager_config = ManagerConfig {
        recycling_method: RecyclingMethod::Fast,
    };
    let manager = if needs_tls(&config) {
        Manager::from_config(config, tls_connector(), manager_config)
    } else {
        Manager::from_config(config, tokio_postgres::NoTls, manager_config)
    };
    Pool::builder(manager)
        .max_size(max_size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(Duration::from_secs(10)))
        .create_timeout(Some(Duration::from_secs(10)))
        .build()
        .map_err(|e| PoolSetupError::Build(e.to_string()))
}

/// Opens one connection outside any pool (migrations, cluster administration).
pub async fn connect_once(
    var: &'static str,
    url: &str,
) -> Result<tokio_postgres::Client, crate::DbError> {
    let config = parse(var, url).map_err(|e| crate::DbError::Unavailable(e.to_string()))?;
    let client = if needs_tls(&config) {
        let (client, conn) = config.connect(tls_connector()).await?;
        tokio::spawn(conn);
        client
    } else {
        let (client, conn) = config.connect(tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        client
    };
    Ok(client)
}

pub fn parse(var: &'static str, url: &str) -> Result<tokio_postgres::Config, PoolSetupError> {
    tokio_postgres::Config::from_str(url).map_err(|e| PoolSetupError::BadUrl {
        var,
        reason: e.to_string(),
    })
}

fn needs_tls(config: &tokio_postgres::Config) -> bool {
    let unix_only = config
        .get_hosts()
        .iter()
        .all(|h| matches!(h, Host::Unix(_)));
    !unix_only && config.get_ssl_mode() != SslMode::Disable && !is_loopback(config)
}

/// Loopback connections (the local stack, tests) need no TLS even in `prefer` mode.
fn is_loopback(config: &tokio_postgres::Config) -> bool {
    config.get_hosts().iter().all(|h| match h {
        Host::Tcp(name) => name == "localhost" || name.starts_with("127.") || name == "::1",
        Host::Unix(_) => true,
    }) && config.get_ssl_mode() != SslMode::Require
}

fn tls_connector() -> tokio_postgres_rustls::MakeRustlsConnect {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_postgres_rustls::MakeRustlsConnect::new(config)
}
