//! `render-template`: previews for a contact or sample values, SMS segments and encoding,
//! compliance problems, and who may preview.

use gimbal_e2e::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const CONTACT: &str = "00000007-0000-4000-8000-00000000000a";

async fn render(app: &TestApp, role: &str, body: Value) -> (StatusCode, Value) {
    let response = app
        .invoke(
            Method::POST,
            "render-template",
            Some(&app.token(role)),
            Some(body),
        )
        .await;
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn app() -> TestApp {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    app.as_superuser(
        "insert into app_settings (key, value) values
           ('company_name', '\"Acme\"'),
           ('company_postal_address', '\"1 Main St, Springfield\"')
         on conflict (key) do update set value = excluded.value;
         update contacts set attributes = '{\"plan\": \"pro\"}' where id = '00000007-0000-4000-8000-00000000000a';",
    )
    .await;
    app
}

fn codes(preview: &Value) -> Vec<String> {
    preview["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn sms_preview_for_a_contact_counts_segments() {
    let app = app().await;
    let body = json!({
        "channel": "sms",
        "body": "Acme: hi {{first_name}}, your {{attributes.plan}} plan renews. Reply STOP to opt out",
        "contact_id": CONTACT
    });
    let (status, preview) = render(&app, "user", body).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(
        preview["body"],
        "Acme: hi Fixture, your pro plan renews. Reply STOP to opt out"
    );
    assert_eq!(preview["sms"]["encoding"], "gsm-7");
    assert_eq!(preview["sms"]["segments"], 1);
    assert_eq!(preview["compliant"], true, "{preview}");
}

#[tokio::test]
async fn ucs2_characters_and_missing_opt_out_are_reported() {
    let app = app().await;
    let body = json!({"channel": "sms", "body": "Acme sale 🎉 {{first_name | default(\"friend\")}} — today"});
    let (_, preview) = render(&app, "user", body).await;
    assert_eq!(preview["sms"]["encoding"], "ucs-2");
    assert_eq!(preview["sms"]["non_gsm_characters"], json!(["🎉", "—"]));
    assert_eq!(preview["body"], "Acme sale 🎉 friend — today");
    assert_eq!(
        codes(&preview),
        ["missing_opt_out_language", "ucs2_encoding"]
    );
    assert_eq!(preview["compliant"], false);
    let transactional = json!({"channel": "sms", "body": "Your code is 1234", "marketing": false});
    let (_, preview) = render(&app, "user", transactional).await;
    assert_eq!(preview["compliant"], true, "{preview}");
}

#[tokio::test]
async fn email_needs_unsubscribe_link_and_postal_address() {
    let app = app().await;
    let bad = json!({"channel": "email", "subject": "News", "body": "Hello {{first_name}}"});
    let (_, preview) = render(&app, "user", bad).await;
    assert_eq!(
        codes(&preview),
        ["missing_unsubscribe_link", "missing_postal_address"]
    );
    assert_eq!(preview["missing"], json!(["first_name"]));
    assert_eq!(preview["body"], "Hello {{first_name}}");
    let good = json!({
        "channel": "email", "subject": "News for {{first_name}}",
        "body": "Hello\n--\n{{company_name}}, {{company_postal_address}}\nUnsubscribe: {{unsubscribe_url}}",
        "sample": {"first_name": "Ada"}
    });
    let (_, preview) = render(&app, "user", good).await;
    assert_eq!(preview["compliant"], true, "{preview}");
    assert_eq!(preview["subject"], "News for Ada");
    assert!(
        preview["body"]
            .as_str()
            .unwrap()
            .contains("/functions/v1/unsubscribe?token=preview")
    );
}

#[tokio::test]
async fn saved_templates_preview_and_unknown_variables_are_422() {
    let app = app().await;
    let (status, preview) = render(
        &app,
        "viewer",
        json!({"template_id": "0000000c-0000-4000-8000-00000000000a", "sample": {"first_name": "Vi"}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["body"], "Hi Vi");
    let (status, body) = render(
        &app,
        "user",
        json!({"channel": "sms", "body": "Hi\n {{nick}}"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "body");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("line 2, column 2"),
        "{body}"
    );
}

#[tokio::test]
async fn preview_by_role() {
    let app = app().await;
    let with_contact =
        json!({"channel": "sms", "body": "Hi {{first_name}}", "contact_id": CONTACT});
    let mut got = Vec::new();
    for role in ["anon", "viewer", "user", "admin", "service_role"] {
        let (status, _) = render(&app, role, with_contact.clone()).await;
        got.push((role, status.as_u16()));
    }
    // contacts are personal data: viewers cannot render for one (the contact is invisible).
    assert_eq!(
        got,
        [
            ("anon", 403),
            ("viewer", 422),
            ("user", 200),
            ("admin", 200),
            ("service_role", 200)
        ]
    );
}
