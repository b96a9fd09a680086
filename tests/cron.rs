//! The `cron` function: the service role ticks due schedules and jobs; nobody else may.

use gimbal_e2e::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn service_role_tick_fires_due_schedule_and_runs_its_job() {
    let app = TestApp::spawn().await;
    // A yearly schedule that was due a minute ago, running the built-in purge.
    app.as_superuser(
        "insert into public.cron_schedules (name, cron, time_zone, job_kind, payload, next_run_at)
         values ('test.purge', '0 0 1 1 *', 'UTC', 'maintenance.purge_jobs', '{\"older_than_days\": 1}',
                 now() - interval '1 minute')",
    )
    .await;
    let response = app
        .invoke(
            Method::POST,
            "cron",
            Some(&app.token("service_role")),
            Some(json!({"max_jobs": 10})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["schedules_fired"], 1, "{body}");
    assert_eq!(body["jobs_run"], 1, "{body}");
    let db = app.db.superuser().await;
    let row = db
        .query_one(
            "select status from public.jobs where kind = 'maintenance.purge_jobs'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "succeeded");
    // The next occurrence is a year away: a second tick fires nothing.
    let again: Value = app
        .invoke(Method::POST, "cron", Some(&app.token("service_role")), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["schedules_fired"], 0, "{again}");
}

#[tokio::test]
async fn only_the_service_role_may_tick() {
    let app = TestApp::spawn().await;
    for role in ["admin", "user", "viewer", "anon"] {
        let response = app
            .invoke(Method::POST, "cron", Some(&app.token(role)), None)
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{role}");
    }
}

#[tokio::test]
async fn max_jobs_out_of_range_is_named() {
    let app = TestApp::spawn().await;
    let response = app
        .invoke(
            Method::POST,
            "cron",
            Some(&app.token("service_role")),
            Some(json!({"max_jobs": 0})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["field"], "max_jobs");
}
