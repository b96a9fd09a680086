//! Local HTTP servers that speak Twilio's Messages API and SendGrid's Mail Send the way the real
//! services do (paths, auth, form / JSON bodies, status codes, `Retry-After`, `X-Message-Id`),
//! for tests and benchmarks. Faults are scripted: the next requests can be answered with 429,
//! 500, or never (a hang, with or without the message having been taken), and listed numbers
//! are refused as opted out (21610) or invalid (21211).

use std::{
    collections::{HashMap, HashSet, VecDeque},
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use axum::{
    Form, Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::{Value, json};

pub const TWILIO_ACCOUNT_SID: &str = "AC00000000000000000000000000000001";
pub const TWILIO_AUTH_TOKEN: &str = "mock-twilio-auth-token";
pub const SENDGRID_API_KEY: &str = "SG.mock-sendgrid-key";

/// How to answer one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 429 with `Retry-After` (seconds).
    RateLimited { retry_after_secs: u64 },
    /// 500.
    ServerError,
    /// Never answers, without taking the message.
    Hang,
    /// Takes the message (it counts as received) and never answers: a crash of the caller
    /// while waiting leaves the outcome unknown.
    AcceptThenHang,
}

/// One message as the provider received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub to: String,
    pub from: Option<String>,
    pub subject: Option<String>,
    pub body: String,
    pub html: Option<String>,
    pub headers: HashMap<String, String>,
    pub custom_args: HashMap<String, String>,
    pub status_callback: Option<String>,
    pub attachments: Vec<Value>,
}

#[derive(Default)]
struct MockState {
    received: Mutex<Vec<Received>>,
    /// Messages taken, counted even when not recorded.
    count: AtomicU64,
    requests: AtomicU64,
    /// Keep only counts (benchmarks at a million messages).
    count_only: bool,
    faults: Mutex<VecDeque<Fault>>,
    always: Mutex<Option<Fault>>,
    opted_out: Mutex<HashSet<String>>,
    invalid: Mutex<HashSet<String>>,
}

/// A running mock provider.
#[derive(Clone)]
pub struct MockServer {
    pub addr: SocketAddr,
    state: Arc<MockState>,
}

impl MockServer {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers the next `n` requests with `fault`.
    pub fn fail_next(&self, n: usize, fault: Fault) {
        let mut faults = self.state.faults.lock().unwrap();
        faults.extend(std::iter::repeat_n(fault, n));
    }

    /// Answers every request with `fault` until cleared with `None`.
    pub fn fail_always(&self, fault: Option<Fault>) {
        *self.state.always.lock().unwrap() = fault;
    }

    /// Twilio: this number answers 21610 (opted out).
    pub fn opt_out(&self, to: &str) {
        self.state.opted_out.lock().unwrap().insert(to.to_string());
    }

    /// Twilio: 21211 (invalid number); SendGrid: 400 naming the address.
    pub fn invalid(&self, to: &str) {
        self.state.invalid.lock().unwrap().insert(to.to_string());
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    pub fn count(&self) -> u64 {
        self.state.count.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// How many times each recipient was sent to, for recipients sent to more than once.
    pub fn duplicates(&self) -> Vec<(String, usize)> {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for r in self.state.received.lock().unwrap().iter() {
            *counts.entry(r.to.clone()).or_default() += 1;
        }
        counts.into_iter().filter(|(_, n)| *n > 1).collect()
    }

    fn next_fault(&self) -> Option<Fault> {
        let queued = self.state.faults.lock().unwrap().pop_front();
        queued.or(*self.state.always.lock().unwrap())
    }

    fn take(&self, message: Received) {
        self.state.count.fetch_add(1, Ordering::SeqCst);
        if !self.state.count_only {
            self.state.received.lock().unwrap().push(message);
        }
    }
}

async fn serve(router: Router, state: Arc<MockState>) -> MockServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind mock provider");
    let addr = listener.local_addr().expect("mock address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    MockServer { addr, state }
}

fn new_state(count_only: bool) -> Arc<MockState> {
    Arc::new(MockState {
        count_only,
        ..MockState::default()
    })
}

/// Answers a scripted fault; `None` when the request should be served normally.
async fn fault_response(server: &MockServer, fault: Option<Fault>) -> Option<Response> {
    match fault? {
        Fault::RateLimited { retry_after_secs } => Some(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", retry_after_secs.to_string())],
                Json(json!({"code": 20429, "message": "Too Many Requests", "status": 429})),
            )
                .into_response(),
        ),
        Fault::ServerError => Some(
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({"errors": [{"message": "internal error"}]})),
            )
                .into_response(),
        ),
        Fault::Hang | Fault::AcceptThenHang => {
            let _ = server;
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Some(StatusCode::GATEWAY_TIMEOUT.into_response())
        }
    }
}

