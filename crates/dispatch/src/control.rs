//! Starting, pausing, resuming and cancelling campaigns, and test sends — in the caller's
//! transaction, so RLS decides who may (a viewer, or a user on someone else's campaign, changes
//! nothing). Everything is checked before anything is queued: a campaign that cannot be sent
//! is refused with the field at fault, not discovered broken by a worker later.
//!
//! Jobs may only be written by `service_role`. After the caller's own update has passed RLS,
//! the transaction switches to `service_role` for the one insert into `jobs` and switches back,
//! so the status change and its job commit together or not at all.

use chrono::{DateTime, Utc};
use gimbal_db::Transaction;
use gimbal_jobs::NewJob;
use gimbal_templates::{Template, TemplateError, catalog::is_known_variable};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{CAMPAIGN_SEND, DispatchError, settings::Settings};

/// What `send-campaign` / `resume` answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Started {
    pub campaign_id: Uuid,
    /// `running`, or `scheduled` when `send_at` is in the future.
    pub status: String,
    pub send_at: Option<DateTime<Utc>>,
    /// The `campaign.send` jobs (see `jobs` through PostgREST).
    pub job_ids: Vec<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ControlAction {
    Pause,
    Resume,
    Cancel,
}

/// The campaign and its template as the caller sees them.
#[derive(Debug, Clone)]
pub struct CampaignView {
    pub id: Uuid,
    pub status: String,
    pub channel: String,
    pub send_at: Option<DateTime<Utc>>,
    pub from_address: Option<String>,
    pub audience_id: Option<Uuid>,
    pub audience_present: bool,
    pub template: Option<TemplateView>,
    pub settings: Value,
}

#[derive(Debug, Clone)]
pub struct TemplateView {
    pub channel: String,
    pub subject: Option<String>,
    pub body: String,
    pub html_body: Option<String>,
}

/// The parsed, checked parts of a campaign's template.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub subject: Option<Template>,
    pub body: Template,
    pub html: Option<Template>,
}

pub async fn load(tx: &Transaction<'_>, id: Uuid) -> Result<CampaignView, DispatchError> {
    let row = tx
        .query_opt(
            "select c.status, c.channel, c.send_at, c.from_address, c.settings,
                    c.audience_id is not null and exists
                      (select 1 from public.audiences a where a.id = c.audience_id),
                    t.channel, t.subject, t.body, t.html_body, c.audience_id
             from public.campaigns c
             left join public.templates t on t.id = c.template_id
             where c.id = $1",
            &[&id],
        )
        .await?
        .ok_or_else(|| DispatchError::NotFound(format!("campaign {id} not found")))?;
    let template_channel: Option<String> = row.get(6);
    Ok(CampaignView {
        id,
        status: row.get(0),
        channel: row.get(1),
        send_at: row.get(2),
        from_address: row.get(3),
        settings: row.get(4),
        audience_present: row.get(5),
        audience_id: row.get(10),
        template: template_channel.map(|channel| TemplateView {
            channel,
            subject: row.get(7),
            body: row.get(8),
            html_body: row.get(9),
        }),
    })
}

fn parse_part(field: &str, text: &str) -> Result<Template, DispatchError> {
    let template =
        gimbal_templates::parse(text).map_err(|e| DispatchError::invalid(field, e.to_string()))?;
    template
        .check_variables(&is_known_variable)
        .map_err(|e: TemplateError| DispatchError::invalid(field, e.to_string()))?;
    Ok(template)
}

