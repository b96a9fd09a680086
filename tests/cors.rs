//! CORS exactly as Supabase recommends: preflights answered without credentials, and every
//! answer (errors included) readable by a browser.

use gimbal_e2e::TestApp;
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn preflight_is_answered_without_authentication() {
    let app = TestApp::spawn().await;
    let response = app
        .http
        .request(Method::OPTIONS, app.function_url("campaigns"))
        .header("Origin", "https://app.example.com")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization, x-client-info, apikey, content-type",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert_eq!(headers["access-control-allow-origin"], "*");
    let allowed = headers["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    for h in [
        "authorization",
        "x-client-info",
        "apikey",
        "content-type",
        "x-retry-count",
    ] {
        assert!(allowed.contains(h), "{h} allowed: {allowed}");
    }
    let methods = headers["access-control-allow-methods"].to_str().unwrap();
    for m in ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
        assert!(methods.contains(m), "{m} allowed: {methods}");
    }
}

#[tokio::test]
async fn error_answers_carry_cors_headers() {
    let app = TestApp::spawn().await;
    let response = app
        .http
        .get(app.function_url("me"))
        .header("Origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn successful_answers_carry_cors_headers() {
    let app = TestApp::spawn().await;
    let response = app
        .http
        .get(app.function_url("me"))
        .header("Origin", "https://app.example.com")
        .bearer_auth(app.token("viewer"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
}