// ---------------------------------------------------------------------------
// Twilio
// ---------------------------------------------------------------------------

/// A Twilio Messages API on 127.0.0.1, accepting [`TWILIO_ACCOUNT_SID`]:[`TWILIO_AUTH_TOKEN`].
pub async fn twilio(count_only: bool) -> MockServer {
    let state = new_state(count_only);
    let server_state = state.clone();
    let router = Router::new()
        .route(
            "/2010-04-01/Accounts/{sid}/Messages.json",
            post(twilio_send),
        )
        .with_state(MockServer {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            state: server_state,
        });
    serve(router, state).await
}

async fn twilio_send(
    State(server): State<MockServer>,
    axum::extract::Path(sid): axum::extract::Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    server.state.requests.fetch_add(1, Ordering::SeqCst);
    let expected = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{TWILIO_ACCOUNT_SID}:{TWILIO_AUTH_TOKEN}")
        )
    );
    if sid != TWILIO_ACCOUNT_SID
        || headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str())
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"code": 20003, "message": "Authenticate", "status": 401})),
        )
            .into_response();
    }
    let fault = server.next_fault();
    let to = form.get("To").cloned().unwrap_or_default();
    let received = Received {
        to: to.clone(),
        from: form
            .get("From")
            .or_else(|| form.get("MessagingServiceSid"))
            .cloned(),
        subject: None,
        body: form.get("Body").cloned().unwrap_or_default(),
        html: None,
        headers: HashMap::new(),
        custom_args: HashMap::new(),
        status_callback: form.get("StatusCallback").cloned(),
        attachments: vec![],
    };
    if fault == Some(Fault::AcceptThenHang) {
        server.take(received.clone());
    }
    if let Some(response) = fault_response(&server, fault).await {
        return response;
    }
    if !to.starts_with('+') || !form.contains_key("Body") {
        return twilio_error(21604, "A 'To' phone number and a 'Body' are required.");
    }
    if !form.contains_key("From") && !form.contains_key("MessagingServiceSid") {
        return twilio_error(
            21603,
            "A 'From' or 'MessagingServiceSid' parameter is required",
        );
    }
    if server.state.opted_out.lock().unwrap().contains(&to) {
        return twilio_error(21610, "Attempt to send to unsubscribed recipient");
    }
    if server.state.invalid.lock().unwrap().contains(&to) {
        return twilio_error(21211, "The 'To' number is not a valid phone number.");
    }
    server.take(received);
    let sid = format!("SM{}", uuid::Uuid::new_v4().simple());
    (
        StatusCode::CREATED,
        Json(json!({
            "sid": sid, "status": "queued", "to": to, "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": form.get("Body"), "num_segments": "1", "error_code": null,
            "error_message": null, "account_sid": TWILIO_ACCOUNT_SID,
        })),
    )
        .into_response()
}

fn twilio_error(code: i64, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"code": code, "message": message, "status": 400,
                    "more_info": format!("https://www.twilio.com/docs/errors/{code}")})),
    )
        .into_response()
}

