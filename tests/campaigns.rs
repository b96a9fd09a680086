//! The `campaigns` write path: validation names the field; RLS decides who may write.

use gimbal_e2e::{Options, TestApp, USER};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn spring() -> Value {
    json!({"name": "Spring sale", "channel": "email", "from_address": "news@example.com"})
}

async fn create(app: &TestApp, role: &str, body: Value) -> reqwest::Response {
    app.invoke(
        Method::POST,
        "campaigns",
        Some(&app.token(role)),
        Some(body),
    )
    .await
}

#[tokio::test]
async fn user_creates_a_campaign_owned_by_them() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let response = create(&app, "user", spring()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["created_by"], USER);
    assert_eq!(body["status"], "draft");
    assert_eq!(body["name"], "Spring sale");
}

#[tokio::test]
async fn viewer_cannot_create_campaign() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let response = create(&app, "viewer", spring()).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "forbidden");
}

#[tokio::test]
async fn anon_cannot_create_campaign() {
    let app = TestApp::spawn().await;
    let response = create(&app, "anon", spring()).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn invalid_field_is_named() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let response = create(&app, "user", json!({"name": "x", "channel": "fax"})).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["field"], "channel");
    assert_eq!(body["error"], "validation_failed");
}

#[tokio::test]
async fn malformed_json_is_a_bad_request_naming_the_problem() {
    let app = TestApp::spawn().await;
    let response = app
        .http
        .post(app.function_url("campaigns"))
        .bearer_auth(app.token("user"))
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("eof"),
        "{body}"
    );
}

#[tokio::test]
async fn unknown_field_is_rejected() {
    let app = TestApp::spawn().await;
    let response = create(
        &app,
        "user",
        json!({"name": "x", "channel": "sms", "owner": "me"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("owner"),
        "{body}"
    );
}

#[tokio::test]
async fn user_cannot_delete_someone_elses_campaign_but_admin_can() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let created: Value = create(&app, "other_user", spring())
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let path = format!("campaigns/{id}");
    let by_user = app
        .invoke(Method::DELETE, &path, Some(&app.token("user")), None)
        .await;
    assert_eq!(by_user.status(), StatusCode::NOT_FOUND);
    let by_viewer = app
        .invoke(Method::DELETE, &path, Some(&app.token("viewer")), None)
        .await;
    assert_eq!(by_viewer.status(), StatusCode::NOT_FOUND);
    let by_admin = app
        .invoke(Method::DELETE, &path, Some(&app.token("admin")), None)
        .await;
    assert_eq!(by_admin.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn user_deletes_own_campaign() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let created: Value = create(&app, "user", spring()).await.json().await.unwrap();
    let path = format!("campaigns/{}", created["id"].as_str().unwrap());
    let response = app
        .invoke(Method::DELETE, &path, Some(&app.token("user")), None)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn oversized_body_is_rejected_with_413() {
    let app = TestApp::spawn_with(Options {
        body_limit_bytes: Some(1024),
        ..Default::default()
    })
    .await;
    let big = json!({"name": "x".repeat(4096), "channel": "sms"});
    let response = create(&app, "user", big).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "payload_too_large");
}

#[tokio::test]
async fn wrong_method_is_405_in_the_envelope() {
    let app = TestApp::spawn().await;
    let response = app
        .invoke(Method::PUT, "campaigns", Some(&app.token("user")), None)
        .await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], 405);
}
