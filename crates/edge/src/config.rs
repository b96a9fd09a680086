//! Configuration from the environment, typed and validated at start-up. A missing or malformed
//! variable stops the process with a message naming it; secrets are wrapped so they never print.

use std::{net::SocketAddr, time::Duration};

use secrecy::{ExposeSecret, SecretString};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{var} is required: {hint}")]
    Missing {
        var: &'static str,
        hint: &'static str,
    },
    #[error("{var} is invalid: {reason}")]
    Invalid { var: &'static str, reason: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Clone, Debug)]
pub struct Config {
    /// The login role the services use (e.g. `authenticator`); never a BYPASSRLS role.
    pub database_url: SecretString,
    pub database_pool_size: usize,
    /// `https://<ref>.supabase.co`; JWKS and Storage live under it.
    pub supabase_url: Option<String>,
    pub jwt_secret: Option<SecretString>,
    pub service_role_key: Option<SecretString>,
    pub anon_key: Option<SecretString>,
    pub encryption_key: SecretString,
    pub encryption_key_id: String,
    pub encryption_old_keys: String,
    pub bind: SocketAddr,
    /// Mount point of the functions, e.g. `/api` gives `/api/functions/v1/<name>`.
    pub path_prefix: String,
    pub body_limit_bytes: usize,
    pub anon_statement_timeout: Duration,
    pub authenticated_statement_timeout: Duration,
    pub sentry_dsn: Option<SecretString>,
    pub log_format: LogFormat,
    /// Provider webhook verification (Twilio, SendGrid) and the public base URL they call.
    pub webhooks: WebhookConfig,
    /// Provider APIs the integration connection tests call (configurable for proxies and tests).
    pub provider_urls: ProviderUrls,
    /// Largest file `import-csv` accepts; uploads are streamed, so this is not held in memory.
    pub import_max_bytes: u64,
    /// Statement timeout of an import's load (the per-role timeouts are for short requests).
    pub import_statement_timeout: Duration,
    /// The GA4 Data API endpoint for connectors (default: Google's); Google's token endpoint
    /// and Meta's Graph API are `provider_urls`. Never taken from a source's settings.
    pub ga4_api_url: Option<String>,
    /// Signs OAuth `state` (and derives PKCE verifiers); OAuth is off without it.
    pub oauth_state_secret: Option<SecretString>,
    /// The public URL of the `oauth-callback` function, as registered with the providers.
    pub oauth_redirect_url: Option<String>,
    /// The origin of the app that opens the provider's consent page in a popup
    /// (`GIMBAL_OAUTH_OPENER_ORIGIN`): `oauth-callback`'s page posts the outcome to
    /// `window.opener` for this origin only. Without it the page only tells the person.
    pub oauth_opener_origin: Option<String>,
    pub google_client_id: Option<String>,
    pub google_client_secret: Option<SecretString>,
    pub meta_app_id: Option<String>,
    pub meta_app_secret: Option<SecretString>,
    /// Local file store for report files when Supabase Storage is not configured; its links
    /// start at `webhooks.public_url` (`GIMBAL_PUBLIC_URL`), how clients reach this host.
    pub storage_dir: Option<std::path::PathBuf>,
}

/// What provider webhooks are verified with. Each is optional: a webhook whose key is not
/// configured refuses every request (503), it never accepts unsigned ones.
#[derive(Clone, Debug, Default)]
pub struct WebhookConfig {
    /// The externally visible origin of this host (`https://gimbal.example.com`), as Twilio
    /// signs the URL it called, not the one the host was bound to.
    pub public_url: Option<String>,
    /// Twilio's auth token: the HMAC-SHA1 key of `X-Twilio-Signature`.
    pub twilio_auth_token: Option<SecretString>,
    /// SendGrid's Event Webhook verification key (base64 DER SubjectPublicKeyInfo, P-256).
    pub sendgrid_public_key: Option<String>,
    /// Oldest `X-Twilio-Email-Event-Webhook-Timestamp` accepted, in seconds (replay window).
    pub sendgrid_max_age_secs: u64,
    /// The secret of Supabase Auth's HTTP hooks (`v1,whsec_<base64>`), for `auth-hook`.
    pub auth_hook_secret: Option<SecretString>,
}

/// Base URLs of the providers' APIs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderUrls {
    /// `TWILIO_API_URL`, default `https://api.twilio.com`.
    pub twilio: String,
    /// `SENDGRID_API_URL`, default `https://api.sendgrid.com`.
    pub sendgrid: String,
    /// `GOOGLE_OAUTH_TOKEN_URL`, default `https://oauth2.googleapis.com/token`.
    pub google_token: String,
    /// `META_GRAPH_API_URL`, default `https://graph.facebook.com`.
    pub meta_graph: String,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Reads settings through `lookup`, so tests and `gimbal dev` can supply their own.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let supabase_url = lookup("SUPABASE_URL").map(|u| u.trim_end_matches('/').to_string());
        if let Some(url) = &supabase_url {
            validate_http_url("SUPABASE_URL", url)?;
        }
        let jwt_secret = lookup("SUPABASE_JWT_SECRET");
        if let Some(secret) = &jwt_secret
            && secret.len() < 32
        {
            return Err(invalid(
                "SUPABASE_JWT_SECRET",
                "must be at least 32 characters",
            ));
        }
        if jwt_secret.is_none() && supabase_url.is_none() {
            return Err(ConfigError::Missing {
                var: "SUPABASE_JWT_SECRET",
                hint: "set it (HS256 projects) or SUPABASE_URL (projects with signing keys)",
            });
        }
        Ok(Config {
            database_url: required(
                &lookup,
                "DATABASE_URL",
                "postgres://authenticator:…@host/db",
            )?,
            database_pool_size: parsed(&lookup, "DATABASE_POOL_SIZE", 16)?,
            supabase_url,
            jwt_secret: jwt_secret.map(SecretString::from),
            service_role_key: lookup("SUPABASE_SERVICE_ROLE_KEY").map(SecretString::from),
            anon_key: lookup("SUPABASE_ANON_KEY").map(SecretString::from),
            encryption_key: required(
                &lookup,
                "GIMBAL_ENCRYPTION_KEY",
                "32 random bytes in base64 (`gimbal keygen`)",
            )?,
            encryption_key_id: lookup("GIMBAL_ENCRYPTION_KEY_ID").unwrap_or_else(|| "k1".into()),
            encryption_old_keys: lookup("GIMBAL_ENCRYPTION_OLD_KEYS").unwrap_or_default(),
            bind: parsed(
                &lookup,
                "GIMBAL_BIND",
                SocketAddr::from(([127, 0, 0, 1], 8000)),
            )?,
            path_prefix: path_prefix(lookup("GIMBAL_PATH_PREFIX"))?,
            body_limit_bytes: parsed(&lookup, "GIMBAL_BODY_LIMIT_BYTES", 1024 * 1024)?,
            anon_statement_timeout: seconds(&lookup, "GIMBAL_ANON_STATEMENT_TIMEOUT_SECS", 3)?,
            authenticated_statement_timeout: seconds(
                &lookup,
                "GIMBAL_AUTHENTICATED_STATEMENT_TIMEOUT_SECS",
                8,
            )?,
            sentry_dsn: lookup("SENTRY_DSN").map(SecretString::from),
            log_format: log_format(lookup("GIMBAL_LOG_FORMAT"))?,
            webhooks: webhook_config(&lookup)?,
            provider_urls: ProviderUrls {
                twilio: url_or(&lookup, "TWILIO_API_URL", "https://api.twilio.com")?,
                sendgrid: url_or(&lookup, "SENDGRID_API_URL", "https://api.sendgrid.com")?,
                google_token: url_or(
                    &lookup,
                    "GOOGLE_OAUTH_TOKEN_URL",
                    "https://oauth2.googleapis.com/token",
                )?,
                meta_graph: url_or(&lookup, "META_GRAPH_API_URL", "https://graph.facebook.com")?,
            },
            import_max_bytes: parsed(&lookup, "GIMBAL_IMPORT_MAX_BYTES", 1024 * 1024 * 1024)?,
            import_statement_timeout: seconds(
                &lookup,
                "GIMBAL_IMPORT_STATEMENT_TIMEOUT_SECS",
                900,
            )?,
            ga4_api_url: http_url(&lookup, "GIMBAL_GA4_API_URL")?,
            oauth_state_secret: match lookup("GIMBAL_OAUTH_STATE_SECRET") {
                Some(s) if s.len() < 32 => {
                    return Err(invalid(
                        "GIMBAL_OAUTH_STATE_SECRET",
                        "must be at least 32 characters",
                    ));
                }
                other => other.map(SecretString::from),
            },
            oauth_redirect_url: http_url(&lookup, "GIMBAL_OAUTH_REDIRECT_URL")?,
            oauth_opener_origin: origin(&lookup, "GIMBAL_OAUTH_OPENER_ORIGIN")?,
            google_client_id: lookup("GIMBAL_GOOGLE_CLIENT_ID"),
            google_client_secret: lookup("GIMBAL_GOOGLE_CLIENT_SECRET").map(SecretString::from),
            meta_app_id: lookup("GIMBAL_META_APP_ID"),
            meta_app_secret: lookup("GIMBAL_META_APP_SECRET").map(SecretString::from),
            storage_dir: lookup("GIMBAL_STORAGE_DIR").map(std::path::PathBuf::from),
        })
    }

    /// `<SUPABASE_URL>/auth/v1/.well-known/jwks.json`, where the project publishes its keys.
    pub fn jwks_url(&self) -> Option<String> {
        self.supabase_url
            .as_ref()
            .map(|u| format!("{u}/auth/v1/.well-known/jwks.json"))
    }

    pub fn database_url(&self) -> &str {
        self.database_url.expose_secret()
    }
}

