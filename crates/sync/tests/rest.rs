//! A generic REST/JSON API: records at a JSON path, each pagination style (page, offset,
//! cursor, Link header), API-key and bearer authentication, and incremental reads from the
//! highest cursor value.

use std::sync::{Arc, Mutex};

use axum::{
    Json, Router,
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
};
use gimbal_sync::{Connector, ProviderUrls, SourceSpec, runner, sources};
use serde_json::{Value, json};

use crate::support::{Env, fast_backoff, serve};

/// One request's query string, as pairs.
type QueryPairs = Vec<(String, String)>;

#[derive(Clone, Default)]
struct Api {
    /// Query strings received, in order.
    seen: Arc<Mutex<Vec<QueryPairs>>>,
    base: Arc<Mutex<String>>,
}

fn items() -> Vec<Value> {
    (1..=7)
        .map(|i| json!({"id": i, "created_at": format!("2024-03-0{i}T10:00:00Z"), "channel": "web", "clicks": i * 10}))
        .collect()
}

async fn orders(
    State(api): State<Api>,
    Query(q): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    api.seen.lock().unwrap().push(q.clone());
    let get = |k: &str| q.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let authorised = headers.get("x-api-key").and_then(|v| v.to_str().ok()) == Some("key-123")
        || headers.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer tok-123")
        || get("api_key").as_deref() == Some("key-123");
    if !authorised {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "bad credentials"})),
        )
            .into_response();
    }
    let since = get("since").unwrap_or_default();
    let all: Vec<Value> = items()
        .into_iter()
        .filter(|i| i["created_at"].as_str().unwrap() > since.as_str())
        .collect();
    let (start, size) = if let Some(page) = get("page") {
        ((page.parse::<usize>().unwrap() - 1) * 3, 3)
    } else if let Some(offset) = get("offset") {
        (
            offset.parse().unwrap(),
            get("limit").unwrap().parse().unwrap(),
        )
    } else if let Some(cursor) = get("cursor") {
        (cursor.trim_start_matches("cur-").parse().unwrap(), 3)
    } else if let Some(at) = get("at") {
        (at.parse().unwrap(), 3)
    } else {
        (0, 3)
    };
    let page: Vec<Value> = all.iter().skip(start).take(size).cloned().collect();
    let end = start + page.len();
    let more = end < all.len();
    let body = json!({"data": {"items": page}, "meta": {"next_cursor": if more { format!("cur-{end}") } else { String::new() }}});
    let mut response = Json(body).into_response();
    if more {
        let base = api.base.lock().unwrap().clone();
        let link = format!(
            "<{base}/orders?at={}>; rel=\"next\", <{base}/orders?at=0>; rel=\"first\"",
            end
        );
        response
            .headers_mut()
            .insert("link", HeaderValue::from_str(&link).unwrap());
    }
    response
}

async fn setup() -> (Env, Api, String) {
    let api = Api::default();
    let addr = serve(
        Router::new()
            .route("/orders", get(orders))
            .with_state(api.clone()),
    )
    .await;
    *api.base.lock().unwrap() = format!("http://{addr}");
    (
        Env::new(ProviderUrls::default()).await,
        api,
        format!("http://{addr}/orders"),
    )
}

fn config(url: &str, pagination: Value, auth: Value) -> Value {
    json!({
        "url": url, "records_path": "data.items", "auth": auth, "pagination": pagination,
        "key_fields": ["id"], "date_field": "created_at", "metric_fields": ["clicks"],
        "cursor_field": "created_at", "since_param": "since"
    })
}

