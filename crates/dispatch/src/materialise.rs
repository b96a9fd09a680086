//! Turning a campaign's audience into message rows, once.
//!
//! Recipients are the audience's contacts with an address for the channel and consent
//! `granted` for it, minus the suppression list — one set-based query, read in keyset pages
//! so a million recipients never sit in memory. Each page is rendered
//! (strictly: a recipient whose data leaves a variable without value or default becomes a
//! `failed` row with `render_failed`, never a message with a hole) and inserted with one
//! `unnest` statement. SMS rows get the recipient's zone and, when outside quiet hours, the
//! instant the next window opens (`not_before`), and the segments their body takes.
//!
//! The campaign's `stats` gain the progress counters the run then keeps: `queued` (messages
//! not yet settled: waiting or in flight), `deferred` (messages put off to the recipient's next
//! sending window, counted each time) and, for SMS, `segments` (of every message queued).
//!
//! One run at a time materialises a campaign (an advisory lock); the chunks it writes commit
//! one by one so the campaign's senders start on the first chunk while the rest is rendered.
//! `materialised_at` in the campaign's stats marks the end; until then no run completes the
//! campaign. A crash part way is repaired by the next run (see [`materialise`]).

use chrono::{DateTime, Utc};
use gimbal_campaigns::unsubscribe::{UnsubscribeClaim, link};
use gimbal_db::{Pool, Transaction};
use gimbal_templates::Template;
use serde_json::{Value, json};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::{
    DispatchConfig, DispatchError, Dispatcher, control::Prepared, quiet_hours::zone_or,
    settings::Settings,
};

pub const CONTACT_COLUMNS: &str =
    "c.id, c.email, c.phone, c.first_name, c.last_name, c.locale, c.time_zone, c.attributes";

#[derive(Debug, Clone, Default)]
pub struct Contact {
    pub id: Option<Uuid>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub locale: Option<String>,
    pub time_zone: Option<String>,
    pub attributes: Value,
}

impl Contact {
    pub fn from_row(row: &Row) -> Self {
        Contact {
            id: row.get(0),
            email: row.get(1),
            phone: row.get(2),
            first_name: row.get(3),
            last_name: row.get(4),
            locale: row.get(5),
            time_zone: row.get(6),
            attributes: row.get(7),
        }
    }
}

/// The values of a template's variables for one recipient.
pub struct Vars<'a> {
    pub contact: &'a Contact,
    pub settings: &'a Settings,
    pub unsubscribe_url: &'a str,
}

impl Vars<'_> {
    pub fn get(&self, name: &str) -> Option<String> {
        let c = self.contact;
        match name {
            "first_name" => c.first_name.clone(),
            "last_name" => c.last_name.clone(),
            "email" => c.email.clone(),
            "phone" => c.phone.clone(),
            "locale" => c.locale.clone(),
            "time_zone" => c.time_zone.clone(),
            "company_name" => self.settings.company_name.clone(),
            "company_postal_address" => self.settings.company_postal_address.clone(),
            "unsubscribe_url" => Some(self.unsubscribe_url.to_string()),
            other => {
                let key = other.strip_prefix("attributes.")?;
                match c.attributes.get(key)? {
                    Value::Null => None,
                    Value::String(s) => Some(s.clone()),
                    v => Some(v.to_string()),
                }
            }
        }
    }

    pub fn render(&self, template: &Template) -> Result<String, gimbal_templates::TemplateError> {
        template.render(&|name| self.get(name))
    }
}

/// A signed link to the `unsubscribe` function for this address.
pub fn unsubscribe_link(
    config: &DispatchConfig,
    channel: &str,
    address: &str,
    campaign_id: Option<Uuid>,
) -> String {
    let claim = UnsubscribeClaim {
        channel: channel.to_string(),
        address: address.to_string(),
        campaign_id,
        issued_at: Utc::now().timestamp(),
    };
    link(&config.unsubscribe_url(), &config.unsubscribe_key, &claim)
}

