//! A MySQL or MariaDB database as a source, read exactly like PostgreSQL sources: one table or
//! one read-only query, in keyset order of a cursor column plus the key columns, in a
//! `read only` transaction with a per-statement time limit (`max_statement_time` on MariaDB,
//! `max_execution_time` on MySQL). Connections use TLS (rustls) as `ssl_mode` says, with the
//! modes and meaning of MySQL's own client: `disabled`; `preferred` (the default: encrypted
//! when the server offers it, certificate not checked); `required` (encrypted or fail,
//! certificate not checked); `verify_ca` (the certificate must chain to `ssl_ca`, or to the
//! public web roots without one); `verify_identity` (and name the host connected to).

use std::time::Duration;

use chrono::NaiveDate;
use mysql_async::{
    Conn, DriverError, IoError, Opts, OptsBuilder, Row, SslOpts, TlsError, Value as My,
    prelude::Queryable,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Map, Number, Value, json};

use crate::{
    ConnectorError, Page, Position, Record, StreamInfo,
    connector::{ColumnInfo, Connector},
    postgres::PostgresConfig as SqlConfig,
};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How a connection is secured; the names of MySQL's `--ssl-mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SslMode {
    Disabled,
    #[default]
    Preferred,
    Required,
    VerifyCa,
    VerifyIdentity,
}

/// TLS settings, stored with the source's credentials (`ssl_mode`, `ssl_ca`).
#[derive(Clone, Debug, Default)]
pub struct MysqlTls {
    pub mode: SslMode,
    /// PEM certificate(s) of the CA the server's certificate must chain to; replaces the
    /// public web roots.
    pub ca_pem: Option<String>,
}

impl MysqlTls {
    /// From `{"ssl_mode": "verify_ca", "ssl_ca": "-----BEGIN CERTIFICATE-----…"}` (both optional).
    pub fn from_credentials(credentials: &Value) -> Result<Self, ConnectorError> {
        let mode = match credentials.get("ssl_mode") {
            None | Some(Value::Null) => SslMode::default(),
            Some(value) => serde_json::from_value(value.clone()).map_err(|_| {
                ConnectorError::config(
                    "ssl_mode",
                    "must be disabled, preferred, required, verify_ca or verify_identity",
                )
            })?,
        };
        let ca_pem = match credentials.get("ssl_ca") {
            None | Some(Value::Null) => None,
            Some(Value::String(pem)) if pem.contains("-----BEGIN CERTIFICATE-----") => {
                Some(pem.clone())
            }
            Some(_) => {
                return Err(ConnectorError::config(
                    "ssl_ca",
                    "must be the CA certificate in PEM form (-----BEGIN CERTIFICATE-----…)",
                ));
            }
        };
        if ca_pem.is_some() && !matches!(mode, SslMode::VerifyCa | SslMode::VerifyIdentity) {
            return Err(ConnectorError::config(
                "ssl_mode",
                "ssl_ca is only used with verify_ca or verify_identity",
            ));
        }
        Ok(MysqlTls { mode, ca_pem })
    }

    /// The driver's TLS options for a mode that encrypts.
    fn ssl_opts(&self) -> Option<SslOpts> {
        let opts = SslOpts::default();
        let verified = |opts: SslOpts| match &self.ca_pem {
            Some(pem) => opts
                .with_root_certs(vec![pem.as_bytes().to_vec().into()])
                .with_disable_built_in_roots(true),
            None => opts,
        };
        match self.mode {
            SslMode::Disabled => None,
            SslMode::Preferred | SslMode::Required => {
                Some(opts.with_danger_accept_invalid_certs(true))
            }
            SslMode::VerifyCa => Some(verified(opts).with_danger_skip_domain_validation(true)),
            SslMode::VerifyIdentity => Some(verified(opts)),
        }
    }
}

pub struct MysqlSource {
    config: SqlConfig,
    url: SecretString,
    tls: MysqlTls,
}

