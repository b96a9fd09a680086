//! A generic REST/JSON API as a source: `GET` a URL, take the records at a dotted JSON path, and
//! page by page number, offset, a cursor found in the answer, or the `Link: <…>; rel="next"`
//! header. Authentication is an API key (header or query parameter) or a bearer token, both
//! from the source's encrypted credentials. An optional cursor field makes reads incremental:
//! its highest value is saved and sent back in `since_param` on the next run. "Highest" is by
//! the cursor's type (`cursor_type`, or inferred from the values, see [`crate::cursor`]): ids
//! as numbers, timestamps as instants.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::{
    Backoff, ConnectorError, Page, Position, Record, StreamInfo,
    backoff::retry_after,
    connector::{ColumnInfo, Connector, transport_error},
    cursor::{self, CursorType, Highest},
};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestConfig {
    pub url: String,
    /// Dotted path to the array of records (`data.items`); empty when the answer is the array.
    #[serde(default)]
    pub records_path: String,
    #[serde(default)]
    pub auth: RestAuth,
    #[serde(default)]
    pub pagination: Pagination,
    pub key_fields: Vec<String>,
    #[serde(default)]
    pub date_field: Option<String>,
    #[serde(default)]
    pub metric_fields: Vec<String>,
    /// Field whose highest value is the incremental cursor.
    #[serde(default)]
    pub cursor_field: Option<String>,
    /// How cursor values compare (`integer`, `number`, `timestamp`, `date`, `string`);
    /// inferred from the first value seen when absent.
    #[serde(default)]
    pub cursor_type: Option<CursorType>,
    /// Query parameter that carries the saved cursor to the API.
    #[serde(default)]
    pub since_param: Option<String>,
    #[serde(default)]
    pub stream: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RestAuth {
    #[default]
    None,
    Bearer,
    /// In a header (default `X-API-Key`) or, with `query`, a query parameter.
    ApiKey {
        #[serde(default)]
        header: Option<String>,
        #[serde(default)]
        query: Option<String>,
    },
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pagination {
    #[default]
    None,
    Page {
        #[serde(default = "page_param")]
        param: String,
        #[serde(default)]
        size_param: Option<String>,
        size: usize,
        #[serde(default = "one")]
        start: u64,
    },
    Offset {
        #[serde(default = "offset_param")]
        param: String,
        #[serde(default = "limit_param")]
        limit_param: String,
        limit: usize,
    },
    Cursor {
        param: String,
        /// Dotted path to the next cursor in the answer; absent or empty ends the stream.
        cursor_path: String,
    },
    Link,
}

fn page_param() -> String {
    "page".into()
}
fn offset_param() -> String {
    "offset".into()
}
fn limit_param() -> String {
    "limit".into()
}
fn one() -> u64 {
    1
}

pub struct RestSource {
    config: RestConfig,
    token: Option<String>,
    http: reqwest::Client,
    backoff: Backoff,
}

impl RestSource {
    pub fn new(
        config: RestConfig,
        credentials: Option<&Value>,
        http: reqwest::Client,
        backoff: Backoff,
    ) -> Result<Self, ConnectorError> {
        let url = reqwest::Url::parse(&config.url)
            .map_err(|_| ConnectorError::config("url", "is not a URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ConnectorError::config("url", "must be http(s)"));
        }
        if config.key_fields.is_empty() {
            return Err(ConnectorError::config("key_fields", "name at least one"));
        }
        let token = credentials
            .and_then(|c| c.get("token").or_else(|| c.get("api_key")))
            .and_then(Value::as_str)
            .map(str::to_string);
        if !matches!(config.auth, RestAuth::None) && token.is_none() {
            return Err(ConnectorError::config(
                "credentials",
                "this source needs {\"token\": …}",
            ));
        }
        Ok(RestSource {
            config,
            token,
            http,
            backoff,
        })
    }

    pub fn stream_name(&self) -> String {
        self.config
            .stream
            .clone()
            .unwrap_or_else(|| "records".into())
    }

    /// The URL of the page at `position` (a `next` link is taken as it is).
    fn page_url(&self, position: &Value) -> Result<String, ConnectorError> {
        let from_link = position.get("url").and_then(Value::as_str);
        let mut url = reqwest::Url::parse(from_link.unwrap_or(&self.config.url))
            .map_err(|_| ConnectorError::config("url", "is not a URL"))?;
        if from_link.is_some() {
            if let (RestAuth::ApiKey { query: Some(q), .. }, Some(token)) =
                (&self.config.auth, &self.token)
            {
                url.query_pairs_mut().append_pair(q, token);
            }
            return Ok(url.to_string());
        }
        {
            let mut query = url.query_pairs_mut();
            match &self.config.pagination {
                Pagination::Page {
                    param,
                    size_param,
                    size,
                    start,
                } => {
                    let page = position
                        .get("page")
                        .and_then(Value::as_u64)
                        .unwrap_or(*start);
                    query.append_pair(param, &page.to_string());
                    if let Some(sp) = size_param {
                        query.append_pair(sp, &size.to_string());
                    }
                }
                Pagination::Offset {
                    param,
                    limit_param,
                    limit,
                } => {
                    let offset = position.get("offset").and_then(Value::as_u64).unwrap_or(0);
                    query.append_pair(param, &offset.to_string());
                    query.append_pair(limit_param, &limit.to_string());
                }
                Pagination::Cursor { param, .. } => {
                    if let Some(c) = position.get("cursor").and_then(Value::as_str) {
                        query.append_pair(param, c);
                    }
                }
                Pagination::None | Pagination::Link => {}
            }
            if let (Some(param), Some(since)) = (
                &self.config.since_param,
                position.get("since").and_then(cursor::as_param),
            ) {
                query.append_pair(param, &since);
            }
            if let (RestAuth::ApiKey { query: Some(q), .. }, Some(token)) =
                (&self.config.auth, &self.token)
            {
                query.append_pair(q, token);
            }
        }
        // An empty query string would leave a trailing "?".
        let text = url.to_string();
        Ok(text.strip_suffix('?').map(str::to_string).unwrap_or(text))
    }

    async fn fetch(&self, url: &str) -> Result<(Value, Option<String>), ConnectorError> {
        self.backoff.retry("rest.get", || self.call(url)).await
    }

    async fn call(&self, url: &str) -> Result<(Value, Option<String>), ConnectorError> {
        let mut request = self.http.get(url).header("accept", "application/json");
        match (&self.config.auth, &self.token) {
            (RestAuth::Bearer, Some(token)) => request = request.bearer_auth(token),
            (
                RestAuth::ApiKey {
                    query: None,
                    header,
                },
                Some(token),
            ) => {
                request = request.header(header.as_deref().unwrap_or("X-API-Key"), token);
            }
            _ => {}
        }
        let response = request.send().await.map_err(|e| transport_error(&e))?;
        let status = response.status();
        let next = next_link(response.headers());
        let retry = retry_after(response.headers());
        if !status.is_success() {
            let message = format!("HTTP {status}");
            return Err(match status.as_u16() {
                401 => ConnectorError::AuthFailed(format!("{message}: check the token")),
                403 => ConnectorError::PermissionDenied(message),
                404 => ConnectorError::config("url", format!("{message}: no such endpoint")),
                429 => ConnectorError::Quota {
                    message,
                    retry_after_secs: retry,
                },
                _ => ConnectorError::Provider(message),
            });
        }
        let body = response
            .json()
            .await
            .map_err(|_| ConnectorError::Provider("the answer is not JSON".into()))?;
        Ok((body, next))
    }

    fn records<'a>(&self, body: &'a Value) -> Result<&'a Vec<Value>, ConnectorError> {
        at_path(body, &self.config.records_path)
            .and_then(Value::as_array)
            .ok_or_else(|| {
                ConnectorError::config("records_path", "does not lead to an array in the answer")
            })
    }

    fn record(&self, value: &Value) -> Record {
        let empty = Map::new();
        let object = value.as_object().unwrap_or(&empty);
        let text = |k: &str| match object.get(k) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        let key: Vec<String> = self.config.key_fields.iter().map(|k| text(k)).collect();
        let date =
            self.config.date_field.as_deref().and_then(|f| {
                chrono::NaiveDate::parse_from_str(text(f).get(..10)?, "%Y-%m-%d").ok()
            });
        let (mut dimensions, mut metrics) = (Map::new(), Map::new());
        for (name, v) in object {
            if self.config.metric_fields.contains(name) {
                metrics.insert(name.clone(), v.clone());
            } else {
                dimensions.insert(name.clone(), v.clone());
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

/// The cursor type a saved cursor (`type`) or a position (`cursor_type`) carries.
fn saved_type(saved: Option<&Value>) -> Option<CursorType> {
    let saved = saved?;
    let kind = saved.get("type").or_else(|| saved.get("cursor_type"))?;
    serde_json::from_value(kind.clone()).ok()
}

/// The `rel="next"` target of a `Link` header (RFC 8288), as GitHub and many APIs send it.
pub fn next_link(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|link| {
            let (target, params) = link.split_once(';')?;
            let is_next = params.split(';').any(|p| {
                matches!(
                    p.trim().replace(' ', "").as_str(),
                    "rel=\"next\"" | "rel=next"
                )
            });
            is_next.then(|| {
                target
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
        })
}

fn at_path<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .filter(|p| !p.is_empty())
        .try_fold(value, |v, part| v.get(part))
}

impl Connector for RestSource {
    async fn test(&self) -> Result<(), ConnectorError> {
        let (body, _) = self.fetch(&self.page_url(&json!({}))?).await?;
        self.records(&body).map(|_| ())
    }

    async fn discover(&self) -> Result<Vec<StreamInfo>, ConnectorError> {
        let (body, _) = self.fetch(&self.page_url(&json!({}))?).await?;
        let first = self
            .records(&body)?
            .first()
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let columns = first
            .iter()
            .map(|(name, v)| ColumnInfo {
                name: name.clone(),
                // The same inference a cursor on this column uses.
                data_type: match v {
                    Value::Bool(_) => "boolean",
                    Value::Object(_) => "object",
                    Value::Array(_) => "array",
                    Value::Null => "string",
                    other => CursorType::infer(other).map_or("string", CursorType::name),
                }
                .into(),
                metric: self.config.metric_fields.contains(name),
                label: None,
            })
            .collect();
        Ok(vec![StreamInfo {
            name: self.stream_name(),
            columns,
            cursor: self.config.cursor_field.clone(),
        }])
    }

    async fn preview(&self, stream: &str, limit: usize) -> Result<Vec<Record>, ConnectorError> {
        if stream != self.stream_name() {
            return Err(ConnectorError::UnknownStream(stream.into()));
        }
        let (body, _) = self.fetch(&self.page_url(&json!({}))?).await?;
        Ok(self
            .records(&body)?
            .iter()
            .take(limit.clamp(1, 100))
            .map(|r| self.record(r))
            .collect())
    }

    fn start(&self, stream: &str, cursor: Option<&Value>) -> Result<Position, ConnectorError> {
        if stream != self.stream_name() {
            return Err(ConnectorError::UnknownStream(stream.into()));
        }
        let since = cursor
            .and_then(|c| c.get("max"))
            .cloned()
            .unwrap_or(Value::Null);
        let kind = self.config.cursor_type.or_else(|| saved_type(cursor));
        Ok(json!({"since": since, "max": since, "cursor_type": kind}))
    }

    async fn read_page(&self, stream: &str, position: &Position) -> Result<Page, ConnectorError> {
        if stream != self.stream_name() {
            return Err(ConnectorError::UnknownStream(stream.into()));
        }
        let (body, link) = self.fetch(&self.page_url(position)?).await?;
        let raw = self.records(&body)?;
        let records: Vec<Record> = raw.iter().map(|r| self.record(r)).collect();
        // The highest cursor value seen in this run, carried from page to page.
        let mut highest = Highest::new(
            self.config
                .cursor_type
                .or_else(|| saved_type(Some(position))),
            position.get("max").cloned(),
        );
        if let Some(field) = &self.config.cursor_field {
            for r in raw {
                if let Some(v) = r.get(field) {
                    highest.offer(v);
                }
            }
            if highest.skipped > 0 {
                tracing::warn!(
                    rest.cursor_field = %field,
                    rest.skipped = highest.skipped,
                    "cursor values not of the cursor's type were ignored"
                );
            }
        }
        let kind = highest.kind;
        let max = highest.value;
        let mut next = match &self.config.pagination {
            Pagination::None => None,
            Pagination::Page { size, start, .. } => (records.len() >= *size).then(|| {
                let page = position
                    .get("page")
                    .and_then(Value::as_u64)
                    .unwrap_or(*start);
                json!({"page": page + 1})
            }),
            Pagination::Offset { limit, .. } => (records.len() >= *limit).then(|| {
                let offset = position.get("offset").and_then(Value::as_u64).unwrap_or(0);
                json!({"offset": offset + *limit as u64})
            }),
            Pagination::Cursor { cursor_path, .. } => at_path(&body, cursor_path)
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty())
                .map(|c| json!({"cursor": c})),
            Pagination::Link => link.map(|url| {
                // Positions are readable by members: never store a key the server echoes.
                let url = match &self.config.auth {
                    RestAuth::ApiKey { query: Some(q), .. } => {
                        crate::meta::without_params(&url, &[q.as_str()])
                    }
                    _ => url,
                };
                json!({"url": url})
            }),
        };
        if let Some(Value::Object(n)) = next.as_mut() {
            n.insert(
                "since".into(),
                position.get("since").cloned().unwrap_or(Value::Null),
            );
            n.insert("max".into(), max.clone().unwrap_or(Value::Null));
            n.insert("cursor_type".into(), json!(kind));
        }
        Ok(Page {
            records,
            cursor: max.map(|m| json!({"max": m, "type": kind})),
            next,
        })
    }
}

#[cfg(test)]
mod tests {
    use reqwest::header::{HeaderMap, HeaderValue};

    use super::*;

    #[test]
    fn link_headers_give_the_next_page() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "link",
            HeaderValue::from_static(
                r#"<https://api.example.com/items?page=1>; rel="prev", <https://api.example.com/items?page=3>; rel="next""#,
            ),
        );
        assert_eq!(
            next_link(&headers).as_deref(),
            Some("https://api.example.com/items?page=3")
        );
        assert_eq!(next_link(&HeaderMap::new()), None);
    }

    #[test]
    fn dotted_paths_reach_nested_arrays() {
        let body = json!({"data": {"items": [1, 2]}});
        assert_eq!(at_path(&body, "data.items"), Some(&json!([1, 2])));
        assert_eq!(at_path(&body, ""), Some(&body));
        assert_eq!(at_path(&body, "data.missing"), None);
    }
}
