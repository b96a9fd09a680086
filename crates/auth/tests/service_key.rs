//! The service-role key as a bearer credential.

use gimbal_auth::{AuthError, Caller, DbRole};
use secrecy::SecretString;

use crate::support;

#[tokio::test]
async fn service_role_key_is_the_service_role() {
    let auth = support::authenticator(support::hs256_config());
    let header = format!("Bearer {}", support::SERVICE_ROLE_KEY);

    let caller = auth.authenticate(Some(&header), None, true).await.unwrap();

    assert!(caller.is_service_role());
    assert_eq!(caller.db_role, DbRole::ServiceRole);
    assert_eq!(caller.claims, Caller::service_role().claims);
}

#[tokio::test]
async fn service_role_key_in_apikey_alone_is_the_service_role() {
    let auth = support::authenticator(support::hs256_config());

    let caller = auth
        .authenticate(None, Some(support::SERVICE_ROLE_KEY), true)
        .await
        .unwrap();

    assert!(caller.is_service_role());
}

#[tokio::test]
async fn a_near_miss_is_not_the_service_role() {
    let auth = support::authenticator(support::hs256_config());
    let mut near_miss = support::SERVICE_ROLE_KEY.to_owned();
    near_miss.pop();
    near_miss.push('2');

    let result = auth.verify_token(&near_miss).await;

    assert!(matches!(result, Err(AuthError::InvalidFormat)));
}

#[tokio::test]
async fn a_legacy_jwt_service_key_is_matched_as_configured() {
    let key = gimbal_auth::mint::api_key(
        &support::secret(),
        DbRole::ServiceRole,
        "local",
        std::time::Duration::from_secs(3600),
    )
    .unwrap();
    let mut config = support::hs256_config();
    config.jwt_secret = None;
    config.service_role_key = Some(SecretString::from(key.clone()));
    let auth = support::authenticator(config);

    let caller = auth.verify_token(&key).await.unwrap();

    assert!(caller.is_service_role());
}

#[test]
fn anon_caller_carries_no_identity() {
    let caller = Caller::anon();

    assert_eq!(caller.db_role, DbRole::Anon);
    assert!(!caller.is_service_role());
    assert_eq!(caller.claims["role"], "anon");
}