/// Everything a send needs, checked: template present, of the campaign's channel, parsing with
/// known variables; audience present; sender set; and for email the CAN-SPAM content — every
/// part carries the unsubscribe link and the company's postal address, which must be set.
pub fn prepare(
    campaign: &CampaignView,
    settings: &Settings,
    require_audience: bool,
) -> Result<Prepared, DispatchError> {
    let template = campaign
        .template
        .as_ref()
        .ok_or_else(|| DispatchError::invalid("template_id", "the campaign has no template"))?;
    if template.channel != campaign.channel {
        return Err(DispatchError::invalid(
            "template_id",
            format!(
                "the template is for {} but the campaign sends {}",
                template.channel, campaign.channel
            ),
        ));
    }
    if require_audience && !campaign.audience_present {
        return Err(DispatchError::invalid(
            "audience_id",
            "the campaign has no audience",
        ));
    }
    if campaign
        .from_address
        .as_deref()
        .is_none_or(|f| f.trim().is_empty())
    {
        return Err(DispatchError::invalid(
            "from_address",
            "the campaign has no sender",
        ));
    }
    let body = parse_part("template.body", &template.body)?;
    let html = template
        .html_body
        .as_deref()
        .map(|h| parse_part("template.html_body", h))
        .transpose()?;
    let subject = template
        .subject
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| parse_part("template.subject", s))
        .transpose()?;
    if campaign.channel == "email" {
        if subject.is_none() {
            return Err(DispatchError::invalid(
                "template.subject",
                "an email needs a subject",
            ));
        }
        check_can_spam(&body, html.as_ref(), settings)?;
    }
    Ok(Prepared {
        subject,
        body,
        html,
    })
}

/// A marketing email must carry `{{unsubscribe_url}}` and `{{company_postal_address}}` in each
/// of its parts, and the address setting must exist; the error names everything missing.
fn check_can_spam(
    body: &Template,
    html: Option<&Template>,
    settings: &Settings,
) -> Result<(), DispatchError> {
    let mut missing = Vec::new();
    let parts = std::iter::once(("text", body)).chain(html.map(|h| ("html", h)));
    for (part, template) in parts {
        if !template.uses("unsubscribe_url") {
            missing.push(format!(
                "the unsubscribe link {{{{unsubscribe_url}}}} in the {part} part"
            ));
        }
        if !template.uses("company_postal_address") {
            missing.push(format!(
                "the postal address {{{{company_postal_address}}}} in the {part} part"
            ));
        }
    }
    if !missing.is_empty() {
        return Err(DispatchError::invalid(
            "template",
            format!("a marketing email must carry {}", missing.join(", ")),
        ));
    }
    if settings.company_postal_address.is_none() {
        return Err(DispatchError::invalid(
            "company_postal_address",
            "the company postal address setting is empty; an admin must set it before email can be sent",
        ));
    }
    Ok(())
}

/// Starts (or schedules) a campaign as the caller and enqueues its jobs.
pub async fn start(
    tx: &Transaction<'_>,
    id: Uuid,
    parallelism: usize,
) -> Result<Started, DispatchError> {
    let campaign = load(tx, id).await?;
    writable(tx, id).await?;
    if !matches!(campaign.status.as_str(), "draft" | "scheduled" | "failed") {
        return Err(DispatchError::Conflict(format!(
            "campaign {id} is {}; only draft, scheduled or failed campaigns can be sent (use campaign-control to resume a paused one)",
            campaign.status
        )));
    }
    let settings = Settings::load(tx).await?;
    prepare(&campaign, &settings, true)?;
    activate(
        tx,
        &campaign,
        &["draft", "scheduled", "failed"],
        parallelism,
    )
    .await
}

/// Pause, resume or cancel, as the caller.
pub async fn control(
    tx: &Transaction<'_>,
    id: Uuid,
    action: ControlAction,
    parallelism: usize,
) -> Result<Value, DispatchError> {
    let campaign = load(tx, id).await?;
    let (from, to): (&[&str], &str) = match action {
        ControlAction::Pause => (&["running", "scheduled"], "paused"),
        ControlAction::Cancel => (&["draft", "scheduled", "running", "paused"], "cancelled"),
        ControlAction::Resume => (&["paused"], "running"),
    };
    if !from.contains(&campaign.status.as_str()) {
        return Err(DispatchError::Conflict(format!(
            "campaign {id} is {}; cannot {} it",
            campaign.status,
            serde_json::to_value(action)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        )));
    }
    if action == ControlAction::Resume {
        let started = activate(tx, &campaign, from, parallelism).await?;
        return Ok(serde_json::to_value(started).unwrap_or_default());
    }
    let updated = tx
        .execute(
            "update public.campaigns
             set status = $2,
                 completed_at = case when $2 = 'cancelled' then now() else completed_at end
             where id = $1 and status = any($3)",
            &[&id, &to, &from],
        )
        .await?;
    if updated == 0 {
        return Err(forbidden(id));
    }
    let mut dropped = 0;
    if action == ControlAction::Cancel {
        dropped = as_service(tx, drop_queued(tx, id, &campaign.channel)).await??;
    }
    Ok(json!({"campaign_id": id, "status": to, "unsent_dropped": dropped}))
}