#[tokio::test]
async fn every_pagination_style_reads_every_record_once() {
    let (env, api, url) = setup().await;
    let api_key = json!({"type": "api_key"});
    for (pagination, auth, credentials) in [
        (
            json!({"type": "page", "size": 3}),
            api_key.clone(),
            json!({"token": "key-123"}),
        ),
        (
            json!({"type": "offset", "limit": 3}),
            json!({"type": "bearer"}),
            json!({"token": "tok-123"}),
        ),
        (
            json!({"type": "cursor", "param": "cursor", "cursor_path": "meta.next_cursor"}),
            json!({"type": "api_key", "query": "api_key"}),
            json!({"token": "key-123"}),
        ),
        (
            json!({"type": "link"}),
            api_key.clone(),
            json!({"token": "key-123"}),
        ),
    ] {
        let source = env
            .source("rest", config(&url, pagination.clone(), auth), credentials)
            .await;
        let summary = runner::run(&env.deps, env.queue(source).await)
            .await
            .unwrap();
        assert_eq!(
            (summary.rows_read, summary.rows_inserted),
            (7, 7),
            "{pagination}"
        );
        assert_eq!(summary.pages, 3, "{pagination}");
    }
    assert_eq!(
        env.count("select count(*) from public.imported_data").await,
        28
    );
    assert_eq!(env.count("select count(*) from public.analytics_data where source = 'rest' and clicks is not null").await, 28);
    assert!(
        api.seen
            .lock()
            .unwrap()
            .iter()
            .any(|q| q.contains(&("cursor".into(), "cur-3".into())))
    );
}

#[tokio::test]
async fn the_next_run_asks_only_for_records_after_the_saved_cursor() {
    let (env, api, url) = setup().await;
    let source = env
        .source(
            "rest",
            config(
                &url,
                json!({"type": "page", "size": 3}),
                json!({"type": "api_key"}),
            ),
            json!({"token": "key-123"}),
        )
        .await;
    runner::run(&env.deps, env.queue(source).await)
        .await
        .unwrap();
    let summary = runner::run(&env.deps, env.queue(source).await)
        .await
        .unwrap();
    assert_eq!(summary.rows_read, 0);
    let last = api.seen.lock().unwrap().last().cloned().unwrap();
    assert!(
        last.contains(&("since".into(), "2024-03-07T10:00:00Z".into())),
        "{last:?}"
    );
}

#[tokio::test]
async fn a_wrong_key_is_an_auth_failure_and_a_wrong_path_a_config_error() {
    let (env, _api, url) = setup().await;
    let build = |config: Value, token: &str| {
        sources::build(
            SourceSpec {
                kind: "rest",
                config: &config,
                credentials: Some(json!({"token": token})),
            },
            &env.deps.urls,
            &env.deps.http,
            fast_backoff(),
        )
        .unwrap()
    };
    let bad_key = build(
        config(&url, json!({"type": "none"}), json!({"type": "api_key"})),
        "nope",
    );
    assert_eq!(bad_key.test().await.unwrap_err().kind(), "auth_failed");
    let mut wrong_path = config(&url, json!({"type": "none"}), json!({"type": "api_key"}));
    wrong_path["records_path"] = json!("data.rows");
    let err = build(wrong_path, "key-123").test().await.unwrap_err();
    assert_eq!(err.kind(), "invalid_config");
    assert!(err.to_string().contains("records_path"));
    let streams = build(
        config(&url, json!({"type": "none"}), json!({"type": "api_key"})),
        "key-123",
    )
    .discover()
    .await
    .unwrap();
    let column = |name: &str| {
        streams[0]
            .columns
            .iter()
            .find(|c| c.name == name)
            .cloned()
            .unwrap()
    };
    assert!(column("clicks").metric && column("clicks").data_type == "integer");
    assert_eq!(column("created_at").data_type, "timestamp");
    assert_eq!(column("channel").data_type, "string");
}

/// An API whose records carry the cursor as the test sets it: `since` is applied with the
/// comparison the test names, as a real API would on its own column type.
#[derive(Clone, Default)]
struct Feed {
    records: Arc<Mutex<Vec<Value>>>,
    since_seen: Arc<Mutex<Vec<Option<String>>>>,
}

