//! Quiet hours in the recipient's zone: deferred to the next window, not dropped.

use serde_json::json;

use crate::support::{Harness, zone_at_local_hour};

#[tokio::test]
async fn recipients_at_night_are_deferred_to_their_morning_and_the_rest_are_sent() {
    let h = Harness::new().await;
    let id = h
        .campaign("sms", 6, Some(&zone_at_local_hour(13)), "{}")
        .await;
    let night = zone_at_local_hour(2);
    h.sql(&format!(
        "update public.contacts set time_zone = '{night}' where phone in ('+15550200001', '+15550200002')"
    ))
    .await;

    let report = h.dispatcher().run_campaign(id, "w").await.unwrap();

    assert_eq!(report.outcome, "deferred");
    assert_eq!(report.sent, 4);
    assert_eq!(h.twilio.count(), 4);
    assert_eq!(h.statuses("sms", id).await, json!({"sent": 4, "queued": 2}));
    // the deferred rows wait for 8:00 their time, about six hours from 2:xx
    let wait = h
        .value(&format!(
            "select min(extract(epoch from not_before - now()) / 3600)::float8 as hours
             from public.sms_messages where campaign_id = '{id}' and status = 'queued'"
        ))
        .await;
    let hours = wait["hours"].as_f64().unwrap();
    assert!((5.0..=6.01).contains(&hours), "{hours}");
    // and a follow-up job is waiting for them
    let job = h
        .value(&format!(
            "select count(*) as n from public.jobs where kind = 'campaign.send'
               and payload->>'campaign_id' = '{id}' and status = 'queued' and run_at > now() + interval '5 hours'"
        ))
        .await;
    assert_eq!(job["n"], 1);
    assert_eq!(h.stats(id).await["status"], "running");
}

#[tokio::test]
async fn a_contact_without_a_zone_follows_the_default_time_zone() {
    let h = Harness::new().await;
    h.sql(&format!(
        "update public.app_settings set value = '\"{}\"' where key = 'default_time_zone'",
        zone_at_local_hour(23)
    ))
    .await;
    let id = h.campaign("sms", 3, None, "{}").await;
    let report = h.dispatcher().run_campaign(id, "w").await.unwrap();
    assert_eq!(report.sent, 0);
    assert_eq!(h.statuses("sms", id).await, json!({"queued": 3}));
}

#[tokio::test]
async fn email_is_not_held_by_sms_quiet_hours() {
    let h = Harness::new().await;
    let id = h
        .campaign("email", 3, Some(&zone_at_local_hour(3)), "{}")
        .await;
    let report = h.dispatcher().run_campaign(id, "w").await.unwrap();
    assert_eq!(report.sent, 3);
}
