//! The validated write functions of messaging — `templates`, `contacts`, `audiences` and
//! `campaigns` edits — with every role: validation names the field, RLS decides who may.

use gimbal_e2e::{TestApp, USER};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const ROLES: [&str; 5] = ["anon", "viewer", "user", "admin", "service_role"];
/// A fixture row owned by the other user (`rls_fixtures.sql`).
const OTHERS_TEMPLATE: &str = "0000000c-0000-4000-8000-00000000000d";
const OTHERS_CAMPAIGN: &str = "0000000d-0000-4000-8000-00000000000d";
const FIXTURE_CONTACT: &str = "00000007-0000-4000-8000-00000000000d";
const FIXTURE_AUDIENCE: &str = "00000008-0000-4000-8000-00000000000d";

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    role: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let response = app.invoke(method, path, Some(&app.token(role)), body).await;
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn app() -> TestApp {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    app
}

fn welcome() -> Value {
    json!({
        "name": "Welcome",
        "channel": "email",
        "subject": "Hi {{first_name | default(\"there\")}}",
        "body": "Hello {{first_name}}\n{{company_postal_address}}\n{{unsubscribe_url}}"
    })
}

#[tokio::test]
async fn template_create_by_role() {
    let app = app().await;
    let mut got = Vec::new();
    for role in ROLES {
        let (status, _) = call(&app, Method::POST, "templates", role, Some(welcome())).await;
        got.push((role, status.as_u16()));
    }
    assert_eq!(
        got,
        [
            ("anon", 403),
            ("viewer", 403),
            ("user", 201),
            ("admin", 201),
            ("service_role", 201)
        ]
    );
}

#[tokio::test]
async fn template_variables_are_stored_and_owner_is_the_caller() {
    let app = app().await;
    let (status, body) = call(&app, Method::POST, "templates", "user", Some(welcome())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["created_by"], USER);
    assert_eq!(
        body["variables"],
        json!(["first_name", "company_postal_address", "unsubscribe_url"])
    );
}

#[tokio::test]
async fn unknown_template_variable_is_422_with_line_and_column() {
    let app = app().await;
    let mut t = welcome();
    t["body"] = json!("Hello {{first_name}}\nYour {{favourite_colour}} pick");
    let (status, body) = call(&app, Method::POST, "templates", "user", Some(t)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "body");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("line 2, column 6"), "{message}");
    assert!(message.contains("favourite_colour"), "{message}");
}

#[tokio::test]
async fn template_syntax_error_names_the_field() {
    let app = app().await;
    let mut t = welcome();
    t["subject"] = json!("Hi {{first_name");
    let (status, body) = call(&app, Method::POST, "templates", "user", Some(t)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "subject");
}

