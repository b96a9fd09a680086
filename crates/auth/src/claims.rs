//! What a verified claims object means: which roles a token may carry, what an
//! `authenticated` token must also prove, and the [`Caller`] built from it.

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{
    caller::Caller,
    roles::{AppRole, DbRole},
};

/// Builds the caller from claims whose signature and times are already checked.
/// The error is a reason for logs.
pub(crate) fn caller_from_claims(claims: Value, audience: &str) -> Result<Caller, String> {
    let object = claims.as_object().ok_or("claims are not a JSON object")?;
    let role = role(object)?;
    if role != DbRole::Authenticated {
        return Ok(Caller::without_user(role, claims));
    }
    if !has_audience(object, audience) {
        return Err(format!("`aud` does not include `{audience}`"));
    }
    let user_id = subject(object)?;
    let email = object
        .get("email")
        .and_then(Value::as_str)
        .filter(|email| !email.is_empty())
        .map(str::to_owned);
    let app_role = AppRole::from_app_metadata(object.get("app_metadata").unwrap_or(&Value::Null));
    Ok(Caller {
        db_role: role,
        user_id: Some(user_id),
        email,
        app_role: Some(app_role),
        claims,
    })
}

fn role(claims: &Map<String, Value>) -> Result<DbRole, String> {
    match claims.get("role").and_then(Value::as_str) {
        Some(role) => DbRole::from_claim(role).ok_or_else(|| {
            let shown: String = role.chars().take(40).collect();
            format!("`role` {shown:?} is not anon, authenticated or service_role")
        }),
        None => Err("`role` claim is missing".to_owned()),
    }
}

fn has_audience(claims: &Map<String, Value>, audience: &str) -> bool {
    match claims.get("aud") {
        Some(Value::String(aud)) => aud == audience,
        Some(Value::Array(auds)) => auds.iter().any(|aud| aud.as_str() == Some(audience)),
        _ => false,
    }
}

fn subject(claims: &Map<String, Value>) -> Result<Uuid, String> {
    claims
        .get("sub")
        .and_then(Value::as_str)
        .and_then(|sub| Uuid::parse_str(sub).ok())
        .ok_or_else(|| "`sub` is not a UUID".to_owned())
}
