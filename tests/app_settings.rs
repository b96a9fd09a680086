//! `app-settings`: members read every setting (defaults filled in), admins write them, every
//! value is validated against the typed schema and an error names the key.

use gimbal_e2e::{ADMIN, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn call(
    app: &TestApp,
    role: &str,
    method: Method,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let response = app
        .invoke(method, "app-settings", Some(&app.token(role)), body)
        .await;
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn members_read_the_settings_with_defaults_and_anon_does_not() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    app.as_superuser(
        "insert into public.app_settings (key, value) values ('company_name', '\"Gimbal Demo Co.\"')",
    )
    .await;
    for role in ["viewer", "user", "admin", "service_role"] {
        let (status, body) = call(&app, role, Method::GET, None).await;
        assert_eq!(status, StatusCode::OK, "{role}");
        let settings = &body["settings"];
        assert_eq!(settings["company_name"], "Gimbal Demo Co.", "{role}");
        assert_eq!(
            settings["quiet_hours"],
            json!({"start": "08:00", "end": "21:00"})
        );
        assert_eq!(settings["retention.audit_logs_days"], 30);
        assert!(settings["company_postal_address"].is_null());
        assert!(
            settings.get("fixture.setting_01").is_none(),
            "only the schema's keys"
        );
    }
    let (status, _) = call(&app, "anon", Method::GET, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn admins_and_the_service_role_write_settings_and_others_may_not() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let change = json!({"company_postal_address": "1 Main St, Springfield, IL 62701, USA"});
    for role in ["anon", "viewer", "user"] {
        let (status, body) = call(&app, role, Method::PATCH, Some(change.clone())).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}: {body}");
    }
    let (status, body) = call(&app, "admin", Method::PATCH, Some(change.clone())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["settings"]["company_postal_address"],
        "1 Main St, Springfield, IL 62701, USA"
    );
    let (status, body) = call(
        &app,
        "service_role",
        Method::PUT,
        Some(json!({"retention.audit_logs_days": 90})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["settings"]["retention.audit_logs_days"], 90);

    // the admin's write is in the audit trail with the admin as actor.
    let actor: Option<uuid::Uuid> = app
        .db
        .superuser()
        .await
        .query_one(
            "select actor_id from public.audit_logs where table_name = 'app_settings' and row_id = 'company_postal_address'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(actor.unwrap().to_string(), ADMIN);
}

#[tokio::test]
async fn invalid_values_name_the_key_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    for (body, field) in [
        (
            json!({"quiet_hours": {"start": "8am", "end": "21:00"}}),
            "quiet_hours.start",
        ),
        (
            json!({"default_time_zone": "Mars/Olympus"}),
            "default_time_zone",
        ),
        (
            json!({"rate_limit.sms": {"per_second": -1, "burst": 5}}),
            "rate_limit.sms.per_second",
        ),
        (
            json!({"retention.audit_logs_days": 0}),
            "retention.audit_logs_days",
        ),
        (json!({"company_name": "Fine", "colour": "red"}), "colour"),
    ] {
        let (status, response) = call(&app, "admin", Method::PATCH, Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(response["field"], field, "{body}");
        assert_eq!(response["error"], "validation_failed");
    }
    let (_, body) = call(&app, "admin", Method::GET, None).await;
    assert!(
        body["settings"]["company_name"].is_null(),
        "all or nothing: {body}"
    );
}
