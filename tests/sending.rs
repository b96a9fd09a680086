//! The sending functions — `send-campaign`, `campaign-control`, `test-send` — for every role,
//! and a campaign sent end to end through the local providers (what `gimbal dev` runs).

use gimbal_e2e::{OTHER_USER, TestApp, USER};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

const ROLES: [&str; 5] = ["anon", "viewer", "user", "admin", "service_role"];

/// An email campaign ready to send, owned by `owner`, to three consenting contacts.
async fn campaign(app: &TestApp, owner: &str, status: &str) -> Uuid {
    let id = Uuid::new_v4();
    let tag = id.simple();
    app.as_superuser(&format!(
        "insert into public.app_settings (key, value) values
           ('company_postal_address', '\"1 Main St, Springfield, USA\"')
         on conflict (key) do nothing;
         insert into public.audiences (id, name) values ('{id}', 'a');
         insert into public.templates (id, name, channel, subject, body)
           values ('{id}', 't', 'email', 'Hi {{{{first_name}}}}',
                   'Hi {{{{first_name | default(\"there\")}}}} {{{{company_postal_address}}}} {{{{unsubscribe_url}}}}');
         insert into public.contacts (email, first_name, email_consent)
           select 'r' || g || '-{tag}@example.com', 'R' || g, 'granted' from generate_series(1, 3) g;
         insert into public.audience_contacts (audience_id, contact_id)
           select '{id}', id from public.contacts where email like '%-{tag}@example.com';
         insert into public.campaigns (id, name, channel, status, template_id, audience_id, from_address, created_by)
           values ('{id}', 'c', 'email', '{status}', '{id}', '{id}', 'news@example.com', '{owner}');"
    ))
    .await;
    id
}

