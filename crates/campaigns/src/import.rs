//! Contact import from CSV, streamed: [`parse`] reads records with the `csv` crate from any
//! `Read` (the function feeds it the request body as it arrives) on a blocking thread, and
//! validates each into a normalised contact or a row error with its line number; [`apply`]
//! writes the good rows in the caller's transaction in batches of [`BATCH_ROWS`]: one lookup of
//! the existing contacts, one statement that locks those, one that upserts the contacts with
//! their consent and records the consent changes, and one for the audience. Rows of a batch that share an address (or match the same contact) are
//! written in file order, in successive rounds, exactly as one row after the other would be.
//! When the database refuses a batch (an address that belongs to another contact), the batch
//! is written again one savepoint per row, so that row is reported with its line and the rest
//! are kept. Contacts are upserted on email (case-insensitive), then phone: re-importing a
//! file changes nothing twice.
//!
//! Columns (header names are case-insensitive; order is free): `email`, `phone`,
//! `first_name`, `last_name`, `time_zone`, `locale`, `sms_consent`, `email_consent`,
//! `consent_source`, `consent_at`. Any other column becomes a custom attribute.

use std::{
    collections::{HashMap, HashSet},
    io::Read,
};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use gimbal_db::DbError;
use phonenumber::country;
use serde::Serialize;
use serde_json::{Map, Value};
use tokio::sync::mpsc;
use tokio_postgres::Transaction;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    WriteError,
    contacts::{self, ConsentChange, NewContact, ValidContact},
    validate::FieldError,
};

/// How an import reads its rows.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub region: country::Id,
    /// Recorded as the consent source when a row has no `consent_source`.
    pub consent_source: String,
    pub audience_id: Option<Uuid>,
}

/// One row that was not imported.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line of the file where the record starts (the header is line 1).
    pub line: u64,
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ImportReport {
    /// Data rows read.
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub failed: u64,
    /// Contacts newly added to the audience (when one was given).
    pub added_to_audience: u64,
    /// The first errors, in file order.
    pub errors: Vec<RowError>,
    /// True when there were more errors than listed.
    pub errors_truncated: bool,
}

/// What the parser hands to the writer.
pub enum Parsed {
    Row(Box<ParsedRow>),
    Error(RowError),
    /// The file cannot be read on (not CSV, no usable header, too large): nothing is kept.
    Fatal(FieldError),
}

pub struct ParsedRow {
    pub line: u64,
    contact: ValidContact,
    consents: Vec<ConsentChange>,
    consent_at: DateTime<Utc>,
}

const MAX_ERRORS_LISTED: usize = 1000;

/// Rows written per batch.
pub const BATCH_ROWS: usize = 1000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Column {
    Email,
    Phone,
    FirstName,
    LastName,
    TimeZone,
    Locale,
    SmsConsent,
    EmailConsent,
    ConsentSource,
    ConsentAt,
    Attribute,
}

fn column_of(header: &str) -> (Column, String) {
    let key: String = header
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let key = key.trim_matches('_').to_string();
    let column = match key.as_str() {
        "email" | "e_mail" | "email_address" => Column::Email,
        "phone" | "phone_number" | "mobile" | "mobile_phone" | "sms" => Column::Phone,
        "first_name" | "firstname" | "given_name" => Column::FirstName,
        "last_name" | "lastname" | "surname" | "family_name" => Column::LastName,
        "time_zone" | "timezone" | "tz" => Column::TimeZone,
        "locale" | "language" => Column::Locale,
        "sms_consent" => Column::SmsConsent,
        "email_consent" => Column::EmailConsent,
        "consent_source" => Column::ConsentSource,
        "consent_at" | "consent_date" | "consented_at" => Column::ConsentAt,
        _ => Column::Attribute,
    };
    (column, key)
}

fn fatal(message: impl Into<String>) -> Parsed {
    Parsed::Fatal(FieldError {
        field: "file",
        message: message.into(),
    })
}

