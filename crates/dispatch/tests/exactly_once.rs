//! Every recipient once: one worker, two workers, a worker killed between claim and record.

use std::time::Duration;

use gimbal_campaigns::unsubscribe;
use gimbal_providers::mock::Fault;

use crate::support::{Harness, KEY, POSTAL};

#[tokio::test]
async fn email_campaign_reaches_each_consenting_unsuppressed_recipient_once() {
    let h = Harness::new().await;
    let id = h.campaign("email", 30, None, "{}").await;
    h.sql(
        "update public.contacts set email_consent = 'denied' where email in ('r1@example.com', 'r2@example.com');
         update public.contacts set email = null where email = 'r3@example.com';
         insert into public.suppressions (channel, address, reason) values ('email', 'r4@example.com', 'bounce');",
    )
    .await;

    let report = h.dispatcher().run_campaign(id, "w1").await.unwrap();

    assert_eq!(report.outcome, "completed");
    assert_eq!(report.sent, 26);
    let received = h.sendgrid.received();
    assert_eq!(received.len(), 26);
    assert!(h.sendgrid.duplicates().is_empty());
    assert_eq!(
        h.sendgrid.requests(),
        1,
        "one request carries every personalization"
    );
    let r = received.iter().find(|r| r.to == "r10@example.com").unwrap();
    assert_eq!(r.subject.as_deref(), Some("Hello R10"));
    assert!(r.body.starts_with("Hi R10, news."), "{}", r.body);
    assert!(r.body.contains(POSTAL));
    assert!(r.html.as_deref().unwrap().contains(POSTAL));
    assert_eq!(
        r.headers["List-Unsubscribe-Post"],
        "List-Unsubscribe=One-Click"
    );
    let header = &r.headers["List-Unsubscribe"];
    let url = header.trim_start_matches('<').trim_end_matches('>');
    assert!(url.starts_with("https://functions.example.test/functions/v1/unsubscribe?token="));
    let claim = unsubscribe::verify(
        &gimbal_dispatch::unsubscribe_key(KEY).unwrap(),
        url.split("token=").nth(1).unwrap(),
    )
    .unwrap();
    assert_eq!(claim.address, "r10@example.com");
    assert_eq!(claim.campaign_id, Some(id));
    assert_eq!(r.custom_args["campaign_id"], id.to_string());
    let message_id = &r.custom_args["message_id"];
    let row = h
        .value(&format!(
            "select to_email, status, provider from public.email_messages where id = '{message_id}'"
        ))
        .await;
    assert_eq!(row["to_email"], "r10@example.com");
    assert_eq!(row["status"], "sent");
    assert_eq!(row["provider"], "sendgrid");
    let stats = h.stats(id).await;
    assert_eq!(stats["status"], "completed");
    assert_eq!(stats["stats"]["sent"], 26);
    assert_eq!(stats["stats"]["no_consent"], 2);
    assert_eq!(stats["stats"]["no_address"], 1);
    assert_eq!(stats["stats"]["suppressed"], 1);
    assert_eq!(stats["stats"]["recipients"], 26);
}

#[tokio::test]
async fn running_a_finished_campaign_again_sends_nothing() {
    let h = Harness::new().await;
    let id = h.campaign("sms", 20, None, "{}").await;
    h.dispatcher().run_campaign(id, "w1").await.unwrap();
    h.sql(&format!(
        "update public.campaigns set status = 'running' where id = '{id}'"
    ))
    .await;
    let again = h.dispatcher().run_campaign(id, "w2").await.unwrap();
    assert_eq!(again.sent, 0);
    assert!(!again.materialised);
    assert_eq!(h.twilio.count(), 20);
}

