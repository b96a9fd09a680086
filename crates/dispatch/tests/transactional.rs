//! `email.send` and `sms.send`: the contract other features enqueue against.

use std::time::Duration;

use gimbal_db::{Access, RequestScope};
use gimbal_jobs::{Jobs, NewJob, Registry, WorkerConfig};
use gimbal_providers::mock::Fault;
use serde_json::{Value, json};

use crate::support::Harness;

fn jobs(h: &Harness) -> Jobs {
    let mut registry = Registry::default();
    h.dispatcher().register(&mut registry);
    let config = WorkerConfig {
        worker_id: "tx-test".into(),
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(10),
        ..WorkerConfig::default()
    };
    Jobs::new(h.pool.clone(), registry, config)
}

async fn enqueue(h: &Harness, kind: &str, payload: Value) -> i64 {
    let mut client = h.pool.get().await.unwrap();
    let tx = gimbal_db::scope::begin(
        &mut client,
        &RequestScope::service("test"),
        Access::ReadWrite,
    )
    .await
    .unwrap();
    let id = gimbal_jobs::enqueue(&tx, &NewJob::new(kind, payload))
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn job(h: &Harness, id: i64) -> Value {
    h.value(&format!(
        "select status, attempts, last_error, result from public.jobs where id = {id}"
    ))
    .await
}

/// Runs due jobs until none are left (retries are made due at once).
async fn drain(h: &Harness, jobs: &Jobs) {
    for _ in 0..10 {
        h.sql("update public.jobs set run_at = now() where status = 'queued'")
            .await;
        if jobs.tick(10).await.unwrap().jobs_run == 0 {
            return;
        }
    }
}

#[tokio::test]
async fn email_send_delivers_with_attachments_in_sendgrid_format() {
    let h = Harness::new().await;
    let id = enqueue(
        &h,
        "email.send",
        json!({"to": "Boss@Example.com", "subject": "Weekly report", "text": "See attached.",
               "html": null, "category": "report", "reference": "report-run:7",
               "attachments": [{"filename": "report.csv", "content_type": "text/csv", "content_base64": "YSxiCjEsMgo="}]}),
    )
    .await;
    drain(&h, &jobs(&h)).await;

    assert_eq!(job(&h, id).await["status"], "succeeded");
    let received = h.sendgrid.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].to, "boss@example.com");
    assert_eq!(received[0].from.as_deref(), Some("reports@example.com"));
    assert_eq!(received[0].body, "See attached.");
    assert_eq!(received[0].attachments[0]["filename"], "report.csv");
    assert_eq!(received[0].attachments[0]["type"], "text/csv");
    assert_eq!(received[0].attachments[0]["content"], "YSxiCjEsMgo=");
    let row = h
        .value(&format!(
            "select status, category, reference from public.email_messages where job_id = {id}"
        ))
        .await;
    assert_eq!(
        row,
        json!({"status": "sent", "category": "report", "reference": "report-run:7"})
    );
}

#[tokio::test]
async fn sms_send_is_retried_after_a_429_and_sent_once() {
    let h = Harness::new().await;
    h.twilio.fail_next(
        1,
        Fault::RateLimited {
            retry_after_secs: 0,
        },
    );
    let id = enqueue(&h, "sms.send", json!({"to": "+15550100001", "body": "Your code is 1234", "category": "otp", "reference": "r1"})).await;
    drain(&h, &jobs(&h)).await;
    let j = job(&h, id).await;
    assert_eq!(j["status"], "succeeded");
    assert_eq!(j["attempts"], 2);
    assert_eq!(h.twilio.count(), 1);
    assert_eq!(h.twilio.received()[0].from.as_deref(), Some("+15550100100"));
}

#[tokio::test]
async fn a_crash_during_the_provider_call_is_not_resent_on_retry() {
    let h = Harness::new().await;
    let id = enqueue(
        &h,
        "sms.send",
        json!({"to": "+15550100002", "body": "hello"}),
    )
    .await;
    // simulate a worker that claimed the row, then died before recording the answer
    h.sql(&format!(
        "insert into public.sms_messages (to_phone, body, status, lease_owner, lease_until, job_id)
         values ('+15550100002', 'hello', 'sending', 'dead-worker', now() - interval '1 minute', {id})"
    ))
    .await;
    drain(&h, &jobs(&h)).await;
    let j = job(&h, id).await;
    assert_eq!(j["status"], "dead");
    assert!(j["last_error"].as_str().unwrap().contains("unknown"));
    assert_eq!(h.twilio.count(), 0);
    let row = h
        .value(&format!(
            "select status from public.sms_messages where job_id = {id}"
        ))
        .await;
    assert_eq!(row["status"], "unknown");
}

#[tokio::test]
async fn invalid_payloads_and_suppressed_addresses_fail_permanently() {
    let h = Harness::new().await;
    h.sql("insert into public.suppressions (channel, address, reason) values ('sms', '+15550100003', 'stop_keyword')")
        .await;
    let bad = enqueue(&h, "sms.send", json!({"to": "5550100", "body": "x"})).await;
    let stopped = enqueue(&h, "sms.send", json!({"to": "+15550100003", "body": "x"})).await;
    let unknown_field = enqueue(
        &h,
        "email.send",
        json!({"to": "a@b.c", "subject": "s", "text": "t", "cc": "x"}),
    )
    .await;
    drain(&h, &jobs(&h)).await;
    for id in [bad, stopped, unknown_field] {
        let j = job(&h, id).await;
        assert_eq!(j["status"], "dead", "{j}");
        assert_eq!(j["attempts"], 1, "{j}");
    }
    assert!(
        job(&h, stopped).await["last_error"]
            .as_str()
            .unwrap()
            .contains("suppressed")
    );
    assert_eq!(h.twilio.count(), 0);
}

#[tokio::test]
async fn a_campaign_job_out_of_attempts_pauses_the_campaign() {
    let h = Harness::new().await;
    let id = h.campaign("sms", 2, None, "{}").await;
    h.twilio.fail_always(Some(Fault::ServerError));
    let mut registry = Registry::default();
    let mut config = h.config();
    config.max_transient_retries = 0;
    gimbal_dispatch::Dispatcher::new(h.pool.clone(), h.providers(Duration::from_secs(5)), config)
        .register(&mut registry);
    let jobs = Jobs::new(
        h.pool.clone(),
        registry,
        WorkerConfig {
            worker_id: "tx-test".into(),
            backoff_base: Duration::from_millis(10),
            backoff_max: Duration::from_millis(10),
            ..WorkerConfig::default()
        },
    );
    let mut client = h.pool.get().await.unwrap();
    let tx = gimbal_db::scope::begin(
        &mut client,
        &RequestScope::service("test"),
        Access::ReadWrite,
    )
    .await
    .unwrap();
    let send = NewJob {
        max_attempts: 2,
        ..NewJob::new("campaign.send", json!({"campaign_id": id}))
    };
    let job_id = gimbal_jobs::enqueue(&tx, &send).await.unwrap().unwrap();
    tx.commit().await.unwrap();

    drain(&h, &jobs).await;

    assert_eq!(job(&h, job_id).await["status"], "dead");
    let stats = h.stats(id).await;
    assert_eq!(stats["status"], "paused");
    assert!(
        stats["stats"]["paused_reason"]
            .as_str()
            .unwrap()
            .contains("gave up after 2 attempts")
    );
    assert_eq!(h.statuses("sms", id).await, json!({"queued": 2}));
    assert_eq!(h.twilio.count(), 0);
}
