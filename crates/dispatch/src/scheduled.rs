//! Scheduled campaigns start on time, however they were scheduled.
//!
//! A campaign becomes `scheduled` either through `send-campaign` (which validates and enqueues
//! its `campaign.send` jobs at `send_at`) or merely by being saved with a `send_at` through the
//! `campaigns` function. For the second, two things start it:
//!
//! - a punctual `campaign.start` job due at `send_at`, enqueued when the campaign is saved.
//!   Its dedupe key carries the instant, so saving the same time twice enqueues one job; a job
//!   left behind by a reschedule or an unschedule finds, when it runs, that the campaign is no
//!   longer scheduled for now, and does nothing.
//! - the `campaigns.start_due` sweep, a cron schedule firing every minute, which starts every
//!   scheduled campaign whose `send_at` has passed: the safety net for a lost or late job.
//!
//! Both go through [`start_due`]: the due campaigns are locked (`for update skip locked`, so
//! concurrent sweeps and jobs never start one twice), validated exactly as `send-campaign`
//! validates, and started through the same [`control::activate`]. A campaign that fails
//! validation becomes `failed` with the reason in `stats.failed_reason` instead of waiting
//! silently for ever.

use chrono::{DateTime, Utc};
use gimbal_db::{Access, Pool, RequestScope, Transaction};
use gimbal_jobs::{NewJob, schedule};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::{DispatchError, control, settings::Settings};

/// The punctual start of one campaign, due at its `send_at`.
pub const CAMPAIGN_START: &str = "campaign.start";
/// The sweep for due scheduled campaigns.
pub const START_DUE: &str = "campaigns.start_due";
/// The cron schedule that fires [`START_DUE`] every minute.
pub const START_DUE_SCHEDULE: &str = "campaigns.start-due";

/// Most campaigns one sweep starts; the rest wait for the next minute.
const SWEEP_BATCH: i64 = 100;

/// What happened to one due campaign.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StartOutcome {
    pub campaign_id: Uuid,
    /// `running`, or `failed` when it did not pass validation.
    pub status: String,
    pub reason: Option<String>,
    pub job_ids: Vec<i64>,
}

/// Enqueues the `campaign.start` job at `send_at` for a campaign the caller has just saved as
/// scheduled, inside the caller's transaction (as `service_role`, which alone writes jobs), so
/// the job exists if and only if the save commits.
pub async fn enqueue_start(
    tx: &Transaction<'_>,
    id: Uuid,
    send_at: DateTime<Utc>,
) -> Result<Option<i64>, DispatchError> {
    let job = NewJob {
        run_at: Some(send_at),
        max_attempts: 10,
        dedupe_key: Some(format!(
            "{CAMPAIGN_START}:{id}:{}",
            send_at.timestamp_micros()
        )),
        ..NewJob::new(
            CAMPAIGN_START,
            json!({"campaign_id": id, "send_at": send_at}),
        )
    };
    Ok(control::as_service(tx, gimbal_jobs::enqueue(tx, &job)).await??)
}

/// Starts the scheduled campaigns whose `send_at` has come (only `only`, when given), in `tx`
/// (a service-role transaction). A campaign another transaction holds is skipped: that one
/// is starting it.
pub async fn start_due(
    tx: &Transaction<'_>,
    only: Option<Uuid>,
    parallelism: usize,
) -> Result<Vec<StartOutcome>, DispatchError> {
    let rows = tx
        .query(
            "select id from public.campaigns
             where status = 'scheduled' and send_at <= now() and ($1::uuid is null or id = $1)
             order by send_at
             limit $2
             for update skip locked",
            &[&only, &SWEEP_BATCH],
        )
        .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let settings = Settings::load(tx).await?;
    let mut outcomes = Vec::with_capacity(rows.len());
    for row in rows {
        let campaign = control::load(tx, row.get(0)).await?;
        outcomes.push(start_one(tx, &campaign, &settings, parallelism).await?);
    }
    Ok(outcomes)
}

async fn start_one(
    tx: &Transaction<'_>,
    campaign: &control::CampaignView,
    settings: &Settings,
    parallelism: usize,
) -> Result<StartOutcome, DispatchError> {
    if let Err(err) = control::prepare(campaign, settings, true) {
        let reason = err.to_string();
        tx.execute(
            "update public.campaigns
             set status = 'failed', stats = stats || jsonb_build_object('failed_reason', $2::text)
             where id = $1 and status = 'scheduled'",
            &[&campaign.id, &reason],
        )
        .await?;
        tracing::warn!(campaign.id = %campaign.id, reason, "scheduled campaign failed validation at its start time");
        return Ok(StartOutcome {
            campaign_id: campaign.id,
            status: "failed".into(),
            reason: Some(reason),
            job_ids: Vec::new(),
        });
    }
    let started = control::activate(tx, campaign, &["scheduled"], parallelism).await?;
    tracing::info!(campaign.id = %campaign.id, jobs = started.job_ids.len(), "scheduled campaign started");
    Ok(StartOutcome {
        campaign_id: campaign.id,
        status: started.status,
        reason: None,
        job_ids: started.job_ids,
    })
}

/// Creates (or keeps) the every-minute sweep schedule; idempotent, run at start-up.
pub async fn ensure_schedule(pool: &Pool) -> Result<(), DispatchError> {
    let mut client = pool.get().await?;
    let tx = gimbal_db::scope::begin(
        &mut client,
        &RequestScope::service("dispatch.schedule"),
        Access::ReadWrite,
    )
    .await?;
    schedule::upsert(
        &tx,
        &schedule::NewSchedule::new(START_DUE_SCHEDULE, "* * * * *", START_DUE),
    )
    .await?;
    tx.commit().await.map_err(gimbal_db::DbError::from)?;
    Ok(())
}
