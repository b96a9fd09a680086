//! Provider webhooks over HTTP: Twilio status and inbound messages, SendGrid event batches,
//! and unsubscribe links. Each is signed the way the provider signs; forged, altered and
//! stale requests are refused and recorded; duplicates change nothing; the campaign's
//! counters follow, readable under RLS.

use gimbal_db::{Access, RequestScope};
use gimbal_e2e::{
    TestApp, token_for,
    webhooks::{PUBLIC_URL, TWILIO_AUTH_TOKEN, sendgrid_signature, twilio_signature},
};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Fixture campaigns without seeded counters (a and b carry some in `rls_fixtures.sql`).
const CAMPAIGN_SMS: &str = "0000000d-0000-4000-8000-00000000000c";
const CAMPAIGN_EMAIL: &str = "0000000d-0000-4000-8000-00000000000d";

async fn app() -> TestApp {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    app
}

fn form(params: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded_serializer();
    for (k, v) in params {
        s.append_pair(k, v);
    }
    s.finish()
}

fn form_urlencoded_serializer() -> url::form_urlencoded::Serializer<'static, String> {
    url::form_urlencoded::Serializer::new(String::new())
}

async fn post_twilio(
    app: &TestApp,
    path: &str,
    params: &[(&str, &str)],
    signature: Option<String>,
) -> reqwest::Response {
    let mut request = app
        .http
        .post(app.function_url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(params));
    if let Some(sig) = signature {
        request = request.header("x-twilio-signature", sig);
    }
    request.send().await.unwrap()
}

async fn scalar_i64(app: &TestApp, sql: &str) -> i64 {
    app.db
        .superuser()
        .await
        .query_one(sql, &[])
        .await
        .unwrap()
        .get(0)
}

async fn scalar_text(app: &TestApp, sql: &str) -> Option<String> {
    app.db
        .superuser()
        .await
        .query_one(sql, &[])
        .await
        .unwrap()
        .get(0)
}

async fn security_events(app: &TestApp, function: &str) -> i64 {
    scalar_i64(
        app,
        &format!(
            "select count(*) from audit_logs where kind = 'security' and details ->> 'function' = '{function}'"
        ),
    )
    .await
}

/// Reads `campaign_performance` as `role` would through PostgREST.
async fn performance_as(app: &TestApp, role: &str, campaign: &str) -> Option<Value> {
    let caller = app.state.auth.verify_token(&token_for(role)).await.unwrap();
    let scope = RequestScope {
        role: caller.db_role.as_str(),
        claims: caller.claims,
        method: "GET".into(),
        path: "/rest/v1/campaign_performance".into(),
        headers: json!({}),
        statement_timeout: None,
    };
    let mut conn = app.state.pool.get().await.unwrap();
    let tx = gimbal_db::scope::begin(&mut conn, &scope, Access::ReadOnly)
        .await
        .unwrap();
    let row = tx
        .query_opt(
            "select to_jsonb(p) from public.campaign_performance p where campaign_id = $1::text::uuid",
            &[&campaign],
        )
        .await
        .ok()?;
    row.map(|r| r.get(0))
}

// ---------------------------------------------------------------------------
// twilio-status
// ---------------------------------------------------------------------------

async fn sms_fixture(app: &TestApp) {
    app.as_superuser(&format!(
        "insert into sms_messages (id, campaign_id, to_phone, body, status, provider, provider_message_id)
         values ('5a000000-0000-4000-8000-000000000001', '{CAMPAIGN_SMS}', '+14155552671', 'hi', 'sent', 'twilio', 'SM0001');"
    ))
    .await;
}

fn status_params<'a>(sid: &'a str, status: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("MessageSid", sid),
        ("SmsSid", sid),
        ("MessageStatus", status),
        ("SmsStatus", status),
        ("AccountSid", "AC0000"),
        ("From", "+15005550006"),
        ("To", "+14155552671"),
        ("ApiVersion", "2010-04-01"),
    ]
}

