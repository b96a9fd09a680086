//! SendGrid Event Webhook batches: each event is recorded once in `message_events` (the
//! `sg_event_id` is the key, so a redelivered batch changes nothing), the message it concerns
//! moves forward (never back) in status with the outcome's timestamp set once, and bounces,
//! spam reports and unsubscribes feed `suppressions` (and revoke the contact's email consent).
//!
//! One statement per batch: the whole batch is inserted, matched and applied set-wise, which is
//! what lets a single host ingest tens of thousands of events a second.

use chrono::{DateTime, Utc};
use gimbal_db::DbError;
use serde::Serialize;
use serde_json::Value;
use tokio_postgres::Transaction;
use uuid::Uuid;

/// One event of a batch, as far as processing needs it (the whole object is kept as payload).
#[derive(Debug, Clone)]
pub struct Event {
    pub event_id: String,
    pub event_type: String,
    pub sg_message_id: Option<String>,
    /// Our `email_messages.id`, from the `message_id` custom arg.
    pub message_id: Option<Uuid>,
    /// From the `campaign_id` custom arg.
    pub campaign_id: Option<Uuid>,
    /// Lower-cased.
    pub email: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    pub payload: Value,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BatchError {
    #[error("the body is not a JSON array of events: {0}")]
    NotAnArray(String),
}

/// What a batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BatchOutcome {
    /// Events in the body.
    pub received: usize,
    /// Events recorded for the first time.
    pub recorded: u64,
    /// Events already recorded (redeliveries), or repeated within the batch.
    pub duplicates: u64,
    /// Events without `sg_event_id` or `event`, which cannot be deduplicated and are skipped.
    pub skipped: usize,
    /// Messages whose status or outcome times changed.
    pub messages_updated: u64,
    /// Addresses newly suppressed.
    pub suppressed: u64,
}

/// Parses a batch body. Events lacking the fields needed to deduplicate them are counted and
/// skipped rather than failing the batch: SendGrid would retry the whole batch for a day.
pub fn parse_batch(body: &[u8]) -> Result<(Vec<Event>, usize), BatchError> {
    let values: Vec<Value> =
        serde_json::from_slice(body).map_err(|e| BatchError::NotAnArray(e.to_string()))?;
    let total = values.len();
    let events: Vec<Event> = values.into_iter().filter_map(event_of).collect();
    let skipped = total - events.len();
    Ok((events, skipped))
}

