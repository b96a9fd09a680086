//! A local Graph API insights endpoint: cursor paging through `paging.next` (with
//! `paging.cursors.after`), the throttling headers, and Graph's error shape (code 17 rate limit,
//! code 190 expired token).

use std::sync::{Arc, Mutex};

use axum::{
    Json, Router,
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
}

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
            .route("/{version}/{account}/insights", get(insights))
            .with_state(self.clone())
    }
}

fn graph_error(status: StatusCode, code: i64, message: &str) -> Response {
    let body = json!({"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbC"}});
    (status, Json(body)).into_response()
}

async fn insights(
    State(server): State<MetaServer>,
    Path((version, account)): Path<(String, String)>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    assert_eq!(version, "v19.0");
    assert_eq!(account, "act_1234");
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer meta-token") {
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