/// Reads `input` as CSV and sends each record, validated, to `out` (blocking: run it on a
/// blocking thread). Stops early when the receiver is gone.
pub fn parse(input: impl Read, options: &ImportOptions, out: &mpsc::Sender<Parsed>) {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            let _ = out.blocking_send(fatal(format!("cannot read the header row: {e}")));
            return;
        }
    };
    let columns: Vec<(Column, String)> = headers.iter().map(column_of).collect();
    if !columns
        .iter()
        .any(|(c, _)| matches!(c, Column::Email | Column::Phone))
    {
        let _ = out.blocking_send(fatal("the header row needs an email or a phone column"));
        return;
    }
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => return,
            Ok(true) => {
                let line = record.position().map_or(line, |p| p.line());
                let parsed = match row(&columns, &record, options) {
                    Ok(row) => Parsed::Row(Box::new(ParsedRow { line, ..row })),
                    Err(e) => Parsed::Error(RowError {
                        line,
                        field: e.field.to_string(),
                        message: e.message,
                    }),
                };
                if out.blocking_send(parsed).is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = out.blocking_send(fatal(format!("line {line}: {e}")));
                return;
            }
        }
    }
}

fn row(
    columns: &[(Column, String)],
    record: &csv::StringRecord,
    options: &ImportOptions,
) -> Result<ParsedRow, FieldError> {
    let mut input = NewContact::default();
    let mut attributes = Map::new();
    let mut source = None;
    let mut consent_at = None;
    for ((column, key), value) in columns.iter().zip(record.iter()) {
        if value.is_empty() {
            continue;
        }
        let text = value.to_string();
        let value = Some(text.clone());
        match column {
            Column::Email => input.email = value,
            Column::Phone => input.phone = value,
            Column::FirstName => input.first_name = value,
            Column::LastName => input.last_name = value,
            Column::TimeZone => input.time_zone = value,
            Column::Locale => input.locale = value,
            Column::SmsConsent => input.sms_consent = value,
            Column::EmailConsent => input.email_consent = value,
            Column::ConsentSource => source = value,
            Column::ConsentAt => consent_at = value,
            Column::Attribute if !key.is_empty() => {
                attributes.insert(key.clone(), Value::String(text));
            }
            Column::Attribute => {}
        }
    }
    let source = source.unwrap_or_else(|| options.consent_source.clone());
    input.sms_consent_source = Some(source.clone());
    input.email_consent_source = Some(source);
    input.attributes = Some(Value::Object(attributes));
    let consent_at = match consent_at {
        Some(text) => timestamp(&text)?,
        None => Utc::now(),
    };
    let (contact, consents) =
        contacts::import_row(&input, options.region).map_err(|e| match e {
            WriteError::Invalid(f) => f,
            other => FieldError {
                field: "row",
                message: other.to_string(),
            },
        })?;
    Ok(ParsedRow {
        line: 0,
        contact,
        consents,
        consent_at,
    })
}

/// `consent_at`: RFC 3339, `YYYY-MM-DD HH:MM:SS` (UTC) or a date; not in the future.
fn timestamp(text: &str) -> Result<DateTime<Utc>, FieldError> {
    let parsed = DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
                .ok()
                .map(|t| t.and_utc())
        })
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc())
        })
        .ok_or_else(|| FieldError {
            field: "consent_at",
            message: format!("{text:?} is not a date or RFC 3339 time"),
        })?;
    if parsed > Utc::now() + chrono::Duration::minutes(5) {
        return Err(FieldError {
            field: "consent_at",
            message: "is in the future".into(),
        });
    }
    Ok(parsed)
}