impl MysqlSource {
    /// Same settings as a PostgreSQL source: `table` or `query`, cursor and key columns.
    pub fn new(
        config: SqlConfig,
        url: SecretString,
        tls: MysqlTls,
    ) -> Result<Self, ConnectorError> {
        crate::postgres::PostgresSource::validate(&config)?;
        Opts::from_url(url.expose_secret()).map_err(|_| {
            ConnectorError::config(
                "credentials",
                "url must look like mysql://user:password@host:3306/db",
            )
        })?;
        Ok(MysqlSource { config, url, tls })
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

    /// A connection inside a read-only transaction with the statement time limit set.
    async fn conn(&self) -> Result<Conn, ConnectorError> {
        let opts = Opts::from_url(self.url.expose_secret())
            .map_err(|_| ConnectorError::config("credentials", "url is not a MySQL URL"))?;
        let connect = async {
            let secured = OptsBuilder::from_opts(opts.clone()).ssl_opts(self.tls.ssl_opts());
            match Conn::new(secured).await {
                // `preferred` settles for a plain connection to a server that offers no TLS.
                Err(mysql_async::Error::Driver(DriverError::NoClientSslFlagFromServer))
                    if self.tls.mode == SslMode::Preferred =>
                {
                    Conn::new(OptsBuilder::from_opts(opts).ssl_opts(None::<SslOpts>)).await
                }
                // `verify_ca`: the chain held and only the name differed; verify again, fully,
                // against a name the certificate carries.
                Err(e) if self.tls.mode == SslMode::VerifyCa => match certificate_dns_name(&e) {
                    Some(name) => {
                        let ssl = self
                            .tls
                            .ssl_opts()
                            .map(|o| o.with_danger_tls_hostname_override(Some(name)));
                        Conn::new(OptsBuilder::from_opts(opts).ssl_opts(ssl)).await
                    }
                    None => Err(e),
                },
                other => other,
            }
        };
        let mut conn = tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .map_err(|_| {
                ConnectorError::Unreachable("no answer from the database host within 5 s".into())
            })?
            .map_err(my_error)?;
        let secs = self.config.statement_timeout_secs;
        // One of the two exists, depending on the server; the other is an unknown variable.
        let _ = conn
            .query_drop(format!("set session max_statement_time = {secs}"))
            .await;
        let _ = conn
            .query_drop(format!("set session max_execution_time = {}", secs * 1000))
            .await;
        conn.query_drop("start transaction read only")
            .await
            .map_err(my_error)?;
        Ok(conn)
    }

    fn record(&self, row: &Row, skip_tail: usize) -> Record {
        let columns = row.columns_ref();
        let mut object = Map::new();
        for (i, column) in columns.iter().enumerate().take(columns.len() - skip_tail) {
            let value = row.as_ref(i).map_or(Value::Null, json_value);
            object.insert(column.name_str().into_owned(), value);
        }
        let text = |k: &str| match object.get(k) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        let key: Vec<String> = self.config.key_columns.iter().map(|k| text(k)).collect();
        let date = self
            .config
            .date_column
            .as_deref()
            .and_then(|c| NaiveDate::parse_from_str(text(c).get(..10)?, "%Y-%m-%d").ok());
        let (mut dimensions, mut metrics) = (Map::new(), Map::new());
        for (name, value) in object {
            if self.config.metric_columns.contains(&name) {
                metrics.insert(name, value);
            } else {
                dimensions.insert(name, value);
            }
        }
        Record {
            key: key.join("|"),
            date,
            dimensions,
            metrics,
        }
    }
}

fn quote(identifier: &str) -> String {
    format!("`{}`", identifier.replace('`', "``"))
}

/// A MySQL value as JSON: numbers stay numbers, dates become ISO text.
fn json_value(value: &My) -> Value {
    match value {
        My::NULL => Value::Null,
        My::Int(n) => json!(n),
        My::UInt(n) => json!(n),
        My::Float(f) => Number::from_f64(f64::from(*f)).map_or(Value::Null, Value::Number),
        My::Double(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
        My::Bytes(bytes) => {
            let text = String::from_utf8_lossy(bytes).into_owned();
            // Decimals arrive as text; keep them exact but numeric in JSON when they fit.
            match text.parse::<f64>() {
                Ok(n)
                    if text
                        .bytes()
                        .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-') =>
                {
                    Number::from_f64(n).map_or(Value::String(text), Value::Number)
                }
                _ => Value::String(text),
            }
        }
        My::Date(y, m, d, 0, 0, 0, 0) => json!(format!("{y:04}-{m:02}-{d:02}")),
        My::Date(y, m, d, h, i, s, us) => {
            json!(format!("{y:04}-{m:02}-{d:02} {h:02}:{i:02}:{s:02}.{us:06}"))
        }
        My::Time(neg, d, h, i, s, _) => {
            json!(format!(
                "{}{:02}:{i:02}:{s:02}",
                if *neg { "-" } else { "" },
                u32::from(*h) + d * 24
            ))
        }
    }
}

fn my_error(err: mysql_async::Error) -> ConnectorError {
    match err {
        mysql_async::Error::Server(e) => match e.code {
            1045 => {
                ConnectorError::AuthFailed("the database refused the user name or password".into())
            }
            1044 | 1142 | 1143 | 1227 => ConnectorError::PermissionDenied(e.message),
            1049 => ConnectorError::config(
                "credentials",
                "the database named in the URL does not exist",
            ),
            1146 | 1054 => ConnectorError::config("table", e.message),
            1064 => ConnectorError::config("query", e.message),
            1969 | 3024 => {
                ConnectorError::Timeout("the query exceeded statement_timeout_secs".into())
            }
            1792 => ConnectorError::PermissionDenied(
                "the query tried to write in a read-only read".into(),
            ),
            _ => ConnectorError::Provider(format!("MySQL error {}: {}", e.code, e.message)),
        },
        mysql_async::Error::Driver(DriverError::NoClientSslFlagFromServer) => ConnectorError::Tls(
            "the server does not offer TLS; enable it on the server, or use ssl_mode=preferred or disabled".into(),
        ),
        mysql_async::Error::Io(IoError::Tls(e)) => tls_error(&e),
        mysql_async::Error::Io(IoError::Io(e)) if handshake_error(&e).is_some() => {
            tls_error_message(handshake_error(&e).expect("checked"))
        }
        mysql_async::Error::Io(_) => {
            ConnectorError::Unreachable("cannot connect to the database host".into())
        }
        other => ConnectorError::Provider(other.to_string()),
    }
}

/// The rustls error of a handshake that failed inside the TLS stream (where the driver reports
/// it as an I/O error).
fn handshake_error(err: &std::io::Error) -> Option<&rustls::Error> {
    err.get_ref()?.downcast_ref::<rustls::Error>()
}

/// For `verify_ca`: the DNS name on a certificate that was refused only for its name. webpki
/// checks the chain before the name, so this error means the chain to `ssl_ca` held.
/// (mysql_async's own "skip domain validation" looks for the text `NotValidForName` in the
/// error, which rustls 0.23 no longer writes, so it cannot be relied on.)
fn certificate_dns_name(err: &mysql_async::Error) -> Option<String> {
    use rustls::{CertificateError, Error as Rustls};
    let mysql_async::Error::Io(IoError::Io(io)) = err else {
        return None;
    };
    let Rustls::InvalidCertificate(CertificateError::NotValidForNameContext { presented, .. }) =
        handshake_error(io)?
    else {
        return None;
    };
    presented.iter().find_map(|name| {
        let name = name.strip_prefix("DnsName(\"")?.strip_suffix("\")")?;
        // A wildcard certificate is valid for any one label in its place.
        Some(match name.strip_prefix("*.") {
            Some(rest) => format!("gimbal-verify-ca.{rest}"),
            None => name.to_string(),
        })
    })
}

/// What a failed handshake means for the person setting the source up.
fn tls_error(err: &TlsError) -> ConnectorError {
    match err {
        TlsError::Tls(e) => tls_error_message(e),
        TlsError::Pem(_) => ConnectorError::Tls("ssl_ca is not a readable PEM certificate".into()),
        other => ConnectorError::Tls(format!("the TLS handshake failed: {other}")),
    }
}

fn tls_error_message(err: &rustls::Error) -> ConnectorError {
    use rustls::{CertificateError, Error as Rustls};
    let message = match err {
        Rustls::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "the server's certificate is not signed by the CA in ssl_ca (or by a public CA when \
             none is given); check ssl_ca"
                .to_string()
        }
        Rustls::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => "the server's certificate does not name the host in the URL; connect by the name \
               it was issued for, or use ssl_mode=verify_ca"
            .to_string(),
        Rustls::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        ) => "the server's certificate has expired".to_string(),
        other => format!("the TLS handshake failed: {other}"),
    };
    ConnectorError::Tls(message)
}

