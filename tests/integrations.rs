//! `integrations`: provider credentials are write-only (sealed with AES-256-GCM, only metadata
//! comes back), connection tests report exactly what failed against local servers speaking
//! each provider's API, no secret reaches a response, a log line or the audit trail, and key
//! rotation re-encrypts everything while old ciphertexts keep opening until it has run.

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use axum::{
    Form, Json, Router,
    extract::Path,
    http::{HeaderMap, StatusCode as AxumStatus},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use base64::Engine;
use gimbal_admin::integrations::{self, Provider};
use gimbal_db::{Access, RequestScope};
use gimbal_e2e::{Options, TestApp};
use gimbal_secrets::{Keyring, SecretError};
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};

const SID: &str = "AC0123456789abcdef0123456789abcdef";
/// A SID whose account endpoint fails with a server error.
const BROKEN_SID: &str = "AC00000000000000000000000000000500";
const TWILIO_TOKEN: &str = "twilio-token-PLAINTEXT-7f3a";
const SENDGRID_KEY: &str = "SG.sendgrid-key-PLAINTEXT-91bc";
const SENDGRID_READONLY: &str = "SG.readonly-PLAINTEXT-5555";
const GA4_SECRET: &str = "ga4-client-secret-PLAINTEXT";
const GA4_REFRESH: &str = "ga4-refresh-PLAINTEXT-1/xyz";
const META_TOKEN: &str = "EAAB-meta-token-PLAINTEXT";
const PLAINTEXTS: [&str; 6] = [
    TWILIO_TOKEN,
    SENDGRID_KEY,
    SENDGRID_READONLY,
    GA4_SECRET,
    GA4_REFRESH,
    META_TOKEN,
];
const TEST_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string)
}