const UPSERT: &str = "
with existing as (
  select id from public.contacts
  where ($1::text is not null and lower(email) = $1) or ($2::text is not null and phone = $2)
  order by ($1::text is not null and lower(email) = $1) desc
  limit 1
),
updated as (
  update public.contacts c set
    email = coalesce($1, c.email), phone = coalesce($2, c.phone),
    first_name = coalesce($3, c.first_name), last_name = coalesce($4, c.last_name),
    time_zone = coalesce($5, c.time_zone), locale = coalesce($6, c.locale),
    attributes = c.attributes || $7
  from existing e where c.id = e.id
  returning c.id, false as created
),
inserted as (
  insert into public.contacts (email, phone, first_name, last_name, time_zone, locale, attributes)
  select $1, $2, $3, $4, $5, $6, $7 where not exists (select 1 from existing)
  returning id, true as created
)
select id, created from updated union all select id, created from inserted";

/// Checks that the audience rows will go to is visible to the caller.
pub async fn check_audience(
    tx: &Transaction<'_>,
    options: &ImportOptions,
) -> Result<(), WriteError> {
    if let Some(id) = options.audience_id
        && crate::visible_or_not_found(tx, "audiences", id)
            .await
            .is_err()
    {
        return Err(crate::validate::err("audience_id", "no such audience").into());
    }
    Ok(())
}

/// Writes the rows `parse` sends, as the caller. A refusal by RLS stops the import (nothing is
/// kept: the caller's transaction is not committed); a row the database refuses is reported.
pub async fn apply(
    tx: &mut Transaction<'_>,
    rows: &mut mpsc::Receiver<Parsed>,
    options: &ImportOptions,
) -> Result<ImportReport, WriteError> {
    apply_in_batches(tx, rows, options, BATCH_ROWS).await
}

/// [`apply`] with batches of `batch_rows` (the benchmark compares sizes).
pub async fn apply_in_batches(
    tx: &mut Transaction<'_>,
    rows: &mut mpsc::Receiver<Parsed>,
    options: &ImportOptions,
    batch_rows: usize,
) -> Result<ImportReport, WriteError> {
    let batch_rows = batch_rows.max(1);
    let mut report = ImportReport::default();
    let mut batch = Vec::with_capacity(batch_rows);
    while let Some(parsed) = rows.recv().await {
        match parsed {
            Parsed::Fatal(e) => return Err(e.into()),
            Parsed::Error(e) => {
                report.rows += 1;
                note_error(&mut report, e);
            }
            Parsed::Row(row) => {
                report.rows += 1;
                batch.push(*row);
                if batch.len() == batch_rows {
                    write_batch(tx, std::mem::take(&mut batch), options, &mut report).await?;
                }
            }
        }
    }
    write_batch(tx, batch, options, &mut report).await?;
    // batches report the rows the database refused after the parse errors of later lines
    report.errors.sort_by_key(|e| e.line);
    Ok(report)
}

/// Writes one batch in rounds of rows that touch distinct contacts.
async fn write_batch(
    tx: &mut Transaction<'_>,
    mut rows: Vec<ParsedRow>,
    options: &ImportOptions,
    report: &mut ImportReport,
) -> Result<(), WriteError> {
    while !rows.is_empty() {
        let (round, later) = split_by_address(rows);
        let (round, mut later, ids) = match lookup(tx, round, later).await {
            Ok(found) => found,
            Err(e) => return Err(e),
        };
        let savepoint = tx.savepoint("import_batch").await.map_err(DbError::from)?;
        match write_round(&savepoint, &round, &ids, options).await {
            Ok(done) => {
                savepoint.commit().await.map_err(DbError::from)?;
                report.created += done.created;
                report.updated += done.updated;
                report.added_to_audience += done.added;
            }
            Err(WriteError::Db(DbError::PermissionDenied)) => return Err(WriteError::Forbidden),
            Err(WriteError::Db(DbError::Conflict { .. } | DbError::Check { .. }))
            | Err(WriteError::Forbidden) => {
                savepoint.rollback().await.map_err(DbError::from)?;
                for row in &round {
                    write_one(tx, row, options, report).await?;
                }
            }
            Err(other) => return Err(other),
        }
        later.sort_by_key(|r| r.line);
        rows = later;
    }
    Ok(())
}

