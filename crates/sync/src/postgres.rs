//! A PostgreSQL database as a source: one table, or one read-only query, read in keyset order of
//! a cursor column (plus the key columns as tie-breakers, so rows sharing a cursor value are
//! neither skipped nor read twice across pages). Every read runs in a `read only` transaction
//! with its own `statement_timeout`; connections use TLS as the URL's `sslmode` says.

use std::time::Duration;

use chrono::NaiveDate;
use gimbal_db::DbError;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio_postgres::{Client, types::ToSql};

use crate::{
    ConnectorError, Page, Position, Record, StreamInfo,
    connector::{ColumnInfo, Connector},
};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// `table` or `schema.table`; or give `query` instead.
    #[serde(default)]
    pub table: Option<String>,
    /// A single `select` (run inside a read-only transaction).
    #[serde(default)]
    pub query: Option<String>,
    pub cursor_column: String,
    /// Columns that identify a row (the natural key of the upsert).
    pub key_columns: Vec<String>,
    #[serde(default)]
    pub date_column: Option<String>,
    #[serde(default)]
    pub metric_columns: Vec<String>,
    #[serde(default = "default_page_size")]
    pub page_size: i64,
    #[serde(default = "default_timeout")]
    pub statement_timeout_secs: u64,
    #[serde(default)]
    pub stream: Option<String>,
}

fn default_page_size() -> i64 {
    5000
}

fn default_timeout() -> u64 {
    30
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

pub struct PostgresSource {
    config: PostgresConfig,
    url: SecretString,
}

impl PostgresSource {
    pub fn new(config: PostgresConfig, url: SecretString) -> Result<Self, ConnectorError> {
        Self::validate(&config)?;
        Ok(PostgresSource { config, url })
    }

    /// Checks the settings shared by SQL sources (PostgreSQL, MySQL).
    pub fn validate(config: &PostgresConfig) -> Result<(), ConnectorError> {
        match (&config.table, &config.query) {
            (Some(table), None) => {
                if table.split('.').count() > 2 || table.split('.').any(|p| !is_name(p)) {
                    return Err(ConnectorError::config(
                        "table",
                        "must be table or schema.table",
                    ));
                }
            }
            (None, Some(query)) => {
                let q = query.trim_start().to_ascii_lowercase();
                if !(q.starts_with("select") || q.starts_with("with")) {
                    return Err(ConnectorError::config("query", "must be a select"));
                }
            }
            _ => {
                return Err(ConnectorError::config(
                    "table",
                    "give either table or query",
                ));
            }
        }
        for (field, name) in std::iter::once(("cursor_column", &config.cursor_column))
            .chain(config.key_columns.iter().map(|k| ("key_columns", k)))
        {
            if !is_name(name) {
                return Err(ConnectorError::config(
                    field,
                    format!("{name:?} is not a column name"),
                ));
            }
        }
        if config.key_columns.is_empty() {
            return Err(ConnectorError::config("key_columns", "name at least one"));
        }
        if !(1..=100_000).contains(&config.page_size) {
            return Err(ConnectorError::config("page_size", "must be 1-100000"));
        }
        Ok(())
    }

    pub fn stream_name(&self) -> String {
        self.config
            .stream
            .clone()
            .or_else(|| self.config.table.clone())
            .unwrap_or_else(|| "query".into())
    }

    fn source_sql(&self) -> String {
        match (&self.config.table, &self.config.query) {
            (Some(table), _) => {
                let quoted: Vec<String> = table.split('.').map(quote).collect();
                format!("select * from {}", quoted.join("."))
            }
            (_, Some(query)) => query.trim().trim_end_matches(';').to_string(),
            _ => unreachable!("checked in new"),
        }
    }

    async fn client(&self) -> Result<Client, ConnectorError> {
        let connect = gimbal_db::pool::connect_once("url", self.url.expose_secret());
        tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .map_err(|_| {
                ConnectorError::Unreachable("no answer from the database host within 5 s".into())
            })?
            .map_err(db_error)
    }

    /// A read-only transaction with the source's statement timeout.
    async fn begin<'c>(
        &self,
        client: &'c mut Client,
    ) -> Result<tokio_postgres::Transaction<'c>, ConnectorError> {
        let tx = client
            .build_transaction()
            .read_only(true)
            .start()
            .await
            .map_err(pg_error)?;
        let timeout = format!("{}s", self.config.statement_timeout_secs);
        tx.execute(
            "select set_config('statement_timeout', $1, true)",
            &[&timeout],
        )
        .await
        .map_err(pg_error)?;
        Ok(tx)
    }

    fn record(&self, json: &str) -> Result<Record, ConnectorError> {
        let Value::Object(row) = serde_json::from_str::<Value>(json)
            .map_err(|e| ConnectorError::Provider(format!("row is not JSON: {e}")))?
        else {
            return Err(ConnectorError::Provider("row is not an object".into()));
        };
        let text = |v: Option<&Value>| match v {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        let key: Vec<String> = self
            .config
            .key_columns
            .iter()
            .map(|k| text(row.get(k)))
            .collect();
        let date = self
            .config
            .date_column
            .as_ref()
            .and_then(|c| row.get(c))
            .and_then(Value::as_str)
            .and_then(|s| NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok());
        let (mut dimensions, mut metrics) = (Map::new(), Map::new());
        for (name, value) in row {
            if self.config.metric_columns.contains(&name) {
                metrics.insert(name, value);
            } else {
                dimensions.insert(name, value);
            }
        }
        Ok(Record {
            key: key.join("|"),
            date,
            dimensions,
            metrics,
        })
    }
}

fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

fn db_error(err: DbError) -> ConnectorError {
    match err {
        DbError::PermissionDenied => {
            ConnectorError::PermissionDenied("the database refused access".into())
        }
        DbError::Timeout => {
            ConnectorError::Timeout("the query exceeded statement_timeout_secs".into())
        }
        DbError::Unavailable(_) => {
            ConnectorError::Unreachable("cannot connect to the database host".into())
        }
        // tokio-postgres's Kind::Connect: refused, no route, DNS failure.
        DbError::Other(detail) if detail.starts_with("error connecting to server") => {
            ConnectorError::Unreachable("cannot connect to the database host".into())
        }
        DbError::Other(detail) if detail.starts_with("28") => {
            ConnectorError::AuthFailed("the database refused the user name or password".into())
        }
        DbError::Other(detail) if detail.starts_with("3D000") => {
            ConnectorError::config("url", "the database named in the URL does not exist")
        }
        DbError::Other(detail) if detail.starts_with("42P01") || detail.starts_with("42703") => {
            ConnectorError::config("table", detail)
        }
        DbError::Other(detail) if detail.starts_with("42") => {
            ConnectorError::config("query", detail)
        }
        other => ConnectorError::Provider(other.to_string()),
    }
}

fn pg_error(err: tokio_postgres::Error) -> ConnectorError {
    db_error(err.into())
}

impl Connector for PostgresSource {
    async fn test(&self) -> Result<(), ConnectorError> {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        tx.query(
            &format!("select * from ({}) q limit 0", self.source_sql()),
            &[],
        )
        .await
        .map_err(pg_error)?;
        Ok(())
    }

    async fn discover(&self) -> Result<Vec<StreamInfo>, ConnectorError> {
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let probe = tx
            .prepare(&format!("select * from ({}) q limit 0", self.source_sql()))
            .await
            .map_err(pg_error)?;
        let columns = probe
            .columns()
            .iter()
            .map(|c| ColumnInfo {
                name: c.name().to_string(),
                data_type: c.type_().name().to_string(),
                metric: self.config.metric_columns.iter().any(|m| m == c.name()),
                label: None,
            })
            .collect();
        Ok(vec![StreamInfo {
            name: self.stream_name(),
            columns,
            cursor: Some(self.config.cursor_column.clone()),
        }])
    }

