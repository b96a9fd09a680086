//! HS256 tokens signed with the legacy shared secret: signature, times, and tampering.

use gimbal_auth::{AppRole, AuthConfig, AuthError, DbRole};
use serde_json::json;

use crate::support::{self, tokens};

fn sign(claims: &serde_json::Value) -> String {
    tokens::hs256(claims, support::JWT_SECRET.as_bytes())
}

#[tokio::test]
async fn valid_hs256_token_gives_the_user() {
    let auth = support::authenticator(support::hs256_config());
    let claims = tokens::user_claims();

    let caller = auth.verify_token(&sign(&claims)).await.unwrap();

    assert_eq!(caller.db_role, DbRole::Authenticated);
    assert_eq!(caller.user_id.unwrap().to_string(), tokens::USER_ID);
    assert_eq!(caller.email.as_deref(), Some("ada@example.com"));
    assert_eq!(caller.app_role, Some(AppRole::User));
    assert_eq!(caller.claims, claims);
}

#[tokio::test]
async fn expired_token_is_refused() {
    let auth = support::authenticator(support::hs256_config());
    let claims = tokens::with(tokens::user_claims(), "exp", json!(tokens::now() - 120));

    let error = auth.verify_token(&sign(&claims)).await.unwrap_err();

    assert!(matches!(&error, AuthError::InvalidJwt(_)));
    assert_eq!(error.sb_error_code(), "UNAUTHORIZED_LEGACY_JWT");
    assert_eq!(error.public_message(), "Invalid JWT");
}

#[tokio::test]
async fn expiry_within_leeway_is_accepted() {
    let auth = support::authenticator(support::hs256_config());
    let claims = tokens::with(tokens::user_claims(), "exp", json!(tokens::now() - 5));

    assert!(auth.verify_token(&sign(&claims)).await.is_ok());
}

#[tokio::test]
async fn leeway_is_configurable() {
    let mut config = support::hs256_config();
    config.leeway_seconds = 0;
    let auth = support::authenticator(config);
    let claims = tokens::with(tokens::user_claims(), "exp", json!(tokens::now() - 5));

    assert!(auth.verify_token(&sign(&claims)).await.is_err());
}

#[tokio::test]
async fn token_without_exp_is_refused() {
    let auth = support::authenticator(support::hs256_config());
    let claims = tokens::without(tokens::user_claims(), "exp");

    let result = auth.verify_token(&sign(&claims)).await;

    assert!(matches!(result, Err(AuthError::InvalidJwt(_))));
}

#[tokio::test]
async fn token_not_yet_valid_is_refused() {
    let auth = support::authenticator(support::hs256_config());
    let claims = tokens::with(tokens::user_claims(), "nbf", json!(tokens::now() + 600));

    let result = auth.verify_token(&sign(&claims)).await;

    assert!(matches!(result, Err(AuthError::InvalidJwt(_))));
}

#[tokio::test]
async fn wrong_secret_is_refused() {
    let auth = support::authenticator(support::hs256_config());
    let token = tokens::hs256(
        &tokens::user_claims(),
        b"another-project-secret-with-32-chars!!",
    );

    let result = auth.verify_token(&token).await;

    assert!(matches!(result, Err(AuthError::InvalidJwt(_))));
}

#[tokio::test]
async fn hs256_is_refused_without_a_configured_secret() {
    let auth = support::authenticator(AuthConfig::new(None, None, None));

    let result = auth.verify_token(&sign(&tokens::user_claims())).await;

    assert!(matches!(result, Err(AuthError::InvalidJwt(_))));
}

#[tokio::test]
async fn tampered_payload_is_refused() {
    let auth = support::authenticator(support::hs256_config());
    let token = sign(&tokens::user_claims());
    let escalated = tokens::with(tokens::user_claims(), "role", json!("service_role"));

    let result = auth
        .verify_token(&tokens::swap_payload(&token, &escalated))
        .await;

    assert!(matches!(result, Err(AuthError::InvalidJwt(_))));
}

#[tokio::test]
async fn tampered_signature_is_refused() {
    let auth = support::authenticator(support::hs256_config());
    let token = sign(&tokens::user_claims());
    let (body, signature) = token.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { "B" } else { "A" };

    let result = auth
        .verify_token(&format!("{body}.{flipped}{}", &signature[1..]))
        .await;

    assert!(matches!(result, Err(AuthError::InvalidJwt(_))));
}

#[tokio::test]
async fn a_critical_header_extension_is_refused() {
    let auth = support::authenticator(support::hs256_config());
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.crit = Some(vec!["b64".to_owned()]);
    let key = jsonwebtoken::EncodingKey::from_secret(support::JWT_SECRET.as_bytes());
    let token = jsonwebtoken::encode(&header, &tokens::user_claims(), &key).unwrap();

    let result = auth.verify_token(&token).await;

    assert!(matches!(result, Err(AuthError::InvalidJwt(_))));
}

#[tokio::test]
async fn an_empty_secret_counts_as_no_secret() {
    let auth = support::authenticator(AuthConfig::new(Some("".into()), None, None));
    let token = tokens::hs256(&tokens::user_claims(), b"");

    let result = auth.verify_token(&token).await;

    assert!(matches!(result, Err(AuthError::InvalidJwt(_))));
}
