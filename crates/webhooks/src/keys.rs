//! Where the keys that verify webhooks come from: the encrypted integrations store when an
//! admin saved them there (Twilio's `auth_token`, SendGrid's `webhook_public_key`), else the
//! environment (`TWILIO_AUTH_TOKEN`, `SENDGRID_WEBHOOK_PUBLIC_KEY`).
//!
//! Opening the store costs a query and a decryption, and Twilio calls back once per message,
//! so what was read is kept for [`CACHE_TTL`]. A request that fails to verify with the kept key
//! has the store read again ([`reread`]) and is verified once more when the key changed, so a
//! key saved or rotated in the store is used from its first request. Forged requests cannot
//! turn that into a query each: a key is read again at most once per [`MIN_REREAD`]. The cache
//! is per database (a process may serve several in tests). Secrets stay in [`SecretString`]s
//! and are never logged.

use std::{
    collections::HashMap,
    hash::{DefaultHasher, Hash, Hasher},
    sync::{Mutex, OnceLock},
    time::{Duration, Instant},
};

use gimbal_admin::integrations::{self, IntegrationError, Provider};
use gimbal_db::{DbError, Pool, RequestScope};
use gimbal_secrets::Keyring;
use secrecy::{ExposeSecret, SecretString};

/// How long a key read from the store is used before it is read again.
pub const CACHE_TTL: Duration = Duration::from_secs(30);

/// The shortest time between two reads of one key after failed verifications.
pub const MIN_REREAD: Duration = Duration::from_secs(1);

/// A verification key the webhooks may need.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WebhookKey {
    /// Twilio signs with the account's auth token.
    TwilioAuthToken,
    /// SendGrid's Event Webhook verification key (base64 DER, public).
    SendGridPublicKey,
}

impl WebhookKey {
    fn source(self) -> (Provider, &'static str) {
        match self {
            WebhookKey::TwilioAuthToken => (Provider::Twilio, "auth_token"),
            WebhookKey::SendGridPublicKey => (Provider::SendGrid, "webhook_public_key"),
        }
    }

    /// The environment variable that stands in when the store has no key.
    pub fn variable(self) -> &'static str {
        match self {
            WebhookKey::TwilioAuthToken => "TWILIO_AUTH_TOKEN",
            WebhookKey::SendGridPublicKey => "SENDGRID_WEBHOOK_PUBLIC_KEY",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the integrations store cannot be read: {0}")]
    Db(#[from] DbError),
    #[error("the stored {0} credentials cannot be opened")]
    Sealed(&'static str),
}

/// What a lookup needs: the pool and keyring of the store, and the environment's fallback.
pub struct KeySource<'a> {
    pub pool: &'a Pool,
    pub keyring: &'a Keyring,
    /// Identifies the database, so a cache entry never crosses databases (e.g. its URL).
    pub database: &'a str,
    pub fallback: Option<&'a SecretString>,
}

type Cache = Mutex<HashMap<(u64, WebhookKey), (Instant, Option<SecretString>)>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Cache::default)
}

fn database_id(source: &KeySource<'_>) -> u64 {
    let mut hasher = DefaultHasher::new();
    source.database.hash(&mut hasher);
    hasher.finish()
}

/// The key: the store's when set there, else the environment's; `None` when neither has one.
pub async fn resolve(
    key: WebhookKey,
    source: &KeySource<'_>,
) -> Result<Option<SecretString>, KeyError> {
    let database = database_id(source);
    let cached = cache()
        .lock()
        .ok()
        .and_then(|c| c.get(&(database, key)).cloned())
        .filter(|(at, _)| at.elapsed() < CACHE_TTL);
    let stored = match cached {
        Some((_, stored)) => stored,
        None => {
            let stored = from_store(key, source).await?;
            if let Ok(mut c) = cache().lock() {
                c.insert((database, key), (Instant::now(), stored.clone()));
            }
            stored
        }
    };
    Ok(stored.or_else(|| source.fallback.cloned()))
}

fn rereads() -> &'static Mutex<HashMap<(u64, WebhookKey), Instant>> {
    static REREADS: OnceLock<Mutex<HashMap<(u64, WebhookKey), Instant>>> = OnceLock::new();
    REREADS.get_or_init(Mutex::default)
}

/// After a request failed to verify with the key [`resolve`] gave: reads the store again
/// (unless it was read again less than [`MIN_REREAD`] ago) and answers the key when it is no
/// longer the one that failed, `None` otherwise. The time of the attempt is taken before the
/// read, whether the read then succeeds or not, so simultaneous failures, or a store that
/// cannot be read, still cost at most one read per [`MIN_REREAD`].
pub async fn reread(
    key: WebhookKey,
    source: &KeySource<'_>,
    failed: &SecretString,
) -> Result<Option<SecretString>, KeyError> {
    let database = database_id(source);
    let due = match rereads().lock() {
        Ok(mut last) => {
            let now = Instant::now();
            let due = last
                .get(&(database, key))
                .is_none_or(|at| now.duration_since(*at) >= MIN_REREAD);
            if due {
                last.insert((database, key), now);
            }
            due
        }
        Err(_) => false,
    };
    if !due {
        return Ok(None);
    }
    let stored = from_store(key, source).await?;
    if let Ok(mut c) = cache().lock() {
        c.insert((database, key), (Instant::now(), stored.clone()));
    }
    Ok(stored
        .or_else(|| source.fallback.cloned())
        .filter(|now| now.expose_secret() != failed.expose_secret()))
}

async fn from_store(
    key: WebhookKey,
    source: &KeySource<'_>,
) -> Result<Option<SecretString>, KeyError> {
    let (provider, field) = key.source();
    let mut conn = source.pool.get().await.map_err(DbError::from)?;
    let tx = gimbal_db::scope::begin(
        &mut conn,
        &RequestScope::service("webhooks/keys"),
        gimbal_db::Access::ReadOnly,
    )
    .await?;
    let loaded = integrations::load(&tx, source.keyring, provider).await;
    tx.commit().await.map_err(DbError::from)?;
    match loaded {
        Ok(credentials) => Ok(credentials
            .get(field)
            .filter(|v| !v.trim().is_empty())
            .map(|v| SecretString::from(v.trim().to_string()))),
        Err(IntegrationError::NotConfigured(_)) => Ok(None),
        Err(IntegrationError::Db(e)) => Err(KeyError::Db(e)),
        Err(_) => Err(KeyError::Sealed(provider.as_str())),
    }
}