fn required(
    lookup: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    hint: &'static str,
) -> Result<SecretString, ConfigError> {
    lookup(var)
        .map(SecretString::from)
        .ok_or(ConfigError::Missing { var, hint })
}

fn parsed<T: std::str::FromStr>(
    lookup: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match lookup(var) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|e: T::Err| invalid(var, &e.to_string())),
    }
}

fn seconds(
    lookup: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: u64,
) -> Result<Duration, ConfigError> {
    parsed(lookup, var, default).map(Duration::from_secs)
}

fn path_prefix(raw: Option<String>) -> Result<String, ConfigError> {
    let Some(raw) = raw else {
        return Ok(String::new());
    };
    let trimmed = raw.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    let valid = trimmed.starts_with('/')
        && trimmed[1..].split('/').all(|seg| {
            !seg.is_empty()
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
    if !valid {
        return Err(invalid(
            "GIMBAL_PATH_PREFIX",
            "must look like /segment[/segment…]",
        ));
    }
    Ok(trimmed.to_string())
}

fn log_format(raw: Option<String>) -> Result<LogFormat, ConfigError> {
    match raw.as_deref() {
        None | Some("json") => Ok(LogFormat::Json),
        Some("pretty") => Ok(LogFormat::Pretty),
        Some(_) => Err(invalid("GIMBAL_LOG_FORMAT", "must be json or pretty")),
    }
}

fn url_or(
    lookup: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: &str,
) -> Result<String, ConfigError> {
    let url = lookup(var)
        .map(|u| u.trim().trim_end_matches('/').to_string())
        .unwrap_or_else(|| default.to_string());
    validate_http_url(var, &url)?;
    Ok(url)
}

fn http_url(
    lookup: &impl Fn(&str) -> Option<String>,
    var: &'static str,
) -> Result<Option<String>, ConfigError> {
    let Some(url) = lookup(var) else {
        return Ok(None);
    };
    validate_http_url(var, &url)?;
    Ok(Some(url.trim_end_matches('/').to_string()))
}

/// An http(s) origin (`https://app.example.com`, no path), as `postMessage` targets it.
fn origin(
    lookup: &impl Fn(&str) -> Option<String>,
    var: &'static str,
) -> Result<Option<String>, ConfigError> {
    let Some(raw) = lookup(var) else {
        return Ok(None);
    };
    let url =
        reqwest::Url::parse(raw.trim()).map_err(|_| invalid(var, "must be an http(s) origin"))?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host().is_none()
        || url.path() != "/"
        || url.query().is_some()
    {
        return Err(invalid(
            var,
            "must be an http(s) origin such as https://app.example.com, without a path",
        ));
    }
    Ok(Some(url.origin().ascii_serialization()))
}

fn validate_http_url(var: &'static str, url: &str) -> Result<(), ConfigError> {
    let ok = reqwest::Url::parse(url)
        .map(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err(invalid(var, "must be an http(s) URL"))
    }
}

fn webhook_config(lookup: &impl Fn(&str) -> Option<String>) -> Result<WebhookConfig, ConfigError> {
    let public_url = lookup("GIMBAL_PUBLIC_URL").map(|u| u.trim_end_matches('/').to_string());
    if let Some(url) = &public_url {
        validate_http_url("GIMBAL_PUBLIC_URL", url)?;
    }
    Ok(WebhookConfig {
        public_url,
        twilio_auth_token: lookup("TWILIO_AUTH_TOKEN").map(SecretString::from),
        sendgrid_public_key: lookup("SENDGRID_WEBHOOK_PUBLIC_KEY").map(|k| k.trim().to_string()),
        sendgrid_max_age_secs: parsed(lookup, "SENDGRID_WEBHOOK_MAX_AGE_SECS", 24 * 3600)?,
        auth_hook_secret: lookup("SUPABASE_AUTH_HOOK_SECRET").map(SecretString::from),
    })
}

fn invalid(var: &'static str, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        var,
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn base() -> HashMap<&'static str, &'static str> {
        HashMap::from([
            (
                "DATABASE_URL",
                "postgres://authenticator:pw@127.0.0.1/gimbal",
            ),
            ("SUPABASE_JWT_SECRET", "0123456789abcdef0123456789abcdef"),
            (
                "GIMBAL_ENCRYPTION_KEY",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            ),
        ])
    }

    fn load(values: &HashMap<&'static str, &'static str>) -> Result<Config, ConfigError> {
        Config::from_lookup(|k| values.get(k).map(|v| v.to_string()))
    }

    fn error_text(values: &HashMap<&'static str, &'static str>) -> String {
        load(values)
            .expect_err("configuration must be refused")
            .to_string()
    }

    #[test]
    fn minimal_configuration_loads_with_defaults() {
        let config = load(&base()).unwrap();
        assert_eq!(config.bind.to_string(), "127.0.0.1:8000");
        assert_eq!(config.body_limit_bytes, 1024 * 1024);
        assert_eq!(config.anon_statement_timeout, Duration::from_secs(3));
        assert_eq!(
            config.authenticated_statement_timeout,
            Duration::from_secs(8)
        );
        assert_eq!(config.path_prefix, "");
        assert_eq!(config.log_format, LogFormat::Json);
    }

    #[test]
    fn missing_database_url_is_named() {
        let mut values = base();
        values.remove("DATABASE_URL");
        assert!(error_text(&values).starts_with("DATABASE_URL is required"));
    }

    #[test]
    fn missing_encryption_key_is_named() {
        let mut values = base();
        values.remove("GIMBAL_ENCRYPTION_KEY");
        assert!(error_text(&values).starts_with("GIMBAL_ENCRYPTION_KEY is required"));
    }

    #[test]
    fn neither_jwt_secret_nor_supabase_url_is_refused() {
        let mut values = base();
        values.remove("SUPABASE_JWT_SECRET");
        assert!(error_text(&values).contains("SUPABASE_JWT_SECRET"));
        values.insert("SUPABASE_URL", "https://abc.supabase.co");
        assert!(load(&values).is_ok(), "JWKS alone is enough");
    }

    #[test]
    fn short_jwt_secret_is_refused_without_echoing_it() {
        let mut values = base();
        values.insert("SUPABASE_JWT_SECRET", "tooshort-secret");
        let text = error_text(&values);
        assert!(text.contains("SUPABASE_JWT_SECRET"));
        assert!(!text.contains("tooshort-secret"));
    }

    #[test]
    fn malformed_values_are_named() {
        for (var, value) in [
            ("GIMBAL_BIND", "not-an-address"),
            ("DATABASE_POOL_SIZE", "many"),
            ("GIMBAL_BODY_LIMIT_BYTES", "-1"),
            ("SUPABASE_URL", "ftp://example.com"),
            ("GIMBAL_PATH_PREFIX", "no-leading-slash"),
            ("GIMBAL_LOG_FORMAT", "xml"),
            ("TWILIO_API_URL", "api.twilio.com"),
            ("GIMBAL_IMPORT_MAX_BYTES", "lots"),
            ("GIMBAL_IMPORT_STATEMENT_TIMEOUT_SECS", "-5"),
            ("GIMBAL_GA4_API_URL", "ftp://example.com"),
            ("GIMBAL_OAUTH_REDIRECT_URL", "not a url"),
            ("GIMBAL_OAUTH_STATE_SECRET", "too-short"),
            ("GIMBAL_PUBLIC_URL", "not a url"),
            (
                "GIMBAL_OAUTH_OPENER_ORIGIN",
                "https://app.example.com/settings",
            ),
            ("GIMBAL_OAUTH_OPENER_ORIGIN", "app.example.com"),
        ] {
            let mut values = base();
            values.insert(var, value);
            assert!(
                error_text(&values).starts_with(&format!("{var} is invalid")),
                "{var}"
            );
        }
    }

    #[test]
    fn the_oauth_opener_origin_is_kept_as_an_origin() {
        let mut values = base();
        values.insert(
            "GIMBAL_OAUTH_OPENER_ORIGIN",
            "https://App.example.com:8443/",
        );
        assert_eq!(
            load(&values).unwrap().oauth_opener_origin.as_deref(),
            Some("https://app.example.com:8443")
        );
    }

    #[test]
    fn path_prefix_is_normalised() {
        let mut values = base();
        values.insert("GIMBAL_PATH_PREFIX", "/api/");
        assert_eq!(load(&values).unwrap().path_prefix, "/api");
    }

    #[test]
    fn secrets_do_not_appear_in_debug_output() {
        let config = load(&base()).unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("0123456789abcdef0123456789abcdef"));
        assert!(!debug.contains("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="));
        assert!(!debug.contains("authenticator:pw"));
    }

    #[test]
    fn jwks_url_follows_supabase_url() {
        let mut values = base();
        values.insert("SUPABASE_URL", "https://abc.supabase.co/");
        assert_eq!(
            load(&values).unwrap().jwks_url().unwrap(),
            "https://abc.supabase.co/auth/v1/.well-known/jwks.json"
        );
    }
}
