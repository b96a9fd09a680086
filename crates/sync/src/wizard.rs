//! The connection wizard's two questions, answered within seconds: does this source connect
//! (`test`), and what does it offer (`preview`: streams, columns, first rows). Provider calls are
//! not retried here and the whole answer is bounded by a timeout, so a person waiting on a form
//! gets a verdict, not a spinner; failures come back as an actionable kind (auth_failed,
//! host_unreachable, permission_denied, quota, timeout, tls_failed, invalid_config) and a message.

use std::time::{Duration, Instant};

use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    Backoff, ConnectorError, Record, StreamInfo,
    access::ResolvedSource,
    connector::Connector,
    sources::{self, ProviderUrls, SourceSpec},
};

/// The wizard's whole budget for one answer.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(10);

/// A verdict: `ok`, or what went wrong in terms a person can act on.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Verdict {
    pub ok: bool,
    /// `auth_failed`, `host_unreachable`, `permission_denied`, `quota`, `timeout`, `tls_failed`,
    /// `invalid_config`, `unknown_stream` or `provider_error`.
    pub error: Option<&'static str>,
    pub message: Option<String>,
    /// The setting at fault, for `invalid_config`.
    pub field: Option<String>,
    pub duration_ms: u64,
}

/// What a source offers, and its first rows.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Preview {
    #[serde(flatten)]
    pub verdict: Verdict,
    pub streams: Vec<StreamInfo>,
    pub stream: Option<String>,
    pub rows: Vec<Record>,
}

fn verdict(started: Instant, result: Result<(), ConnectorError>) -> Verdict {
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match result {
        Ok(()) => Verdict {
            ok: true,
            error: None,
            message: None,
            field: None,
            duration_ms,
        },
        Err(e) => Verdict {
            ok: false,
            error: Some(e.kind()),
            field: match &e {
                ConnectorError::Config { field, .. } => Some(field.clone()),
                _ => None,
            },
            message: Some(e.to_string()),
            duration_ms,
        },
    }
}

async fn bounded<T>(
    future: impl std::future::Future<Output = Result<T, ConnectorError>>,
) -> Result<T, ConnectorError> {
    tokio::time::timeout(ANSWER_WITHIN, future)
        .await
        .unwrap_or_else(|_| {
            Err(ConnectorError::Timeout(format!(
                "no answer within {} s",
                ANSWER_WITHIN.as_secs()
            )))
        })
}

fn connector(
    source: ResolvedSource,
    urls: &ProviderUrls,
    http: &reqwest::Client,
) -> Result<sources::AnyConnector, ConnectorError> {
    let no_retries = Backoff {
        attempts: 1,
        ..Backoff::default()
    };
    sources::build(
        SourceSpec {
            kind: &source.kind,
            config: &source.config,
            credentials: source.credentials,
        },
        urls,
        http,
        no_retries,
    )
}

pub async fn test(source: ResolvedSource, urls: &ProviderUrls, http: &reqwest::Client) -> Verdict {
    let started = Instant::now();
    let result = match connector(source, urls, http) {
        Ok(c) => bounded(c.test()).await,
        Err(e) => Err(e),
    };
    verdict(started, result)
}

pub async fn preview(
    source: ResolvedSource,
    stream: Option<String>,
    limit: usize,
    urls: &ProviderUrls,
    http: &reqwest::Client,
) -> Preview {
    let started = Instant::now();
    let mut out = Preview {
        verdict: verdict(started, Ok(())),
        streams: Vec::new(),
        stream: None,
        rows: Vec::new(),
    };
    let result = async {
        let c = connector(source, urls, http)?;
        let work = async {
            out.streams = c.discover().await?;
            let stream = stream.unwrap_or_else(|| c.stream());
            out.rows = c.preview(&stream, limit).await?;
            out.stream = Some(stream);
            Ok(())
        };
        bounded(work).await
    }
    .await;
    out.verdict = verdict(started, result);
    out
}
