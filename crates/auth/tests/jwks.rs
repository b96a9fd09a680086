//! Fetching, caching and refreshing the project's published keys.

use std::time::Duration;

use gimbal_auth::{AuthConfig, AuthError, DbRole};
use serde_json::json;

use crate::support::{self, JwksServer, tokens};

fn es_a_token() -> String {
    tokens::es256(&tokens::user_claims(), tokens::ES_A_PEM, "es-a")
}

#[tokio::test]
async fn valid_es256_token_gives_the_user() {
    let server = JwksServer::start(&[tokens::ES_A_JWK]).await;
    let auth = support::authenticator(support::jwks_config(&server));
    let claims = tokens::user_claims();

    let caller = auth
        .verify_token(&tokens::es256(&claims, tokens::ES_A_PEM, "es-a"))
        .await
        .unwrap();

    assert_eq!(caller.db_role, DbRole::Authenticated);
    assert_eq!(caller.claims, claims);
}

#[tokio::test]
async fn keys_are_fetched_lazily_then_served_from_cache() {
    let server = JwksServer::start(&[tokens::ES_A_JWK]).await;
    // Refreshes are not rate-limited here, so only the cache can prevent a second fetch.
    let auth = support::authenticator(support::eager_refresh(support::jwks_config(&server)));
    assert_eq!(server.hits(), 0);

    auth.verify_token(&es_a_token()).await.unwrap();
    auth.verify_token(&es_a_token()).await.unwrap();

    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn cache_control_max_age_bounds_the_cache() {
    let server = JwksServer::start(&[tokens::ES_A_JWK]).await;
    server.set_cache_control("public, max-age=0");
    let auth = support::authenticator(support::eager_refresh(support::jwks_config(&server)));

    auth.verify_token(&es_a_token()).await.unwrap();
    auth.verify_token(&es_a_token()).await.unwrap();

    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn configured_max_age_caps_a_longer_server_max_age() {
    let server = JwksServer::start(&[tokens::ES_A_JWK]).await;
    server.set_cache_control("max-age=86400");
    let mut config = support::eager_refresh(support::jwks_config(&server));
    config.jwks_max_age = Duration::ZERO;
    let auth = support::authenticator(config);

    auth.verify_token(&es_a_token()).await.unwrap();
    auth.verify_token(&es_a_token()).await.unwrap();

    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn unknown_kid_refreshes_once_then_is_still_refused() {
    let server = JwksServer::start(&[tokens::ES_A_JWK]).await;
    let mut config = support::jwks_config(&server);
    config.jwks_min_refresh_interval = Duration::from_millis(200);
    let auth = support::authenticator(config);
    let ghost = tokens::es256(&tokens::user_claims(), tokens::ES_B_PEM, "ghost");
    auth.verify_token(&es_a_token()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;

    let first = auth.verify_token(&ghost).await;
    let hits_after_first = server.hits();
    let second = auth.verify_token(&ghost).await;

    assert!(matches!(first, Err(AuthError::InvalidJwt(_))));
    assert!(matches!(second, Err(AuthError::InvalidJwt(_))));
    assert_eq!(hits_after_first, 2, "the unknown kid triggers one refresh");
    assert_eq!(
        server.hits(),
        2,
        "a second unknown kid inside the interval does not"
    );
}

#[tokio::test]
async fn unknown_kid_on_a_fresh_start_fetches_only_once() {
    let server = JwksServer::start(&[tokens::ES_A_JWK]).await;
    let auth = support::authenticator(support::jwks_config(&server));
    let ghost = tokens::es256(&tokens::user_claims(), tokens::ES_B_PEM, "ghost");

    let result = auth.verify_token(&ghost).await;

    assert!(matches!(result, Err(AuthError::InvalidJwt(_))));
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn rotated_key_is_picked_up_after_refresh() {
    let server = JwksServer::start(&[tokens::ES_A_JWK]).await;
    let auth = support::authenticator(support::eager_refresh(support::jwks_config(&server)));
    auth.verify_token(&es_a_token()).await.unwrap();

    server.set_keys(&[tokens::ES_A_JWK, tokens::ES_B_JWK]);
    let rotated = tokens::es256(&tokens::user_claims(), tokens::ES_B_PEM, "es-b");
    let caller = auth.verify_token(&rotated).await.unwrap();

    assert_eq!(caller.db_role, DbRole::Authenticated);
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn concurrent_callers_share_one_fetch() {
    let server = JwksServer::start(&[tokens::ES_A_JWK]).await;
    server.set_delay(Duration::from_millis(150));
    let auth = support::authenticator(support::eager_refresh(support::jwks_config(&server)));
    let token = es_a_token();

    let verifications = (0..16).map(|_| {
        let auth = auth.clone();
        let token = token.clone();
        tokio::spawn(async move { auth.verify_token(&token).await })
    });
    for verification in verifications.collect::<Vec<_>>() {
        verification.await.unwrap().unwrap();
    }

    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn fetch_failure_keeps_the_previous_keys() {
    let server = JwksServer::start(&[tokens::ES_A_JWK]).await;
    server.set_cache_control("max-age=0");
    let auth = support::authenticator(support::eager_refresh(support::jwks_config(&server)));
    auth.verify_token(&es_a_token()).await.unwrap();

    server.set_failing(true);
    let caller = auth.verify_token(&es_a_token()).await.unwrap();

    assert_eq!(caller.db_role, DbRole::Authenticated);
    assert_eq!(
        server.hits(),
        2,
        "the stale set was refreshed, and the failure tolerated"
    );
}

#[tokio::test]
async fn no_keys_and_a_failed_fetch_is_keys_unavailable() {
    let server = JwksServer::start(&[tokens::ES_A_JWK]).await;
    server.set_failing(true);
    let auth = support::authenticator(support::jwks_config(&server));

    let error = auth.verify_token(&es_a_token()).await.unwrap_err();

    assert!(matches!(error, AuthError::KeysUnavailable));
    assert_eq!(error.public_message(), "Invalid JWT");
    assert_eq!(error.sb_error_code(), "UNAUTHORIZED_ASYMMETRIC_JWT");
}

#[tokio::test]
async fn failed_fetches_are_rate_limited_too() {
    let server = JwksServer::start(&[tokens::ES_A_JWK]).await;
    server.set_failing(true);
    let auth = support::authenticator(support::jwks_config(&server));

    for _ in 0..3 {
        let result = auth.verify_token(&es_a_token()).await;
        assert!(matches!(result, Err(AuthError::KeysUnavailable)));
    }

    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn a_document_that_is_not_a_jwks_counts_as_a_failed_fetch() {
    let server = JwksServer::start(&[]).await;
    server.set_document(json!({ "not": "keys" }));
    let auth = support::authenticator(support::jwks_config(&server));

    let result = auth.verify_token(&es_a_token()).await;

    assert!(matches!(result, Err(AuthError::KeysUnavailable)));
}

#[tokio::test]
async fn one_unusable_key_does_not_spoil_the_set() {
    let server = JwksServer::start(&[]).await;
    let es_a: serde_json::Value = serde_json::from_str(tokens::ES_A_JWK).unwrap();
    let strange = json!({ "kty": "XYZ", "kid": "odd" });
    server.set_document(json!({ "keys": [strange, es_a] }));
    let auth = support::authenticator(support::jwks_config(&server));

    assert!(auth.verify_token(&es_a_token()).await.is_ok());
}

#[tokio::test]
async fn asymmetric_token_without_a_jwks_url_is_keys_unavailable() {
    let auth = support::authenticator(AuthConfig::new(Some(support::secret()), None, None));

    let result = auth.verify_token(&es_a_token()).await;

    assert!(matches!(result, Err(AuthError::KeysUnavailable)));
}

#[tokio::test]
async fn expired_es256_token_is_refused_as_asymmetric() {
    let server = JwksServer::start(&[tokens::ES_A_JWK]).await;
    let auth = support::authenticator(support::jwks_config(&server));
    let claims = tokens::with(tokens::user_claims(), "exp", json!(tokens::now() - 600));

    let error = auth
        .verify_token(&tokens::es256(&claims, tokens::ES_A_PEM, "es-a"))
        .await
        .unwrap_err();

    assert!(matches!(error, AuthError::InvalidJwt(_)));
    assert_eq!(error.sb_error_code(), "UNAUTHORIZED_ASYMMETRIC_JWT");
}
