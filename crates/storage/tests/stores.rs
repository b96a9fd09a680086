//! Both stores through the trait: Supabase Storage against a local server speaking its REST
//! format (upload, signed URL, download, error bodies), and the local store on disk.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::IntoResponse,
    routing::post,
};
use gimbal_storage::{LocalStore, ObjectStore, StorageError, SupabaseStorage};
use secrecy::SecretString;
use serde_json::{Value, json};

const KEY: &str = "service-role-key-for-tests";

/// Stored objects by `bucket/path`: content type and bytes.
type Objects = HashMap<String, (String, Vec<u8>)>;

#[derive(Clone, Default)]
struct Fake {
    objects: Arc<Mutex<Objects>>,
    signed: Arc<Mutex<HashMap<String, u64>>>,
}

fn authorised(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {KEY}"))
        && headers.get("apikey").and_then(|v| v.to_str().ok()) == Some(KEY)
}

fn error(status: StatusCode, message: &str) -> axum::response::Response {
    (
        status,
        Json(json!({"statusCode": status.as_u16().to_string(), "error": "Error", "message": message})),
    )
        .into_response()
}

async fn upload(
    State(fake): State<Fake>,
    Path((bucket, path)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    if !authorised(&headers) {
        return error(StatusCode::BAD_REQUEST, "invalid signature");
    }
    if bucket != "reports" {
        return error(StatusCode::NOT_FOUND, "Bucket not found");
    }
    let key = format!("{bucket}/{path}");
    let mut objects = fake.objects.lock().unwrap();
    if objects.contains_key(&key) && headers.get("x-upsert").is_none() {
        return error(StatusCode::CONFLICT, "The resource already exists");
    }
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    objects.insert(key.clone(), (content_type, body.to_vec()));
    Json(json!({"Id": "00000000-0000-4000-8000-000000000001", "Key": key})).into_response()
}

async fn sign(
    State(fake): State<Fake>,
    Path((bucket, path)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> axum::response::Response {
    if !authorised(&headers) {
        return error(StatusCode::BAD_REQUEST, "invalid signature");
    }
    let key = format!("{bucket}/{path}");
    if !fake.objects.lock().unwrap().contains_key(&key) {
        return error(StatusCode::BAD_REQUEST, "Object not found");
    }
    let token = format!("tok{}", fake.signed.lock().unwrap().len());
    fake.signed.lock().unwrap().insert(
        token.clone(),
        body["expiresIn"].as_u64().unwrap_or_default(),
    );
    Json(json!({"signedURL": format!("/object/sign/{key}?token={token}")})).into_response()
}

async fn download(
    State(fake): State<Fake>,
    Path((bucket, path)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> axum::response::Response {
    let known = query
        .get("token")
        .is_some_and(|t| fake.signed.lock().unwrap().contains_key(t));
    if !known {
        return error(StatusCode::BAD_REQUEST, "jwt malformed");
    }
    match fake
        .objects
        .lock()
        .unwrap()
        .get(&format!("{bucket}/{path}"))
    {
        Some((_, bytes)) => bytes.clone().into_response(),
        None => error(StatusCode::NOT_FOUND, "Object not found"),
    }
}

async fn spawn_fake() -> (String, Fake) {
    let fake = Fake::default();
    let app = Router::new()
        .route(
            "/storage/v1/object/sign/{bucket}/{*path}",
            post(sign).get(download),
        )
        .route("/storage/v1/object/{bucket}/{*path}", post(upload))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, fake)
}

#[tokio::test]
async fn supabase_storage_uploads_signs_and_the_link_downloads() {
    let (url, fake) = spawn_fake().await;
    let store = SupabaseStorage::new(url.clone(), SecretString::from(KEY), reqwest::Client::new());
    store
        .put(
            "reports",
            "runs/r1/report.csv",
            b"a,b\n1,2\n".to_vec(),
            "text/csv",
        )
        .await
        .unwrap();
    // uploading again replaces (x-upsert).
    store
        .put(
            "reports",
            "runs/r1/report.csv",
            b"a,b\n3,4\n".to_vec(),
            "text/csv",
        )
        .await
        .unwrap();
    assert_eq!(
        fake.objects.lock().unwrap()["reports/runs/r1/report.csv"].0,
        "text/csv"
    );
    let link = store
        .signed_url("reports", "runs/r1/report.csv", Duration::from_secs(600))
        .await
        .unwrap();
    assert!(
        link.starts_with(&format!(
            "{url}/storage/v1/object/sign/reports/runs/r1/report.csv?token="
        )),
        "{link}"
    );
    assert_eq!(fake.signed.lock().unwrap()["tok0"], 600);
    let body = reqwest::get(&link).await.unwrap().bytes().await.unwrap();
    assert_eq!(&body[..], b"a,b\n3,4\n");
}

#[tokio::test]
async fn supabase_storage_errors_carry_the_status_and_message_but_not_the_key() {
    let (url, _fake) = spawn_fake().await;
    let store = SupabaseStorage::new(url.clone(), SecretString::from(KEY), reqwest::Client::new());
    let err = store
        .put("missing-bucket", "x.csv", b"x".to_vec(), "text/csv")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StorageError::Status { status: 404, message } if message == "Bucket not found"),
        "{err:?}"
    );
    assert!(!err.to_string().contains(KEY));
    let wrong_key = SupabaseStorage::new(url, SecretString::from("wrong"), reqwest::Client::new());
    let err = wrong_key
        .signed_url("reports", "x.csv", Duration::from_secs(60))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StorageError::Status { status: 400, .. }),
        "{err:?}"
    );
    let unreachable = SupabaseStorage::new(
        "http://127.0.0.1:9".into(),
        SecretString::from(KEY),
        reqwest::Client::new(),
    );
    let err = unreachable
        .put("reports", "x.csv", b"x".to_vec(), "text/csv")
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::Unreachable(_)), "{err:?}");
    assert!(
        store
            .put("reports", "../escape", vec![], "text/csv")
            .await
            .is_err(),
        "paths are checked before any request"
    );
}

#[tokio::test]
async fn the_local_store_keeps_files_behind_expiring_links() {
    let dir = std::env::temp_dir().join(format!("gimbal-storage-{}", uuid::Uuid::new_v4()));
    let store = LocalStore::new(dir.clone(), "http://127.0.0.1:8000".into(), b"key");
    store
        .put(
            "reports",
            "runs/r1/report.pdf",
            b"%PDF-1.7".to_vec(),
            "application/pdf",
        )
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(dir.join("reports/runs/r1/report.pdf")).unwrap(),
        b"%PDF-1.7"
    );
    let link = store
        .signed_url("reports", "runs/r1/report.pdf", Duration::from_secs(60))
        .await
        .unwrap();
    let token = link
        .strip_prefix(
            "http://127.0.0.1:8000/storage/v1/object/sign/reports/runs/r1/report.pdf?token=",
        )
        .expect("supabase-shaped link");
    let (bytes, content_type) = store
        .open("reports", "runs/r1/report.pdf", token)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (bytes.as_slice(), content_type),
        (&b"%PDF-1.7"[..], "application/pdf")
    );
    assert!(
        store
            .open("reports", "runs/r1/other.pdf", token)
            .await
            .unwrap()
            .is_err(),
        "a token opens only its own object"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
