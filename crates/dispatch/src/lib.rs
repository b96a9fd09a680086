//! gimbal-dispatch: the sending engine.
//!
//! - [`control`]: what the `send-campaign`, `campaign-control` and `test-send` functions call,
//!   in the caller's transaction (RLS decides who may): validation (template, audience, sender,
//!   CAN-SPAM content) and the status transitions that enqueue or stop work.
//! - [`materialise`]: the recipients of a campaign (audience minus suppressions minus contacts
//!   without consent for the channel), rendered, as message rows — in bulk, once.
//! - [`run`]: the `campaign.send` job. Claims batches of message rows with a lease before any
//!   provider call, records outcomes after, turns expired leases into `unknown`, honours rate
//!   limits shared by all workers, quiet hours, `Retry-After`, and the auto-pause threshold.
//! - [`transactional`]: the `email.send` / `sms.send` jobs other features enqueue.
//! - [`scheduled`]: the `campaign.start` job and the `campaigns.start_due` sweep that start
//!   scheduled campaigns at their `send_at`.
//! - [`quiet_hours`], [`settings`], [`rate`]: the rules those follow.

pub mod control;
pub mod materialise;
pub mod quiet_hours;
pub mod rate;
pub mod run;
pub mod scheduled;
pub mod settings;
pub mod transactional;

use std::{sync::Arc, time::Duration};

use gimbal_db::{Access, DbError, Pool, RequestScope, Transaction};
use gimbal_jobs::{JobFailure, JobResult, Registry};
use gimbal_providers::Providers;
use uuid::Uuid;

pub use control::{ControlAction, Started};
pub use run::RunReport;

/// The job kind that sends a campaign.
pub const CAMPAIGN_SEND: &str = "campaign.send";
/// The transactional job kinds (a contract with the features that enqueue them).
pub const EMAIL_SEND: &str = "email.send";
pub const SMS_SEND: &str = "sms.send";

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("job queue: {0}")]
    Jobs(#[from] gimbal_jobs::JobError),
}

impl From<tokio_postgres::Error> for DispatchError {
    fn from(err: tokio_postgres::Error) -> Self {
        DispatchError::Db(DbError::from(err))
    }
}

impl From<deadpool_postgres::PoolError> for DispatchError {
    fn from(err: deadpool_postgres::PoolError) -> Self {
        DispatchError::Db(DbError::from(err))
    }
}

impl DispatchError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        DispatchError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// How the engine behaves; every duration is configurable so tests can run with short ones.
#[derive(Clone, Debug)]
pub struct DispatchConfig {
    /// Prefix of the lease owner written on claimed rows (the job id is appended).
    pub worker_id: String,
    /// How long a claimed message row is reserved for the provider call.
    pub lease: Duration,
    /// Public base of the functions, e.g. `https://<ref>.supabase.co/functions/v1`: unsubscribe
    /// links and Twilio status callbacks point under it.
    pub functions_url: String,
    /// Signs unsubscribe links ([`gimbal_campaigns::unsubscribe::link_key`]).
    pub unsubscribe_key: [u8; 32],
    /// Twilio requests in flight per worker.
    pub sms_concurrency: usize,
    /// Message rows claimed at once.
    pub sms_batch: usize,
    pub email_batch: usize,
    /// Retries of a 429/5xx inside one job run before the rows go back to the queue.
    pub max_transient_retries: u32,
    /// First backoff when the provider gave no `Retry-After`; doubles per retry.
    pub retry_base: Duration,
    /// Longest a run waits for other workers' leases to end before it leaves a follow-up job.
    pub max_lease_wait: Duration,
    /// Jobs enqueued per campaign start (workers that may share one campaign).
    pub parallelism: usize,
    /// Recipients read, rendered and committed per materialisation page; senders start on the
    /// first page.
    pub materialise_page: usize,
}

impl DispatchConfig {
    pub fn new(functions_url: &str, unsubscribe_key: [u8; 32]) -> Self {
        DispatchConfig {
            worker_id: "worker".into(),
            lease: Duration::from_secs(120),
            functions_url: functions_url.trim_end_matches('/').to_string(),
            unsubscribe_key,
            sms_concurrency: 32,
            sms_batch: 200,
            email_batch: 1000,
            max_transient_retries: 5,
            retry_base: Duration::from_millis(500),
            max_lease_wait: Duration::from_secs(10),
            parallelism: 2,
            materialise_page: 5_000,
        }
    }

    pub fn unsubscribe_url(&self) -> String {
        format!("{}/unsubscribe", self.functions_url)
    }

    pub fn twilio_status_url(&self) -> String {
        format!("{}/twilio-status", self.functions_url)
    }
}

/// The engine: a pool (service-role work), the providers, and its configuration.
#[derive(Clone)]
pub struct Dispatcher {
    pub pool: Pool,
    pub providers: Providers,
    pub config: Arc<DispatchConfig>,
}

