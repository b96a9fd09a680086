//! Webhook verification keys saved in the encrypted integrations store are used, and win over
//! the environment's: a request signed with the stored key verifies, one signed with any other
//! key (the environment's included) is refused. A key saved while another is kept in memory
//! verifies from its first request.

use base64::{Engine, engine::general_purpose::STANDARD};
use gimbal_e2e::{TestApp, webhooks::PUBLIC_URL};
use p256::{
    ecdsa::{DerSignature, SigningKey, signature::Signer},
    pkcs8::EncodePublicKey,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const STORED_TWILIO_TOKEN: &str = "stored-twilio-auth-token-0f3a";

async fn save(app: &TestApp, provider: &str, body: Value) {
    let response = app
        .invoke(
            Method::PUT,
            &format!("integrations/{provider}"),
            Some(&app.token("admin")),
            Some(body),
        )
        .await;
    let status = response.status();
    assert!(
        status.is_success(),
        "{status}: {}",
        response.text().await.unwrap()
    );
}

async fn twilio_status(app: &TestApp, token: &str) -> StatusCode {
    let params = [
        ("MessageSid", "SM00k"),
        ("MessageStatus", "delivered"),
        ("To", "+14155552671"),
    ];
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let url = format!("{PUBLIC_URL}/functions/v1/twilio-status");
    let signature = gimbal_webhooks::twilio::signature(token.as_bytes(), &url, &owned);
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        form.append_pair(k, v);
    }
    app.http
        .post(app.function_url("twilio-status"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", signature)
        .body(form.finish())
        .send()
        .await
        .unwrap()
        .status()
}

async fn sendgrid_events(app: &TestApp, key: &SigningKey) -> StatusCode {
    let body = br#"[{"email":"a@example.com","event":"delivered","sg_event_id":"k-1","timestamp":1700000000}]"#;
    let timestamp = gimbal_e2e::now().to_string();
    let mut signed = timestamp.as_bytes().to_vec();
    signed.extend_from_slice(body);
    let signature: DerSignature = key.sign(&signed);
    app.http
        .post(app.function_url("sendgrid-events"))
        .header("content-type", "application/json")
        .header("x-twilio-email-event-webhook-timestamp", &timestamp)
        .header(
            "x-twilio-email-event-webhook-signature",
            STANDARD.encode(signature.as_bytes()),
        )
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
        .status()
}

/// A SendGrid signing key (not the environment's) and its public half as SendGrid shows it.
fn signing_key(scalar: u8) -> (SigningKey, String) {
    let key = SigningKey::from_slice(&[scalar; 32]).unwrap();
    let public = STANDARD.encode(key.verifying_key().to_public_key_der().unwrap().as_bytes());
    (key, public)
}

async fn security_events(app: &TestApp, function: &str) -> i64 {
    app.db
        .superuser()
        .await
        .query_one(
            "select count(*) from public.audit_logs where kind = 'security' and details->>'function' = $1",
            &[&function],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_twilio_auth_token_in_the_store_verifies_and_wins_over_the_environment() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    save(
        &app,
        "twilio",
        json!({"account_sid": format!("AC{}", "0".repeat(32)), "auth_token": STORED_TWILIO_TOKEN}),
    )
    .await;

    assert_eq!(
        twilio_status(&app, STORED_TWILIO_TOKEN).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        twilio_status(&app, gimbal_e2e::webhooks::TWILIO_AUTH_TOKEN).await,
        StatusCode::FORBIDDEN,
        "the environment's token is not the one configured"
    );
    assert_eq!(
        twilio_status(&app, "a-wrong-token").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(security_events(&app, "twilio-status").await, 2);
}

#[tokio::test]
async fn a_sendgrid_key_in_the_store_verifies_and_wins_over_the_environment() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let (stored, public) = signing_key(9);
    save(
        &app,
        "sendgrid",
        json!({"api_key": "SG.stored-key", "webhook_public_key": public}),
    )
    .await;

    assert_eq!(sendgrid_events(&app, &stored).await, StatusCode::OK);
    assert_eq!(
        sendgrid_events(&app, &gimbal_e2e::webhooks::sendgrid_signing_key()).await,
        StatusCode::FORBIDDEN,
        "the environment's key is not the one configured"
    );
    assert_eq!(security_events(&app, "sendgrid-events").await, 1);
}

#[tokio::test]
async fn without_a_stored_key_the_environment_still_verifies() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    // SendGrid is configured in the store, but without a webhook key
    save(&app, "sendgrid", json!({"api_key": "SG.stored-key"})).await;

    assert_eq!(
        sendgrid_events(&app, &gimbal_e2e::webhooks::sendgrid_signing_key()).await,
        StatusCode::OK
    );
    assert_eq!(
        twilio_status(&app, gimbal_e2e::webhooks::TWILIO_AUTH_TOKEN).await,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn a_malformed_stored_sendgrid_key_is_refused_by_name() {
    let app = TestApp::spawn().await;
    let response = app
        .invoke(
            Method::PUT,
            "integrations/sendgrid",
            Some(&app.token("service_role")),
            Some(json!({"api_key": "SG.x", "webhook_public_key": "not a key"})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["field"], "webhook_public_key");
}

#[tokio::test]
async fn a_key_saved_while_the_old_one_is_kept_verifies_from_its_first_request() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    // the store has no keys yet: the environment's verify, and that answer is kept
    assert_eq!(
        twilio_status(&app, gimbal_e2e::webhooks::TWILIO_AUTH_TOKEN).await,
        StatusCode::NO_CONTENT
    );
    let environment = gimbal_e2e::webhooks::sendgrid_signing_key();
    assert_eq!(sendgrid_events(&app, &environment).await, StatusCode::OK);

    // keys saved well inside the time a read key is kept for
    tokio::time::sleep(gimbal_webhooks::keys::MIN_REREAD).await;
    save(
        &app,
        "twilio",
        json!({"account_sid": format!("AC{}", "0".repeat(32)), "auth_token": STORED_TWILIO_TOKEN}),
    )
    .await;
    let (stored, public) = signing_key(11);
    save(
        &app,
        "sendgrid",
        json!({"api_key": "SG.stored-key", "webhook_public_key": public}),
    )
    .await;
    assert!(gimbal_webhooks::keys::MIN_REREAD < gimbal_webhooks::keys::CACHE_TTL / 10);

    // the first request signed with a new key verifies (the store is read again), and the
    // replaced keys no longer do
    assert_eq!(
        twilio_status(&app, STORED_TWILIO_TOKEN).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(sendgrid_events(&app, &stored).await, StatusCode::OK);
    assert_eq!(
        twilio_status(&app, gimbal_e2e::webhooks::TWILIO_AUTH_TOKEN).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        sendgrid_events(&app, &environment).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(security_events(&app, "twilio-status").await, 1);
    assert_eq!(security_events(&app, "sendgrid-events").await, 1);
}