/// Counts of who was left out, stored on the campaign's `stats`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Audience {
    pub members: i64,
    pub no_address: i64,
    pub no_consent: i64,
    pub suppressed: i64,
}

/// Whether the campaign's recipients are all materialised.
pub async fn is_done(tx: &Transaction<'_>, campaign_id: Uuid) -> Result<bool, DispatchError> {
    Ok(tx
        .query_opt(
            "select stats ? 'materialised_at' from public.campaigns where id = $1",
            &[&campaign_id],
        )
        .await?
        .is_none_or(|r| r.get(0)))
}

/// Takes the campaign's materialisation lock for the rest of `tx` if nobody holds it.
pub async fn try_lock(tx: &Transaction<'_>, campaign_id: Uuid) -> Result<bool, DispatchError> {
    Ok(tx
        .query_one(
            "select pg_try_advisory_xact_lock(hashtext('gimbal.materialise'), hashtext($1::text))",
            &[&campaign_id.to_string()],
        )
        .await?
        .get(0))
}

/// Materialises the recipients of `campaign_id` unless that is done, or being done by another
/// run. Returns whether this call did it.
///
/// The audience is read in keyset pages, in a transaction that holds the campaign's
/// materialisation lock; each rendered chunk is inserted and counted in its own transaction
/// on a second connection, so senders can claim the first messages while the rest are still
/// being rendered. A crash part way leaves committed chunks behind and no `materialised_at`:
/// the next run reads the audience again and the unique (campaign, contact) index turns the
/// rows it already has into no-ops, so nobody gets two messages and every count is counted
/// once (only rows actually inserted are counted).
pub async fn materialise(
    pool: &Pool,
    config: &DispatchConfig,
    campaign_id: Uuid,
    audience_id: Uuid,
    channel: &str,
    prepared: &Prepared,
    settings: &Settings,
) -> Result<bool, DispatchError> {
    let mut reader = pool.get().await?;
    let tx = Dispatcher::service(&mut reader, "dispatch/materialise").await?;
    if !try_lock(&tx, campaign_id).await? || is_done(&tx, campaign_id).await? {
        return Ok(false);
    }
    let audience = count_audience(&tx, audience_id, channel).await?;
    let (address, consent) = columns(channel);
    // keyset pages, each its own statement: no snapshot is held between them, so the rows the
    // senders claim and record meanwhile can be cleaned up as they go
    let sql = format!(
        "select {CONTACT_COLUMNS}
         from public.audience_contacts ac
         join public.contacts c on c.id = ac.contact_id
         where ac.audience_id = $1 and ac.contact_id > $3
           and c.{address} is not null and c.{consent} = 'granted'
           and not exists (select 1 from public.suppressions s
                           where s.channel = $2 and s.address = {normalised})
         order by ac.contact_id
         limit $4",
        normalised = normalised(channel),
    );
    let statement = tx.prepare(&sql).await?;
    let page_size = config.materialise_page.max(1);
    let limit = i64::try_from(page_size).unwrap_or(i64::MAX);
    let page = |after: Uuid| {
        let statement = &statement;
        let tx = &tx;
        async move {
            tx.query(statement, &[&audience_id, &channel, &after, &limit])
                .await
        }
    };
    let mut rows = page(Uuid::nil()).await?;
    while !rows.is_empty() {
        let after: Uuid = rows[rows.len() - 1].get(0);
        let last = rows.len() < page_size;
        let batch = render_chunk(config, campaign_id, channel, prepared, settings, &rows);
        // the next page is read while this one is written
        let (written, next) =
            tokio::join!(write_chunk(pool, campaign_id, channel, &batch), async {
                if last {
                    Ok(Vec::new())
                } else {
                    page(after).await
                }
            });
        written?;
        rows = next?;
    }
    let stats = json!({
        "audience": audience.members,
        "no_address": audience.no_address,
        "no_consent": audience.no_consent,
        "suppressed": audience.suppressed,
    });
    // the counts and the mark commit with the release of the lock
    tx.execute(
        "select app_private.add_campaign_stats($1, $2)",
        &[&campaign_id, &stats],
    )
    .await?;
    tx.execute(
        "update public.campaigns set stats = stats || jsonb_build_object('materialised_at', clock_timestamp())
         where id = $1",
        &[&campaign_id],
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Inserts one rendered chunk and adds what was actually inserted to the campaign's counters,
/// in one transaction.
async fn write_chunk(
    pool: &Pool,
    campaign_id: Uuid,
    channel: &str,
    batch: &Chunk,
) -> Result<(), DispatchError> {
    let mut client = pool.get().await?;
    let tx = Dispatcher::service(&mut client, "dispatch/materialise").await?;
    let new = insert_chunk(&tx, campaign_id, channel, batch).await?;
    let mut stats = json!({
        "recipients": new.queued,
        "render_failed": new.failed,
        "failed": new.failed,
        "queued": new.queued,
        "deferred": new.deferred,
    });
    if channel == "sms" {
        stats["segments"] = json!(new.segments);
    }
    tx.execute(
        "select app_private.add_campaign_stats($1, $2)",
        &[&campaign_id, &stats],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

fn columns(channel: &str) -> (&'static str, &'static str) {
    if channel == "sms" {
        ("phone", "sms_consent")
    } else {
        ("email", "email_consent")
    }
}

fn normalised(channel: &str) -> &'static str {
    if channel == "sms" {
        "c.phone"
    } else {
        "lower(c.email)"
    }
}

async fn count_audience(
    tx: &Transaction<'_>,
    audience_id: Uuid,
    channel: &str,
) -> Result<Audience, DispatchError> {
    let (address, consent) = columns(channel);
    let sql = format!(
        "select count(*),
                count(*) filter (where c.{address} is null),
                count(*) filter (where c.{address} is not null and c.{consent} <> 'granted'),
                count(*) filter (where c.{address} is not null and c.{consent} = 'granted'
                  and exists (select 1 from public.suppressions s
                              where s.channel = $2 and s.address = {normalised}))
         from public.audience_contacts ac join public.contacts c on c.id = ac.contact_id
         where ac.audience_id = $1",
        normalised = normalised(channel),
    );
    let row = tx.query_one(&sql, &[&audience_id, &channel]).await?;
    Ok(Audience {
        members: row.get(0),
        no_address: row.get(1),
        no_consent: row.get(2),
        suppressed: row.get(3),
    })
}

#[derive(Default)]
struct Chunk {
    contact_ids: Vec<Uuid>,
    to: Vec<String>,
    subjects: Vec<Option<String>>,
    bodies: Vec<String>,
    htmls: Vec<Option<String>>,
    zones: Vec<Option<String>>,
    not_before: Vec<Option<DateTime<Utc>>>,
    statuses: Vec<&'static str>,
    errors: Vec<Option<String>>,
    /// SMS segments of each rendered body (`None` for email and for render failures).
    segments: Vec<Option<i32>>,
}

fn render_chunk(
    config: &DispatchConfig,
    campaign_id: Uuid,
    channel: &str,
    prepared: &Prepared,
    settings: &Settings,
    rows: &[Row],
) -> Chunk {
    let now = Utc::now();
    let mut chunk = Chunk::default();
    for row in rows {
        let contact = Contact::from_row(row);
        let address = if channel == "sms" {
            contact.phone.clone().unwrap_or_default()
        } else {
            contact.email.clone().unwrap_or_default().to_lowercase()
        };
        let unsubscribe = unsubscribe_link(config, channel, &address, Some(campaign_id));
        let vars = Vars {
            contact: &contact,
            settings,
            unsubscribe_url: &unsubscribe,
        };
        let rendered = (|| {
            Ok::<_, gimbal_templates::TemplateError>((
                prepared
                    .subject
                    .as_ref()
                    .map(|s| vars.render(s))
                    .transpose()?,
                vars.render(&prepared.body)?,
                prepared.html.as_ref().map(|h| vars.render(h)).transpose()?,
            ))
        })();
        let (subject, body, html, status, error) = match rendered {
            Ok((s, b, h)) => (s, b, h, "queued", None),
            Err(e) => (None, String::new(), None, "failed", Some(e.to_string())),
        };
        let zone = zone_or(contact.time_zone.as_deref(), settings.default_time_zone);
        let at = settings.window.next_allowed(now, zone);
        let sms_queued = channel == "sms" && status == "queued";
        chunk
            .segments
            .push(sms_queued.then(|| crate::sms_segments(&body)).flatten());
        chunk.contact_ids.push(contact.id.unwrap_or_default());
        chunk.to.push(address);
        chunk.subjects.push(subject);
        chunk.bodies.push(body);
        chunk.htmls.push(html);
        chunk.zones.push(Some(zone.name().to_string()));
        chunk
            .not_before
            .push((channel == "sms" && at > now).then_some(at));
        chunk.statuses.push(status);
        chunk.errors.push(error);
    }
    chunk
}

/// What a chunk's insert added: only rows that were new count.
struct Inserted {
    queued: i64,
    failed: i64,
    /// Queued rows that wait for the recipient's sending window.
    deferred: i64,
    /// SMS segments of the queued rows.
    segments: i64,
}

/// Inserts a chunk.
async fn insert_chunk(
    tx: &Transaction<'_>,
    campaign_id: Uuid,
    channel: &str,
    c: &Chunk,
) -> Result<Inserted, DispatchError> {
    let statuses: Vec<&str> = c.statuses.clone();
    let sql = if channel == "sms" {
        "insert into public.sms_messages
           (campaign_id, contact_id, to_phone, body, status, error_code, error_message,
            recipient_time_zone, not_before, segments)
         select $1, v.contact_id, v.to_phone, v.body, v.status,
                case when v.error is not null then 'render_failed' end, v.error, v.zone, v.not_before,
                v.segments
         from unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                     $8::timestamptz[], $9::int4[])
           as v (contact_id, to_phone, body, status, error, zone, not_before, segments)
         on conflict do nothing
         returning status, not_before, segments"
    } else {
        "insert into public.email_messages
           (campaign_id, contact_id, to_email, subject, body, html_body, status, error_code,
            error_message)
         select $1, v.contact_id, v.to_email, v.subject, v.body, v.html, v.status,
                case when v.error is not null then 'render_failed' end, v.error
         from unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                     $8::text[])
           as v (contact_id, to_email, body, status, error, subject, html)
         on conflict do nothing
         returning status, null::timestamptz as not_before, null::int4 as segments"
    };
    let sql = format!(
        "with inserted as ({sql})
         select count(*) filter (where status = 'queued'),
                count(*) filter (where status = 'failed'),
                count(*) filter (where status = 'queued' and not_before is not null),
                coalesce(sum(segments) filter (where status = 'queued'), 0)::bigint
         from inserted"
    );
    let row = if channel == "sms" {
        tx.query_one(
            &sql,
            &[
                &campaign_id,
                &c.contact_ids,
                &c.to,
                &c.bodies,
                &statuses,
                &c.errors,
                &c.zones,
                &c.not_before,
                &c.segments,
            ],
        )
        .await?
    } else {
        tx.query_one(
            &sql,
            &[
                &campaign_id,
                &c.contact_ids,
                &c.to,
                &c.bodies,
                &statuses,
                &c.errors,
                &c.subjects,
                &c.htmls,
            ],
        )
        .await?
    };
    Ok(Inserted {
        queued: row.get(0),
        failed: row.get(1),
        deferred: row.get(2),
        segments: row.get(3),
    })
}
