//! Events the database raises: triggers on `campaigns` and `sync_logs` enqueue a
//! `notifications.event` job (`{"event_type", "user_id", "subject": {…}}`) when a campaign
//! completes, pauses or fails, or a sync fails or finishes with rejected rows. The handler
//! words the message and calls [`crate::notify`]. Other domains with no row to watch (a
//! report that was rendered) enqueue the same job, or call `notify` directly.

use gimbal_db::{Access, RequestScope};
use gimbal_jobs::{JobContext, JobFailure, JobResult, Registry};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::NotifyError;

pub const EVENT_JOB: &str = "notifications.event";

pub fn register(registry: &mut Registry) {
    registry.register(EVENT_JOB, |ctx: JobContext, payload: Value| async move {
        handle(ctx, payload).await
    });
}

/// A notification's wording.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub title: String,
    pub body: String,
}

fn text(subject: &Value, key: &str) -> String {
    subject
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or("(unnamed)")
        .to_string()
}

fn number(subject: &Value, key: &str) -> i64 {
    subject.get(key).and_then(Value::as_i64).unwrap_or(0)
}

/// The title and body for an event about `subject`.
pub fn message_for(event_type: &str, subject: &Value) -> Option<Message> {
    let (title, body) = match event_type {
        "campaign.completed" => (
            format!("Campaign \"{}\" finished", text(subject, "name")),
            "Every message has been handed to the provider.".to_string(),
        ),
        "campaign.paused" => (
            format!(
                "Campaign \"{}\" stopped: {}",
                text(subject, "name"),
                text(subject, "status")
            ),
            "Sending stopped because of errors; open the campaign to see them and resume."
                .to_string(),
        ),
        "sync.failed" => (
            format!("Sync of \"{}\" failed", text(subject, "data_source_name")),
            subject
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("no error message was recorded")
                .chars()
                .take(500)
                .collect(),
        ),
        "import.completed_with_rejects" => (
            format!(
                "Import into \"{}\" finished with rejected rows",
                text(subject, "data_source_name")
            ),
            format!(
                "{} rows read, {} rejected.",
                number(subject, "rows_read"),
                number(subject, "rows_rejected")
            ),
        ),
        "report.ready" => (
            format!("Report \"{}\" is ready", text(subject, "name")),
            "Open it from the reports page.".to_string(),
        ),
        _ => return None,
    };
    Some(Message { title, body })
}

async fn handle(ctx: JobContext, payload: Value) -> JobResult {
    let event_type = payload
        .get("event_type")
        .and_then(Value::as_str)
        .ok_or_else(|| JobFailure::permanent("payload.event_type is missing"))?;
    let user_id: Uuid = payload
        .get("user_id")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| JobFailure::permanent("payload.user_id is not a user id"))?;
    let subject = payload.get("subject").cloned().unwrap_or(json!({}));
    let message = message_for(event_type, &subject)
        .ok_or_else(|| JobFailure::permanent(format!("unknown event type {event_type:?}")))?;
    let mut client = ctx.pool.get().await.map_err(JobFailure::retry)?;
    let tx = gimbal_db::scope::begin(
        &mut client,
        &RequestScope::service("notifications.event"),
        Access::ReadWrite,
    )
    .await
    .map_err(JobFailure::retry)?;
    let delivery = crate::notify(
        &tx,
        user_id,
        event_type,
        &message.title,
        &message.body,
        subject,
    )
    .await
    .map_err(|e| match e {
        NotifyError::Invalid { .. } => JobFailure::permanent(e),
        NotifyError::Db(_) => JobFailure::retry(e),
    })?;
    tx.commit().await.map_err(JobFailure::retry)?;
    Ok(json!({
        "notification_id": delivery.notification_id,
        "in_app": delivery.in_app,
        "email_job": delivery.email_job,
        "sms_job": delivery.sms_job,
    }))
}
