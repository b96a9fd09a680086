//! The role vocabularies and their wire names.

use gimbal_auth::{AppRole, DbRole};
use serde_json::json;

#[test]
fn db_roles_use_postgres_names() {
    assert_eq!(DbRole::Anon.as_str(), "anon");
    assert_eq!(DbRole::Authenticated.as_str(), "authenticated");
    assert_eq!(DbRole::ServiceRole.as_str(), "service_role");
    assert_eq!(
        serde_json::to_value(DbRole::ServiceRole).unwrap(),
        json!("service_role")
    );
}

#[test]
fn app_roles_serialize_lowercase() {
    assert_eq!(
        serde_json::to_value(AppRole::Admin).unwrap(),
        json!("admin")
    );
    assert_eq!(AppRole::Viewer.as_str(), "viewer");
}

#[test]
fn app_role_parsing_is_strict() {
    assert_eq!("user".parse::<AppRole>().unwrap(), AppRole::User);
    for name in ["Admin", " admin", "administrator", ""] {
        assert!(name.parse::<AppRole>().is_err(), "{name:?}");
    }
}

#[test]
fn app_role_comes_from_app_metadata_only() {
    assert_eq!(
        AppRole::from_app_metadata(&json!({ "role": "admin" })),
        AppRole::Admin
    );
    assert_eq!(
        AppRole::from_app_metadata(&json!({ "role": 1 })),
        AppRole::Viewer
    );
    assert_eq!(AppRole::from_app_metadata(&json!(null)), AppRole::Viewer);
}
