//! Google Analytics 4 through the Data API's `runReport`. One stream, `report`: the configured
//! dimensions (always including `date`) and metrics, read day range by day range in pages of
//! `offset`/`limit` until `rowCount`. The cursor is the last day read; each run re-reads a
//! lookback window (2 days by default) because GA revises recent data, and upserts on the
//! dimension values, so re-reading never duplicates.

use chrono::{Duration as Days, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::{
    Backoff, ConnectorError, Page, Position, Record, StreamInfo,
    backoff::retry_after,
    connector::{ColumnInfo, Connector, transport_error},
    oauth::TokenSource,
};

pub const STREAM: &str = "report";

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ga4Config {
    pub property_id: String,
    #[serde(default)]
    pub dimensions: Vec<String>,
    pub metrics: Vec<String>,
    /// First day ever read.
    pub start_date: NaiveDate,
    /// Last day read (default: today, UTC).
    #[serde(default)]
    pub end_date: Option<NaiveDate>,
    #[serde(default = "default_lookback")]
    pub lookback_days: i64,
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    #[serde(default)]
    pub stream: Option<String>,
    /// Stop before the property's hourly or daily tokens fall below this (a report costs ~10).
    #[serde(default = "default_min_tokens")]
    pub min_quota_tokens: i64,
}

fn default_min_tokens() -> i64 {
    50
}

fn default_lookback() -> i64 {
    2
}

fn default_page_size() -> u32 {
    10_000
}

pub struct Ga4 {
    config: Ga4Config,
    api_url: String,
    tokens: TokenSource,
    http: reqwest::Client,
    backoff: Backoff,
    /// Set when the last answer's `propertyQuota` ran low: the next call waits for the job's
    /// retry instead of spending the property's last tokens (or running into 429).
    quota_low: std::sync::Mutex<Option<(String, u64)>>,
}

impl Ga4 {
    pub fn new(
        mut config: Ga4Config,
        api_url: &str,
        tokens: TokenSource,
        http: reqwest::Client,
        backoff: Backoff,
    ) -> Result<Self, ConnectorError> {
        if config.property_id.is_empty() || !config.property_id.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(ConnectorError::config(
                "property_id",
                "must be the numeric GA4 property id",
            ));
        }
        if config.metrics.is_empty() {
            return Err(ConnectorError::config(
                "metrics",
                "name at least one metric",
            ));
        }
        if !(1..=250_000).contains(&config.page_size) {
            return Err(ConnectorError::config("page_size", "must be 1-250000"));
        }
        if !(0..=90).contains(&config.lookback_days) {
            return Err(ConnectorError::config("lookback_days", "must be 0-90"));
        }
        // The date dimension carries the cursor and every record's day.
        if !config.dimensions.iter().any(|d| d == "date") {
            config.dimensions.insert(0, "date".into());
        }
        Ok(Ga4 {
            config,
            api_url: api_url.trim_end_matches('/').to_string(),
            tokens,
            http,
            backoff,
            quota_low: std::sync::Mutex::new(None),
        })
    }

    fn end_date(&self) -> NaiveDate {
        self.config
            .end_date
            .unwrap_or_else(|| Utc::now().date_naive())
    }

    async fn run_report(
        &self,
        start: NaiveDate,
        end: NaiveDate,
        offset: u64,
        limit: u32,
    ) -> Result<ReportResponse, ConnectorError> {
        let body = json!({
            "dateRanges": [{"startDate": start.to_string(), "endDate": end.to_string()}],
            "dimensions": self.config.dimensions.iter().map(|d| json!({"name": d})).collect::<Vec<_>>(),
            "metrics": self.config.metrics.iter().map(|m| json!({"name": m})).collect::<Vec<_>>(),
            "offset": offset,
            "limit": limit,
            "keepEmptyRows": false,
            "returnPropertyQuota": true,
        });
        let url = format!(
            "{}/v1beta/properties/{}:runReport",
            self.api_url, self.config.property_id
        );
        let low = self.quota_low.lock().expect("quota lock").clone();
        if let Some((message, retry_after_secs)) = low {
            return Err(ConnectorError::Quota {
                message,
                retry_after_secs: Some(retry_after_secs),
            });
        }
        let report: ReportResponse = self
            .backoff
            .retry("ga4.runReport", || self.call(&url, &body))
            .await?;
        *self.quota_low.lock().expect("quota lock") = report
            .property_quota
            .as_ref()
            .and_then(|q| q.low(self.config.min_quota_tokens));
        Ok(report)
    }

    /// One `runReport` call.
    async fn call(&self, url: &str, body: &Value) -> Result<ReportResponse, ConnectorError> {
        self.authorized("runReport", || self.http.post(url).json(body))
            .await
    }

    /// The property's catalogue: every dimension and metric it offers, custom ones included
    /// (`GET /v1beta/properties/{id}/metadata`).
    async fn metadata(&self) -> Result<Metadata, ConnectorError> {
        let url = format!(
            "{}/v1beta/properties/{}/metadata",
            self.api_url, self.config.property_id
        );
        self.backoff
            .retry("ga4.getMetadata", || {
                self.authorized("getMetadata", || self.http.get(&url))
            })
            .await
    }

    /// Sends `request` with an access token; a 401 gets one fresh token before it counts as
    /// a failure.
    async fn authorized<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        request: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<T, ConnectorError> {
        let mut refreshed = false;
        loop {
            let token = self.tokens.access_token(&self.http).await?;
            let response = request()
                .bearer_auth(token)
                .send()
                .await
                .map_err(|e| transport_error(&e))?;
            let status = response.status();
            if status.is_success() {
                return response.json().await.map_err(|e| {
                    ConnectorError::Provider(format!("unexpected {method} answer: {e}"))
                });
            }
            if status.as_u16() == 401 && !refreshed && self.tokens.can_refresh() {
                self.tokens.invalidate().await;
                refreshed = true;
                continue;
            }
            let retry = retry_after(response.headers());
            let error: GoogleError = response.json().await.unwrap_or_default();
            return Err(google_error(status.as_u16(), error, retry));
        }
    }

    fn record(&self, headers: &ReportResponse, row: &ReportRow) -> Record {
        let mut dimensions = Map::new();
        let mut key = Vec::with_capacity(row.dimension_values.len());
        let mut date = None;
        for (header, value) in headers.dimension_headers.iter().zip(&row.dimension_values) {
            if header.name == "date" {
                date = NaiveDate::parse_from_str(&value.value, "%Y%m%d").ok();
            }
            key.push(value.value.as_str());
            dimensions.insert(header.name.clone(), Value::String(value.value.clone()));
        }
        let mut metrics = Map::new();
        for (header, value) in headers.metric_headers.iter().zip(&row.metric_values) {
            metrics.insert(
                header.name.clone(),
                metric_value(&header.data_type, &value.value),
            );
        }
        Record {
            key: key.join("|"),
            date,
            dimensions,
            metrics,
        }
    }

    fn check_stream(&self, stream: &str) -> Result<(), ConnectorError> {
        if stream == self.stream_name() {
            Ok(())
        } else {
            Err(ConnectorError::UnknownStream(stream.into()))
        }
    }

    pub fn stream_name(&self) -> &str {
        self.config.stream.as_deref().unwrap_or(STREAM)
    }
}