/// Twilio: `GET /2010-04-01/Accounts/{Sid}.json`, HTTP Basic with SID and auth token.
async fn twilio_account(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let sid = file.trim_end_matches(".json").to_string();
    if sid == BROKEN_SID {
        return (
            AxumStatus::INTERNAL_SERVER_ERROR,
            "<html>upstream error</html>",
        )
            .into_response();
    }
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TWILIO_TOKEN}"))
    );
    if sid != SID
        || headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str())
    {
        return (
            AxumStatus::UNAUTHORIZED,
            Json(json!({"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401})),
        )
            .into_response();
    }
    Json(json!({"sid": SID, "friendly_name": "Gimbal", "status": "active", "type": "Full"}))
        .into_response()
}

/// SendGrid: `GET /v3/scopes` with a bearer API key.
async fn sendgrid_scopes(headers: HeaderMap) -> Response {
    match bearer(&headers).as_deref() {
        Some(SENDGRID_KEY) => {
            Json(json!({"scopes": ["mail.send", "user.profile.read"]})).into_response()
        }
        Some(SENDGRID_READONLY) => Json(json!({"scopes": ["user.profile.read"]})).into_response(),
        _ => (
            AxumStatus::UNAUTHORIZED,
            Json(json!({"errors": [{"field": null, "message": "authorization required"}]})),
        )
            .into_response(),
    }
}

/// Google's token endpoint: the refresh-token grant, form-encoded.
async fn google_token(Form(form): Form<Vec<(String, String)>>) -> Response {
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if get("grant_type") != Some("refresh_token") {
        return (
            AxumStatus::BAD_REQUEST,
            Json(json!({"error": "unsupported_grant_type"})),
        )
            .into_response();
    }
    if get("client_secret") == Some(GA4_SECRET) && get("refresh_token") == Some(GA4_REFRESH) {
        return Json(json!({
            "access_token": "ya29.a0-access",
            "expires_in": 3599,
            "scope": "https://www.googleapis.com/auth/analytics.readonly",
            "token_type": "Bearer"
        }))
        .into_response();
    }
    (
        AxumStatus::BAD_REQUEST,
        Json(json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."})),
    )
        .into_response()
}

/// Meta Graph: `GET /v21.0/me`.
async fn meta_me(headers: HeaderMap) -> Response {
    if bearer(&headers).as_deref() == Some(META_TOKEN) {
        return Json(json!({"id": "1234567890", "name": "Gimbal Ads"})).into_response();
    }
    (
        AxumStatus::BAD_REQUEST,
        Json(json!({"error": {"message": "Invalid OAuth access token - Cannot parse access token", "type": "OAuthException", "code": 190}})),
    )
        .into_response()
}

async fn providers() -> String {
    let router = Router::new()
        .route("/2010-04-01/Accounts/{file}", get(twilio_account))
        .route("/v3/scopes", get(sendgrid_scopes))
        .route("/token", post(google_token))
        .route("/v21.0/me", get(meta_me));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

async fn app_with_providers(base: &str) -> TestApp {
    TestApp::spawn_with(Options {
        env: vec![
            ("TWILIO_API_URL", base.to_string()),
            ("SENDGRID_API_URL", base.to_string()),
            ("GOOGLE_OAUTH_TOKEN_URL", format!("{base}/token")),
            ("META_GRAPH_API_URL", base.to_string()),
        ],
        ..Options::default()
    })
    .await
}

async fn call(
    app: &TestApp,
    role: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, String) {
    let response = app
        .invoke(
            method,
            &format!("integrations{path}"),
            Some(&app.token(role)),
            body,
        )
        .await;
    let status = response.status();
    (status, response.text().await.unwrap())
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn twilio(token: &str, sid: &str) -> Value {
    json!({"account_sid": sid, "auth_token": token, "from_number": "+15550100100"})
}

#[tokio::test]
async fn only_admins_and_the_service_role_manage_integrations() {
    let base = providers().await;
    let app = app_with_providers(&base).await;
    app.load_fixtures().await;
    for role in ["anon", "viewer", "user"] {
        for (method, path, body) in [
            (Method::GET, "", None),
            (Method::GET, "/twilio", None),
            (Method::PUT, "/twilio", Some(twilio(TWILIO_TOKEN, SID))),
            (Method::DELETE, "/twilio", None),
            (Method::POST, "/twilio/test", None),
        ] {
            let (status, _) = call(&app, role, method.clone(), path, body).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{role} {method} {path}");
        }
    }
    let (status, _) = call(
        &app,
        "admin",
        Method::PUT,
        "/twilio",
        Some(twilio(TWILIO_TOKEN, SID)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for role in ["admin", "service_role"] {
        let (status, body) = call(&app, role, Method::GET, "", None).await;
        assert_eq!(status, StatusCode::OK, "{role}");
        let list = json_of(&body);
        assert_eq!(list.as_array().unwrap().len(), 4);
        assert_eq!(list[0]["provider"], "twilio");
        assert_eq!(list[0]["configured"], true);
        assert_eq!(list[1]["configured"], false);
        let (status, body) = call(&app, role, Method::POST, "/twilio/test", None).await;
        assert_eq!(
            (status, json_of(&body)["outcome"].as_str()),
            (StatusCode::OK, Some("ok")),
            "{role}"
        );
    }
    // connection tests are security events, with who ran them; refusals too.
    let rows = app
        .db
        .superuser()
        .await
        .query(
            "select action, actor_role from public.audit_logs where kind = 'security' order by id",
            &[],
        )
        .await
        .unwrap();
    let events: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let tested: Vec<&str> = events
        .iter()
        .filter(|(a, _)| a == "integration.tested")
        .map(|(_, r)| r.as_str())
        .collect();
    assert_eq!(tested, ["admin", "service_role"]);
    assert_eq!(
        events.iter().filter(|(a, _)| a == "access.denied").count(),
        15,
        "three roles, five refused calls each"
    );
}

#[tokio::test]
async fn credentials_are_sealed_and_only_metadata_comes_back() {
    let base = providers().await;
    let app = app_with_providers(&base).await;
    app.load_fixtures().await;

    let (status, body) = call(
        &app,
        "admin",
        Method::PUT,
        "/twilio",
        Some(twilio(TWILIO_TOKEN, SID)),
    )
    .await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        !body.contains(TWILIO_TOKEN) && !body.contains("7f3a"),
        "{body}"
    );
    let view = json_of(&body);
    assert_eq!(
        view["fields"]["account_sid"],
        json!({"set": true, "hint": "…cdef"})
    );
    assert_eq!(view["fields"]["auth_token"], json!({"set": true}));
    assert_eq!(
        view["fields"]["messaging_service_sid"],
        json!({"set": false})
    );
    assert_eq!(view["key_id"], "k1");
    let row = app
        .db
        .superuser()
        .await
        .query_one("select ciphertext, key_id, created_by::text from public.secrets where scope = 'provider' and name = 'twilio'", &[])
        .await
        .unwrap();
    let ciphertext: Vec<u8> = row.get(0);
    assert!(!String::from_utf8_lossy(&ciphertext).contains("PLAINTEXT"));
    assert_eq!(row.get::<_, String>(1), "k1");
    assert_eq!(row.get::<_, String>(2), gimbal_e2e::ADMIN);

    // replacing keeps one row; removing leaves it unconfigured.
    let (status, _) = call(
        &app,
        "admin",
        Method::PUT,
        "/twilio",
        Some(twilio("another-token", SID)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(&app, "admin", Method::DELETE, "/twilio", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = call(&app, "admin", Method::POST, "/twilio/test", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[tokio::test]
async fn invalid_credentials_name_the_field() {
    let base = providers().await;
    let app = app_with_providers(&base).await;
    app.load_fixtures().await;
    for (path, body, field) in [
        ("/twilio", json!({"account_sid": SID}), "auth_token"),
        (
            "/twilio",
            json!({"account_sid": "AC123", "auth_token": "x"}),
            "account_sid",
        ),
        (
            "/sendgrid",
            json!({"api_key": "SG.x", "from_email": "nobody"}),
            "from_email",
        ),
        (
            "/ga4",
            json!({"client_id": "id", "client_secret": "s"}),
            "refresh_token",
        ),
        (
            "/meta",
            json!({"access_token": "t", "password": "x"}),
            "password",
        ),
    ] {
        let (status, response) = call(&app, "admin", Method::PUT, path, Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path} {body}");
        assert_eq!(json_of(&response)["field"], field, "{path}");
    }
    let (status, _) = call(&app, "admin", Method::PUT, "/mailchimp", Some(json!({}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn test_outcome(app: &TestApp, provider: &str, body: Value) -> Value {
    let (status, response) = call(
        app,
        "admin",
        Method::PUT,
        &format!("/{provider}"),
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{response}");
    let (status, response) = call(
        app,
        "admin",
        Method::POST,
        &format!("/{provider}/test"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{response}");
    json_of(&response)
}

#[tokio::test]
async fn connection_tests_report_exactly_what_failed() {
    let base = providers().await;
    let app = app_with_providers(&base).await;
    app.load_fixtures().await;
    let cases = [
        ("twilio", twilio(TWILIO_TOKEN, SID), "ok", Some(200)),
        (
            "twilio",
            twilio("wrong-token", SID),
            "auth_failed",
            Some(401),
        ),
        (
            "twilio",
            twilio(TWILIO_TOKEN, BROKEN_SID),
            "unexpected_response",
            Some(500),
        ),
        (
            "sendgrid",
            json!({"api_key": SENDGRID_KEY}),
            "ok",
            Some(200),
        ),
        (
            "sendgrid",
            json!({"api_key": SENDGRID_READONLY}),
            "missing_permission",
            Some(200),
        ),
        (
            "sendgrid",
            json!({"api_key": "SG.revoked"}),
            "auth_failed",
            Some(401),
        ),
        (
            "ga4",
            json!({"client_id": "cid.apps.googleusercontent.com", "client_secret": GA4_SECRET, "refresh_token": GA4_REFRESH}),
            "ok",
            Some(200),
        ),
        (
            "ga4",
            json!({"client_id": "cid.apps.googleusercontent.com", "client_secret": GA4_SECRET, "refresh_token": "revoked"}),
            "auth_failed",
            Some(400),
        ),
        ("meta", json!({"access_token": META_TOKEN}), "ok", Some(200)),
        (
            "meta",
            json!({"access_token": "expired"}),
            "auth_failed",
            Some(400),
        ),
    ];
    for (provider, body, outcome, status) in cases {
        let report = test_outcome(&app, provider, body.clone()).await;
        assert_eq!(report["outcome"], outcome, "{provider} {body}: {report}");
        assert_eq!(report["ok"], outcome == "ok");
        assert_eq!(
            report["http_status"].as_u64(),
            status.map(|s| s as u64),
            "{report}"
        );
        assert_eq!(report["provider"], provider);
    }
    let report = test_outcome(
        &app,
        "ga4",
        json!({"client_id": "c", "client_secret": GA4_SECRET, "refresh_token": "revoked"}),
    )
    .await;
    assert!(
        report["detail"]
            .as_str()
            .unwrap()
            .contains("expired or revoked"),
        "{report}"
    );
}

#[tokio::test]
async fn an_unreachable_provider_is_reported_as_unreachable() {
    // a port that was free a moment ago: nothing listens there.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let app = app_with_providers(&closed).await;
    app.load_fixtures().await;
    for (provider, body) in [
        ("twilio", twilio(TWILIO_TOKEN, SID)),
        ("sendgrid", json!({"api_key": SENDGRID_KEY})),
        (
            "ga4",
            json!({"client_id": "c", "client_secret": GA4_SECRET, "refresh_token": GA4_REFRESH}),
        ),
        ("meta", json!({"access_token": META_TOKEN})),
    ] {
        let report = test_outcome(&app, provider, body).await;
        assert_eq!(report["outcome"], "unreachable", "{provider}: {report}");
        assert!(report["http_status"].is_null());
        assert!(
            report["detail"]
                .as_str()
                .unwrap()
                .contains("Connection refused"),
            "the cause is named: {report}"
        );
    }
}

/// A writer the log subscriber shares with the test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_in_any_response_log_line_or_audit_row() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
        .with_writer(move || writer.clone())
        .json()
        .init();
    let base = providers().await;
    let app = app_with_providers(&base).await;
    app.load_fixtures().await;
    let mut responses = String::new();
    for (provider, body) in [
        ("twilio", twilio(TWILIO_TOKEN, SID)),
        ("sendgrid", json!({"api_key": SENDGRID_KEY})),
        (
            "ga4",
            json!({"client_id": "cid", "client_secret": GA4_SECRET, "refresh_token": GA4_REFRESH}),
        ),
        ("meta", json!({"access_token": META_TOKEN})),
    ] {
        for (method, path, body) in [
            (Method::PUT, format!("/{provider}"), Some(body)),
            (Method::GET, format!("/{provider}"), None),
            (Method::POST, format!("/{provider}/test"), None),
        ] {
            let (status, text) = call(&app, "admin", method, &path, body).await;
            assert!(status.is_success(), "{path}: {text}");
            responses.push_str(&text);
        }
        // a failing test and a refused caller are logged too.
        call(
            &app,
            "viewer",
            Method::PUT,
            &format!("/{provider}"),
            Some(json!({"api_key": SENDGRID_KEY})),
        )
        .await;
    }
    let (_, list) = call(&app, "admin", Method::GET, "", None).await;
    responses.push_str(&list);
    let audit: String = app
        .db
        .superuser()
        .await
        .query_one(
            "select coalesce(string_agg(to_jsonb(a)::text, E'\\n'), '') from public.audit_logs a",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();

    assert!(
        audit.contains("\"table_name\": \"secrets\""),
        "the secrets table is audited"
    );
    assert!(audit.contains("[redacted]"));
    assert!(
        logs.contains("integration credentials stored"),
        "logs were captured"
    );
    for secret in PLAINTEXTS.iter().filter(|s| **s != SENDGRID_READONLY) {
        assert!(!responses.contains(secret), "response holds {secret}");
        assert!(!logs.contains(secret), "a log line holds {secret}");
        assert!(!audit.contains(secret), "the audit log holds {secret}");
    }
    // nor does the ciphertext leave the database.
    let ciphertext: Vec<u8> = app
        .db
        .superuser()
        .await
        .query_one(
            "select ciphertext from public.secrets where name = 'twilio'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let hex: String = ciphertext.iter().map(|b| format!("{b:02x}")).collect();
    assert!(!audit.contains(&hex) && !logs.contains(&hex) && !responses.contains(&hex));
}

async fn service_tx_load(
    app: &TestApp,
    keyring: &Keyring,
    provider: Provider,
) -> Result<String, String> {
    let mut conn = app.state.pool.get().await.unwrap();
    let tx = gimbal_db::scope::begin(&mut conn, &RequestScope::service("test"), Access::ReadOnly)
        .await
        .unwrap();
    integrations::load(&tx, keyring, provider)
        .await
        .map(|c| format!("{c:?}"))
        .map_err(|e| e.to_string())
}

fn keyring(id: &str, key: &str, old: &str) -> Keyring {
    Keyring::from_parts(id, &SecretString::from(key.to_string()), old).unwrap()
}

#[tokio::test]
async fn rotation_re_encrypts_everything_and_old_ciphertexts_open_until_then() {
    let base = providers().await;
    let app = app_with_providers(&base).await;
    app.load_fixtures().await;
    // the fixtures' secrets are not sealed values; this test works on real ones only.
    app.as_superuser("delete from public.secrets").await;
    for (provider, body) in [
        ("twilio", twilio(TWILIO_TOKEN, SID)),
        ("sendgrid", json!({"api_key": SENDGRID_KEY})),
        ("meta", json!({"access_token": META_TOKEN})),
    ] {
        let (status, _) = call(
            &app,
            "admin",
            Method::PUT,
            &format!("/{provider}"),
            Some(body),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    let old_only = keyring("k1", TEST_KEY, "");
    let new_key = Keyring::generate_key_b64();
    let rotated_ring = keyring("k2", &new_key, &format!("k1:{TEST_KEY}"));
    let new_only = keyring("k2", &new_key, "");

    // before rotation: the new keyring still opens what k1 sealed; k2 alone does not.
    assert!(
        service_tx_load(&app, &rotated_ring, Provider::Twilio)
            .await
            .is_ok()
    );
    let err = service_tx_load(&app, &new_only, Provider::Twilio)
        .await
        .unwrap_err();
    assert!(err.contains("`k1`"), "{err}");

    let before: Vec<Vec<u8>> = ciphertexts(&app).await;
    let report = rotate(&app, &rotated_ring).await;
    assert_eq!(
        (report.total, report.rotated, report.already_current),
        (3, 3, 0)
    );
    assert!(report.unreadable.is_empty());

    let key_ids: Vec<String> = app
        .db
        .superuser()
        .await
        .query("select key_id from public.secrets", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(key_ids, ["k2", "k2", "k2"]);
    let after = ciphertexts(&app).await;
    assert!(
        before.iter().all(|c| !after.contains(c)),
        "every ciphertext changed"
    );
    for provider in [Provider::Twilio, Provider::SendGrid, Provider::Meta] {
        assert!(
            service_tx_load(&app, &new_only, provider).await.is_ok(),
            "{provider:?}"
        );
        let err = service_tx_load(&app, &old_only, provider)
            .await
            .unwrap_err();
        assert!(err.contains("`k2`"), "{err}");
    }
    // the credentials themselves survived: the provider still accepts them.
    let mut conn = app.state.pool.get().await.unwrap();
    let tx = gimbal_db::scope::begin(&mut conn, &RequestScope::service("test"), Access::ReadOnly)
        .await
        .unwrap();
    let creds = integrations::load(&tx, &new_only, Provider::Twilio)
        .await
        .unwrap();
    assert_eq!(creds.get("auth_token"), Some(TWILIO_TOKEN));
    drop(tx);

    // running it again has nothing to do.
    let again = rotate(&app, &rotated_ring).await;
    assert_eq!((again.rotated, again.already_current), (0, 3));
}

#[tokio::test]
async fn rotation_leaves_values_it_cannot_open_and_says_which() {
    let app = TestApp::spawn().await;
    let stranger = keyring("k0", &Keyring::generate_key_b64(), "");
    let sealed = stranger.seal(b"{}", &integrations::secret_aad("provider", "meta"));
    let mut conn = app.state.pool.get().await.unwrap();
    let tx = gimbal_db::scope::begin(&mut conn, &RequestScope::service("test"), Access::ReadWrite)
        .await
        .unwrap();
    let id: uuid::Uuid = tx
        .query_one(
            "insert into public.secrets (scope, name, ciphertext, nonce, key_id) values ('provider', 'meta', $1, $2, $3) returning id",
            &[&sealed.ciphertext, &sealed.nonce, &sealed.key_id],
        )
        .await
        .unwrap()
        .get(0);
    tx.commit().await.unwrap();

    let report = rotate(
        &app,
        &keyring(
            "k2",
            &Keyring::generate_key_b64(),
            &format!("k1:{TEST_KEY}"),
        ),
    )
    .await;

    assert_eq!(report.unreadable, [id]);
    assert_eq!(report.rotated, 0);
    let err = keyring("k1", TEST_KEY, "").open(&sealed, b"x").unwrap_err();
    assert!(matches!(err, SecretError::UnknownKeyId { .. }));
}

async fn ciphertexts(app: &TestApp) -> Vec<Vec<u8>> {
    app.db
        .superuser()
        .await
        .query("select ciphertext from public.secrets order by id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn rotate(app: &TestApp, keyring: &Keyring) -> gimbal_admin::rotation::RotationReport {
    let mut conn = app.state.pool.get().await.unwrap();
    let tx = gimbal_db::scope::begin(
        &mut conn,
        &RequestScope::service("gimbal rotate-keys"),
        Access::ReadWrite,
    )
    .await
    .unwrap();
    let report = gimbal_admin::rotation::rotate(&tx, keyring).await.unwrap();
    tx.commit().await.unwrap();
    report
}

#[tokio::test]
async fn a_partial_update_keeps_the_stored_secrets() {
    let base = providers().await;
    let app = app_with_providers(&base).await;
    app.load_fixtures().await;
    let (status, body) = call(
        &app,
        "admin",
        Method::PATCH,
        "/twilio",
        Some(json!({"from_number": "+15550100999"})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing stored yet: {body}");
    call(
        &app,
        "admin",
        Method::PUT,
        "/twilio",
        Some(twilio(TWILIO_TOKEN, SID)),
    )
    .await;

    let (status, body) = call(
        &app,
        "admin",
        Method::PATCH,
        "/twilio",
        Some(json!({"from_number": "+15550100999"})),
    )
    .await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(json_of(&body)["fields"]["from_number"]["hint"], "…0999");
    assert_eq!(json_of(&body)["fields"]["auth_token"], json!({"set": true}));
    let (_, report) = call(&app, "admin", Method::POST, "/twilio/test", None).await;
    assert_eq!(json_of(&report)["outcome"], "ok", "the token was kept");

    let (status, body) = call(
        &app,
        "admin",
        Method::PATCH,
        "/twilio",
        Some(json!({"auth_token": null})),
    )
    .await;
    assert_eq!(
        (status, json_of(&body)["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("auth_token"))
    );
    let (status, _) = call(
        &app,
        "admin",
        Method::PATCH,
        "/twilio",
        Some(json!({"from_number": null})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(
        &app,
        "user",
        Method::PATCH,
        "/twilio",
        Some(json!({"from_number": "+15550100998"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
