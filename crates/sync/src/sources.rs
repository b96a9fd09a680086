//! Building a source's connector from its row: kind, non-secret configuration, and the
//! credentials decrypted from `secrets`. Provider endpoints come from the deployment's
//! configuration, never from a source's own settings, so a source cannot send its tokens to a
//! host of its choosing.

use secrecy::SecretString;
use serde_json::Value;

use crate::{
    Backoff, ConnectorError, Page, Position, Record, StreamInfo,
    connector::Connector,
    ga4::{Ga4, Ga4Config},
    meta::{Meta, MetaConfig},
    mysql::{MysqlSource, MysqlTls},
    oauth::{Credentials, GA4_SCOPE, TokenSource},
    postgres::{PostgresConfig, PostgresSource},
    rest::{RestConfig, RestSource},
};

/// Where the providers live (overridden in tests and for regional endpoints).
#[derive(Clone, Debug)]
pub struct ProviderUrls {
    pub ga4_api: String,
    pub google_token: String,
    pub meta_graph: String,
    pub meta_token: String,
}

impl ProviderUrls {
    /// The defaults with any of the deployment's overrides applied.
    pub fn with_overrides(
        ga4_api: Option<&str>,
        google_token: Option<&str>,
        meta_graph: Option<&str>,
    ) -> Self {
        let mut urls = ProviderUrls::default();
        if let Some(u) = ga4_api {
            urls.ga4_api = u.to_string();
        }
        if let Some(u) = google_token {
            urls.google_token = u.to_string();
        }
        if let Some(u) = meta_graph {
            urls.meta_graph = u.to_string();
            urls.meta_token = format!("{u}/v19.0/oauth/access_token");
        }
        urls
    }
}

impl Default for ProviderUrls {
    fn default() -> Self {
        ProviderUrls {
            ga4_api: "https://analyticsdata.googleapis.com".into(),
            google_token: "https://oauth2.googleapis.com/token".into(),
            meta_graph: "https://graph.facebook.com".into(),
            meta_token: "https://graph.facebook.com/v19.0/oauth/access_token".into(),
        }
    }
}

/// Every connector this build knows, behind one type.
pub enum AnyConnector {
    Ga4(Ga4),
    Meta(Meta),
    Postgres(PostgresSource),
    Rest(RestSource),
    Mysql(MysqlSource),
}

/// What a connector is built from.
pub struct SourceSpec<'a> {
    pub kind: &'a str,
    pub config: &'a Value,
    pub credentials: Option<Value>,
}

pub fn build(
    spec: SourceSpec<'_>,
    urls: &ProviderUrls,
    http: &reqwest::Client,
    backoff: Backoff,
) -> Result<AnyConnector, ConnectorError> {
    let credentials = || -> Result<Value, ConnectorError> {
        spec.credentials.clone().ok_or_else(|| {
            ConnectorError::config("credentials", "the source has no stored credentials")
        })
    };
    match spec.kind {
        "ga4" => {
            let config: Ga4Config = parse_config(spec.config)?;
            let tokens = TokenSource::new(
                parse_credentials(credentials()?)?,
                &urls.google_token,
                GA4_SCOPE,
            );
            Ok(AnyConnector::Ga4(Ga4::new(
                config,
                &urls.ga4_api,
                tokens,
                http.clone(),
                backoff,
            )?))
        }
        "meta" => {
            let config: MetaConfig = parse_config(spec.config)?;
            let tokens = TokenSource::new(parse_credentials(credentials()?)?, &urls.meta_token, "");
            Ok(AnyConnector::Meta(Meta::new(
                config,
                &urls.meta_graph,
                tokens,
                http.clone(),
                backoff,
            )?))
        }
        "postgres" => {
            let config: PostgresConfig = parse_config(spec.config)?;
            let url = credentials()?
                .get("url")
                .and_then(Value::as_str)
                .map(|u| SecretString::from(u.to_string()))
                .ok_or_else(|| {
                    ConnectorError::config("credentials", "a postgres source needs {\"url\": …}")
                })?;
            Ok(AnyConnector::Postgres(PostgresSource::new(config, url)?))
        }
        "mysql" => {
            let config: PostgresConfig = parse_config(spec.config)?;
            let credentials = credentials()?;
            let url = credentials
                .get("url")
                .and_then(Value::as_str)
                .map(|u| SecretString::from(u.to_string()))
                .ok_or_else(|| {
                    ConnectorError::config("credentials", "a mysql source needs {\"url\": …}")
                })?;
            let tls = MysqlTls::from_credentials(&credentials)?;
            Ok(AnyConnector::Mysql(MysqlSource::new(config, url, tls)?))
        }
        "rest" => {
            let config: RestConfig = parse_config(spec.config)?;
            Ok(AnyConnector::Rest(RestSource::new(
                config,
                spec.credentials.as_ref(),
                http.clone(),
                backoff,
            )?))
        }
        other => Err(ConnectorError::config(
            "kind",
            format!(
                "{other:?} sources cannot be synced by this build (csv files are uploaded with import-csv)"
            ),
        )),
    }
}

