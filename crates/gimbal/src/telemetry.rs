//! Logs and error reporting: JSON logs in production, readable ones locally; Sentry when
//! `SENTRY_DSN` is set.

use gimbal_edge::config::LogFormat;
use secrecy::{ExposeSecret, SecretString};
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

pub fn init_logs(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info,tokio_postgres=warn"));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match format {
        LogFormat::Json => registry
            .with(fmt::layer().json().flatten_event(true))
            .try_init(),
        LogFormat::Pretty => registry.with(fmt::layer().compact()).try_init(),
    };
}

/// Keep the guard alive for the life of the process; dropping it flushes pending events.
pub fn init_sentry(dsn: Option<&SecretString>) -> Option<sentry::ClientInitGuard> {
    let dsn = dsn?;
    let guard = sentry::init((
        dsn.expose_secret(),
        sentry::ClientOptions {
            release: sentry::release_name!(),
            send_default_pii: false,
            ..Default::default()
        },
    ));
    if !guard.is_enabled() {
        tracing::warn!("SENTRY_DSN is set but is not a valid DSN; error reporting is off");
    }
    Some(guard)
}
