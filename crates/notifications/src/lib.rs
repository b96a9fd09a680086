//! Notifications. [`notify`] is the one entry point: it reads the user's preference for the
//! event type (or the default), writes the in-app row, and hands email and SMS to the job
//! queue as `email.send` / `sms.send` jobs — the same delivery path campaigns use, whose
//! handlers own the provider clients. Events raised by the database itself (a campaign that
//! finished or paused, a sync that failed or rejected rows) arrive as `notifications.event`
//! jobs, enqueued by triggers, and are turned into a notification by [`register`]'s handler.
//!
//! Users read, mark read and delete their own notifications and set their own preferences
//! through PostgREST under RLS; the `notifications` function adds mark-all-read and the
//! effective preferences (defaults filled in).

mod events;
mod preferences;

pub use events::{EVENT_JOB, Message, message_for, register};
pub use preferences::{
    Channels, EVENT_TYPES, PreferenceView, default_channels, effective_preferences, set_preference,
};

use gimbal_db::{DbError, Transaction};
use gimbal_jobs::NewJob;
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

pub const EMAIL_JOB: &str = "email.send";
pub const SMS_JOB: &str = "sms.send";

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<tokio_postgres::Error> for NotifyError {
    fn from(err: tokio_postgres::Error) -> Self {
        NotifyError::Db(err.into())
    }
}

impl From<gimbal_jobs::JobError> for NotifyError {
    fn from(err: gimbal_jobs::JobError) -> Self {
        match err {
            gimbal_jobs::JobError::Db(e) => NotifyError::Db(e),
            other => NotifyError::Db(DbError::Other(other.to_string())),
        }
    }
}

/// What [`notify`] did.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Delivery {
    /// Also the `reference` (`notification:<id>`) of the email and SMS jobs.
    pub notification_id: Uuid,
    pub in_app: bool,
    pub email_job: Option<i64>,
    pub sms_job: Option<i64>,
    /// Channels the preferences asked for but the user cannot be reached on (no email or
    /// phone on their account).
    pub unreachable: Vec<&'static str>,
}

/// Notifies `user_id` of an event, per their preferences. `tx` must be a service-role
/// transaction (delivery is server-side work); everything happens in it, so the in-app row
/// and the delivery jobs exist if and only if the caller's change commits.
pub async fn notify(
    tx: &Transaction<'_>,
    user_id: Uuid,
    event_type: &str,
    title: &str,
    body: &str,
    data: Value,
) -> Result<Delivery, NotifyError> {
    preferences::check_event_type(event_type)?;
    if title.trim().is_empty() {
        return Err(NotifyError::Invalid {
            field: "title".into(),
            message: "must not be empty".into(),
        });
    }
    let channels = preferences::channels_for(tx, user_id, event_type).await?;
    let id = Uuid::new_v4();
    let reference = format!("notification:{id}");
    let mut delivery = Delivery {
        notification_id: id,
        ..Default::default()
    };
    if channels.in_app {
        tx.execute(
            "insert into public.notifications (id, user_id, kind, title, body, data)
             values ($1, $2, $3, $4, $5, $6)",
            &[&id, &user_id, &event_type, &title, &body, &data],
        )
        .await?;
        delivery.in_app = true;
    }
    if !(channels.email || channels.sms) {
        return Ok(delivery);
    }
    let recipient = tx
        .query_opt(
            "select email, phone from app_private.notification_recipient($1)",
            &[&user_id],
        )
        .await?;
    let (email, phone): (Option<String>, Option<String>) = recipient
        .map(|r| (r.get(0), r.get(1)))
        .unwrap_or((None, None));
    if channels.email {
        match email {
            Some(to) => {
                let payload = json!({
                    "to": to,
                    "subject": title,
                    "text": body,
                    "html": null,
                    "attachments": [],
                    "category": "notification",
                    "reference": reference,
                });
                delivery.email_job = enqueue(tx, EMAIL_JOB, payload, &reference).await?;
            }
            None => delivery.unreachable.push("email"),
        }
    }
    if channels.sms {
        match phone {
            Some(to) => {
                let text = if body.is_empty() {
                    title.to_string()
                } else {
                    format!("{title}: {body}")
                };
                let payload = json!({
                    "to": to,
                    "body": text,
                    "category": "notification",
                    "reference": reference,
                });
                delivery.sms_job = enqueue(tx, SMS_JOB, payload, &reference).await?;
            }
            None => delivery.unreachable.push("sms"),
        }
    }
    tracing::info!(
        notification.id = %id,
        notification.event_type = event_type,
        notification.in_app = delivery.in_app,
        notification.email = delivery.email_job.is_some(),
        notification.sms = delivery.sms_job.is_some(),
        "notification delivered"
    );
    Ok(delivery)
}

async fn enqueue(
    tx: &Transaction<'_>,
    kind: &str,
    payload: Value,
    reference: &str,
) -> Result<Option<i64>, NotifyError> {
    let mut job = NewJob::new(kind, payload);
    job.dedupe_key = Some(format!("{reference}:{kind}"));
    Ok(gimbal_jobs::enqueue(tx, &job).await?)
}

/// Marks every unread notification of the caller read (RLS limits it to their own).
pub async fn mark_all_read(tx: &Transaction<'_>) -> Result<u64, NotifyError> {
    Ok(tx
        .execute(
            "update public.notifications set read_at = now()
             where read_at is null and user_id = auth.uid()",
            &[],
        )
        .await?)
}
