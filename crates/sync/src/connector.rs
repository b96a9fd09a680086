//! The connector model. Every source can test its connection, discover the streams it offers
//! (with their columns and types), preview a few rows, and read a stream incrementally.
//!
//! Reading is pull-based, one page at a time: [`Connector::start`] turns the cursor saved by
//! the last successful run into a starting [`Position`] (re-reading a lookback window where the
//! provider revises recent data), and [`Connector::read_page`] returns the records of one page
//! with the position of the next. The sync runner stores each page and the next position in one
//! transaction, so a run that is killed resumes exactly where its last page was committed.

use std::future::Future;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// Opaque, connector-specific place in a stream (a page offset, a next-page URL, a key).
pub type Position = Value;

/// One record, already in the shape every dashboard reads: a natural key unique within the
/// stream, the day it belongs to, and its dimensions and metrics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Record {
    pub key: String,
    pub date: Option<NaiveDate>,
    #[schema(value_type = Object)]
    pub dimensions: Map<String, Value>,
    #[schema(value_type = Object)]
    pub metrics: Map<String, Value>,
}

/// A column a stream offers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ColumnInfo {
    pub name: String,
    /// The source's own type name (`TYPE_INTEGER`, `numeric`, `string`…).
    #[serde(rename = "type")]
    pub data_type: String,
    /// Whether the column is a metric (summable) rather than a dimension.
    pub metric: bool,
    /// The name people know it by, when the source has one (GA4's `uiName`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// A stream a source offers: a report, a table, an endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StreamInfo {
    pub name: String,
    pub columns: Vec<ColumnInfo>,
    /// The column incremental reads continue from, when there is one.
    pub cursor: Option<String>,
}

/// One page of a stream.
#[derive(Clone, Debug, Default)]
pub struct Page {
    pub records: Vec<Record>,
    /// Where the next page starts; `None` when the stream is read to the end.
    pub next: Option<Position>,
    /// The cursor to save once the run completes (set on the last page, or as it advances).
    pub cursor: Option<Value>,
}

/// Why a connector call failed, in terms a person connecting a source can act on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConnectorError {
    #[error("authentication failed: {0}")]
    AuthFailed(String),
    #[error("host unreachable: {0}")]
    Unreachable(String),
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The provider's quota or rate limit; retry no sooner than `retry_after_secs`.
    #[error("quota exhausted: {message}")]
    Quota {
        message: String,
        retry_after_secs: Option<u64>,
    },
    #[error("timed out: {0}")]
    Timeout(String),
    /// The encrypted connection could not be set up or its certificate was refused.
    #[error("TLS failed: {0}")]
    Tls(String),
    /// The source's configuration is wrong; `field` names the setting.
    #[error("{field}: {message}")]
    Config { field: String, message: String },
    #[error("no stream {0:?}")]
    UnknownStream(String),
    /// Anything else the provider answered, with its own words.
    #[error("the source answered: {0}")]
    Provider(String),
}

impl ConnectorError {
    pub fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        ConnectorError::Config {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A stable machine-readable kind for clients.
    pub fn kind(&self) -> &'static str {
        match self {
            ConnectorError::AuthFailed(_) => "auth_failed",
            ConnectorError::Unreachable(_) => "host_unreachable",
            ConnectorError::PermissionDenied(_) => "permission_denied",
            ConnectorError::Quota { .. } => "quota",
            ConnectorError::Timeout(_) => "timeout",
            ConnectorError::Tls(_) => "tls_failed",
            ConnectorError::Config { .. } => "invalid_config",
            ConnectorError::UnknownStream(_) => "unknown_stream",
            ConnectorError::Provider(_) => "provider_error",
        }
    }

    /// Whether running again later may succeed (quota, network, the provider's 5xx).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ConnectorError::Quota { .. }
                | ConnectorError::Unreachable(_)
                | ConnectorError::Timeout(_)
                | ConnectorError::Provider(_)
        )
    }
}

/// What every source can do. Implementations are cheap to build per run from the source's
/// configuration and decrypted credentials.
pub trait Connector: Send + Sync {
    /// Checks that the source is reachable and the credentials work, cheaply.
    fn test(&self) -> impl Future<Output = Result<(), ConnectorError>> + Send;

    /// The streams this source offers, with their columns.
    fn discover(&self) -> impl Future<Output = Result<Vec<StreamInfo>, ConnectorError>> + Send;

    /// Up to `limit` records of `stream`, without saving anything.
    fn preview(
        &self,
        stream: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Record>, ConnectorError>> + Send;

    /// Where a run starts, given the cursor the last successful run saved.
    fn start(&self, stream: &str, cursor: Option<&Value>) -> Result<Position, ConnectorError>;

    /// One page from `position`.
    fn read_page(
        &self,
        stream: &str,
        position: &Position,
    ) -> impl Future<Output = Result<Page, ConnectorError>> + Send;
}

/// Maps a reqwest failure to what a person can act on.
pub fn transport_error(err: &reqwest::Error) -> ConnectorError {
    if err.is_timeout() {
        ConnectorError::Timeout("the source did not answer in time".into())
    } else if err.is_connect() {
        ConnectorError::Unreachable("cannot connect to the source's host".into())
    } else {
        ConnectorError::Provider("the request failed before an answer arrived".into())
    }
}