#[tokio::test]
async fn twilio_status_updates_the_message_once() {
    let app = app().await;
    sms_fixture(&app).await;
    let params = status_params("SM0001", "delivered");
    for _ in 0..2 {
        let sig = twilio_signature("twilio-status", &params);
        let response = post_twilio(&app, "twilio-status", &params, Some(sig)).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }
    assert_eq!(
        scalar_text(
            &app,
            "select status from sms_messages where provider_message_id = 'SM0001'"
        )
        .await,
        Some("delivered".into())
    );
    assert_eq!(
        scalar_i64(&app, "select count(*) from message_events where provider = 'twilio' and provider_event_id = 'SM0001:delivered'").await,
        1
    );
    // a late 'sent' does not move the message back.
    let late = status_params("SM0001", "sent");
    let response = post_twilio(
        &app,
        "twilio-status",
        &late,
        Some(twilio_signature("twilio-status", &late)),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        scalar_text(
            &app,
            "select status from sms_messages where provider_message_id = 'SM0001'"
        )
        .await,
        Some("delivered".into())
    );
    let stats = performance_as(&app, "viewer", CAMPAIGN_SMS).await.unwrap();
    assert_eq!(stats["delivered"], 1, "{stats}");
}

#[tokio::test]
async fn twilio_accepts_the_url_with_its_default_port() {
    let app = app().await;
    sms_fixture(&app).await;
    let params = status_params("SM0001", "delivered");
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let with_port = format!("{}:443/functions/v1/twilio-status", PUBLIC_URL);
    let sig = gimbal_webhooks::twilio::signature(TWILIO_AUTH_TOKEN.as_bytes(), &with_port, &owned);
    let response = post_twilio(&app, "twilio-status", &params, Some(sig)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn forged_missing_or_altered_twilio_requests_are_refused_and_recorded() {
    let app = app().await;
    sms_fixture(&app).await;
    let params = status_params("SM0001", "failed");
    // missing
    let response = post_twilio(&app, "twilio-status", &params, None).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // forged with another token
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let forged = gimbal_webhooks::twilio::signature(
        b"not-the-token",
        &format!("{PUBLIC_URL}/functions/v1/twilio-status"),
        &owned,
    );
    let response = post_twilio(&app, "twilio-status", &params, Some(forged)).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // a genuine signature replayed over an altered body
    let genuine = twilio_signature("twilio-status", &status_params("SM0001", "delivered"));
    let response = post_twilio(&app, "twilio-status", &params, Some(genuine)).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "forbidden");
    // a user's token is no substitute for the provider's signature
    let response = app
        .http
        .post(app.function_url("twilio-status"))
        .bearer_auth(app.token("admin"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&params))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(security_events(&app, "twilio-status").await, 4);
    assert_eq!(
        scalar_text(
            &app,
            "select status from sms_messages where provider_message_id = 'SM0001'"
        )
        .await,
        Some("sent".into()),
        "nothing refused was applied"
    );
    let details = scalar_text(
        &app,
        "select details::text from audit_logs where kind = 'security' limit 1",
    )
    .await
    .unwrap();
    assert!(!details.contains(TWILIO_AUTH_TOKEN), "{details}");
}

#[tokio::test]
async fn twilio_opted_out_error_suppresses_the_number() {
    let app = app().await;
    sms_fixture(&app).await;
    let mut params = status_params("SM0001", "failed");
    params.push(("ErrorCode", "21610"));
    let response = post_twilio(
        &app,
        "twilio-status",
        &params,
        Some(twilio_signature("twilio-status", &params)),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        scalar_text(
            &app,
            "select reason from suppressions where channel = 'sms' and address = '+14155552671'"
        )
        .await,
        Some("provider_opt_out".into())
    );
    assert_eq!(
        scalar_text(
            &app,
            "select error_code from sms_messages where provider_message_id = 'SM0001'"
        )
        .await,
        Some("21610".into())
    );
}

// ---------------------------------------------------------------------------
// twilio-inbound
// ---------------------------------------------------------------------------

fn inbound<'a>(sid: &'a str, body: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("MessageSid", sid),
        ("AccountSid", "AC0000"),
        ("From", "+15550100001"),
        ("To", "+15005550006"),
        ("Body", body),
        ("NumMedia", "0"),
    ]
}

