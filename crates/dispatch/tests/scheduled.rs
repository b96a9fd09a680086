//! Scheduled campaigns started by the sweep (and the punctual start job): once, validated.

use gimbal_db::{Access, RequestScope};
use gimbal_dispatch::scheduled::{self, StartOutcome};
use uuid::Uuid;

use crate::support::Harness;

/// A campaign saved as scheduled, due `offset` from now (e.g. `- interval '1 second'`).
async fn scheduled_at(h: &Harness, channel: &str, offset: &str) -> Uuid {
    let id = h.campaign(channel, 3, None, "{}").await;
    h.sql(&format!(
        "update public.campaigns set status = 'scheduled', send_at = now() {offset} where id = '{id}'"
    ))
    .await;
    id
}

async fn sweep(h: &Harness, only: Option<Uuid>) -> Vec<StartOutcome> {
    let mut client = h.pool.get().await.unwrap();
    let tx = gimbal_db::scope::begin(
        &mut client,
        &RequestScope::service("test"),
        Access::ReadWrite,
    )
    .await
    .unwrap();
    let out = scheduled::start_due(&tx, only, 2).await.unwrap();
    tx.commit().await.unwrap();
    out
}

async fn send_jobs(h: &Harness, id: Uuid) -> i64 {
    h.count(&format!(
        "select count(*) from public.jobs where kind = 'campaign.send' and payload->>'campaign_id' = '{id}'"
    ))
    .await
}

#[tokio::test]
async fn the_sweep_starts_due_campaigns_and_leaves_future_ones() {
    let h = Harness::new().await;
    let due = scheduled_at(&h, "sms", "- interval '1 second'").await;
    let later = scheduled_at(&h, "sms", "+ interval '1 hour'").await;
    let draft = scheduled_at(&h, "sms", "- interval '1 second'").await;
    h.sql(&format!(
        "update public.campaigns set status = 'draft' where id = '{draft}'"
    ))
    .await;

    let outcomes = sweep(&h, None).await;

    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    assert_eq!(outcomes[0].campaign_id, due);
    assert_eq!(outcomes[0].status, "running");
    assert_eq!(outcomes[0].job_ids.len(), 2);
    assert_eq!(h.stats(due).await["status"], "running");
    assert_eq!(h.stats(later).await["status"], "scheduled");
    assert_eq!(h.stats(draft).await["status"], "draft");
    assert_eq!(send_jobs(&h, later).await + send_jobs(&h, draft).await, 0);
    // a second sweep finds nothing left to start
    assert!(sweep(&h, None).await.is_empty());
    assert_eq!(send_jobs(&h, due).await, 2);
}

#[tokio::test]
async fn two_concurrent_sweeps_start_a_campaign_once() {
    let h = Harness::new().await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(scheduled_at(&h, "email", "- interval '1 second'").await);
    }

    let (a, b) = tokio::join!(sweep(&h, None), sweep(&h, None));

    let mut started: Vec<Uuid> = a.iter().chain(&b).map(|o| o.campaign_id).collect();
    started.sort();
    ids.sort();
    assert_eq!(started, ids, "each campaign started by exactly one sweep");
    for id in ids {
        assert_eq!(send_jobs(&h, id).await, 2, "one start's worth of jobs");
        assert_eq!(h.stats(id).await["status"], "running");
    }
}

#[tokio::test]
async fn a_due_campaign_that_cannot_be_sent_fails_with_the_reason() {
    let h = Harness::new().await;
    let no_link = scheduled_at(&h, "email", "- interval '1 second'").await;
    h.sql(&format!(
        "update public.templates set body = 'Hi {{{{first_name}}}} {{{{company_postal_address}}}}', html_body = null
         where id = '{no_link}'"
    ))
    .await;

    let outcomes = sweep(&h, Some(no_link)).await;

    assert_eq!(outcomes[0].status, "failed");
    let stats = h.stats(no_link).await;
    assert_eq!(stats["status"], "failed");
    let reason = stats["stats"]["failed_reason"].as_str().unwrap();
    assert!(
        reason.contains("unsubscribe_url") && !reason.contains("postal address"),
        "{reason}"
    );
    assert_eq!(send_jobs(&h, no_link).await, 0);

    // the postal address setting is missing: named, and nothing is sent either
    let no_address = scheduled_at(&h, "email", "- interval '1 second'").await;
    h.sql("delete from public.app_settings where key = 'company_postal_address'")
        .await;
    sweep(&h, None).await;
    let stats = h.stats(no_address).await;
    assert_eq!(stats["status"], "failed");
    assert!(
        stats["stats"]["failed_reason"]
            .as_str()
            .unwrap()
            .starts_with("company_postal_address:"),
        "{stats}"
    );
    assert_eq!(send_jobs(&h, no_address).await, 0);
    assert_eq!(h.sendgrid.count(), 0);
}

#[tokio::test]
async fn a_campaign_locked_by_a_starting_transaction_is_skipped() {
    let h = Harness::new().await;
    let id = scheduled_at(&h, "sms", "- interval '1 second'").await;
    let mut client = h.pool.get().await.unwrap();
    let tx = gimbal_db::scope::begin(
        &mut client,
        &RequestScope::service("test"),
        Access::ReadWrite,
    )
    .await
    .unwrap();
    let first = scheduled::start_due(&tx, Some(id), 1).await.unwrap();
    assert_eq!(first.len(), 1);
    // while the first start is uncommitted, another sweep neither waits nor starts it
    assert!(sweep(&h, None).await.is_empty());
    tx.commit().await.unwrap();
    assert!(sweep(&h, None).await.is_empty());
    assert_eq!(send_jobs(&h, id).await, 1);
}