/// The rows whose addresses no earlier row of the batch has, and the rest (in file order).
fn split_by_address(rows: Vec<ParsedRow>) -> (Vec<ParsedRow>, Vec<ParsedRow>) {
    let mut seen = HashSet::new();
    let (mut round, mut later) = (Vec::with_capacity(rows.len()), Vec::new());
    for row in rows {
        let keys = [
            row.contact.email.as_ref().map(|e| format!("e:{e}")),
            row.contact.phone.as_ref().map(|p| format!("p:{p}")),
        ];
        let clash = keys.iter().flatten().any(|k| seen.contains(k));
        // a deferred row's addresses count too: a row after it must not overtake it
        seen.extend(keys.into_iter().flatten());
        if clash {
            later.push(row);
        } else {
            round.push(row);
        }
    }
    (round, later)
}

/// The existing contact each row updates (on email, then phone). A row matching a contact an
/// earlier row of the round already matches waits for the next round.
async fn lookup(
    tx: &Transaction<'_>,
    round: Vec<ParsedRow>,
    mut later: Vec<ParsedRow>,
) -> Result<(Vec<ParsedRow>, Vec<ParsedRow>, Vec<Option<Uuid>>), WriteError> {
    let emails: Vec<Option<&str>> = round.iter().map(|r| r.contact.email.as_deref()).collect();
    let phones: Vec<Option<&str>> = round.iter().map(|r| r.contact.phone.as_deref()).collect();
    let found = tx
        .query(
            "select (select c.id from public.contacts c
                     where (v.email is not null and lower(c.email) = v.email)
                        or (v.phone is not null and c.phone = v.phone)
                     order by (v.email is not null and lower(c.email) = v.email) desc
                     limit 1)
             from unnest($1::text[], $2::text[]) with ordinality as v (email, phone, ord)
             order by v.ord",
            &[&emails, &phones],
        )
        .await
        .map_err(DbError::from)?;
    let mut matched = HashSet::new();
    let (mut kept, mut ids) = (
        Vec::with_capacity(round.len()),
        Vec::with_capacity(round.len()),
    );
    for (row, found) in round.into_iter().zip(found) {
        let id: Option<Uuid> = found.get(0);
        if id.is_some_and(|id| !matched.insert(id)) {
            later.push(row);
        } else {
            kept.push(row);
            ids.push(id);
        }
    }
    Ok((kept, later, ids))
}

#[derive(Default)]
struct Written {
    created: u64,
    updated: u64,
    added: u64,
}

