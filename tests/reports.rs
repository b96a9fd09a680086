//! Reports end to end: `generate-report` for every role, each format downloaded through its
//! signed link and opened by a parser, runs recorded, templates reused with overrides, bad
//! definitions named, links that expire or are forged refused, and scheduled delivery through
//! the job queue (email jobs with the file attached or linked, failures notified).

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use gimbal_db::{Access, RequestScope};
use gimbal_e2e::{ADMIN, TestApp, USER, VIEWER};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The app listens on port 0 and its configured public URL cannot know the real port, so
/// links are fetched from the actual address.
async fn download(app: &TestApp, url: &str) -> reqwest::Response {
    let path = url
        .split_once("/storage/v1/")
        .map(|(_, rest)| format!("/storage/v1/{rest}"))
        .expect("a storage link");
    app.http.get(app.url(&path)).send().await.unwrap()
}

async fn generate(app: &TestApp, role: &str, body: Value) -> (StatusCode, Value) {
    let response = app
        .invoke(
            Method::POST,
            "generate-report",
            Some(&app.token(role)),
            Some(body),
        )
        .await;
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A run as `role` reads it from `report_runs` (PostgREST's view of it: the caller's RLS).
async fn run_as(app: &TestApp, role: &str, run_id: &str) -> Value {
    let caller = app.state.auth.verify_token(&app.token(role)).await.unwrap();
    let scope = RequestScope {
        role: caller.db_role.as_str(),
        claims: caller.claims,
        method: "GET".into(),
        path: "/rest/v1/report_runs".into(),
        headers: json!({}),
        statement_timeout: None,
    };
    let mut conn = app.state.pool.get().await.unwrap();
    let tx = gimbal_db::scope::begin(&mut conn, &scope, Access::ReadOnly)
        .await
        .unwrap();
    let row = tx
        .query_opt(
            "select to_jsonb(r) from public.report_runs r where id = $1::text::uuid",
            &[&run_id],
        )
        .await;
    let value = match row {
        Ok(row) => row.map_or(Value::Null, |r| r.get(0)),
        Err(e) => json!({"sqlstate": e.code().map(|c| c.code().to_string())}),
    };
    tx.rollback().await.unwrap();
    value
}

/// `generate-report` answers 202 with the queued run; one tick of the worker runs its job;
/// answers the run as the caller then reads it (or the error answer when not 202).
async fn generate_and_run(app: &TestApp, role: &str, body: Value) -> (StatusCode, Value) {
    let (status, queued) = generate(app, role, body).await;
    if status != StatusCode::ACCEPTED {
        return (status, queued);
    }
    assert_eq!(queued["status"], "queued", "{queued}");
    let run_id = queued["run_id"].as_str().unwrap();
    let before = run_as(app, role, run_id).await;
    assert_eq!(before["status"], "queued", "{role}: {before}");
    assert_eq!(before["url"], Value::Null, "{before}");
    let tick = app.state.jobs.tick(10).await.unwrap();
    assert!(tick.jobs_run >= 1, "the report job ran");
    (status, run_as(app, role, run_id).await)
}

fn channel_report(format: &str) -> Value {
    json!({
        "definition": {
            "metrics": ["sessions", "messages_sent", "delivery_rate"],
            "dimensions": ["channel"],
            "range": {"from": "2024-01-01", "to": "2024-01-02"},
            "layout": {"title": "Fixture channels"},
        },
        "format": format,
    })
}

#[tokio::test]
async fn every_member_and_the_service_role_may_generate_but_anon_may_not() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let (status, body) = generate(&app, "anon", channel_report("csv")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    for role in ["viewer", "user", "admin", "service_role"] {
        let (status, run) = generate_and_run(&app, role, channel_report("csv")).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{role}: {run}");
        assert_eq!(run["status"], "succeeded", "{role}: {run}");
        assert_eq!(run["format"], "csv");
        assert_eq!(run["row_count"], 1, "{run}");
        let csv = download(&app, run["url"].as_str().unwrap()).await;
        assert_eq!(csv.status(), StatusCode::OK);
        assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
        let text = csv.text().await.unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(&rows[0][0], "(none)", "{text}");
        assert_eq!(&rows[0][1], "30", "the fixtures' 10 + 20 sessions: {text}");
    }
    let client = app.db.superuser().await;
    let runs = client
        .query(
            "select created_by::text, status, trigger, byte_size > 0 from public.report_runs
             where definition ->> 'title' = 'Fixture channels' order by created_at",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(runs.len(), 4, "one run per successful call, none for anon");
    assert_eq!(runs[1].get::<_, Option<String>>(0).as_deref(), Some(USER));
    for run in &runs {
        assert_eq!(run.get::<_, String>(1), "succeeded");
        assert_eq!(run.get::<_, String>(2), "manual");
        assert!(run.get::<_, bool>(3));
    }
}

#[tokio::test]
async fn xlsx_and_pdf_download_and_open() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let (status, run) = generate_and_run(&app, "viewer", channel_report("xlsx")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let bytes = download(&app, run["url"].as_str().unwrap())
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.len() as i64, run["byte_size"].as_i64().unwrap());
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).unwrap();
    let sheet = workbook.worksheet_range("Report").unwrap();
    assert_eq!(sheet.get((0, 1)), Some(&Data::String("Sessions".into())));
    assert_eq!(sheet.get((1, 1)), Some(&Data::Float(30.0)));

    let (status, run) = generate_and_run(&app, "viewer", channel_report("pdf")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let response = download(&app, run["url"].as_str().unwrap()).await;
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let text = pdf_extract::extract_text_from_mem(&response.bytes().await.unwrap()).unwrap();
    assert!(
        text.contains("Fixture channels") && text.contains("Page 1 of 1"),
        "{text}"
    );

    // titles and values beyond Latin-1 print in the embedded font and extract exactly.
    app.as_superuser(
        "insert into public.analytics_data (source, metric_date, channel, natural_key, sessions)
         values ('ga4', '2024-01-01', 'Łódź – Αθήνα – Москва', 'unicode-1', 7)",
    )
    .await;
    let mut body = channel_report("pdf");
    body["definition"]["layout"]["title"] = json!("Raport kanałów · Αναφορά · Отчёт");
    let (status, run) = generate_and_run(&app, "viewer", body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let bytes = download(&app, run["url"].as_str().unwrap())
        .await
        .bytes()
        .await
        .unwrap();
    let text = pdf_extract::extract_text_from_mem(&bytes).unwrap();
    for needle in ["Raport kanałów · Αναφορά · Отчёт", "Łódź – Αθήνα – Москва"]
    {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
}

#[tokio::test]
async fn a_saved_template_is_reused_with_overrides() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    app.as_superuser(&format!(
        "insert into public.reports (id, name, definition, is_template, created_by) values
           ('be000001-0000-4000-8000-000000000001', 'Daily template',
            '{{\"metrics\": [\"sessions\"], \"dimensions\": [\"date\"], \"range\": \"last_7_days\", \"format\": \"csv\"}}',
            true, '{ADMIN}')"
    ))
    .await;
    let (status, run) = generate_and_run(
        &app,
        "user",
        json!({
            "report_id": "be000001-0000-4000-8000-000000000001",
            "definition": {"range": {"from": "2024-01-01", "to": "2024-01-03"}},
        }),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    assert_eq!(
        run["row_count"], 3,
        "one row per day of the overridden range"
    );
    assert!(
        run["file_name"]
            .as_str()
            .unwrap()
            .starts_with("daily-template-2024-01-01-2024-01-03")
    );
    let text = download(&app, run["url"].as_str().unwrap())
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        text,
        "date,sessions\n2024-01-01,10\n2024-01-02,20\n2024-01-03,0\n"
    );
}

#[tokio::test]
async fn bad_requests_name_the_field() {
    let app = TestApp::spawn().await;
    for (body, status, field) in [
        (json!({"definition": {"metrics": ["nope"]}}), 422, "metrics"),
        (
            // the dashboard functions refuse a day that starts between two quarter hours
            // (kolkata's +05:21:10 of 1900); the report names its own field.
            json!({"definition": {"metrics": ["sessions"], "time_zone": "Asia/Kolkata",
                                  "range": {"from": "1900-01-01", "to": "1900-01-02"}}}),
            422,
            "time_zone",
        ),
        (
            json!({"definition": {"metrics": ["sessions"]}, "format": "docx"}),
            422,
            "format",
        ),
        (
            json!({"definition": {"metrics": ["sessions"]}, "expires_in": 5}),
            422,
            "expires_in",
        ),
        (json!({}), 422, "definition"),
    ] {
        let (got, answer) = generate(&app, "viewer", body.clone()).await;
        assert_eq!(got.as_u16(), status, "{body}: {answer}");
        assert_eq!(answer["field"], field, "{body}: {answer}");
    }
    let (got, _) = generate(
        &app,
        "viewer",
        json!({"report_id": "be000009-0000-4000-8000-000000000009"}),
    )
    .await;
    assert_eq!(got, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn forged_and_expired_links_are_refused() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let (status, run) = generate_and_run(
        &app,
        "viewer",
        json!({"definition": {"metrics": ["sessions"]}, "expires_in": 60}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let url = run["url"].as_str().unwrap();
    assert_eq!(download(&app, url).await.status(), StatusCode::OK);
    let (base, token) = url.split_once("?token=").unwrap();
    let (expiry, mac) = token.split_once('.').unwrap();
    // a later expiry under the same mac, and a token moved to another object.
    let later: u64 = expiry.parse::<u64>().unwrap() + 3600;
    let forged = format!("{base}?token={later}.{mac}");
    assert_eq!(
        download(&app, &forged).await.status(),
        StatusCode::FORBIDDEN
    );
    let moved = url.replace(".csv?token=", "-other.csv?token=");
    assert_eq!(download(&app, &moved).await.status(), StatusCode::FORBIDDEN);
    // an expired one, minted with the app's own key.
    let store = gimbal_storage::LocalStore::from_config(&app.state.config).unwrap();
    let path = run["storage_path"].as_str().unwrap();
    let expired = format!("{base}?token={}", store.token("reports", path, 1));
    let response = download(&app, &expired).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["message"], "the link has expired");
}

async fn deliver(app: &TestApp, report_id: &str, max_attempts: i32) -> i64 {
    let client = app.db.superuser().await;
    let id: i64 = client
        .query_one(
            "insert into public.jobs (kind, payload, max_attempts)
             values ('reports.deliver', jsonb_build_object('report_id', $1::text), $2)
             returning id",
            &[&report_id, &max_attempts],
        )
        .await
        .unwrap()
        .get(0);
    app.state.jobs.tick(10).await.unwrap();
    id
}

#[tokio::test]
async fn a_scheduled_report_is_emailed_attached_or_linked_by_size() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    app.as_superuser(&format!(
        "insert into public.reports (id, name, definition, schedule, time_zone, created_by) values
           ('be000002-0000-4000-8000-000000000001', 'Small weekly',
            '{{\"metrics\": [\"sessions\"], \"range\": \"last_7_days\", \"format\": \"csv\",
               \"delivery\": {{\"recipients\": [\"a@example.com\", \"b@example.com\"]}}}}',
            '0 8 * * 1', 'America/Chicago', '{ADMIN}'),
           ('be000002-0000-4000-8000-000000000002', 'Big weekly',
            '{{\"metrics\": [\"sessions\"], \"dimensions\": [\"date\"], \"range\": \"last_90_days\", \"format\": \"pdf\",
               \"delivery\": {{\"recipients\": [\"c@example.com\"], \"attach_max_bytes\": 100}}}}',
            '0 8 * * 1', 'Europe/Berlin', '{ADMIN}')"
    ))
    .await;
    let client = app.db.superuser().await;
    let schedule = client
        .query_one(
            "select cron, time_zone, job_kind from public.cron_schedules
             where name = 'report:be000002-0000-4000-8000-000000000001'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            schedule.get::<_, String>(0),
            schedule.get::<_, String>(1),
            schedule.get::<_, String>(2)
        ),
        (
            "0 8 * * 1".into(),
            "America/Chicago".into(),
            "reports.deliver".into()
        ),
        "the report's schedule became a cron schedule in its zone"
    );

    // the schedule comes due: one tick fires it and runs the job it enqueued.
    client
        .execute(
            "update public.cron_schedules set next_run_at = now() - interval '1 minute'
             where name = 'report:be000002-0000-4000-8000-000000000001'",
            &[],
        )
        .await
        .unwrap();
    let tick = app.state.jobs.tick(10).await.unwrap();
    assert_eq!(tick.schedules_fired, 1);
    let job: i64 = client
        .query_one(
            "select id from public.jobs where kind = 'reports.deliver' and status = 'succeeded'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let emails = client
        .query(
            "select payload from public.jobs where kind = 'email.send' order by payload ->> 'to'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(emails.len(), 2);
    let first: Value = emails[0].get(0);
    assert_eq!(first["to"], "a@example.com");
    assert_eq!(first["category"], "report");
    assert!(
        first["reference"]
            .as_str()
            .unwrap()
            .starts_with("report_run:")
    );
    let attachment = &first["attachments"][0];
    assert_eq!(attachment["content_type"], "text/csv; charset=utf-8");
    use base64::Engine;
    let csv = base64::engine::general_purpose::STANDARD
        .decode(attachment["content_base64"].as_str().unwrap())
        .unwrap();
    assert!(csv.starts_with(b"period,sessions\n"), "{csv:?}");
    let run = client
        .query_one(
            "select trigger, job_id, status from public.report_runs where report_id = 'be000002-0000-4000-8000-000000000001'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(run.get::<_, String>(0), "schedule");
    assert_eq!(run.get::<_, Option<i64>>(1), Some(job));
    assert_eq!(run.get::<_, String>(2), "succeeded");

    deliver(&app, "be000002-0000-4000-8000-000000000002", 3).await;
    let linked: Value = client
        .query_one(
            "select payload from public.jobs where kind = 'email.send' and payload ->> 'to' = 'c@example.com'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(linked["attachments"], json!([]), "too big to attach");
    let text = linked["text"].as_str().unwrap();
    let url = text
        .split_whitespace()
        .find(|w| w.starts_with("http"))
        .expect("a link");
    assert_eq!(download(&app, url).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_failing_scheduled_report_notifies_its_owner_when_it_gives_up() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    app.as_superuser(&format!(
        "insert into public.reports (id, name, definition, created_by) values
           ('be000003-0000-4000-8000-000000000001', 'Broken', '{{\"metrics\": [\"no_such_metric\"]}}', '{USER}')"
    ))
    .await;
    let job = deliver(&app, "be000003-0000-4000-8000-000000000001", 3).await;
    let client = app.db.superuser().await;
    let status: String = client
        .query_one("select status from public.jobs where id = $1", &[&job])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        status, "dead",
        "a definition that cannot work is not retried"
    );
    let note = client
        .query_one(
            "select user_id::text, kind, title, body from public.notifications where kind = 'report.failed'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(note.get::<_, String>(0), USER);
    assert_eq!(
        note.get::<_, String>(2),
        "Scheduled report \"Broken\" failed"
    );
    assert!(note.get::<_, String>(3).contains("metrics"));
}

#[tokio::test]
async fn a_transient_failure_is_retried_and_notified_only_on_the_last_attempt() {
    // Storage pointing at a closed port: every attempt fails to store the file.
    let app = TestApp::spawn_with(gimbal_e2e::Options {
        supabase_url: Some("http://127.0.0.1:9".into()),
        ..Default::default()
    })
    .await;
    app.load_fixtures().await;
    app.as_superuser(&format!(
        "insert into public.reports (id, name, definition, created_by) values
           ('be000004-0000-4000-8000-000000000001', 'Unlucky', '{{\"metrics\": [\"sessions\"]}}', '{ADMIN}')"
    ))
    .await;
    let job = deliver(&app, "be000004-0000-4000-8000-000000000001", 2).await;
    let client = app.db.superuser().await;
    let row = client
        .query_one(
            "select status, attempts, last_error from public.jobs where id = $1",
            &[&job],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "queued", "retried with backoff");
    assert!(row.get::<_, String>(2).contains("storing the file failed"));
    let notes: i64 = client
        .query_one(
            "select count(*) from public.notifications where kind = 'report.failed'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(notes, 0, "no notification while attempts remain");
    let failed: i64 = client
        .query_one(
            "select count(*) from public.report_runs where status = 'failed' and error like 'storing the file failed%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(failed, 1, "the failed run is on record");
    // the last attempt: due now.
    client
        .execute(
            "update public.jobs set run_at = now() where id = $1",
            &[&job],
        )
        .await
        .unwrap();
    app.state.jobs.tick(10).await.unwrap();
    let status: String = client
        .query_one("select status from public.jobs where id = $1", &[&job])
        .await
        .unwrap()
        .get(0);
    assert_eq!(status, "dead");
    let notes: i64 = client
        .query_one(
            "select count(*) from public.notifications where kind = 'report.failed' and user_id = $1::text::uuid",
            &[&ADMIN],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(notes, 1);
}

#[tokio::test]
async fn a_run_is_queued_at_once_and_its_progress_is_readable_under_rls() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let (status, queued) = generate(&app, "viewer", channel_report("csv")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    let run_id = queued["run_id"].as_str().unwrap();
    assert_eq!(
        queued["status_url"],
        format!("/rest/v1/report_runs?id=eq.{run_id}")
    );
    // nothing is rendered before a worker takes the job.
    for role in ["viewer", "user", "admin", "service_role"] {
        let run = run_as(&app, role, run_id).await;
        assert_eq!(run["status"], "queued", "{role}: {run}");
        assert_eq!(run["created_by"], VIEWER, "{role}");
        assert_eq!(run["job_id"], queued["job_id"], "{role}");
    }
    assert_eq!(
        run_as(&app, "anon", run_id).await["sqlstate"],
        "42501",
        "anon may not read runs"
    );
    let client = app.db.superuser().await;
    let job: Value = client
        .query_one(
            "select jsonb_build_object('kind', kind, 'status', status, 'payload', payload)
             from public.jobs where id = $1",
            &[&queued["job_id"].as_i64().unwrap()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(job["kind"], "report.generate");
    assert_eq!(job["status"], "queued");
    // the range is pinned when queued, and the caller is kept without any token.
    assert_eq!(
        job["payload"]["definition"]["range"],
        json!({"from": "2024-01-01", "to": "2024-01-02"})
    );
    assert_eq!(job["payload"]["caller"]["role"], "authenticated");
    assert_eq!(job["payload"]["caller"]["claims"]["sub"], VIEWER);
    assert!(!job["payload"].to_string().contains("eyJ"), "{job}");

    app.state.jobs.tick(10).await.unwrap();
    let run = run_as(&app, "viewer", run_id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["attempts"], 1);
    assert_eq!(run["row_count"], 1);
    assert!(run["file_name"].as_str().unwrap().ends_with(".csv"));
    assert!(run["url_expires_at"].is_string(), "{run}");
    let csv = download(&app, run["url"].as_str().unwrap()).await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert_eq!(
        csv.bytes().await.unwrap().len() as i64,
        run["byte_size"].as_i64().unwrap()
    );
    // the finished run raised report.ready for the viewer (V10).
    let ready: i64 = client
        .query_one(
            "select count(*) from public.jobs where kind = 'notifications.event'
               and payload ->> 'event_type' = 'report.ready' and payload ->> 'user_id' = $1",
            &[&VIEWER],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(ready, 1);
}

#[tokio::test]
async fn a_failing_run_is_retried_with_backoff_then_failed_and_its_requester_notified() {
    // Storage pointing at a closed port: every attempt fails to store the file.
    let app = TestApp::spawn_with(gimbal_e2e::Options {
        supabase_url: Some("http://127.0.0.1:9".into()),
        ..Default::default()
    })
    .await;
    app.load_fixtures().await;
    let (status, queued) = generate(&app, "user", channel_report("pdf")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    let run_id = queued["run_id"].as_str().unwrap();
    let job = queued["job_id"].as_i64().unwrap();
    let client = app.db.superuser().await;
    for attempt in 1..=gimbal_reports::generate::MAX_ATTEMPTS {
        client
            .execute(
                "update public.jobs set run_at = now() where id = $1",
                &[&job],
            )
            .await
            .unwrap();
        app.state.jobs.tick(10).await.unwrap();
        let run = run_as(&app, "user", run_id).await;
        assert_eq!(run["attempts"], attempt, "{run}");
        assert!(
            run["error"]
                .as_str()
                .unwrap()
                .starts_with("storing the file failed"),
            "{run}"
        );
        let (job_status, run_at_later): (String, bool) = client
            .query_one(
                "select status, run_at > now() from public.jobs where id = $1",
                &[&job],
            )
            .await
            .map(|r| (r.get(0), r.get(1)))
            .unwrap();
        let notes: i64 = client
            .query_one(
                "select count(*) from public.notifications
                 where kind = 'report.failed' and user_id = $1::text::uuid",
                &[&USER],
            )
            .await
            .unwrap()
            .get(0);
        if attempt < gimbal_reports::generate::MAX_ATTEMPTS {
            assert_eq!(run["status"], "queued", "waiting for a retry: {run}");
            assert_eq!(job_status, "queued");
            assert!(run_at_later, "the retry waits for the queue's backoff");
            assert_eq!(notes, 0, "no notification while attempts remain");
        } else {
            assert_eq!(run["status"], "failed", "{run}");
            assert!(run["finished_at"].is_string());
            assert_eq!(job_status, "dead");
            assert_eq!(notes, 1, "the requester hears of the last failure");
        }
    }
}
