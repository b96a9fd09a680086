//! Dashboards: the rollups equal a brute-force recomputation from raw rows after random
//! streams of inserts, status changes and deletes (a seeded property test); day boundaries
//! in the caller's zone across daylight-saving changes; and every dashboard function under
//! every role's real token.

use gimbal_db::{Access, RequestScope, harness::TestDatabase};
use gimbal_e2e::{TestApp, token_for};
use rand::{Rng, SeedableRng, rngs::StdRng, seq::SliceRandom};
use serde_json::Value;
use tokio_postgres::{Client, error::SqlState};
use uuid::Uuid;

const CAMPAIGNS: [&str; 3] = [
    "ca000001-0000-4000-8000-000000000001",
    "ca000001-0000-4000-8000-000000000002",
    "ca000001-0000-4000-8000-000000000003",
];
const SMS_STATUSES: [&str; 9] = [
    "queued",
    "claimed",
    "sending",
    "sent",
    "delivered",
    "undelivered",
    "failed",
    "unknown",
    "received",
];
const EMAIL_STATUSES: [&str; 14] = [
    "queued",
    "claimed",
    "sending",
    "sent",
    "delivered",
    "opened",
    "clicked",
    "bounced",
    "dropped",
    "deferred",
    "failed",
    "unknown",
    "spam_report",
    "unsubscribed",
];
const EVENT_TYPES: [&str; 8] = [
    "delivered",
    "open",
    "click",
    "unsubscribe",
    "group_unsubscribe",
    "spamreport",
    "opt_out",
    "bounce",
];

/// Message counters recomputed from the raw rows, written independently of the migration's
/// definitions (the README's table of what counts as sent, delivered, …).
const CONTRIBUTIONS: &str = "
with contributions as (
  select coalesce(sent_at, created_at) as at, 'sms' as channel, campaign_id,
         case when direction = 'outbound' and (sent_at is not null or status in ('sent', 'delivered', 'undelivered')) then 1 else 0 end as sent,
         case when direction = 'outbound' and (delivered_at is not null or status = 'delivered') then 1 else 0 end as delivered,
         case when direction = 'outbound' and status = 'undelivered' then 1 else 0 end as bounced,
         case when direction = 'outbound' and status = 'failed' then 1 else 0 end as failed,
         0 as opened, 0 as clicked, 0 as unsubscribed, 0 as complaints
  from public.sms_messages
  union all
  select coalesce(sent_at, created_at), 'email', campaign_id,
         case when sent_at is not null or status in ('sent', 'delivered', 'opened', 'clicked', 'bounced', 'deferred', 'spam_report', 'unsubscribed') then 1 else 0 end,
         case when delivered_at is not null or status in ('delivered', 'opened', 'clicked', 'spam_report', 'unsubscribed') then 1 else 0 end,
         case when status = 'bounced' then 1 else 0 end,
         case when status in ('failed', 'dropped') then 1 else 0 end,
         case when opened_at is not null or status in ('opened', 'clicked') then 1 else 0 end,
         case when clicked_at is not null or status = 'clicked' then 1 else 0 end,
         0, 0
  from public.email_messages
  union all
  select coalesce(occurred_at, received_at), channel, campaign_id,
         0, 0, 0, 0, 0, 0,
         case when event_type in ('unsubscribe', 'group_unsubscribe', 'opt_out') then 1 else 0 end,
         case when event_type in ('spamreport', 'spam_report') then 1 else 0 end
  from public.message_events
)";

/// [`CONTRIBUTIONS`] per 15-minute UTC bucket (the floor of the epoch to 900 seconds).
fn brute_force_messages() -> String {
    format!(
        "{CONTRIBUTIONS}
select to_timestamp(floor(extract(epoch from at) / 900) * 900) as bucket, channel, campaign_id, sum(sent)::bigint, sum(delivered)::bigint, sum(bounced)::bigint,
       sum(failed)::bigint, sum(opened)::bigint, sum(clicked)::bigint, sum(unsubscribed)::bigint,
       sum(complaints)::bigint
from contributions
group by 1, 2, 3
having sum(sent) + sum(delivered) + sum(bounced) + sum(failed) + sum(opened) + sum(clicked)
       + sum(unsubscribed) + sum(complaints) > 0
order by 1, 2, 3 nulls first"
    )
}

const ROLLUP_MESSAGES: &str = "
select bucket, channel, campaign_id, sent, delivered, bounced, failed, opened, clicked, unsubscribed, complaints
from public.message_stats_hourly
where sent + delivered + bounced + failed + opened + clicked + unsubscribed + complaints > 0
order by 1, 2, 3 nulls first";

