//! Provider faults and limits: 429/5xx retried honouring Retry-After, permanent errors feeding
//! suppressions, rate limits shared across workers, and the auto-pause threshold.

use std::time::{Duration, Instant};

use gimbal_providers::mock::Fault;
use serde_json::json;

use crate::support::Harness;

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried_honouring_retry_after() {
    let h = Harness::new().await;
    let id = h.campaign("sms", 5, None, "{}").await;
    h.twilio.fail_next(
        1,
        Fault::RateLimited {
            retry_after_secs: 1,
        },
    );
    h.twilio.fail_next(2, Fault::ServerError);
    let started = Instant::now();

    let report = h.dispatcher().run_campaign(id, "w").await.unwrap();

    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited for Retry-After"
    );
    assert_eq!(report.sent, 5);
    assert_eq!(h.twilio.count(), 5);
    assert!(h.twilio.duplicates().is_empty());
    assert_eq!(h.twilio.requests(), 8);
}

#[tokio::test]
async fn sendgrid_429_is_retried_after_the_advertised_delay() {
    let h = Harness::new().await;
    let id = h.campaign("email", 3, None, "{}").await;
    h.sendgrid.fail_next(
        1,
        Fault::RateLimited {
            retry_after_secs: 1,
        },
    );
    h.sendgrid.fail_next(1, Fault::ServerError);
    let started = Instant::now();
    let report = h.dispatcher().run_campaign(id, "w").await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(report.sent, 3);
    assert_eq!(h.sendgrid.count(), 3);
    assert_eq!(h.sendgrid.requests(), 3);
}

#[tokio::test]
async fn retries_that_run_out_put_the_rows_back_and_fail_the_run_for_a_later_retry() {
    let h = Harness::new().await;
    let id = h.campaign("sms", 3, None, "{}").await;
    h.twilio.fail_always(Some(Fault::ServerError));
    let mut config = h.config();
    config.max_transient_retries = 2;
    let err = h
        .dispatcher_with(config, Duration::from_secs(5))
        .run_campaign(id, "w")
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        gimbal_dispatch::run::RunError::Transient { .. }
    ));
    assert_eq!(h.statuses("sms", id).await, json!({"queued": 3}));
    h.twilio.fail_always(None);
    let report = h.dispatcher().run_campaign(id, "w2").await.unwrap();
    assert_eq!(report.sent, 3);
    assert_eq!(h.twilio.count(), 3);
}

#[tokio::test]
async fn opted_out_and_invalid_numbers_fail_and_are_suppressed() {
    let h = Harness::new().await;
    let id = h.campaign("sms", 4, None, "{}").await;
    h.twilio.opt_out("+15550200001");
    h.twilio.invalid("+15550200002");

    let report = h.dispatcher().run_campaign(id, "w").await.unwrap();

    assert_eq!((report.sent, report.failed), (2, 2));
    let failed = h
        .value(&format!(
            "select jsonb_object_agg(to_phone, error_code) as codes from public.sms_messages
             where campaign_id = '{id}' and status = 'failed'"
        ))
        .await;
    assert_eq!(
        failed["codes"],
        json!({"+15550200001": "21610", "+15550200002": "21211"})
    );
    let suppressions = h
        .value("select jsonb_object_agg(address, reason) as r from public.suppressions where channel = 'sms'")
        .await;
    assert_eq!(
        suppressions["r"],
        json!({"+15550200001": "provider_opt_out", "+15550200002": "invalid"})
    );
}

#[tokio::test]
async fn a_campaign_pauses_itself_when_its_error_rate_crosses_the_threshold() {
    let h = Harness::new().await;
    let id = h
        .campaign(
            "sms",
            40,
            None,
            r#"{"auto_pause": {"error_rate": 0.3, "min_attempts": 10}}"#,
        )
        .await;
    // 35 of 40 numbers are invalid, so whichever 10 rows the first claim takes, at least half
    // fail (claims follow no particular order)
    for n in 1..=40 {
        if n % 8 != 0 {
            h.twilio.invalid(&format!("+1555020{n:04}"));
        }
    }
    let mut config = h.config();
    config.sms_batch = 10;

    let report = h
        .dispatcher_with(config, Duration::from_secs(5))
        .run_campaign(id, "w")
        .await
        .unwrap();

    assert_eq!(report.outcome, "paused");
    let stats = h.stats(id).await;
    assert_eq!(stats["status"], "paused");
    assert!(
        stats["stats"]["paused_reason"]
            .as_str()
            .unwrap()
            .contains("error rate")
    );
    assert_eq!(h.twilio.requests(), 10, "stopped after the first batch");
    assert_eq!(h.statuses("sms", id).await["queued"], 30);
}

