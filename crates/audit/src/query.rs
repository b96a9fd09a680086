//! Reading the audit log: filters (table, actor, action, kind, time range), keyset paging
//! newest first, and the CSV export. Every query runs in the caller's transaction, so the
//! audit_logs policy (admins read) decides what comes back.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use gimbal_db::{DbError, Transaction};
use serde::Serialize;
use serde_json::Value;
use tokio_postgres::Row;
use utoipa::ToSchema;
use uuid::Uuid;

/// Entries per page of the streamed CSV export.
pub const CSV_EXPORT_PAGE: i64 = 1_000;
const DEFAULT_PAGE: i64 = 100;
const MAX_PAGE: i64 = 1_000;

#[derive(Debug, thiserror::Error)]
pub enum AuditQueryError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error(transparent)]
    Db(#[from] DbError),
}

fn invalid(field: &str, message: impl Into<String>) -> AuditQueryError {
    AuditQueryError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// What to read. Built from the query string with [`AuditFilter::from_query`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuditFilter {
    pub table: Option<String>,
    pub actor: Option<Uuid>,
    pub action: Option<String>,
    pub kind: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Keyset paging: entries with an id below this one (the previous page's `next_before`).
    pub before: Option<i64>,
    pub limit: i64,
}

impl AuditFilter {
    /// Parses `table, actor, action, kind, from, to, before, limit`; an unknown parameter or a
    /// malformed value is an error naming it.
    pub fn from_query(params: &HashMap<String, String>) -> Result<Self, AuditQueryError> {
        let mut filter = AuditFilter {
            limit: DEFAULT_PAGE,
            ..Default::default()
        };
        for (key, value) in params {
            let value = value.trim();
            match key.as_str() {
                "table" => filter.table = Some(identifier("table", value)?),
                "actor" => {
                    filter.actor = Some(
                        value
                            .parse()
                            .map_err(|_| invalid("actor", "must be a user id (uuid)"))?,
                    )
                }
                "action" => filter.action = Some(non_empty("action", value)?),
                "kind" => match value {
                    "data" | "security" => filter.kind = Some(value.into()),
                    _ => return Err(invalid("kind", "must be \"data\" or \"security\"")),
                },
                "from" => filter.from = Some(timestamp("from", value)?),
                "to" => filter.to = Some(timestamp("to", value)?),
                "before" => {
                    filter.before = Some(
                        value
                            .parse()
                            .map_err(|_| invalid("before", "must be an entry id"))?,
                    )
                }
                "limit" => {
                    filter.limit = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_PAGE).contains(n))
                        .ok_or_else(|| invalid("limit", format!("must be 1 to {MAX_PAGE}")))?
                }
                // the response format is the function's business, not the filter's.
                "format" => {}
                other => return Err(invalid(other, "is not a filter of the audit log")),
            }
        }
        if let (Some(from), Some(to)) = (filter.from, filter.to)
            && from >= to
        {
            return Err(invalid("to", "must be after from"));
        }
        Ok(filter)
    }
}

fn identifier(field: &str, value: &str) -> Result<String, AuditQueryError> {
    let ok = !value.is_empty()
        && value.len() <= 63
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    ok.then(|| value.to_string())
        .ok_or_else(|| invalid(field, "must be a table name"))
}

fn non_empty(field: &str, value: &str) -> Result<String, AuditQueryError> {
    if value.is_empty() || value.len() > 200 {
        Err(invalid(field, "must be 1 to 200 characters"))
    } else {
        Ok(value.to_string())
    }
}

fn timestamp(field: &str, value: &str) -> Result<DateTime<Utc>, AuditQueryError> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| invalid(field, "must be an RFC 3339 time, e.g. 2026-01-31T00:00:00Z"))
}

/// One audit log entry.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor_role: Option<String>,
    /// `insert`, `update`, `delete` for data changes; a dotted name for security events.
    pub action: String,
    pub table_name: Option<String>,
    pub row_id: Option<String>,
    /// Inserts and deletes: the row; updates: `{"column": {"old": …, "new": …}}` for the
    /// changed columns only. Credentials read `[redacted]`.
    #[schema(value_type = Option<Object>)]
    pub changed_fields: Option<Value>,
    /// `data` or `security`.
    pub kind: String,
    #[schema(value_type = Option<Object>)]
    pub details: Option<Value>,
    pub request_id: Option<String>,
}

const SELECT: &str = "select id, occurred_at, actor_id, actor_role, action, table_name, row_id,
                             changed_fields, kind, details, request_id
                      from public.audit_logs
                      where ($1::text is null or table_name = $1)
                        and ($2::uuid is null or actor_id = $2)
                        and ($3::text is null or action = $3)
                        and ($4::text is null or kind = $4)
                        and ($5::timestamptz is null or occurred_at >= $5)
                        and ($6::timestamptz is null or occurred_at < $6)
                        and ($7::bigint is null or id < $7)
                      order by id desc
                      limit $8";

