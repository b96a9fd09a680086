//! Operations endpoints and the host's own behaviour.

use gimbal_e2e::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::Value;

#[tokio::test]
async fn health_checks_the_database() {
    let app = TestApp::spawn().await;
    let response = app.http.get(app.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["database"], "ok");
}

#[tokio::test]
async fn metrics_count_requests_by_function_and_status() {
    let app = TestApp::spawn().await;
    app.invoke(Method::GET, "me", Some(&app.token("viewer")), None)
        .await;
    app.invoke(Method::GET, "me", None, None).await;
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(r#"gimbal_http_requests_total{function="me",method="GET",status="200"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"gimbal_http_requests_total{function="me",method="GET",status="401"} 1"#)
    );
    assert!(
        text.contains(r#"gimbal_http_request_duration_seconds_count{function="me"} 2"#),
        "{text}"
    );
    assert!(
        text.contains(r#"gimbal_db_pool_connections{state="max"} 4"#),
        "{text}"
    );
    assert!(text.contains(r#"gimbal_jobs{state="queued"}"#));
}

#[tokio::test]
async fn request_id_is_generated_or_propagated() {
    let app = TestApp::spawn().await;
    let generated = app.invoke(Method::GET, "me", None, None).await;
    assert!(!generated.headers()["x-request-id"].is_empty());
    let given = app
        .http
        .get(app.function_url("me"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "abc-123");
}

#[tokio::test]
async fn unknown_function_is_404_in_the_envelope() {
    let app = TestApp::spawn().await;
    let response = app
        .invoke(
            Method::POST,
            "no-such-function",
            Some(&app.token("user")),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
}

#[tokio::test]
async fn openapi_document_matches_the_snapshot() {
    let app = TestApp::spawn().await;
    let doc: Value = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    insta::assert_json_snapshot!("openapi", doc);
}

#[tokio::test]
async fn functions_can_be_mounted_under_a_prefix() {
    let app = TestApp::spawn_with(gimbal_e2e::Options {
        path_prefix: Some("/api".into()),
        ..Default::default()
    })
    .await;
    let prefixed = app
        .http
        .get(app.url("/api/functions/v1/me"))
        .bearer_auth(app.token("viewer"))
        .send()
        .await
        .unwrap();
    assert_eq!(prefixed.status(), StatusCode::OK);
    let bare = app
        .invoke(Method::GET, "me", Some(&app.token("viewer")), None)
        .await;
    assert_eq!(bare.status(), StatusCode::NOT_FOUND);
}
