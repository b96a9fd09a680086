//! Campaigns: the validated write path. Every function here takes the caller's transaction, so
//! whether a write is allowed is decided by RLS, not by this code.

pub mod audiences;
pub mod contacts;
mod fields;
pub mod import;
pub mod patch;
pub mod preview;
pub mod templates;
pub mod unsubscribe;
pub mod validate;

use chrono::{DateTime, Utc};
use gimbal_db::DbError;
use serde::{Deserialize, Serialize};
use tokio_postgres::{Row, Transaction};
use utoipa::ToSchema;
use uuid::Uuid;

pub use validate::{Channel, FieldError};

/// Input of `POST /functions/v1/campaigns`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCampaign {
    /// 1–200 characters.
    pub name: String,
    /// `sms` or `email`.
    pub channel: String,
    pub template_id: Option<Uuid>,
    pub audience_id: Option<Uuid>,
    /// When to start sending; must be in the future.
    pub send_at: Option<DateTime<Utc>>,
    /// Sender: an E.164 number or Messaging Service SID for SMS, an address for email.
    pub from_address: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub settings: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Campaign {
    pub id: Uuid,
    pub name: String,
    pub channel: String,
    pub status: String,
    pub template_id: Option<Uuid>,
    pub audience_id: Option<Uuid>,
    pub send_at: Option<DateTime<Utc>>,
    pub from_address: Option<String>,
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Why a validated write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// No such row visible to the caller.
    #[error("not found")]
    NotFound,
    /// The caller sees the row but RLS does not let them change it.
    #[error("the caller may not change this row")]
    Forbidden,
    /// The row is in a state that forbids the change (e.g. a running campaign).
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The campaign write path's error (the same as every other write's).
pub type CampaignError = WriteError;

/// Input of `PATCH /functions/v1/campaigns/{id}`: absent fields stay, `null` clears.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignPatch {
    pub name: Option<String>,
    pub channel: Option<String>,
    #[serde(default, deserialize_with = "patch::nullable")]
    #[schema(value_type = Option<Uuid>)]
    pub template_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    #[schema(value_type = Option<Uuid>)]
    pub audience_id: Option<Option<Uuid>>,
    /// Setting it schedules a draft; clearing it returns a scheduled campaign to draft.
    #[serde(default, deserialize_with = "patch::nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub send_at: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub from_address: Option<Option<String>>,
    #[schema(value_type = Option<Object>)]
    pub settings: Option<serde_json::Value>,
}

/// Statuses in which a campaign may still be edited: once it runs (or ran), what was sent must
/// stay explainable by what the campaign says.
const EDITABLE: [&str; 2] = ["draft", "scheduled"];

/// Deletes row `id` of `table` as the caller: `NotFound` when they cannot see it, `Forbidden`
/// when they can but RLS refuses the delete.
pub(crate) async fn delete_visible(
    tx: &Transaction<'_>,
    table: &'static str,
    id: Uuid,
) -> Result<(), WriteError> {
    let deleted = tx
        .execute(&format!("delete from public.{table} where id = $1"), &[&id])
        .await
        .map_err(DbError::from)?;
    if deleted == 1 {
        return Ok(());
    }
    visible_or_not_found(tx, table, id).await?;
    Err(WriteError::Forbidden)
}

/// `Ok` when row `id` of `table` is visible to the caller, else `NotFound`.
pub(crate) async fn visible_or_not_found(
    tx: &Transaction<'_>,
    table: &'static str,
    id: Uuid,
) -> Result<(), WriteError> {
    let visible = tx
        .query_opt(
            &format!("select 1 from public.{table} where id = $1"),
            &[&id],
        )
        .await
        .map_err(DbError::from)?;
    visible.map(|_| ()).ok_or(WriteError::NotFound)
}

const COLUMNS: &str = "id, name, channel, status, template_id, audience_id, send_at, from_address, \
                       settings, created_by, created_at, updated_at";

/// Creates a draft campaign owned by the caller (`created_by` defaults to `auth.uid()`).
pub async fn create(tx: &Transaction<'_>, input: &NewCampaign) -> Result<Campaign, CampaignError> {
    let valid = validate::new_campaign(input, Utc::now())?;
    let status = if valid.send_at.is_some() {
        "scheduled"
    } else {
        "draft"
    };
    let sql = format!(
        "insert into public.campaigns
           (name, channel, status, template_id, audience_id, send_at, from_address, settings)
         values ($1, $2, $3, $4, $5, $6, $7, $8)
         returning {COLUMNS}"
    );
    let row = tx
        .query_one(
            &sql,
            &[
                &valid.name,
                &valid.channel.as_str(),
                &status,
                &input.template_id,
                &input.audience_id,
                &valid.send_at,
                &valid.from_address,
                &valid.settings,
            ],
        )
        .await
        .map_err(DbError::from)?;
    Ok(from_row(&row))
}