async fn fetch(
    tx: &Transaction<'_>,
    f: &AuditFilter,
    limit: i64,
) -> Result<Vec<AuditEntry>, DbError> {
    let rows = tx
        .query(
            SELECT,
            &[
                &f.table, &f.actor, &f.action, &f.kind, &f.from, &f.to, &f.before, &limit,
            ],
        )
        .await?;
    Ok(rows.iter().map(entry).collect())
}

/// One page, newest first.
pub async fn list(tx: &Transaction<'_>, f: &AuditFilter) -> Result<Vec<AuditEntry>, DbError> {
    fetch(tx, f, f.limit).await
}

/// The CSV header row of the export.
pub fn csv_header() -> Vec<u8> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(CSV_COLUMNS)
        .expect("writing to memory cannot fail");
    out.into_inner().expect("writing to memory cannot fail")
}

const CSV_COLUMNS: [&str; 11] = [
    "id",
    "occurred_at",
    "actor_id",
    "actor_role",
    "action",
    "table_name",
    "row_id",
    "changed_fields",
    "kind",
    "details",
    "request_id",
];

/// One page of the export: up to [`CSV_EXPORT_PAGE`] entries matching `f` with ids below
/// `before`, newest first, as CSV rows (no header). Returns the rows and the `before` of the
/// next page (`None` after the last). The export streams page after page, each in a
/// transaction of its own, so memory stays bounded by one page whatever the range; entries
/// written after the export began have higher ids and never appear in it.
pub async fn csv_page(
    tx: &Transaction<'_>,
    f: &AuditFilter,
    before: Option<i64>,
) -> Result<(Vec<u8>, Option<i64>), DbError> {
    let page = AuditFilter {
        before,
        ..f.clone()
    };
    let entries = fetch(tx, &page, CSV_EXPORT_PAGE).await?;
    let mut out = csv::Writer::from_writer(Vec::new());
    for e in &entries {
        out.write_record([
            e.id.to_string(),
            e.occurred_at.to_rfc3339(),
            e.actor_id.map(|a| a.to_string()).unwrap_or_default(),
            e.actor_role.clone().unwrap_or_default(),
            e.action.clone(),
            e.table_name.clone().unwrap_or_default(),
            e.row_id.clone().unwrap_or_default(),
            json_cell(&e.changed_fields),
            e.kind.clone(),
            json_cell(&e.details),
            e.request_id.clone().unwrap_or_default(),
        ])
        .map_err(|e| DbError::Other(e.to_string()))?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| DbError::Other(e.to_string()))?;
    let next = (entries.len() as i64 == CSV_EXPORT_PAGE)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    Ok((bytes, next))
}

fn json_cell(value: &Option<Value>) -> String {
    value.as_ref().map(Value::to_string).unwrap_or_default()
}

fn entry(row: &Row) -> AuditEntry {
    AuditEntry {
        id: row.get("id"),
        occurred_at: row.get("occurred_at"),
        actor_id: row.get("actor_id"),
        actor_role: row.get("actor_role"),
        action: row.get("action"),
        table_name: row.get("table_name"),
        row_id: row.get("row_id"),
        changed_fields: row.get("changed_fields"),
        kind: row.get("kind"),
        details: row.get("details"),
        request_id: row.get("request_id"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn field_of(result: Result<AuditFilter, AuditQueryError>) -> String {
        match result {
            Err(AuditQueryError::Invalid { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn filters_parse_and_default_the_page_size() {
        let f = AuditFilter::from_query(&params(&[
            ("table", "campaigns"),
            ("kind", "data"),
            ("from", "2026-01-01T00:00:00Z"),
            ("format", "csv"),
        ]))
        .unwrap();
        assert_eq!(f.table.as_deref(), Some("campaigns"));
        assert_eq!(f.kind.as_deref(), Some("data"));
        assert_eq!(f.limit, 100);
    }

    #[test]
    fn malformed_filters_name_the_parameter() {
        assert_eq!(
            field_of(AuditFilter::from_query(&params(&[("actor", "bob")]))),
            "actor"
        );
        assert_eq!(
            field_of(AuditFilter::from_query(&params(&[("kind", "x")]))),
            "kind"
        );
        assert_eq!(
            field_of(AuditFilter::from_query(&params(&[("limit", "0")]))),
            "limit"
        );
        assert_eq!(
            field_of(AuditFilter::from_query(&params(&[("from", "yesterday")]))),
            "from"
        );
        assert_eq!(
            field_of(AuditFilter::from_query(&params(&[("table", "x; drop")]))),
            "table"
        );
        assert_eq!(
            field_of(AuditFilter::from_query(&params(&[("colour", "red")]))),
            "colour"
        );
        assert_eq!(
            field_of(AuditFilter::from_query(&params(&[
                ("from", "2026-02-01T00:00:00Z"),
                ("to", "2026-01-01T00:00:00Z")
            ]))),
            "to"
        );
    }
}
