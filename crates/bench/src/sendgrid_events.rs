//! `sendgrid-events`: SendGrid Event Webhook ingestion through the real host.
//!
//! A private PostgreSQL cluster (the test harness's) holds a campaign of 50,000 sent emails;
//! the functions host runs in this process on a free port, configured with a generated P-256
//! verification key. Batches of 1,000 signed events — delivered, open, click, with a bounce
//! and a spam report now and then, 10% of each batch repeating events of the previous batch
//! as SendGrid's redeliveries do — are POSTed 4 at a time. Each round starts from the same
//! state; the rate is the median over the rounds.
//!
//! Baselines measured in the same run: the same events (duplicates included) written with a
//! plain `COPY` into an unconstrained table (no verification, no deduplication, no message
//! updates), and P-256 verification of the batches alone.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use base64::{Engine, engine::general_purpose::STANDARD};
use futures_util::{SinkExt, StreamExt, stream};
use gimbal_db::harness::TestDatabase;
use gimbal_edge::Config;
use gimbal_jobs::WorkerConfig;
use gimbal_webhooks::sendgrid::EventKey;
use p256::{
    ecdsa::{DerSignature, SigningKey, signature::Signer},
    pkcs8::EncodePublicKey,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{memory::peak_rss_bytes, stats::median};

const BATCH: usize = 1000;
const DUPLICATE_SHARE: f64 = 0.10;
const CONCURRENCY: usize = 4;
const CAMPAIGN: &str = "b0000000-0000-4000-8000-000000000001";

struct Size {
    messages: usize,
    events: usize,
    rounds: usize,
}

struct Batch {
    body: Vec<u8>,
    timestamp: String,
    signature: String,
    events: usize,
}

pub async fn run(quick: bool) -> anyhow::Result<()> {
    let size = if quick {
        Size {
            messages: 5_000,
            events: 20_000,
            rounds: 3,
        }
    } else {
        Size {
            messages: 50_000,
            events: 200_000,
            rounds: 5,
        }
    };
    let db = TestDatabase::new().await;
    seed(&db, size.messages).await?;
    let signing = SigningKey::from_slice(&[42u8; 32]).context("signing key")?;
    let public_key = STANDARD.encode(signing.verifying_key().to_public_key_der()?.as_bytes());
    let (addr, _stop) = serve(&db, &public_key).await?;
    let url = format!("http://{addr}/functions/v1/sendgrid-events");
    let client = reqwest::Client::new();

    let mut rates = Vec::new();
    let mut ingested = 0u64;
    let mut duplicates = 0u64;
    for round in 0..size.rounds {
        reset(&db).await?;
        let batches = batches(&signing, round, &size);
        let events: usize = batches.iter().map(|b| b.events).sum();
        let started = Instant::now();
        let outcomes = post_all(&client, &url, &batches).await?;
        let elapsed = started.elapsed();
        ingested = outcomes
            .iter()
            .map(|o| o["recorded"].as_u64().unwrap_or(0))
            .sum();
        duplicates = outcomes
            .iter()
            .map(|o| o["duplicates"].as_u64().unwrap_or(0))
            .sum();
        let rate = events as f64 / elapsed.as_secs_f64();
        eprintln!(
            "round {round}: {events} events in {:.2}s = {rate:.0} events/s ({ingested} recorded, {duplicates} duplicates)",
            elapsed.as_secs_f64()
        );
        rates.push(rate);
    }
    check_state(&db, ingested).await?;

    let batches = batches(&signing, 99, &size);
    let copy_rate = copy_baseline(&db, &batches).await?;
    let verify_rate = verify_baseline(&public_key, &batches)?;
    let rate = median(&mut rates);
    println!(
        "scenario=sendgrid-events events_per_round={} batch={BATCH} duplicate_share={DUPLICATE_SHARE} concurrency={CONCURRENCY} rounds={} \
         rate_events_per_s={rate:.0} copy_baseline_events_per_s={copy_rate:.0} ratio_vs_copy={:.2} \
         verify_only_events_per_s={verify_rate:.0} recorded_per_round={ingested} duplicates_per_round={duplicates} peak_rss_mb={:.1}",
        size.events,
        size.rounds,
        rate / copy_rate,
        peak_rss_bytes() as f64 / 1_048_576.0
    );
    Ok(())
}

/// A campaign with `messages` sent emails, as the dispatcher leaves them.
async fn seed(db: &TestDatabase, messages: usize) -> anyhow::Result<()> {
    let client = db.superuser().await;
    client
        .batch_execute(&format!(
            "insert into public.campaigns (id, name, channel, status) values ('{CAMPAIGN}', 'bench', 'email', 'running');
             insert into public.email_messages (id, campaign_id, to_email, subject, body, status, provider, provider_message_id, sent_at)
             select ('b1000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, '{CAMPAIGN}',
                    'r' || i || '@example.com', 'Hello', 'Body', 'sent', 'sendgrid', 'SGX' || i, now()
             from generate_series(1, {messages}) i;
             analyze public.email_messages;"
        ))
        .await?;
    Ok(())
}

/// Puts messages, events, counters and suppressions back as `seed` left them.
async fn reset(db: &TestDatabase) -> anyhow::Result<()> {
    db.superuser()
        .await
        .batch_execute(
            "truncate public.message_events;
             delete from public.suppressions;
             update public.email_messages set status = 'sent', delivered_at = null, opened_at = null,
               clicked_at = null, bounced_at = null, failed_at = null, unsubscribed_at = null,
               spam_reported_at = null, error_message = null
             where status <> 'sent' or delivered_at is not null;
             delete from public.campaign_stats;",
        )
        .await?;
    // one statement each: vacuum cannot run in the implicit transaction of a batch.
    let client = db.superuser().await;
    for table in ["email_messages", "message_events", "campaign_stats"] {
        client
            .batch_execute(&format!("vacuum analyze public.{table}"))
            .await?;
    }
    Ok(())
}

async fn serve(
    db: &TestDatabase,
    public_key: &str,
) -> anyhow::Result<(std::net::SocketAddr, tokio::sync::watch::Sender<bool>)> {
    let values: HashMap<&str, String> = HashMap::from([
        ("DATABASE_URL", db.app_url()),
        ("DATABASE_POOL_SIZE", "8".into()),
        (
            "SUPABASE_JWT_SECRET",
            "bench-jwt-secret-with-at-least-32-characters".into(),
        ),
        (
            "GIMBAL_ENCRYPTION_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into(),
        ),
        ("GIMBAL_BIND", "127.0.0.1:0".into()),
        ("GIMBAL_BODY_LIMIT_BYTES", (4 * 1024 * 1024).to_string()),
        ("GIMBAL_LOG_FORMAT", "pretty".into()),
        ("SENDGRID_WEBHOOK_PUBLIC_KEY", public_key.into()),
    ]);
    let config = Config::from_lookup(|k| values.get(k).cloned())?;
    let worker = WorkerConfig {
        worker_id: "bench".into(),
        ..WorkerConfig::default()
    };
    let state = gimbal::app::build_state(config, worker).await?;
    let application = gimbal_host::Application::build(state).await?;
    let addr = application.local_addr();
    let (stop, mut rx) = tokio::sync::watch::channel(false);
    tokio::spawn(application.run_until(async move {
        let _ = rx.wait_for(|s| *s).await;
    }));
    Ok((addr, stop))
}

/// The events of one round: fresh ids per round, each batch repeating a tenth of the
/// previous batch's events.
fn batches(key: &SigningKey, round: usize, size: &Size) -> Vec<Batch> {
    let fresh_per_batch = BATCH - (BATCH as f64 * DUPLICATE_SHARE) as usize;
    let total_batches = size.events.div_ceil(BATCH);
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let mut previous: Vec<Value> = Vec::new();
    let mut out = Vec::with_capacity(total_batches);
    let mut n = 0usize;
    for _ in 0..total_batches {
        let mut events: Vec<Value> = Vec::with_capacity(BATCH);
        for _ in 0..fresh_per_batch {
            events.push(event(round, n, size.messages));
            n += 1;
        }
        let repeats = BATCH - fresh_per_batch;
        let source = if previous.is_empty() {
            &events
        } else {
            &previous
        };
        let repeated: Vec<Value> = source.iter().take(repeats).cloned().collect();
        events.extend(repeated);
        let mut body = serde_json::to_vec(&events).expect("json");
        body.extend_from_slice(b"\r\n");
        let mut signed = timestamp.as_bytes().to_vec();
        signed.extend_from_slice(&body);
        let signature: DerSignature = key.sign(&signed);
        out.push(Batch {
            events: events.len(),
            body,
            timestamp: timestamp.clone(),
            signature: STANDARD.encode(signature.as_bytes()),
        });
        previous = events;
    }
    out
}

/// The n-th event of a round: messages in turn are delivered, opened, clicked; one in 50
/// bounces and one in 200 is a spam report. Most carry our message id as a custom arg (as the
/// dispatcher sends them); every fifth only SendGrid's message id.
fn event(round: usize, n: usize, messages: usize) -> Value {
    let message = n % messages + 1;
    let pass = n / messages;
    let kind = if message.is_multiple_of(50) && pass == 0 {
        "bounce"
    } else if message % 200 == 1 && pass == 1 {
        "spamreport"
    } else {
        ["delivered", "open", "click", "open"][pass % 4]
    };
    let email = format!("r{message}@example.com");
    let mut e = json!({
        "email": email,
        "timestamp": 1_700_000_000 + n as i64,
        "event": kind,
        "sg_event_id": format!("r{round}-{}", Uuid::new_v4().simple()),
        "sg_message_id": format!("SGX{message}"),
        "smtp-id": format!("<SGX{message}@ismtpd0001p1las1.sendgrid.net>"),
        "category": ["campaign", "bench"],
        "campaign_id": CAMPAIGN,
    });
    if !n.is_multiple_of(5) {
        e["message_id"] = json!(format!("b1000000-0000-4000-8000-{message:012}"));
    }
    match kind {
        "open" | "click" => {
            e["useragent"] =
                json!("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36");
            e["ip"] = json!("203.0.113.7");
            if kind == "click" {
                e["url"] = json!("https://example.com/offer?utm_source=gimbal");
            }
        }
        "bounce" => {
            e["type"] = json!("bounce");
            e["reason"] =
                json!("550 5.1.1 The email account that you tried to reach does not exist");
            e["status"] = json!("5.1.1");
        }
        _ => {}
    }
    e
}

async fn post_all(
    client: &reqwest::Client,
    url: &str,
    batches: &[Batch],
) -> anyhow::Result<Vec<Value>> {
    let results: Vec<anyhow::Result<Value>> = stream::iter(batches)
        .map(|b| async move {
            let response = client
                .post(url)
                .header("content-type", "application/json")
                .header("x-twilio-email-event-webhook-timestamp", &b.timestamp)
                .header("x-twilio-email-event-webhook-signature", &b.signature)
                .body(b.body.clone())
                .timeout(Duration::from_secs(60))
                .send()
                .await?;
            let status = response.status();
            let body: Value = response.json().await?;
            if !status.is_success() {
                bail!("batch refused with {status}: {body}");
            }
            Ok(body)
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    results.into_iter().collect()
}

/// The counters must agree with the messages, whatever the duplicates did.
async fn check_state(db: &TestDatabase, recorded: u64) -> anyhow::Result<()> {
    let client = db.superuser().await;
    let row = client
        .query_one(
            "select (select count(*) from public.message_events),
                    (select count(*) from public.email_messages where delivered_at is not null),
                    (select delivered from public.campaign_stats where campaign_id = $1::text::uuid)",
            &[&CAMPAIGN],
        )
        .await?;
    let (events, delivered, counted): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    if events as u64 != recorded || delivered != counted {
        bail!(
            "inconsistent: {events} events for {recorded} recorded; {delivered} delivered, {counted} counted"
        );
    }
    Ok(())
}

/// The same events, duplicates included, written with a plain COPY into a bare table.
async fn copy_baseline(db: &TestDatabase, batches: &[Batch]) -> anyhow::Result<f64> {
    let client = db.superuser().await;
    client
        .batch_execute(
            "create unlogged table if not exists bench_copy (
               channel text, provider text, provider_event_id text, event_type text,
               payload jsonb, occurred_at timestamptz);
             truncate bench_copy;",
        )
        .await?;
    let mut lines = Vec::new();
    let mut events = 0usize;
    for batch in batches {
        let values: Vec<Value> = serde_json::from_slice(&batch.body)?;
        events += values.len();
        for v in values {
            let payload = v.to_string().replace('\\', "\\\\");
            lines.push(format!(
                "email\tsendgrid\t{}\t{}\t{payload}\t{}\n",
                v["sg_event_id"].as_str().unwrap_or_default(),
                v["event"].as_str().unwrap_or_default(),
                v["timestamp"]
                    .as_i64()
                    .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                    .map_or("\\N".into(), |t| t.to_rfc3339()),
            ));
        }
    }
    let data: Vec<bytes::Bytes> = lines.into_iter().map(bytes::Bytes::from).collect();
    let started = Instant::now();
    let sink = client.copy_in("copy bench_copy from stdin").await?;
    futures_util::pin_mut!(sink);
    let mut chunks = stream::iter(data.into_iter().map(Ok::<_, gimbal_db::postgres::Error>));
    sink.send_all(&mut chunks).await?;
    sink.finish().await?;
    Ok(events as f64 / started.elapsed().as_secs_f64())
}

/// P-256 verification of every batch, and nothing else.
fn verify_baseline(public_key: &str, batches: &[Batch]) -> anyhow::Result<f64> {
    let key = EventKey::from_base64_der(public_key)?;
    let started = Instant::now();
    let mut events = 0usize;
    for b in batches {
        if !key.verify(&b.timestamp, &b.body, &b.signature) {
            bail!("a batch failed verification");
        }
        events += b.events;
    }
    Ok(events as f64 / started.elapsed().as_secs_f64())
}
