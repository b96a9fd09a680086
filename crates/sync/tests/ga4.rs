//! GA4: paging by offset until rowCount, normalisation, idempotent re-runs with a lookback
//! window, quota backoff, token refresh, service-account assertions, and a run killed mid-way
//! that resumes from its checkpoint without duplicates.

use std::time::Duration;

use gimbal_sync::{
    Connector, ConnectorError, ProviderUrls, SourceSpec,
    runner::{self, SyncError},
    sources,
};
use serde_json::{Value, json};

use crate::support::{Env, fast_backoff, ga4_server::Ga4Server, serve};

async fn setup() -> (Env, Ga4Server) {
    let server = Ga4Server::new();
    let addr = serve(server.router()).await;
    let urls = ProviderUrls {
        ga4_api: format!("http://{addr}"),
        google_token: format!("http://{addr}/token"),
        ..ProviderUrls::default()
    };
    (Env::new(urls).await, server)
}

fn config(page_size: u32) -> Value {
    json!({
        "property_id": "123456",
        "dimensions": ["date", "sessionDefaultChannelGroup"],
        "metrics": ["sessions", "totalUsers", "totalRevenue"],
        "start_date": "2024-03-01",
        "end_date": "2024-03-03",
        "page_size": page_size
    })
}

fn refresh_credentials() -> Value {
    json!({"client_id": "client", "client_secret": "client-secret", "refresh_token": "refresh-good"})
}

