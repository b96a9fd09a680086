//! Connecting GA4 and Meta with OAuth2: `oauth-start` for each role, the authorization URL's
//! PKCE challenge and signed state, `oauth-callback` exchanging the code with the verifier at a
//! local token endpoint, tokens stored encrypted and never answered, and forged, expired,
//! replayed, unissued or declined callbacks refused; the browser gets an HTML page (escaped,
//! posting to the configured opener origin only), API clients asking for JSON get JSON.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, Ordering},
};

use axum::{
    Form, Json, Router,
    extract::{Query, State},
    http::StatusCode,
    response::IntoResponse,
    routing::post,
};
use gimbal_e2e::{Options, TestApp, USER, token_for};
use gimbal_sync::authorize::{self, Provider};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};
use uuid::Uuid;

const STATE_SECRET: &str = "oauth-state-secret-of-at-least-32-chars";
const REDIRECT: &str = "https://gimbal.example.com/functions/v1/oauth-callback";
const OPENER: &str = "https://app.example.com";

/// The provider's token endpoint: accepts `good-code` only with the verifier whose challenge
/// the authorization URL carried.
/// One form posted to the token endpoint.
type FormPairs = Vec<(String, String)>;

#[derive(Clone, Default)]
struct TokenEndpoint {
    challenge: Arc<Mutex<String>>,
    forms: Arc<Mutex<Vec<FormPairs>>>,
    /// When set, Meta's long-lived exchange refuses (as for an app whose secret was reset).
    refuse_extension: Arc<AtomicBool>,
}

async fn token(
    State(endpoint): State<TokenEndpoint>,
    Form(form): Form<Vec<(String, String)>>,
) -> impl IntoResponse {
    endpoint.forms.lock().unwrap().push(form.clone());
    let get = |k: &str| {
        form.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let challenge = endpoint.challenge.lock().unwrap().clone();
    if get("code") != "good-code" || authorize::pkce_challenge(&get("code_verifier")) != challenge {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant", "error_description": "Bad code or verifier"})),
        );
    }
    (
        StatusCode::OK,
        Json(
            json!({"access_token": "access-xyz", "refresh_token": "refresh-from-provider", "expires_in": 3599}),
        ),
    )
}

