//! `import-csv` from a Supabase Storage object: a local server speaking Storage's REST API
//! (`GET /storage/v1/object/authenticated/<bucket>/<path>`, errors as `{"statusCode", "error",
//! "message"}`) with the usual per-user folder policy — a user reads objects under their own
//! id — streams the object; the function reads it with the caller's JWT, never a service key.

use std::sync::{Arc, Mutex};

use axum::{
    Json, Router,
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
};
use base64::Engine;
use gimbal_e2e::{OTHER_USER, Options, TestApp, USER, token_for};
use serde_json::{Value, json};

const ANON_KEY: &str = "anon-key-for-storage";
const ROWS: usize = 20_000;

#[derive(Clone, Default)]
struct Storage {
    /// (bucket, object name, the caller's `sub`) of each request.
    seen: Arc<Mutex<Vec<(String, String, String)>>>,
}

fn sub_of(headers: &HeaderMap) -> Option<String> {
    let token = headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    let payload = token.split('.').nth(1)?;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .ok()?,
    )
    .ok()?;
    claims["sub"].as_str().map(str::to_string)
}

/// Storage's answer for a missing object, or one its RLS hides (HTTP 400, as Storage has long
/// answered, with the real status in the body).
fn not_found() -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"statusCode": "404", "error": "not_found", "message": "Object not found"})),
    )
        .into_response()
}

async fn object(
    State(storage): State<Storage>,
    Path((bucket, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if headers.get("apikey").and_then(|v| v.to_str().ok()) != Some(ANON_KEY) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "Invalid API key"})),
        )
            .into_response();
    }
    let sub = sub_of(&headers).unwrap_or_default();
    storage
        .seen
        .lock()
        .unwrap()
        .push((bucket.clone(), name.clone(), sub.clone()));
    // The folder policy: `(storage.foldername(name))[1] = auth.uid()::text`.
    let owner = name.split('/').next().unwrap_or_default();
    if bucket != "uploads" || owner != sub || !name.ends_with("/march sales.csv") {
        return not_found();
    }
    // Streamed in chunks, as Storage sends a large object.
    let chunks = std::iter::once("day,channel,clicks\n".to_string()).chain(
        (0..ROWS)
            .collect::<Vec<_>>()
            .chunks(1000)
            .map(|rows| {
                rows.iter()
                    .map(|i| format!("2024-03-{:02},web,{i}\n", i % 28 + 1))
                    .collect::<String>()
            })
            .collect::<Vec<_>>(),
    );
    let stream = futures_util::stream::iter(chunks.map(Ok::<_, std::io::Error>));
    Response::builder()
        .header("content-type", "text/csv")
        .body(Body::from_stream(stream))
        .unwrap()
}

async fn spawn() -> (TestApp, Storage) {
    let storage = Storage::default();
    let router = Router::new()
        .route(
            "/storage/v1/object/authenticated/{bucket}/{*name}",
            get(object),
        )
        .with_state(storage.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let app = TestApp::spawn_with(Options {
        env: vec![
            ("SUPABASE_URL", format!("http://{addr}")),
            ("SUPABASE_ANON_KEY", ANON_KEY.into()),
        ],
        ..Options::default()
    })
    .await;
    app.load_fixtures().await;
    (app, storage)
}

async fn import(app: &TestApp, role: &str, query: &str, body: Value) -> (StatusCode, Value) {
    let response = app
        .http
        .post(app.function_url(&format!("import-csv?{query}")))
        .bearer_auth(token_for(role))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_storage_object_is_streamed_into_an_import_table_as_the_caller() {
    let (app, storage) = spawn().await;
    let path = format!("{USER}/march sales.csv");
    let (status, body) = import(
        &app,
        "user",
        "table=from_storage",
        json!({"bucket": "uploads", "path": path}),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");
    assert_eq!(body["rows_loaded"], ROWS);
    assert_eq!(body["rows_rejected"], 0);
    let count: i64 = app
        .db
        .superuser()
        .await
        .query_one("select count(*) from imports.from_storage", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, ROWS as i64);
    // Read with the caller's own token (Storage's RLS saw the user), the name decoded intact.
    assert_eq!(
        storage.seen.lock().unwrap().clone(),
        [("uploads".to_string(), path.clone(), USER.to_string())]
    );

    // The same object again into the keyless table: recognised by its digest.
    let (status, body) = import(
        &app,
        "user",
        "table=from_storage&mode=append",
        json!({"bucket": "uploads", "path": path}),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::CONFLICT, "{body}");
}

#[tokio::test]
async fn objects_storage_hides_from_the_caller_or_bad_names_are_refused() {
    let (app, _) = spawn().await;
    // Another user's folder: Storage's RLS hides it, so it is not found.
    let (status, body) = import(
        &app,
        "other_user",
        "table=not_mine",
        json!({"bucket": "uploads", "path": format!("{USER}/march sales.csv")}),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::NOT_FOUND, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("visible to the caller"),
        "{body}"
    );
    let (status, body) = import(
        &app,
        "other_user",
        "table=nothing",
        json!({"bucket": "uploads", "path": format!("{OTHER_USER}/none.csv")}),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::NOT_FOUND, "{body}");
    for (request, field) in [
        (
            json!({"bucket": "uploads", "path": "../etc/passwd"}),
            "path",
        ),
        (json!({"bucket": "up/loads", "path": "a.csv"}), "bucket"),
        (json!({"bucket": "uploads"}), "body"),
        (
            json!({"bucket": "uploads", "path": "a.csv", "url": "http://x"}),
            "body",
        ),
    ] {
        let (status, body) = import(&app, "user", "table=bad", request.clone()).await;
        assert_eq!(
            status,
            reqwest::StatusCode::UNPROCESSABLE_ENTITY,
            "{request}: {body}"
        );
        assert_eq!(body["field"], field, "{request}");
    }
    // Nothing of these was kept.
    let tables: i64 = app
        .db
        .superuser()
        .await
        .query_one(
            "select count(*) from public.import_tables where table_name in ('not_mine', 'nothing', 'bad')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 0);
}

#[tokio::test]
async fn without_storage_configured_a_storage_import_is_unavailable() {
    let app = TestApp::spawn().await;
    let (status, body) = import(
        &app,
        "admin",
        "table=x",
        json!({"bucket": "uploads", "path": "a.csv"}),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("SUPABASE_ANON_KEY")
    );
}