async fn send_inbound(app: &TestApp, sid: &str, body: &str) -> (StatusCode, String) {
    let params = inbound(sid, body);
    let response = post_twilio(
        app,
        "twilio-inbound",
        &params,
        Some(twilio_signature("twilio-inbound", &params)),
    )
    .await;
    let status = response.status();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(content_type.starts_with("text/xml"), "{content_type}");
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn stop_suppresses_revokes_consent_and_start_lifts_it() {
    let app = app().await;
    app.as_superuser("update contacts set sms_consent = 'granted', sms_consent_source = 'fixture' where phone = '+15550100001'").await;
    let (status, twiml) = send_inbound(&app, "SMin1", " Stop ").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        twiml.contains("<Message>") && twiml.contains("unsubscribed"),
        "{twiml}"
    );
    assert_eq!(
        scalar_text(
            &app,
            "select reason from suppressions where channel = 'sms' and address = '+15550100001'"
        )
        .await,
        Some("stop_keyword".into())
    );
    assert_eq!(
        scalar_text(
            &app,
            "select sms_consent from contacts where phone = '+15550100001'"
        )
        .await,
        Some("denied".into())
    );
    // Twilio retries: the same message is processed once.
    let (_, again) = send_inbound(&app, "SMin1", " Stop ").await;
    assert_eq!(again, twiml);
    let revoked = "select count(*) from contact_consents c join contacts k on k.id = c.contact_id
                   where k.phone = '+15550100001' and c.status = 'revoked'";
    assert_eq!(scalar_i64(&app, revoked).await, 1);
    assert_eq!(
        scalar_i64(
            &app,
            "select count(*) from sms_messages where direction = 'inbound'"
        )
        .await,
        1
    );

    let (_, twiml) = send_inbound(&app, "SMin2", "START").await;
    assert!(twiml.contains("resubscribed"), "{twiml}");
    assert_eq!(
        scalar_i64(
            &app,
            "select count(*) from suppressions where channel = 'sms' and address = '+15550100001'"
        )
        .await,
        0
    );
    assert_eq!(
        scalar_text(
            &app,
            "select sms_consent from contacts where phone = '+15550100001'"
        )
        .await,
        Some("granted".into())
    );
}

