//! Starting, scheduling, cancelling, and what a campaign must carry before it may be sent.

use gimbal_db::{Access, RequestScope};
use gimbal_dispatch::{ControlAction, DispatchError, control};
use serde_json::json;
use uuid::Uuid;

use crate::support::Harness;

async fn as_service<T>(h: &Harness, f: impl AsyncFnOnce(&gimbal_db::Transaction<'_>) -> T) -> T {
    let mut client = h.pool.get().await.unwrap();
    let tx = gimbal_db::scope::begin(
        &mut client,
        &RequestScope::service("test"),
        Access::ReadWrite,
    )
    .await
    .unwrap();
    let out = f(&tx).await;
    tx.commit().await.unwrap();
    out
}

async fn draft(h: &Harness, channel: &str) -> Uuid {
    let id = h.campaign(channel, 3, None, "{}").await;
    h.sql(&format!(
        "update public.campaigns set status = 'draft' where id = '{id}'"
    ))
    .await;
    id
}

#[tokio::test]
async fn starting_a_campaign_enqueues_its_workers_and_marks_it_running() {
    let h = Harness::new().await;
    let id = draft(&h, "email").await;
    let started = as_service(&h, async |tx| control::start(tx, id, 2).await)
        .await
        .unwrap();
    assert_eq!(started.status, "running");
    assert_eq!(started.job_ids.len(), 2);
    assert_eq!(h.stats(id).await["status"], "running");
    let again = as_service(&h, async |tx| control::start(tx, id, 2).await).await;
    assert!(matches!(again, Err(DispatchError::Conflict(_))));
}

#[tokio::test]
async fn a_scheduled_campaign_waits_for_send_at() {
    let h = Harness::new().await;
    let id = draft(&h, "sms").await;
    h.sql(&format!(
        "update public.campaigns set send_at = now() + interval '1 hour' where id = '{id}'"
    ))
    .await;
    let started = as_service(&h, async |tx| control::start(tx, id, 1).await)
        .await
        .unwrap();
    assert_eq!(started.status, "scheduled");
    let due = h
        .value(&format!(
            "select (run_at > now() + interval '59 minutes') as later from public.jobs where id = {}",
            started.job_ids[0]
        ))
        .await;
    assert_eq!(due["later"], true);
    // a worker that picks the job up early sends nothing and leaves it for later
    let report = h.dispatcher().run_campaign(id, "w").await.unwrap();
    assert_eq!(report.outcome, "scheduled");
    assert_eq!(h.twilio.count(), 0);
    // once due, it runs
    h.sql(&format!(
        "update public.campaigns set send_at = now() - interval '1 second' where id = '{id}'"
    ))
    .await;
    let report = h.dispatcher().run_campaign(id, "w").await.unwrap();
    assert_eq!(report.outcome, "completed");
    assert_eq!(h.twilio.count(), 3);
}

#[tokio::test]
async fn an_email_without_unsubscribe_link_or_postal_address_cannot_be_sent() {
    let h = Harness::new().await;
    let id = draft(&h, "email").await;
    h.sql(&format!(
        "update public.templates set body = 'Hi {{{{first_name}}}}', html_body = null where id = '{id}'"
    ))
    .await;
    let err = as_service(&h, async |tx| control::start(tx, id, 1).await)
        .await
        .unwrap_err();
    let DispatchError::Invalid { field, message } = err else {
        panic!("{err:?}")
    };
    assert_eq!(field, "template");
    assert!(message.contains("unsubscribe_url"), "{message}");
    assert!(message.contains("company_postal_address"), "{message}");
    assert_eq!(h.stats(id).await["status"], "draft");

    h.sql(&format!(
        "update public.templates set body = '{{{{company_postal_address}}}} {{{{unsubscribe_url}}}}' where id = '{id}';
         delete from public.app_settings where key = 'company_postal_address';"
    ))
    .await;
    let err = as_service(&h, async |tx| control::start(tx, id, 1).await)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DispatchError::Invalid { ref field, .. } if field == "company_postal_address"),
        "{err:?}"
    );
}

#[tokio::test]
async fn missing_parts_are_named() {
    let h = Harness::new().await;
    let id = draft(&h, "sms").await;
    for (sql, expected) in [
        ("from_address = null", "from_address"),
        ("audience_id = null", "audience_id"),
        ("template_id = null", "template_id"),
    ] {
        h.sql(&format!(
            "update public.campaigns set {sql} where id = '{id}'"
        ))
        .await;
        let err = as_service(&h, async |tx| control::start(tx, id, 1).await)
            .await
            .unwrap_err();
        assert!(
            matches!(err, DispatchError::Invalid { ref field, .. } if field == expected),
            "{err:?}"
        );
    }
    let bad = draft(&h, "sms").await;
    h.sql(&format!(
        "update public.templates set body = 'Hi {{{{favourite_colour}}}}' where id = '{bad}'"
    ))
    .await;
    let err = as_service(&h, async |tx| control::start(tx, bad, 1).await)
        .await
        .unwrap_err();
    assert!(
        matches!(err, DispatchError::Invalid { ref field, ref message } if field == "template.body" && message.contains("favourite_colour")),
        "{err:?}"
    );
}

#[tokio::test]
async fn pausing_stops_workers_and_cancelling_drops_unsent_messages() {
    let h = Harness::new().await;
    let id = h.campaign("sms", 30, None, "{}").await;
    as_service(&h, async |tx| {
        control::control(tx, id, ControlAction::Pause, 1).await
    })
    .await
    .unwrap();
    let report = h.dispatcher().run_campaign(id, "w").await.unwrap();
    assert_eq!(report.outcome, "paused");
    assert_eq!(h.twilio.count(), 0);
    let out = as_service(&h, async |tx| {
        control::control(tx, id, ControlAction::Cancel, 1).await
    })
    .await
    .unwrap();
    assert_eq!(out["status"], "cancelled");
    assert_eq!(h.stats(id).await["status"], "cancelled");
    let resumed = as_service(&h, async |tx| {
        control::control(tx, id, ControlAction::Resume, 1).await
    })
    .await;
    assert!(matches!(resumed, Err(DispatchError::Conflict(_))));
}

#[tokio::test]
async fn cancelling_mid_campaign_drops_what_was_never_handed_over() {
    let h = Harness::new().await;
    let id = h.campaign("sms", 30, None, "{}").await;
    // materialise by running with every request failing transiently, leaving 30 queued rows
    h.twilio
        .fail_always(Some(gimbal_providers::mock::Fault::ServerError));
    let mut config = h.config();
    config.max_transient_retries = 0;
    let _ = h
        .dispatcher_with(config, std::time::Duration::from_secs(5))
        .run_campaign(id, "w")
        .await;
    assert_eq!(h.statuses("sms", id).await, json!({"queued": 30}));
    let out = as_service(&h, async |tx| {
        control::control(tx, id, ControlAction::Cancel, 1).await
    })
    .await
    .unwrap();
    assert_eq!(out["unsent_dropped"], 30);
    assert_eq!(h.statuses("sms", id).await, json!({}));
    assert_eq!(h.stats(id).await["stats"]["cancelled_unsent"], 30);
}