// ---------------------------------------------------------------------------
// SendGrid
// ---------------------------------------------------------------------------

/// A SendGrid Mail Send endpoint on 127.0.0.1, accepting `Bearer` [`SENDGRID_API_KEY`].
pub async fn sendgrid(count_only: bool) -> MockServer {
    let state = new_state(count_only);
    let router = Router::new()
        .route("/v3/mail/send", post(sendgrid_send))
        .with_state(MockServer {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            state: state.clone(),
        })
        .layer(axum::extract::DefaultBodyLimit::max(30 * 1024 * 1024));
    serve(router, state).await
}

fn sendgrid_error(status: StatusCode, message: &str, field: Option<&str>) -> Response {
    (
        status,
        Json(json!({"errors": [{"message": message, "field": field, "help": null}]})),
    )
        .into_response()
}

async fn sendgrid_send(
    State(server): State<MockServer>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    server.state.requests.fetch_add(1, Ordering::SeqCst);
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some(format!("Bearer {SENDGRID_API_KEY}").as_str()) {
        return sendgrid_error(
            StatusCode::UNAUTHORIZED,
            "The provided authorization grant is invalid, expired, or revoked",
            None,
        );
    }
    let fault = server.next_fault();
    let personalizations = body["personalizations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let received: Vec<Received> = personalizations
        .iter()
        .map(|p| personalization(&body, p))
        .collect();
    if fault == Some(Fault::AcceptThenHang) {
        received.into_iter().for_each(|r| server.take(r));
        let _ = fault_response(&server, fault).await;
        return StatusCode::GATEWAY_TIMEOUT.into_response();
    }
    if let Some(response) = fault_response(&server, fault).await {
        return response;
    }
    if personalizations.is_empty() || personalizations.len() > 1000 {
        return sendgrid_error(
            StatusCode::BAD_REQUEST,
            "The personalizations field must have between 1 and 1000 items.",
            Some("personalizations"),
        );
    }
    if body["from"]["email"].as_str().is_none() {
        return sendgrid_error(
            StatusCode::BAD_REQUEST,
            "The from email is required.",
            Some("from.email"),
        );
    }
    let invalid = server.state.invalid.lock().unwrap().clone();
    if let Some(n) = received.iter().position(|r| invalid.contains(&r.to)) {
        return sendgrid_error(
            StatusCode::BAD_REQUEST,
            "Does not contain a valid address.",
            Some(&format!("personalizations.{n}.to")),
        );
    }
    received.into_iter().for_each(|r| server.take(r));
    let id = uuid::Uuid::new_v4().simple().to_string();
    (StatusCode::ACCEPTED, [("x-message-id", &id[..22])]).into_response()
}

/// One personalization as the recipient would see it (substitutions applied).
fn personalization(body: &Value, p: &Value) -> Received {
    let strings = |v: &Value| -> HashMap<String, String> {
        v.as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let subs = strings(&p["substitutions"]);
    let substitute = |text: &str| {
        subs.iter().fold(text.to_string(), |acc, (tag, value)| {
            acc.replace(tag, value)
        })
    };
    let content = |kind: &str| {
        body["content"].as_array().and_then(|c| {
            c.iter()
                .find(|c| c["type"] == kind)
                .and_then(|c| c["value"].as_str())
                .map(substitute)
        })
    };
    Received {
        to: p["to"][0]["email"].as_str().unwrap_or_default().to_string(),
        from: body["from"]["email"].as_str().map(str::to_string),
        subject: p["subject"]
            .as_str()
            .or_else(|| body["subject"].as_str())
            .map(str::to_string),
        body: content("text/plain").unwrap_or_default(),
        html: content("text/html"),
        headers: strings(&p["headers"]),
        custom_args: strings(&p["custom_args"]),
        status_callback: None,
        attachments: body["attachments"].as_array().cloned().unwrap_or_default(),
    }
}