/// Cast by the header's type: integers stay exact, the rest become JSON numbers.
fn metric_value(data_type: &str, raw: &str) -> Value {
    if data_type == "TYPE_INTEGER"
        && let Ok(n) = raw.parse::<i64>()
    {
        return Value::from(n);
    }
    raw.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or_else(|| Value::String(raw.to_string()), Value::Number)
}

fn google_error(status: u16, error: GoogleError, retry_after_secs: Option<u64>) -> ConnectorError {
    let message = format!(
        "{} ({})",
        error.error.message,
        if error.error.status.is_empty() {
            status.to_string()
        } else {
            error.error.status.clone()
        }
    );
    match status {
        401 => ConnectorError::AuthFailed(message),
        403 => ConnectorError::PermissionDenied(message),
        429 => ConnectorError::Quota {
            message,
            retry_after_secs,
        },
        400 | 404 => ConnectorError::config("config", message),
        _ => ConnectorError::Provider(message),
    }
}

#[derive(Debug, Default, Deserialize)]
struct GoogleError {
    #[serde(default)]
    error: GoogleErrorBody,
}

#[derive(Debug, Default, Deserialize)]
struct GoogleErrorBody {
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: String,
}

/// `GET …/metadata`: `{"name", "dimensions": [DimensionMetadata], "metrics": [MetricMetadata]}`.
#[derive(Debug, Default, Deserialize)]
struct Metadata {
    #[serde(default)]
    dimensions: Vec<FieldMetadata>,
    #[serde(default)]
    metrics: Vec<FieldMetadata>,
}