    async fn preview(&self, stream: &str, limit: usize) -> Result<Vec<Record>, ConnectorError> {
        if stream != self.stream_name() {
            return Err(ConnectorError::UnknownStream(stream.into()));
        }
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let limit = i64::try_from(limit.clamp(1, 100)).unwrap_or(100);
        let rows = tx
            .query(
                &format!(
                    "select row_to_json(q)::text from ({}) q limit $1",
                    self.source_sql()
                ),
                &[&limit],
            )
            .await
            .map_err(pg_error)?;
        rows.iter().map(|r| self.record(r.get(0))).collect()
    }

    fn start(&self, stream: &str, cursor: Option<&Value>) -> Result<Position, ConnectorError> {
        if stream != self.stream_name() {
            return Err(ConnectorError::UnknownStream(stream.into()));
        }
        Ok(json!({"after": cursor.and_then(|c| c.get("after")).cloned()}))
    }

    async fn read_page(&self, stream: &str, position: &Position) -> Result<Page, ConnectorError> {
        if stream != self.stream_name() {
            return Err(ConnectorError::UnknownStream(stream.into()));
        }
        let order: Vec<&String> = std::iter::once(&self.config.cursor_column)
            .chain(
                self.config
                    .key_columns
                    .iter()
                    .filter(|k| **k != self.config.cursor_column),
            )
            .collect();
        let after: Option<Vec<String>> = position
            .get("after")
            .filter(|a| !a.is_null())
            .map(|a| serde_json::from_value(a.clone()))
            .transpose()
            .map_err(|e| ConnectorError::Provider(format!("bad position: {e}")))?;
        let mut client = self.client().await?;
        let tx = self.begin(&mut client).await?;
        let source = self.source_sql();
        // The key's types, so the saved text values compare as what they are.
        let probe = tx
            .prepare(&format!(
                "select {} from ({source}) q limit 0",
                columns_list(&order)
            ))
            .await
            .map_err(pg_error)?;
        let types: Vec<String> = probe
            .columns()
            .iter()
            .map(|c| c.type_().name().to_string())
            .collect();
        let texts: Vec<String> = order
            .iter()
            .map(|c| format!("q.{}::text", quote(c)))
            .collect();
        let mut sql = format!(
            "select row_to_json(q)::text, {} from ({source}) q",
            texts.join(", ")
        );
        let mut params: Vec<&(dyn ToSql + Sync)> = Vec::new();
        if let Some(after) = &after {
            if after.len() != order.len() {
                return Err(ConnectorError::Provider(
                    "saved position does not match the key columns".into(),
                ));
            }
            let placeholders: Vec<String> = types
                .iter()
                .enumerate()
                .map(|(i, t)| format!("${}::text::{t}", i + 1))
                .collect();
            sql.push_str(&format!(
                " where ({}) > ({})",
                order
                    .iter()
                    .map(|c| format!("q.{}", quote(c)))
                    .collect::<Vec<_>>()
                    .join(", "),
                placeholders.join(", ")
            ));
            params.extend(after.iter().map(|v| v as &(dyn ToSql + Sync)));
        }
        let order_by: Vec<String> = order.iter().map(|c| format!("q.{}", quote(c))).collect();
        sql.push_str(&format!(
            " order by {} limit {}",
            order_by.join(", "),
            self.config.page_size
        ));
        let rows = tx.query(&sql, &params).await.map_err(pg_error)?;
        let records = rows
            .iter()
            .map(|r| self.record(r.get(0)))
            .collect::<Result<Vec<_>, _>>()?;
        let last = rows.last().map(|r| {
            (1..=order.len())
                .map(|i| r.get::<_, Option<String>>(i).unwrap_or_default())
                .collect::<Vec<_>>()
        });
        let full = rows.len() as i64 == self.config.page_size;
        let next = last.as_ref().filter(|_| full).map(|l| json!({"after": l}));
        Ok(Page {
            records,
            next,
            cursor: last.map(|l| json!({"after": l})),
        })
    }
}

fn columns_list(columns: &[&String]) -> String {
    columns
        .iter()
        .map(|c| format!("q.{}", quote(c)))
        .collect::<Vec<_>>()
        .join(", ")
}