/// One round: the existing contacts it matches are locked and their consent read (one
/// statement), then one statement writes the contacts with each row's consent and the consent
/// history for the changes (new contacts get their id here, so membership needs no second
/// lookup), then the audience.
///
/// New contacts are inserted with their consent, so a round writes each contact once. The lock
/// is taken by a statement of its own, so it waits for any writer holding a contact and reads
/// the value that writer committed; the write that follows sees that same value (a new
/// statement, a new snapshot, and the rows are ours until the transaction ends). A change is
/// recorded in the history only when it changes the contact's state, as
/// [`contacts::record_consents`] does for one contact. A contact the row would not change is
/// not written at all (a file imported again costs reads and locks only).
async fn write_round(
    tx: &Transaction<'_>,
    rows: &[ParsedRow],
    existing: &[Option<Uuid>],
    options: &ImportOptions,
) -> Result<Written, WriteError> {
    let matched: Vec<Uuid> = existing.iter().flatten().copied().collect();
    let locked = if matched.is_empty() {
        Vec::new()
    } else {
        tx.query(
            "select id, sms_consent, email_consent from public.contacts
             where id = any($1) for no key update",
            &[&matched],
        )
        .await
        .map_err(DbError::from)?
    };
    if locked.len() != matched.len() {
        // RLS hid a contact the lookup saw (or it went since): let the row-by-row path say which
        return Err(WriteError::Forbidden);
    }
    let was: HashMap<Uuid, (String, String)> = locked
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect();
    let was_sms: Vec<Option<&str>> = existing
        .iter()
        .map(|id| id.and_then(|id| was.get(&id)).map(|w| w.0.as_str()))
        .collect();
    let was_email: Vec<Option<&str>> = existing
        .iter()
        .map(|id| id.and_then(|id| was.get(&id)).map(|w| w.1.as_str()))
        .collect();
    let ids: Vec<Uuid> = existing
        .iter()
        .map(|id| id.unwrap_or_else(Uuid::new_v4))
        .collect();
    let is_new: Vec<bool> = existing.iter().map(Option::is_none).collect();
    let column = |f: fn(&ValidContact) -> &Option<String>| -> Vec<Option<&str>> {
        rows.iter().map(|r| f(&r.contact).as_deref()).collect()
    };
    let consent = |channel: &str| -> (Vec<Option<&str>>, Vec<Option<&str>>) {
        rows.iter()
            .map(|r| {
                r.consents
                    .iter()
                    .find(|c| c.channel == channel)
                    .map(|c| (c.status, c.source.as_str()))
                    .unzip()
            })
            .unzip()
    };
    let (sms_status, sms_source) = consent("sms");
    let (email_status, email_source) = consent("email");
    let consent_at: Vec<DateTime<Utc>> = rows.iter().map(|r| r.consent_at).collect();
    let evidence: Vec<Value> = rows
        .iter()
        .map(|r| serde_json::json!({"via": "csv import", "line": r.line}))
        .collect();
    let attributes: Vec<&Value> = rows.iter().map(|r| &r.contact.attributes).collect();
    let created: i64 = tx
        .query_one(
            "with v as (
               select * from unnest($1::uuid[], $2::bool[], $3::text[], $4::text[], $5::text[],
                                    $6::text[], $7::text[], $8::text[], $9::jsonb[], $10::text[],
                                    $11::text[], $12::text[], $13::text[], $14::timestamptz[],
                                    $15::jsonb[], $16::text[], $17::text[])
                 as v (id, is_new, email, phone, first_name, last_name, time_zone, locale,
                       attributes, sms_status, sms_source, email_status, email_source,
                       consent_at, evidence, was_sms, was_email)
             ),
             updated as (
               update public.contacts c set
                 email = coalesce(v.email, c.email), phone = coalesce(v.phone, c.phone),
                 first_name = coalesce(v.first_name, c.first_name),
                 last_name = coalesce(v.last_name, c.last_name),
                 time_zone = coalesce(v.time_zone, c.time_zone), locale = coalesce(v.locale, c.locale),
                 attributes = c.attributes || v.attributes,
                 sms_consent = coalesce(v.sms_status, c.sms_consent),
                 sms_consent_source = case when v.sms_status <> c.sms_consent
                                           then v.sms_source else c.sms_consent_source end,
                 sms_consent_at = case when v.sms_status <> c.sms_consent
                                       then v.consent_at else c.sms_consent_at end,
                 email_consent = coalesce(v.email_status, c.email_consent),
                 email_consent_source = case when v.email_status <> c.email_consent
                                             then v.email_source else c.email_consent_source end,
                 email_consent_at = case when v.email_status <> c.email_consent
                                         then v.consent_at else c.email_consent_at end
               from v
               where not v.is_new and c.id = v.id
                 -- a row that changes nothing is left alone: no new row version, no audit
                 and (c.email, c.phone, c.first_name, c.last_name, c.time_zone, c.locale,
                      c.attributes, c.sms_consent, c.email_consent)
                     is distinct from
                     (coalesce(v.email, c.email), coalesce(v.phone, c.phone),
                      coalesce(v.first_name, c.first_name), coalesce(v.last_name, c.last_name),
                      coalesce(v.time_zone, c.time_zone), coalesce(v.locale, c.locale),
                      c.attributes || v.attributes, coalesce(v.sms_status, c.sms_consent),
                      coalesce(v.email_status, c.email_consent))
               returning 1
             ),
             inserted as (
               insert into public.contacts (id, email, phone, first_name, last_name, time_zone,
                                            locale, attributes, sms_consent, sms_consent_source,
                                            sms_consent_at, email_consent, email_consent_source,
                                            email_consent_at)
               select id, email, phone, first_name, last_name, time_zone, locale, attributes,
                      coalesce(sms_status, 'unknown'), sms_source,
                      case when sms_status is not null then consent_at end,
                      coalesce(email_status, 'unknown'), email_source,
                      case when email_status is not null then consent_at end
               from v where v.is_new
               returning 1
             ),
             recorded as (
               insert into public.contact_consents (contact_id, channel, status, source,
                                                    captured_at, evidence)
               select v.id, ch.channel,
                      case when ch.status = 'granted' then 'granted' else 'revoked' end,
                      ch.source, v.consent_at, v.evidence
               from v
               cross join lateral (values ('sms', v.sms_status, v.sms_source, v.was_sms),
                                          ('email', v.email_status, v.email_source, v.was_email))
                 as ch (channel, status, source, was)
               where ch.status is not null
                 and ch.status is distinct from coalesce(ch.was, 'unknown')
               returning 1
             )
             -- (data-modifying parts run whether or not the answer reads them)
             select count(*) from inserted",
            &[
                &ids,
                &is_new,
                &column(|c| &c.email),
                &column(|c| &c.phone),
                &column(|c| &c.first_name),
                &column(|c| &c.last_name),
                &column(|c| &c.time_zone),
                &column(|c| &c.locale),
                &attributes,
                &sms_status,
                &sms_source,
                &email_status,
                &email_source,
                &consent_at,
                &evidence,
                &was_sms,
                &was_email,
            ],
        )
        .await
        .map_err(DbError::from)?
        .get(0);
    let added = match options.audience_id {
        Some(audience) => tx
            .execute(
                "insert into public.audience_contacts (audience_id, contact_id)
                 select $1, unnest($2::uuid[])
                 on conflict do nothing",
                &[&audience, &ids],
            )
            .await
            .map_err(DbError::from)?,
        None => 0,
    };
    // `updated` counts the contacts matched (changed or not), as the row-by-row path does
    Ok(Written {
        created: u64::try_from(created).unwrap_or_default(),
        updated: matched.len() as u64,
        added,
    })
}

