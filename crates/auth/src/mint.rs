//! Issues HS256 tokens shaped like Supabase's: user access tokens as GoTrue signs them, and
//! the legacy anon / service-role API keys. For the local stack, the CLI and tests.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::roles::{AppRole, DbRole};

/// What a minted access token says about its holder.
#[derive(Clone, Debug)]
pub struct TokenSpec {
    pub role: DbRole,
    pub sub: Option<Uuid>,
    pub email: Option<String>,
    pub app_role: Option<AppRole>,
    pub ttl: Duration,
    pub issuer: String,
}

/// A user access token shaped like GoTrue's (iss, sub, aud "authenticated", exp, iat, email,
/// phone "", role, app_metadata {provider, providers, role}, user_metadata {}, aal "aal1",
/// amr, session_id, is_anonymous false).
pub fn access_token(
    secret: &SecretString,
    spec: &TokenSpec,
) -> Result<String, jsonwebtoken::errors::Error> {
    let now = now_secs();
    let mut claims = json!({
        "iss": spec.issuer,
        "aud": "authenticated",
        "exp": now.saturating_add(spec.ttl.as_secs()),
        "iat": now,
        "email": spec.email.as_deref().unwrap_or(""),
        "phone": "",
        "role": spec.role.as_str(),
        "app_metadata": app_metadata(spec.app_role),
        "user_metadata": {},
        "aal": "aal1",
        "amr": [{ "method": "password", "timestamp": now }],
        "session_id": Uuid::new_v4(),
        "is_anonymous": false,
    });
    if let Some(sub) = spec.sub {
        claims["sub"] = json!(sub);
    }
    sign(secret, &claims)
}

/// Legacy API key: `{"iss":"supabase","ref":<ref>,"role":"anon"|"service_role","iat","exp"}`.
pub fn api_key(
    secret: &SecretString,
    role: DbRole,
    project_ref: &str,
    ttl: Duration,
) -> Result<String, jsonwebtoken::errors::Error> {
    let now = now_secs();
    let claims = json!({
        "iss": "supabase",
        "ref": project_ref,
        "role": role.as_str(),
        "iat": now,
        "exp": now.saturating_add(ttl.as_secs()),
    });
    sign(secret, &claims)
}

fn app_metadata(app_role: Option<AppRole>) -> Value {
    let mut metadata = json!({ "provider": "email", "providers": ["email"] });
    if let Some(role) = app_role {
        metadata["role"] = json!(role);
    }
    metadata
}

fn sign(secret: &SecretString, claims: &Value) -> Result<String, jsonwebtoken::errors::Error> {
    let key = EncodingKey::from_secret(secret.expose_secret().as_bytes());
    jsonwebtoken::encode(&Header::default(), claims, &key)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}
