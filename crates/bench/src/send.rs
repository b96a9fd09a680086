//! `send-email` and `send-sms`: one campaign to N recipients (100,000 emails / 20,000 SMS by
//! default, `--recipients N` to change), dispatched to local servers speaking SendGrid's and
//! Twilio's wire formats, timed from `send-campaign`'s validation and enqueue to every message
//! recorded as sent. The two `campaign.send` jobs it enqueues are run by the real job queue
//! (`Jobs::tick` with concurrency 2). Baseline, same run: the same messages posted straight to
//! the same mock provider with the real client (no database), i.e. the cost of the provider
//! calls alone; the ratio is Gimbal's rate over that.

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use futures_util::{StreamExt, stream};
use gimbal_db::{Access, RequestScope, harness::TestDatabase};
use gimbal_dispatch::{DispatchConfig, Dispatcher};
use gimbal_jobs::{Jobs, Registry, WorkerConfig};
use gimbal_providers::{
    EmailAddress, EmailBatch, EmailMessage, ProviderConfig, Providers, SmsMessage, SmsSender,
    config::{EmailChoice, SmsChoice},
    mock,
};
use secrecy::SecretString;
use uuid::Uuid;

use crate::memory::peak_rss_bytes;

pub async fn run(channel: &str, recipients: usize) -> anyhow::Result<()> {
    let db = TestDatabase::new().await;
    let superuser = db.superuser().await;
    let pool = db.app_pool(8);
    let twilio = mock::twilio(true).await;
    let sendgrid = mock::sendgrid(true).await;
    let id = seed(&superuser, channel, recipients).await?;
    let providers = Providers::build(
        &ProviderConfig {
            sms: SmsChoice::Twilio {
                base_url: twilio.url(),
                account_sid: mock::TWILIO_ACCOUNT_SID.into(),
                api_key_sid: None,
                auth_token: SecretString::from(mock::TWILIO_AUTH_TOKEN),
            },
            email: EmailChoice::SendGrid {
                base_url: sendgrid.url(),
                api_key: SecretString::from(mock::SENDGRID_API_KEY),
            },
            timeout: Duration::from_secs(30),
        },
        pool.clone(),
    )?;
    let mut config = DispatchConfig::new(
        "https://bench.example.test/functions/v1",
        gimbal_dispatch::unsubscribe_key("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
            .expect("a valid key"),
    );
    config.worker_id = "bench".into();
    config.sms_batch = 500;
    config.sms_concurrency = 64;
    let dispatcher = Dispatcher::new(pool.clone(), providers.clone(), config);
    let mut registry = Registry::default();
    dispatcher.register(&mut registry);
    let jobs = Jobs::new(
        pool.clone(),
        registry,
        WorkerConfig {
            worker_id: "bench".into(),
            concurrency: 2,
            ..WorkerConfig::default()
        },
    );

    let started = Instant::now();
    {
        let mut client = pool.get().await?;
        let scope = RequestScope::service("bench/send-campaign");
        let tx = gimbal_db::scope::begin(&mut client, &scope, Access::ReadWrite).await?;
        gimbal_dispatch::control::start(&tx, id, 2).await?;
        tx.commit().await?;
    }
    let report = jobs.tick(2).await?;
    let elapsed = started.elapsed();
    let peak = peak_rss_bytes();
    let table = if channel == "sms" {
        "sms_messages"
    } else {
        "email_messages"
    };
    let sent: i64 = superuser
        .query_one(
            &format!(
                "select count(*) from public.{table} where campaign_id = $1 and status = 'sent'"
            ),
            &[&id],
        )
        .await?
        .get(0);
    let status: String = superuser
        .query_one("select status from public.campaigns where id = $1", &[&id])
        .await?
        .get(0);
    let taken = if channel == "sms" {
        twilio.count()
    } else {
        sendgrid.count()
    };
    ensure!(report.jobs_failed == 0, "a campaign job failed: {report:?}");
    ensure!(
        sent == recipients as i64 && taken == recipients as u64 && status == "completed",
        "sent {sent}, provider took {taken}, campaign {status}; expected {recipients} and completed"
    );
    let rate = recipients as f64 / elapsed.as_secs_f64();
    let phases = superuser
        .query_one(
            "select extract(epoch from (stats->>'materialised_at')::timestamptz - started_at)::float8,
                    extract(epoch from completed_at - (stats->>'materialised_at')::timestamptz)::float8
             from public.campaigns where id = $1",
            &[&id],
        )
        .await?;
    let (materialise_s, dispatch_s): (f64, f64) = (phases.get(0), phases.get(1));

    let baseline = baseline(channel, &providers, recipients).await?;
    let baseline_rate = recipients as f64 / baseline.as_secs_f64();
    println!(
        "scenario=send-{channel} recipients={recipients} seconds={:.2} rate_per_s={rate:.0} \
         materialise_s={materialise_s:.2} dispatch_s={dispatch_s:.2} \
         worker_peak_rss_mb={:.1} baseline=provider_calls_only baseline_rate_per_s={baseline_rate:.0} \
         ratio={:.2}",
        elapsed.as_secs_f64(),
        peak as f64 / 1_048_576.0,
        rate / baseline_rate
    );
    Ok(())
}

/// An `Etc/GMT±n` zone where it is now early afternoon. The contacts have no zone of their
/// own and follow the default one, so SMS quiet hours never hold the run back, whatever the
/// hour it runs at.
fn afternoon_zone() -> String {
    use chrono::Timelike;
    let mut offset = (13 - i64::from(chrono::Utc::now().hour())).rem_euclid(24);
    if offset > 12 {
        offset -= 24;
    }
    match offset {
        0 => "Etc/GMT".to_string(),
        // POSIX signs are inverted: Etc/GMT-2 is two hours ahead of UTC
        o if o > 0 => format!("Etc/GMT-{o}"),
        o => format!("Etc/GMT+{}", -o),
    }
}

async fn seed(db: &gimbal_db::postgres::Client, channel: &str, n: usize) -> anyhow::Result<Uuid> {
    let id = Uuid::new_v4();
    let daytime = afternoon_zone();
    let (subject, body, html, from) = if channel == "email" {
        (
            "'News for {{first_name}}'",
            "'Hi {{first_name | default(\"there\")}}, here is what is new at {{company_name}}. \
              {{company_postal_address}}. Unsubscribe: {{unsubscribe_url}}'",
            "'<p>Hi {{first_name | default(\"there\")}},</p><p>What is new at {{company_name}}.</p>\
              <p>{{company_postal_address}}</p><p><a href=\"{{unsubscribe_url}}\">Unsubscribe</a></p>'",
            "news@example.com",
        )
    } else {
        (
            "null",
            "'Hi {{first_name}}, spring sale: 20% off today with code SPRING. Reply STOP to opt out.'",
            "null",
            "+15550100199",
        )
    };
    db.batch_execute(&format!(
        "insert into public.app_settings (key, value) values
           ('company_name', '\"Gimbal Bench Co.\"'),
           ('company_postal_address', '\"100 Example Street, Springfield, IL 62701, USA\"'),
           ('default_time_zone', '\"{daytime}\"'),
           ('rate_limit.sms', '{{\"per_second\": 1000000, \"burst\": 1000000}}'),
           ('rate_limit.email', '{{\"per_second\": 1000000, \"burst\": 1000000}}')
         on conflict (key) do update set value = excluded.value;
         insert into public.audiences (id, name) values ('{id}', 'bench');
         insert into public.templates (id, name, channel, subject, body, html_body)
           values ('{id}', 'bench', '{channel}', {subject}, {body}, {html});
         insert into public.contacts (email, phone, first_name, sms_consent, email_consent)
           select 'user' || g || '@example.com', '+1' || (2000000000 + g)::text, 'User' || g,
                  'granted', 'granted'
           from generate_series(1, {n}) g;
         insert into public.audience_contacts (audience_id, contact_id)
           select '{id}', id from public.contacts;
         insert into public.campaigns (id, name, channel, status, template_id, audience_id, from_address)
           values ('{id}', 'bench', '{channel}', 'draft', '{id}', '{id}', '{from}');
         analyze;"
    ))
    .await
    .context("seeding the benchmark campaign")?;
    Ok(id)
}

/// The same number of messages straight to the mock provider with the real client.
async fn baseline(channel: &str, providers: &Providers, n: usize) -> anyhow::Result<Duration> {
    let started = Instant::now();
    if channel == "sms" {
        let results: Vec<_> = stream::iter(0..n)
            .map(|i| {
                let sms = providers.sms.clone();
                async move {
                    let message = SmsMessage {
                        to: format!("+1{}", 3_000_000_000u64 + i as u64),
                        from: SmsSender::From("+15550100199".into()),
                        body: format!("Hi User{i}, spring sale: 20% off today with code SPRING. Reply STOP to opt out."),
                        status_callback: Some("https://bench.example.test/functions/v1/twilio-status".into()),
                    };
                    sms.send(&message).await
                }
            })
            .buffer_unordered(128)
            .collect()
            .await;
        ensure!(results.iter().all(Result::is_ok), "baseline sms failed");
    } else {
        for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
            let batch = EmailBatch {
                from: EmailAddress { email: "news@example.com".into(), name: None },
                categories: vec![],
                messages: chunk
                    .iter()
                    .map(|i| EmailMessage {
                        to: format!("baseline{i}@example.com"),
                        subject: format!("News for User{i}"),
                        text: Some(format!("Hi User{i}, here is what is new. Unsubscribe: https://bench.example.test/u?token={i}")),
                        html: Some(format!("<p>Hi User{i}</p>")),
                        headers: vec![("List-Unsubscribe".into(), format!("<https://bench.example.test/u?token={i}>"))],
                        custom_args: vec![("message_id".into(), i.to_string())],
                        attachments: vec![],
                    })
                    .collect(),
            };
            providers.email.send_batch(&batch).await?;
        }
    }
    Ok(started.elapsed())
}
