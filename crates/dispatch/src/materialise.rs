//! Turning a campaign's audience into message rows, once.
//!
//! Recipients are the audience's contacts with an address for the channel and consent
//! `granted` for it, minus the suppression list — one set-based query, streamed through a
//! portal in chunks so a million recipients never sit in memory. Each chunk is rendered
//! (strictly: a recipient whose data leaves a variable without value or default becomes a
//! `failed` row with `render_failed`, never a message with a hole) and inserted with one
//! `unnest` statement. SMS rows get the recipient's zone and, when outside quiet hours, the
//! instant the next window opens (`not_before`), and the segments their body takes.
//!
//! The campaign's `stats` gain the progress counters the run then keeps: `queued` (messages
//! not yet settled: waiting or in flight), `deferred` (messages put off to the recipient's next
//! sending window, counted each time) and, for SMS, `segments` (of every message queued).
//!
//! The whole pass is one transaction under an advisory lock on the campaign: a second worker
//! waits, then finds it done; a crash rolls it back and the next run starts again.

use chrono::{DateTime, Utc};
use gimbal_campaigns::unsubscribe::{UnsubscribeClaim, link};
use gimbal_db::Transaction;
use gimbal_templates::Template;
use serde_json::{Value, json};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::{
    DispatchConfig, DispatchError, control::Prepared, quiet_hours::zone_or, settings::Settings,
};

/// Rows rendered and inserted per round trip.
const CHUNK: i32 = 5_000;

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

/// Materialises the recipients of `campaign_id` unless already done. Returns whether it did.
pub async fn materialise(
    tx: &Transaction<'_>,
    config: &DispatchConfig,
    campaign_id: Uuid,
    audience_id: Uuid,
    channel: &str,
    prepared: &Prepared,
    settings: &Settings,
) -> Result<bool, DispatchError> {
    tx.execute(
        "select pg_advisory_xact_lock(hashtext('gimbal.materialise'), hashtext($1::text))",
        &[&campaign_id.to_string()],
    )
    .await?;
    let done: bool = tx
        .query_one(
            "select stats ? 'materialised_at' from public.campaigns where id = $1",
            &[&campaign_id],
        )
        .await?
        .get(0);
    if done {
        return Ok(false);
    }
    let audience = count_audience(tx, audience_id, channel).await?;
    let (address, consent) = columns(channel);
    let sql = format!(
        "select {CONTACT_COLUMNS}
         from public.audience_contacts ac
         join public.contacts c on c.id = ac.contact_id
         where ac.audience_id = $1 and c.{address} is not null and c.{consent} = 'granted'
           and not exists (select 1 from public.suppressions s
                           where s.channel = $2 and s.address = {normalised})",
        normalised = normalised(channel),
    );
    let statement = tx.prepare(&sql).await?;
    let portal = tx.bind(&statement, &[&audience_id, &channel]).await?;
    let mut inserted = 0i64;
    let mut render_failed = 0i64;
    let (mut deferred, mut segments) = (0i64, 0i64);
    loop {
        let rows = tx.query_portal(&portal, CHUNK).await?;
        if rows.is_empty() {
            break;
        }
        let batch = render_chunk(config, campaign_id, channel, prepared, settings, &rows);
        render_failed += batch.failed;
        deferred += batch.deferred;
        segments += batch
            .segments
            .iter()
            .flatten()
            .map(|&s| i64::from(s))
            .sum::<i64>();
        inserted += insert_chunk(tx, campaign_id, channel, &batch).await?;
        if rows.len() < usize::try_from(CHUNK).unwrap_or(usize::MAX) {
            break;
        }
    }
    let stats = json!({
        "audience": audience.members,
        "no_address": audience.no_address,
        "no_consent": audience.no_consent,
        "suppressed": audience.suppressed,
        "recipients": inserted,
        "render_failed": render_failed,
        "failed": render_failed,
        "queued": inserted,
        "deferred": deferred,
    });
    let stats = if channel == "sms" {
        let mut stats = stats;
        stats["segments"] = json!(segments);
        stats
    } else {
        stats
    };
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
    Ok(true)
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
    failed: i64,
    /// Queued rows that wait for the recipient's sending window.
    deferred: i64,
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
            Err(e) => {
                chunk.failed += 1;
                (None, String::new(), None, "failed", Some(e.to_string()))
            }
        };
        let zone = zone_or(contact.time_zone.as_deref(), settings.default_time_zone);
        let at = settings.window.next_allowed(now, zone);
        let sms_queued = channel == "sms" && status == "queued";
        chunk
            .segments
            .push(sms_queued.then(|| crate::sms_segments(&body)).flatten());
        if sms_queued && at > now {
            chunk.deferred += 1;
        }
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

async fn insert_chunk(
    tx: &Transaction<'_>,
    campaign_id: Uuid,
    channel: &str,
    c: &Chunk,
) -> Result<i64, DispatchError> {
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
         on conflict do nothing"
    } else {
        "insert into public.email_messages
           (campaign_id, contact_id, to_email, subject, body, html_body, status, error_code,
            error_message)
         select $1, v.contact_id, v.to_email, v.subject, v.body, v.html, v.status,
                case when v.error is not null then 'render_failed' end, v.error
         from unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                     $8::text[])
           as v (contact_id, to_email, body, status, error, subject, html)
         on conflict do nothing"
    };
    let inserted = if channel == "sms" {
        tx.execute(
            sql,
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
        tx.execute(
            sql,
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
    Ok(i64::try_from(inserted).unwrap_or(i64::MAX) - c.failed)
}
