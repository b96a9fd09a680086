//! The project's published signing keys (JWKS): fetched on first need, cached no longer
//! than the server and the configuration allow, refreshed once when a token names an
//! unknown `kid`, and kept through fetch failures.

use std::{
    collections::HashMap,
    sync::{PoisonError, RwLock},
    time::{Duration, Instant},
};

use jsonwebtoken::{
    DecodingKey,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse},
};
use reqwest::header::{CACHE_CONTROL, HeaderValue};
use serde::Deserialize;
use serde_json::Value;

use crate::token::SigningAlg;

/// How long a JWKS is kept when its response has no `Cache-Control: max-age`.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(600);
/// Every verification waiting on a fetch waits at most this long.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Smaller RSA moduli are forgeable; Supabase publishes 2048-bit keys.
const MIN_RSA_MODULUS_BYTES: usize = 256;

/// A public key from the JWKS and the one algorithm it may verify.
#[derive(Clone)]
pub(crate) struct JwksKey {
    pub alg: SigningAlg,
    pub key: DecodingKey,
}

pub(crate) enum Lookup {
    Found(JwksKey),
    UnknownKid,
    Unavailable,
}

pub(crate) struct Jwks {
    url: Option<String>,
    http: reqwest::Client,
    max_age: Duration,
    min_refresh_interval: Duration,
    state: RwLock<KeySet>,
    /// Held across a fetch so concurrent callers share it instead of each fetching.
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct KeySet {
    keys: HashMap<String, JwksKey>,
    /// `None` until a fetch has succeeded.
    expires_at: Option<Instant>,
    last_attempt: Option<Instant>,
    /// Counts fetch attempts, so a caller that waited on another's fetch can tell.
    attempts: u64,
}

struct Snapshot {
    key: Option<JwksKey>,
    fresh: bool,
    attempts: u64,
}

impl Jwks {
    pub(crate) fn new(
        url: Option<String>,
        http: reqwest::Client,
        max_age: Duration,
        min_refresh_interval: Duration,
    ) -> Self {
        Self {
            url,
            http,
            max_age,
            min_refresh_interval,
            state: RwLock::new(KeySet::default()),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    /// The key with this `kid`, refreshing the set first when it is stale or lacks the kid.
    pub(crate) async fn find(&self, kid: &str) -> Lookup {
        if self.url.is_none() {
            tracing::warn!("asymmetric token received but no JWKS URL is configured");
            return Lookup::Unavailable;
        }
        let before = self.snapshot(kid);
        if let (Some(key), true) = (&before.key, before.fresh) {
            return Lookup::Found(key.clone());
        }
        self.refresh(before.attempts).await;
        match self.snapshot(kid).key {
            Some(key) => Lookup::Found(key),
            None if self.ever_fetched() => Lookup::UnknownKid,
            None => Lookup::Unavailable,
        }
    }

    fn snapshot(&self, kid: &str) -> Snapshot {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        Snapshot {
            key: state.keys.get(kid).cloned(),
            fresh: state.expires_at.is_some_and(|at| Instant::now() < at),
            attempts: state.attempts,
        }
    }

    fn ever_fetched(&self) -> bool {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        state.expires_at.is_some()
    }

    /// Fetches unless another caller fetched while this one waited, or the last attempt
    /// was too recent (so a stream of made-up `kid`s cannot hammer the auth server).
    async fn refresh(&self, attempts_seen: u64) {
        let _fetching = self.fetching.lock().await;
        if !self.may_fetch(attempts_seen) {
            return;
        }
        let result = self.fetch().await;
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        state.attempts += 1;
        state.last_attempt = Some(Instant::now());
        match result {
            Ok((keys, ttl)) => {
                tracing::info!(
                    jwks.keys = keys.len(),
                    jwks.ttl_secs = ttl.as_secs(),
                    "JWKS fetched"
                );
                state.keys = keys;
                state.expires_at = Some(Instant::now() + ttl);
            }
            Err(problem) => {
                tracing::warn!(jwks.error = %problem, "JWKS fetch failed; keeping the previous keys");
            }
        }
    }

    fn may_fetch(&self, attempts_seen: u64) -> bool {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        let shared = state.attempts != attempts_seen;
        let too_soon = state
            .last_attempt
            .is_some_and(|at| at.elapsed() < self.min_refresh_interval);
        if too_soon && !shared {
            tracing::debug!("JWKS refresh skipped: the last attempt was too recent");
        }
        !shared && !too_soon
    }

    async fn fetch(&self) -> Result<(HashMap<String, JwksKey>, Duration), String> {
        let url = self.url.as_deref().ok_or("no JWKS URL configured")?;
        let response = self
            .http
            .get(url)
            .timeout(FETCH_TIMEOUT)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| e.without_url().to_string())?;
        let ttl = cache_ttl(response.headers().get(CACHE_CONTROL), self.max_age);
        let document: JwksDocument = response
            .json()
            .await
            .map_err(|e| format!("not a JWKS document: {}", e.without_url()))?;
        Ok((usable_keys(document.keys), ttl))
    }
}

#[derive(Deserialize)]
struct JwksDocument {
    keys: Vec<Value>,
}

/// Keys are read one by one so that a single unusable entry (an unknown key type, an
/// encryption key) does not take the whole set down.
fn usable_keys(entries: Vec<Value>) -> HashMap<String, JwksKey> {
    let mut keys = HashMap::new();
    for entry in entries {
        let Ok(jwk) = serde_json::from_value::<Jwk>(entry) else {
            tracing::debug!("JWKS entry skipped: not a key this service understands");
            continue;
        };
        let Some(kid) = jwk.common.key_id.clone() else {
            tracing::debug!("JWKS entry skipped: no kid");
            continue;
        };
        match usable_key(&jwk) {
            Ok(key) => {
                keys.insert(kid, key);
            }
            Err(problem) => tracing::debug!(jwks.kid = %kid, "JWKS key skipped: {problem}"),
        }
    }
    keys
}

/// The algorithm follows from the key type alone (EC P-256 → ES256, RSA → RS256); a
/// declared `alg` or `use` that says otherwise disqualifies the key.
fn usable_key(jwk: &Jwk) -> Result<JwksKey, String> {
    let alg = match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            SigningAlg::Es256
        }
        AlgorithmParameters::RSA(rsa) if rsa_modulus_len(&rsa.n) >= MIN_RSA_MODULUS_BYTES => {
            SigningAlg::Rs256
        }
        _ => return Err("not an EC P-256 or 2048-bit RSA key".to_owned()),
    };
    if let Some(declared) = jwk.common.key_algorithm
        && declared.to_string() != alg.as_str()
    {
        return Err(format!(
            "declares alg {declared}, its key type is {}",
            alg.as_str()
        ));
    }
    if let Some(key_use) = &jwk.common.public_key_use
        && *key_use != PublicKeyUse::Signature
    {
        return Err("not a signing key".to_owned());
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    Ok(JwksKey { alg, key })
}

fn rsa_modulus_len(n: &str) -> usize {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    URL_SAFE_NO_PAD
        .decode(n)
        .map(|bytes| bytes.iter().skip_while(|b| **b == 0).count())
        .unwrap_or(0)
}

/// `min(max-age, cap)`; `no-store` / `no-cache` mean "do not reuse" and count as zero.
fn cache_ttl(header: Option<&HeaderValue>, cap: Duration) -> Duration {
    let directives = header.and_then(|value| value.to_str().ok()).unwrap_or("");
    let mut ttl = DEFAULT_MAX_AGE;
    for directive in directives.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Duration::ZERO;
        }
        if let Some(seconds) = lower.strip_prefix("max-age=") {
            ttl = seconds
                .trim_matches('"')
                .parse()
                .map_or(Duration::ZERO, Duration::from_secs);
        }
    }
    ttl.min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAP: Duration = Duration::from_secs(600);

    fn ttl(header: &str) -> Duration {
        cache_ttl(Some(&HeaderValue::from_str(header).unwrap()), CAP)
    }

    #[test]
    fn max_age_is_honoured_below_the_cap() {
        assert_eq!(ttl("public, max-age=120"), Duration::from_secs(120));
    }

    #[test]
    fn max_age_above_the_cap_is_capped() {
        assert_eq!(ttl("max-age=86400"), CAP);
    }

    #[test]
    fn missing_header_means_ten_minutes_capped() {
        assert_eq!(cache_ttl(None, CAP), DEFAULT_MAX_AGE);
        assert_eq!(
            cache_ttl(None, Duration::from_secs(5)),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn no_store_and_garbage_mean_do_not_reuse() {
        assert_eq!(ttl("no-store"), Duration::ZERO);
        assert_eq!(ttl("max-age=soon"), Duration::ZERO);
    }
}