impl Dispatcher {
    pub fn new(pool: Pool, providers: Providers, config: DispatchConfig) -> Self {
        Dispatcher {
            pool,
            providers,
            config: Arc::new(config),
        }
    }

    /// Registers `campaign.send`, `email.send` and `sms.send`.
    pub fn register(&self, registry: &mut Registry) {
        let engine = self.clone();
        registry.register(CAMPAIGN_SEND, move |ctx, payload| {
            let engine = engine.clone();
            async move { engine.campaign_job(ctx, payload).await }
        });
        let engine = self.clone();
        registry.register(EMAIL_SEND, move |ctx, payload| {
            let engine = engine.clone();
            async move { transactional::email_job(&engine, ctx, payload).await }
        });
        let engine = self.clone();
        registry.register(SMS_SEND, move |ctx, payload| {
            let engine = engine.clone();
            async move { transactional::sms_job(&engine, ctx, payload).await }
        });
        let engine = self.clone();
        registry.register(scheduled::CAMPAIGN_START, move |_ctx, payload| {
            let engine = engine.clone();
            async move {
                let id = payload["campaign_id"]
                    .as_str()
                    .and_then(|s| s.parse::<Uuid>().ok())
                    .ok_or_else(|| JobFailure::permanent("payload.campaign_id must be a uuid"))?;
                engine.start_due(Some(id)).await
            }
        });
        let engine = self.clone();
        registry.register(scheduled::START_DUE, move |_ctx, _payload| {
            let engine = engine.clone();
            async move { engine.start_due(None).await }
        });
    }

    /// Starts due scheduled campaigns (one, or all) in one service-role transaction.
    pub async fn start_due(&self, only: Option<Uuid>) -> JobResult {
        let run = async {
            let mut client = self.pool.get().await?;
            let tx = Self::service(&mut client, "dispatch/start-due").await?;
            let outcomes = scheduled::start_due(&tx, only, self.config.parallelism).await?;
            tx.commit().await.map_err(DbError::from)?;
            Ok::<_, DispatchError>(outcomes)
        };
        match run.await {
            Ok(outcomes) => Ok(serde_json::json!({ "started": outcomes })),
            Err(e) => Err(job_failure(&e)),
        }
    }

    /// A service-role transaction: the worker's explicit, narrow way into the data.
    pub(crate) async fn service<'c>(
        client: &'c mut gimbal_db::postgres::Client,
        path: &str,
    ) -> Result<Transaction<'c>, DispatchError> {
        let scope = RequestScope::service(path);
        Ok(gimbal_db::scope::begin(client, &scope, Access::ReadWrite).await?)
    }
}

/// The segments an SMS body takes, as stored on its row (`None` for an empty body: the column
/// counts at least one).
pub(crate) fn sms_segments(body: &str) -> Option<i32> {
    let segments = gimbal_templates::sms_segments(body).segments;
    (segments > 0).then(|| i32::try_from(segments).unwrap_or(i32::MAX))
}

/// Maps an engine error to what the job queue should do with the run.
pub(crate) fn job_failure(err: &DispatchError) -> JobFailure {
    match err {
        DispatchError::Invalid { .. } | DispatchError::NotFound(_) => JobFailure::permanent(err),
        _ => JobFailure::retry(err),
    }
}

/// The public base URL of the functions, which unsubscribe links and Twilio status callbacks
/// point at: `GIMBAL_PUBLIC_FUNCTIONS_URL` when set, else `<GIMBAL_PUBLIC_URL><prefix>/functions/v1`
/// (the origin the webhooks verify Twilio's signature against, so callbacks verify), else
/// `<SUPABASE_URL>/functions/v1` (where the Supabase forwarders live), else this host's own
/// address (local use).
pub fn public_functions_url(
    public_url: Option<&str>,
    supabase_url: Option<&str>,
    bind: std::net::SocketAddr,
    path_prefix: &str,
) -> String {
    std::env::var("GIMBAL_PUBLIC_FUNCTIONS_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| {
            public_url.map(|u| format!("{}{path_prefix}/functions/v1", u.trim_end_matches('/')))
        })
        .or_else(|| supabase_url.map(|u| format!("{}/functions/v1", u.trim_end_matches('/'))))
        .unwrap_or_else(|| format!("http://{bind}{path_prefix}/functions/v1"))
        .trim_end_matches('/')
        .to_string()
}

/// The unsubscribe-link key, derived from `GIMBAL_ENCRYPTION_KEY` (base64 of 32 bytes) exactly
/// as the `unsubscribe` function derives the key it verifies with; `None` for a malformed key.
pub fn unsubscribe_key(encryption_key_b64: &str) -> Option<[u8; 32]> {
    gimbal_campaigns::unsubscribe::link_key_from_base64(encryption_key_b64)
}
