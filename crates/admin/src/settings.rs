//! Company settings as a typed schema over `public.app_settings` (one JSON value per key).
//! Keys are the ones the demo seed and the campaign code already use (`company_name`,
//! `company_postal_address`, `default_time_zone`, `quiet_hours`, `rate_limit.sms`,
//! `rate_limit.email`) plus the retention periods. Every write is validated here first (an
//! error names the key, or the key and its member, e.g. `quiet_hours.start`); whether the
//! caller may write at all is the table's policy (admins), decided in the caller's transaction.

use std::collections::BTreeMap;

use gimbal_db::{DbError, Transaction};
use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<tokio_postgres::Error> for SettingsError {
    fn from(err: tokio_postgres::Error) -> Self {
        SettingsError::Db(err.into())
    }
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> SettingsError {
    SettingsError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// A key of the schema: its description and its default (None: no default, unset until an
/// admin sets it).
struct Key {
    name: &'static str,
    description: &'static str,
    default: fn() -> Option<Value>,
    validate: fn(&str, &Value) -> Result<Value, SettingsError>,
}

const KEYS: &[Key] = &[
    Key {
        name: "company_name",
        description: "sender name shown in messages and footers",
        default: || None,
        validate: |k, v| text(k, v, 200),
    },
    Key {
        name: "company_postal_address",
        description: "physical postal address required in marketing email footers",
        default: || None,
        validate: |k, v| text(k, v, 500),
    },
    Key {
        name: "default_time_zone",
        description: "zone used for contacts without one and for schedules",
        default: || Some(json!("UTC")),
        validate: time_zone,
    },
    Key {
        name: "quiet_hours",
        description: "messages are only sent between start and end, recipient local time",
        default: || Some(json!({"start": "08:00", "end": "21:00"})),
        validate: quiet_hours,
    },
    Key {
        name: "rate_limit.sms",
        description: "sms sends per second per sender",
        default: || Some(json!({"per_second": 1, "burst": 5})),
        validate: rate_limit,
    },
    Key {
        name: "rate_limit.email",
        description: "email sends per second",
        default: || Some(json!({"per_second": 10, "burst": 50})),
        validate: rate_limit,
    },
    Key {
        name: "retention.audit_logs_days",
        description: "days audit log entries are kept before the daily purge removes them",
        default: || Some(json!(30)),
        validate: |k, v| whole_number(k, v, 1, 3650),
    },
];

/// Every setting with its current value (or default); keys without either are `null`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SettingsView {
    #[schema(value_type = Object)]
    pub settings: BTreeMap<String, Value>,
}

/// Reads every known setting the caller may see, defaults filled in.
pub async fn read(tx: &Transaction<'_>) -> Result<SettingsView, SettingsError> {
    let names: Vec<&str> = KEYS.iter().map(|k| k.name).collect();
    let rows = tx
        .query(
            "select key, value from public.app_settings where key = any($1)",
            &[&names],
        )
        .await?;
    let stored: BTreeMap<String, Value> = rows
        .iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, Value>(1)))
        .collect();
    let settings = KEYS
        .iter()
        .map(|k| {
            let value = stored
                .get(k.name)
                .cloned()
                .or_else(|| (k.default)())
                .unwrap_or(Value::Null);
            (k.name.to_string(), value)
        })
        .collect();
    Ok(SettingsView { settings })
}

/// Validates every key of `changes` (all or nothing), then writes them as the caller.
pub async fn write(
    tx: &Transaction<'_>,
    changes: &Map<String, Value>,
) -> Result<SettingsView, SettingsError> {
    let valid = validate(changes)?;
    for (key, value, description) in &valid {
        tx.execute(
            "insert into public.app_settings (key, value, description) values ($1, $2, $3)
             on conflict (key) do update set value = excluded.value
             where app_settings.value is distinct from excluded.value",
            &[key, value, description],
        )
        .await?;
    }
    read(tx).await
}

/// The checked values, normalised (trimmed text), with each key's description.
pub fn validate(
    changes: &Map<String, Value>,
) -> Result<Vec<(String, Value, &'static str)>, SettingsError> {
    if changes.is_empty() {
        return Err(invalid("settings", "give at least one setting to change"));
    }
    changes
        .iter()
        .map(|(name, value)| {
            let key = KEYS.iter().find(|k| k.name == name).ok_or_else(|| {
                invalid(
                    name.clone(),
                    format!(
                        "is not a setting (known: {})",
                        KEYS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
                    ),
                )
            })?;
            Ok((name.clone(), (key.validate)(name, value)?, key.description))
        })
        .collect()
}

fn text(key: &str, value: &Value, max: usize) -> Result<Value, SettingsError> {
    let s = value
        .as_str()
        .map(str::trim)
        .ok_or_else(|| invalid(key, "must be a string"))?;
    if s.is_empty() || s.chars().count() > max {
        return Err(invalid(key, format!("must be 1 to {max} characters")));
    }
    Ok(json!(s))
}

