//! Building tokens: GoTrue-shaped claims and signing with the test keys.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use uuid::Uuid;

pub const ES_A_PEM: &[u8] = include_bytes!("../keys/es256-a.pem");
pub const ES_B_PEM: &[u8] = include_bytes!("../keys/es256-b.pem");
pub const RS_PEM: &[u8] = include_bytes!("../keys/rs256.pem");
pub const RS_WEAK_PEM: &[u8] = include_bytes!("../keys/rs1024-weak.pem");
pub const ES_A_PUBLIC_PEM: &[u8] = include_bytes!("../keys/es256-a.pub.pem");
pub const RS_PUBLIC_PEM: &[u8] = include_bytes!("../keys/rs256.pub.pem");
pub const ES_A_JWK: &str = include_str!("../keys/es256-a.jwk.json");
pub const ES_B_JWK: &str = include_str!("../keys/es256-b.jwk.json");
pub const RS_JWK: &str = include_str!("../keys/rs256.jwk.json");
pub const RS_WEAK_JWK: &str = include_str!("../keys/rs1024-weak.jwk.json");

pub const USER_ID: &str = "7d1c1b6a-7b8e-4f5e-9c47-2f0d3b1e9a11";

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A signed-in user's claims as GoTrue issues them, valid for an hour.
pub fn user_claims() -> Value {
    json!({
        "iss": "http://127.0.0.1:54321/auth/v1",
        "sub": USER_ID,
        "aud": "authenticated",
        "exp": now() + 3600,
        "iat": now(),
        "email": "ada@example.com",
        "phone": "",
        "role": "authenticated",
        "app_metadata": { "provider": "email", "providers": ["email"], "role": "user" },
        "user_metadata": {},
        "aal": "aal1",
        "amr": [{ "method": "password", "timestamp": now() }],
        "session_id": Uuid::new_v4(),
        "is_anonymous": false
    })
}

pub fn with(mut claims: Value, field: &str, value: Value) -> Value {
    claims[field] = value;
    claims
}

pub fn without(mut claims: Value, field: &str) -> Value {
    claims.as_object_mut().unwrap().remove(field);
    claims
}

pub fn hs256(claims: &Value, secret: &[u8]) -> String {
    sign(
        Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
}

pub fn hs256_with_kid(claims: &Value, secret: &[u8], kid: &str) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid.to_owned());
    sign(header, claims, &EncodingKey::from_secret(secret))
}

pub fn es256(claims: &Value, pem: &[u8], kid: &str) -> String {
    let key = EncodingKey::from_ec_pem(pem).unwrap();
    sign(header_with_kid(Algorithm::ES256, kid), claims, &key)
}

pub fn rs256(claims: &Value, kid: &str) -> String {
    rs256_with(claims, RS_PEM, kid)
}

pub fn rs256_with(claims: &Value, pem: &[u8], kid: &str) -> String {
    let key = EncodingKey::from_rsa_pem(pem).unwrap();
    sign(header_with_kid(Algorithm::RS256, kid), claims, &key)
}

/// A token with any header at all and a junk signature, for algorithms we refuse to verify.
pub fn with_raw_header(header: &Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        encode_part(header),
        encode_part(claims)
    )
}

pub fn encode_part(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// The token with its payload replaced and its original signature kept.
pub fn swap_payload(token: &str, claims: &Value) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    format!("{}.{}.{}", parts[0], encode_part(claims), parts[2])
}

fn header_with_kid(alg: Algorithm, kid: &str) -> Header {
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    header
}

fn sign(header: Header, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(&header, claims, key).unwrap()
}
