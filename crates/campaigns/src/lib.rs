//! Campaigns: the validated write path. Every function here takes the caller's transaction, so
//! whether a write is allowed is decided by RLS, not by this code.

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

#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error(transparent)]
    Db(#[from] DbError),
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
