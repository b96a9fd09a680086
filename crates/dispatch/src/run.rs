//! The `campaign.send` job: claim, send, record — exactly once.
//!
//! 1. A batch of `queued` rows is claimed in one statement (`for update skip locked`): each
//!    becomes `sending` with this run as `lease_owner` and a `lease_until`. Concurrent runs
//!    (several jobs per campaign, several worker processes) never claim the same row.
//! 2. Only then is the provider called. Its answers are recorded in one statement per batch,
//!    conditioned on the row still being this run's `sending` row.
//! 3. A row still `sending` after its lease is a run that died between 1 and 2: the provider
//!    may or may not have the message, so the row becomes `unknown` (counted on the campaign)
//!    and is never sent again. A provider timeout is the same case, decided at once.
//!
//! 429 and 5xx are retried inside the run with backoff honouring `Retry-After`; when retries
//! run out the rows go back to `queued` (nothing was sent) and the job is retried later. SMS
//! rows outside the recipient's quiet hours go back to `queued` with `not_before` set. When
//! nothing is claimable the run either completes the campaign, waits briefly for other runs'
//! leases, or leaves a follow-up job for when deferred rows become due.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::{StreamExt, stream};
use gimbal_jobs::{JobContext, JobFailure, JobResult, NewJob};
use gimbal_providers::{
    EmailAddress, EmailBatch, EmailMessage, ProviderError, SendOutcome, SmsMessage, SmsSender,
};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    CAMPAIGN_SEND, DispatchError, Dispatcher,
    control::{self, CampaignView},
    materialise::{self, unsubscribe_link},
    quiet_hours::zone_or,
    rate,
    settings::Settings,
};

/// The message table of a channel.
pub fn table(channel: &str) -> &'static str {
    if channel == "sms" {
        "sms_messages"
    } else {
        "email_messages"
    }
}

/// What one run did (stored as the job's result).
#[derive(Debug, Default, Clone, Serialize)]
pub struct RunReport {
    pub campaign_id: Uuid,
    /// `completed`, `deferred`, `paused`, `waiting`, `cancelled`, `failed`, …
    pub outcome: String,
    pub sent: i64,
    pub failed: i64,
    pub unknown: i64,
    /// Rows handed back to the queue (quiet hours, retries exhausted).
    pub released: i64,
    pub materialised: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Engine(#[from] DispatchError),
    /// The provider kept failing transiently; nothing of the affected rows was sent.
    #[error("{message}")]
    Transient {
        message: String,
        after: Option<Duration>,
    },
}

impl From<tokio_postgres::Error> for RunError {
    fn from(err: tokio_postgres::Error) -> Self {
        RunError::Engine(err.into())
    }
}

impl From<deadpool_postgres::PoolError> for RunError {
    fn from(err: deadpool_postgres::PoolError) -> Self {
        RunError::Engine(err.into())
    }
}

/// A claimed row.
struct Claimed {
    id: Uuid,
    to: String,
    subject: Option<String>,
    body: String,
    html: Option<String>,
    zone: Option<String>,
}

/// The recorded fate of one row.
struct Fate {
    id: Uuid,
    status: &'static str,
    provider_message_id: Option<String>,
    code: Option<String>,
    message: Option<String>,
    suppress: Option<(String, &'static str)>,
}

/// Rows handed back to the queue, and why the run stopped early, if it did.
#[derive(Default)]
struct Delivery {
    fates: Vec<Fate>,
    release: Vec<(Uuid, Option<DateTime<Utc>>)>,
    transient: Option<(String, Option<Duration>)>,
    fatal: Option<String>,
}

enum Settle {
    Again,
    /// Nobody is materialising the campaign and it is not done (a run died part way).
    Materialise,
    Stop(String),
}

impl Dispatcher {
    pub(crate) async fn campaign_job(&self, ctx: JobContext, payload: Value) -> JobResult {
        let id = payload["campaign_id"]
            .as_str()
            .and_then(|s| s.parse::<Uuid>().ok())
            .ok_or_else(|| JobFailure::permanent("payload.campaign_id must be a uuid"))?;
        let owner = format!("{}:{}", self.config.worker_id, ctx.job_id);
        match self.run_campaign(id, &owner).await {
            Ok(report) => Ok(serde_json::to_value(report).unwrap_or_default()),
            // out of attempts: pause rather than leave a running campaign with no job, so
            // someone sees why and can resume it
            Err(RunError::Transient { message, .. }) if ctx.is_last_attempt() => {
                let reason = format!("gave up after {} attempts: {message}", ctx.attempt);
                self.pause(id, &reason)
                    .await
                    .map_err(|e| JobFailure::retry(&e))?;
                Err(JobFailure::permanent(reason))
            }
            Err(RunError::Transient { message, after }) => Err(match after {
                Some(after) => JobFailure::retry_after(message, after),
                None => JobFailure::retry(message),
            }),
            Err(RunError::Engine(e)) => Err(crate::job_failure(&e)),
        }
    }