/// Deletes a campaign the caller may delete; `false` when no such row is visible to them
/// (RLS filters deletes silently, exactly as it filters reads).
pub async fn delete(tx: &Transaction<'_>, id: Uuid) -> Result<bool, CampaignError> {
    let deleted = tx
        .execute("delete from public.campaigns where id = $1", &[&id])
        .await
        .map_err(DbError::from)?;
    Ok(deleted == 1)
}

/// Updates a draft or scheduled campaign; a running (or finished) one answers `Conflict`.
pub async fn update(
    tx: &Transaction<'_>,
    id: Uuid,
    input: &CampaignPatch,
) -> Result<Campaign, WriteError> {
    let sql = format!("select {COLUMNS} from public.campaigns where id = $1");
    let row = tx.query_opt(&sql, &[&id]).await.map_err(DbError::from)?;
    let current = row.as_ref().map(from_row).ok_or(WriteError::NotFound)?;
    if !EDITABLE.contains(&current.status.as_str()) {
        return Err(WriteError::Conflict(format!(
            "campaign {id} is {} and can no longer be edited",
            current.status
        )));
    }
    let merged = NewCampaign {
        name: input.name.clone().unwrap_or(current.name),
        channel: input.channel.clone().unwrap_or(current.channel),
        template_id: patch::apply(current.template_id, &input.template_id),
        audience_id: patch::apply(current.audience_id, &input.audience_id),
        send_at: patch::apply(current.send_at, &input.send_at),
        from_address: patch::apply(current.from_address, &input.from_address),
        settings: Some(input.settings.clone().unwrap_or(current.settings)),
    };
    // An unchanged send_at that has passed is the scheduler's business, not a new error.
    let now = match (input.send_at, current.send_at) {
        (None, Some(at)) => at - chrono::Duration::seconds(1),
        _ => Utc::now(),
    };
    let valid = validate::new_campaign(&merged, now)?;
    check_template_channel(tx, merged.template_id, valid.channel).await?;
    let status = if valid.send_at.is_some() {
        "scheduled"
    } else {
        "draft"
    };
    // The status guard makes a concurrent start win: the edit then fails instead of
    // changing a campaign that is already sending.
    let sql = format!(
        "update public.campaigns set name = $2, channel = $3, status = $4, template_id = $5,
                audience_id = $6, send_at = $7, from_address = $8, settings = $9
         where id = $1 and status = any($10)
         returning {COLUMNS}"
    );
    let updated = tx
        .query_opt(
            &sql,
            &[
                &id,
                &valid.name,
                &valid.channel.as_str(),
                &status,
                &merged.template_id,
                &merged.audience_id,
                &valid.send_at,
                &valid.from_address,
                &valid.settings,
                &EDITABLE.as_slice(),
            ],
        )
        .await
        .map_err(DbError::from)?;
    if let Some(row) = updated {
        return Ok(from_row(&row));
    }
    let status: Option<String> = tx
        .query_opt("select status from public.campaigns where id = $1", &[&id])
        .await
        .map_err(DbError::from)?
        .map(|r| r.get(0));
    match status {
        Some(s) if !EDITABLE.contains(&s.as_str()) => Err(WriteError::Conflict(format!(
            "campaign {id} is {s} and can no longer be edited"
        ))),
        Some(_) => Err(WriteError::Forbidden),
        None => Err(WriteError::NotFound),
    }
}

/// A campaign's template must exist for the caller and be for the campaign's channel.
async fn check_template_channel(
    tx: &Transaction<'_>,
    template_id: Option<Uuid>,
    channel: Channel,
) -> Result<(), WriteError> {
    let Some(template_id) = template_id else {
        return Ok(());
    };
    let row = tx
        .query_opt(
            "select channel from public.templates where id = $1",
            &[&template_id],
        )
        .await
        .map_err(DbError::from)?;
    match row.map(|r| r.get::<_, String>(0)) {
        None => Err(validate::err("template_id", "no such template").into()),
        Some(c) if c != channel.as_str() => Err(validate::err(
            "template_id",
            format!("is a {c} template; the campaign is {}", channel.as_str()),
        )
        .into()),
        Some(_) => Ok(()),
    }
}

fn from_row(row: &Row) -> Campaign {
    Campaign {
        id: row.get("id"),
        name: row.get("name"),
        channel: row.get("channel"),
        status: row.get("status"),
        template_id: row.get("template_id"),
        audience_id: row.get("audience_id"),
        send_at: row.get("send_at"),
        from_address: row.get("from_address"),
        settings: row.get("settings"),
        created_by: row.get("created_by"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}