#[tokio::test]
async fn a_sync_pages_until_row_count_and_normalises_known_metrics() {
    let (env, server) = setup().await;
    let source = env.source("ga4", config(4), refresh_credentials()).await;
    let run = env.queue(source).await;
    let summary = runner::run(&env.deps, run).await.unwrap();
    assert_eq!(
        (summary.rows_read, summary.rows_inserted, summary.pages),
        (15, 15, 4)
    );
    assert_eq!(server.offsets(), [0, 4, 8, 12]);

    let log = env.log(run).await;
    assert_eq!(log.get::<_, String>(0), "succeeded");
    assert_eq!(
        log.get::<_, Option<Value>>(5),
        Some(json!({"date": "2024-03-03"}))
    );
    assert_eq!(log.get::<_, Option<Value>>(7), None, "checkpoint cleared");
    assert_eq!(
        env.count("select count(*) from public.imported_data").await,
        15
    );
    let analytics = env
        .superuser()
        .await
        .query_one(
            "select count(*), sum(sessions)::bigint, sum(users)::bigint, sum(revenue)::text,
                    count(*) filter (where channel = 'Email' and source = 'ga4')
               from public.analytics_data",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(analytics.get::<_, i64>(0), 15);
    assert_eq!(
        analytics.get::<_, i64>(1),
        3 * (100 + 110 + 120 + 130 + 140)
    );
    assert_eq!(analytics.get::<_, i64>(2), 3 * (50 + 55 + 60 + 65 + 70));
    assert_eq!(analytics.get::<_, String>(3), "37.50");
    assert_eq!(analytics.get::<_, i64>(4), 3);
    let cursor: Value = env
        .superuser()
        .await
        .query_one(
            "select sync_cursor from public.data_sources where id = $1",
            &[&source],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(cursor, json!({"date": "2024-03-03"}));
}

#[tokio::test]
async fn a_rerun_rereads_the_lookback_window_and_upserts_without_duplicates() {
    let (env, server) = setup().await;
    let mut cfg = config(100);
    cfg["lookback_days"] = json!(1);
    let source = env.source("ga4", cfg, refresh_credentials()).await;
    runner::run(&env.deps, env.queue(source).await)
        .await
        .unwrap();

    // Unchanged data: read again, nothing inserted or updated.
    let second = env.queue(source).await;
    let summary = runner::run(&env.deps, second).await.unwrap();
    assert_eq!(
        (
            summary.rows_read,
            summary.rows_inserted,
            summary.rows_updated
        ),
        (10, 0, 0)
    );
    let log = env.log(second).await;
    assert_eq!(
        log.get::<_, Option<Value>>(4),
        Some(json!({"date": "2024-03-03"})),
        "cursor before"
    );

    // GA revises recent figures: the lookback re-read updates them in place.
    server.state.lock().unwrap().revision = 5;
    let summary = runner::run(&env.deps, env.queue(source).await)
        .await
        .unwrap();
    assert_eq!((summary.rows_inserted, summary.rows_updated), (0, 10));
    assert_eq!(
        env.count("select count(*) from public.imported_data").await,
        15
    );
    assert_eq!(
        env.count("select count(*) from public.analytics_data")
            .await,
        15
    );
    assert_eq!(
        env.count("select count(*) from public.analytics_data where sessions = 105")
            .await,
        2,
        "the two re-read days of Direct are revised, the first is not"
    );
}

#[tokio::test]
async fn resource_exhausted_is_retried_with_backoff() {
    let (env, server) = setup().await;
    server.state.lock().unwrap().quota_at = Some((4, 2));
    let source = env.source("ga4", config(4), refresh_credentials()).await;
    let summary = runner::run(&env.deps, env.queue(source).await)
        .await
        .unwrap();
    assert_eq!(summary.rows_read, 15);
    assert_eq!(server.offsets(), [0, 4, 4, 4, 8, 12]);
}

#[tokio::test]
async fn quota_that_outlasts_the_retries_fails_the_attempt_with_context_and_keeps_the_checkpoint() {
    let (env, server) = setup().await;
    server.state.lock().unwrap().quota_at = Some((8, 10));
    let source = env.source("ga4", config(4), refresh_credentials()).await;
    let run = env.queue(source).await;
    let err = runner::run(&env.deps, run).await.unwrap_err();
    assert!(
        matches!(&err, SyncError::Connector(ConnectorError::Quota { message, .. }) if message.contains("RESOURCE_EXHAUSTED")),
        "{err:?}"
    );
    runner::record_failure(
        &env.deps.pool,
        run,
        &format!("attempt 1 of 5: {err}"),
        false,
    )
    .await
    .unwrap();
    let log = env.log(run).await;
    assert_eq!(
        log.get::<_, String>(0),
        "queued",
        "waits for the job's retry"
    );
    assert_eq!(log.get::<_, i64>(1), 8, "two pages stored");
    assert!(
        log.get::<_, String>(6).contains("quota exhausted"),
        "error with context"
    );
    assert_eq!(log.get::<_, Option<Value>>(7).unwrap()["offset"], 8);
}

#[tokio::test]
async fn a_property_running_low_on_tokens_stops_before_exhausting_them() {
    let (env, server) = setup().await;
    server.state.lock().unwrap().hourly_tokens_after = Some((2, 20));
    let source = env.source("ga4", config(4), refresh_credentials()).await;
    let run = env.queue(source).await;
    let err = runner::run(&env.deps, run).await.unwrap_err();
    assert!(
        matches!(&err, SyncError::Connector(ConnectorError::Quota { retry_after_secs: Some(600), message }) if message.contains("20 tokens left this hour")),
        "{err:?}"
    );
    assert_eq!(
        server.offsets(),
        [0, 4],
        "no third call once the quota ran low"
    );
    assert_eq!(env.log(run).await.get::<_, i64>(1), 8, "both pages kept");
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_once() {
    let (env, server) = setup().await;
    server.state.lock().unwrap().expire_first_token_after = Some(1);
    let source = env.source("ga4", config(4), refresh_credentials()).await;
    let summary = runner::run(&env.deps, env.queue(source).await)
        .await
        .unwrap();
    assert_eq!(summary.rows_read, 15);
    assert_eq!(server.state.lock().unwrap().tokens_issued, 2);
}

#[tokio::test]
async fn a_revoked_refresh_token_is_an_actionable_auth_error() {
    let (env, _server) = setup().await;
    let credentials = json!({"client_id": "c", "client_secret": "client-secret", "refresh_token": "refresh-bad-7f3a"});
    let connector = sources::build(
        SourceSpec {
            kind: "ga4",
            config: &config(4),
            credentials: Some(credentials),
        },
        &env.deps.urls,
        &env.deps.http,
        fast_backoff(),
    )
    .unwrap();
    let err = connector.test().await.unwrap_err();
    assert_eq!(err.kind(), "auth_failed");
    assert!(err.to_string().contains("reconnect the account"), "{err}");
    assert!(
        !err.to_string().contains("refresh-bad-7f3a"),
        "no secret in the message"
    );
}

#[tokio::test]
async fn a_service_account_signs_an_rs256_assertion_for_its_token() {
    let (env, server) = setup().await;
    let key = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/service-account-test-key.pem"
    ))
    .unwrap();
    let credentials =
        json!({"client_email": "sync@project.iam.gserviceaccount.com", "private_key": key});
    let connector = sources::build(
        SourceSpec {
            kind: "ga4",
            config: &config(4),
            credentials: Some(credentials),
        },
        &env.deps.urls,
        &env.deps.http,
        fast_backoff(),
    )
    .unwrap();
    connector.test().await.unwrap();
    let claims = server
        .state
        .lock()
        .unwrap()
        .assertion_claims
        .clone()
        .unwrap();
    assert_eq!(claims["iss"], "sync@project.iam.gserviceaccount.com");
    assert_eq!(
        claims["scope"],
        "https://www.googleapis.com/auth/analytics.readonly"
    );
    assert_eq!(claims["aud"], env.deps.urls.google_token);
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        3600
    );
}

