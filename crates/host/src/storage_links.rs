//! Signed links to files in the local store (`GIMBAL_STORAGE_DIR`), served at the path
//! Supabase Storage uses for signed URLs: `/storage/v1/object/sign/<bucket>/<path>?token=…`.
//! The token is the authorisation (as on Supabase): no bearer token is needed to download.

use axum::{
    extract::{Path, Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use gimbal_edge::{ApiError, AppState};
use gimbal_storage::{LinkError, LocalStore, StorageError};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct Link {
    token: Option<String>,
}

pub async fn serve(
    State(app): State<AppState>,
    Path((bucket, path)): Path<(String, String)>,
    Query(link): Query<Link>,
) -> Response {
    let Some(store) = LocalStore::from_config(&app.config) else {
        return ApiError::NotFound("no local file store is configured".into()).into_response();
    };
    let Some(token) = link.token else {
        return ApiError::validation("token", "a signed link carries a token").into_response();
    };
    match store.open(&bucket, &path, &token).await {
        Ok(Ok((bytes, content_type))) => {
            let name = path.rsplit('/').next().unwrap_or("file");
            let mut response = (StatusCode::OK, bytes).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
                headers.insert(header::CONTENT_DISPOSITION, v);
            }
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            );
            response
        }
        Ok(Err(LinkError::Expired)) => {
            ApiError::Forbidden("the link has expired".into()).into_response()
        }
        Ok(Err(LinkError::Invalid)) => {
            ApiError::Forbidden("the link is not valid".into()).into_response()
        }
        Err(StorageError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            ApiError::NotFound("no such file".into()).into_response()
        }
        Err(StorageError::InvalidPath(_)) => {
            ApiError::NotFound("no such file".into()).into_response()
        }
        Err(e) => ApiError::Internal(e.to_string()).into_response(),
    }
}