/// A row written on its own (a batch the database refused): reported when refused again.
async fn write_one(
    tx: &mut Transaction<'_>,
    row: &ParsedRow,
    options: &ImportOptions,
    report: &mut ImportReport,
) -> Result<(), WriteError> {
    match write_row(tx, row, options).await {
        Ok((created, added)) => {
            if created {
                report.created += 1;
            } else {
                report.updated += 1;
            }
            report.added_to_audience += added;
        }
        Err(WriteError::Db(DbError::PermissionDenied)) => return Err(WriteError::Forbidden),
        Err(WriteError::Db(DbError::Conflict { constraint })) => {
            let field = if constraint.contains("phone") {
                "phone"
            } else {
                "email"
            };
            note_error(
                report,
                RowError {
                    line: row.line,
                    field: field.into(),
                    message: format!(
                        "belongs to another contact in this file or the database ({field} matches one contact, the other address another)"
                    ),
                },
            );
        }
        Err(WriteError::Db(DbError::Check { column, .. })) => {
            note_error(
                report,
                RowError {
                    line: row.line,
                    field: column.unwrap_or_else(|| "row".into()),
                    message: "value is not allowed".into(),
                },
            );
        }
        Err(other) => return Err(other),
    }
    Ok(())
}

fn note_error(report: &mut ImportReport, error: RowError) {
    report.failed += 1;
    if report.errors.len() < MAX_ERRORS_LISTED {
        report.errors.push(error);
    } else {
        report.errors_truncated = true;
    }
}

