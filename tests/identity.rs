//! `me` answers who the caller is as the database sees it, for every kind of caller.

use gimbal_e2e::{ADMIN, TestApp, USER, VIEWER, now, sign_claims};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn me(app: &TestApp, token: &str) -> Value {
    let response = app.invoke(Method::GET, "me", Some(token), None).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn each_app_role_is_seen_by_the_database() {
    let app = TestApp::spawn().await;
    for (role, id) in [("admin", ADMIN), ("user", USER), ("viewer", VIEWER)] {
        let body = me(&app, &app.token(role)).await;
        assert_eq!(body["id"], id, "{role}");
        assert_eq!(body["role"], role);
        assert_eq!(body["db_role"], "authenticated");
        assert_eq!(body["email"], format!("{role}@gimbal.local"));
    }
}

#[tokio::test]
async fn anon_key_runs_as_anon_and_service_key_as_service_role() {
    let app = TestApp::spawn().await;
    let anon = me(&app, &app.token("anon")).await;
    assert_eq!(anon["db_role"], "anon");
    assert_eq!(anon["id"], Value::Null);
    assert_eq!(anon["role"], Value::Null);
    let service = me(&app, &app.token("service_role")).await;
    assert_eq!(service["db_role"], "service_role");
}

fn user_claims(app_metadata: Value, user_metadata: Value) -> Value {
    json!({
        "iss": "http://127.0.0.1/auth/v1", "sub": USER, "aud": "authenticated", "role": "authenticated",
        "exp": now() + 600, "iat": now(), "email": "user@gimbal.local",
        "app_metadata": app_metadata, "user_metadata": user_metadata,
    })
}

#[tokio::test]
async fn a_role_in_user_metadata_grants_nothing() {
    let app = TestApp::spawn().await;
    let token = sign_claims(&user_claims(
        json!({"provider": "email"}),
        json!({"role": "admin"}),
    ));
    let body = me(&app, &token).await;
    assert_eq!(body["role"], "viewer");
    // And the write path agrees: a viewer may not create campaigns.
    let created = app
        .invoke(
            Method::POST,
            "campaigns",
            Some(&token),
            Some(json!({"name": "x", "channel": "sms"})),
        )
        .await;
    assert_eq!(created.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_unknown_app_role_is_treated_as_viewer() {
    let app = TestApp::spawn().await;
    let token = sign_claims(&user_claims(json!({"role": "superadmin"}), json!({})));
    assert_eq!(me(&app, &token).await["role"], "viewer");
}

#[tokio::test]
async fn a_token_without_an_app_role_is_a_viewer() {
    let app = TestApp::spawn().await;
    let token = sign_claims(&user_claims(json!({"provider": "email"}), json!({})));
    assert_eq!(me(&app, &token).await["role"], "viewer");
}
