//! A local Graph API insights endpoint: cursor paging through `paging.next` (with
//! `paging.cursors.after`), the throttling headers, and Graph's error shape (code 17 rate limit,
//! code 190 expired token); and async report jobs: `POST /act_{id}/insights` answers a
//! `report_run_id`, `GET /{id}` its `async_status` and `async_percent_completion` (running for
//! the first looks), `GET /{id}/insights` the job's rows with the same cursor paging.

use std::sync::{Arc, Mutex};

use axum::{
    Form, Json, Router,
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
};
use chrono::NaiveDate;
use serde_json::{Value, json};

pub const CAMPAIGNS: [(&str, &str); 2] = [("2380001", "Spring sale"), ("2380002", "Retargeting")];

#[derive(Default)]
pub struct MetaState {
    /// `after` cursors requested, in order (empty for the first page).
    pub afters: Vec<String>,
    /// Usage header value sent with every answer.
    pub business_usage: Option<String>,
    /// Answer error 17 (rate limit) once at this `after`.
    pub rate_limit_at: Option<String>,
    pub query_seen: Option<Vec<(String, String)>>,
    /// The parameters each async job was started with.
    pub jobs: Vec<Vec<(String, String)>>,
    /// Looks at a job that answer "Job Running" before it is complete.
    pub job_running_looks: u32,
    /// Looks at job status so far.
    pub job_looks: u32,
    /// Answer "Job Failed" instead of completing.
    pub job_fails: bool,
}

pub const REPORT_RUN_ID: &str = "6001234567";

#[derive(Clone)]
pub struct MetaServer {
    pub state: Arc<Mutex<MetaState>>,
    pub base: Arc<Mutex<String>>,
}

impl MetaServer {
    pub fn new() -> Self {
        MetaServer {
            state: Arc::new(Mutex::new(MetaState::default())),
            base: Arc::new(Mutex::new(String::new())),
        }
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route(
                "/{version}/{account}/insights",
                get(insights).post(start_job),
            )
            .route("/{version}/{object}", get(job_status))
            .with_state(self.clone())
    }
}

fn graph_error(status: StatusCode, code: i64, message: &str) -> Response {
    let body = json!({"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbC"}});
    (status, Json(body)).into_response()
}

fn authorised(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer meta-token")
}

async fn start_job(
    State(server): State<MetaServer>,
    Path((version, account)): Path<(String, String)>,
    headers: HeaderMap,
    Form(params): Form<Vec<(String, String)>>,
) -> Response {
    assert_eq!((version.as_str(), account.as_str()), ("v19.0", "act_1234"));
    if !authorised(&headers) {
        return graph_error(StatusCode::BAD_REQUEST, 190, "Session has expired.");
    }
    server.state.lock().unwrap().jobs.push(params);
    Json(json!({"report_run_id": REPORT_RUN_ID})).into_response()
}

async fn job_status(
    State(server): State<MetaServer>,
    Path((version, object)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    assert_eq!(
        (version.as_str(), object.as_str()),
        ("v19.0", REPORT_RUN_ID)
    );
    if !authorised(&headers) {
        return graph_error(StatusCode::BAD_REQUEST, 190, "Session has expired.");
    }
    let mut s = server.state.lock().unwrap();
    s.job_looks += 1;
    let (status, percent) = if s.job_fails {
        ("Job Failed", 0)
    } else if s.job_looks <= s.job_running_looks {
        ("Job Running", 40 * s.job_looks)
    } else {
        ("Job Completed", 100)
    };
    Json(json!({
        "id": REPORT_RUN_ID, "account_id": "1234",
        "async_status": status, "async_percent_completion": percent
    }))
    .into_response()
}

async fn insights(
    State(server): State<MetaServer>,
    Path((version, account)): Path<(String, String)>,
    Query(mut query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    assert_eq!(version, "v19.0");
    if account == REPORT_RUN_ID {
        // A finished job's rows: the job's own parameters, this request's paging.
        let job = server.state.lock().unwrap().jobs.last().cloned().unwrap();
        let paging = ["limit", "after"];
        query.retain(|(k, _)| paging.contains(&k.as_str()));
        query.extend(
            job.into_iter()
                .filter(|(k, _)| !paging.contains(&k.as_str())),
        );
    } else {
        assert_eq!(account, "act_1234");
    }
    if !authorised(&headers) {
        return graph_error(
            StatusCode::BAD_REQUEST,
            190,
            "Error validating access token: Session has expired.",
        );
    }
    let get = |k: &str| {
        query
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let after = get("after").unwrap_or_default();
    let usage = {
        let mut s = server.state.lock().unwrap();
        s.afters.push(after.clone());
        s.query_seen.get_or_insert(query.clone());
        if s.rate_limit_at.as_deref() == Some(after.as_str()) {
            s.rate_limit_at = None;
            return graph_error(StatusCode::BAD_REQUEST, 17, "User request limit reached");
        }
        s.business_usage.clone()
    };
    let range: Value = serde_json::from_str(&get("time_range").unwrap()).unwrap();
    let day = |k: &str| range[k].as_str().unwrap().parse::<NaiveDate>().unwrap();
    let limit: usize = get("limit").unwrap().parse().unwrap();
    let mut rows = Vec::new();
    let mut date = day("since");
    while date <= day("until") {
        for (id, name) in CAMPAIGNS {
            rows.push(json!({
                "campaign_id": id, "campaign_name": name,
                "impressions": "1000", "clicks": "25", "spend": "12.34",
                "date_start": date.to_string(), "date_stop": date.to_string()
            }));
        }
        date = date.succ_opt().unwrap();
    }
    let start: usize = if after.is_empty() {
        0
    } else {
        after.trim_start_matches('c').parse().unwrap()
    };
    let page: Vec<Value> = rows.iter().skip(start).take(limit).cloned().collect();
    let end = start + page.len();
    let mut paging =
        json!({"cursors": {"before": format!("c{start}"), "after": format!("c{end}")}});
    if end < rows.len() {
        let base = server.base.lock().unwrap().clone();
        let mut next =
            reqwest::Url::parse(&format!("{base}/{version}/{account}/insights")).unwrap();
        {
            let mut pairs = next.query_pairs_mut();
            for (k, v) in query.iter().filter(|(k, _)| k != "after") {
                pairs.append_pair(k, v);
            }
            pairs.append_pair("after", &format!("c{end}"));
        }
        paging["next"] = Value::String(next.to_string());
    }
    let mut response = Json(json!({"data": page, "paging": paging})).into_response();
    if let Some(usage) = usage {
        response.headers_mut().insert(
            "x-business-use-case-usage",
            HeaderValue::from_str(&usage).unwrap(),
        );
    }
    response
}
