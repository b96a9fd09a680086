//! Meta insights: following `paging.next`, pausing on the throttling headers, retrying rate
//! limits (code 17), an expired token (code 190) reported as an auth failure, and long ranges
//! as async report jobs (polled, failed, and resumed after a kill without a second job).

use std::time::{Duration, Instant};

use gimbal_sync::{Connector, ProviderUrls, SourceSpec, runner, sources};
use serde_json::{Value, json};

use crate::support::{
    Env, fast_backoff,
    meta_server::{MetaServer, REPORT_RUN_ID},
    serve,
};

async fn setup() -> (Env, MetaServer) {
    let server = MetaServer::new();
    let addr = serve(server.router()).await;
    *server.base.lock().unwrap() = format!("http://{addr}");
    let urls = ProviderUrls {
        meta_graph: format!("http://{addr}"),
        ..ProviderUrls::default()
    };
    (Env::new(urls).await, server)
}

fn config() -> Value {
    json!({
        "ad_account_id": "act_1234",
        "start_date": "2024-03-01",
        "end_date": "2024-03-03",
        "page_size": 4,
        "throttle_pause_secs": 1
    })
}

#[tokio::test]
async fn insights_are_read_by_following_paging_next() {
    let (env, server) = setup().await;
    let source = env
        .source("meta", config(), json!({"access_token": "meta-token"}))
        .await;
    let run = env.queue(source).await;
    let summary = runner::run(&env.deps, run).await.unwrap();
    assert_eq!((summary.rows_read, summary.pages), (6, 2));
    {
        let state = server.state.lock().unwrap();
        assert_eq!(state.afters, ["", "c4"]);
        let query = state.query_seen.clone().unwrap();
        let get = |k: &str| {
            query
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
                .unwrap_or("")
        };
        assert_eq!(get("level"), "campaign");
        assert_eq!(get("time_increment"), "1");
        assert!(get("fields").contains("spend"));
    }
    let row = env
        .superuser()
        .await
        .query_one(
            "select count(*), sum(impressions)::bigint, sum(clicks)::bigint, sum(spend)::text
               from public.analytics_data where source = 'meta'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 6);
    assert_eq!(row.get::<_, i64>(1), 6000);
    assert_eq!(row.get::<_, i64>(2), 150);
    assert_eq!(row.get::<_, String>(3), "74.04");
    let key: String = env
        .superuser()
        .await
        .query_one("select min(natural_key) from public.imported_data", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(key, "2380001|2024-03-01");
}

#[tokio::test]
async fn the_28_day_lookback_starts_the_next_run_before_the_cursor() {
    let (env, _server) = setup().await;
    let source = env
        .source("meta", config(), json!({"access_token": "meta-token"}))
        .await;
    let connector = sources::build(
        SourceSpec {
            kind: "meta",
            config: &config(),
            credentials: Some(json!({"access_token": "meta-token"})),
        },
        &env.deps.urls,
        &env.deps.http,
        fast_backoff(),
    )
    .unwrap();
    let mut cfg = config();
    cfg["start_date"] = json!("2023-01-01");
    cfg["end_date"] = json!("2024-03-31");
    let late = sources::build(
        SourceSpec {
            kind: "meta",
            config: &cfg,
            credentials: Some(json!({"access_token": "meta-token"})),
        },
        &env.deps.urls,
        &env.deps.http,
        fast_backoff(),
    )
    .unwrap();
    let position = late
        .start("insights_campaign", Some(&json!({"date": "2024-03-30"})))
        .unwrap();
    assert_eq!(
        position,
        json!({"since": "2024-03-02", "until": "2024-03-31"})
    );
    // Never before the configured start.
    let position = connector
        .start("insights_campaign", Some(&json!({"date": "2024-03-03"})))
        .unwrap();
    assert_eq!(position["since"], "2024-03-01");
    let _ = source;
}

#[tokio::test]
async fn high_usage_pauses_before_the_next_call_and_rate_limits_are_retried() {
    let (env, server) = setup().await;
    {
        let mut s = server.state.lock().unwrap();
        s.business_usage = Some(
            r#"{"1234":[{"type":"ads_insights","call_count":96,"total_cputime":20,"total_time":30,"estimated_time_to_regain_access":0}]}"#.into(),
        );
        s.rate_limit_at = Some("c4".into());
    }
    let source = env
        .source("meta", config(), json!({"access_token": "meta-token"}))
        .await;
    let started = Instant::now();
    let summary = runner::run(&env.deps, env.queue(source).await)
        .await
        .unwrap();
    assert_eq!(summary.rows_read, 6);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "paused after each high-usage answer"
    );
    assert_eq!(server.state.lock().unwrap().afters, ["", "c4", "c4"]);
}

