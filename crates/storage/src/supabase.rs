//! Supabase Storage through its REST API, authenticated with the service-role key (the bucket
//! stays private; people get signed URLs).

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::{ObjectStore, StorageError, check_path};

#[derive(Clone)]
pub struct SupabaseStorage {
    /// `https://<ref>.supabase.co`, without a trailing slash.
    base_url: String,
    service_key: SecretString,
    http: reqwest::Client,
}

impl std::fmt::Debug for SupabaseStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupabaseStorage")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct SignedUrl {
    #[serde(rename = "signedURL")]
    signed_url: String,
}

#[derive(Deserialize)]
struct StorageErrorBody {
    /// A string (`"404"`) in current versions, a number in some older ones.
    #[serde(rename = "statusCode")]
    status_code: Option<serde_json::Value>,
    message: Option<String>,
    error: Option<String>,
}

impl SupabaseStorage {
    pub fn new(base_url: String, service_key: SecretString, http: reqwest::Client) -> Self {
        SupabaseStorage {
            base_url: base_url.trim_end_matches('/').to_string(),
            service_key,
            http,
        }
    }

    fn request(&self, url: String) -> reqwest::RequestBuilder {
        let key = self.service_key.expose_secret();
        self.http
            .post(url)
            .bearer_auth(key)
            .header("apikey", key)
            .timeout(Duration::from_secs(60))
    }
}

/// The error a non-2xx answer carries (Storage answers `{"statusCode","error","message"}`).
/// Older Storage versions answer HTTP 400 with the real status in `statusCode`; that one wins.
pub(crate) async fn failure(response: reqwest::Response) -> StorageError {
    let mut status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    let parsed = serde_json::from_str::<StorageErrorBody>(&body).ok();
    if let Some(code) = parsed
        .as_ref()
        .and_then(|b| match b.status_code.as_ref()? {
            serde_json::Value::String(s) => s.parse::<u16>().ok(),
            serde_json::Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            _ => None,
        })
        .filter(|c| (400..600).contains(c))
    {
        status = code;
    }
    let message = parsed
        .and_then(|b| b.message.or(b.error))
        .unwrap_or_else(|| body.chars().take(200).collect());
    StorageError::Status { status, message }
}

fn unreachable(e: reqwest::Error) -> StorageError {
    // reqwest's display names the URL, which holds no secret (the key travels in headers).
    StorageError::Unreachable(e.to_string())
}

impl ObjectStore for SupabaseStorage {
    async fn put(
        &self,
        bucket: &str,
        path: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), StorageError> {
        check_path(path)?;
        let response = self
            .request(format!(
                "{}/storage/v1/object/{bucket}/{path}",
                self.base_url
            ))
            .header("content-type", content_type)
            .header("x-upsert", "true")
            .header("cache-control", "max-age=3600")
            .body(bytes)
            .send()
            .await
            .map_err(unreachable)?;
        if !response.status().is_success() {
            return Err(failure(response).await);
        }
        Ok(())
    }

    async fn signed_url(
        &self,
        bucket: &str,
        path: &str,
        expires_in: Duration,
    ) -> Result<String, StorageError> {
        check_path(path)?;
        let response = self
            .request(format!(
                "{}/storage/v1/object/sign/{bucket}/{path}",
                self.base_url
            ))
            .json(&serde_json::json!({ "expiresIn": expires_in.as_secs() }))
            .send()
            .await
            .map_err(unreachable)?;
        if !response.status().is_success() {
            return Err(failure(response).await);
        }
        let signed: SignedUrl = response
            .json()
            .await
            .map_err(|e| StorageError::Malformed(e.to_string()))?;
        // the answer is relative to /storage/v1 ("/object/sign/…?token=…").
        if signed.signed_url.starts_with("http") {
            Ok(signed.signed_url)
        } else {
            Ok(format!(
                "{}/storage/v1{}",
                self.base_url,
                if signed.signed_url.starts_with('/') {
                    signed.signed_url
                } else {
                    format!("/{}", signed.signed_url)
                }
            ))
        }
    }
}