/// Whether the caller may change the campaign (RLS filters the no-op update to nothing when
/// not), asked before validation so a caller who may not send learns nothing more.
async fn writable(tx: &Transaction<'_>, id: Uuid) -> Result<(), DispatchError> {
    let rows = tx
        .execute(
            "update public.campaigns set status = status where id = $1",
            &[&id],
        )
        .await?;
    if rows == 0 {
        return Err(forbidden(id));
    }
    Ok(())
}

fn forbidden(id: Uuid) -> DispatchError {
    DispatchError::Forbidden(format!("the caller may not change campaign {id}"))
}

/// Moves the campaign to running (or scheduled) and enqueues its jobs.
pub(crate) async fn activate(
    tx: &Transaction<'_>,
    campaign: &CampaignView,
    from: &[&str],
    parallelism: usize,
) -> Result<Started, DispatchError> {
    let now = Utc::now();
    let future_start = campaign.send_at.filter(|at| *at > now);
    let status = if future_start.is_some() {
        "scheduled"
    } else {
        "running"
    };
    let updated = tx
        .execute(
            "update public.campaigns
             set status = $2, started_at = coalesce(started_at, case when $2 = 'running' then now() end)
             where id = $1 and status = any($3)",
            &[&campaign.id, &status, &from],
        )
        .await?;
    if updated == 0 {
        return Err(forbidden(campaign.id));
    }
    let workers = campaign.settings["workers"]
        .as_u64()
        .map_or(parallelism, |w| {
            usize::try_from(w.clamp(1, 16)).unwrap_or(1)
        });
    let job_ids = as_service(tx, enqueue_workers(tx, campaign.id, future_start, workers)).await??;
    Ok(Started {
        campaign_id: campaign.id,
        status: status.to_string(),
        send_at: campaign.send_at,
        job_ids,
    })
}

/// Enqueues `workers` `campaign.send` jobs, due at `run_at` (now when `None`).
pub async fn enqueue_workers(
    tx: &Transaction<'_>,
    id: Uuid,
    run_at: Option<DateTime<Utc>>,
    workers: usize,
) -> Result<Vec<i64>, DispatchError> {
    let mut ids = Vec::with_capacity(workers);
    for _ in 0..workers.max(1) {
        let job = NewJob {
            run_at,
            max_attempts: 10,
            ..NewJob::new(CAMPAIGN_SEND, json!({"campaign_id": id}))
        };
        if let Some(job_id) = gimbal_jobs::enqueue(tx, &job).await? {
            ids.push(job_id);
        }
    }
    Ok(ids)
}

/// Messages never handed to a provider are removed when a campaign is cancelled: nothing was
/// sent, and nothing should be.
async fn drop_queued(tx: &Transaction<'_>, id: Uuid, channel: &str) -> Result<i64, DispatchError> {
    let table = crate::run::table(channel);
    let row = tx
        .query_one(
            &format!(
                "with gone as (delete from public.{table} where campaign_id = $1 and status = 'queued' returning 1)
                 select count(*) from gone"
            ),
            &[&id],
        )
        .await?;
    let dropped: i64 = row.get(0);
    tx.execute(
        "select app_private.add_campaign_stats($1, jsonb_build_object('cancelled_unsent', $2::bigint, 'queued', -$2::bigint))",
        &[&id, &dropped],
    )
    .await?;
    Ok(dropped)
}

