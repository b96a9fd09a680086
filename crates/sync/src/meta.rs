//! Meta Marketing API insights. One stream per level (`insights_campaign` by default), daily
//! (`time_increment=1`), paged by following `paging.next` until it is absent. Insight numbers
//! change for 28 days, so each run re-reads that lookback window and upserts on (object id, day).
//!
//! Meta throttles per business and app and says how close a caller is in the
//! `X-Business-Use-Case-Usage`, `X-App-Usage` and `X-Ad-Account-Usage` headers; above the
//! threshold (90 % by default) the connector pauses for `estimated_time_to_regain_access` before
//! the next call instead of running into error 17/80000.
//!
//! Long ranges (a first sync of months, by default from 90 days) run as an asynchronous report
//! job, as Meta advises for large reports: `POST /act_{id}/insights` answers a `report_run_id`;
//! `GET /{report_run_id}` tells `async_status` and `async_percent_completion`; once "Job
//! Completed", `GET /{report_run_id}/insights` pages like the synchronous edge. The job id is
//! part of the run's checkpoint, so a killed run resumes polling the same job.

use std::time::Duration;

use chrono::{Duration as Days, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::{
    Backoff, ConnectorError, Page, Position, Record, StreamInfo,
    backoff::retry_after,
    connector::{ColumnInfo, Connector, transport_error},
    oauth::TokenSource,
};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetaConfig {
    pub ad_account_id: String,
    #[serde(default = "default_level")]
    pub level: String,
    #[serde(default = "default_fields")]
    pub fields: Vec<String>,
    pub start_date: NaiveDate,
    #[serde(default)]
    pub end_date: Option<NaiveDate>,
    #[serde(default = "default_lookback")]
    pub lookback_days: i64,
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    #[serde(default = "default_version")]
    pub api_version: String,
    /// Usage (percent) at which calls pause.
    #[serde(default = "default_threshold")]
    pub throttle_threshold_pct: f64,
    /// Pause when usage is high but Meta gives no `estimated_time_to_regain_access`.
    #[serde(default = "default_pause")]
    pub throttle_pause_secs: u64,
    /// Longest pause; a longer one ends the run with a quota error (the job retries later).
    #[serde(default = "default_max_pause")]
    pub max_pause_secs: u64,
    /// Ranges of at least this many days are read through an async report job.
    #[serde(default = "default_async_min_days")]
    pub async_min_days: i64,
    /// Wait between two looks at a running job.
    #[serde(default = "default_async_poll")]
    pub async_poll_secs: u64,
    /// Looks at a job before the run gives up on it (timeout).
    #[serde(default = "default_async_max_polls")]
    pub async_max_polls: u64,
}

fn default_async_min_days() -> i64 {
    90
}
fn default_async_poll() -> u64 {
    5
}
fn default_async_max_polls() -> u64 {
    360
}

fn default_level() -> String {
    "campaign".into()
}
fn default_fields() -> Vec<String> {
    [
        "campaign_id",
        "campaign_name",
        "impressions",
        "clicks",
        "spend",
    ]
    .map(String::from)
    .to_vec()
}
fn default_lookback() -> i64 {
    28
}
fn default_page_size() -> u32 {
    500
}
fn default_version() -> String {
    "v19.0".into()
}
fn default_threshold() -> f64 {
    90.0
}
fn default_pause() -> u64 {
    60
}
fn default_max_pause() -> u64 {
    600
}

const LEVELS: [&str; 4] = ["account", "campaign", "adset", "ad"];

pub struct Meta {
    config: MetaConfig,
    graph_url: String,
    tokens: TokenSource,
    http: reqwest::Client,
    backoff: Backoff,
}

impl Meta {
    pub fn new(
        config: MetaConfig,
        graph_url: &str,
        tokens: TokenSource,
        http: reqwest::Client,
        backoff: Backoff,
    ) -> Result<Self, ConnectorError> {
        let id = config.ad_account_id.trim_start_matches("act_");
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ConnectorError::config(
                "ad_account_id",
                "must be the numeric ad account id",
            ));
        }
        if !LEVELS.contains(&config.level.as_str()) {
            return Err(ConnectorError::config(
                "level",
                "must be account, campaign, adset or ad",
            ));
        }
        if !config.api_version.starts_with('v') {
            return Err(ConnectorError::config("api_version", "looks like v19.0"));
        }
        if !(0..=37 * 30).contains(&config.lookback_days) {
            return Err(ConnectorError::config("lookback_days", "must be 0-1110"));
        }
        Ok(Meta {
            config,
            graph_url: graph_url.trim_end_matches('/').to_string(),
            tokens,
            http,
            backoff,
        })
    }

    pub fn stream_name(&self) -> String {
        format!("insights_{}", self.config.level)
    }

    fn account(&self) -> &str {
        self.config.ad_account_id.trim_start_matches("act_")
    }

    fn end_date(&self) -> NaiveDate {
        self.config
            .end_date
            .unwrap_or_else(|| Utc::now().date_naive())
    }

    fn first_url(
        &self,
        since: NaiveDate,
        until: NaiveDate,
        limit: u32,
    ) -> Result<reqwest::Url, ConnectorError> {
        let mut fields = self.config.fields.clone();
        for required in ["date_start", "date_stop"] {
            if !fields.iter().any(|f| f == required) {
                fields.push(required.into());
            }
        }
        let id_field = self.id_field();
        if !fields.contains(&id_field) {
            fields.insert(0, id_field);
        }
        let base = format!(
            "{}/{}/act_{}/insights",
            self.graph_url,
            self.config.api_version,
            self.account()
        );
        reqwest::Url::parse_with_params(
            &base,
            [
                ("fields", fields.join(",")),
                ("level", self.config.level.clone()),
                ("time_increment", "1".into()),
                (
                    "time_range",
                    json!({"since": since, "until": until}).to_string(),
                ),
                ("limit", limit.to_string()),
            ],
        )
        .map_err(|e| ConnectorError::config("graph_url", e.to_string()))
    }

    fn object_url(&self, object: &str) -> String {
        format!("{}/{}/{object}", self.graph_url, self.config.api_version)
    }

    /// Starts an async report job for the range; answers its `report_run_id`.
    async fn start_job(
        &self,
        since: NaiveDate,
        until: NaiveDate,
    ) -> Result<String, ConnectorError> {
        let url = self.first_url(since, until, self.config.page_size)?;
        let (base, params): (String, Vec<(String, String)>) = {
            let params = url.query_pairs().into_owned().collect();
            let mut base = url.clone();
            base.set_query(None);
            (base.to_string(), params)
        };
        let run: ReportRun = self
            .graph("meta.insights_job", || self.http.post(&base).form(&params))
            .await?;
        tracing::info!(sync.meta.report_run_id = %run.report_run_id, %since, %until, "Meta report job started");
        Ok(run.report_run_id)
    }

    /// One look at a job: the first page of its results once complete, or the position to
    /// look again from.
    async fn poll_job(
        &self,
        run: &str,
        polls: u64,
        until: &Value,
    ) -> Result<Result<String, Page>, ConnectorError> {
        let status: ReportRunStatus = self
            .graph("meta.insights_job_status", || {
                self.http.get(self.object_url(run))
            })
            .await?;
        match status.async_status.as_str() {
            "Job Completed" => {
                let mut url = reqwest::Url::parse(&format!("{}/insights", self.object_url(run)))
                    .map_err(|e| ConnectorError::config("graph_url", e.to_string()))?;
                url.query_pairs_mut()
                    .append_pair("limit", &self.config.page_size.to_string());
                Ok(Ok(url.to_string()))
            }
            "Job Failed" | "Job Skipped" => Err(ConnectorError::Provider(format!(
                "Meta's report job {run} ended with {:?}",
                status.async_status
            ))),
            _ if polls + 1 >= self.config.async_max_polls => Err(ConnectorError::Timeout(format!(
                "Meta's report job {run} was still at {:.0}% after {} looks",
                status.async_percent_completion,
                polls + 1
            ))),
            _ => {
                tracing::info!(
                    sync.meta.report_run_id = %run,
                    sync.meta.percent = status.async_percent_completion,
                    "Meta report job running"
                );
                tokio::time::sleep(Duration::from_secs(self.config.async_poll_secs)).await;
                Ok(Err(Page {
                    records: Vec::new(),
                    cursor: None,
                    next: Some(json!({"report_run_id": run, "polls": polls + 1, "until": until})),
                }))
            }
        }
    }

    fn id_field(&self) -> String {
        format!("{}_id", self.config.level)
    }

    async fn get(&self, url: &str) -> Result<InsightsResponse, ConnectorError> {
        self.graph("meta.insights", || self.http.get(url)).await
    }

    /// Calls the Graph API with retries on transient failures.
    async fn graph<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        request: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<T, ConnectorError> {
        self.backoff.retry(what, || self.call(what, &request)).await
    }

    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        request: &impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<T, ConnectorError> {
        let token = self.tokens.access_token(&self.http).await?;
        let response = request()
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        let status = response.status();
        let usage = Usage::from_headers(response.headers());
        let retry = retry_after(response.headers());
        if status.is_success() {
            let body: T = response
                .json()
                .await
                .map_err(|e| ConnectorError::Provider(format!("unexpected {what} answer: {e}")))?;
            self.pause_if_throttled(&usage).await?;
            return Ok(body);
        }
        let error: GraphError = response.json().await.unwrap_or_default();
        Err(graph_error(
            status.as_u16(),
            &error.error,
            retry.or(usage.regain_secs()),
        ))
    }

    /// Waits out high usage before the next call, or gives up with a quota error when the
    /// wait would exceed `max_pause_secs`.
    async fn pause_if_throttled(&self, usage: &Usage) -> Result<(), ConnectorError> {
        if usage.max_pct < self.config.throttle_threshold_pct {
            return Ok(());
        }
        let wait = usage
            .regain_secs()
            .unwrap_or(self.config.throttle_pause_secs);
        if wait > self.config.max_pause_secs {
            return Err(ConnectorError::Quota {
                message: format!("Meta usage at {:.0}%", usage.max_pct),
                retry_after_secs: Some(wait),
            });
        }
        tracing::info!(
            sync.meta.usage_pct = usage.max_pct,
            sync.pause_secs = wait,
            "Meta usage high; pausing"
        );
        tokio::time::sleep(Duration::from_secs(wait)).await;
        Ok(())
    }

    fn record(&self, row: &Map<String, Value>) -> Record {
        let text = |k: &str| {
            row.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let date = NaiveDate::parse_from_str(&text("date_start"), "%Y-%m-%d").ok();
        let id = text(&self.id_field());
        let mut dimensions = Map::new();
        let mut metrics = Map::new();
        for (name, value) in row {
            if matches!(name.as_str(), "date_start" | "date_stop") {
                continue;
            }
            let numeric = value.as_str().and_then(|s| s.parse::<f64>().ok());
            match numeric {
                Some(n) if !name.ends_with("_id") && !name.ends_with("_name") => {
                    metrics.insert(
                        name.clone(),
                        serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number),
                    );
                }
                _ => {
                    dimensions.insert(name.clone(), value.clone());
                }
            }
        }
        Record {
            key: format!("{id}|{}", text("date_start")),
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
}

fn graph_error(
    status: u16,
    error: &GraphErrorBody,
    retry_after_secs: Option<u64>,
) -> ConnectorError {
    let message = format!("{} (code {})", error.message, error.code);
    match error.code {
        190 | 102 => ConnectorError::AuthFailed(message),
        10 | 200..=299 => ConnectorError::PermissionDenied(message),
        4 | 17 | 32 | 613 | 80_000..=80_014 => ConnectorError::Quota {
            message,
            retry_after_secs,
        },
        100 => ConnectorError::config("config", message),
        _ if status == 401 => ConnectorError::AuthFailed(message),
        _ if status == 429 => ConnectorError::Quota {
            message,
            retry_after_secs,
        },
        _ => ConnectorError::Provider(message),
    }
}

/// `url` without the named query parameters. Positions are stored in `sync_logs`, which members
/// read, so a token Meta echoes into `paging.next` must not travel with them.
pub fn without_params(url: &str, names: &[&str]) -> String {
    let Ok(mut parsed) = reqwest::Url::parse(url) else {
        return url.to_string();
    };
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(k, _)| !names.contains(&k.as_ref()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    parsed.set_query(None);
    if !kept.is_empty() {
        parsed.query_pairs_mut().extend_pairs(kept);
    }
    parsed.to_string()
}

/// The highest usage any of Meta's throttling headers reports.
#[derive(Debug, Default)]
pub struct Usage {
    pub max_pct: f64,
    /// `estimated_time_to_regain_access`, in minutes.
    pub regain_minutes: u64,
}

impl Usage {
    pub fn from_headers(headers: &reqwest::header::HeaderMap) -> Self {
        let mut usage = Usage::default();
        let json = |name: &str| -> Option<Value> {
            serde_json::from_str(headers.get(name)?.to_str().ok()?).ok()
        };
        let mut take = |entry: &Value| {
            for key in [
                "call_count",
                "total_cputime",
                "total_time",
                "acc_id_util_pct",
            ] {
                if let Some(pct) = entry.get(key).and_then(Value::as_f64) {
                    usage.max_pct = usage.max_pct.max(pct);
                }
            }
            if let Some(minutes) = entry
                .get("estimated_time_to_regain_access")
                .and_then(Value::as_u64)
            {
                usage.regain_minutes = usage.regain_minutes.max(minutes);
            }
        };
        // {"<business id>": [{"type": "ads_insights", "call_count": 28, …}]}
        if let Some(Value::Object(businesses)) = json("x-business-use-case-usage") {
            for entries in businesses.values() {
                for entry in entries.as_array().into_iter().flatten() {
                    take(entry);
                }
            }
        }
        for header in ["x-app-usage", "x-ad-account-usage"] {
            if let Some(entry) = json(header) {
                take(&entry);
            }
        }
        usage
    }

    fn regain_secs(&self) -> Option<u64> {
        (self.regain_minutes > 0).then_some(self.regain_minutes * 60)
    }
}

#[derive(Debug, Default, Deserialize)]
struct GraphError {
    #[serde(default)]
    error: GraphErrorBody,
}

#[derive(Debug, Default, Deserialize)]
struct GraphErrorBody {
    #[serde(default)]
    message: String,
    #[serde(default)]
    code: i64,
}

#[derive(Debug, Deserialize)]
struct InsightsResponse {
    #[serde(default)]
    data: Vec<Map<String, Value>>,
    #[serde(default)]
    paging: Option<Paging>,
}

#[derive(Debug, Deserialize)]
struct Paging {
    #[serde(default)]
    next: Option<String>,
}

impl Connector for Meta {
    async fn test(&self) -> Result<(), ConnectorError> {
        let today = self.end_date();
        let url = self.first_url(today, today, 1)?;
        self.get(url.as_str()).await.map(|_| ())
    }

    async fn discover(&self) -> Result<Vec<StreamInfo>, ConnectorError> {
        self.test().await?;
        let columns = self
            .config
            .fields
            .iter()
            .map(|f| {
                let metric = !f.ends_with("_id") && !f.ends_with("_name");
                ColumnInfo {
                    name: f.clone(),
                    data_type: if metric { "numeric string" } else { "string" }.into(),
                    metric,
                    label: None,
                }
            })
            .collect();
        Ok(vec![StreamInfo {
            name: self.stream_name(),
            columns,
            cursor: Some("date_start".into()),
        }])
    }

    async fn preview(&self, stream: &str, limit: usize) -> Result<Vec<Record>, ConnectorError> {
        self.check_stream(stream)?;
        let end = self.end_date();
        let start = (end - Days::days(self.config.lookback_days)).max(self.config.start_date);
        let limit = u32::try_from(limit.clamp(1, 100)).unwrap_or(100);
        let url = self.first_url(start, end, limit)?;
        let page = self.get(url.as_str()).await?;
        Ok(page
            .data
            .iter()
            .take(limit as usize)
            .map(|r| self.record(r))
            .collect())
    }

    fn start(&self, stream: &str, cursor: Option<&Value>) -> Result<Position, ConnectorError> {
        self.check_stream(stream)?;
        let last = cursor
            .and_then(|c| c.get("date"))
            .and_then(Value::as_str)
            .and_then(|d| d.parse::<NaiveDate>().ok());
        let since = match last {
            Some(last) => {
                (last - Days::days(self.config.lookback_days)).max(self.config.start_date)
            }
            None => self.config.start_date,
        };
        let until = self.end_date().max(since);
        Ok(json!({"since": since, "until": until}))
    }

    async fn read_page(&self, stream: &str, position: &Position) -> Result<Page, ConnectorError> {
        self.check_stream(stream)?;
        let until = position.get("until").cloned().unwrap_or(Value::Null);
        let url = if let Some(url) = position.get("url").and_then(Value::as_str) {
            url.to_string()
        } else if let Some(run) = position.get("report_run_id").and_then(Value::as_str) {
            let polls = position.get("polls").and_then(Value::as_u64).unwrap_or(0);
            match self.poll_job(run, polls, &until).await? {
                Ok(url) => url,
                Err(waiting) => return Ok(waiting),
            }
        } else {
            let date = |k: &str| {
                position
                    .get(k)
                    .and_then(Value::as_str)
                    .and_then(|d| d.parse::<NaiveDate>().ok())
                    .ok_or_else(|| ConnectorError::Provider(format!("bad Meta position: no {k}")))
            };
            let (since, until_day) = (date("since")?, date("until")?);
            if (until_day - since).num_days() + 1 >= self.config.async_min_days {
                let run = self.start_job(since, until_day).await?;
                return Ok(Page {
                    records: Vec::new(),
                    cursor: None,
                    next: Some(json!({"report_run_id": run, "polls": 0, "until": until})),
                });
            }
            self.first_url(since, until_day, self.config.page_size)?
                .to_string()
        };
        let response = self.get(&url).await?;
        let records = response.data.iter().map(|r| self.record(r)).collect();
        let next = response
            .paging
            .and_then(|p| p.next)
            .map(|url| without_params(&url, &["access_token", "appsecret_proof"]));
        Ok(Page {
            records,
            cursor: next.is_none().then(|| json!({"date": until})),
            next: next.map(|url| json!({"url": url, "until": until})),
        })
    }
}

/// `POST /act_{id}/insights` (async): the job's id.
#[derive(Deserialize)]
struct ReportRun {
    report_run_id: String,
}

/// `GET /{report_run_id}`: "Job Not Started", "Job Started", "Job Running", "Job Completed",
/// "Job Failed" or "Job Skipped", and how far along it is.
#[derive(Deserialize)]
struct ReportRunStatus {
    #[serde(default)]
    async_status: String,
    #[serde(default)]
    async_percent_completion: f64,
}

#[cfg(test)]
mod tests {
    use reqwest::header::{HeaderMap, HeaderValue};

    use super::*;

    #[test]
    fn tokens_are_removed_from_stored_next_links() {
        let url =
            "https://graph.facebook.com/v19.0/act_1/insights?access_token=EAAB&limit=25&after=c4";
        assert_eq!(
            without_params(url, &["access_token"]),
            "https://graph.facebook.com/v19.0/act_1/insights?limit=25&after=c4"
        );
    }

    #[test]
    fn usage_takes_the_highest_figure_of_every_header() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-business-use-case-usage",
            HeaderValue::from_static(
                r#"{"123":[{"type":"ads_insights","call_count":40,"total_cputime":95,"total_time":20,"estimated_time_to_regain_access":2}]}"#,
            ),
        );
        headers.insert(
            "x-app-usage",
            HeaderValue::from_static(r#"{"call_count":10,"total_cputime":5,"total_time":7}"#),
        );
        let usage = Usage::from_headers(&headers);
        assert_eq!(usage.max_pct, 95.0);
        assert_eq!(usage.regain_secs(), Some(120));
    }
}
