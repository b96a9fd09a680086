//! Audiences and their members: validated writes as the caller. The contact policies decide
//! who may do what: users and admins create, rename and add members; only admins delete
//! audiences or remove members (removing people from a list is an admin decision, as deleting
//! them is).

use chrono::{DateTime, Utc};
use gimbal_db::DbError;
use serde::{Deserialize, Serialize};
use tokio_postgres::{Row, Transaction};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{WriteError, fields, patch, validate::err};

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAudience {
    /// 1–200 characters.
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AudiencePatch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "patch::nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
}

/// Body of `POST` / `DELETE /functions/v1/audiences/{id}/members`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Members {
    /// 1–10,000 contact ids.
    pub contact_ids: Vec<Uuid>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Audience {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MembersChanged {
    /// Memberships added or removed (already-present or absent ones are not counted).
    pub changed: u64,
}

const COLUMNS: &str = "id, name, description, created_by, created_at, updated_at";
const MAX_MEMBERS_PER_CALL: usize = 10_000;

fn from_row(row: &Row) -> Audience {
    Audience {
        id: row.get("id"),
        name: row.get("name"),
        description: row.get("description"),
        created_by: row.get("created_by"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

fn description(value: Option<String>) -> Result<Option<String>, WriteError> {
    let value = value
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty());
    if value.as_ref().is_some_and(|d| d.chars().count() > 2000) {
        return Err(err("description", "must be at most 2000 characters").into());
    }
    Ok(value)
}

pub async fn create(tx: &Transaction<'_>, input: &NewAudience) -> Result<Audience, WriteError> {
    let name = fields::name("name", &input.name)?;
    let description = description(input.description.clone())?;
    let sql = format!(
        "insert into public.audiences (name, description) values ($1, $2) returning {COLUMNS}"
    );
    let row = tx
        .query_one(&sql, &[&name, &description])
        .await
        .map_err(DbError::from)?;
    Ok(from_row(&row))
}

pub async fn update(
    tx: &Transaction<'_>,
    id: Uuid,
    input: &AudiencePatch,
) -> Result<Audience, WriteError> {
    let sql = format!("select {COLUMNS} from public.audiences where id = $1");
    let current = tx
        .query_opt(&sql, &[&id])
        .await
        .map_err(DbError::from)?
        .as_ref()
        .map(from_row)
        .ok_or(WriteError::NotFound)?;
    let name = fields::name("name", input.name.as_deref().unwrap_or(&current.name))?;
    let description = description(patch::apply(current.description, &input.description))?;
    let sql = format!(
        "update public.audiences set name = $2, description = $3 where id = $1 returning {COLUMNS}"
    );
    let row = tx
        .query_opt(&sql, &[&id, &name, &description])
        .await
        .map_err(DbError::from)?;
    row.as_ref().map(from_row).ok_or(WriteError::Forbidden)
}

pub async fn delete(tx: &Transaction<'_>, id: Uuid) -> Result<(), WriteError> {
    crate::delete_visible(tx, "audiences", id).await
}

fn check_members(input: &Members) -> Result<(), WriteError> {
    if input.contact_ids.is_empty() || input.contact_ids.len() > MAX_MEMBERS_PER_CALL {
        return Err(err(
            "contact_ids",
            format!("must list 1 to {MAX_MEMBERS_PER_CALL} contacts"),
        )
        .into());
    }
    Ok(())
}

/// Adds contacts to an audience; ids the caller cannot see are a 422 naming them.
pub async fn add_members(
    tx: &Transaction<'_>,
    id: Uuid,
    input: &Members,
) -> Result<MembersChanged, WriteError> {
    check_members(input)?;
    crate::visible_or_not_found(tx, "audiences", id).await?;
    let missing: Vec<Uuid> = tx
        .query(
            "select c.id from unnest($1::uuid[]) as c(id)
             where not exists (select 1 from public.contacts k where k.id = c.id)",
            &[&input.contact_ids],
        )
        .await
        .map_err(DbError::from)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if let Some(first) = missing.first() {
        return Err(err(
            "contact_ids",
            format!("{} unknown contact(s), first {first}", missing.len()),
        )
        .into());
    }
    let changed = tx
        .execute(
            "insert into public.audience_contacts (audience_id, contact_id)
             select $1, c from unnest($2::uuid[]) as c
             on conflict do nothing",
            &[&id, &input.contact_ids],
        )
        .await
        .map_err(DbError::from)?;
    Ok(MembersChanged { changed })
}

/// Removes contacts from an audience (admins: RLS refuses anyone else).
pub async fn remove_members(
    tx: &Transaction<'_>,
    id: Uuid,
    input: &Members,
) -> Result<MembersChanged, WriteError> {
    check_members(input)?;
    crate::visible_or_not_found(tx, "audiences", id).await?;
    let present: i64 = tx
        .query_one(
            "select count(*) from public.audience_contacts
             where audience_id = $1 and contact_id = any($2)",
            &[&id, &input.contact_ids],
        )
        .await
        .map_err(DbError::from)?
        .get(0);
    let changed = tx
        .execute(
            "delete from public.audience_contacts where audience_id = $1 and contact_id = any($2)",
            &[&id, &input.contact_ids],
        )
        .await
        .map_err(DbError::from)?;
    if present > 0 && changed == 0 {
        return Err(WriteError::Forbidden);
    }
    Ok(MembersChanged { changed })
}