    /// Runs one campaign until it is done, stopped, or deferred. `owner` names this run on the
    /// rows it claims; concurrent runs need distinct owners.
    pub async fn run_campaign(&self, id: Uuid, owner: &str) -> Result<RunReport, RunError> {
        let mut report = RunReport {
            campaign_id: id,
            ..RunReport::default()
        };
        let mut client = self.pool.get().await?;
        let tx = Self::service(&mut client, "dispatch/campaign").await?;
        let campaign = control::load(&tx, id).await?;
        let settings = Settings::load(&tx).await?;
        tx.commit().await?;
        drop(client);
        if campaign.status == "scheduled" {
            if let Some(at) = campaign.send_at.filter(|at| *at > Utc::now()) {
                self.follow_up(id, at).await?;
                report.outcome = "scheduled".into();
                return Ok(report);
            }
            self.execute(
                "update public.campaigns set status = 'running', started_at = coalesce(started_at, now())
                 where id = $1 and status = 'scheduled'",
                &[&id],
            )
            .await?;
        } else if campaign.status != "running" {
            report.outcome = campaign.status;
            return Ok(report);
        }
        let prepared = match control::prepare(&campaign, &settings, true) {
            Ok(p) => p,
            Err(e) => {
                self.fail_campaign(id, &e.to_string()).await?;
                report.outcome = "failed".into();
                return Ok(report);
            }
        };
        // sending starts on the first materialised chunk
        let (materialised, dispatched) = tokio::join!(
            self.materialise(&campaign, &prepared, &settings),
            self.dispatch_loop(&campaign, &settings, &prepared, owner, &mut report)
        );
        report.materialised |= materialised?;
        dispatched?;
        Ok(report)
    }

    async fn materialise(
        &self,
        campaign: &CampaignView,
        prepared: &control::Prepared,
        settings: &Settings,
    ) -> Result<bool, RunError> {
        Ok(materialise::materialise(
            &self.pool,
            &self.config,
            campaign.id,
            campaign.audience_id.unwrap_or_default(),
            &campaign.channel,
            prepared,
            settings,
        )
        .await?)
    }

    async fn dispatch_loop(
        &self,
        campaign: &CampaignView,
        settings: &Settings,
        prepared: &control::Prepared,
        owner: &str,
        report: &mut RunReport,
    ) -> Result<(), RunError> {
        let sms = campaign.channel == "sms";
        let sender = campaign.from_address.clone().unwrap_or_default();
        let (limits, provider, max) = if sms {
            (
                &settings.sms_rate,
                self.providers.sms.name(),
                self.config.sms_batch,
            )
        } else {
            (
                &settings.email_rate,
                self.providers.email.name(),
                self.config
                    .email_batch
                    .min(self.providers.email.max_batch()),
            )
        };
        let batch = rate::batch_for(limits, &sender, max);
        let threshold = auto_pause_threshold(campaign, settings);
        // budget reserved and not yet used: a claim that finds fewer rows keeps the rest for the
        // next claim instead of reserving again, and the run gives back what is left when it
        // stops
        let mut reserved = 0;
        loop {
            report.unknown += self.sweep(campaign).await?;
            if reserved < batch {
                rate::acquire(&self.pool, provider, &sender, limits, batch - reserved).await?;
                reserved = batch;
            }
            let claimed = self.claim(campaign, owner, batch).await?;
            reserved = reserved.saturating_sub(claimed.len());
            if claimed.is_empty() {
                match self.settle(campaign).await? {
                    Settle::Again => continue,
                    Settle::Materialise => {
                        report.materialised |=
                            self.materialise(campaign, prepared, settings).await?;
                        continue;
                    }
                    Settle::Stop(outcome) => {
                        rate::release(&self.pool, provider, &sender, limits, reserved).await?;
                        report.outcome = outcome;
                        return Ok(());
                    }
                }
            }
            let delivery = if sms {
                self.deliver_sms(campaign, settings, owner, claimed).await
            } else {
                self.deliver_email(campaign, settings, owner, claimed).await
            };
            self.record(campaign, owner, &delivery, threshold, report)
                .await?;
            if let Some(reason) = &delivery.fatal {
                rate::release(&self.pool, provider, &sender, limits, reserved).await?;
                self.pause(campaign.id, &format!("provider refused: {reason}"))
                    .await?;
                report.outcome = "paused".into();
                return Ok(());
            }
            if let Some((message, after)) = delivery.transient {
                return Err(RunError::Transient { message, after });
            }
        }
    }

