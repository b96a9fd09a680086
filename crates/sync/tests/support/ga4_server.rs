//! A local GA4 Data API: `runReport` with `offset`/`limit` paging and `rowCount`, the property's
//! catalogue from `GET …/metadata` (`apiName`, `uiName`, metric `type`), Google's error
//! shape (429 RESOURCE_EXHAUSTED, 401 UNAUTHENTICATED), and an OAuth token endpoint accepting
//! refresh tokens and service-account JWT assertions (checked against the test key).

use std::sync::{Arc, Mutex};

use axum::{
    Form, Json, Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::NaiveDate;
use serde_json::{Value, json};
use tokio::sync::Notify;

pub const CHANNELS: [&str; 5] = [
    "Direct",
    "Email",
    "Organic Search",
    "Paid Social",
    "Referral",
];

#[derive(Default)]
pub struct Ga4State {
    /// Offsets requested, in order.
    pub offsets: Vec<u64>,
    pub tokens_issued: u32,
    /// Answer 429 RESOURCE_EXHAUSTED this many times at this offset.
    pub quota_at: Option<(u64, u32)>,
    /// Reject the first token after this many successful reports (it "expires").
    pub expire_first_token_after: Option<u32>,
    pub reports_served: u32,
    /// Added to every sessions figure (data revised after the fact).
    pub revision: i64,
    /// Requests at this offset wait for `gate` before answering.
    pub hold_at: Option<u64>,
    pub assertion_claims: Option<Value>,
    /// `propertyQuota.tokensPerHour.remaining` reported after this many reports.
    pub hourly_tokens_after: Option<(u32, i64)>,
}

#[derive(Clone)]
pub struct Ga4Server {
    pub state: Arc<Mutex<Ga4State>>,
    pub gate: Arc<Notify>,
}

impl Ga4Server {
    pub fn new() -> Self {
        Ga4Server {
            state: Arc::new(Mutex::new(Ga4State::default())),
            gate: Arc::new(Notify::new()),
        }
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/v1beta/properties/{call}", post(run_report))
            .route("/v1beta/properties/{id}/metadata", get(metadata))
            .route("/token", post(token))
            .with_state(self.clone())
    }

    pub fn offsets(&self) -> Vec<u64> {
        self.state.lock().unwrap().offsets.clone()
    }
}

fn google_error(status: StatusCode, name: &str, message: &str) -> Response {
    let body = json!({"error": {"code": status.as_u16(), "message": message, "status": name}});
    (status, Json(body)).into_response()
}

/// A property's metadata, as Google answers it (a custom dimension and metric included).
async fn metadata(Path(id): Path<String>, headers: HeaderMap) -> Response {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !token.starts_with("Bearer tok-") {
        return google_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials.",
        );
    }
    Json(json!({
        "name": format!("properties/{id}/metadata"),
        "dimensions": [
            {"apiName": "city", "uiName": "City", "description": "The city.", "category": "Geography"},
            {"apiName": "date", "uiName": "Date", "description": "YYYYMMDD", "category": "Time"},
            {"apiName": "sessionDefaultChannelGroup", "uiName": "Session default channel group", "category": "Traffic source"},
            {"apiName": "customEvent:plan", "uiName": "Plan", "customDefinition": true, "category": "Custom"}
        ],
        "metrics": [
            {"apiName": "averageSessionDuration", "uiName": "Average session duration", "type": "TYPE_SECONDS", "category": "Session"},
            {"apiName": "sessions", "uiName": "Sessions", "type": "TYPE_INTEGER", "category": "Session"},
            {"apiName": "totalRevenue", "uiName": "Total revenue", "type": "TYPE_CURRENCY", "category": "Revenue"},
            {"apiName": "totalUsers", "uiName": "Total users", "type": "TYPE_INTEGER", "category": "User"},
            {"apiName": "customEvent:levels_unlocked", "uiName": "Levels unlocked", "type": "TYPE_STANDARD", "customDefinition": true}
        ]
    }))
    .into_response()
}