/// Meta's long-lived token exchange (`GET /oauth/access_token?grant_type=fb_exchange_token…`):
/// only for this app, with its secret, and the short-lived token the code gave.
async fn extend(
    State(endpoint): State<TokenEndpoint>,
    Query(q): Query<Vec<(String, String)>>,
) -> impl IntoResponse {
    let get = |k: &str| {
        q.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    if get("grant_type") != "fb_exchange_token"
        || get("client_id") != "meta-app"
        || get("client_secret") != "meta-secret"
        || get("fb_exchange_token") != "access-xyz"
        || endpoint.refuse_extension.load(Ordering::SeqCst)
    {
        return (
            StatusCode::BAD_REQUEST,
            Json(
                json!({"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}}),
            ),
        );
    }
    (
        StatusCode::OK,
        Json(
            json!({"access_token": "long-lived-xyz", "token_type": "bearer", "expires_in": 5183944}),
        ),
    )
}

async fn spawn() -> (TestApp, TokenEndpoint) {
    let endpoint = TokenEndpoint::default();
    let router = Router::new()
        .route("/token", post(token))
        .route("/v19.0/oauth/access_token", post(token).get(extend))
        .with_state(endpoint.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let app = TestApp::spawn_with(Options {
        env: vec![
            ("GIMBAL_OAUTH_STATE_SECRET", STATE_SECRET.into()),
            ("GIMBAL_OAUTH_REDIRECT_URL", REDIRECT.into()),
            ("GIMBAL_GOOGLE_CLIENT_ID", "google-client".into()),
            ("GIMBAL_GOOGLE_CLIENT_SECRET", "google-secret".into()),
            ("GOOGLE_OAUTH_TOKEN_URL", format!("http://{addr}/token")),
            ("GIMBAL_META_APP_ID", "meta-app".into()),
            ("GIMBAL_META_APP_SECRET", "meta-secret".into()),
            ("META_GRAPH_API_URL", format!("http://{addr}")),
            ("GIMBAL_OAUTH_OPENER_ORIGIN", format!("{OPENER}/")),
        ],
        ..Options::default()
    })
    .await;
    app.load_fixtures().await;
    (app, endpoint)
}

async fn source(app: &TestApp, kind: &str) -> Uuid {
    app.db
        .superuser()
        .await
        .query_one(
            "insert into public.data_sources (name, kind, created_by) values ('oauth', $1, $2) returning id",
            &[&kind, &USER.parse::<Uuid>().unwrap()],
        )
        .await
        .unwrap()
        .get(0)
}

async fn start(app: &TestApp, role: &str, source: Uuid) -> (StatusCode, Value) {
    let response = app
        .invoke(
            Method::POST,
            "oauth-start",
            Some(&token_for(role)),
            Some(json!({"data_source_id": source})),
        )
        .await;
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The callback as an API client asking for JSON.
async fn callback(app: &TestApp, query: &str) -> (StatusCode, Value) {
    // The provider redirects the browser: no Authorization header.
    let response = app
        .http
        .get(app.function_url(&format!("oauth-callback?{query}")))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The callback as the browser follows the provider's redirect: status, headers and page.
async fn browser_callback(
    app: &TestApp,
    query: &str,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let response = app
        .http
        .get(app.function_url(&format!("oauth-callback?{query}")))
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

/// Starts connecting `source` as `role`; returns the state and arms the endpoint's challenge.
async fn started(app: &TestApp, endpoint: &TokenEndpoint, role: &str, source: Uuid) -> String {
    let (status, body) = start(app, role, source).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let url = body["authorization_url"].as_str().unwrap();
    *endpoint.challenge.lock().unwrap() = param(url, "code_challenge");
    param(url, "state")
}

fn param(url: &str, name: &str) -> String {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// How many credential secrets `source` has (0 or 1).
async fn stored_secrets(app: &TestApp, source: Uuid) -> i64 {
    app.db
        .superuser()
        .await
        .query_one(
            "select count(*) from public.secrets where name = $1",
            &[&format!("data_source:{source}")],
        )
        .await
        .unwrap()
        .get(0)
}

async fn stored_credentials(app: &TestApp, source: Uuid) -> Value {
    let mut conn = app.state.pool.get().await.unwrap();
    let tx = gimbal_db::scope::begin(
        &mut conn,
        &gimbal_db::RequestScope::service("/test"),
        gimbal_db::Access::ReadOnly,
    )
    .await
    .unwrap();
    gimbal_sync::credentials::load(&tx, &app.state.keyring, source)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn only_those_who_manage_the_source_may_start_connecting_it() {
    let (app, _) = spawn().await;
    let source = source(&app, "ga4").await;
    for (role, expected) in [
        ("anon", StatusCode::FORBIDDEN),
        ("viewer", StatusCode::FORBIDDEN),
        ("other_user", StatusCode::FORBIDDEN),
        ("user", StatusCode::OK),
        ("admin", StatusCode::OK),
        ("service_role", StatusCode::OK),
    ] {
        let (status, body) = start(&app, role, source).await;
        assert_eq!(status, expected, "{role}: {body}");
    }
    let csv = app
        .db
        .superuser()
        .await
        .query_one(
            "insert into public.data_sources (name, kind) values ('f', 'csv') returning id",
            &[],
        )
        .await
        .unwrap()
        .get::<_, Uuid>(0);
    let (status, body) = start(&app, "admin", csv).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

#[tokio::test]
async fn ga4_is_connected_with_pkce_and_the_refresh_token_is_stored_encrypted() {
    let (app, endpoint) = spawn().await;
    let source = source(&app, "ga4").await;
    let (status, body) = start(&app, "user", source).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let url = body["authorization_url"].as_str().unwrap();
    assert!(
        url.starts_with("https://accounts.google.com/o/oauth2/v2/auth?"),
        "{url}"
    );
    assert_eq!(param(url, "client_id"), "google-client");
    assert_eq!(param(url, "redirect_uri"), REDIRECT);
    assert_eq!(param(url, "code_challenge_method"), "S256");
    assert_eq!(param(url, "access_type"), "offline");
    assert_eq!(
        param(url, "scope"),
        "https://www.googleapis.com/auth/analytics.readonly"
    );
    *endpoint.challenge.lock().unwrap() = param(url, "code_challenge");
    let state = param(url, "state");

    let (status, body) = callback(&app, &format!("code=good-code&state={state}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"connected": true, "data_source_id": source, "provider": "ga4"})
    );
    assert!(!body.to_string().contains("refresh-from-provider"));
    let form = endpoint.forms.lock().unwrap()[0].clone();
    assert!(form.contains(&("grant_type".into(), "authorization_code".into())));
    assert!(form.contains(&("redirect_uri".into(), REDIRECT.into())));
    let credentials = stored_credentials(&app, source).await;
    assert_eq!(credentials["refresh_token"], "refresh-from-provider");
    assert_eq!(credentials["client_id"], "google-client");
    let raw: Vec<u8> = app
        .db
        .superuser()
        .await
        .query_one(
            "select ciphertext from public.secrets where name = $1",
            &[&format!("data_source:{source}")],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!String::from_utf8_lossy(&raw).contains("refresh-from-provider"));
}

#[tokio::test]
async fn meta_is_connected_with_a_long_lived_token() {
    let (app, endpoint) = spawn().await;
    let source = source(&app, "meta").await;
    let (_, body) = start(&app, "admin", source).await;
    let url = body["authorization_url"].as_str().unwrap();
    assert!(
        url.starts_with("https://www.facebook.com/v19.0/dialog/oauth?"),
        "{url}"
    );
    assert_eq!(param(url, "scope"), "ads_read");
    *endpoint.challenge.lock().unwrap() = param(url, "code_challenge");
    let (status, body) = callback(
        &app,
        &format!("code=good-code&state={}", param(url, "state")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The short-lived token from the code was exchanged for a long-lived one (about 60 days).
    let stored = stored_credentials(&app, source).await;
    assert_eq!(stored["access_token"], "long-lived-xyz");
    let expires_at = stored["expires_at"].as_i64().unwrap();
    let in_days = (expires_at - chrono::Utc::now().timestamp()) / 86_400;
    assert!((59..=60).contains(&in_days), "{stored}");
    assert!(!body.to_string().contains("long-lived-xyz"));
}

#[tokio::test]
async fn a_refused_long_lived_exchange_stores_nothing_and_says_so() {
    let (app, endpoint) = spawn().await;
    endpoint.refuse_extension.store(true, Ordering::SeqCst);
    let source = source(&app, "meta").await;
    let state = started(&app, &endpoint, "admin", source).await;
    let (status, body) = callback(&app, &format!("code=good-code&state={state}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("Meta did not extend the access token: Invalid OAuth access token."),
        "{body}"
    );
    // the short-lived token is neither kept nor shown
    assert!(!body.to_string().contains("access-xyz"), "{body}");
    assert_eq!(stored_secrets(&app, source).await, 0);
}

#[tokio::test]
async fn forged_expired_declined_or_unverifiable_callbacks_are_refused() {
    let (app, endpoint) = spawn().await;
    let source = source(&app, "ga4").await;
    let (_, body) = start(&app, "user", source).await;
    let url = body["authorization_url"].as_str().unwrap().to_string();
    *endpoint.challenge.lock().unwrap() = param(&url, "code_challenge");
    let state = param(&url, "state");

    // Someone else's source in the state: the signature no longer matches.
    let (payload, signature) = state.split_once('.').unwrap();
    let mut forged: Value = serde_json::from_slice(&base64_url(payload)).unwrap();
    forged["data_source_id"] = json!(Uuid::new_v4());
    let forged = format!(
        "{}.{signature}",
        encode_url(&serde_json::to_vec(&forged).unwrap())
    );
    let (status, body) = callback(&app, &format!("code=good-code&state={forged}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["message"].as_str().unwrap().contains("signature"));

    let secret = SecretString::from(STATE_SECRET);
    let mut old = authorize::new_state(source, Provider::Ga4, None, 0);
    old.exp = 1;
    let (status, body) = callback(
        &app,
        &format!(
            "code=good-code&state={}",
            authorize::sign_state(&secret, &old)
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"].as_str().unwrap().contains("expired"),
        "{body}"
    );

    let (status, body) = callback(&app, &format!("error=access_denied&state={state}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"].as_str().unwrap().contains("access_denied"),
        "{body}"
    );

    // A valid state but a code the provider refuses (or a verifier that does not match).
    let (status, body) = callback(&app, &format!("code=stolen-code&state={state}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("refused the code"),
        "{body}"
    );
    assert_eq!(stored_secrets(&app, source).await, 0);
}

fn base64_url(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

fn encode_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn a_state_is_accepted_once_and_a_replay_never_reaches_the_provider() {
    let (app, endpoint) = spawn().await;
    let source = source(&app, "ga4").await;
    let state = started(&app, &endpoint, "user", source).await;
    let query = format!("code=good-code&state={state}");
    let (status, body) = callback(&app, &query).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, body) = callback(&app, &query).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "bad_request");
    assert!(
        body["message"].as_str().unwrap().contains("already used"),
        "{body}"
    );
    assert_eq!(
        endpoint.forms.lock().unwrap().len(),
        1,
        "the replay must not exchange the code again"
    );
}

#[tokio::test]
async fn of_two_concurrent_callbacks_with_one_state_exactly_one_connects() {
    let (app, endpoint) = spawn().await;
    let source = source(&app, "meta").await;
    let state = started(&app, &endpoint, "admin", source).await;
    let query = format!("code=good-code&state={state}");
    let (a, b) = tokio::join!(callback(&app, &query), callback(&app, &query));
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::BAD_REQUEST],
        "{a:?} {b:?}"
    );
    assert_eq!(endpoint.forms.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_signed_state_the_server_never_issued_or_whose_record_expired_is_refused() {
    let (app, endpoint) = spawn().await;
    let source = source(&app, "ga4").await;
    // Correctly signed (the secret leaked, say) but never recorded by oauth-start.
    let secret = SecretString::from(STATE_SECRET);
    let unissued = authorize::sign_state(
        &secret,
        &authorize::new_state(source, Provider::Ga4, None, chrono::Utc::now().timestamp()),
    );
    let (status, body) = callback(&app, &format!("code=good-code&state={unissued}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("not issued by this server"),
        "{body}"
    );

    // Issued, then expired on the server's clock (the record decides, not only the claims).
    let state = started(&app, &endpoint, "user", source).await;
    app.db
        .superuser()
        .await
        .execute(
            "update public.oauth_states set expires_at = now() - interval '1 second'
              where data_source_id = $1",
            &[&source],
        )
        .await
        .unwrap();
    let (status, body) = callback(&app, &format!("code=good-code&state={state}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("expired"),
        "{body}"
    );
    assert!(endpoint.forms.lock().unwrap().is_empty());
}

#[tokio::test]
async fn the_browser_gets_a_page_that_tells_the_opener_and_carries_no_token() {
    let (app, endpoint) = spawn().await;
    let source = source(&app, "ga4").await;
    let state = started(&app, &endpoint, "user", source).await;
    let (status, headers, page) =
        browser_callback(&app, &format!("code=good-code&state={state}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(page.contains("<h1>Connected</h1>"), "{page}");
    assert!(
        page.contains(&format!("postMessage(m,\"{OPENER}\")")),
        "{page}"
    );
    assert!(
        page.contains(&format!("\"data_source_id\":\"{source}\"")),
        "{page}"
    );
    assert!(!page.contains("refresh-from-provider") && !page.contains("access-xyz"));
    // The inline script is the one the policy allows, by hash.
    let script = page
        .split("<script>")
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .unwrap();
    let hash = {
        use base64::Engine;
        use sha2::Digest;
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(script.as_bytes()))
    };
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(
        policy.contains(&format!("script-src 'sha256-{hash}'")),
        "{policy}"
    );
    assert!(policy.starts_with("default-src 'none'"), "{policy}");
}

#[tokio::test]
async fn an_error_page_escapes_what_the_provider_sent() {
    let (app, endpoint) = spawn().await;
    let source = source(&app, "meta").await;
    let state = started(&app, &endpoint, "admin", source).await;
    let (status, headers, page) = browser_callback(
        &app,
        &format!(
            "error=access_denied&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state={state}"
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(page.contains("<h1>Could not connect</h1>"), "{page}");
    assert!(
        page.contains("access_denied &lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    assert!(!page.contains("<script>alert(1)"), "{page}");
    // Inside the script the text is JSON-escaped, so it cannot close the element.
    assert_eq!(page.matches("</script>").count(), 1, "{page}");
    assert!(page.contains("\\u003cscript\\u003e"), "{page}");
    assert!(page.contains("\"status\":\"error\""), "{page}");

    // A tampered state: a page too, with the reason.
    let (payload, _) = state.split_once('.').unwrap();
    let (status, _, page) =
        browser_callback(&app, &format!("code=good-code&state={payload}.AAAA")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("state signature does not match"), "{page}");
}