#[tokio::test]
async fn a_pause_longer_than_allowed_is_a_quota_error_with_retry_after() {
    let (env, server) = setup().await;
    server.state.lock().unwrap().business_usage = Some(
        r#"{"1234":[{"type":"ads_insights","call_count":100,"total_cputime":20,"total_time":30,"estimated_time_to_regain_access":30}]}"#.into(),
    );
    let mut cfg = config();
    cfg["max_pause_secs"] = json!(60);
    let connector = sources::build(
        SourceSpec {
            kind: "meta",
            config: &cfg,
            credentials: Some(json!({"access_token": "meta-token"})),
        },
        &env.deps.urls,
        &env.deps.http,
        fast_backoff(),
    )
    .unwrap();
    let err = connector.test().await.unwrap_err();
    assert_eq!(err.kind(), "quota");
    assert!(
        matches!(
            err,
            gimbal_sync::ConnectorError::Quota {
                retry_after_secs: Some(1800),
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_expired_token_is_an_auth_failure() {
    let (env, _server) = setup().await;
    let connector = sources::build(
        SourceSpec {
            kind: "meta",
            config: &config(),
            credentials: Some(json!({"access_token": "expired"})),
        },
        &env.deps.urls,
        &env.deps.http,
        fast_backoff(),
    )
    .unwrap();
    let err = connector.test().await.unwrap_err();
    assert_eq!(err.kind(), "auth_failed");
    assert!(err.to_string().contains("code 190"), "{err}");
}

/// 120 days: longer than the 90 from which a report job is used.
fn long_range() -> Value {
    let mut config = config();
    config["start_date"] = json!("2024-01-01");
    config["end_date"] = json!("2024-04-29");
    config["page_size"] = json!(100);
    config["async_poll_secs"] = json!(0);
    config
}

#[tokio::test]
async fn a_long_range_runs_as_an_async_report_job_polled_until_complete() {
    let (env, server) = setup().await;
    server.state.lock().unwrap().job_running_looks = 2;
    let source = env
        .source("meta", long_range(), json!({"access_token": "meta-token"}))
        .await;
    let summary = runner::run(&env.deps, env.queue(source).await)
        .await
        .unwrap();
    // 120 days × 2 campaigns, read from the job's results in pages of 100.
    assert_eq!(summary.rows_read, 240);
    assert_eq!(
        env.count("select count(*) from public.imported_data").await,
        240
    );
    let state = server.state.lock().unwrap();
    assert_eq!(state.jobs.len(), 1, "one job for the range");
    let job = &state.jobs[0];
    let get = |k: &str| {
        job.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(get("level"), "campaign");
    assert_eq!(get("time_increment"), "1");
    let range: Value = serde_json::from_str(&get("time_range")).unwrap();
    assert_eq!(range, json!({"since": "2024-01-01", "until": "2024-04-29"}));
    assert_eq!(
        state.job_looks, 3,
        "two looks while running, one when complete"
    );
    assert_eq!(state.afters, ["", "c100", "c200"]);
}

#[tokio::test]
async fn a_failed_report_job_fails_the_run_and_short_ranges_stay_synchronous() {
    let (env, server) = setup().await;
    server.state.lock().unwrap().job_fails = true;
    let source = env
        .source("meta", long_range(), json!({"access_token": "meta-token"}))
        .await;
    let err = runner::run(&env.deps, env.queue(source).await)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Job Failed"), "{err}");

    let short = env
        .source("meta", config(), json!({"access_token": "meta-token"}))
        .await;
    runner::run(&env.deps, env.queue(short).await)
        .await
        .unwrap();
    assert_eq!(server.state.lock().unwrap().jobs.len(), 1);
}

#[tokio::test]
async fn a_run_killed_while_its_report_job_runs_resumes_polling_the_same_job() {
    let (env, server) = setup().await;
    server.state.lock().unwrap().job_running_looks = 1;
    let mut config = long_range();
    // the first look says "running"; the run then waits (10 s) before looking again, and
    // is killed while it waits
    config["async_poll_secs"] = json!(10);
    let source = env
        .source("meta", config, json!({"access_token": "meta-token"}))
        .await;
    let run = env.queue(source).await;
    let deps = env.deps.clone();
    let task = tokio::spawn(async move { runner::run(&deps, run).await });
    let mut checkpoint = None;
    for _ in 0..250 {
        checkpoint = env.log(run).await.get::<_, Option<Value>>(7);
        if server.state.lock().unwrap().job_looks == 1 && checkpoint.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    task.abort();
    let _ = task.await;
    let checkpoint = checkpoint.expect("a checkpoint while the job runs");
    assert!(
        checkpoint.to_string().contains(REPORT_RUN_ID),
        "the job id is checkpointed: {checkpoint}"
    );
    assert_eq!(env.log(run).await.get::<_, String>(0), "running");
    assert_eq!(
        env.count("select count(*) from public.imported_data").await,
        0
    );

    // the retry looks at the same job (now complete) instead of starting another
    let summary = runner::run(&env.deps, run).await.unwrap();
    assert_eq!(summary.rows_read, 240);
    {
        let state = server.state.lock().unwrap();
        assert_eq!(state.jobs.len(), 1, "no second job");
        assert_eq!(state.job_looks, 2, "one look before the kill, one after");
        assert_eq!(state.afters, ["", "c100", "c200"]);
    }
    assert_eq!(env.log(run).await.get::<_, String>(0), "succeeded");
    assert_eq!(
        env.count("select count(distinct natural_key) from public.imported_data")
            .await,
        240
    );
}
