//! Which header carries the credential, and which header shapes are refused.

use gimbal_auth::{AuthError, DbRole};

use crate::support::{self, tokens};

fn user_token() -> String {
    tokens::hs256(&tokens::user_claims(), support::JWT_SECRET.as_bytes())
}

fn anon_key() -> String {
    let claims = serde_json::json!({
        "iss": "supabase", "ref": "local", "role": "anon",
        "iat": tokens::now(), "exp": tokens::now() + 3600
    });
    tokens::hs256(&claims, support::JWT_SECRET.as_bytes())
}

#[tokio::test]
async fn missing_header_is_refused_when_jwt_required() {
    let auth = support::authenticator(support::hs256_config());

    let result = auth.authenticate(None, None, true).await;

    assert!(matches!(result, Err(AuthError::MissingAuthHeader)));
}

#[tokio::test]
async fn missing_header_is_anon_when_jwt_not_required() {
    let auth = support::authenticator(support::hs256_config());

    let caller = auth.authenticate(None, None, false).await.unwrap();

    assert_eq!(caller.db_role, DbRole::Anon);
    assert!(caller.user_id.is_none());
}

#[tokio::test]
async fn empty_authorization_counts_as_missing() {
    let auth = support::authenticator(support::hs256_config());

    let result = auth.authenticate(Some(""), None, true).await;

    assert!(matches!(result, Err(AuthError::MissingAuthHeader)));
}

#[tokio::test]
async fn bearer_scheme_is_case_insensitive() {
    let auth = support::authenticator(support::hs256_config());
    let token = user_token();

    for scheme in ["Bearer", "bearer", "BEARER"] {
        let header = format!("{scheme} {token}");
        let caller = auth.authenticate(Some(&header), None, true).await.unwrap();
        assert_eq!(caller.db_role, DbRole::Authenticated, "scheme {scheme}");
    }
}

#[tokio::test]
async fn non_bearer_headers_are_invalid_format() {
    let auth = support::authenticator(support::hs256_config());
    let token = user_token();
    let shapes = [
        format!("Basic {token}"),
        token.clone(),
        "Bearer".to_owned(),
        format!("Bearer {token} extra"),
        "Bearer abc.def".to_owned(),
        "Bearer a.b.c.d".to_owned(),
        "Bearer .payload.sig".to_owned(),
        "Bearer e30=.e30.sig".to_owned(),
        "Bearer e30.e3+0.sig".to_owned(),
        "Bearer sb_publishable_abc123".to_owned(),
    ];

    for header in shapes {
        let result = auth.authenticate(Some(&header), None, false).await;
        assert!(matches!(result, Err(AuthError::InvalidFormat)), "{header}");
    }
}

#[tokio::test]
async fn header_that_is_not_json_is_invalid_format() {
    let auth = support::authenticator(support::hs256_config());
    // base64url of "not json" for the header, "{}" for the payload.
    let header = "Bearer bm90IGpzb24.e30.c2ln";

    let result = auth.authenticate(Some(header), None, true).await;

    assert!(matches!(result, Err(AuthError::InvalidFormat)));
}

#[tokio::test]
async fn header_without_alg_is_invalid_format() {
    let auth = support::authenticator(support::hs256_config());
    let token = tokens::with_raw_header(
        &serde_json::json!({ "typ": "JWT" }),
        &tokens::user_claims(),
        "c2ln",
    );

    let result = auth
        .authenticate(Some(&format!("Bearer {token}")), None, true)
        .await;

    assert!(matches!(result, Err(AuthError::InvalidFormat)));
}

#[tokio::test]
async fn apikey_alone_with_anon_key_is_anon_when_jwt_required() {
    let auth = support::authenticator(support::hs256_config());

    let caller = auth
        .authenticate(None, Some(&anon_key()), true)
        .await
        .unwrap();

    assert_eq!(caller.db_role, DbRole::Anon);
    assert_eq!(caller.claims["role"], "anon");
}

#[tokio::test]
async fn apikey_alone_never_signs_a_user_in() {
    let auth = support::authenticator(support::hs256_config());

    let result = auth.authenticate(None, Some(&user_token()), true).await;

    assert!(matches!(result, Err(AuthError::InvalidJwt(_))));
}

#[tokio::test]
async fn apikey_is_ignored_when_jwt_not_required() {
    let auth = support::authenticator(support::hs256_config());

    let caller = auth
        .authenticate(None, Some("garbage"), false)
        .await
        .unwrap();

    assert_eq!(caller.db_role, DbRole::Anon);
}

#[tokio::test]
async fn malformed_apikey_is_invalid_format() {
    let auth = support::authenticator(support::hs256_config());

    let result = auth
        .authenticate(None, Some("sb_publishable_abc"), true)
        .await;

    assert!(matches!(result, Err(AuthError::InvalidFormat)));
}

#[tokio::test]
async fn authorization_wins_over_apikey() {
    let auth = support::authenticator(support::hs256_config());
    let header = format!("Bearer {}", user_token());

    let caller = auth
        .authenticate(Some(&header), Some(&anon_key()), true)
        .await
        .unwrap();

    assert_eq!(caller.db_role, DbRole::Authenticated);
}

#[tokio::test]
async fn presented_token_is_verified_even_when_jwt_not_required() {
    let auth = support::authenticator(support::hs256_config());
    let forged = tokens::hs256(
        &tokens::user_claims(),
        b"not-the-project-secret-at-all-000000",
    );

    let result = auth
        .authenticate(Some(&format!("Bearer {forged}")), None, false)
        .await;

    assert!(matches!(result, Err(AuthError::InvalidJwt(_))));
}