#[tokio::test]
async fn template_edit_by_role_follows_ownership() {
    let app = app().await;
    let path = format!("templates/{OTHERS_TEMPLATE}");
    let patch = json!({"name": "Renamed"});
    let mut got = Vec::new();
    for role in ROLES {
        let (status, _) = call(&app, Method::PATCH, &path, role, Some(patch.clone())).await;
        got.push((role, status.as_u16()));
    }
    // anon cannot even read templates; the viewer and a user who is not the owner see it
    // but may not change it; admins and the service role may.
    assert_eq!(
        got,
        [
            ("anon", 403),
            ("viewer", 403),
            ("user", 403),
            ("admin", 200),
            ("service_role", 200)
        ]
    );
    let (_, own) = call(&app, Method::POST, "templates", "user", Some(welcome())).await;
    let own_path = format!("templates/{}", own["id"].as_str().unwrap());
    let (status, body) = call(
        &app,
        Method::PATCH,
        &own_path,
        "user",
        Some(json!({"body": "Bye {{first_name}} {{unsubscribe_url}}"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["variables"], json!(["first_name", "unsubscribe_url"]));
    let (status, _) = call(&app, Method::DELETE, &own_path, "user", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(&app, Method::DELETE, &own_path, "user", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn contact_create_by_role_normalises_the_phone() {
    let app = app().await;
    let mut got = Vec::new();
    for (i, role) in ROLES.iter().enumerate() {
        let body = json!({
            "email": format!("Person{i}@Example.com"),
            "phone": format!("(415) 555-26{i:02}"),
            "time_zone": "America/Los_Angeles"
        });
        let (status, created) = call(&app, Method::POST, "contacts", role, Some(body)).await;
        got.push((*role, status.as_u16()));
        if status == StatusCode::CREATED {
            assert_eq!(created["phone"], format!("+1415555260{i}"));
            assert_eq!(created["email"], format!("person{i}@example.com"));
        }
    }
    assert_eq!(
        got,
        [
            ("anon", 403),
            ("viewer", 403),
            ("user", 201),
            ("admin", 201),
            ("service_role", 201)
        ]
    );
}

#[tokio::test]
async fn contact_fields_are_validated_by_name() {
    let app = app().await;
    let cases = [
        (json!({"email": "not-an-email"}), "email"),
        (json!({"phone": "12"}), "phone"),
        (json!({"first_name": "no address"}), "email"),
        (
            json!({"email": "a@example.com", "time_zone": "Mars/Base"}),
            "time_zone",
        ),
        (
            json!({"email": "a@example.com", "sms_consent": "granted"}),
            "sms_consent_source",
        ),
        (
            json!({"email": "a@example.com", "email_consent": "perhaps", "email_consent_source": "x"}),
            "email_consent",
        ),
        (
            json!({"email": "a@example.com", "attributes": [1]}),
            "attributes",
        ),
        (json!({"phone": "020 7946 0958", "region": "XX"}), "region"),
    ];
    for (body, field) in cases {
        let (status, answer) =
            call(&app, Method::POST, "contacts", "user", Some(body.clone())).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body} -> {answer}"
        );
        assert_eq!(answer["field"], field, "{body} -> {answer}");
    }
}

#[tokio::test]
async fn contact_consent_is_recorded_with_source_and_evidence() {
    let app = app().await;
    let body = json!({
        "phone": "020 7946 0958", "region": "GB",
        "sms_consent": "granted", "sms_consent_source": "web form"
    });
    let (status, created) = call(&app, Method::POST, "contacts", "user", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["phone"], "+442079460958");
    assert_eq!(created["sms_consent"], "granted");
    assert_eq!(created["sms_consent_source"], "web form");
    assert!(created["sms_consent_at"].is_string());
    let db = app.db.superuser().await;
    let records: i64 = db
        .query_one(
            "select count(*) from contact_consents where contact_id = $1::text::uuid and status = 'granted'",
            &[&created["id"].as_str().unwrap()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(records, 1);
}

#[tokio::test]
async fn duplicate_contact_address_is_a_conflict() {
    let app = app().await;
    let body = json!({"email": "FIXTURE.a.0@example.com"});
    let (status, answer) = call(&app, Method::POST, "contacts", "user", Some(body)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
}

#[tokio::test]
async fn only_admins_delete_contacts_and_users_update_them() {
    let app = app().await;
    let path = format!("contacts/{FIXTURE_CONTACT}");
    let (status, body) = call(
        &app,
        Method::PATCH,
        &path,
        "user",
        Some(json!({"first_name": "Renamed", "locale": "en-GB"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["first_name"], "Renamed");
    // contacts are invisible to viewers (404, as PostgREST would show nothing); anon holds no
    // privilege at all (403); users see the contact but may not delete it (403).
    let (status, _) = call(
        &app,
        Method::PATCH,
        &path,
        "viewer",
        Some(json!({"first_name": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let mut got = Vec::new();
    for role in ["anon", "viewer", "user"] {
        let (status, _) = call(&app, Method::DELETE, &path, role, None).await;
        got.push((role, status.as_u16()));
    }
    assert_eq!(got, [("anon", 403), ("viewer", 404), ("user", 403)]);
    let (status, _) = call(&app, Method::DELETE, &path, "admin", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn audiences_by_role_with_members() {
    let app = app().await;
    let mut got = Vec::new();
    for role in ROLES {
        let (status, _) = call(
            &app,
            Method::POST,
            "audiences",
            role,
            Some(json!({"name": "VIPs"})),
        )
        .await;
        got.push((role, status.as_u16()));
    }
    assert_eq!(
        got,
        [
            ("anon", 403),
            ("viewer", 403),
            ("user", 201),
            ("admin", 201),
            ("service_role", 201)
        ]
    );
    let (_, audience) = call(
        &app,
        Method::POST,
        "audiences",
        "user",
        Some(json!({"name": "  Newsletter ", "description": "weekly"})),
    )
    .await;
    assert_eq!(audience["name"], "Newsletter");
    let members = format!("audiences/{}/members", audience["id"].as_str().unwrap());
    let ids = json!({"contact_ids": [FIXTURE_CONTACT, "00000007-0000-4000-8000-00000000000a"]});
    let (status, body) = call(&app, Method::POST, &members, "user", Some(ids.clone())).await;
    assert_eq!(
        (status, body["changed"].as_u64()),
        (StatusCode::OK, Some(2))
    );
    let (_, again) = call(&app, Method::POST, &members, "user", Some(ids.clone())).await;
    assert_eq!(again["changed"], 0, "adding twice adds nothing");
    let (status, _) = call(&app, Method::POST, &members, "viewer", Some(ids.clone())).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "audiences are invisible to viewers"
    );
    let (status, _) = call(&app, Method::POST, &members, "anon", Some(ids.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let unknown = json!({"contact_ids": ["00000000-0000-4000-8000-0000000000ff"]});
    let (status, body) = call(&app, Method::POST, &members, "user", Some(unknown)).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("contact_ids"))
    );
    // removing members is an admin decision.
    let (status, _) = call(&app, Method::DELETE, &members, "user", Some(ids.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = call(&app, Method::DELETE, &members, "admin", Some(ids)).await;
    assert_eq!(
        (status, body["changed"].as_u64()),
        (StatusCode::OK, Some(2))
    );
    let (status, _) = call(
        &app,
        Method::PATCH,
        &format!("audiences/{FIXTURE_AUDIENCE}"),
        "user",
        Some(json!({"name": ""})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = call(
        &app,
        Method::DELETE,
        &format!("audiences/{FIXTURE_AUDIENCE}"),
        "user",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(
        &app,
        Method::DELETE,
        &format!("audiences/{FIXTURE_AUDIENCE}"),
        "admin",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn campaign_edit_by_role_follows_ownership() {
    let app = app().await;
    let path = format!("campaigns/{OTHERS_CAMPAIGN}");
    let mut got = Vec::new();
    for role in ROLES {
        let (status, _) = call(
            &app,
            Method::PATCH,
            &path,
            role,
            Some(json!({"name": "Edited"})),
        )
        .await;
        got.push((role, status.as_u16()));
    }
    assert_eq!(
        got,
        [
            ("anon", 403),
            ("viewer", 403),
            ("user", 403),
            ("admin", 200),
            ("service_role", 200)
        ]
    );
}

#[tokio::test]
async fn campaign_edit_validates_and_schedules() {
    let app = app().await;
    let (_, created) = call(
        &app,
        Method::POST,
        "campaigns",
        "user",
        Some(json!({"name": "Spring", "channel": "email"})),
    )
    .await;
    let path = format!("campaigns/{}", created["id"].as_str().unwrap());
    let (status, body) = call(
        &app,
        Method::PATCH,
        &path,
        "user",
        Some(json!({"from_address": "nope"})),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("from_address"))
    );
    // an sms template on an email campaign is refused.
    let (status, body) = call(
        &app,
        Method::PATCH,
        &path,
        "user",
        Some(json!({"template_id": OTHERS_TEMPLATE})),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("template_id"))
    );
    let later = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let (status, body) = call(
        &app,
        Method::PATCH,
        &path,
        "user",
        Some(json!({"send_at": later})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "scheduled");
    let (_, body) = call(
        &app,
        Method::PATCH,
        &path,
        "user",
        Some(json!({"send_at": null})),
    )
    .await;
    assert_eq!(body["status"], "draft");
}

#[tokio::test]
async fn a_running_campaign_cannot_be_edited() {
    let app = app().await;
    app.as_superuser(&format!(
        "update campaigns set status = 'running' where id = '{OTHERS_CAMPAIGN}'"
    ))
    .await;
    let path = format!("campaigns/{OTHERS_CAMPAIGN}");
    let (status, body) = call(
        &app,
        Method::PATCH,
        &path,
        "admin",
        Some(json!({"name": "Too late"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"], "conflict");
    assert!(body["message"].as_str().unwrap().contains("running"));
}