async fn run_report(
    State(server): State<Ga4Server>,
    Path(call): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    assert!(call.ends_with(":runReport"), "{call}");
    let offset = body["offset"].as_u64().unwrap_or(0);
    let limit = body["limit"].as_u64().unwrap_or(10_000);
    let hold = {
        let mut s = server.state.lock().unwrap();
        s.offsets.push(offset);
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let expired = token == "Bearer tok-1"
            && s.expire_first_token_after
                .is_some_and(|n| s.reports_served >= n);
        if !token.starts_with("Bearer tok-") || expired {
            return google_error(
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials.",
            );
        }
        if let Some((at, left)) = s.quota_at
            && at == offset
            && left > 0
        {
            s.quota_at = Some((at, left - 1));
            return google_error(
                StatusCode::TOO_MANY_REQUESTS,
                "RESOURCE_EXHAUSTED",
                "Exhausted property tokens per hour for a project per property.",
            );
        }
        s.reports_served += 1;
        s.hold_at == Some(offset)
    };
    if hold {
        server.gate.notified().await;
    }
    let range = &body["dateRanges"][0];
    let day = |k: &str| range[k].as_str().unwrap().parse::<NaiveDate>().unwrap();
    let (start, end) = (day("startDate"), day("endDate"));
    let (revision, remaining) = {
        let s = server.state.lock().unwrap();
        let remaining = match s.hourly_tokens_after {
            Some((after, left)) if s.reports_served >= after => left,
            _ => 39_999,
        };
        (s.revision, remaining)
    };
    let mut all = Vec::new();
    let mut date = start;
    while date <= end {
        for (i, channel) in CHANNELS.iter().enumerate() {
            let sessions = 100 + i as i64 * 10 + revision;
            all.push(json!({
                "dimensionValues": [{"value": date.format("%Y%m%d").to_string()}, {"value": channel}],
                "metricValues": [{"value": sessions.to_string()}, {"value": (sessions / 2).to_string()}, {"value": format!("{}.50", i)}]
            }));
        }
        date = date.succ_opt().unwrap();
    }
    let rows: Vec<Value> = all
        .iter()
        .skip(offset as usize)
        .take(limit as usize)
        .cloned()
        .collect();
    Json(json!({
        "dimensionHeaders": [{"name": "date"}, {"name": "sessionDefaultChannelGroup"}],
        "metricHeaders": [
            {"name": "sessions", "type": "TYPE_INTEGER"},
            {"name": "totalUsers", "type": "TYPE_INTEGER"},
            {"name": "totalRevenue", "type": "TYPE_CURRENCY"}
        ],
        "rows": rows,
        "rowCount": all.len(),
        "metadata": {"currencyCode": "USD", "timeZone": "UTC"},
        "propertyQuota": {
            "tokensPerHour": {"consumed": 1, "remaining": remaining},
            "tokensPerDay": {"consumed": 1, "remaining": 199_999}
        },
        "kind": "analyticsData#runReport"
    }))
    .into_response()
}

async fn token(
    State(server): State<Ga4Server>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| {
        form.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let grant = get("grant_type").unwrap_or_default();
    let ok = match grant.as_str() {
        "refresh_token" => {
            get("refresh_token").as_deref() == Some("refresh-good")
                && get("client_secret").as_deref() == Some("client-secret")
        }
        "urn:ietf:params:oauth:grant-type:jwt-bearer" => {
            let assertion = get("assertion").unwrap_or_default();
            let public = std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/service-account-test-key.pub.pem"
            ))
            .unwrap();
            let key = jsonwebtoken::DecodingKey::from_rsa_pem(&public).unwrap();
            let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
            validation.set_audience(&[get("audience_expected").unwrap_or_default()]);
            validation.validate_aud = false;
            match jsonwebtoken::decode::<Value>(&assertion, &key, &validation) {
                Ok(data) => {
                    server.state.lock().unwrap().assertion_claims = Some(data.claims);
                    true
                }
                Err(_) => false,
            }
        }
        _ => false,
    };
    if !ok {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."})),
        )
            .into_response();
    }
    let mut s = server.state.lock().unwrap();
    s.tokens_issued += 1;
    Json(json!({"access_token": format!("tok-{}", s.tokens_issued), "expires_in": 3599, "token_type": "Bearer"}))
        .into_response()
}
