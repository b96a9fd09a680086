//! Reading an object of Supabase Storage *as the caller*: `GET
//! /storage/v1/object/authenticated/<bucket>/<path>` with the caller's own JWT, so Storage's
//! RLS on `storage.objects` decides whether they may read it (never the service-role key). The
//! answer is handed back unread, for the caller to stream.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::StorageError;

/// Where and how to read objects as a caller.
#[derive(Clone)]
pub struct CallerStorage {
    /// `https://<ref>.supabase.co`, without a trailing slash.
    base_url: String,
    /// The project's anon key: the API gateway wants a key; the JWT says who asks.
    api_key: SecretString,
    http: reqwest::Client,
}

impl std::fmt::Debug for CallerStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallerStorage")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl CallerStorage {
    pub fn new(base_url: &str, api_key: SecretString, http: reqwest::Client) -> Self {
        CallerStorage {
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key,
            http,
        }
    }

    /// The object's URL, each path segment percent-encoded (object names may hold spaces and
    /// other characters; `..` and empty segments are refused).
    pub fn object_url(&self, bucket: &str, path: &str) -> Result<reqwest::Url, StorageError> {
        check_bucket(bucket)?;
        let segments: Vec<&str> = path.split('/').collect();
        let bad =
            |s: &&str| s.is_empty() || *s == "." || *s == ".." || s.chars().any(char::is_control);
        if path.len() > 1024 || segments.iter().any(bad) {
            return Err(StorageError::InvalidPath(path.to_string()));
        }
        let mut url = reqwest::Url::parse(&format!("{}/", self.base_url))
            .map_err(|e| StorageError::Malformed(e.to_string()))?;
        url.path_segments_mut()
            .map_err(|()| StorageError::Malformed("SUPABASE_URL cannot be a base".into()))?
            .pop_if_empty()
            .extend(["storage", "v1", "object", "authenticated", bucket])
            .extend(segments);
        Ok(url)
    }

    /// Starts downloading `bucket/path` as the holder of `caller_jwt`. An object the caller
    /// may not read is "not found", as Storage itself answers.
    pub async fn open(
        &self,
        bucket: &str,
        path: &str,
        caller_jwt: &str,
    ) -> Result<reqwest::Response, StorageError> {
        let url = self.object_url(bucket, path)?;
        let response = self
            .http
            .get(url)
            .bearer_auth(caller_jwt)
            .header("apikey", self.api_key.expose_secret())
            // Connecting and the first byte only: the body may take long to stream.
            .timeout(Duration::from_secs(3600))
            .send()
            .await
            .map_err(|e| StorageError::Unreachable(e.without_url().to_string()))?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(crate::supabase::failure(response).await)
    }
}

/// Bucket names as Storage accepts them, without anything a URL would need to escape.
fn check_bucket(bucket: &str) -> Result<(), StorageError> {
    let ok = (1..=100).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && bucket != "."
        && bucket != "..";
    if ok {
        Ok(())
    } else {
        Err(StorageError::InvalidBucket(bucket.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn storage() -> CallerStorage {
        CallerStorage::new(
            "https://ref.supabase.co/",
            SecretString::from("anon"),
            reqwest::Client::new(),
        )
    }

    #[test]
    fn object_paths_are_encoded_segment_by_segment() {
        assert_eq!(
            storage()
                .object_url("uploads", "2024/march sales?#.csv")
                .unwrap()
                .as_str(),
            "https://ref.supabase.co/storage/v1/object/authenticated/uploads/2024/march%20sales%3F%23.csv"
        );
    }

    #[test]
    fn traversal_and_odd_names_are_refused() {
        for (bucket, path) in [
            ("uploads", "../secrets.csv"),
            ("uploads", "a//b.csv"),
            ("uploads", "/abs.csv"),
            ("uploads", ""),
            ("up/loads", "a.csv"),
            ("..", "a.csv"),
            ("", "a.csv"),
        ] {
            assert!(
                storage().object_url(bucket, path).is_err(),
                "{bucket} {path}"
            );
        }
    }
}