fn parse_config<T: serde::de::DeserializeOwned>(config: &Value) -> Result<T, ConnectorError> {
    serde_json::from_value(config.clone())
        .map_err(|e| ConnectorError::config("config", e.to_string()))
}

fn parse_credentials(value: Value) -> Result<Credentials, ConnectorError> {
    // The message never echoes the value: it is a secret.
    serde_json::from_value(value).map_err(|_| {
        ConnectorError::config(
            "credentials",
            "expected {access_token}, {client_id, client_secret, refresh_token} or a service account",
        )
    })
}

impl AnyConnector {
    /// The stream a sync reads (each source is configured for one).
    pub fn stream(&self) -> String {
        match self {
            AnyConnector::Ga4(c) => c.stream_name().to_string(),
            AnyConnector::Meta(c) => c.stream_name(),
            AnyConnector::Postgres(c) => c.stream_name(),
            AnyConnector::Rest(c) => c.stream_name(),
            AnyConnector::Mysql(c) => c.stream_name(),
        }
    }
}

impl Connector for AnyConnector {
    async fn test(&self) -> Result<(), ConnectorError> {
        match self {
            AnyConnector::Ga4(c) => c.test().await,
            AnyConnector::Meta(c) => c.test().await,
            AnyConnector::Postgres(c) => c.test().await,
            AnyConnector::Rest(c) => c.test().await,
            AnyConnector::Mysql(c) => c.test().await,
        }
    }

    async fn discover(&self) -> Result<Vec<StreamInfo>, ConnectorError> {
        match self {
            AnyConnector::Ga4(c) => c.discover().await,
            AnyConnector::Meta(c) => c.discover().await,
            AnyConnector::Postgres(c) => c.discover().await,
            AnyConnector::Rest(c) => c.discover().await,
            AnyConnector::Mysql(c) => c.discover().await,
        }
    }

    async fn preview(&self, stream: &str, limit: usize) -> Result<Vec<Record>, ConnectorError> {
        match self {
            AnyConnector::Ga4(c) => c.preview(stream, limit).await,
            AnyConnector::Meta(c) => c.preview(stream, limit).await,
            AnyConnector::Postgres(c) => c.preview(stream, limit).await,
            AnyConnector::Rest(c) => c.preview(stream, limit).await,
            AnyConnector::Mysql(c) => c.preview(stream, limit).await,
        }
    }

    fn start(&self, stream: &str, cursor: Option<&Value>) -> Result<Position, ConnectorError> {
        match self {
            AnyConnector::Ga4(c) => c.start(stream, cursor),
            AnyConnector::Meta(c) => c.start(stream, cursor),
            AnyConnector::Postgres(c) => c.start(stream, cursor),
            AnyConnector::Rest(c) => c.start(stream, cursor),
            AnyConnector::Mysql(c) => c.start(stream, cursor),
        }
    }

    async fn read_page(&self, stream: &str, position: &Position) -> Result<Page, ConnectorError> {
        match self {
            AnyConnector::Ga4(c) => c.read_page(stream, position).await,
            AnyConnector::Meta(c) => c.read_page(stream, position).await,
            AnyConnector::Postgres(c) => c.read_page(stream, position).await,
            AnyConnector::Rest(c) => c.read_page(stream, position).await,
            AnyConnector::Mysql(c) => c.read_page(stream, position).await,
        }
    }
}