/// One row in its own savepoint: `(created, added_to_audience)`.
async fn write_row(
    tx: &mut Transaction<'_>,
    row: &ParsedRow,
    options: &ImportOptions,
) -> Result<(bool, u64), WriteError> {
    let savepoint = tx.savepoint("import_row").await.map_err(DbError::from)?;
    let c = &row.contact;
    let result = async {
        let upserted = savepoint
            .query_one(
                UPSERT,
                &[
                    &c.email,
                    &c.phone,
                    &c.first_name,
                    &c.last_name,
                    &c.time_zone,
                    &c.locale,
                    &c.attributes,
                ],
            )
            .await
            .map_err(DbError::from)?;
        let id: Uuid = upserted.get(0);
        let created: bool = upserted.get(1);
        let evidence = serde_json::json!({"via": "csv import", "line": row.line});
        contacts::record_consents(&savepoint, id, &row.consents, row.consent_at, &evidence).await?;
        let added = match options.audience_id {
            Some(audience) => savepoint
                .execute(
                    "insert into public.audience_contacts (audience_id, contact_id) values ($1, $2)
                     on conflict do nothing",
                    &[&audience, &id],
                )
                .await
                .map_err(DbError::from)?,
            None => 0,
        };
        Ok::<_, WriteError>((created, added))
    }
    .await;
    match result {
        Ok(done) => {
            savepoint.commit().await.map_err(DbError::from)?;
            Ok(done)
        }
        Err(e) => {
            savepoint.rollback().await.map_err(DbError::from)?;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> ImportOptions {
        ImportOptions {
            region: country::Id::US,
            consent_source: "csv import".into(),
            audience_id: None,
        }
    }

    fn parse_all(csv: &str) -> Vec<Parsed> {
        let (tx, mut rx) = mpsc::channel(1024);
        parse(csv.as_bytes(), &options(), &tx);
        drop(tx);
        let mut out = Vec::new();
        while let Ok(p) = rx.try_recv() {
            out.push(p);
        }
        out
    }

    #[test]
    fn bad_rows_are_reported_with_their_line_and_field() {
        let csv = "Email,Phone,First Name,time_zone,sms_consent,Plan\n\
                   ada@example.com,(415) 555-2671,Ada,Europe/London,yes,pro\n\
                   not-an-email,,Bob,,,\n\
                   ,+1 415,Cy,Mars/Base,,\n\
                   \"multi\nline\"@x.com,,,,,\n\
                   dee@example.com,,Dee,,maybe,\n";
        let parsed = parse_all(csv);
        let errors: Vec<(u64, String)> = parsed
            .iter()
            .filter_map(|p| match p {
                Parsed::Error(e) => Some((e.line, e.field.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(
            errors,
            [
                (3, "email".to_string()),
                (4, "phone".into()),
                (5, "email".into()),
                (7, "sms_consent".into())
            ]
        );
        let Parsed::Row(first) = &parsed[0] else {
            panic!("row 2 is good")
        };
        assert_eq!(first.line, 2);
        assert_eq!(first.contact.phone.as_deref(), Some("+14155552671"));
        assert_eq!(first.contact.attributes["plan"], "pro");
        assert_eq!(first.consents.len(), 1);
        assert_eq!(first.consents[0].source, "csv import");
    }

    #[test]
    fn a_file_without_an_address_column_is_refused() {
        let parsed = parse_all("name,plan\nAda,pro\n");
        assert!(matches!(&parsed[0], Parsed::Fatal(e) if e.field == "file"));
    }

    #[test]
    fn consent_at_is_parsed_and_checked() {
        assert!(timestamp("2024-05-01").is_ok());
        assert!(timestamp("2024-05-01T10:00:00+02:00").is_ok());
        assert_eq!(timestamp("yesterday").unwrap_err().field, "consent_at");
        assert!(timestamp("2999-01-01").is_err());
    }
}
