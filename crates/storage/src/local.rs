//! Files on local disk, for `gimbal dev` and single-machine installs. Links have Supabase's
//! shape, `<public url>/storage/v1/object/sign/<bucket>/<path>?token=<expiry>.<mac>`, where
//! the mac is HMAC-SHA256 over the object and the expiry under a key derived from
//! `GIMBAL_ENCRYPTION_KEY` (so there is no extra secret to manage, and rotating that key
//! invalidates the links). The functions host serves them ([`LocalStore::open`]).

use std::{
    path::{Path, PathBuf},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use gimbal_edge::Config;
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;

use crate::{ObjectStore, StorageError, check_path};

type HmacSha256 = Hmac<Sha256>;

/// Domain separation: the link key is not the encryption key itself.
const LINK_KEY_LABEL: &[u8] = b"gimbal storage links v1";

#[derive(Clone)]
pub struct LocalStore {
    dir: PathBuf,
    /// Scheme, host and mount prefix the links start with, e.g. `http://127.0.0.1:54321`.
    public_base: String,
    key: [u8; 32],
}

impl std::fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalStore")
            .field("dir", &self.dir)
            .field("public_base", &self.public_base)
            .finish_non_exhaustive()
    }
}

/// Why a link was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the link has expired")]
    Expired,
    #[error("the link is not valid for this object")]
    Invalid,
}

impl LocalStore {
    pub fn new(dir: PathBuf, public_base: String, secret: &[u8]) -> Self {
        let mut mac = HmacSha256::new_from_slice(secret).expect("hmac takes any key length");
        mac.update(LINK_KEY_LABEL);
        LocalStore {
            dir,
            public_base: public_base.trim_end_matches('/').to_string(),
            key: mac.finalize().into_bytes().into(),
        }
    }

    /// The store `GIMBAL_STORAGE_DIR` names; links start at `GIMBAL_PUBLIC_URL` (default: the
    /// bind address) and the path prefix.
    pub fn from_config(config: &Config) -> Option<LocalStore> {
        let dir = config.storage_dir.clone()?;
        let base = config
            .webhooks
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", config.bind));
        Some(LocalStore::new(
            dir,
            format!("{}{}", base.trim_end_matches('/'), config.path_prefix),
            config.encryption_key.expose_secret().as_bytes(),
        ))
    }

    fn file(&self, bucket: &str, path: &str) -> Result<PathBuf, StorageError> {
        check_path(bucket)?;
        check_path(path)?;
        Ok(self.dir.join(bucket).join(path))
    }

    fn mac(&self, bucket: &str, path: &str, expires: u64) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("32-byte key");
        mac.update(format!("{bucket}/{path}\n{expires}").as_bytes());
        mac
    }

    /// `<expiry>.<mac>` for the object, valid until `expires` (unix seconds).
    pub fn token(&self, bucket: &str, path: &str, expires: u64) -> String {
        let tag = self.mac(bucket, path, expires).finalize().into_bytes();
        format!("{expires}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// Checks a link's token at time `now` (unix seconds).
    pub fn verify(&self, bucket: &str, path: &str, token: &str, now: u64) -> Result<(), LinkError> {
        let (expires, tag) = token.split_once('.').ok_or(LinkError::Invalid)?;
        let expires: u64 = expires.parse().map_err(|_| LinkError::Invalid)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| LinkError::Invalid)?;
        // verify_slice compares in constant time.
        self.mac(bucket, path, expires)
            .verify_slice(&tag)
            .map_err(|_| LinkError::Invalid)?;
        if now > expires {
            return Err(LinkError::Expired);
        }
        Ok(())
    }

    /// The file a valid link points at, with its content type.
    pub async fn open(
        &self,
        bucket: &str,
        path: &str,
        token: &str,
    ) -> Result<Result<(Vec<u8>, &'static str), LinkError>, StorageError> {
        if let Err(e) = self.verify(bucket, path, token, unix_now()) {
            return Ok(Err(e));
        }
        let bytes = tokio::fs::read(self.file(bucket, path)?).await?;
        Ok(Ok((bytes, content_type_of(path))))
    }
}

/// The content type of a report file, by extension.
pub fn content_type_of(path: &str) -> &'static str {
    match Path::new(path).extension().and_then(|e| e.to_str()) {
        Some("csv") => "text/csv; charset=utf-8",
        Some("xlsx") => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Some("pdf") => "application/pdf",
        _ => "application/octet-stream",
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl ObjectStore for LocalStore {
    async fn put(
        &self,
        bucket: &str,
        path: &str,
        bytes: Vec<u8>,
        _content_type: &str,
    ) -> Result<(), StorageError> {
        let file = self.file(bucket, path)?;
        if let Some(parent) = file.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        // write then rename, so a reader never sees half a file.
        let partial = file.with_extension("partial");
        tokio::fs::write(&partial, bytes).await?;
        tokio::fs::rename(&partial, &file).await?;
        Ok(())
    }

    async fn signed_url(
        &self,
        bucket: &str,
        path: &str,
        expires_in: Duration,
    ) -> Result<String, StorageError> {
        check_path(bucket)?;
        check_path(path)?;
        let expires = unix_now() + expires_in.as_secs();
        Ok(format!(
            "{}/storage/v1/object/sign/{bucket}/{path}?token={}",
            self.public_base,
            self.token(bucket, path, expires)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &Path) -> LocalStore {
        LocalStore::new(
            dir.to_path_buf(),
            "http://127.0.0.1:9/api".into(),
            b"secret",
        )
    }

    #[test]
    fn a_token_is_valid_for_its_object_until_it_expires() {
        let s = store(Path::new("/nonexistent"));
        let token = s.token("reports", "a/b.csv", 1_000);
        assert_eq!(s.verify("reports", "a/b.csv", &token, 999), Ok(()));
        assert_eq!(s.verify("reports", "a/b.csv", &token, 1_000), Ok(()));
        assert_eq!(
            s.verify("reports", "a/b.csv", &token, 1_001),
            Err(LinkError::Expired)
        );
        assert_eq!(
            s.verify("reports", "a/c.csv", &token, 999),
            Err(LinkError::Invalid)
        );
        // moving the expiry forward breaks the mac.
        let forged = token.replacen("1000", "9999", 1);
        assert_eq!(
            s.verify("reports", "a/b.csv", &forged, 999),
            Err(LinkError::Invalid)
        );
        let other_key = LocalStore::new(PathBuf::new(), String::new(), b"other");
        assert_eq!(
            other_key.verify("reports", "a/b.csv", &token, 999),
            Err(LinkError::Invalid)
        );
        assert_eq!(
            s.verify("reports", "a/b.csv", "garbage", 0),
            Err(LinkError::Invalid)
        );
    }
}