const BRUTE_FORCE_ANALYTICS: &str = "
select metric_date, source, channel, campaign_id, count(*)::bigint,
       coalesce(sum(sessions), 0)::bigint, coalesce(sum(users), 0)::bigint,
       coalesce(sum(conversions), 0)::text, coalesce(sum(revenue), 0)::text,
       coalesce(sum(impressions), 0)::bigint, coalesce(sum(clicks), 0)::bigint,
       coalesce(sum(spend), 0)::text
from public.analytics_data
group by 1, 2, 3, 4
order by 1, 2, 3 nulls first, 4 nulls first";

const ROLLUP_ANALYTICS: &str = "
select metric_date, source, channel, campaign_id, row_count, sessions, users,
       conversions::text, revenue::text, impressions, clicks, spend::text
from public.analytics_daily
where row_count <> 0
order by 1, 2, 3 nulls first, 4 nulls first";

/// Rows as comparable text (numeric sums are compared exactly through their text form).
async fn rows_as_text(client: &Client, sql: &str) -> Vec<String> {
    let rows = client.simple_query(sql).await.unwrap();
    rows.iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some(
                (0..r.len())
                    .map(|i| r.get(i).unwrap_or("∅").to_string())
                    .collect::<Vec<_>>()
                    .join("|"),
            ),
            _ => None,
        })
        .collect()
}

/// The raw counters summed over campaigns, for the all-campaign rollups.
fn over_campaigns(per_campaign: &str, keys: &str, sums: &str) -> String {
    let inner = per_campaign
        .rsplit_once("order by")
        .map_or(per_campaign, |(head, _)| head);
    format!("select {keys}, {sums} from ({inner}) x group by {keys} order by {keys}")
}