#[tokio::test]
async fn two_workers_share_one_campaign_without_duplicates() {
    let h = Harness::new().await;
    let id = h.campaign("sms", 400, None, "{}").await;
    let mut config = h.config();
    config.sms_batch = 25;
    let a = h.dispatcher_with(config.clone(), Duration::from_secs(5));
    let b = h.dispatcher_with(config, Duration::from_secs(5));

    let (ra, rb) = tokio::join!(
        a.run_campaign(id, "worker-a"),
        b.run_campaign(id, "worker-b")
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());

    assert_eq!(ra.sent + rb.sent, 400);
    assert!(
        ra.sent > 0 && rb.sent > 0,
        "both workers took part: {} / {}",
        ra.sent,
        rb.sent
    );
    assert_eq!(h.twilio.count(), 400);
    assert!(h.twilio.duplicates().is_empty());
    assert_eq!(
        h.statuses("sms", id).await,
        serde_json::json!({"sent": 400})
    );
    assert_eq!(h.stats(id).await["status"], "completed");
    let by_owner = h
        .count(&format!(
            "select count(distinct lease_owner) from public.sms_messages where campaign_id = '{id}'"
        ))
        .await;
    assert_eq!(by_owner, 2);
}

#[tokio::test]
async fn a_worker_killed_between_claim_and_record_leaves_unknown_rows_that_are_never_resent() {
    let h = Harness::new().await;
    let id = h.campaign("sms", 60, None, "{}").await;
    let mut config = h.config();
    config.sms_batch = 10;
    config.sms_concurrency = 10;
    config.lease = Duration::from_secs(2);
    // the first worker's first ten requests reach the provider, which takes them and never answers
    h.twilio.fail_next(10, Fault::AcceptThenHang);
    let doomed = h.dispatcher_with(config.clone(), Duration::from_secs(60));
    let task = tokio::spawn(async move { doomed.run_campaign(id, "doomed").await });
    // wait (however loaded the machine) until the provider holds the first batch
    for _ in 0..400 {
        if h.twilio.count() >= 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(h.twilio.count(), 10, "the provider has the first batch");
    task.abort();
    let _ = task.await;
    assert_eq!(h.statuses("sms", id).await["sending"], 10);

    let survivor = h.dispatcher_with(config, Duration::from_secs(5));
    let report = survivor.run_campaign(id, "survivor").await.unwrap();

    assert_eq!(report.outcome, "completed");
    assert_eq!(report.sent, 50);
    assert_eq!(report.unknown, 10);
    assert_eq!(h.twilio.count(), 60, "nothing lost, nothing sent twice");
    assert!(h.twilio.duplicates().is_empty());
    assert_eq!(
        h.statuses("sms", id).await,
        serde_json::json!({"sent": 50, "unknown": 10})
    );
    let stats = h.stats(id).await;
    assert_eq!(stats["stats"]["unknown"], 10);
    assert_eq!(stats["status"], "completed");
}

#[tokio::test]
async fn a_provider_that_never_answers_makes_the_batch_unknown_not_resent() {
    let h = Harness::new().await;
    let id = h.campaign("email", 5, None, "{}").await;
    h.sendgrid.fail_next(1, Fault::AcceptThenHang);
    let engine = h.dispatcher_with(h.config(), Duration::from_millis(300));

    let report = engine.run_campaign(id, "w").await.unwrap();

    assert_eq!(report.unknown, 5);
    assert_eq!(report.sent, 0);
    assert_eq!(h.sendgrid.count(), 5);
    assert_eq!(
        h.statuses("email", id).await,
        serde_json::json!({"unknown": 5})
    );
    let row = h
        .value(&format!(
            "select error_code from public.email_messages where campaign_id = '{id}' limit 1"
        ))
        .await;
    assert_eq!(row["error_code"], "provider_timeout");
}

#[tokio::test]
async fn a_recipient_whose_data_leaves_a_hole_is_failed_not_sent() {
    let h = Harness::new().await;
    let id = h.campaign("sms", 3, None, "{}").await;
    h.sql("update public.contacts set first_name = null where phone = '+15550200002'")
        .await;

    let report = h.dispatcher().run_campaign(id, "w").await.unwrap();

    assert_eq!(report.sent, 2);
    assert_eq!(h.twilio.count(), 2);
    let row = h
        .value(&format!(
            "select error_code, error_message, body from public.sms_messages
             where campaign_id = '{id}' and status = 'failed'"
        ))
        .await;
    assert_eq!(row["error_code"], "render_failed");
    assert!(
        row["error_message"]
            .as_str()
            .unwrap()
            .contains("first_name")
    );
    let sent = h
        .value(&format!(
            "select body from public.sms_messages where campaign_id = '{id}' and to_phone = '+15550200001'"
        ))
        .await;
    assert_eq!(sent["body"], "Hi R1, sale today. Reply STOP to opt out.");
    let stats = h.stats(id).await;
    assert_eq!(stats["stats"]["render_failed"], 1);
    assert_eq!(stats["stats"]["recipients"], 2);
}

#[tokio::test]
async fn a_materialisation_cut_short_is_finished_by_the_next_run_without_duplicates() {
    let h = Harness::new().await;
    let id = h.campaign("email", 30, None, "{}").await;
    // what a run that died after committing its first chunk leaves: ten rows and their count,
    // and no `materialised_at`
    h.sql(&format!(
        "insert into public.email_messages (campaign_id, contact_id, to_email, subject, body, status)
         select '{id}', c.id, c.email, 'Hello', 'Hi, news.', 'queued'
         from public.contacts c order by c.email limit 10;
         select app_private.add_campaign_stats('{id}', '{{\"recipients\": 10}}');"
    ))
    .await;

    let report = h.dispatcher().run_campaign(id, "w1").await.unwrap();

    assert_eq!(report.outcome, "completed");
    assert!(report.materialised, "the run finished the materialisation");
    assert_eq!(report.sent, 30);
    assert_eq!(h.sendgrid.received().len(), 30);
    assert!(h.sendgrid.duplicates().is_empty());
    let stats = h.stats(id).await;
    assert_eq!(
        stats["stats"]["recipients"], 30,
        "each recipient counted once"
    );
    assert_eq!(stats["stats"]["sent"], 30);
    assert!(stats["stats"]["materialised_at"].is_string());
}

#[tokio::test]
async fn senders_wait_for_a_materialisation_in_progress_before_completing() {
    let h = Harness::new().await;
    let id = h.campaign("email", 30, None, "{}").await;
    // another worker holds the campaign's materialisation lock
    let mut holder = h.db.superuser().await;
    let tx = holder.transaction().await.unwrap();
    tx.execute(
        "select pg_advisory_xact_lock(hashtext('gimbal.materialise'), hashtext($1::text))",
        &[&id.to_string()],
    )
    .await
    .unwrap();
    let dispatcher = h.dispatcher();
    let run = tokio::spawn(async move { dispatcher.run_campaign(id, "w1").await });
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        !run.is_finished(),
        "the run waits rather than completing an empty campaign"
    );
    assert_eq!(h.stats(id).await["status"], "running");
    // the holder dies without materialising anything: the waiting run does it
    tx.rollback().await.unwrap();
    let report = run.await.unwrap().unwrap();
    assert_eq!(report.outcome, "completed");
    assert!(report.materialised);
    assert_eq!(report.sent, 30);
    assert_eq!(h.sendgrid.received().len(), 30);
}

#[tokio::test]
async fn recipients_are_materialised_in_pages_and_sending_starts_before_the_last() {
    let h = Harness::new().await;
    let id = h.campaign("email", 300, None, "{}").await;
    let mut config = h.config();
    config.materialise_page = 3;
    let report = h
        .dispatcher_with(config, std::time::Duration::from_secs(5))
        .run_campaign(id, "w1")
        .await
        .unwrap();

    assert_eq!(report.outcome, "completed");
    assert_eq!(report.sent, 300);
    assert_eq!(h.sendgrid.received().len(), 300);
    assert!(h.sendgrid.duplicates().is_empty());
    let stats = h.stats(id).await;
    assert_eq!(stats["stats"]["recipients"], 300, "each page counted once");
    // the first messages went out while later pages were still being written
    let order = h
        .value(&format!(
            "select min(m.sent_at) < (c.stats->>'materialised_at')::timestamptz as early
             from public.email_messages m join public.campaigns c on c.id = m.campaign_id
             where m.campaign_id = '{id}' group by c.stats"
        ))
        .await;
    assert_eq!(order["early"], true);
}
