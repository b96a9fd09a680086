//! `sync`, `test-connection` and `preview` over HTTP, for every role, against a real second
//! PostgreSQL database as the source: a queued run answered at once and carried out by the job
//! queue, stored credentials that never come back, schedules, and the wizard's verdicts.

use gimbal_db::harness::TestDatabase;
use gimbal_e2e::{TestApp, USER, token_for};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

const ROLES: [&str; 5] = ["anon", "viewer", "user", "admin", "service_role"];

/// The source database: a table of daily revenue.
async fn external() -> TestDatabase {
    let db = TestDatabase::empty().await;
    db.superuser()
        .await
        .batch_execute(
            "create table daily (id int primary key, day date not null, revenue numeric(10,2));
             insert into daily select i, date '2024-03-01' + i, i * 10 from generate_series(1, 6) i;",
        )
        .await
        .unwrap();
    db
}

fn config() -> Value {
    json!({
        "table": "daily",
        "cursor_column": "id",
        "key_columns": ["id"],
        "date_column": "day",
        "metric_columns": ["revenue"],
        "page_size": 4
    })
}

fn with_password(url: &str, password: &str) -> String {
    let (head, rest) = url.split_once('@').unwrap();
    let user = head.rsplit_once(':').unwrap().0;
    format!("{user}:{password}@{rest}")
}

async fn spawn() -> TestApp {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    app
}

/// A postgres source owned by the fixture user.
async fn source(app: &TestApp) -> Uuid {
    let client = app.db.superuser().await;
    client
        .query_one(
            "insert into public.data_sources (name, kind, config, created_by)
             values ('warehouse', 'postgres', $1, $2) returning id",
            &[&config(), &USER.parse::<Uuid>().unwrap()],
        )
        .await
        .unwrap()
        .get(0)
}