/// Runs `work` as `service_role` inside the caller's transaction, then switches back. Only for
/// the writes the caller's own (already RLS-checked) change requires.
pub(crate) async fn as_service<T>(
    tx: &Transaction<'_>,
    work: impl Future<Output = T>,
) -> Result<T, DispatchError> {
    let role: String = tx
        .query_one("select current_setting('role')", &[])
        .await?
        .get(0);
    tx.execute("select set_config('role', 'service_role', true)", &[])
        .await?;
    let out = work.await;
    tx.execute("select set_config('role', $1, true)", &[&role])
        .await?;
    Ok(out)
}

/// A test send: the campaign's message, rendered for the caller, to the caller's own address
/// (`email` or `phone` of their token). Enqueued as a transactional `email.send` / `sms.send`.
pub async fn test_send(
    tx: &Transaction<'_>,
    id: Uuid,
    caller_address: Option<&str>,
    config: &crate::DispatchConfig,
) -> Result<Value, DispatchError> {
    let campaign = load(tx, id).await?;
    // a test send costs money and reaches a person: only who may change the campaign may.
    writable(tx, id).await?;
    let settings = Settings::load(tx).await?;
    let prepared = prepare(&campaign, &settings, false)?;
    let field = if campaign.channel == "email" {
        "email"
    } else {
        "phone"
    };
    let to = caller_address
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            DispatchError::invalid(
                field,
                format!("the caller's token carries no {field} to send the test to"),
            )
        })?;
    let contact = caller_contact(tx, &campaign.channel, to).await?;
    let address = if campaign.channel == "email" {
        to.to_lowercase()
    } else {
        to.to_string()
    };
    let unsubscribe =
        crate::materialise::unsubscribe_link(config, &campaign.channel, &address, Some(id));
    let vars = crate::materialise::Vars {
        contact: &contact,
        settings: &settings,
        unsubscribe_url: &unsubscribe,
    };
    let placeholder = |name: &str| vars.get(name).or_else(|| Some(format!("[{name}]")));
    let render = |t: &Template| t.render(&placeholder).unwrap_or_default();
    let payload = if campaign.channel == "email" {
        json!({
            "to": to,
            "subject": format!("[TEST] {}", prepared.subject.as_ref().map(render).unwrap_or_default()),
            "text": render(&prepared.body),
            "html": prepared.html.as_ref().map(render),
            "attachments": [],
            "category": "test-send",
            "reference": id.to_string(),
            "from": campaign.from_address,
            "unsubscribe_url": unsubscribe,
        })
    } else {
        json!({
            "to": to, "body": render(&prepared.body), "category": "test-send",
            "reference": id.to_string(), "from": campaign.from_address,
        })
    };
    let kind = if campaign.channel == "email" {
        crate::EMAIL_SEND
    } else {
        crate::SMS_SEND
    };
    let job = NewJob {
        max_attempts: 5,
        ..NewJob::new(kind, payload)
    };
    let job_id = as_service(tx, gimbal_jobs::enqueue(tx, &job)).await??;
    Ok(json!({"campaign_id": id, "to": to, "channel": campaign.channel, "job_id": job_id}))
}

/// The caller's own contact row, when one with their address exists (for realistic values).
async fn caller_contact(
    tx: &Transaction<'_>,
    channel: &str,
    address: &str,
) -> Result<crate::materialise::Contact, DispatchError> {
    let sql = format!(
        "select {} from public.contacts c where {} limit 1",
        crate::materialise::CONTACT_COLUMNS,
        if channel == "email" {
            "lower(c.email) = lower($1)"
        } else {
            "c.phone = $1"
        }
    );
    let row = tx.query_opt(&sql, &[&address]).await?;
    Ok(row
        .map(|r| crate::materialise::Contact::from_row(&r))
        .unwrap_or_else(|| crate::materialise::Contact {
            email: (channel == "email").then(|| address.to_string()),
            phone: (channel == "sms").then(|| address.to_string()),
            ..Default::default()
        }))
}
