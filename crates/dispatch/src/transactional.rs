//! The transactional jobs `email.send` and `sms.send`: a contract with the features that
//! enqueue them (notifications, reports, test sends).
//!
//! ```json
//! {"to": "a@example.com", "subject": "…", "text": "…", "html": null,
//!  "attachments": [{"filename": "r.csv", "content_type": "text/csv", "content_base64": "…"}],
//!  "category": "report", "reference": "report-run:42"}
//! {"to": "+15550100001", "body": "…", "category": "alert", "reference": "…"}
//! ```
//! Optional: `from` (else the `transactional.email_from` / `transactional.sms_from` setting)
//! and, for email, `unsubscribe_url` (adds the RFC 8058 headers).
//!
//! Exactly once holds here too: the message row is keyed by the job id and claimed before the
//! provider call. A retried job finds its row: `sent` means done, `queued` (released after a
//! 429/5xx) is sent now, and `sending`/`unknown` (a crash mid-call) is not sent again.
//! Suppressed addresses are refused — for email every reason but a marketing `unsubscribe`.

use std::time::Duration;

use gimbal_jobs::{JobContext, JobFailure, JobResult};
use gimbal_providers::{
    Attachment, EmailAddress, EmailBatch, EmailMessage, ProviderError, SendOutcome, SmsMessage,
    SmsSender,
};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{DispatchError, Dispatcher, settings::Settings};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailJob {
    pub to: String,
    pub subject: String,
    pub text: Option<String>,
    pub html: Option<String>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    pub category: Option<String>,
    pub reference: Option<String>,
    pub from: Option<String>,
    pub unsubscribe_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsJob {
    pub to: String,
    pub body: String,
    pub category: Option<String>,
    pub reference: Option<String>,
    pub from: Option<String>,
}

fn parse<T: for<'de> Deserialize<'de>>(payload: Value) -> Result<T, JobFailure> {
    serde_json::from_value(payload)
        .map_err(|e| JobFailure::permanent(format!("invalid payload: {e}")))
}

fn db(e: impl Into<DispatchError>) -> JobFailure {
    crate::job_failure(&e.into())
}

/// What a retried job finds of its message.
enum Claim {
    Fresh(Uuid),
    AlreadySent(Uuid),
    Unknown(Uuid),
}

pub(crate) async fn email_job(engine: &Dispatcher, ctx: JobContext, payload: Value) -> JobResult {
    let job: EmailJob = parse(payload)?;
    let to = job.to.trim().to_lowercase();
    if !to.contains('@') || job.text.is_none() && job.html.is_none() {
        return Err(JobFailure::permanent(
            "payload needs `to` (an address) and `text` or `html`",
        ));
    }
    let settings = load_settings(engine).await?;
    let from = job
        .from
        .clone()
        .or_else(|| {
            settings
                .email_from
                .as_ref()
                .and_then(|v| v["email"].as_str().or(v.as_str()).map(str::to_string))
        })
        .ok_or_else(|| {
            JobFailure::permanent("no sender: set `from` or the transactional.email_from setting")
        })?;
    suppressed(engine, "email", &to, true).await?;
    let claim = claim(
        engine,
        &ctx,
        "email",
        &to,
        &from,
        Some(&job.subject),
        job.text.as_deref(),
        job.html.as_deref(),
        &job.category,
        &job.reference,
    )
    .await?;
    let id = match claim {
        Claim::Fresh(id) => id,
        Claim::AlreadySent(id) => return Ok(json!({"message_id": id, "status": "sent"})),
        Claim::Unknown(id) => return unknown(engine, "email_messages", id).await,
    };
    let mut headers = Vec::new();
    if let Some(url) = &job.unsubscribe_url {
        headers.push(("List-Unsubscribe".to_string(), format!("<{url}>")));
        headers.push((
            "List-Unsubscribe-Post".to_string(),
            "List-Unsubscribe=One-Click".to_string(),
        ));
    }
    let mut custom_args = vec![("message_id".to_string(), id.to_string())];
    if let Some(category) = &job.category {
        custom_args.push(("category".into(), category.clone()));
    }
    let batch = EmailBatch {
        from: EmailAddress {
            email: from,
            name: settings.company_name.clone(),
        },
        categories: job.category.iter().cloned().collect(),
        messages: vec![EmailMessage {
            to,
            subject: job.subject,
            text: job.text,
            html: job.html,
            headers,
            custom_args,
            attachments: job.attachments,
        }],
    };
    let provider = engine.providers.email.name();
    let answer = engine
        .providers
        .email
        .send_batch(&batch)
        .await
        .map(|mut outcomes| outcomes.remove(0));
    finish(
        engine,
        "email_messages",
        "email",
        id,
        provider,
        &batch.messages[0].to,
        answer,
    )
    .await
}

pub(crate) async fn sms_job(engine: &Dispatcher, ctx: JobContext, payload: Value) -> JobResult {
    let job: SmsJob = parse(payload)?;
    let to = job.to.trim().to_string();
    let e164 = to.len() >= 8
        && to.len() <= 16
        && to.starts_with('+')
        && to[1..].chars().all(|c| c.is_ascii_digit())
        && !to[1..].starts_with('0');
    if !e164 || job.body.is_empty() {
        return Err(JobFailure::permanent(
            "payload needs `to` in E.164 (+15550100001) and a non-empty `body`",
        ));
    }
    let settings = load_settings(engine).await?;
    let from = job
        .from
        .clone()
        .or(settings.sms_from.clone())
        .ok_or_else(|| {
            JobFailure::permanent("no sender: set `from` or the transactional.sms_from setting")
        })?;
    suppressed(engine, "sms", &to, false).await?;
    let id = match claim(
        engine,
        &ctx,
        "sms",
        &to,
        &from,
        None,
        Some(&job.body),
        None,
        &job.category,
        &job.reference,
    )
    .await?
    {
        Claim::Fresh(id) => id,
        Claim::AlreadySent(id) => return Ok(json!({"message_id": id, "status": "sent"})),
        Claim::Unknown(id) => return unknown(engine, "sms_messages", id).await,
    };
    let message = SmsMessage {
        to: to.clone(),
        from: SmsSender::parse(&from),
        body: job.body,
        status_callback: Some(engine.config.twilio_status_url()),
    };
    let provider = engine.providers.sms.name();
    let answer = engine.providers.sms.send(&message).await;
    finish(engine, "sms_messages", "sms", id, provider, &to, answer).await
}

async fn load_settings(engine: &Dispatcher) -> Result<Settings, JobFailure> {
    let mut client = engine.pool.get().await.map_err(db)?;
    let tx = Dispatcher::service(&mut client, "dispatch/transactional")
        .await
        .map_err(|e| crate::job_failure(&e))?;
    let settings = Settings::load(&tx)
        .await
        .map_err(|e| crate::job_failure(&e))?;
    tx.commit().await.map_err(db)?;
    Ok(settings)
}

async fn suppressed(
    engine: &Dispatcher,
    channel: &str,
    address: &str,
    email: bool,
) -> Result<(), JobFailure> {
    let mut client = engine.pool.get().await.map_err(db)?;
    let tx = Dispatcher::service(&mut client, "dispatch/transactional")
        .await
        .map_err(|e| crate::job_failure(&e))?;
    let reason: Option<String> = tx
        .query_opt(
            "select reason from public.suppressions
             where channel = $1 and address = $2 and not ($3 and reason = 'unsubscribe')",
            &[&channel, &address, &email],
        )
        .await
        .map_err(db)?
        .map(|r| r.get(0));
    tx.commit().await.map_err(db)?;
    match reason {
        Some(reason) => Err(JobFailure::permanent(format!(
            "{channel} address is suppressed ({reason})"
        ))),
        None => Ok(()),
    }
}

#[allow(clippy::too_many_arguments)]
async fn claim(
    engine: &Dispatcher,
    ctx: &JobContext,
    channel: &str,
    to: &str,
    from: &str,
    subject: Option<&str>,
    body: Option<&str>,
    html: Option<&str>,
    category: &Option<String>,
    reference: &Option<String>,
) -> Result<Claim, JobFailure> {
    let owner = format!("{}:{}", engine.config.worker_id, ctx.job_id);
    let lease = engine.config.lease.as_secs_f64();
    let mut client = engine.pool.get().await.map_err(db)?;
    let tx = Dispatcher::service(&mut client, "dispatch/transactional")
        .await
        .map_err(|e| crate::job_failure(&e))?;
    let inserted = if channel == "email" {
        tx.query_opt(
            "insert into public.email_messages
               (to_email, from_email, subject, body, html_body, status, lease_owner, lease_until,
                category, reference, job_id)
             values ($1, $2, $3, $4, $5, 'sending', $6, now() + make_interval(secs => $7), $8, $9, $10)
             on conflict (job_id) where job_id is not null do nothing
             returning id",
            &[&to, &from, &subject, &body, &html, &owner, &lease, category, reference, &ctx.job_id],
        )
        .await
    } else {
        tx.query_opt(
            "insert into public.sms_messages
               (to_phone, from_phone, body, status, lease_owner, lease_until, category, reference, job_id,
                segments)
             values ($1, $2, $3, 'sending', $4, now() + make_interval(secs => $5), $6, $7, $8, $9)
             on conflict (job_id) where job_id is not null do nothing
             returning id",
            &[&to, &from, &body.unwrap_or_default(), &owner, &lease, category, reference, &ctx.job_id,
              &crate::sms_segments(body.unwrap_or_default())],
        )
        .await
    }
    .map_err(db)?;
    let claim = match inserted {
        Some(row) => Claim::Fresh(row.get(0)),
        None => {
            // a previous attempt of this job left its row
            let t = if channel == "email" {
                "email_messages"
            } else {
                "sms_messages"
            };
            let row = tx
                .query_one(
                    &format!("select id, status from public.{t} where job_id = $1 for update"),
                    &[&ctx.job_id],
                )
                .await
                .map_err(db)?;
            let id: Uuid = row.get(0);
            let status: String = row.get(1);
            match status.as_str() {
                // released after a 429/5xx: nothing was sent, so this attempt sends it
                "queued" => {
                    tx.execute(
                        &format!(
                            "update public.{t} set status = 'sending', lease_owner = $2,
                               lease_until = now() + make_interval(secs => $3)
                             where id = $1"
                        ),
                        &[&id, &owner, &lease],
                    )
                    .await
                    .map_err(db)?;
                    Claim::Fresh(id)
                }
                "sending" | "unknown" => Claim::Unknown(id),
                "failed" => {
                    return Err(JobFailure::permanent(
                        "the provider refused this message on an earlier attempt",
                    ));
                }
                _ => Claim::AlreadySent(id),
            }
        }
    };
    tx.commit().await.map_err(db)?;
    Ok(claim)
}

async fn unknown(engine: &Dispatcher, table: &str, id: Uuid) -> JobResult {
    let mut client = engine.pool.get().await.map_err(db)?;
    let tx = Dispatcher::service(&mut client, "dispatch/transactional")
        .await
        .map_err(|e| crate::job_failure(&e))?;
    tx.execute(
        &format!(
            "update public.{table} set status = 'unknown', error_code = 'lease_expired',
               error_message = 'an earlier attempt stopped during the provider call; not sent again'
             where id = $1 and status = 'sending'"
        ),
        &[&id],
    )
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Err(JobFailure::permanent(format!(
        "message {id}: an earlier attempt stopped during the provider call; its outcome is unknown and it is not sent again"
    )))
}

async fn finish(
    engine: &Dispatcher,
    table: &str,
    channel: &str,
    id: Uuid,
    provider: &str,
    to: &str,
    answer: Result<SendOutcome, ProviderError>,
) -> JobResult {
    let (status, pid, code, message, retry): (
        &str,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<JobFailure>,
    ) = match &answer {
        Ok(SendOutcome::Accepted {
            provider_message_id,
        }) => ("sent", Some(provider_message_id.clone()), None, None, None),
        Ok(SendOutcome::Rejected { code, message, .. }) => (
            "failed",
            None,
            Some(code.clone()),
            Some(message.clone()),
            None,
        ),
        Err(ProviderError::Ambiguous { message, .. }) => (
            "unknown",
            None,
            Some("provider_timeout".into()),
            Some(message.clone()),
            None,
        ),
        Err(e @ ProviderError::Transient { retry_after, .. }) => (
            "queued",
            None,
            None,
            Some(e.to_string()),
            Some(match retry_after {
                Some(after) => JobFailure::retry_after(e, *after),
                None => JobFailure::retry(e),
            }),
        ),
        Err(e @ ProviderError::Fatal { .. }) => (
            "queued",
            None,
            None,
            Some(e.to_string()),
            Some(JobFailure::retry_after(e, Duration::from_secs(60))),
        ),
    };
    let mut client = engine.pool.get().await.map_err(db)?;
    let tx = Dispatcher::service(&mut client, "dispatch/transactional")
        .await
        .map_err(|e| crate::job_failure(&e))?;
    tx.execute(
        &format!(
            "update public.{table}
             set status = $2, provider = $3, provider_message_id = $4, error_code = $5,
                 error_message = $6, lease_until = null,
                 lease_owner = case when $2 = 'queued' then null else lease_owner end,
                 sent_at = case when $2 = 'sent' then now() end
             where id = $1 and status = 'sending'"
        ),
        &[&id, &status, &provider, &pid, &code, &message],
    )
    .await
    .map_err(db)?;
    if let Ok(SendOutcome::Rejected {
        suppression: Some(reason),
        ..
    }) = &answer
    {
        tx.execute(
            "insert into public.suppressions (channel, address, reason, source)
             values ($1, $2, $3, $4) on conflict (channel, address) do nothing",
            &[
                &channel,
                &to,
                &reason.as_str(),
                &format!("provider:{provider}"),
            ],
        )
        .await
        .map_err(db)?;
    }
    tx.commit().await.map_err(db)?;
    match (status, retry) {
        (_, Some(failure)) => Err(failure),
        ("sent", _) => Ok(json!({"message_id": id, "status": "sent", "provider_message_id": pid})),
        ("unknown", _) => Err(JobFailure::permanent(format!(
            "message {id}: provider timed out; outcome unknown, not re-sent"
        ))),
        _ => Err(JobFailure::permanent(format!(
            "message {id} refused by {provider}: {} {}",
            code.unwrap_or_default(),
            message.unwrap_or_default()
        ))),
    }
}