async fn feed(State(feed): State<Feed>, Query(q): Query<Vec<(String, String)>>) -> Json<Value> {
    let since = q.iter().find(|(k, _)| k == "since").map(|(_, v)| v.clone());
    feed.since_seen.lock().unwrap().push(since.clone());
    let records: Vec<Value> = feed
        .records
        .lock()
        .unwrap()
        .iter()
        .filter(|r| match (&since, &r["id"]) {
            (None, _) => true,
            (Some(s), Value::Number(id)) => id.as_i64().unwrap() > s.parse::<i64>().unwrap(),
            (Some(s), _) => {
                let at = chrono::DateTime::parse_from_rfc3339(r["at"].as_str().unwrap()).unwrap();
                at > chrono::DateTime::parse_from_rfc3339(s).unwrap()
            }
        })
        .cloned()
        .collect();
    Json(json!({"items": records}))
}

async fn feed_source(env: &Env, feed_state: &Feed, cursor_field: &str) -> uuid::Uuid {
    let addr = serve(
        Router::new()
            .route("/feed", get(feed))
            .with_state(feed_state.clone()),
    )
    .await;
    env.source(
        "rest",
        json!({
            "url": format!("http://{addr}/feed"), "records_path": "items",
            "key_fields": ["id"], "cursor_field": cursor_field, "since_param": "since"
        }),
        json!({}),
    )
    .await
}

async fn saved_cursor(env: &Env, source: uuid::Uuid) -> Value {
    env.superuser()
        .await
        .query_one(
            "select sync_cursor from public.data_sources where id = $1",
            &[&source],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn integer_ids_advance_from_9_to_10_and_beyond() {
    let env = Env::new(ProviderUrls::default()).await;
    let api = Feed::default();
    *api.records.lock().unwrap() = (1..=9).map(|id| json!({"id": id})).collect();
    let source = feed_source(&env, &api, "id").await;
    runner::run(&env.deps, env.queue(source).await)
        .await
        .unwrap();
    assert_eq!(
        saved_cursor(&env, source).await,
        json!({"max": 9, "type": "integer"})
    );

    api.records
        .lock()
        .unwrap()
        .extend([json!({"id": 10}), json!({"id": 11})]);
    let summary = runner::run(&env.deps, env.queue(source).await)
        .await
        .unwrap();
    assert_eq!(summary.rows_read, 2);
    assert_eq!(
        saved_cursor(&env, source).await,
        json!({"max": 11, "type": "integer"}),
        "as text, \"9\" would stay the highest"
    );
    let summary = runner::run(&env.deps, env.queue(source).await)
        .await
        .unwrap();
    assert_eq!(summary.rows_read, 0);
    assert_eq!(
        api.since_seen.lock().unwrap().clone(),
        [None, Some("9".into()), Some("11".into())]
    );
}

#[tokio::test]
async fn timestamps_with_different_offsets_advance_by_instant() {
    let env = Env::new(ProviderUrls::default()).await;
    let api = Feed::default();
    // 08:30-05:00 is 13:30Z, the latest instant, though its text sorts first; 14:00+02:00 is
    // 12:00Z, whose text sorts last.
    *api.records.lock().unwrap() = vec![
        json!({"id": "a", "at": "2024-03-01T12:30:00Z"}),
        json!({"id": "b", "at": "2024-03-01T08:30:00-05:00"}),
        json!({"id": "c", "at": "2024-03-01T14:00:00+02:00"}),
    ];
    let source = feed_source(&env, &api, "at").await;
    runner::run(&env.deps, env.queue(source).await)
        .await
        .unwrap();
    assert_eq!(
        saved_cursor(&env, source).await,
        json!({"max": "2024-03-01T08:30:00-05:00", "type": "timestamp"})
    );
    api.records
        .lock()
        .unwrap()
        .push(json!({"id": "d", "at": "2024-03-01T14:00:00Z"}));
    let summary = runner::run(&env.deps, env.queue(source).await)
        .await
        .unwrap();
    assert_eq!(summary.rows_read, 1);
    assert_eq!(
        saved_cursor(&env, source).await["max"],
        "2024-03-01T14:00:00Z"
    );
}