async fn call(app: &TestApp, function: &str, role: &str, body: Value) -> (StatusCode, Value) {
    let response = app
        .invoke(Method::POST, function, Some(&app.token(role)), Some(body))
        .await;
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn status_of(app: &TestApp, id: Uuid) -> String {
    let client = app.db.superuser().await;
    client
        .query_one("select status from public.campaigns where id = $1", &[&id])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn send_campaign_is_allowed_to_its_owner_admins_and_the_service_role_only() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let expected = [
        ("anon", StatusCode::FORBIDDEN),
        ("viewer", StatusCode::FORBIDDEN),
        ("user", StatusCode::ACCEPTED),
        ("admin", StatusCode::ACCEPTED),
        ("service_role", StatusCode::ACCEPTED),
    ];
    for (role, want) in expected {
        let id = campaign(&app, USER, "draft").await;
        let (status, body) = call(&app, "send-campaign", role, json!({"campaign_id": id})).await;
        assert_eq!(status, want, "{role}: {body}");
        let now = status_of(&app, id).await;
        if want == StatusCode::ACCEPTED {
            assert_eq!(body["status"], "running", "{role}");
            assert_eq!(body["job_ids"].as_array().unwrap().len(), 2, "{role}");
            assert_eq!(now, "running");
        } else {
            assert_eq!(now, "draft", "{role} changed nothing");
        }
    }
    // a user cannot send someone else's campaign
    let theirs = campaign(&app, OTHER_USER, "draft").await;
    let (status, _) = call(
        &app,
        "send-campaign",
        "user",
        json!({"campaign_id": theirs}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(status_of(&app, theirs).await, "draft");
}

#[tokio::test]
async fn send_campaign_names_what_a_campaign_lacks() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let id = campaign(&app, USER, "draft").await;
    app.as_superuser(&format!(
        "update public.templates set body = 'Hi {{{{first_name}}}}' where id = '{id}'"
    ))
    .await;
    let (status, body) = call(&app, "send-campaign", "user", json!({"campaign_id": id})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["field"], "template");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("unsubscribe_url"),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("company_postal_address"),
        "{body}"
    );

    let (status, _) = call(
        &app,
        "send-campaign",
        "user",
        json!({"campaign_id": Uuid::new_v4()}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = call(&app, "send-campaign", "user", json!({"campaign": id})).await;
    assert!(status.is_client_error(), "{body}");
    let running = campaign(&app, USER, "running").await;
    let (status, _) = call(
        &app,
        "send-campaign",
        "user",
        json!({"campaign_id": running}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn campaign_control_follows_the_same_rules() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    for role in ROLES {
        let id = campaign(&app, USER, "running").await;
        let (status, body) = call(
            &app,
            "campaign-control",
            role,
            json!({"campaign_id": id, "action": "pause"}),
        )
        .await;
        let allowed = matches!(role, "user" | "admin" | "service_role");
        if allowed {
            assert_eq!(status, StatusCode::OK, "{role}: {body}");
            assert_eq!(status_of(&app, id).await, "paused");
            let (status, body) = call(
                &app,
                "campaign-control",
                role,
                json!({"campaign_id": id, "action": "resume"}),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{role}: {body}");
            assert_eq!(body["status"], "running");
            let (status, _) = call(
                &app,
                "campaign-control",
                role,
                json!({"campaign_id": id, "action": "cancel"}),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{role}");
            assert_eq!(status_of(&app, id).await, "cancelled");
        } else {
            assert_eq!(status, StatusCode::FORBIDDEN, "{role}: {body}");
            assert_eq!(status_of(&app, id).await, "running");
        }
    }
    let theirs = campaign(&app, OTHER_USER, "running").await;
    let (status, _) = call(
        &app,
        "campaign-control",
        "user",
        json!({"campaign_id": theirs, "action": "cancel"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let draft = campaign(&app, USER, "draft").await;
    let (status, _) = call(
        &app,
        "campaign-control",
        "user",
        json!({"campaign_id": draft, "action": "pause"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = call(
        &app,
        "campaign-control",
        "user",
        json!({"campaign_id": draft, "action": "explode"}),
    )
    .await;
    assert!(status.is_client_error());
}

#[tokio::test]
async fn test_send_goes_to_the_callers_own_address_only() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    for role in ROLES {
        let id = campaign(&app, USER, "draft").await;
        let (status, body) = call(&app, "test-send", role, json!({"campaign_id": id})).await;
        match role {
            "user" | "admin" => {
                assert_eq!(status, StatusCode::ACCEPTED, "{role}: {body}");
                assert_eq!(body["to"], format!("{role}@gimbal.local"));
            }
            // the service key carries no address to send to
            "service_role" => {
                assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
                assert_eq!(body["field"], "email");
            }
            _ => assert_eq!(status, StatusCode::FORBIDDEN, "{role}: {body}"),
        }
        assert_eq!(
            status_of(&app, id).await,
            "draft",
            "a test send does not start the campaign"
        );
    }
    app.state.jobs.tick(10).await.unwrap();
    let client = app.db.superuser().await;
    let rows = client
        .query(
            "select to_address, subject, body from public.local_outbox where channel = 'email' and to_address like '%@gimbal.local' order by to_address",
            &[],
        )
        .await
        .unwrap();
    let to: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(to, ["admin@gimbal.local", "user@gimbal.local"]);
    let subject: String = rows[1].get(1);
    assert!(subject.starts_with("[TEST] Hi "), "{subject}");
    let body: String = rows[1].get(2);
    assert!(
        body.contains("1 Main St") && body.contains("/functions/v1/unsubscribe?token="),
        "{body}"
    );
}

#[tokio::test]
async fn a_campaign_sends_end_to_end_through_the_local_providers() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let id = campaign(&app, USER, "draft").await;
    let (status, _) = call(&app, "send-campaign", "user", json!({"campaign_id": id})).await;
    assert_eq!(status, StatusCode::ACCEPTED);

    app.state.jobs.tick(10).await.unwrap();

    assert_eq!(status_of(&app, id).await, "completed");
    let client = app.db.superuser().await;
    let sent: i64 = client
        .query_one(
            "select count(*) from public.email_messages where campaign_id = $1 and status = 'sent' and provider = 'local'",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(sent, 3);
    let outbox = client
        .query(
            "select headers, metadata from public.local_outbox where metadata->>'campaign_id' = $1",
            &[&id.to_string()],
        )
        .await
        .unwrap();
    assert_eq!(outbox.len(), 3);
    let headers: Value = outbox[0].get(0);
    assert_eq!(
        headers["List-Unsubscribe-Post"],
        "List-Unsubscribe=One-Click"
    );
    let stats: Value = client
        .query_one("select stats from public.campaigns where id = $1", &[&id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(stats["sent"], 3);
}

#[tokio::test]
async fn the_unsubscribe_link_a_campaign_sends_unsubscribes_its_recipient() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let id = campaign(&app, USER, "draft").await;
    let (status, _) = call(&app, "send-campaign", "user", json!({"campaign_id": id})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    app.state.jobs.tick(10).await.unwrap();

    let client = app.db.superuser().await;
    let row = client
        .query_one(
            "select to_address, headers from public.local_outbox
              where metadata->>'campaign_id' = $1 order by to_address limit 1",
            &[&id.to_string()],
        )
        .await
        .unwrap();
    let (to, headers): (String, Value) = (row.get(0), row.get(1));
    // `List-Unsubscribe: <https://…/functions/v1/unsubscribe?token=…>`, as the dispatcher wrote it
    let header = headers["List-Unsubscribe"]
        .as_str()
        .expect("List-Unsubscribe");
    let token = header
        .split("token=")
        .nth(1)
        .expect("a token in the link")
        .trim_end_matches('>');
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}?token={token}", app.function_url("unsubscribe")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{header}");

    let suppressed: i64 = client
        .query_one(
            "select count(*) from public.suppressions
              where channel = 'email' and address = lower($1) and reason = 'unsubscribe'",
            &[&to],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(suppressed, 1, "{to} is suppressed by its own link");
}