async fn call(app: &TestApp, role: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let response = app
        .invoke(Method::POST, path, Some(&token_for(role)), Some(body))
        .await;
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    app.db
        .superuser()
        .await
        .query_one(sql, &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn only_the_owner_an_admin_or_the_service_role_may_queue_a_run() {
    let app = spawn().await;
    let source = source(&app).await;
    let body = json!({"data_source_id": source});
    for (role, expected) in [
        ("anon", StatusCode::FORBIDDEN),
        ("viewer", StatusCode::FORBIDDEN),
        ("other_user", StatusCode::FORBIDDEN),
        ("user", StatusCode::ACCEPTED),
        ("admin", StatusCode::CONFLICT),
        ("service_role", StatusCode::CONFLICT),
    ] {
        let (status, answer) = call(&app, role, "sync", body.clone()).await;
        assert_eq!(status, expected, "{role}: {answer}");
    }
    assert_eq!(
        scalar(
            &app,
            "select count(*) from public.sync_logs where status = 'queued' and job_id is not null"
        )
        .await,
        1
    );
    let (status, answer) = call(
        &app,
        "user",
        "sync",
        json!({"data_source_id": Uuid::new_v4()}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    let (status, answer) = call(&app, "user", "sync", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
}

#[tokio::test]
async fn a_queued_run_is_carried_out_by_the_job_queue_and_is_readable_by_members() {
    let app = spawn().await;
    let warehouse = external().await;
    let source = source(&app).await;
    let (status, _) = call(
        &app,
        "user",
        "sync/credentials",
        json!({"data_source_id": source, "credentials": {"url": warehouse.superuser_url()}}),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, queued) = call(&app, "user", "sync", json!({"data_source_id": source})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    let run: Uuid = queued["run_id"].as_str().unwrap().parse().unwrap();

    // The fixtures hold other jobs; the tick runs ours among them.
    let (status, tick) = call(&app, "service_role", "cron", json!({"max_jobs": 50})).await;
    assert_eq!(status, StatusCode::OK, "{tick}");
    let row = app
        .db
        .superuser()
        .await
        .query_one(
            "select status, rows_read, rows_inserted, cursor_after from public.sync_logs where id = $1",
            &[&run],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "succeeded");
    assert_eq!((row.get::<_, i64>(1), row.get::<_, i64>(2)), (6, 6));
    assert_eq!(row.get::<_, Value>(3), json!({"after": ["6"]}));
    assert_eq!(
        scalar(
            &app,
            "select count(*) from public.analytics_data where source = 'postgres'"
        )
        .await,
        6
    );

    // Progress and results are readable by members, as the access matrix says.
    for role in ROLES {
        let (status, _) = call(&app, role, "sync", json!({"data_source_id": source})).await;
        let expected = match role {
            "user" | "admin" | "service_role" => StatusCode::ACCEPTED,
            _ => StatusCode::FORBIDDEN,
        };
        assert_eq!(status, expected, "{role}");
        if status == StatusCode::ACCEPTED {
            call(&app, "service_role", "cron", json!({"max_jobs": 50})).await;
        }
    }
    assert_eq!(
        scalar(
            &app,
            &format!("select count(*) from public.imported_data where data_source_id = '{source}'")
        )
        .await,
        6,
        "re-runs upsert"
    );
}

#[tokio::test]
async fn stored_credentials_are_encrypted_and_never_returned() {
    let app = spawn().await;
    let source = source(&app).await;
    let secret_url = "postgres://reader:very-secret-pw@127.0.0.1:1/x";
    for (role, expected) in [
        ("anon", StatusCode::FORBIDDEN),
        ("viewer", StatusCode::FORBIDDEN),
        ("other_user", StatusCode::FORBIDDEN),
        ("user", StatusCode::NO_CONTENT),
        ("admin", StatusCode::NO_CONTENT),
    ] {
        let (status, answer) = call(
            &app,
            role,
            "sync/credentials",
            json!({"data_source_id": source, "credentials": {"url": secret_url}}),
        )
        .await;
        assert_eq!(status, expected, "{role}: {answer}");
        assert!(!answer.to_string().contains("very-secret-pw"));
    }
    let stored: Vec<u8> = app
        .db
        .superuser()
        .await
        .query_one(
            "select ciphertext from public.secrets where name = $1",
            &[&format!("data_source:{source}")],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!String::from_utf8_lossy(&stored).contains("very-secret-pw"));
    // The wizard's answer about an unreachable host names the problem, not the URL.
    let (status, verdict) = call(
        &app,
        "user",
        "test-connection",
        json!({"data_source_id": source}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(verdict["error"], "host_unreachable", "{verdict}");
    assert!(!verdict.to_string().contains("very-secret-pw"));
}

#[tokio::test]
async fn test_connection_answers_with_actionable_verdicts_per_role() {
    let app = spawn().await;
    let warehouse = external().await;
    let good = json!({"kind": "postgres", "config": config(), "credentials": {"url": warehouse.superuser_url()}});
    for role in ROLES {
        let (status, verdict) = call(&app, role, "test-connection", good.clone()).await;
        match role {
            "user" | "admin" | "service_role" => {
                assert_eq!(status, StatusCode::OK, "{role}: {verdict}");
                assert_eq!(verdict["ok"], true, "{role}: {verdict}");
            }
            _ => assert_eq!(status, StatusCode::FORBIDDEN, "{role}: {verdict}"),
        }
    }
    let bad_password = json!({"kind": "postgres", "config": config(),
        "credentials": {"url": with_password(&warehouse.superuser_url(), "wrong")}});
    let (_, verdict) = call(&app, "user", "test-connection", bad_password).await;
    assert_eq!(
        (verdict["ok"].clone(), verdict["error"].clone()),
        (json!(false), json!("auth_failed")),
        "{verdict}"
    );
    assert!(verdict["duration_ms"].as_u64().unwrap() < 10_000);

    let mut missing = config();
    missing["table"] = json!("nope");
    let (_, verdict) = call(&app, "user", "test-connection",
        json!({"kind": "postgres", "config": missing, "credentials": {"url": warehouse.superuser_url()}})).await;
    assert_eq!(verdict["error"], "invalid_config", "{verdict}");
    assert_eq!(verdict["field"], "table");

    let (status, answer) = call(&app, "user", "test-connection", json!({"config": {}})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["field"], "kind");
}

#[tokio::test]
async fn preview_shows_streams_columns_and_rows_without_storing() {
    let app = spawn().await;
    let warehouse = external().await;
    let before = scalar(&app, "select count(*) from public.imported_data").await;
    let body = json!({"kind": "postgres", "config": config(),
        "credentials": {"url": warehouse.superuser_url()}, "limit": 2});
    let (status, preview) = call(&app, "user", "preview", body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["ok"], true, "{preview}");
    assert_eq!(preview["stream"], "daily");
    let columns: Vec<(String, String)> = preview["streams"][0]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().into(),
                c["type"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(columns[2], ("revenue".into(), "numeric".into()));
    assert_eq!(preview["rows"].as_array().unwrap().len(), 2);
    assert_eq!(
        scalar(&app, "select count(*) from public.imported_data").await,
        before
    );
    for role in ROLES {
        let (status, answer) = call(&app, role, "preview", body.clone()).await;
        let expected = match role {
            "user" | "admin" | "service_role" => StatusCode::OK,
            _ => StatusCode::FORBIDDEN,
        };
        assert_eq!(status, expected, "{role}: {answer}");
    }
    let (status, answer) = call(
        &app,
        "user",
        "preview",
        json!({"kind": "postgres", "config": config(), "limit": 500}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["field"], "limit");
}

#[tokio::test]
async fn a_source_gets_a_cron_schedule_that_fires_sync_runs() {
    let app = spawn().await;
    let source = source(&app).await;
    let (status, answer) = call(
        &app,
        "viewer",
        "sync/schedule",
        json!({"data_source_id": source, "cron": "0 3 * * *"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    let (status, answer) = call(
        &app,
        "user",
        "sync/schedule",
        json!({"data_source_id": source, "cron": "not cron"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert_eq!(answer["field"], "cron");
    let (status, answer) = call(
        &app,
        "user",
        "sync/schedule",
        json!({"data_source_id": source, "cron": "15 3 * * *", "time_zone": "Europe/Paris"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let row = app
        .db
        .superuser()
        .await
        .query_one(
            "select job_kind, payload, time_zone from public.cron_schedules where name = $1",
            &[&format!("sync:{source}")],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "sync.run");
    assert_eq!(row.get::<_, Value>(1), json!({"data_source_id": source}));
    assert_eq!(row.get::<_, String>(2), "Europe/Paris");
    let response = app
        .invoke(
            Method::DELETE,
            &format!("sync/schedule/{source}"),
            Some(&token_for("admin")),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        scalar(
            &app,
            "select count(*) from public.cron_schedules where name like 'sync:%'"
        )
        .await,
        0
    );
}
