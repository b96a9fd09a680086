//! `auth-hook`: Supabase Auth's verification hooks, signed the Standard Webhooks way. Failed
//! password and MFA attempts become security events; forged or stale calls are refused and
//! recorded; the hook never changes Supabase's decision.

use gimbal_e2e::{Options, TestApp, USER};
use reqwest::StatusCode;
use serde_json::{Value, json};

const SECRET: &str = "v1,whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

async fn app() -> TestApp {
    TestApp::spawn_with(Options {
        env: vec![("SUPABASE_AUTH_HOOK_SECRET", SECRET.to_string())],
        ..Options::default()
    })
    .await
}

fn now() -> i64 {
    gimbal_e2e::now()
}

/// POSTs `body` signed with `secret` at `timestamp`, as Supabase Auth would.
async fn call(app: &TestApp, secret: &str, timestamp: i64, body: &Value) -> reqwest::Response {
    let payload = serde_json::to_vec(body).unwrap();
    let hook = standardwebhooks::Webhook::new(secret.strip_prefix("v1,").unwrap()).unwrap();
    let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
    let signature = hook.sign(&id, timestamp, &payload).unwrap();
    app.http
        .post(app.function_url("auth-hook"))
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(payload)
        .send()
        .await
        .unwrap()
}

async fn security_events(app: &TestApp, action: &str) -> Vec<(Option<uuid::Uuid>, Value)> {
    app.db
        .superuser()
        .await
        .query(
            "select actor_id, details from public.audit_logs where kind = 'security' and action = $1 order by id",
            &[&action],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[tokio::test]
async fn a_failed_password_attempt_is_recorded_and_supabase_continues() {
    let app = app().await;
    app.load_fixtures().await;
    let response = call(
        &app,
        SECRET,
        now(),
        &json!({"user_id": USER, "valid": false}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"decision": "continue"})
    );
    let events = security_events(&app, "login.failed").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, Some(USER.parse().unwrap()));
    assert_eq!(events[0].1["method"], "password");
}

#[tokio::test]
async fn a_valid_attempt_records_nothing() {
    let app = app().await;
    app.load_fixtures().await;
    let response = call(
        &app,
        SECRET,
        now(),
        &json!({"user_id": USER, "valid": true}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(security_events(&app, "login.failed").await.is_empty());
}

#[tokio::test]
async fn a_failed_mfa_attempt_is_recorded_with_its_factor() {
    let app = app().await;
    app.load_fixtures().await;
    let factor = uuid::Uuid::new_v4();
    let body = json!({"user_id": USER, "valid": false, "factor_id": factor, "factor_type": "totp"});
    assert_eq!(
        call(&app, SECRET, now(), &body).await.status(),
        StatusCode::OK
    );
    let events = security_events(&app, "mfa.failed").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].1["factor_id"], factor.to_string());
    assert!(security_events(&app, "login.failed").await.is_empty());
}

#[tokio::test]
async fn forged_and_stale_calls_are_refused_and_recorded() {
    let app = app().await;
    app.load_fixtures().await;
    let body = json!({"user_id": USER, "valid": false});
    // signed with another secret
    let forged = call(
        &app,
        "v1,whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        now(),
        &body,
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    // the right secret, but replayed ten minutes later
    let stale = call(&app, SECRET, now() - 600, &body).await;
    assert_eq!(stale.status(), StatusCode::FORBIDDEN);
    // no signature at all
    let unsigned = app
        .http
        .post(app.function_url("auth-hook"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), StatusCode::FORBIDDEN);

    assert!(security_events(&app, "login.failed").await.is_empty());
    let refused = security_events(&app, "webhook.bad_signature").await;
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert!(refused.iter().all(|(_, d)| d["function"] == "auth-hook"));
    let text = format!("{refused:?}");
    assert!(
        !text.contains("C2FVsBQIhrscChlQIMV"),
        "no secret in the log"
    );
}

#[tokio::test]
async fn without_a_secret_the_hook_is_unavailable() {
    let app = TestApp::spawn().await;
    let response = call(
        &app,
        SECRET,
        now(),
        &json!({"user_id": USER, "valid": false}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}