fn time_zone(key: &str, value: &Value) -> Result<Value, SettingsError> {
    let s = value
        .as_str()
        .ok_or_else(|| invalid(key, "must be a string"))?;
    s.parse::<chrono_tz::Tz>().map_err(|_| {
        invalid(
            key,
            format!("{s:?} is not an IANA time zone such as \"Europe/Paris\""),
        )
    })?;
    Ok(json!(s))
}

fn object<'v>(
    key: &str,
    value: &'v Value,
    members: &[&str],
) -> Result<&'v Map<String, Value>, SettingsError> {
    let map = value.as_object().ok_or_else(|| {
        invalid(
            key,
            format!("must be an object with {}", members.join(", ")),
        )
    })?;
    for name in map.keys() {
        if !members.contains(&name.as_str()) {
            return Err(invalid(
                format!("{key}.{name}"),
                "is not a member of this setting",
            ));
        }
    }
    for name in members {
        if !map.contains_key(*name) {
            return Err(invalid(format!("{key}.{name}"), "is required"));
        }
    }
    Ok(map)
}

fn clock(field: String, value: &Value) -> Result<(u32, u32), SettingsError> {
    let parsed = value.as_str().and_then(|s| {
        let (h, m) = s.split_once(':')?;
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (s.len() == 5 && h < 24 && m < 60).then_some((h, m))
    });
    parsed.ok_or_else(|| invalid(field, "must be a time of day as \"HH:MM\" (24-hour)"))
}

fn quiet_hours(key: &str, value: &Value) -> Result<Value, SettingsError> {
    let map = object(key, value, &["start", "end"])?;
    let start = clock(format!("{key}.start"), &map["start"])?;
    let end = clock(format!("{key}.end"), &map["end"])?;
    if start == end {
        return Err(invalid(format!("{key}.end"), "must differ from start"));
    }
    Ok(value.clone())
}

fn rate_limit(key: &str, value: &Value) -> Result<Value, SettingsError> {
    let map = object(key, value, &["per_second", "burst"])?;
    let per_second = map["per_second"]
        .as_f64()
        .filter(|n| *n > 0.0 && *n <= 10_000.0)
        .ok_or_else(|| {
            invalid(
                format!("{key}.per_second"),
                "must be a number above 0, at most 10000",
            )
        })?;
    whole_number(&format!("{key}.burst"), &map["burst"], 1, 100_000)?;
    Ok(json!({ "per_second": per_second, "burst": map["burst"] }))
}

fn whole_number(field: &str, value: &Value, min: i64, max: i64) -> Result<Value, SettingsError> {
    value
        .as_i64()
        .filter(|n| (min..=max).contains(n))
        .map(|n| json!(n))
        .ok_or_else(|| invalid(field, format!("must be a whole number from {min} to {max}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(changes: Value) -> String {
        match validate(changes.as_object().unwrap()) {
            Err(SettingsError::Invalid { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn valid_settings_pass_and_are_normalised() {
        let valid = validate(
            json!({
                "company_name": "  Acme  ",
                "default_time_zone": "Europe/Paris",
                "quiet_hours": {"start": "09:00", "end": "20:30"},
                "rate_limit.sms": {"per_second": 2, "burst": 10},
                "retention.audit_logs_days": 90
            })
            .as_object()
            .unwrap(),
        )
        .unwrap();
        assert_eq!(valid.len(), 5);
        assert!(
            valid
                .iter()
                .any(|(k, v, _)| k == "company_name" && v == "Acme")
        );
    }

    #[test]
    fn each_wrong_value_names_its_field() {
        assert_eq!(field(json!({"colour": "red"})), "colour");
        assert_eq!(field(json!({"company_name": ""})), "company_name");
        assert_eq!(
            field(json!({"company_postal_address": 5})),
            "company_postal_address"
        );
        assert_eq!(
            field(json!({"default_time_zone": "CEST"})),
            "default_time_zone"
        );
        assert_eq!(
            field(json!({"quiet_hours": {"start": "25:00", "end": "08:00"}})),
            "quiet_hours.start"
        );
        assert_eq!(
            field(json!({"quiet_hours": {"start": "08:00"}})),
            "quiet_hours.end"
        );
        assert_eq!(
            field(json!({"quiet_hours": {"start": "08:00", "end": "08:00"}})),
            "quiet_hours.end"
        );
        assert_eq!(
            field(json!({"rate_limit.email": {"per_second": 0, "burst": 1}})),
            "rate_limit.email.per_second"
        );
        assert_eq!(
            field(json!({"rate_limit.email": {"per_second": 1, "burst": 1.5}})),
            "rate_limit.email.burst"
        );
        assert_eq!(
            field(json!({"retention.audit_logs_days": 0})),
            "retention.audit_logs_days"
        );
        assert_eq!(field(json!({})), "settings");
    }
}