#[tokio::test]
async fn discovery_and_preview_show_columns_and_rows_without_storing() {
    let (env, _server) = setup().await;
    let connector = sources::build(
        SourceSpec {
            kind: "ga4",
            config: &config(4),
            credentials: Some(refresh_credentials()),
        },
        &env.deps.urls,
        &env.deps.http,
        fast_backoff(),
    )
    .unwrap();
    let streams = connector.discover().await.unwrap();
    assert_eq!(streams[0].name, "report");
    let types: Vec<(&str, &str, bool)> = streams[0]
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.data_type.as_str(), c.metric))
        .collect();
    // The configured fields first, typed and labelled by the Metadata API, then the rest of
    // the property's catalogue (custom definitions included).
    assert_eq!(
        types[..5],
        [
            ("date", "string", false),
            ("sessionDefaultChannelGroup", "string", false),
            ("sessions", "TYPE_INTEGER", true),
            ("totalUsers", "TYPE_INTEGER", true),
            ("totalRevenue", "TYPE_CURRENCY", true),
        ]
    );
    assert_eq!(
        streams[0].columns[4].label.as_deref(),
        Some("Total revenue")
    );
    assert!(types.contains(&("customEvent:plan", "string", false)));
    assert!(types.contains(&("averageSessionDuration", "TYPE_SECONDS", true)));
    assert_eq!(types.len(), 9);

    // A configured field the property does not offer is named.
    let mut wrong = config(4);
    wrong["metrics"] = json!(["sessions", "sesions"]);
    let err = sources::build(
        SourceSpec {
            kind: "ga4",
            config: &wrong,
            credentials: Some(refresh_credentials()),
        },
        &env.deps.urls,
        &env.deps.http,
        fast_backoff(),
    )
    .unwrap()
    .discover()
    .await
    .unwrap_err();
    assert_eq!(err.kind(), "invalid_config");
    assert!(err.to_string().starts_with("metrics: \"sesions\""), "{err}");
    let rows = connector.preview("report", 3).await.unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].key, "20240301|Direct");
    assert_eq!(rows[0].metrics["sessions"], json!(100));
    assert_eq!(
        env.count("select count(*) from public.imported_data").await,
        0
    );
}

#[tokio::test]
async fn a_run_killed_mid_way_resumes_from_its_checkpoint_without_duplicates() {
    let (env, server) = setup().await;
    server.state.lock().unwrap().hold_at = Some(8);
    let source = env.source("ga4", config(4), refresh_credentials()).await;
    let run = env.queue(source).await;

    // The run stores pages 0 and 4, then hangs on 8 and is killed there.
    let deps = env.deps.clone();
    let task = tokio::spawn(async move { runner::run(&deps, run).await });
    for _ in 0..200 {
        if env.log(run).await.get::<_, i64>(1) == 8 && server.offsets().contains(&8) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    task.abort();
    let _ = task.await;
    let log = env.log(run).await;
    assert_eq!(log.get::<_, String>(0), "running");
    assert_eq!(log.get::<_, i64>(1), 8);
    assert_eq!(log.get::<_, Option<Value>>(7).unwrap()["offset"], 8);

    // The job's retry resumes at offset 8: nothing read twice, nothing lost.
    server.state.lock().unwrap().hold_at = None;
    let summary = runner::run(&env.deps, run).await.unwrap();
    assert_eq!(summary.rows_read, 7);
    assert_eq!(server.offsets(), [0, 4, 8, 8, 12]);
    let log = env.log(run).await;
    assert_eq!(log.get::<_, String>(0), "succeeded");
    assert_eq!((log.get::<_, i64>(1), log.get::<_, i64>(2)), (15, 15));
    assert_eq!(
        log.get::<_, Option<Value>>(5),
        Some(json!({"date": "2024-03-03"}))
    );
    assert_eq!(
        env.count("select count(*) from public.imported_data").await,
        15
    );
    assert_eq!(
        env.count("select count(distinct natural_key) from public.imported_data")
            .await,
        15
    );
    // A redelivered job for a finished run does nothing.
    assert!(runner::run(&env.deps, run).await.unwrap().already_finished);
}

#[tokio::test]
async fn a_second_run_is_refused_while_one_is_live() {
    let (env, _server) = setup().await;
    let source = env.source("ga4", config(4), refresh_credentials()).await;
    let first = env.queue(source).await;
    let mut conn = env.deps.pool.get().await.unwrap();
    let tx = gimbal_db::scope::begin(
        &mut conn,
        &gimbal_db::RequestScope::service("/test"),
        gimbal_db::Access::ReadWrite,
    )
    .await
    .unwrap();
    let err = runner::queue_run(&tx, source).await.unwrap_err();
    assert!(
        matches!(err, SyncError::AlreadyRunning(id) if id == first),
        "{err:?}"
    );
}
