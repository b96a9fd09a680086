//! Prometheus metrics: requests by function, method and status; latency histograms by
//! function; connection-pool and job-queue gauges read at scrape time.

use std::{sync::Arc, time::Duration};

use axum::{
    http::{Method, StatusCode, header},
    response::IntoResponse,
};
use gimbal_edge::{AppState, Function};
use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    function: &'static str,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FunctionLabels {
    function: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

fn latency_histogram() -> Histogram {
    // 1 ms to ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

pub struct Metrics {
    registry: Registry,
    names: Vec<&'static str>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<FunctionLabels, Histogram, fn() -> Histogram>,
    pool: Family<StateLabels, Gauge>,
    jobs: Family<StateLabels, Gauge>,
}

impl Metrics {
    pub fn new(functions: &[Function]) -> Self {
        let mut registry = Registry::with_prefix("gimbal");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<FunctionLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let pool = Family::<StateLabels, Gauge>::default();
        let jobs = Family::<StateLabels, Gauge>::default();
        registry.register(
            "http_requests",
            "HTTP requests by function, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Request latency by function",
            latency.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Database pool connections by state",
            pool.clone(),
        );
        registry.register("jobs", "Jobs in the queue by status", jobs.clone());
        let names = functions.iter().map(|f| f.name).collect();
        Metrics {
            registry,
            names,
            requests,
            latency,
            pool,
            jobs,
        }
    }

    /// The label for a path: a known function's name, an operations endpoint, or `other`
    /// (so arbitrary paths cannot blow up the label set).
    pub fn function_of(&self, path: &str) -> &'static str {
        let after = path.split("/functions/v1/").nth(1);
        if let Some(rest) = after {
            let slug = rest.split('/').next().unwrap_or_default();
            if let Some(name) = self.names.iter().find(|n| **n == slug) {
                return name;
            }
            return "other";
        }
        match path {
            "/health" => "_health",
            "/metrics" => "_metrics",
            "/openapi.json" => "_openapi",
            _ => "other",
        }
    }

    pub fn observe(
        &self,
        function: &'static str,
        method: &Method,
        status: StatusCode,
        took: Duration,
    ) {
        let labels = RequestLabels {
            function,
            method: method.to_string(),
            status: status.as_u16(),
        };
        self.requests.get_or_create(&labels).inc();
        self.latency
            .get_or_create(&FunctionLabels { function })
            .observe(took.as_secs_f64());
    }
}

pub async fn render(metrics: Arc<Metrics>, app: AppState) -> impl IntoResponse {
    let status = app.pool.status();
    for (state, value) in [
        ("size", status.size),
        ("available", status.available),
        ("waiting", status.waiting),
        ("max", status.max_size),
    ] {
        metrics
            .pool
            .get_or_create(&StateLabels {
                state: state.into(),
            })
            .set(value as i64);
    }
    match app.jobs.queue_depth().await {
        Ok(depths) => {
            // Statuses with no jobs are absent from the answer; they must read 0, not linger.
            for state in ["queued", "running", "succeeded", "dead", "cancelled"] {
                metrics
                    .jobs
                    .get_or_create(&StateLabels {
                        state: state.into(),
                    })
                    .set(0);
            }
            for (state, count) in depths {
                metrics
                    .jobs
                    .get_or_create(&StateLabels { state })
                    .set(count);
            }
        }
        Err(e) => tracing::warn!(error = %e, "queue depth unavailable for metrics"),
    }
    let mut body = String::new();
    if encode(&mut body, &metrics.registry).is_err() {
        return (StatusCode::INTERNAL_SERVER_ERROR, "metrics encoding failed").into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}
