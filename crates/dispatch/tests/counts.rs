//! The progress counters a run keeps on the campaign row (`queued`, `deferred`, `segments`)
//! and the segments stored per SMS and summed in `campaign_stats` / `campaign_performance`.

use gimbal_db::{Access, RequestScope};
use gimbal_dispatch::{ControlAction, control};
use serde_json::json;

use crate::support::{Harness, zone_at_local_hour};

#[tokio::test]
async fn an_sms_campaign_counts_queued_deferred_and_segments() {
    let h = Harness::new().await;
    let id = h
        .campaign("sms", 6, Some(&zone_at_local_hour(13)), "{}")
        .await;
    let night = zone_at_local_hour(2);
    // 7 + 60 + 3 + 22 UTF-16 units, UCS-2 because of the emoji: two segments of 67
    h.sql(&format!(
        "update public.contacts set time_zone = '{night}' where phone in ('+15550200001', '+15550200002');
         update public.templates set body = 'Hi {{{{first_name}}}}, ' || repeat('x', 60) || ' 🎉 Reply STOP to opt out.'
          where id = '{id}';"
    ))
    .await;

    let report = h.dispatcher().run_campaign(id, "w").await.unwrap();

    assert_eq!(report.sent, 4);
    let stats = &h.stats(id).await["stats"];
    assert_eq!(stats["recipients"], 6);
    assert_eq!(stats["sent"], 4);
    assert_eq!(
        stats["queued"], 2,
        "the two night-time recipients wait: {stats}"
    );
    assert_eq!(stats["deferred"], 2, "{stats}");
    assert_eq!(
        stats["segments"], 12,
        "six messages of two segments: {stats}"
    );
    let rows = h
        .value(&format!(
            "select count(*) filter (where segments = 2) as two, count(*) as n
             from public.sms_messages where campaign_id = '{id}'"
        ))
        .await;
    assert_eq!(rows, json!({"two": 6, "n": 6}));
    let counted = h
        .value(&format!(
            "select s.segments as stats, p.segments as performance
             from public.campaign_stats s join public.campaign_performance p using (campaign_id)
             where campaign_id = '{id}'"
        ))
        .await;
    assert_eq!(
        counted,
        json!({"stats": 8, "performance": 8}),
        "sent segments"
    );

    // cancelling drops the two waiting messages: nothing is queued any more
    let mut client = h.pool.get().await.unwrap();
    let tx = gimbal_db::scope::begin(
        &mut client,
        &RequestScope::service("test"),
        Access::ReadWrite,
    )
    .await
    .unwrap();
    control::control(&tx, id, ControlAction::Cancel, 1)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let stats = &h.stats(id).await["stats"];
    assert_eq!(
        (stats["queued"].clone(), stats["cancelled_unsent"].clone()),
        (json!(0), json!(2))
    );
}

#[tokio::test]
async fn an_email_campaign_counts_down_its_queue() {
    let h = Harness::new().await;
    let id = h.campaign("email", 5, None, "{}").await;
    h.sql(
        "insert into public.suppressions (channel, address, reason, source)
           values ('email', 'r5@example.com', 'unsubscribe', 'test')",
    )
    .await;

    h.dispatcher().run_campaign(id, "w").await.unwrap();

    let stats = &h.stats(id).await["stats"];
    assert_eq!(stats["recipients"], 4);
    assert_eq!(stats["sent"], 4);
    assert_eq!(stats["queued"], 0, "{stats}");
    assert_eq!(stats["deferred"], 0, "{stats}");
    assert!(
        stats.get("segments").is_none(),
        "segments are an SMS count: {stats}"
    );
}

#[tokio::test]
async fn a_message_with_an_unknown_outcome_leaves_the_queue() {
    let h = Harness::new().await;
    let id = h.campaign("sms", 3, None, "{}").await;
    // materialised, with every request failing transiently: all three rows stay queued
    h.twilio
        .fail_always(Some(gimbal_providers::mock::Fault::ServerError));
    let mut config = h.config();
    config.max_transient_retries = 0;
    let _ = h
        .dispatcher_with(config, std::time::Duration::from_secs(5))
        .run_campaign(id, "w")
        .await;
    assert_eq!(h.stats(id).await["stats"]["queued"], 3);
    // one row claimed by a worker that died before recording anything
    h.sql(&format!(
        "update public.sms_messages set status = 'sending', lease_owner = 'dead', lease_until = now() - interval '1 second'
         where id = (select id from public.sms_messages where campaign_id = '{id}' limit 1)"
    ))
    .await;
    h.twilio.fail_always(None);

    h.dispatcher().run_campaign(id, "w").await.unwrap();

    let stats = &h.stats(id).await["stats"];
    assert_eq!(
        (
            stats["sent"].clone(),
            stats["unknown"].clone(),
            stats["queued"].clone()
        ),
        (json!(2), json!(1), json!(0)),
        "{stats}"
    );
}