#[tokio::test]
async fn the_rate_limit_holds_across_two_workers() {
    let h = Harness::new().await;
    h.sql(r#"update public.app_settings set value = '{"per_second": 20, "burst": 1}' where key = 'rate_limit.sms'"#)
        .await;
    let id = h.campaign("sms", 40, None, "{}").await;
    let a = h.dispatcher();
    let b = h.dispatcher();
    let started = Instant::now();

    let (ra, rb) = tokio::join!(a.run_campaign(id, "a"), b.run_campaign(id, "b"));

    assert_eq!(ra.unwrap().sent + rb.unwrap().sent, 40);
    let elapsed = started.elapsed();
    // 40 messages at 20/s with a burst of 1 cannot take less than ~1.95 s, however many workers
    assert!(elapsed >= Duration::from_millis(1900), "{elapsed:?}");
    assert!(h.twilio.duplicates().is_empty());
}

#[tokio::test]
async fn budget_a_claim_did_not_use_is_given_back() {
    let h = Harness::new().await;
    // a batch is a second of budget (10); the campaign has 3 recipients, and the run's last
    // claim finds none
    h.sql(r#"update public.app_settings set value = '{"per_second": 10, "burst": 10}' where key = 'rate_limit.sms'"#)
        .await;
    let id = h.campaign("sms", 3, None, "{}").await;
    h.dispatcher().run_campaign(id, "w").await.unwrap();
    assert_eq!(h.twilio.count(), 3);
    // the provider's bucket is ahead of the clock by the 3 sent (0.3 s), not by the 20
    // reserved for the two claims (2 s)
    let ahead = h
        .value(
            "select max(extract(epoch from tat - clock_timestamp()))::float8 as s
             from app_private.send_rate_buckets where bucket like 'provider:%'",
        )
        .await;
    let ahead = ahead["s"].as_f64().unwrap();
    assert!(ahead < 0.5, "{ahead} s of budget still reserved");
}

#[tokio::test]
async fn a_per_sender_limit_is_stricter_than_the_provider_limit() {
    let h = Harness::new().await;
    h.sql(
        r#"update public.app_settings set value = '{"per_second": 1000, "burst": 1000, "senders": {"+15550100199": {"per_second": 10, "burst": 1}}}'
           where key = 'rate_limit.sms'"#,
    )
    .await;
    let id = h.campaign("sms", 15, None, "{}").await;
    let started = Instant::now();
    h.dispatcher().run_campaign(id, "w").await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(1300),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(h.twilio.count(), 15);
}

#[tokio::test]
async fn bad_credentials_pause_the_campaign_and_send_nothing() {
    let h = Harness::new().await;
    let id = h.campaign("email", 3, None, "{}").await;
    let providers = gimbal_providers::Providers::build(
        &gimbal_providers::ProviderConfig {
            sms: gimbal_providers::config::SmsChoice::Local,
            email: gimbal_providers::config::EmailChoice::SendGrid {
                base_url: h.sendgrid.url(),
                api_key: secrecy::SecretString::from("SG.wrong"),
            },
            timeout: Duration::from_secs(5),
        },
        h.pool.clone(),
    )
    .unwrap();
    let engine = gimbal_dispatch::Dispatcher::new(h.pool.clone(), providers, h.config());
    let report = engine.run_campaign(id, "w").await.unwrap();
    assert_eq!(report.outcome, "paused");
    assert_eq!(h.statuses("email", id).await, json!({"queued": 3}));
    assert!(
        h.stats(id).await["stats"]["paused_reason"]
            .as_str()
            .unwrap()
            .contains("401")
    );
}