impl Connector for MysqlSource {
    async fn test(&self) -> Result<(), ConnectorError> {
        let mut conn = self.conn().await?;
        conn.query_drop(format!("select * from ({}) q limit 0", self.source_sql()))
            .await
            .map_err(my_error)
    }

    async fn discover(&self) -> Result<Vec<StreamInfo>, ConnectorError> {
        let mut conn = self.conn().await?;
        let statement = conn
            .prep(format!("select * from ({}) q limit 0", self.source_sql()))
            .await
            .map_err(my_error)?;
        let columns = statement
            .columns()
            .iter()
            .map(|c| ColumnInfo {
                name: c.name_str().into_owned(),
                data_type: format!("{:?}", c.column_type())
                    .trim_start_matches("MYSQL_TYPE_")
                    .to_lowercase(),
                metric: self
                    .config
                    .metric_columns
                    .iter()
                    .any(|m| *m == c.name_str()),
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
        let mut conn = self.conn().await?;
        let rows: Vec<Row> = conn
            .exec(
                format!("select * from ({}) q limit ?", self.source_sql()),
                (limit.clamp(1, 100) as u64,),
            )
            .await
            .map_err(my_error)?;
        Ok(rows.iter().map(|r| self.record(r, 0)).collect())
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
        let columns: Vec<String> = order.iter().map(|c| format!("q.{}", quote(c))).collect();
        // The key as text, after the row's own columns, to be saved as the position.
        let texts: Vec<String> = columns
            .iter()
            .map(|c| format!("cast({c} as char)"))
            .collect();
        let mut sql = format!(
            "select q.*, {} from ({}) q",
            texts.join(", "),
            self.source_sql()
        );
        let mut params: Vec<My> = Vec::new();
        if let Some(after) = &after {
            if after.len() != order.len() {
                return Err(ConnectorError::Provider(
                    "saved position does not match the key columns".into(),
                ));
            }
            let marks = vec!["?"; order.len()].join(", ");
            sql.push_str(&format!(" where ({}) > ({marks})", columns.join(", ")));
            params.extend(after.iter().map(|v| My::from(v.as_str())));
        }
        sql.push_str(&format!(
            " order by {} limit {}",
            columns.join(", "),
            self.config.page_size
        ));
        let mut conn = self.conn().await?;
        let rows: Vec<Row> = conn.exec(sql, params).await.map_err(my_error)?;
        let records: Vec<Record> = rows.iter().map(|r| self.record(r, order.len())).collect();
        let last = rows.last().map(|r| {
            let width = r.columns_ref().len();
            (width - order.len()..width)
                .map(|i| match r.as_ref(i) {
                    Some(My::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
                    Some(other) => json_value(other).to_string(),
                    None => String::new(),
                })
                .collect::<Vec<_>>()
        });
        let full = rows.len() as i64 == self.config.page_size;
        Ok(Page {
            records,
            next: last.as_ref().filter(|_| full).map(|l| json!({"after": l})),
            cursor: last.map(|l| json!({"after": l})),
        })
    }
}