fn event_of(payload: Value) -> Option<Event> {
    let text = |key: &str| {
        payload
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let uuid = |key: &str| text(key).and_then(|v| v.parse::<Uuid>().ok());
    let event_id = text("sg_event_id")?;
    let event_type = text("event")?;
    let occurred_at = payload
        .get("timestamp")
        .and_then(Value::as_i64)
        .and_then(|t| DateTime::from_timestamp(t, 0));
    Some(Event {
        event_id,
        event_type,
        sg_message_id: text("sg_message_id"),
        message_id: uuid("message_id"),
        campaign_id: uuid("campaign_id"),
        email: text("email").map(|e| e.to_lowercase()),
        occurred_at,
        reason: text("reason"),
        payload,
    })
}

/// Applies a batch on `tx` (a service-role transaction).
/// Applies a batch in its own `service_role` transaction on `conn`, retrying (a few times)
/// when Postgres reports a deadlock: SendGrid posts batches concurrently, and a redelivered
/// event in two batches at once makes them wait on each other's unique keys.
pub async fn ingest(
    conn: &mut gimbal_db::Connection,
    function: &str,
    events: &[Event],
) -> Result<BatchOutcome, DbError> {
    let mut attempt = 1;
    loop {
        let tx = crate::service_transaction(conn, function).await?;
        let result = match apply(&tx, events).await {
            Ok(outcome) => tx.commit().await.map(|()| outcome),
            Err(e) => Err(e),
        };
        match result {
            Ok(outcome) => return Ok(outcome),
            Err(e) if attempt < 6 && retryable(&e) => {
                tracing::warn!(attempt, "event batch deadlocked; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(10 * attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn retryable(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
    })
}

/// Applies a batch on `tx` (a service-role transaction), without retrying.
pub async fn apply_batch(tx: &Transaction<'_>, events: &[Event]) -> Result<BatchOutcome, DbError> {
    Ok(apply(tx, events).await?)
}

async fn apply(
    tx: &Transaction<'_>,
    events: &[Event],
) -> Result<BatchOutcome, tokio_postgres::Error> {
    let mut ids = Vec::with_capacity(events.len());
    let mut types = Vec::with_capacity(events.len());
    let mut sg_ids = Vec::with_capacity(events.len());
    let mut message_ids = Vec::with_capacity(events.len());
    let mut campaign_ids = Vec::with_capacity(events.len());
    let mut emails = Vec::with_capacity(events.len());
    let mut times = Vec::with_capacity(events.len());
    let mut reasons = Vec::with_capacity(events.len());
    let mut payloads = Vec::with_capacity(events.len());
    for e in events {
        ids.push(e.event_id.as_str());
        types.push(e.event_type.as_str());
        sg_ids.push(e.sg_message_id.as_deref());
        message_ids.push(e.message_id);
        campaign_ids.push(e.campaign_id);
        emails.push(e.email.as_deref());
        times.push(e.occurred_at);
        reasons.push(e.reason.as_deref());
        payloads.push(&e.payload);
    }
    let row = tx
        .query_one(
            APPLY_BATCH,
            &[
                &ids,
                &types,
                &sg_ids,
                &message_ids,
                &campaign_ids,
                &emails,
                &times,
                &reasons,
                &payloads,
            ],
        )
        .await?;
    let recorded = row.get::<_, i64>(1) as u64;
    Ok(BatchOutcome {
        received: events.len(),
        recorded,
        duplicates: events.len() as u64 - recorded,
        skipped: 0,
        messages_updated: row.get::<_, i64>(2) as u64,
        suppressed: row.get::<_, i64>(3) as u64,
    })
}

/// The batch, set-wise. `incoming` keeps one row per event id; each event is matched to its
/// message by our id (custom arg), then SendGrid's message id (exactly, then its prefix — the
/// `X-Message-Id` of the send — with the address), then campaign and address; only events
/// inserted now (not redeliveries) change messages, suppressions and consent.
const APPLY_BATCH: &str = "
with incoming as (
  select distinct on (event_id) *
  from unnest($1::text[], $2::text[], $3::text[], $4::uuid[], $5::uuid[], $6::text[],
              $7::timestamptz[], $8::text[], $9::jsonb[])
    as t(event_id, event_type, sg_message_id, custom_message_id, campaign_id, email,
         occurred_at, reason, payload)
),
resolved as (
  select i.*,
         coalesce(
           (select m.id from public.email_messages m where m.id = i.custom_message_id),
           (select m.id from public.email_messages m where m.provider_message_id = i.sg_message_id),
           (select m.id from public.email_messages m
             where m.provider_message_id = split_part(i.sg_message_id, '.', 1)
               and lower(m.to_email) = i.email),
           (select m.id from public.email_messages m
             where m.campaign_id = i.campaign_id and lower(m.to_email) = i.email
             order by m.created_at desc limit 1)
         ) as message_id
  from incoming i
),
inserted as (
  insert into public.message_events
    (channel, provider, provider_event_id, message_id, event_type, payload, occurred_at)
  select 'email', 'sendgrid', event_id, message_id, event_type, payload, occurred_at
  from resolved
  -- one order for every batch: concurrent batches sharing events take their key locks in
  -- the same order.
  order by event_id
  on conflict (provider, provider_event_id) do nothing
  -- what the rest needs comes back from the insert itself: no join of two cte results
  -- (which the planner, blind to their sizes, would make a quadratic nested loop).
  returning message_id, event_type, occurred_at, payload,
            lower(payload ->> 'email') as email, payload ->> 'reason' as reason
),
fresh as (
  select i.*,
         case i.event_type
           when 'processed' then 'sent' when 'deferred' then 'deferred'
           when 'delivered' then 'delivered' when 'open' then 'opened'
           when 'click' then 'clicked' when 'bounce' then 'bounced'
           when 'dropped' then 'dropped' when 'spamreport' then 'spam_report'
           when 'unsubscribe' then 'unsubscribed' when 'group_unsubscribe' then 'unsubscribed'
         end as status
  from inserted i
),
per_message as (
  select message_id,
         (array_agg(status order by app_private.email_status_rank(status) desc))[1] as status,
         min(coalesce(occurred_at, now())) filter (where event_type = 'processed') as sent_at,
         min(coalesce(occurred_at, now())) filter (where event_type = 'delivered') as delivered_at,
         min(coalesce(occurred_at, now())) filter (where event_type in ('open', 'click')) as opened_at,
         min(coalesce(occurred_at, now())) filter (where event_type = 'click') as clicked_at,
         min(coalesce(occurred_at, now())) filter (where event_type = 'bounce') as bounced_at,
         min(coalesce(occurred_at, now())) filter (where event_type = 'dropped') as failed_at,
         min(coalesce(occurred_at, now()))
           filter (where event_type in ('unsubscribe', 'group_unsubscribe')) as unsubscribed_at,
         min(coalesce(occurred_at, now())) filter (where event_type = 'spamreport') as spam_reported_at,
         (array_agg(reason) filter (where event_type in ('bounce', 'dropped') and reason is not null))[1]
           as reason
  from fresh
  where message_id is not null and status is not null
  group by message_id
  -- messages are locked in id order by every batch, so concurrent batches do not deadlock.
  order by message_id
),
updated as (
  update public.email_messages m set
    status = case when app_private.email_status_rank(a.status) > app_private.email_status_rank(m.status)
                  then a.status else m.status end,
    sent_at = coalesce(m.sent_at, a.sent_at, a.delivered_at, a.opened_at, a.bounced_at),
    delivered_at = coalesce(m.delivered_at, a.delivered_at, a.opened_at),
    opened_at = coalesce(m.opened_at, a.opened_at),
    clicked_at = coalesce(m.clicked_at, a.clicked_at),
    bounced_at = coalesce(m.bounced_at, a.bounced_at),
    failed_at = coalesce(m.failed_at, a.failed_at),
    unsubscribed_at = coalesce(m.unsubscribed_at, a.unsubscribed_at),
    spam_reported_at = coalesce(m.spam_reported_at, a.spam_reported_at),
    error_message = coalesce(a.reason, m.error_message)
  from per_message a
  where m.id = a.message_id
  returning m.id
),
opting_out as (
  select distinct on (email) email,
         case event_type when 'bounce' then 'bounce' when 'spamreport' then 'spam_report'
                         else 'unsubscribe' end as reason,
         event_type
  from fresh
  where email ~ '^[^@[:space:]]+@[^@[:space:]]+$'
    and (event_type in ('spamreport', 'unsubscribe', 'group_unsubscribe')
         -- 'blocked' bounces are temporary refusals, not a dead address.
         or (event_type = 'bounce' and coalesce(payload ->> 'type', 'bounce') = 'bounce'))
  order by email, event_type
),
suppressed as (
  insert into public.suppressions (channel, address, reason, source)
  select 'email', email, reason, 'sendgrid:' || event_type from opting_out
  on conflict (channel, address) do nothing
  returning id
),
revoked as (
  update public.contacts c set
    email_consent = 'denied',
    email_consent_source = 'sendgrid:' || o.event_type,
    email_consent_at = now()
  from opting_out o
  where o.reason <> 'bounce' and lower(c.email) = o.email and c.email_consent <> 'denied'
  returning c.id, o.event_type
),
consent_records as (
  insert into public.contact_consents (contact_id, channel, status, source, evidence)
  select id, 'email', 'revoked', 'sendgrid:' || event_type, jsonb_build_object('provider', 'sendgrid')
  from revoked
  returning id
)
-- consent_records runs although nothing reads it: data-modifying ctes always run.
select (select count(*) from incoming),
       (select count(*) from fresh),
       (select count(*) from updated),
       (select count(*) from suppressed)
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_parsed_with_custom_args_and_lowercased_addresses() {
        let id = Uuid::from_u128(5);
        let body = format!(
            r#"[{{"email":"Ada@Example.com","event":"open","sg_event_id":"e1","timestamp":1600000000,"message_id":"{id}","sg_message_id":"abc.filter1"}},
               {{"event":"open","email":"x@y.z"}},
               {{"sg_event_id":"e3","event":"bounce","email":"b@y.z","reason":"550 no such user","campaign_id":"not-a-uuid"}}]"#
        );
        let (events, skipped) = parse_batch(body.as_bytes()).unwrap();
        assert_eq!(skipped, 1);
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].email.as_deref(), Some("ada@example.com"));
        assert_eq!(events[0].message_id, Some(id));
        assert_eq!(events[0].occurred_at.unwrap().timestamp(), 1_600_000_000);
        assert_eq!(events[1].reason.as_deref(), Some("550 no such user"));
        assert_eq!(events[1].campaign_id, None);
    }

    #[test]
    fn a_body_that_is_not_an_array_is_an_error() {
        assert!(parse_batch(br#"{"event":"open"}"#).is_err());
        assert!(parse_batch(b"not json").is_err());
    }
}
