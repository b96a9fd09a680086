//! Notifications: `notify` honours each user's preferences (defaults when none are stored),
//! writes the in-app row and hands email and SMS to the job queue in the agreed shape
//! (`email.send`, `sms.send`); events raised by the data become notifications through the
//! worker; users manage their own through the `notifications` function.

use gimbal_db::{Access, RequestScope};
use gimbal_e2e::{ADMIN, TestApp, USER};
use gimbal_notifications::Delivery;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

async fn notify(app: &TestApp, user: &str, event: &str) -> Delivery {
    let mut conn = app.state.pool.get().await.unwrap();
    let tx = gimbal_db::scope::begin(&mut conn, &RequestScope::service("test"), Access::ReadWrite)
        .await
        .unwrap();
    let delivery = gimbal_notifications::notify(
        &tx,
        user.parse().unwrap(),
        event,
        "Report \"Weekly\" is ready",
        "Open it from the reports page.",
        json!({"report_id": "be000000-0000-4000-8000-000000000001"}),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    delivery
}

async fn jobs(app: &TestApp, kind: &str) -> Vec<Value> {
    app.db
        .superuser()
        .await
        .query(
            "select payload from public.jobs where kind = $1 order by id",
            &[&kind],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn notifications_of(app: &TestApp, user: &str) -> Vec<Value> {
    app.db
        .superuser()
        .await
        .query(
            "select to_jsonb(n) from public.notifications n where user_id = $1 and kind <> 'fixture' order by created_at",
            &[&user.parse::<Uuid>().unwrap()],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn set_preference(
    app: &TestApp,
    role: &str,
    event: &str,
    channels: Value,
) -> (StatusCode, Value) {
    let response = app
        .invoke(
            Method::PUT,
            &format!("notifications/preferences/{event}"),
            Some(&app.token(role)),
            Some(channels),
        )
        .await;
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn without_preferences_a_notification_is_in_app_only() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;

    let delivery = notify(&app, USER, "report.ready").await;

    assert!(delivery.in_app);
    assert_eq!((delivery.email_job, delivery.sms_job), (None, None));
    let rows = notifications_of(&app, USER).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["id"], delivery.notification_id.to_string());
    assert_eq!(rows[0]["kind"], "report.ready");
    assert_eq!(rows[0]["title"], "Report \"Weekly\" is ready");
    assert!(rows[0]["read_at"].is_null());
    assert!(jobs(&app, "email.send").await.is_empty());
    assert!(jobs(&app, "sms.send").await.is_empty());
}

#[tokio::test]
async fn email_and_sms_are_enqueued_in_the_agreed_shape_when_the_user_asks() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    app.as_superuser(&format!(
        "update auth.users set phone = '+15550100222' where id = '{USER}'"
    ))
    .await;
    let (status, body) = set_preference(
        &app,
        "user",
        "report.ready",
        json!({"in_app": true, "email": true, "sms": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let delivery = notify(&app, USER, "report.ready").await;

    let reference = format!("notification:{}", delivery.notification_id);
    assert_eq!(
        jobs(&app, "email.send").await,
        [json!({
            "to": "user@gimbal.local",
            "subject": "Report \"Weekly\" is ready",
            "text": "Open it from the reports page.",
            "html": null,
            "attachments": [],
            "category": "notification",
            "reference": reference,
        })]
    );
    assert_eq!(
        jobs(&app, "sms.send").await,
        [json!({
            "to": "+15550100222",
            "body": "Report \"Weekly\" is ready: Open it from the reports page.",
            "category": "notification",
            "reference": reference,
        })]
    );
    assert!(delivery.in_app && delivery.email_job.is_some() && delivery.sms_job.is_some());
}

#[tokio::test]
async fn nothing_is_sent_on_channels_the_preferences_decline() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    // sync.failed defaults to email as well; this user declines everything.
    let (status, _) = set_preference(
        &app,
        "user",
        "sync.failed",
        json!({"in_app": false, "email": false, "sms": false}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let declined = notify(&app, USER, "sync.failed").await;
    let defaulted = notify(&app, ADMIN, "sync.failed").await;

    assert!(!declined.in_app && declined.email_job.is_none() && declined.sms_job.is_none());
    assert!(notifications_of(&app, USER).await.is_empty());
    assert!(
        defaulted.in_app && defaulted.email_job.is_some(),
        "the default for failures includes email"
    );
    let emails = jobs(&app, "email.send").await;
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0]["to"], "admin@gimbal.local");
}

#[tokio::test]
async fn a_channel_the_user_cannot_be_reached_on_is_skipped() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    set_preference(
        &app,
        "user",
        "report.ready",
        json!({"in_app": true, "email": false, "sms": true}),
    )
    .await;

    let delivery = notify(&app, USER, "report.ready").await;

    assert_eq!(delivery.unreachable, ["sms"]);
    assert!(jobs(&app, "sms.send").await.is_empty());
}

#[tokio::test]
async fn finished_campaigns_and_failed_syncs_become_notifications() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    // the user's campaign completes; their data source's sync fails; a draft edit is no event.
    app.as_superuser(
        "update public.campaigns set status = 'completed' where id = '0000000d-0000-4000-8000-00000000000b';
         update public.campaigns set name = 'renamed' where id = '0000000d-0000-4000-8000-00000000000a';
         insert into public.sync_logs (data_source_id, status, error)
           values ('00000011-0000-4000-8000-00000000000b', 'failed', 'GA4 answered 403: insufficient permissions');
         insert into public.sync_logs (data_source_id, status, rows_read, rows_rejected)
           values ('00000011-0000-4000-8000-00000000000a', 'succeeded', 100, 3);",
    )
    .await;
    assert_eq!(jobs(&app, "notifications.event").await.len(), 3);

    let report = app.state.jobs.tick(20).await.unwrap();
    assert!(report.jobs_run >= 3);

    // the worker runs the event jobs concurrently: compare without order.
    let user_rows = notifications_of(&app, USER).await;
    let by_kind = |kind: &str| user_rows.iter().find(|r| r["kind"] == kind).cloned();
    assert_eq!(user_rows.len(), 2, "{user_rows:?}");
    assert_eq!(
        by_kind("campaign.completed").unwrap()["title"],
        "Campaign \"fixture campaign b\" finished"
    );
    assert_eq!(
        by_kind("sync.failed").unwrap()["body"],
        "GA4 answered 403: insufficient permissions"
    );
    let admin_rows = notifications_of(&app, ADMIN).await;
    assert_eq!(admin_rows.len(), 1);
    assert_eq!(admin_rows[0]["kind"], "import.completed_with_rejects");
    assert_eq!(admin_rows[0]["body"], "100 rows read, 3 rejected.");
    // the fixture user asked for campaign emails; sync failures email by default.
    let emails = jobs(&app, "email.send").await;
    let mut subjects: Vec<&str> = emails
        .iter()
        .map(|e| e["subject"].as_str().unwrap())
        .collect();
    subjects.sort_unstable();
    assert_eq!(
        subjects,
        [
            "Campaign \"fixture campaign b\" finished",
            "Sync of \"fixture source b\" failed"
        ]
    );
    assert!(emails.iter().all(|e| e["to"] == "user@gimbal.local"));
}

#[tokio::test]
async fn users_mark_their_own_notifications_read() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    notify(&app, USER, "report.ready").await;
    notify(&app, ADMIN, "report.ready").await;

    let response = app
        .invoke(
            Method::POST,
            "notifications/read-all",
            Some(&app.token("user")),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["marked"], 2,
        "the fixture notification and the new one"
    );

    let unread: Vec<(String, bool)> = app
        .db
        .superuser()
        .await
        .query("select user_id::text, read_at is null from public.notifications where kind = 'report.ready'", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert!(unread.contains(&(USER.to_string(), false)));
    assert!(
        unread.contains(&(ADMIN.to_string(), true)),
        "others' stay unread"
    );

    for role in ["anon", "service_role"] {
        let response = app
            .invoke(
                Method::POST,
                "notifications/read-all",
                Some(&app.token(role)),
                None,
            )
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{role}");
    }
}

#[tokio::test]
async fn preferences_show_defaults_and_reject_unknown_events() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    for role in ["viewer", "user", "admin"] {
        let response = app
            .invoke(
                Method::GET,
                "notifications/preferences",
                Some(&app.token(role)),
                None,
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{role}");
        let prefs: Value = response.json().await.unwrap();
        let by_event = |e: &str| {
            prefs
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["event_type"] == e)
                .unwrap()
                .clone()
        };
        assert_eq!(
            by_event("campaign.completed")["email"],
            true,
            "the fixture's stored preference"
        );
        assert_eq!(by_event("campaign.completed")["customised"], true);
        assert_eq!(
            by_event("sync.failed"),
            json!({"event_type": "sync.failed", "in_app": true, "email": true, "sms": false, "customised": false})
        );
    }
    let (status, body) = set_preference(
        &app,
        "viewer",
        "weather.changed",
        json!({"in_app": true, "email": false, "sms": false}),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("event_type"))
    );
    for role in ["anon", "service_role"] {
        let response = app
            .invoke(
                Method::GET,
                "notifications/preferences",
                Some(&app.token(role)),
                None,
            )
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{role}");
    }
    let (status, _) = set_preference(
        &app,
        "service_role",
        "sync.failed",
        json!({"in_app": true, "email": false, "sms": false}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_finished_report_run_tells_whoever_asked_for_it() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let before = jobs(&app, "notifications.event").await.len();
    // a run the user started finishes; a run that fails is not "ready"; inserting a finished
    // row (as the fixtures do) raises nothing either.
    app.as_superuser(
        "insert into public.report_runs (id, report_id, format, status, created_by) values
           ('00000018-0000-4000-8000-0000000000f1', '00000016-0000-4000-8000-00000000000b', 'pdf', 'running', '00000000-0000-4000-8000-00000000000b'),
           ('00000018-0000-4000-8000-0000000000f2', '00000016-0000-4000-8000-00000000000b', 'csv', 'running', '00000000-0000-4000-8000-00000000000b');
         update public.report_runs set status = 'succeeded', finished_at = now()
          where id = '00000018-0000-4000-8000-0000000000f1';
         update public.report_runs set status = 'failed', error = 'boom', finished_at = now()
          where id = '00000018-0000-4000-8000-0000000000f2';",
    )
    .await;
    let events = jobs(&app, "notifications.event").await;
    assert_eq!(events.len(), before + 1, "{events:?}");
    let event = events.last().unwrap();
    assert_eq!(event["event_type"], "report.ready");
    assert_eq!(event["user_id"], USER);
    assert_eq!(event["subject"]["format"], "pdf");

    app.state.jobs.tick(20).await.unwrap();
    let rows = notifications_of(&app, USER).await;
    assert!(
        rows.iter().any(|r| r["kind"] == "report.ready"
            && r["title"].as_str().unwrap_or("").ends_with("is ready")),
        "{rows:?}"
    );
}