#[tokio::test]
async fn help_is_answered_and_other_texts_get_an_empty_response() {
    let app = app().await;
    let (_, twiml) = send_inbound(&app, "SMin3", "help").await;
    assert!(twiml.contains("Reply STOP"), "{twiml}");
    let (_, twiml) = send_inbound(&app, "SMin4", "What time do you open?").await;
    assert!(twiml.ends_with("<Response/>"), "{twiml}");
    assert_eq!(
        scalar_i64(
            &app,
            "select count(*) from suppressions where channel = 'sms'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn forged_inbound_stop_changes_nothing() {
    let app = app().await;
    let params = inbound("SMin5", "STOP");
    let response = post_twilio(&app, "twilio-inbound", &params, Some("bm9wZQ==".into())).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        scalar_i64(
            &app,
            "select count(*) from suppressions where channel = 'sms'"
        )
        .await,
        0
    );
    assert_eq!(security_events(&app, "twilio-inbound").await, 1);
}

// ---------------------------------------------------------------------------
// sendgrid-events
// ---------------------------------------------------------------------------

async fn email_fixture(app: &TestApp) {
    app.as_superuser(&format!(
        "insert into contacts (id, email, email_consent) values
           ('5c000000-0000-4000-8000-000000000003', 'carol@example.com', 'granted');
         insert into email_messages (id, campaign_id, to_email, subject, body, status, provider, provider_message_id) values
           ('5e000000-0000-4000-8000-000000000001', '{CAMPAIGN_EMAIL}', 'ada@example.com', 's', 'b', 'sent', 'sendgrid', 'XMSG1'),
           ('5e000000-0000-4000-8000-000000000002', '{CAMPAIGN_EMAIL}', 'bob@example.com', 's', 'b', 'sent', 'sendgrid', null),
           ('5e000000-0000-4000-8000-000000000003', '{CAMPAIGN_EMAIL}', 'carol@example.com', 's', 'b', 'sent', 'sendgrid', null);"
    ))
    .await;
}

fn batch() -> Vec<u8> {
    let events = json!([
        {"email": "ada@example.com", "event": "delivered", "sg_event_id": "ev-1", "sg_message_id": "XMSG1.filterdrecv-1", "timestamp": 1_700_000_000},
        {"email": "ada@example.com", "event": "open", "sg_event_id": "ev-2", "sg_message_id": "XMSG1.filterdrecv-1", "timestamp": 1_700_000_100},
        {"email": "ada@example.com", "event": "click", "sg_event_id": "ev-3", "sg_message_id": "XMSG1.filterdrecv-1", "url": "https://example.com", "timestamp": 1_700_000_200},
        {"email": "Bob@Example.com", "event": "bounce", "sg_event_id": "ev-4", "type": "bounce", "reason": "550 5.1.1 no such user", "campaign_id": CAMPAIGN_EMAIL, "timestamp": 1_700_000_300},
        {"email": "carol@example.com", "event": "unsubscribe", "sg_event_id": "ev-5", "message_id": "5e000000-0000-4000-8000-000000000003", "timestamp": 1_700_000_400},
        {"email": "ada@example.com", "event": "delivered", "sg_event_id": "ev-1", "sg_message_id": "XMSG1.filterdrecv-1", "timestamp": 1_700_000_000},
        {"email": "nobody@example.com", "event": "processed"}
    ]);
    let mut body = serde_json::to_vec(&events).unwrap();
    body.extend_from_slice(b"\r\n");
    body
}

async fn post_sendgrid(
    app: &TestApp,
    body: &[u8],
    timestamp: &str,
    signature: Option<String>,
) -> reqwest::Response {
    let mut request = app
        .http
        .post(app.function_url("sendgrid-events"))
        .header("content-type", "application/json")
        .header("x-twilio-email-event-webhook-timestamp", timestamp)
        .body(body.to_vec());
    if let Some(sig) = signature {
        request = request.header("x-twilio-email-event-webhook-signature", sig);
    }
    request.send().await.unwrap()
}

fn now() -> String {
    gimbal_e2e::now().to_string()
}

#[tokio::test]
async fn sendgrid_batch_updates_messages_suppresses_and_counts_once() {
    let app = app().await;
    email_fixture(&app).await;
    let body = batch();
    let ts = now();
    let response = post_sendgrid(&app, &body, &ts, Some(sendgrid_signature(&ts, &body))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let outcome: Value = response.json().await.unwrap();
    assert_eq!(outcome["received"], 7, "{outcome}");
    assert_eq!(outcome["recorded"], 5, "{outcome}");
    assert_eq!(outcome["duplicates"], 1, "{outcome}");
    assert_eq!(outcome["skipped"], 1, "{outcome}");
    assert_eq!(outcome["suppressed"], 2, "{outcome}");

    let status = |id: &'static str| {
        let app = &app;
        async move {
            scalar_text(
                app,
                &format!("select status from email_messages where id = '{id}'"),
            )
            .await
        }
    };
    assert_eq!(
        status("5e000000-0000-4000-8000-000000000001").await,
        Some("clicked".into())
    );
    assert_eq!(
        status("5e000000-0000-4000-8000-000000000002").await,
        Some("bounced".into())
    );
    assert_eq!(
        status("5e000000-0000-4000-8000-000000000003").await,
        Some("unsubscribed".into())
    );
    assert_eq!(
        scalar_text(
            &app,
            "select reason from suppressions where address = 'bob@example.com'"
        )
        .await,
        Some("bounce".into())
    );
    assert_eq!(
        scalar_text(
            &app,
            "select email_consent from contacts where email = 'carol@example.com'"
        )
        .await,
        Some("denied".into())
    );

    // SendGrid redelivers the whole batch: nothing changes.
    let ts = now();
    let response = post_sendgrid(&app, &body, &ts, Some(sendgrid_signature(&ts, &body))).await;
    let again: Value = response.json().await.unwrap();
    assert_eq!(again["recorded"], 0, "{again}");
    assert_eq!(again["duplicates"], 6, "{again}");

    let stats = performance_as(&app, "user", CAMPAIGN_EMAIL).await.unwrap();
    assert_eq!(
        (
            &stats["delivered"],
            &stats["opened"],
            &stats["clicked"],
            &stats["bounced"],
            &stats["unsubscribed"]
        ),
        (&json!(1), &json!(1), &json!(1), &json!(1), &json!(1)),
        "{stats}"
    );
    assert_eq!(
        scalar_i64(
            &app,
            "select count(*) from message_events where provider = 'sendgrid'"
        )
        .await,
        5
    );
}

#[tokio::test]
async fn forged_altered_or_stale_sendgrid_batches_are_refused_and_recorded() {
    let app = app().await;
    email_fixture(&app).await;
    let body = batch();
    let ts = now();
    let genuine = sendgrid_signature(&ts, &body);
    // missing signature
    assert_eq!(
        post_sendgrid(&app, &body, &ts, None).await.status(),
        StatusCode::FORBIDDEN
    );
    // the genuine signature over an altered body
    let mut altered = body.clone();
    let at = altered.iter().position(|b| *b == b'1').unwrap();
    altered[at] = b'2';
    assert_eq!(
        post_sendgrid(&app, &altered, &ts, Some(genuine.clone()))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    // the genuine signature under another timestamp
    let other_ts = (gimbal_e2e::now() - 1).to_string();
    assert_eq!(
        post_sendgrid(&app, &body, &other_ts, Some(genuine))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    // signed with a key that is not SendGrid's
    let impostor = p256::ecdsa::SigningKey::from_slice(&[9u8; 32]).unwrap();
    let mut signed = ts.as_bytes().to_vec();
    signed.extend_from_slice(&body);
    let sig: p256::ecdsa::DerSignature = p256::ecdsa::signature::Signer::sign(&impostor, &signed);
    use base64::Engine;
    let forged = base64::engine::general_purpose::STANDARD.encode(sig.as_bytes());
    assert_eq!(
        post_sendgrid(&app, &body, &ts, Some(forged)).await.status(),
        StatusCode::FORBIDDEN
    );
    // genuinely signed, but two days old: a captured batch replayed
    let old = (gimbal_e2e::now() - 2 * 24 * 3600).to_string();
    let response = post_sendgrid(&app, &body, &old, Some(sendgrid_signature(&old, &body))).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let refusal: Value = response.json().await.unwrap();
    assert!(
        refusal["message"].as_str().unwrap().contains("stale"),
        "{refusal}"
    );

    assert_eq!(security_events(&app, "sendgrid-events").await, 5);
    assert_eq!(
        scalar_i64(
            &app,
            "select count(*) from message_events where provider = 'sendgrid'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn a_verified_body_that_is_not_an_event_array_is_a_bad_request() {
    let app = app().await;
    let body = br#"{"event":"open"}"#;
    let ts = now();
    let response = post_sendgrid(&app, body, &ts, Some(sendgrid_signature(&ts, body))).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

// ---------------------------------------------------------------------------
// unsubscribe
// ---------------------------------------------------------------------------

const ENCRYPTION_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn link_token(address: &str, campaign: Option<&str>) -> String {
    let key = gimbal_campaigns::unsubscribe::link_key_from_base64(ENCRYPTION_KEY).unwrap();
    gimbal_campaigns::unsubscribe::token(
        &key,
        &gimbal_campaigns::unsubscribe::UnsubscribeClaim {
            channel: "email".into(),
            address: address.into(),
            campaign_id: campaign.map(|c| c.parse().unwrap()),
            issued_at: gimbal_e2e::now(),
        },
    )
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn get_shows_a_confirmation_page_and_changes_nothing() {
    let app = app().await;
    email_fixture(&app).await;
    let url = format!(
        "{}?token={}",
        app.function_url("unsubscribe"),
        link_token("carol@example.com", Some(CAMPAIGN_EMAIL))
    );
    let response = no_redirects().get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = response.text().await.unwrap();
    assert!(page.contains("<form method=\"post\">"), "{page}");
    assert!(page.contains("c••@example.com"), "{page}");
    assert!(
        !page.contains("carol@example.com"),
        "the page does not show the whole address"
    );
    assert_eq!(
        scalar_i64(
            &app,
            "select count(*) from suppressions where address = 'carol@example.com'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn one_click_post_unsubscribes_without_auth_or_redirect() {
    let app = app().await;
    email_fixture(&app).await;
    let url = format!(
        "{}?token={}",
        app.function_url("unsubscribe"),
        link_token("carol@example.com", Some(CAMPAIGN_EMAIL))
    );
    for _ in 0..2 {
        let response = no_redirects()
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers().get("location").is_none());
        assert!(response.text().await.unwrap().contains("unsubscribed"));
    }
    assert_eq!(
        scalar_text(
            &app,
            "select source from suppressions where address = 'carol@example.com'"
        )
        .await,
        Some("unsubscribe link (one-click)".into())
    );
    assert_eq!(
        scalar_text(
            &app,
            "select email_consent from contacts where email = 'carol@example.com'"
        )
        .await,
        Some("denied".into())
    );
    assert_eq!(
        scalar_i64(&app, "select count(*) from contact_consents c join contacts k on k.id = c.contact_id where k.email = 'carol@example.com' and c.status = 'revoked'").await,
        1
    );
    let stats = performance_as(&app, "admin", CAMPAIGN_EMAIL).await.unwrap();
    assert_eq!(stats["unsubscribed"], 1, "{stats}");
}

#[tokio::test]
async fn the_confirmation_form_unsubscribes_too() {
    let app = app().await;
    let url = format!(
        "{}?token={}",
        app.function_url("unsubscribe"),
        link_token("dan@example.com", None)
    );
    let response = no_redirects()
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("confirm=yes")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        scalar_text(
            &app,
            "select source from suppressions where address = 'dan@example.com'"
        )
        .await,
        Some("unsubscribe link".into())
    );
}

#[tokio::test]
async fn forged_or_malformed_tokens_get_a_400_page() {
    let app = app().await;
    let genuine = link_token("carol@example.com", None);
    let (payload, _) = genuine.split_once('.').unwrap();
    let other = link_token("mallory@example.com", None);
    let (_, other_tag) = other.split_once('.').unwrap();
    let forged = format!("{payload}.{other_tag}");
    for token in [forged.as_str(), "garbage", ""] {
        let url = format!("{}?token={token}", app.function_url("unsubscribe"));
        for method in [reqwest::Method::GET, reqwest::Method::POST] {
            let response = no_redirects()
                .request(method.clone(), &url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body("List-Unsubscribe=One-Click")
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::BAD_REQUEST,
                "{method} {token}"
            );
            assert!(response.text().await.unwrap().contains("not valid"));
        }
    }
    assert_eq!(scalar_i64(&app, "select count(*) from suppressions where channel = 'email' and address not like 'fixture%'").await, 0);
    assert_eq!(
        security_events(&app, "unsubscribe").await,
        2,
        "forged tokens are security events"
    );
}