/// `apiName` (what reports take), `uiName` (what people see), `type` (metrics only:
/// `TYPE_INTEGER`, `TYPE_FLOAT`, `TYPE_CURRENCY`, `TYPE_SECONDS`…).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FieldMetadata {
    api_name: String,
    #[serde(default)]
    ui_name: String,
    #[serde(default = "unspecified", rename = "type")]
    data_type: String,
}

fn unspecified() -> String {
    "METRIC_TYPE_UNSPECIFIED".into()
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReportResponse {
    #[serde(default)]
    dimension_headers: Vec<DimensionHeader>,
    #[serde(default)]
    metric_headers: Vec<MetricHeader>,
    #[serde(default)]
    rows: Vec<ReportRow>,
    #[serde(default)]
    row_count: u64,
    #[serde(default)]
    property_quota: Option<PropertyQuota>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PropertyQuota {
    tokens_per_hour: Option<QuotaStatus>,
    tokens_per_day: Option<QuotaStatus>,
}

#[derive(Debug, Default, Deserialize)]
struct QuotaStatus {
    #[serde(default)]
    remaining: i64,
}

impl PropertyQuota {
    /// Why and how long to wait, when a token budget is below `min`.
    fn low(&self, min: i64) -> Option<(String, u64)> {
        if let Some(day) = &self.tokens_per_day
            && day.remaining < min
        {
            return Some((
                format!("GA4 property has {} tokens left today", day.remaining),
                3600,
            ));
        }
        if let Some(hour) = &self.tokens_per_hour
            && hour.remaining < min
        {
            return Some((
                format!("GA4 property has {} tokens left this hour", hour.remaining),
                600,
            ));
        }
        None
    }
}

#[derive(Debug, Deserialize)]
struct DimensionHeader {
    name: String,
}

#[derive(Debug, Deserialize)]
struct MetricHeader {
    name: String,
    #[serde(rename = "type", default)]
    data_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReportRow {
    #[serde(default)]
    dimension_values: Vec<CellValue>,
    #[serde(default)]
    metric_values: Vec<CellValue>,
}

#[derive(Debug, Deserialize)]
struct CellValue {
    #[serde(default)]
    value: String,
}

#[derive(Debug, Deserialize, serde::Serialize)]
struct Ga4Position {
    start: NaiveDate,
    end: NaiveDate,
    offset: u64,
}

impl Connector for Ga4 {
    async fn test(&self) -> Result<(), ConnectorError> {
        let today = self.end_date();
        self.run_report(today, today, 0, 1).await.map(|_| ())
    }

    /// The property's whole catalogue from the Metadata API, the configured dimensions and
    /// metrics first (in their order); a configured name the property does not offer is a
    /// configuration error naming it.
    async fn discover(&self) -> Result<Vec<StreamInfo>, ConnectorError> {
        let metadata = self.metadata().await?;
        let column = |name: &str, label: &str, data_type: &str, metric: bool| ColumnInfo {
            name: name.to_string(),
            data_type: data_type.to_string(),
            metric,
            label: (!label.is_empty()).then(|| label.to_string()),
        };
        let dimensions: Vec<ColumnInfo> = metadata
            .dimensions
            .iter()
            .map(|d| column(&d.api_name, &d.ui_name, "string", false))
            .collect();
        let metrics: Vec<ColumnInfo> = metadata
            .metrics
            .iter()
            .map(|m| column(&m.api_name, &m.ui_name, &m.data_type, true))
            .collect();
        let mut columns = Vec::with_capacity(dimensions.len() + metrics.len());
        for (field, wanted, offered) in [
            ("dimensions", &self.config.dimensions, &dimensions),
            ("metrics", &self.config.metrics, &metrics),
        ] {
            for name in wanted {
                let found = offered.iter().find(|c| &c.name == name).ok_or_else(|| {
                    ConnectorError::config(
                        field,
                        format!(
                            "{name:?} is not offered by property {}",
                            self.config.property_id
                        ),
                    )
                })?;
                columns.push(found.clone());
            }
        }
        let configured: Vec<&String> = self
            .config
            .dimensions
            .iter()
            .chain(&self.config.metrics)
            .collect();
        columns.extend(
            dimensions
                .into_iter()
                .chain(metrics)
                .filter(|c| !configured.contains(&&c.name)),
        );
        Ok(vec![StreamInfo {
            name: self.stream_name().to_string(),
            columns,
            cursor: Some("date".into()),
        }])
    }

    async fn preview(&self, stream: &str, limit: usize) -> Result<Vec<Record>, ConnectorError> {
        self.check_stream(stream)?;
        let position: Ga4Position = serde_json::from_value(self.start(stream, None)?)
            .map_err(|e| ConnectorError::Provider(e.to_string()))?;
        let limit = u32::try_from(limit.clamp(1, 100)).unwrap_or(100);
        let report = self
            .run_report(position.start, position.end, 0, limit)
            .await?;
        Ok(report
            .rows
            .iter()
            .map(|r| self.record(&report, r))
            .collect())
    }

    fn start(&self, stream: &str, cursor: Option<&Value>) -> Result<Position, ConnectorError> {
        self.check_stream(stream)?;
        let last = cursor
            .and_then(|c| c.get("date"))
            .and_then(Value::as_str)
            .and_then(|d| d.parse::<NaiveDate>().ok());
        let start = match last {
            Some(last) => {
                (last - Days::days(self.config.lookback_days)).max(self.config.start_date)
            }
            None => self.config.start_date,
        };
        let position = Ga4Position {
            start,
            end: self.end_date().max(start),
            offset: 0,
        };
        Ok(serde_json::to_value(position).expect("position serialises"))
    }

    async fn read_page(&self, stream: &str, position: &Position) -> Result<Page, ConnectorError> {
        self.check_stream(stream)?;
        let position: Ga4Position = serde_json::from_value(position.clone())
            .map_err(|e| ConnectorError::Provider(format!("bad GA4 position: {e}")))?;
        let report = self
            .run_report(
                position.start,
                position.end,
                position.offset,
                self.config.page_size,
            )
            .await?;
        let records: Vec<Record> = report
            .rows
            .iter()
            .map(|r| self.record(&report, r))
            .collect();
        let next_offset = position.offset + u64::from(self.config.page_size);
        let more = !records.is_empty() && next_offset < report.row_count;
        Ok(Page {
            records,
            next: more.then(
                || json!({"start": position.start, "end": position.end, "offset": next_offset}),
            ),
            cursor: (!more).then(|| json!({"date": position.end})),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_cast_by_header_type() {
        assert_eq!(metric_value("TYPE_INTEGER", "42"), json!(42));
        assert_eq!(metric_value("TYPE_CURRENCY", "12.5"), json!(12.5));
        assert_eq!(metric_value("TYPE_FLOAT", "n/a"), json!("n/a"));
    }
}