async fn assert_rollups_match(client: &Client, context: &str) {
    let expected = rows_as_text(client, &brute_force_messages()).await;
    let actual = rows_as_text(client, ROLLUP_MESSAGES).await;
    assert_eq!(actual, expected, "message rollup after {context}");
    let sums = "sum(sent)::bigint, sum(delivered)::bigint, sum(bounced)::bigint, sum(failed)::bigint, \
                sum(opened)::bigint, sum(clicked)::bigint, sum(unsubscribed)::bigint, sum(complaints)::bigint";
    let expected = rows_as_text(
        client,
        &over_campaigns(ROLLUP_MESSAGES, "bucket, channel", sums),
    )
    .await;
    let actual = rows_as_text(
        client,
        &format!(
            "select bucket, channel, {sums} from public.message_totals_hourly
             where sent + delivered + bounced + failed + opened + clicked + unsubscribed + complaints > 0
             group by 1, 2 order by 1, 2"
        ),
    )
    .await;
    assert_eq!(actual, expected, "message totals after {context}");
    // analytics sums must match to the cent; numeric text forms differ in scale only (0 vs 0.0).
    let normalise = |rows: Vec<String>| {
        rows.into_iter()
            .map(|r| {
                r.split('|')
                    .map(|f| match f.parse::<f64>() {
                        Ok(v) => format!("{v:.4}"),
                        Err(_) => f.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect::<Vec<_>>()
    };
    let expected = normalise(rows_as_text(client, BRUTE_FORCE_ANALYTICS).await);
    let actual = normalise(rows_as_text(client, ROLLUP_ANALYTICS).await);
    assert_eq!(actual, expected, "analytics rollup after {context}");
    let totals =
        "select metric_date, source, channel, count(*)::bigint, coalesce(sum(sessions), 0)::bigint,
                         coalesce(sum(revenue), 0)::text, coalesce(sum(spend), 0)::text
                  from public.analytics_data group by 1, 2, 3 order by 1, 2, 3 nulls first";
    let expected = normalise(rows_as_text(client, totals).await);
    let actual = normalise(
        rows_as_text(
            client,
            "select metric_date, source, channel, row_count, sessions, revenue::text, spend::text
             from public.analytics_totals_daily where row_count <> 0
             order by 1, 2, 3 nulls first",
        )
        .await,
    );
    assert_eq!(actual, expected, "analytics totals after {context}");
}

/// Zones whose local days the property test checks: whole-hour offsets, half and quarter
/// hours, and a half-hour daylight saving shift.
const ZONES: [&str; 6] = [
    "UTC",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Adelaide",
    "Australia/Lord_Howe",
];

/// Every message counter of `dashboard_series` by local day, and of `dashboard_summary`
/// over the whole range, equal [`CONTRIBUTIONS`] counted per local day of each zone.
async fn assert_local_days_match(client: &Client, context: &str) {
    let sums = "sum(sent)::bigint, sum(delivered)::bigint, sum(opened)::bigint, sum(clicked)::bigint, \
                sum(bounced)::bigint, sum(failed)::bigint, sum(unsubscribed)::bigint";
    for zone in ZONES {
        let expected = rows_as_text(
            client,
            &format!(
                "{CONTRIBUTIONS}
                 select (at at time zone '{zone}')::date, {sums} from contributions
                 where (at at time zone '{zone}')::date between '2024-03-28' and '2024-04-09'
                 group by 1
                 having sum(sent) + sum(delivered) + sum(opened) + sum(clicked) + sum(bounced)
                        + sum(failed) + sum(unsubscribed) > 0
                 order by 1"
            ),
        )
        .await;
        let actual = rows_as_text(
            client,
            &format!(
                "select period_start, messages_sent, messages_delivered, messages_opened,
                        messages_clicked, messages_bounced, messages_failed, unsubscribes
                 from public.dashboard_series('2024-03-28', '2024-04-09', 'day', '{zone}')
                 where messages_sent + messages_delivered + messages_opened + messages_clicked
                       + messages_bounced + messages_failed + unsubscribes > 0"
            ),
        )
        .await;
        assert_eq!(actual, expected, "{zone}: local days after {context}");
        let total = rows_as_text(
            client,
            &format!(
                "{CONTRIBUTIONS}
                 select coalesce(sum(sent), 0)::bigint, coalesce(sum(unsubscribed), 0)::bigint
                 from contributions
                 where (at at time zone '{zone}')::date between '2024-04-01' and '2024-04-07'"
            ),
        )
        .await;
        let summary = rows_as_text(
            client,
            &format!(
                "select s -> 'current' ->> 'messages_sent', s -> 'current' ->> 'unsubscribes'
                 from public.dashboard_summary('2024-04-01', '2024-04-07', '{zone}') s"
            ),
        )
        .await;
        assert_eq!(summary, total, "{zone}: summary after {context}");
    }
}

fn maybe_ts(rng: &mut StdRng, present: f64) -> String {
    if rng.gen_bool(present) {
        // any minute of three days around a dst change: europe springs forward on
        // 2024-03-31; australia/adelaide (+10:30 to +09:30) and australia/lord_howe (+11:00
        // to +10:30) fall back on 2024-04-07.
        let start = if rng.gen_bool(0.5) {
            "2024-03-30"
        } else {
            "2024-04-05"
        };
        format!(
            "'{start} 00:00+00'::timestamptz + interval '{} minutes'",
            rng.gen_range(0..3 * 24 * 60)
        )
    } else {
        "null".into()
    }
}

fn campaign(rng: &mut StdRng) -> String {
    match rng.gen_range(0..4) {
        3 => "null".into(),
        i => format!("'{}'", CAMPAIGNS[i]),
    }
}

fn subset(rng: &mut StdRng, ids: &[Uuid]) -> Vec<Uuid> {
    let n = rng.gen_range(0..=ids.len().min(8));
    ids.choose_multiple(rng, n).copied().collect()
}

struct Stream {
    sms: Vec<Uuid>,
    email: Vec<Uuid>,
    events: Vec<i64>,
    analytics_keys: Vec<String>,
}

async fn random_step(client: &Client, rng: &mut StdRng, s: &mut Stream) -> String {
    match rng.gen_range(0..11) {
        0 | 1 => {
            let mut values = Vec::new();
            for _ in 0..rng.gen_range(1..15) {
                let id = Uuid::new_v4();
                s.sms.push(id);
                values.push(format!(
                    "('{id}', {}, '{}', '+15550100000', 'x', '{}', {} , {}, {})",
                    campaign(rng),
                    if rng.gen_bool(0.1) {
                        "inbound"
                    } else {
                        "outbound"
                    },
                    SMS_STATUSES.choose(rng).unwrap(),
                    maybe_ts(rng, 1.0),
                    maybe_ts(rng, 0.5),
                    maybe_ts(rng, 0.3),
                ));
            }
            client
                .batch_execute(&format!(
                    "insert into public.sms_messages (id, campaign_id, direction, to_phone, body, status, created_at, sent_at, delivered_at) values {}",
                    values.join(", ")
                ))
                .await
                .unwrap();
            "sms insert".into()
        }
        2 | 3 => {
            let mut values = Vec::new();
            for _ in 0..rng.gen_range(1..15) {
                let id = Uuid::new_v4();
                s.email.push(id);
                values.push(format!(
                    "('{id}', {}, 'a@example.com', 'x', '{}', {}, {}, {}, {}, {})",
                    campaign(rng),
                    EMAIL_STATUSES.choose(rng).unwrap(),
                    maybe_ts(rng, 1.0),
                    maybe_ts(rng, 0.5),
                    maybe_ts(rng, 0.3),
                    maybe_ts(rng, 0.2),
                    maybe_ts(rng, 0.1),
                ));
            }
            client
                .batch_execute(&format!(
                    "insert into public.email_messages (id, campaign_id, to_email, body, status, created_at, sent_at, delivered_at, opened_at, clicked_at) values {}",
                    values.join(", ")
                ))
                .await
                .unwrap();
            "email insert".into()
        }
        4 => {
            // a webhook batch moves messages to new statuses (and sometimes to another hour).
            let ids = subset(rng, &s.email);
            let status = EMAIL_STATUSES.choose(rng).unwrap();
            client
                .execute(
                    &format!(
                        "update public.email_messages set status = $2, sent_at = coalesce(sent_at, {}), delivered_at = {}, opened_at = {} where id = any($1)",
                        maybe_ts(rng, 0.5),
                        maybe_ts(rng, 0.4),
                        maybe_ts(rng, 0.2)
                    ),
                    &[&ids, status],
                )
                .await
                .unwrap();
            let ids = subset(rng, &s.sms);
            let status = SMS_STATUSES.choose(rng).unwrap();
            client
                .execute(
                    &format!(
                        "update public.sms_messages set status = $2, delivered_at = {} where id = any($1)",
                        maybe_ts(rng, 0.3)
                    ),
                    &[&ids, status],
                )
                .await
                .unwrap();
            "status updates".into()
        }
        5 => {
            let ids = subset(rng, &s.sms);
            client
                .execute(
                    "delete from public.sms_messages where id = any($1)",
                    &[&ids],
                )
                .await
                .unwrap();
            s.sms.retain(|id| !ids.contains(id));
            let ids = subset(rng, &s.email);
            client
                .execute(
                    "delete from public.email_messages where id = any($1)",
                    &[&ids],
                )
                .await
                .unwrap();
            s.email.retain(|id| !ids.contains(id));
            "message deletes".into()
        }
        6 | 7 => {
            let mut values = Vec::new();
            for _ in 0..rng.gen_range(1..12) {
                let (channel, message) = match rng.gen_range(0..3) {
                    0 if !s.sms.is_empty() => ("sms", format!("'{}'", s.sms.choose(rng).unwrap())),
                    1 if !s.email.is_empty() => {
                        ("email", format!("'{}'", s.email.choose(rng).unwrap()))
                    }
                    _ => ("email", "null".to_string()),
                };
                values.push(format!(
                    "('{channel}', 'prop', '{}', {message}, '{}', {})",
                    Uuid::new_v4(),
                    EVENT_TYPES.choose(rng).unwrap(),
                    maybe_ts(rng, 0.8)
                ));
            }
            let rows = client
                .query(
                    &format!(
                        "insert into public.message_events (channel, provider, provider_event_id, message_id, event_type, occurred_at) values {} returning id",
                        values.join(", ")
                    ),
                    &[],
                )
                .await
                .unwrap();
            s.events.extend(rows.iter().map(|r| r.get::<_, i64>(0)));
            "event insert".into()
        }
        8 => {
            let n = rng.gen_range(0..=s.events.len().min(6));
            let ids: Vec<i64> = s.events.choose_multiple(rng, n).copied().collect();
            if rng.gen_bool(0.5) {
                client
                    .execute(
                        "delete from public.message_events where id = any($1)",
                        &[&ids],
                    )
                    .await
                    .unwrap();
                s.events.retain(|id| !ids.contains(id));
                "event deletes".into()
            } else {
                let kind = EVENT_TYPES.choose(rng).unwrap();
                client
                    .execute(
                        "update public.message_events set event_type = $2 where id = any($1)",
                        &[&ids, kind],
                    )
                    .await
                    .unwrap();
                "event updates".into()
            }
        }
        9 => {
            // a sync upserts on the natural key: new rows and revised ones in one statement.
            let mut values = Vec::new();
            let mut keys = std::collections::HashSet::new();
            for _ in 0..rng.gen_range(1..12) {
                let key = format!("k{}", rng.gen_range(0..40));
                if !keys.insert(key.clone()) {
                    continue;
                }
                let conversions = if rng.gen_bool(0.8) {
                    format!("{}.{}", rng.gen_range(0..30), rng.gen_range(0..10))
                } else {
                    "null".into()
                };
                let revenue = format!("{}.{:02}", rng.gen_range(0..900), rng.gen_range(0..100));
                let spend = format!("{}.{:02}", rng.gen_range(0..90), rng.gen_range(0..100));
                values.push(format!(
                    "('{}', date '2024-03-29' + {}, {}, {}, '{key}', {}, {}, {conversions}, {revenue}, {}, {spend})",
                    ["ga4", "meta"].choose(rng).unwrap(),
                    rng.gen_range(0..4),
                    ["'email'", "'organic'", "null"].choose(rng).unwrap(),
                    campaign(rng),
                    rng.gen_range(0..500),
                    rng.gen_range(0..400),
                    rng.gen_range(0..300),
                ));
                s.analytics_keys.push(key);
            }
            client
                .batch_execute(&format!(
                    "insert into public.analytics_data (source, metric_date, channel, campaign_id, natural_key, sessions, users, conversions, revenue, clicks, spend)
                     values {}
                     on conflict (source, natural_key) do update set
                       metric_date = excluded.metric_date, channel = excluded.channel, campaign_id = excluded.campaign_id,
                       sessions = excluded.sessions, users = excluded.users, conversions = excluded.conversions,
                       revenue = excluded.revenue, clicks = excluded.clicks, spend = excluded.spend",
                    values.join(", ")
                ))
                .await
                .unwrap();
            "analytics upsert".into()
        }
        _ => {
            if rng.gen_bool(0.7) {
                let key = format!("k{}", rng.gen_range(0..40));
                client
                    .execute(
                        "delete from public.analytics_data where natural_key = $1",
                        &[&key],
                    )
                    .await
                    .unwrap();
                "analytics delete".into()
            } else {
                // a campaign goes: its messages move to "no campaign" (on delete set null).
                let id: Uuid = CAMPAIGNS[rng.gen_range(0..3)].parse().unwrap();
                client
                    .execute("delete from public.campaigns where id = $1", &[&id])
                    .await
                    .unwrap();
                client
                    .execute(
                        "insert into public.campaigns (id, name, channel) values ($1, 'property', 'sms') on conflict do nothing",
                        &[&id],
                    )
                    .await
                    .unwrap();
                "campaign delete".into()
            }
        }
    }
}

#[tokio::test]
async fn rollups_equal_a_recomputation_from_raw_rows_after_random_streams() {
    let db = TestDatabase::new().await;
    let client = db.superuser().await;
    for id in CAMPAIGNS {
        client
            .execute(
                "insert into public.campaigns (id, name, channel) values ($1::text::uuid, 'property', 'sms')",
                &[&id],
            )
            .await
            .unwrap();
    }
    for seed in [1_u64, 7, 2024] {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut stream = Stream {
            sms: Vec::new(),
            email: Vec::new(),
            events: Vec::new(),
            analytics_keys: Vec::new(),
        };
        for step in 0..40 {
            let what = random_step(&client, &mut rng, &mut stream).await;
            assert_rollups_match(&client, &format!("seed {seed}, step {step}: {what}")).await;
            if step % 10 == 9 {
                assert_local_days_match(&client, &format!("seed {seed}, step {step}")).await;
            }
        }
    }
    let touched = rows_as_text(&client, ROLLUP_MESSAGES).await.len();
    assert!(touched > 20, "the stream produced rollup rows ({touched})");
}

/// The dashboard's answer, computed as a superuser from raw rows, for one zone's days.
async fn raw_sent_per_local_day(client: &Client, zone: &str) -> Vec<(String, i64)> {
    client
        .query(
            "select (coalesce(sent_at, created_at) at time zone $1)::date::text, count(*)
             from public.sms_messages group by 1 order by 1",
            &[&zone],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[tokio::test]
async fn local_days_follow_daylight_saving_changes() {
    let db = TestDatabase::new().await;
    let client = db.superuser().await;
    // one sms every hour, on the hour, from 2024-10-25 to 2024-10-30 (utc): europe falls
    // back on sunday 2024-10-27, so that local day has 25 hours.
    client
        .batch_execute(
            "insert into public.sms_messages (to_phone, body, status, created_at, sent_at)
             select '+15550100000', 'x', 'sent', t, t
             from generate_series('2024-10-25 00:00+00'::timestamptz, '2024-10-30 23:00+00', interval '1 hour') t",
        )
        .await
        .unwrap();
    for (zone, expected_sunday) in [
        ("Europe/London", 25),
        ("Europe/Berlin", 25),
        ("America/New_York", 24),
        ("UTC", 24),
    ] {
        let rows = client
            .query(
                "select period_start::text, messages_sent from public.dashboard_series('2024-10-26', '2024-10-29', 'day', $1)",
                &[&zone],
            )
            .await
            .unwrap();
        let series: Vec<(String, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        let raw: Vec<(String, i64)> = raw_sent_per_local_day(&client, zone)
            .await
            .into_iter()
            .filter(|(d, _)| d.as_str() >= "2024-10-26" && d.as_str() <= "2024-10-29")
            .collect();
        assert_eq!(
            series, raw,
            "{zone}: series equals the raw count per local day"
        );
        assert_eq!(
            series[1],
            ("2024-10-27".to_string(), expected_sunday),
            "{zone}"
        );
    }
}

/// `dashboard_series` by day and `dashboard_summary` of each day, against the raw count of
/// sms per local day, for the days `from..=to` in `zone`.
async fn assert_days(client: &Client, zone: &str, from: &str, to: &str) -> Vec<(String, i64)> {
    let rows = client
        .query(
            "select period_start::text, messages_sent from public.dashboard_series($2::text::date, $3::text::date, 'day', $1)",
            &[&zone, &from, &to],
        )
        .await
        .unwrap();
    let series: Vec<(String, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let raw: Vec<(String, i64)> = raw_sent_per_local_day(client, zone)
        .await
        .into_iter()
        .filter(|(d, _)| d.as_str() >= from && d.as_str() <= to)
        .collect();
    assert_eq!(
        series, raw,
        "{zone}: series equals the raw count per local day"
    );
    for (day, sent) in &series {
        let summary: Value = client
            .query_one(
                "select public.dashboard_summary($2::text::date, $2::text::date, $1)",
                &[&zone, day],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(summary["current"]["messages_sent"], *sent, "{zone} {day}");
    }
    series
}

#[tokio::test]
async fn half_and_quarter_hour_zones_get_exact_local_days_across_daylight_saving() {
    let db = TestDatabase::new().await;
    let client = db.superuser().await;
    // one sms every five minutes around australia's changes of 2024: on sunday 2024-04-07
    // adelaide falls back from +10:30 to +09:30 (a 25-hour day) and lord howe from +11:00 to
    // +10:30 (24.5 hours); on sunday 2024-10-06 adelaide springs forward (23 hours) and lord
    // howe by half an hour (23.5 hours). kolkata (+05:30) and kathmandu (+05:45) keep 24.
    client
        .batch_execute(
            "insert into public.sms_messages (to_phone, body, status, created_at, sent_at)
             select '+15550100000', 'x', 'sent', t, t
             from generate_series('2024-04-04 00:00+00'::timestamptz, '2024-04-10 00:00+00', interval '5 minutes') t
             union all
             select '+15550100000', 'x', 'sent', t, t
             from generate_series('2024-10-03 00:00+00'::timestamptz, '2024-10-09 00:00+00', interval '5 minutes') t",
        )
        .await
        .unwrap();
    for (zone, april_7, october_6) in [
        ("Australia/Adelaide", 25 * 12, 23 * 12),
        ("Australia/Lord_Howe", 24 * 12 + 6, 23 * 12 + 6),
        ("Asia/Kolkata", 24 * 12, 24 * 12),
        ("Asia/Kathmandu", 24 * 12, 24 * 12),
    ] {
        let april = assert_days(&client, zone, "2024-04-05", "2024-04-08").await;
        assert_eq!(april[2], ("2024-04-07".to_string(), april_7), "{zone}");
        let october = assert_days(&client, zone, "2024-10-04", "2024-10-07").await;
        assert_eq!(october[2], ("2024-10-06".to_string(), october_6), "{zone}");
        // a week (monday first) and a month in the zone, against the raw rows.
        let week: i64 = client
            .query_one(
                "select messages_sent from public.dashboard_series('2024-04-01', '2024-04-07', 'week', $1)",
                &[&zone],
            )
            .await
            .unwrap()
            .get(0);
        let raw_week: i64 = client
            .query_one(
                "select count(*) from public.sms_messages
                 where (sent_at at time zone $1)::date between '2024-04-01' and '2024-04-07'",
                &[&zone],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(week, raw_week, "{zone}: the week of the change");
        let months = client
            .query(
                "select period_start::text, messages_sent from public.dashboard_series('2024-04-01', '2024-10-31', 'month', $1)
                 where messages_sent > 0",
                &[&zone],
            )
            .await
            .unwrap();
        let months: Vec<(String, i64)> = months.iter().map(|r| (r.get(0), r.get(1))).collect();
        let raw_months = client
            .query(
                "select date_trunc('month', (sent_at at time zone $1))::date::text, count(*)
                 from public.sms_messages group by 1 order by 1",
                &[&zone],
            )
            .await
            .unwrap();
        let raw_months: Vec<(String, i64)> =
            raw_months.iter().map(|r| (r.get(0), r.get(1))).collect();
        assert_eq!(months, raw_months, "{zone}: months");
    }
    // before standard time, kolkata's offset was not a whole number of quarter hours (+05:21:10
    // in 1900): refused with the parameter named, not answered wrongly.
    let err = client
        .query(
            "select * from public.dashboard_series('1900-01-01', '1900-01-02', 'day', 'Asia/Kolkata')",
            &[],
        )
        .await
        .unwrap_err();
    let db_error = err.as_db_error().unwrap();
    assert_eq!(db_error.code(), &SqlState::INVALID_PARAMETER_VALUE);
    assert!(
        db_error
            .message()
            .starts_with("p_time_zone: Asia/Kolkata is not a whole number of quarter hours"),
        "{}",
        db_error.message()
    );
}

async fn scope_for(app: &TestApp, role: &str) -> RequestScope {
    let caller = app.state.auth.verify_token(&token_for(role)).await.unwrap();
    RequestScope {
        role: caller.db_role.as_str(),
        claims: caller.claims,
        method: "POST".into(),
        path: "/rest/v1/rpc/dashboard".into(),
        headers: serde_json::json!({}),
        statement_timeout: None,
    }
}

#[tokio::test]
async fn every_role_gets_what_the_matrix_allows_from_every_dashboard_function() {
    let app = TestApp::spawn().await;
    app.load_fixtures().await;
    let calls = [
        "select public.dashboard_summary(current_date - 6, current_date)::text",
        "select count(*)::text from public.dashboard_series(current_date - 6, current_date, 'day', 'Europe/Paris')",
        "select coalesce(sum(messages_sent), 0)::text from public.dashboard_breakdown(current_date - 6, current_date, 'channel')",
        "select coalesce(sum(messages_sent), 0)::text from public.dashboard_breakdown(current_date - 6, current_date, 'campaign')",
        "select coalesce(sum(sessions), 0)::text from public.dashboard_breakdown('2024-01-01', '2024-01-02', 'source')",
    ];
    let mut answers: Vec<Vec<String>> = Vec::new();
    for role in ["anon", "viewer", "user", "admin", "service_role"] {
        let mut conn = app.state.pool.get().await.unwrap();
        let scope = scope_for(&app, role).await;
        let mut tx = gimbal_db::scope::begin(&mut conn, &scope, Access::ReadOnly)
            .await
            .unwrap();
        let mut got = Vec::new();
        for sql in calls {
            let sp = tx.savepoint("call").await.unwrap();
            match sp.query_one(sql, &[]).await {
                Ok(row) => got.push(row.get::<_, String>(0)),
                Err(e) => {
                    assert_eq!(role, "anon", "{role}: {sql}: {e:?}");
                    assert_eq!(e.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "{sql}");
                }
            }
            sp.rollback().await.unwrap();
        }
        if role == "anon" {
            assert!(got.is_empty(), "anon may call no dashboard function");
        } else {
            answers.push(got);
        }
    }
    // the members and service_role all see the same figures, and the fixtures are in them.
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    let summary: Value = serde_json::from_str(&answers[0][0]).unwrap();
    assert_eq!(summary["current"]["messages_sent"], 4, "{summary}");
    assert_eq!(answers[0][1], "7");
    assert_eq!(answers[0][2], "4");
    assert_eq!(answers[0][4], "30");
}

async fn random_stream(client: &Client, seed: u64, steps: usize) -> Stream {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut stream = Stream {
        sms: Vec::new(),
        email: Vec::new(),
        events: Vec::new(),
        analytics_keys: Vec::new(),
    };
    for _ in 0..steps {
        random_step(client, &mut rng, &mut stream).await;
    }
    stream
}

async fn insert_property_campaigns(client: &Client) {
    for id in CAMPAIGNS {
        client
            .execute(
                "insert into public.campaigns (id, name, channel) values ($1::text::uuid, 'property', 'sms') on conflict do nothing",
                &[&id],
            )
            .await
            .unwrap();
    }
}

async fn message_totals(client: &Client) -> String {
    rows_as_text(
        client,
        "select coalesce(sum(sent), 0)::bigint, coalesce(sum(unsubscribed), 0)::bigint,
                (select coalesce(sum(sessions), 0)::bigint from public.analytics_totals_daily)
         from public.message_totals_hourly",
    )
    .await
    .join("")
}

#[tokio::test]
async fn truncating_a_source_clears_exactly_what_it_contributed() {
    let db = TestDatabase::new().await;
    let client = db.superuser().await;
    insert_property_campaigns(&client).await;
    random_stream(&client, 11, 60).await;
    assert_rollups_match(&client, "the stream").await;
    let before = message_totals(&client).await;
    assert_ne!(before, "0|0|0", "the stream produced figures");

    // a rolled-back truncate leaves the rollups as they were.
    client
        .batch_execute("begin; truncate public.sms_messages, public.analytics_data; rollback")
        .await
        .unwrap();
    assert_eq!(message_totals(&client).await, before);
    assert_rollups_match(&client, "a rolled-back truncate").await;

    for (i, table) in [
        "message_events",
        "sms_messages",
        "analytics_data",
        "email_messages",
    ]
    .iter()
    .enumerate()
    {
        client
            .batch_execute(&format!("truncate public.{table}"))
            .await
            .unwrap();
        assert_rollups_match(&client, &format!("truncate {table}")).await;
        // the rollups keep following the rows written afterwards.
        random_stream(&client, 100 + i as u64, 15).await;
        assert_rollups_match(&client, &format!("writes after truncate {table}")).await;
    }
}

#[tokio::test]
async fn rebuild_recounts_every_rollup_as_the_service_role_only() {
    let db = TestDatabase::new().await;
    let mut client = db.superuser().await;
    insert_property_campaigns(&client).await;
    random_stream(&client, 23, 60).await;
    assert_rollups_match(&client, "the stream").await;
    // drift: what a bulk load with triggers disabled, or a hand edit, leaves behind.
    client
        .batch_execute(
            "set session_replication_role = replica;
             insert into public.sms_messages (to_phone, body, status, created_at, sent_at)
             values ('+15550100000', 'x', 'sent', '2024-04-06 10:07+00', '2024-04-06 10:07+00');
             set session_replication_role = origin;
             update public.message_stats_hourly set sent = sent + 7 where bucket = (select min(bucket) from public.message_stats_hourly);
             insert into public.message_totals_hourly (bucket, channel, sent) values ('2001-01-01 00:15+00', 'sms', 3);
             delete from public.analytics_totals_daily where metric_date = (select min(metric_date) from public.analytics_totals_daily);
             update public.analytics_daily set revenue = revenue + 1;",
        )
        .await
        .unwrap();
    assert_ne!(
        rows_as_text(&client, ROLLUP_MESSAGES).await,
        rows_as_text(&client, &brute_force_messages()).await,
        "the drift is visible to the brute-force check"
    );

    // members may not rebuild (the function is the service role's).
    for role in ["viewer", "user", "admin"] {
        let err = client
            .batch_execute(&format!(
                "begin; set local role authenticated;
                 select set_config('request.jwt.claims', '{{\"role\":\"authenticated\",\"app_metadata\":{{\"role\":\"{role}\"}}}}', true);
                 select app_private.rebuild_rollups();"
            ))
            .await
            .unwrap_err();
        assert_eq!(
            err.code(),
            Some(&SqlState::INSUFFICIENT_PRIVILEGE),
            "{role}"
        );
        client.batch_execute("rollback").await.unwrap();
    }
    let err = client
        .batch_execute("begin; set local role anon; select app_private.rebuild_rollups();")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::INSUFFICIENT_PRIVILEGE), "anon");
    client.batch_execute("rollback").await.unwrap();

    let counts = gimbal::rollups::rebuild(&mut client, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    assert_rollups_match(&client, "rebuild").await;
    for table in [
        "message_stats_hourly",
        "message_totals_hourly",
        "analytics_daily",
        "analytics_totals_daily",
    ] {
        let n: i64 = client
            .query_one(&format!("select count(*) from public.{table}"), &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(counts[table], n, "{table}");
        assert!(n > 0, "{table} has rows");
    }
}