    async fn execute(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<u64, RunError> {
        let mut client = self.pool.get().await?;
        let tx = Self::service(&mut client, "dispatch/campaign").await?;
        let n = tx.execute(sql, params).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Rows whose lease ran out become `unknown`: reported, never re-sent.
    async fn sweep(&self, campaign: &CampaignView) -> Result<i64, RunError> {
        let sql = format!(
            "with swept as (
               update public.{t} set status = 'unknown', lease_until = null, error_code = 'lease_expired',
                 error_message = 'the worker stopped between claiming this message and recording the provider''s answer; it is not sent again'
               where campaign_id = $1 and status = 'sending' and lease_until < now()
               returning 1)
             select count(*) from swept",
            t = table(&campaign.channel)
        );
        let mut client = self.pool.get().await?;
        let tx = Self::service(&mut client, "dispatch/sweep").await?;
        let swept: i64 = tx.query_one(&sql, &[&campaign.id]).await?.get(0);
        if swept > 0 {
            tx.execute(
                "select app_private.add_campaign_stats($1, jsonb_build_object('unknown', $2::bigint, 'queued', -$2::bigint))",
                &[&campaign.id, &swept],
            )
            .await?;
            tracing::warn!(campaign.id = %campaign.id, count = swept, "messages with an unknown outcome after an expired lease");
        }
        tx.commit().await?;
        Ok(swept)
    }

    async fn claim(
        &self,
        campaign: &CampaignView,
        owner: &str,
        batch: usize,
    ) -> Result<Vec<Claimed>, RunError> {
        let sms = campaign.channel == "sms";
        let sql = format!(
            "update public.{t} m
             set status = 'sending', lease_owner = $2, lease_until = now() + make_interval(secs => $3)
             where m.id in (
               select id from public.{t}
               where campaign_id = $1 and status = 'queued' {due}
                 and exists (select 1 from public.campaigns c where c.id = $1 and c.status = 'running')
               limit $4
               for update skip locked)
             returning m.id, {cols}",
            t = table(&campaign.channel),
            due = if sms { "and (not_before is null or not_before <= now())" } else { "" },
            cols = if sms {
                "m.to_phone, null::text, m.body, null::text, m.recipient_time_zone"
            } else {
                "m.to_email, m.subject, m.body, m.html_body, null::text"
            },
        );
        let limit = i64::try_from(batch).unwrap_or(i64::MAX);
        let mut client = self.pool.get().await?;
        let tx = Self::service(&mut client, "dispatch/claim").await?;
        let rows = tx
            .query(
                &sql,
                &[
                    &campaign.id,
                    &owner,
                    &self.config.lease.as_secs_f64(),
                    &limit,
                ],
            )
            .await?;
        tx.commit().await?;
        Ok(rows
            .iter()
            .map(|r| Claimed {
                id: r.get(0),
                to: r.get(1),
                subject: r.get(2),
                body: r.get::<_, Option<String>>(3).unwrap_or_default(),
                html: r.get(4),
                zone: r.get(5),
            })
            .collect())
    }

    /// Nothing was claimable: finish, wait for other runs, or leave a follow-up job.
    async fn settle(&self, campaign: &CampaignView) -> Result<Settle, RunError> {
        let sql = format!(
            "select (select status from public.campaigns where id = $1),
                    (select stats ? 'materialised_at' from public.campaigns where id = $1),
                    count(*) filter (where status = 'queued'),
                    min(coalesce(not_before, now())) filter (where status = 'queued'),
                    count(*) filter (where status = 'sending'),
                    max(lease_until) filter (where status = 'sending'),
                    now()
             from public.{t} where campaign_id = $1 and status in ('queued', 'sending')",
            t = table(&campaign.channel)
        );
        let mut client = self.pool.get().await?;
        let tx = Self::service(&mut client, "dispatch/settle").await?;
        let row = tx.query_one(&sql, &[&campaign.id]).await?;
        let status: String = row.get(0);
        let materialised: bool = row.get::<_, Option<bool>>(1).unwrap_or(true);
        let queued: i64 = row.get(2);
        let next_at: Option<DateTime<Utc>> = row.get(3);
        let sending: i64 = row.get(4);
        let lease_end: Option<DateTime<Utc>> = row.get(5);
        let now: DateTime<Utc> = row.get(6);
        if status != "running" {
            tx.commit().await?;
            return Ok(Settle::Stop(status));
        }
        if !materialised {
            // being materialised (by this run or another): wait for more rows; else it was
            // left part way and this run finishes it
            let free = materialise::try_lock(&tx, campaign.id).await?;
            tx.commit().await?;
            if free {
                return Ok(Settle::Materialise);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            return Ok(Settle::Again);
        }
        tx.commit().await?;
        drop(client);
        if queued > 0 {
            let at = next_at.unwrap_or(now);
            if at <= now {
                // rows locked by a concurrent claim a moment ago
                tokio::time::sleep(Duration::from_millis(50)).await;
                return Ok(Settle::Again);
            }
            self.follow_up(campaign.id, at).await?;
            return Ok(Settle::Stop("deferred".into()));
        }
        if sending > 0 {
            let end = lease_end.unwrap_or(now);
            let wait = (end - now).to_std().unwrap_or(Duration::ZERO) + Duration::from_millis(100);
            if wait <= self.config.max_lease_wait {
                tokio::time::sleep(wait.min(Duration::from_millis(500))).await;
                return Ok(Settle::Again);
            }
            self.follow_up(campaign.id, end + chrono::Duration::seconds(1))
                .await?;
            return Ok(Settle::Stop("waiting".into()));
        }
        let done = self
            .execute(
                "update public.campaigns set status = 'completed', completed_at = now()
                 where id = $1 and status = 'running'",
                &[&campaign.id],
            )
            .await?;
        Ok(Settle::Stop(if done == 1 {
            "completed".into()
        } else {
            status
        }))
    }

    /// A `campaign.send` job at `at` (one per campaign and instant, however many runs ask).
    async fn follow_up(&self, id: Uuid, at: DateTime<Utc>) -> Result<(), RunError> {
        let mut client = self.pool.get().await?;
        let tx = Self::service(&mut client, "dispatch/follow-up").await?;
        let job = NewJob {
            run_at: Some(at),
            max_attempts: 10,
            dedupe_key: Some(format!("{CAMPAIGN_SEND}:{id}:{}", at.timestamp())),
            ..NewJob::new(CAMPAIGN_SEND, json!({"campaign_id": id}))
        };
        gimbal_jobs::enqueue(&tx, &job)
            .await
            .map_err(DispatchError::from)?;
        tx.commit().await?;
        Ok(())
    }

    async fn pause(&self, id: Uuid, reason: &str) -> Result<(), RunError> {
        tracing::warn!(campaign.id = %id, reason, "campaign paused by the engine");
        self.execute(
            "update public.campaigns
             set status = 'paused', stats = stats || jsonb_build_object('paused_reason', $2::text)
             where id = $1 and status = 'running'",
            &[&id, &reason],
        )
        .await?;
        Ok(())
    }

    async fn fail_campaign(&self, id: Uuid, reason: &str) -> Result<(), RunError> {
        self.execute(
            "update public.campaigns
             set status = 'failed', stats = stats || jsonb_build_object('failed_reason', $2::text)
             where id = $1 and status = 'running'",
            &[&id, &reason],
        )
        .await?;
        Ok(())
    }

    async fn deliver_sms(
        &self,
        campaign: &CampaignView,
        settings: &Settings,
        owner: &str,
        claimed: Vec<Claimed>,
    ) -> Delivery {
        let mut delivery = Delivery::default();
        let now = Utc::now();
        let from = SmsSender::parse(campaign.from_address.as_deref().unwrap_or_default());
        let mut messages = Vec::with_capacity(claimed.len());
        for row in claimed {
            // the window may have closed since the row was materialised
            let zone = zone_or(row.zone.as_deref(), settings.default_time_zone);
            let at = settings.window.next_allowed(now, zone);
            if at > now {
                delivery.release.push((row.id, Some(at)));
                continue;
            }
            let message = SmsMessage {
                to: row.to,
                from: from.clone(),
                body: row.body,
                status_callback: Some(self.config.twilio_status_url()),
            };
            messages.push((row.id, message));
        }
        let provider = &self.providers.sms;
        let mut pending: Vec<usize> = (0..messages.len()).collect();
        for round in 0..=self.config.max_transient_retries {
            let answers: Vec<(usize, Result<SendOutcome, ProviderError>)> = stream::iter(pending)
                .map(|i| {
                    let message = &messages[i].1;
                    async move { (i, provider.send(message).await) }
                })
                .buffer_unordered(self.config.sms_concurrency.max(1))
                .collect()
                .await;
            let mut retry = Vec::new();
            let mut wait: Option<Duration> = None;
            for (i, answer) in answers {
                let (id, to) = (messages[i].0, &messages[i].1.to);
                match classify(id, to, answer) {
                    Classified::Fate(f) => delivery.fates.push(f),
                    Classified::Retry(after) => {
                        retry.push(i);
                        wait = wait.max(after);
                    }
                    Classified::Fatal(message) => {
                        delivery.release.push((id, None));
                        delivery.fatal = Some(message);
                    }
                }
            }
            pending = retry;
            if pending.is_empty() || delivery.fatal.is_some() {
                break;
            }
            if round == self.config.max_transient_retries {
                delivery.transient = Some(("SMS provider kept failing transiently".into(), wait));
                break;
            }
            let ids: Vec<Uuid> = pending.iter().map(|&i| messages[i].0).collect();
            self.backoff(campaign, owner, &ids, round, wait).await;
        }
        delivery
            .release
            .extend(pending.iter().map(|&i| (messages[i].0, None)));
        delivery
    }

    async fn deliver_email(
        &self,
        campaign: &CampaignView,
        settings: &Settings,
        owner: &str,
        claimed: Vec<Claimed>,
    ) -> Delivery {
        let mut delivery = Delivery::default();
        let ids: Vec<Uuid> = claimed.iter().map(|c| c.id).collect();
        let campaign_id = campaign.id.to_string();
        let messages: Vec<EmailMessage> = claimed
            .into_iter()
            .map(|row| {
                let url = unsubscribe_link(&self.config, "email", &row.to, Some(campaign.id));
                EmailMessage {
                    subject: row.subject.unwrap_or_default(),
                    text: Some(row.body),
                    html: row.html,
                    headers: vec![
                        ("List-Unsubscribe".into(), format!("<{url}>")),
                        (
                            "List-Unsubscribe-Post".into(),
                            "List-Unsubscribe=One-Click".into(),
                        ),
                    ],
                    custom_args: vec![
                        ("message_id".into(), row.id.to_string()),
                        ("campaign_id".into(), campaign_id.clone()),
                    ],
                    to: row.to,
                    attachments: vec![],
                }
            })
            .collect();
        let batch = EmailBatch {
            from: EmailAddress {
                email: campaign.from_address.clone().unwrap_or_default(),
                name: settings.company_name.clone(),
            },
            categories: vec!["campaign".into()],
            messages,
        };
        for round in 0..=self.config.max_transient_retries {
            match self.providers.email.send_batch(&batch).await {
                Ok(outcomes) => {
                    for ((id, m), outcome) in ids.iter().zip(&batch.messages).zip(outcomes) {
                        if let Classified::Fate(f) = classify(*id, &m.to, Ok(outcome)) {
                            delivery.fates.push(f);
                        }
                    }
                    return delivery;
                }
                Err(e) => match classify(Uuid::nil(), "", Err(e)) {
                    Classified::Fate(f) => {
                        // ambiguous: the whole request's outcome is unknown
                        delivery.fates.extend(ids.iter().map(|id| Fate {
                            id: *id,
                            status: f.status,
                            provider_message_id: None,
                            code: f.code.clone(),
                            message: f.message.clone(),
                            suppress: None,
                        }));
                        return delivery;
                    }
                    Classified::Fatal(message) => {
                        delivery.release.extend(ids.iter().map(|id| (*id, None)));
                        delivery.fatal = Some(message);
                        return delivery;
                    }
                    Classified::Retry(after) => {
                        if round == self.config.max_transient_retries {
                            delivery.release.extend(ids.iter().map(|id| (*id, None)));
                            delivery.transient =
                                Some(("email provider kept failing transiently".into(), after));
                            return delivery;
                        }
                        self.backoff(campaign, owner, &ids, round, after).await;
                    }
                },
            }
        }
        delivery
    }

    /// Waits before a retry (`Retry-After` when given, else exponential) and keeps the lease.
    async fn backoff(
        &self,
        campaign: &CampaignView,
        owner: &str,
        ids: &[Uuid],
        round: u32,
        after: Option<Duration>,
    ) {
        let wait = after.unwrap_or_else(|| self.config.retry_base * 2u32.saturating_pow(round));
        let sql = format!(
            "update public.{t} set lease_until = now() + make_interval(secs => $3)
             where id = any($1) and lease_owner = $2 and status = 'sending'",
            t = table(&campaign.channel)
        );
        let lease = (self.config.lease + wait).as_secs_f64();
        if let Err(e) = self.execute(&sql, &[&ids, &owner, &lease]).await {
            tracing::warn!(error = %e, "could not extend message leases before a retry");
        }
        tracing::info!(campaign.id = %campaign.id, wait_ms = wait.as_millis() as u64, "provider busy; retrying");
        tokio::time::sleep(wait).await;
    }

    /// Writes a batch's outcomes, suppressions and counters; pauses the campaign when its
    /// provider error rate crosses the threshold.
    async fn record(
        &self,
        campaign: &CampaignView,
        owner: &str,
        delivery: &Delivery,
        (error_rate, min_attempts): (f64, i64),
        report: &mut RunReport,
    ) -> Result<(), RunError> {
        let t = table(&campaign.channel);
        let provider = if campaign.channel == "sms" {
            self.providers.sms.name()
        } else {
            self.providers.email.name()
        };
        let mut client = self.pool.get().await?;
        let tx = Self::service(&mut client, "dispatch/record").await?;
        let ids: Vec<Uuid> = delivery.fates.iter().map(|f| f.id).collect();
        let statuses: Vec<&str> = delivery.fates.iter().map(|f| f.status).collect();
        let pids: Vec<Option<String>> = delivery
            .fates
            .iter()
            .map(|f| f.provider_message_id.clone())
            .collect();
        let codes: Vec<Option<String>> = delivery.fates.iter().map(|f| f.code.clone()).collect();
        let messages: Vec<Option<String>> =
            delivery.fates.iter().map(|f| f.message.clone()).collect();
        let settled = tx
            .execute(
                &format!(
                    "update public.{t} m
                 set status = v.status, provider = $2, provider_message_id = v.pid,
                     error_code = v.code, error_message = v.msg, lease_until = null,
                     sent_at = case when v.status = 'sent' then now() end
                 from unnest($3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[])
                   as v (id, status, pid, code, msg)
                 where m.id = v.id and m.status = 'sending' and m.lease_owner = $1"
                ),
                &[&owner, &provider, &ids, &statuses, &pids, &codes, &messages],
            )
            .await?;
        if !delivery.release.is_empty() {
            let ids: Vec<Uuid> = delivery.release.iter().map(|r| r.0).collect();
            let at: Vec<Option<DateTime<Utc>>> = delivery.release.iter().map(|r| r.1).collect();
            let not_before = if campaign.channel == "sms" {
                "not_before = coalesce(v.at, m.not_before),"
            } else {
                ""
            };
            tx.execute(
                &format!(
                    "update public.{t} m
                     set status = 'queued', {not_before} lease_owner = null, lease_until = null
                     from unnest($2::uuid[], $3::timestamptz[]) as v (id, at)
                     where m.id = v.id and m.status = 'sending' and m.lease_owner = $1"
                ),
                &[&owner, &ids, &at],
            )
            .await?;
        }
        let (addresses, reasons): (Vec<String>, Vec<&str>) = delivery
            .fates
            .iter()
            .filter_map(|f| f.suppress.clone())
            .unzip();
        if !addresses.is_empty() {
            tx.execute(
                "insert into public.suppressions (channel, address, reason, source)
                 select $1, v.address, v.reason, $2
                 from unnest($3::text[], $4::text[]) as v (address, reason)
                 on conflict (channel, address) do nothing",
                &[
                    &campaign.channel,
                    &format!("provider:{provider}"),
                    &addresses,
                    &reasons,
                ],
            )
            .await?;
        }
        let count = |s: &str| delivery.fates.iter().filter(|f| f.status == s).count() as i64;
        let (sent, failed, unknown) = (count("sent"), count("failed"), count("unknown"));
        report.sent += sent;
        report.failed += failed;
        report.unknown += unknown;
        report.released += delivery.release.len() as i64;
        // `queued` counts rows not yet settled, so it falls by the rows this batch settled;
        // rows handed back stay in it, and those put off by quiet hours count as deferred.
        let deferred = delivery.release.iter().filter(|r| r.1.is_some()).count() as i64;
        let delta = json!({"sent": sent, "failed": failed, "provider_failed": failed, "unknown": unknown,
                           "queued": -i64::try_from(settled).unwrap_or(i64::MAX), "deferred": deferred});
        let stats: Value = tx
            .query_one(
                "select app_private.add_campaign_stats($1, $2)",
                &[&campaign.id, &delta],
            )
            .await?
            .get(0);
        tx.commit().await?;
        drop(client);
        let sent = stats["sent"].as_f64().unwrap_or(0.0);
        let failed = stats["provider_failed"].as_f64().unwrap_or(0.0);
        let attempts = sent + failed;
        if attempts >= min_attempts as f64 && attempts > 0.0 && failed / attempts > error_rate {
            self.pause(
                campaign.id,
                &format!(
                    "error rate {:.0}% over {} attempts crossed the {:.0}% threshold",
                    100.0 * failed / attempts,
                    attempts,
                    100.0 * error_rate
                ),
            )
            .await?;
        }
        Ok(())
    }
}

/// (error rate, minimum attempts): the campaign's own `settings.auto_pause` wins over the app
/// setting `sending.auto_pause`.
fn auto_pause_threshold(campaign: &CampaignView, settings: &Settings) -> (f64, i64) {
    let own = &campaign.settings["auto_pause"];
    (
        own["error_rate"]
            .as_f64()
            .unwrap_or(settings.auto_pause.error_rate),
        own["min_attempts"]
            .as_i64()
            .unwrap_or(settings.auto_pause.min_attempts),
    )
}

enum Classified {
    Fate(Fate),
    Retry(Option<Duration>),
    Fatal(String),
}

fn classify(id: Uuid, to: &str, answer: Result<SendOutcome, ProviderError>) -> Classified {
    match answer {
        Ok(SendOutcome::Accepted {
            provider_message_id,
        }) => Classified::Fate(Fate {
            id,
            status: "sent",
            provider_message_id: Some(provider_message_id),
            code: None,
            message: None,
            suppress: None,
        }),
        Ok(SendOutcome::Rejected {
            code,
            message,
            suppression,
        }) => Classified::Fate(Fate {
            id,
            status: "failed",
            provider_message_id: None,
            code: Some(code),
            message: Some(message),
            suppress: suppression.map(|s| (to.to_lowercase(), s.as_str())),
        }),
        Err(ProviderError::Ambiguous { message, .. }) => Classified::Fate(Fate {
            id,
            status: "unknown",
            provider_message_id: None,
            code: Some("provider_timeout".into()),
            message: Some(message),
            suppress: None,
        }),
        Err(ProviderError::Transient { retry_after, .. }) => Classified::Retry(retry_after),
        Err(ProviderError::Fatal { message, .. }) => Classified::Fatal(message),
    }
}
