//! What a validly signed token may claim: roles, audience, subject, and the app role.

use gimbal_auth::{AppRole, AuthError, DbRole};
use serde_json::{Value, json};

use crate::support::{self, tokens};

async fn verify(claims: &Value) -> Result<gimbal_auth::Caller, AuthError> {
    let auth = support::authenticator(support::hs256_config());
    auth.verify_token(&tokens::hs256(claims, support::JWT_SECRET.as_bytes()))
        .await
}

#[tokio::test]
async fn database_roles_outside_the_three_are_refused() {
    for role in [
        "postgres",
        "supabase_admin",
        "authenticator",
        "service_role ",
        "",
    ] {
        let claims = tokens::with(tokens::user_claims(), "role", json!(role));
        let result = verify(&claims).await;
        assert!(matches!(result, Err(AuthError::InvalidJwt(_))), "{role:?}");
    }
}

#[tokio::test]
async fn token_without_role_is_refused() {
    let result = verify(&tokens::without(tokens::user_claims(), "role")).await;

    assert!(matches!(result, Err(AuthError::InvalidJwt(_))));
}

#[tokio::test]
async fn role_that_is_not_a_string_is_refused() {
    let claims = tokens::with(tokens::user_claims(), "role", json!(["service_role"]));

    assert!(matches!(
        verify(&claims).await,
        Err(AuthError::InvalidJwt(_))
    ));
}

#[tokio::test]
async fn signed_service_role_token_is_service_role() {
    let claims = json!({
        "iss": "supabase", "ref": "local", "role": "service_role",
        "iat": tokens::now(), "exp": tokens::now() + 60
    });

    let caller = verify(&claims).await.unwrap();

    assert!(caller.is_service_role());
    assert_eq!(caller.app_role, None);
    assert_eq!(caller.claims, claims);
}

#[tokio::test]
async fn anon_key_needs_no_audience() {
    let claims = json!({ "iss": "supabase", "role": "anon", "exp": tokens::now() + 60 });

    let caller = verify(&claims).await.unwrap();

    assert_eq!(caller.db_role, DbRole::Anon);
    assert_eq!(caller.user_id, None);
    assert_eq!(caller.app_role, None);
}

#[tokio::test]
async fn wrong_audience_is_refused() {
    let claims = tokens::with(tokens::user_claims(), "aud", json!("someone-else"));

    assert!(matches!(
        verify(&claims).await,
        Err(AuthError::InvalidJwt(_))
    ));
}

#[tokio::test]
async fn missing_audience_is_refused_for_users() {
    let claims = tokens::without(tokens::user_claims(), "aud");

    assert!(matches!(
        verify(&claims).await,
        Err(AuthError::InvalidJwt(_))
    ));
}

#[tokio::test]
async fn audience_list_containing_authenticated_is_accepted() {
    let claims = tokens::with(
        tokens::user_claims(),
        "aud",
        json!(["other", "authenticated"]),
    );

    assert_eq!(
        verify(&claims).await.unwrap().db_role,
        DbRole::Authenticated
    );
}

#[tokio::test]
async fn configured_audience_is_the_one_required() {
    let mut config = support::hs256_config();
    config.audience = "dashboard".to_owned();
    let auth = support::authenticator(config);
    let token = tokens::hs256(&tokens::user_claims(), support::JWT_SECRET.as_bytes());

    assert!(matches!(
        auth.verify_token(&token).await,
        Err(AuthError::InvalidJwt(_))
    ));
}

#[tokio::test]
async fn user_token_needs_a_uuid_subject() {
    for sub in [json!("admin"), json!(42), Value::Null] {
        let claims = tokens::with(tokens::user_claims(), "sub", sub.clone());
        assert!(
            matches!(verify(&claims).await, Err(AuthError::InvalidJwt(_))),
            "{sub}"
        );
    }
}

#[tokio::test]
async fn user_metadata_role_is_ignored() {
    let claims = tokens::with(
        tokens::user_claims(),
        "user_metadata",
        json!({ "role": "admin" }),
    );
    let claims = tokens::with(claims, "app_metadata", json!({ "provider": "email" }));

    let caller = verify(&claims).await.unwrap();

    assert_eq!(caller.app_role, Some(AppRole::Viewer));
}

#[tokio::test]
async fn app_metadata_role_is_the_app_role() {
    let claims = tokens::with(
        tokens::user_claims(),
        "app_metadata",
        json!({ "role": "admin" }),
    );

    assert_eq!(
        verify(&claims).await.unwrap().app_role,
        Some(AppRole::Admin)
    );
}

#[tokio::test]
async fn unknown_or_missing_app_role_is_viewer() {
    for metadata in [
        json!({ "role": "superuser" }),
        json!({ "role": "Admin" }),
        json!({}),
    ] {
        let claims = tokens::with(tokens::user_claims(), "app_metadata", metadata.clone());
        assert_eq!(
            verify(&claims).await.unwrap().app_role,
            Some(AppRole::Viewer),
            "{metadata}"
        );
    }
    let claims = tokens::without(tokens::user_claims(), "app_metadata");
    assert_eq!(
        verify(&claims).await.unwrap().app_role,
        Some(AppRole::Viewer)
    );
}

#[tokio::test]
async fn empty_email_is_no_email() {
    let claims = tokens::with(tokens::user_claims(), "email", json!(""));

    assert_eq!(verify(&claims).await.unwrap().email, None);
}

#[tokio::test]
async fn claims_are_passed_through_untouched() {
    let claims = tokens::with(
        tokens::user_claims(),
        "custom",
        json!({ "nested": [1, 2, 3] }),
    );

    assert_eq!(verify(&claims).await.unwrap().claims, claims);
}
