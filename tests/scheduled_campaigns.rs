//! Campaigns scheduled by saving a `send_at` through the `campaigns` function start on time,
//! once, and never at a time they no longer have.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use gimbal_e2e::{TestApp, USER};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

/// A draft email campaign owned by the user, to three consenting contacts.
async fn draft(app: &TestApp) -> Uuid {
    let id = Uuid::new_v4();
    let tag = id.simple();
    app.as_superuser(&format!(
        "insert into public.app_settings (key, value) values
           ('company_postal_address', '\"1 Main St, Springfield, USA\"')
         on conflict (key) do nothing;
         insert into public.audiences (id, name) values ('{id}', 'a');
         insert into public.templates (id, name, channel, subject, body)
           values ('{id}', 't', 'email', 'Hi {{{{first_name}}}}',
                   'Hi {{{{first_name}}}} {{{{company_postal_address}}}} {{{{unsubscribe_url}}}}');
         insert into public.contacts (email, first_name, email_consent)
           select 'r' || g || '-{tag}@example.com', 'R' || g, 'granted' from generate_series(1, 3) g;
         insert into public.audience_contacts (audience_id, contact_id)
           select '{id}', id from public.contacts where email like '%-{tag}@example.com';
         insert into public.campaigns (id, name, channel, status, template_id, audience_id, from_address, created_by)
           values ('{id}', 'c', 'email', 'draft', '{id}', '{id}', 'news@example.com', '{USER}');"
    ))
    .await;
    id
}

/// PATCHes `send_at` (an RFC 3339 instant, or null) as the campaign's owner.
async fn set_send_at(app: &TestApp, id: Uuid, send_at: Value) -> Value {
    let response = app
        .invoke(
            Method::PATCH,
            &format!("campaigns/{id}"),
            Some(&app.token("user")),
            Some(json!({"send_at": send_at})),
        )
        .await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn in_secs(secs: i64) -> Value {
    json!(
        (Utc::now() + chrono::Duration::seconds(secs)).to_rfc3339_opts(SecondsFormat::Millis, true)
    )
}

async fn scalar(app: &TestApp, sql: &str, id: Uuid) -> Value {
    let client = app.db.superuser().await;
    client
        .query_one(
            &format!("select to_jsonb(({sql})) from public.campaigns c where c.id = $1"),
            &[&id],
        )
        .await
        .unwrap()
        .get(0)
}

async fn outbox(app: &TestApp, id: Uuid) -> i64 {
    let client = app.db.superuser().await;
    client
        .query_one(
            "select count(*) from public.local_outbox where metadata->>'campaign_id' = $1",
            &[&id.to_string()],
        )
        .await
        .unwrap()
        .get(0)
}

/// Runs the queue until nothing due is left (a start enqueues the send jobs it then runs).
async fn drain(app: &TestApp) {
    for _ in 0..5 {
        let report = app.state.jobs.tick(20).await.unwrap();
        if report.jobs_run == 0 {
            break;
        }
    }
}

#[tokio::test]
async fn a_campaign_patched_to_scheduled_is_sent_once_at_its_time() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let id = draft(&app).await;

    let saved = set_send_at(&app, id, in_secs(2)).await;
    assert_eq!(saved["status"], "scheduled");

    drain(&app).await;
    assert_eq!(outbox(&app, id).await, 0, "nothing before send_at");
    assert_eq!(scalar(&app, "c.status", id).await, "scheduled");

    tokio::time::sleep(Duration::from_millis(2_300)).await;
    drain(&app).await;
    assert_eq!(scalar(&app, "c.status", id).await, "completed");
    assert_eq!(outbox(&app, id).await, 3);

    // the minute sweep, and the queue run again later, send nothing more
    gimbal_dispatch::scheduled::ensure_schedule(&app.state.pool)
        .await
        .unwrap();
    app.as_superuser(
        "update public.cron_schedules set next_run_at = now() - interval '1 second'
         where name = 'campaigns.start-due'",
    )
    .await;
    drain(&app).await;
    assert_eq!(outbox(&app, id).await, 3, "sent once");
}

#[tokio::test]
async fn a_rescheduled_campaign_is_not_sent_at_its_old_time() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let id = draft(&app).await;
    set_send_at(&app, id, in_secs(2)).await;
    let later = set_send_at(&app, id, in_secs(3600)).await;
    assert_eq!(later["status"], "scheduled");

    tokio::time::sleep(Duration::from_millis(2_300)).await;
    drain(&app).await;

    assert_eq!(scalar(&app, "c.status", id).await, "scheduled");
    assert_eq!(outbox(&app, id).await, 0);
    // the start at the new time is waiting
    let client = app.db.superuser().await;
    let pending: i64 = client
        .query_one(
            "select count(*) from public.jobs
             where kind = 'campaign.start' and status = 'queued' and payload->>'campaign_id' = $1
               and run_at > now() + interval '59 minutes'",
            &[&id.to_string()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(pending, 1);
}

#[tokio::test]
async fn a_campaign_returned_to_draft_is_never_sent() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let id = draft(&app).await;
    set_send_at(&app, id, in_secs(2)).await;
    let back = set_send_at(&app, id, Value::Null).await;
    assert_eq!(back["status"], "draft");

    tokio::time::sleep(Duration::from_millis(2_300)).await;
    drain(&app).await;

    assert_eq!(scalar(&app, "c.status", id).await, "draft");
    assert_eq!(outbox(&app, id).await, 0);
}

#[tokio::test]
async fn a_campaign_created_scheduled_is_started_by_its_job() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let id = draft(&app).await;
    app.as_superuser(&format!("delete from public.campaigns where id = '{id}'"))
        .await;
    let response = app
        .invoke(
            Method::POST,
            "campaigns",
            Some(&app.token("user")),
            Some(json!({
                "name": "scheduled", "channel": "email", "template_id": id, "audience_id": id,
                "from_address": "news@example.com", "send_at": in_secs(2),
            })),
        )
        .await;
    let status = response.status();
    let created: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let new_id: Uuid = created["id"].as_str().unwrap().parse().unwrap();

    tokio::time::sleep(Duration::from_millis(2_300)).await;
    drain(&app).await;

    assert_eq!(scalar(&app, "c.status", new_id).await, "completed");
    assert_eq!(outbox(&app, new_id).await, 3);
}

#[tokio::test]
async fn a_scheduled_campaign_without_its_unsubscribe_link_fails_with_the_reason() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let id = draft(&app).await;
    app.as_superuser(&format!(
        "update public.templates set body = 'Hi {{{{first_name}}}}' where id = '{id}'"
    ))
    .await;
    set_send_at(&app, id, in_secs(2)).await;

    tokio::time::sleep(Duration::from_millis(2_300)).await;
    drain(&app).await;

    assert_eq!(scalar(&app, "c.status", id).await, "failed");
    let reason = scalar(&app, "c.stats->>'failed_reason'", id).await;
    let reason = reason.as_str().unwrap();
    assert!(
        reason.contains("unsubscribe_url") && reason.contains("company_postal_address"),
        "{reason}"
    );
    assert_eq!(outbox(&app, id).await, 0);
}
