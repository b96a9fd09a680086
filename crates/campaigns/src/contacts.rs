//! Contacts: validated writes as the caller (users and admins write; only admins delete).
//! Phone numbers are normalised to E.164 (numbers without a country code are read in the
//! `region` given, else the `default_phone_region` setting, else US); emails are lower-cased
//! and checked; time zones must be IANA names. Setting a consent to granted or denied needs
//! its source, records the time, and leaves a `contact_consents` row as evidence.

use chrono::{DateTime, Utc};
use gimbal_db::DbError;
use phonenumber::country;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_postgres::{Row, Transaction};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    WriteError, fields,
    patch::{self, nullable},
    validate::err,
};

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContact {
    pub email: Option<String>,
    /// As written; stored in E.164.
    pub phone: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// IANA zone, for quiet hours.
    pub time_zone: Option<String>,
    pub locale: Option<String>,
    /// Custom attributes (`{{attributes.<key>}}` in templates).
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<Value>,
    /// `granted`, `denied` or `unknown`.
    pub sms_consent: Option<String>,
    /// How consent was captured (required with granted/denied).
    pub sms_consent_source: Option<String>,
    pub email_consent: Option<String>,
    pub email_consent_source: Option<String>,
    /// Region for a phone number without country code (`US`, `GB`).
    pub region: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactPatch {
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub last_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub time_zone: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub locale: Option<Option<String>>,
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<Value>,
    pub sms_consent: Option<String>,
    pub sms_consent_source: Option<String>,
    pub email_consent: Option<String>,
    pub email_consent_source: Option<String>,
    pub region: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Contact {
    pub id: Uuid,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub time_zone: Option<String>,
    pub locale: Option<String>,
    #[schema(value_type = Object)]
    pub attributes: Value,
    pub sms_consent: String,
    pub sms_consent_source: Option<String>,
    pub sms_consent_at: Option<DateTime<Utc>>,
    pub email_consent: String,
    pub email_consent_source: Option<String>,
    pub email_consent_at: Option<DateTime<Utc>>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, email, phone, first_name, last_name, time_zone, locale, attributes, \
    sms_consent, sms_consent_source, sms_consent_at, email_consent, email_consent_source, \
    email_consent_at, created_by, created_at, updated_at";

fn from_row(row: &Row) -> Contact {
    Contact {
        id: row.get("id"),
        email: row.get("email"),
        phone: row.get("phone"),
        first_name: row.get("first_name"),
        last_name: row.get("last_name"),
        time_zone: row.get("time_zone"),
        locale: row.get("locale"),
        attributes: row.get("attributes"),
        sms_consent: row.get("sms_consent"),
        sms_consent_source: row.get("sms_consent_source"),
        sms_consent_at: row.get("sms_consent_at"),
        email_consent: row.get("email_consent"),
        email_consent_source: row.get("email_consent_source"),
        email_consent_at: row.get("email_consent_at"),
        created_by: row.get("created_by"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

/// The region for numbers without a country code: `explicit` (validated), else the
/// `default_phone_region` setting, else US.
pub async fn phone_region(
    tx: &Transaction<'_>,
    field: &'static str,
    explicit: Option<&str>,
) -> Result<country::Id, WriteError> {
    if let Some(code) = explicit.filter(|c| !c.trim().is_empty()) {
        return Ok(fields::region(field, code)?);
    }
    let setting: Option<String> = tx
        .query_opt(
            "select value #>> '{}' from public.app_settings where key = 'default_phone_region'",
            &[],
        )
        .await
        .map_err(DbError::from)?
        .and_then(|r| r.get(0));
    Ok(setting
        .and_then(|code| fields::region(field, &code).ok())
        .unwrap_or(country::Id::US))
}

fn optional_text(
    field: &'static str,
    value: Option<String>,
    max: usize,
) -> Result<Option<String>, WriteError> {
    let value = value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    if value.as_ref().is_some_and(|v| v.chars().count() > max) {
        return Err(err(field, format!("must be at most {max} characters")).into());
    }
    Ok(value)
}

/// A contact's fields, validated and normalised.
pub(crate) struct ValidContact {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub time_zone: Option<String>,
    pub locale: Option<String>,
    pub attributes: Value,
}

pub(crate) struct ConsentChange {
    pub channel: &'static str,
    pub status: &'static str,
    pub source: String,
}

fn valid_contact(input: &NewContact, region: country::Id) -> Result<ValidContact, WriteError> {
    let v = valid_fields(input, region)?;
    require_address(&v)?;
    Ok(v)
}

fn require_address(v: &ValidContact) -> Result<(), WriteError> {
    if v.email.is_none() && v.phone.is_none() {
        return Err(err(
            "email",
            "a contact needs an email address or a phone number",
        )
        .into());
    }
    Ok(())
}

fn valid_fields(input: &NewContact, region: country::Id) -> Result<ValidContact, WriteError> {
    let email = optional_text("email", input.email.clone(), 254)?
        .map(|e| fields::email("email", &e))
        .transpose()?;
    let phone = optional_text("phone", input.phone.clone(), 40)?
        .map(|p| fields::phone("phone", &p, region))
        .transpose()?;
    let time_zone = optional_text("time_zone", input.time_zone.clone(), 64)?
        .map(|z| fields::time_zone("time_zone", &z))
        .transpose()?;
    let locale = optional_text("locale", input.locale.clone(), 35)?;
    if let Some(l) = &locale
        && !l
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(err("locale", "must be a language tag such as en-US").into());
    }
    let attributes = input
        .attributes
        .clone()
        .unwrap_or_else(|| Value::Object(Default::default()));
    if !attributes.is_object() {
        return Err(err("attributes", "must be a JSON object").into());
    }
    Ok(ValidContact {
        email,
        phone,
        first_name: optional_text("first_name", input.first_name.clone(), 200)?,
        last_name: optional_text("last_name", input.last_name.clone(), 200)?,
        time_zone,
        locale,
        attributes,
    })
}

fn consent_changes(
    sms: (Option<&str>, Option<&str>),
    email: (Option<&str>, Option<&str>),
) -> Result<Vec<ConsentChange>, WriteError> {
    let mut changes = Vec::new();
    let specs = [
        ("sms", "sms_consent", "sms_consent_source", sms),
        ("email", "email_consent", "email_consent_source", email),
    ];
    for (channel, field, source_field, (status, source)) in specs {
        let Some(status) = status else { continue };
        let status = fields::consent(field, status)?;
        if status == "unknown" {
            continue;
        }
        let source = source
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                err(
                    source_field,
                    "is required when consent is granted or denied",
                )
            })?;
        if source.chars().count() > 200 {
            return Err(err(source_field, "must be at most 200 characters").into());
        }
        changes.push(ConsentChange {
            channel,
            status,
            source: source.to_string(),
        });
    }
    Ok(changes)
}

/// Records consent changes on contact `id`, with a `contact_consents` row for each that
/// actually changes the stored state.
pub(crate) async fn record_consents(
    tx: &Transaction<'_>,
    id: Uuid,
    changes: &[ConsentChange],
    captured_at: DateTime<Utc>,
    evidence: &Value,
) -> Result<(), WriteError> {
    for change in changes {
        let sql = format!(
            "with changed as (
               update public.contacts set {ch}_consent = $2, {ch}_consent_source = $3,
                                          {ch}_consent_at = $4
               where id = $1 and {ch}_consent is distinct from $2
               returning id
             )
             insert into public.contact_consents (contact_id, channel, status, source, captured_at, evidence)
             select id, $5, $6, $3, $4, $7 from changed",
            ch = change.channel
        );
        let record_status = if change.status == "granted" {
            "granted"
        } else {
            "revoked"
        };
        tx.execute(
            &sql,
            &[
                &id,
                &change.status,
                &change.source,
                &captured_at,
                &change.channel,
                &record_status,
                evidence,
            ],
        )
        .await
        .map_err(DbError::from)?;
    }
    Ok(())
}

pub async fn create(tx: &Transaction<'_>, input: &NewContact) -> Result<Contact, WriteError> {
    let region = phone_region(tx, "region", input.region.as_deref()).await?;
    let v = valid_contact(input, region)?;
    let consents = consent_changes(
        (
            input.sms_consent.as_deref(),
            input.sms_consent_source.as_deref(),
        ),
        (
            input.email_consent.as_deref(),
            input.email_consent_source.as_deref(),
        ),
    )?;
    let row = tx
        .query_one(
            "insert into public.contacts (email, phone, first_name, last_name, time_zone, locale, attributes)
             values ($1, $2, $3, $4, $5, $6, $7) returning id",
            &[&v.email, &v.phone, &v.first_name, &v.last_name, &v.time_zone, &v.locale, &v.attributes],
        )
        .await
        .map_err(DbError::from)?;
    let id: Uuid = row.get(0);
    record_consents(
        tx,
        id,
        &consents,
        Utc::now(),
        &serde_json::json!({"via": "contacts"}),
    )
    .await?;
    get(tx, id).await?.ok_or(WriteError::NotFound)
}

pub async fn get(tx: &Transaction<'_>, id: Uuid) -> Result<Option<Contact>, WriteError> {
    let sql = format!("select {COLUMNS} from public.contacts where id = $1");
    let row = tx.query_opt(&sql, &[&id]).await.map_err(DbError::from)?;
    Ok(row.as_ref().map(from_row))
}

pub async fn update(
    tx: &Transaction<'_>,
    id: Uuid,
    input: &ContactPatch,
) -> Result<Contact, WriteError> {
    let current = get(tx, id).await?.ok_or(WriteError::NotFound)?;
    let region = phone_region(tx, "region", input.region.as_deref()).await?;
    // Only what the patch sets is validated: stored addresses passed the table's checks
    // when written and stay as they are.
    let merged = NewContact {
        email: input.email.clone().flatten(),
        phone: input.phone.clone().flatten(),
        first_name: patch::apply(current.first_name, &input.first_name),
        last_name: patch::apply(current.last_name, &input.last_name),
        time_zone: patch::apply(current.time_zone, &input.time_zone),
        locale: patch::apply(current.locale, &input.locale),
        attributes: Some(input.attributes.clone().unwrap_or(current.attributes)),
        ..NewContact::default()
    };
    let mut v = valid_fields(&merged, region)?;
    if input.email.is_none() {
        v.email = current.email;
    }
    if input.phone.is_none() {
        v.phone = current.phone;
    }
    require_address(&v)?;
    let consents = consent_changes(
        (
            input.sms_consent.as_deref(),
            input.sms_consent_source.as_deref(),
        ),
        (
            input.email_consent.as_deref(),
            input.email_consent_source.as_deref(),
        ),
    )?;
    let updated = tx
        .execute(
            "update public.contacts set email = $2, phone = $3, first_name = $4, last_name = $5,
                    time_zone = $6, locale = $7, attributes = $8
             where id = $1",
            &[
                &id,
                &v.email,
                &v.phone,
                &v.first_name,
                &v.last_name,
                &v.time_zone,
                &v.locale,
                &v.attributes,
            ],
        )
        .await
        .map_err(DbError::from)?;
    if updated == 0 {
        return Err(WriteError::Forbidden);
    }
    record_consents(
        tx,
        id,
        &consents,
        Utc::now(),
        &serde_json::json!({"via": "contacts"}),
    )
    .await?;
    get(tx, id).await?.ok_or(WriteError::NotFound)
}

pub async fn delete(tx: &Transaction<'_>, id: Uuid) -> Result<(), WriteError> {
    crate::delete_visible(tx, "contacts", id).await
}

/// Normalises one imported row (see [`crate::import`]); errors name the CSV column.
pub(crate) fn import_row(
    input: &NewContact,
    region: country::Id,
) -> Result<(ValidContact, Vec<ConsentChange>), WriteError> {
    let v = valid_contact(input, region)?;
    let consents = consent_changes(
        (
            input.sms_consent.as_deref(),
            input.sms_consent_source.as_deref(),
        ),
        (
            input.email_consent.as_deref(),
            input.email_consent_source.as_deref(),
        ),
    )?;
    Ok((v, consents))
}
