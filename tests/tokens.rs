//! Forged, expired and malformed credentials get Supabase's 401 shape before any function
//! runs; signing keys from the project's JWKS are honoured.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use axum::{Json, Router, routing::get};
use base64::Engine;
use gimbal_e2e::{Options, TestApp, USER, now, sign_claims};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn assert_invalid_jwt(response: reqwest::Response) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response.headers().get("sb-error-code").is_some(),
        "sb-error-code header"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"code": 401, "message": "Invalid JWT"}));
}

fn claims() -> Value {
    json!({
        "sub": USER, "aud": "authenticated", "role": "authenticated", "exp": now() + 600,
        "iat": now(), "app_metadata": {"role": "admin"},
    })
}

async fn call_with(app: &TestApp, token: &str) -> reqwest::Response {
    app.http
        .get(app.function_url("me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn missing_authorization_is_rejected_with_supabase_shape() {
    let app = TestApp::spawn().await;
    let response = app.http.get(app.function_url("me")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["sb-error-code"],
        "UNAUTHORIZED_NO_AUTH_HEADER"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"code": 401, "message": "Missing authorization header"})
    );
}

#[tokio::test]
async fn token_signed_with_another_secret_is_rejected() {
    let app = TestApp::spawn().await;
    let key = jsonwebtoken::EncodingKey::from_secret(b"some-other-secret-of-at-least-32-chars!");
    let forged = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims(), &key).unwrap();
    assert_invalid_jwt(call_with(&app, &forged).await).await;
}

#[tokio::test]
async fn expired_token_is_rejected() {
    let app = TestApp::spawn().await;
    let mut c = claims();
    c["exp"] = json!(now() - 3600);
    assert_invalid_jwt(call_with(&app, &sign_claims(&c)).await).await;
}

#[tokio::test]
async fn wrong_audience_is_rejected() {
    let app = TestApp::spawn().await;
    let mut c = claims();
    c["aud"] = json!("some-other-api");
    assert_invalid_jwt(call_with(&app, &sign_claims(&c)).await).await;
}

#[tokio::test]
async fn alg_none_is_rejected() {
    let app = TestApp::spawn().await;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let token = format!(
        "{}.{}.",
        b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
        b64.encode(claims().to_string())
    );
    let response = call_with(&app, &token).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn tampered_payload_is_rejected() {
    let app = TestApp::spawn().await;
    let mut c = claims();
    c["app_metadata"] = json!({"role": "viewer"});
    let token = sign_claims(&c);
    let parts: Vec<&str> = token.split('.').collect();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let escalated = b64.encode(claims().to_string());
    let forged = format!("{}.{}.{}", parts[0], escalated, parts[2]);
    assert_invalid_jwt(call_with(&app, &forged).await).await;
}

#[tokio::test]
async fn a_database_role_smuggled_in_the_role_claim_is_rejected() {
    let app = TestApp::spawn().await;
    let mut c = claims();
    c["role"] = json!("postgres");
    assert_invalid_jwt(call_with(&app, &sign_claims(&c)).await).await;
}

#[tokio::test]
async fn garbage_bearer_is_an_invalid_format() {
    let app = TestApp::spawn().await;
    let response = call_with(&app, "not-a-jwt").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["sb-error-code"],
        "UNAUTHORIZED_INVALID_JWT_FORMAT"
    );
}

/// A stand-in for `<SUPABASE_URL>/auth/v1/.well-known/jwks.json` that counts its hits.
async fn jwks_server(jwks: Value) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let router = Router::new().route(
        "/auth/v1/.well-known/jwks.json",
        get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            let jwks = jwks.clone();
            async move { Json(jwks) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("http://{addr}"), hits)
}

fn key_file(name: &str) -> String {
    let path = gimbal_e2e::repo_path(&format!("crates/auth/tests/keys/{name}"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn es256_token(kid: &str, pem: &str) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(kid.into());
    let key = jsonwebtoken::EncodingKey::from_ec_pem(pem.as_bytes()).unwrap();
    jsonwebtoken::encode(&header, &claims(), &key).unwrap()
}

#[tokio::test]
async fn es256_token_from_the_project_jwks_is_accepted_and_keys_are_cached() {
    let jwk: Value = serde_json::from_str(&key_file("es256-a.jwk.json")).unwrap();
    let kid = jwk["kid"].as_str().unwrap().to_string();
    let (url, hits) = jwks_server(json!({"keys": [jwk]})).await;
    let app = TestApp::spawn_with(Options {
        supabase_url: Some(url),
        ..Default::default()
    })
    .await;
    let token = es256_token(&kid, &key_file("es256-a.pem"));
    for _ in 0..3 {
        let response = call_with(&app, &token).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["role"], "admin");
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "JWKS fetched once and cached"
    );
}

#[tokio::test]
async fn token_with_unknown_kid_is_rejected_after_one_refresh() {
    let jwk: Value = serde_json::from_str(&key_file("es256-a.jwk.json")).unwrap();
    let (url, hits) = jwks_server(json!({"keys": [jwk]})).await;
    let app = TestApp::spawn_with(Options {
        supabase_url: Some(url),
        ..Default::default()
    })
    .await;
    // Signed by key b, which the project does not publish.
    let token = es256_token("not-published", &key_file("es256-b.pem"));
    assert_invalid_jwt(call_with(&app, &token).await).await;
    assert_invalid_jwt(call_with(&app, &token).await).await;
    assert!(
        hits.load(Ordering::SeqCst) <= 2,
        "refreshes are rate-limited"
    );
}

#[tokio::test]
async fn hs256_token_signed_with_the_public_key_is_rejected() {
    let jwk: Value = serde_json::from_str(&key_file("rs256.jwk.json")).unwrap();
    let kid = jwk["kid"].as_str().unwrap().to_string();
    let (url, _) = jwks_server(json!({"keys": [jwk]})).await;
    let app = TestApp::spawn_with(Options {
        supabase_url: Some(url),
        ..Default::default()
    })
    .await;
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(kid);
    let public_pem = key_file("rs256.pub.pem");
    let key = jsonwebtoken::EncodingKey::from_secret(public_pem.as_bytes());
    let token = jsonwebtoken::encode(&header, &claims(), &key).unwrap();
    assert_invalid_jwt(call_with(&app, &token).await).await;
}

#[tokio::test]
async fn options_is_exempt_from_authentication() {
    let app = TestApp::spawn().await;
    let response = app
        .http
        .request(Method::OPTIONS, app.function_url("me"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
