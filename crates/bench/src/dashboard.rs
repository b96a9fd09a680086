//! `dashboard`: 10,000,000 message events, 1,000,000 messages and 1,000,000 analytics rows
//! (generated with `generate_series`, through the rollup triggers), then the latency of the
//! dashboard summary and of a 90-day daily series, called as a viewer under RLS (median of
//! repeated calls), against the same answers computed from the raw rows in the same run. The
//! two answers are compared before any figure is printed.
//!
//! The data is shaped like campaign traffic: each of 200 campaigns is sent within two hours
//! and its events trail over the following week; a tenth of the traffic has no campaign and
//! is spread evenly over the year. Rollup size (and so dashboard latency) grows with the
//! non-empty (15-minute bucket, channel, campaign) cells in the range, not with the number
//! of events.

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use gimbal_db::{Access, RequestScope, harness::TestDatabase};
use serde_json::Value;
use tokio_postgres::Client;

const CAMPAIGNS: i64 = 200;
const ZONE: &str = "Europe/Berlin";

struct Size {
    events: i64,
    messages: i64,
    analytics: i64,
    calls: usize,
    raw_calls: usize,
}

pub async fn run(quick: bool) -> anyhow::Result<()> {
    let size = if quick {
        Size {
            events: 100_000,
            messages: 10_000,
            analytics: 10_000,
            calls: 11,
            raw_calls: 3,
        }
    } else {
        Size {
            events: 10_000_000,
            messages: 1_000_000,
            analytics: 1_000_000,
            calls: 31,
            raw_calls: 3,
        }
    };
    let db = TestDatabase::new().await;
    let admin = db.superuser().await;
    let load = Instant::now();
    generate(&admin, &size).await?;
    let load_secs = load.elapsed().as_secs_f64();
    admin
        .batch_execute("vacuum analyze")
        .await
        .context("vacuum")?;
    let rollup_rows: i64 = admin
        .query_one(
            "select (select count(*) from public.message_stats_hourly) + (select count(*) from public.message_totals_hourly)
                  + (select count(*) from public.analytics_daily) + (select count(*) from public.analytics_totals_daily)",
            &[],
        )
        .await?
        .get(0);

    // The dashboard as a viewer sees it: caller scope, RLS on the rollups.
    let pool = db.app_pool(2);
    let mut conn = pool.get().await?;
    let viewer = viewer_scope();

    // One warm-up call each, then the timed ones.
    let mut summary_answer = Value::Null;
    let mut times = Vec::new();
    for i in 0..=size.calls {
        let start = Instant::now();
        let tx = gimbal_db::scope::begin(&mut conn, &viewer, Access::ReadOnly).await?;
        let row = tx
            .query_one(
                "select public.dashboard_summary(current_date - 89, current_date, $1)",
                &[&ZONE],
            )
            .await
            .context("dashboard_summary")?;
        summary_answer = row.get(0);
        tx.commit().await?;
        if i > 0 {
            times.push(start.elapsed());
        }
    }
    let summary_ms = median_ms(times);

    let mut series_answer = Vec::new();
    let mut times = Vec::new();
    for i in 0..=size.calls {
        let start = Instant::now();
        let tx = gimbal_db::scope::begin(&mut conn, &viewer, Access::ReadOnly).await?;
        let rows = tx
            .query(SERIES_SQL, &[&ZONE])
            .await
            .context("dashboard_series")?;
        series_answer = rows.iter().map(row_text).collect();
        tx.commit().await?;
        if i > 0 {
            times.push(start.elapsed());
        }
    }
    let series_ms = median_ms(times);

    let mut raw_summary = Vec::new();
    let mut times = Vec::new();
    for _ in 0..size.raw_calls {
        let start = Instant::now();
        let rows = admin.query(RAW_SUMMARY_SQL, &[&ZONE]).await?;
        raw_summary = rows.iter().map(row_text).collect();
        times.push(start.elapsed());
    }
    let raw_summary_ms = median_ms(times);

    let mut raw_series = Vec::new();
    let mut times = Vec::new();
    for _ in 0..size.raw_calls {
        let start = Instant::now();
        let rows = admin.query(RAW_SERIES_SQL, &[&ZONE]).await?;
        raw_series = rows.iter().map(row_text).collect();
        times.push(start.elapsed());
    }
    let raw_series_ms = median_ms(times);

    let rollup_summary = normalise(summary_rows(&summary_answer)?);
    let raw_summary = normalise(raw_summary);
    let (series_answer, raw_series) = (normalise(series_answer), normalise(raw_series));
    ensure!(
        rollup_summary == raw_summary,
        "summary differs from raw rows:\n rollup {rollup_summary:?}\n raw    {raw_summary:?}"
    );
    ensure!(
        series_answer == raw_series,
        "series differs from raw rows ({} vs {} rows)",
        series_answer.len(),
        raw_series.len()
    );
    ensure!(series_answer.len() == 90, "90 daily periods");

    println!(
        "scenario=dashboard events={} messages={} analytics_rows={} load_s={load_secs:.1} rollup_rows={rollup_rows} \
         summary_median_ms={summary_ms:.2} series90_median_ms={series_ms:.2} \
         raw_summary_median_ms={raw_summary_ms:.1} raw_series90_median_ms={raw_series_ms:.1} \
         summary_speedup={:.0}x series_speedup={:.0}x answers_equal=true peak_rss_mb={}",
        size.events,
        size.messages,
        size.analytics,
        raw_summary_ms / summary_ms,
        raw_series_ms / series_ms,
        crate::memory::peak_rss_bytes() / (1024 * 1024)
    );
    Ok(())
}

fn viewer_scope() -> RequestScope {
    RequestScope {
        role: "authenticated",
        claims: serde_json::json!({
            "sub": "00000000-0000-4000-8000-00000000000c",
            "role": "authenticated",
            "aud": "authenticated",
            "app_metadata": {"role": "viewer"}
        }),
        method: "POST".into(),
        path: "/rest/v1/rpc/dashboard_summary".into(),
        headers: serde_json::json!({}),
        statement_timeout: None,
    }
}

/// The median of `times`, in milliseconds.
fn median_ms(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1000.0
}

/// Numbers to two decimals, so `12.50` (numeric text) and `12.5` (a JSON number) compare equal.
fn normalise(rows: Vec<String>) -> Vec<String> {
    rows.into_iter()
        .map(|row| {
            row.split('|')
                .map(|f| match f.parse::<f64>() {
                    Ok(v) if !f.contains('-') || f.starts_with('-') => format!("{v:.2}"),
                    _ => f.to_string(),
                })
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

fn row_text(row: &tokio_postgres::Row) -> String {
    (0..row.len())
        .map(|i| row.get::<_, Option<String>>(i).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("|")
}

/// The summary's counts as `period|sent|…` lines, in the raw query's column order.
fn summary_rows(summary: &Value) -> anyhow::Result<Vec<String>> {
    let keys = [
        "messages_sent",
        "messages_delivered",
        "messages_opened",
        "messages_clicked",
        "messages_bounced",
        "unsubscribes",
        "sessions",
        "users",
        "conversions",
        "revenue",
        "impressions",
        "clicks",
        "spend",
    ];
    let mut rows = Vec::new();
    for period in ["current", "previous"] {
        let figures = summary
            .get(period)
            .with_context(|| format!("summary has no {period}"))?;
        let mut fields = vec![period.to_string()];
        for key in keys {
            let v = &figures[key];
            fields.push(match v {
                Value::Number(n) => n.to_string(),
                other => other.to_string(),
            });
        }
        rows.push(fields.join("|"));
    }
    Ok(rows)
}

const SERIES_SQL: &str = "
select period_start::text, messages_sent::text, messages_delivered::text, messages_opened::text,
       unsubscribes::text, sessions::text, revenue::text, spend::text
from public.dashboard_series(current_date - 89, current_date, 'day', $1)
order by 1";

/// The 90-day daily series from raw rows.
const RAW_SERIES_SQL: &str = "
with days as (
  select d::date as day from generate_series(current_date - 89, current_date, interval '1 day') d
), m as (
  select (coalesce(x.sent_at, x.created_at) at time zone $1)::date as day,
         sum(c.sent) as sent, sum(c.delivered) as delivered, sum(c.opened) as opened
  from (
    select 'sms' as channel, direction, status, sent_at, delivered_at, null::timestamptz as opened_at,
           null::timestamptz as clicked_at, created_at from public.sms_messages
    union all
    select 'email', 'outbound', status, sent_at, delivered_at, opened_at, clicked_at, created_at
    from public.email_messages
  ) x
  cross join lateral app_private.message_counters(x.channel, x.direction, x.status, x.sent_at, x.delivered_at, x.opened_at, x.clicked_at) c
  where coalesce(x.sent_at, x.created_at) >= ((current_date - 89)::timestamp at time zone $1)
    and coalesce(x.sent_at, x.created_at) < ((current_date + 1)::timestamp at time zone $1)
  group by 1
), e as (
  select (coalesce(occurred_at, received_at) at time zone $1)::date as day,
         count(*) filter (where event_type in ('unsubscribe', 'group_unsubscribe', 'opt_out')) as unsub
  from public.message_events
  where coalesce(occurred_at, received_at) >= ((current_date - 89)::timestamp at time zone $1)
    and coalesce(occurred_at, received_at) < ((current_date + 1)::timestamp at time zone $1)
  group by 1
), a as (
  select metric_date as day, sum(sessions) as sessions, sum(revenue) as revenue, sum(spend) as spend
  from public.analytics_data
  where metric_date between current_date - 89 and current_date
  group by 1
)
select days.day::text, coalesce(m.sent, 0)::text, coalesce(m.delivered, 0)::text,
       coalesce(m.opened, 0)::text, coalesce(e.unsub, 0)::text, coalesce(a.sessions, 0)::text,
       coalesce(a.revenue, 0)::text, coalesce(a.spend, 0)::text
from days
left join m using (day)
left join e using (day)
left join a using (day)
order by 1";

/// The summary's current and previous 90-day totals from raw rows.
const RAW_SUMMARY_SQL: &str = "
with periods as (
  select 'current' as period, current_date - 89 as first_day, current_date as last_day
  union all
  select 'previous', current_date - 179, current_date - 90
), bounds as (
  select period, first_day, last_day,
         first_day::timestamp at time zone $1 as lo, (last_day + 1)::timestamp at time zone $1 as hi
  from periods
), m as (
  select b.period, sum(c.sent) as sent, sum(c.delivered) as delivered, sum(c.opened) as opened,
         sum(c.clicked) as clicked, sum(c.bounced) as bounced
  from (
    select 'sms' as channel, direction, status, sent_at, delivered_at, null::timestamptz as opened_at,
           null::timestamptz as clicked_at, created_at from public.sms_messages
    union all
    select 'email', 'outbound', status, sent_at, delivered_at, opened_at, clicked_at, created_at
    from public.email_messages
  ) x
  join bounds b on coalesce(x.sent_at, x.created_at) >= b.lo and coalesce(x.sent_at, x.created_at) < b.hi
  cross join lateral app_private.message_counters(x.channel, x.direction, x.status, x.sent_at, x.delivered_at, x.opened_at, x.clicked_at) c
  group by 1
), e as (
  select b.period,
         count(*) filter (where x.event_type in ('unsubscribe', 'group_unsubscribe', 'opt_out')) as unsub
  from public.message_events x
  join bounds b on coalesce(x.occurred_at, x.received_at) >= b.lo and coalesce(x.occurred_at, x.received_at) < b.hi
  group by 1
), a as (
  select b.period, sum(coalesce(sessions, 0)) as sessions, sum(coalesce(users, 0)) as users,
         sum(coalesce(conversions, 0)) as conversions, sum(coalesce(revenue, 0)) as revenue,
         sum(coalesce(impressions, 0)) as impressions, sum(coalesce(clicks, 0)) as clicks,
         sum(coalesce(spend, 0)) as spend
  from public.analytics_data x
  join bounds b on x.metric_date between b.first_day and b.last_day
  group by 1
)
select p.period, coalesce(m.sent, 0)::text, coalesce(m.delivered, 0)::text, coalesce(m.opened, 0)::text,
       coalesce(m.clicked, 0)::text, coalesce(m.bounced, 0)::text, coalesce(e.unsub, 0)::text,
       coalesce(a.sessions, 0)::text, coalesce(a.users, 0)::text, coalesce(a.conversions, 0)::text,
       coalesce(a.revenue, 0)::text, coalesce(a.impressions, 0)::text, coalesce(a.clicks, 0)::text,
       coalesce(a.spend, 0)::text
from periods p
left join m using (period)
left join e using (period)
left join a using (period)
order by case p.period when 'current' then 0 else 1 end";

/// Campaigns, then messages, events and analytics rows in chunks of a million, each chunk one
/// statement through the rollup triggers.
async fn generate(client: &Client, size: &Size) -> anyhow::Result<()> {
    client
        .batch_execute(&format!(
            "insert into public.campaigns (id, name, channel, status)
             select md5('bench-campaign-' || i)::uuid, 'bench campaign ' || i,
                    case when i % 2 = 0 then 'email' else 'sms' end, 'completed'
             from generate_series(0, {CAMPAIGNS} - 1) i;
             -- campaign i goes out at hour send_hour(i) before now, spread over the year.
             create temporary table bench_campaigns as
             select i, md5('bench-campaign-' || i)::uuid as id,
                    case when i % 2 = 0 then 'email' else 'sms' end as channel,
                    date_trunc('hour', now()) - make_interval(hours => (i * 8760 / {CAMPAIGNS})::int + 170) as sent_at
             from generate_series(0, {CAMPAIGNS} - 1) i;"
        ))
        .await
        .context("campaigns")?;
    let chunk = 1_000_000_i64;
    for start in (0..size.messages).step_by(chunk as usize) {
        let end = (start + chunk).min(size.messages) - 1;
        client
            .batch_execute(&messages_sql(start, end))
            .await
            .context("messages")?;
    }
    for start in (0..size.events).step_by(chunk as usize) {
        let end = (start + chunk).min(size.events) - 1;
        client
            .batch_execute(&events_sql(start, end))
            .await
            .context("events")?;
    }
    for start in (0..size.analytics).step_by(chunk as usize) {
        let end = (start + chunk).min(size.analytics) - 1;
        client
            .batch_execute(&analytics_sql(start, end))
            .await
            .context("analytics")?;
    }
    Ok(())
}

/// Message g: a tenth without campaign, spread over the year; the rest go out with their
/// campaign within two hours of its send time. Statuses in fixed proportions.
fn messages_sql(start: i64, end: i64) -> String {
    let common = format!(
        "from generate_series({start}::bigint, {end}::bigint) g
         join bench_campaigns c on c.i = g % {CAMPAIGNS}
         cross join lateral (select case when g % 10 = 0
             then date_trunc('hour', now()) - make_interval(hours => (g * 7919 % 8760)::int, mins => (g % 60)::int)
             else c.sent_at + make_interval(mins => (g % 120)::int) end as t) s"
    );
    format!(
        "insert into public.email_messages (campaign_id, to_email, body, status, created_at, sent_at, delivered_at, opened_at, clicked_at)
         select case when g % 10 = 0 then null else c.id end, 'r' || g || '@example.com', 'x',
                case when g % 100 < 2 then 'bounced' when g % 100 < 3 then 'failed'
                     when g % 100 < 25 then 'opened' when g % 100 < 30 then 'clicked' else 'delivered' end,
                s.t, case when g % 100 between 2 and 2 then null else s.t end,
                case when g % 100 >= 3 then s.t + interval '1 minute' end,
                case when g % 100 between 3 and 29 then s.t + interval '1 hour' end,
                case when g % 100 between 25 and 29 then s.t + interval '2 hours' end
         {common}
         where c.channel = 'email';
         insert into public.sms_messages (campaign_id, to_phone, body, status, created_at, sent_at, delivered_at)
         select case when g % 10 = 0 then null else c.id end, '+1555' || lpad((g % 10000000)::text, 7, '0'), 'x',
                case when g % 100 < 3 then 'undelivered' when g % 100 < 4 then 'failed' else 'delivered' end,
                s.t, case when g % 100 = 3 then null else s.t end,
                case when g % 100 >= 4 then s.t + interval '30 seconds' end
         {common}
         where c.channel = 'sms';"
    )
}

/// Event g belongs to campaign g % 200 and happens within a week of its send, or (a tenth)
/// to no campaign at any hour of the year. One in fifty is an unsubscribe.
fn events_sql(start: i64, end: i64) -> String {
    format!(
        "insert into public.message_events (channel, provider, provider_event_id, campaign_id, event_type, occurred_at)
         select c.channel, case when c.channel = 'email' then 'sendgrid' else 'twilio' end, 'ev' || g,
                case when g % 10 = 0 then null else c.id end,
                case when g % 50 = 0 then 'unsubscribe' when g % 50 = 1 then 'spamreport'
                     when g % 50 < 20 then 'open' when g % 50 < 26 then 'click' else 'delivered' end,
                case when g % 10 = 0
                  then date_trunc('hour', now()) - make_interval(hours => (g * 7919 % 8760)::int, mins => (g % 60)::int)
                  else c.sent_at + make_interval(hours => (g * 31 % 168)::int, mins => (g % 60)::int) end
         from generate_series({start}::bigint, {end}::bigint) g
         join bench_campaigns c on c.i = g % {CAMPAIGNS};"
    )
}

/// Analytics row g: one of 365 days, three sources, six channels, device and region
/// dimensions; a fifth attributed to a campaign.
fn analytics_sql(start: i64, end: i64) -> String {
    format!(
        "insert into public.analytics_data (source, metric_date, channel, campaign_id, dimensions, sessions, users,
                                            conversions, revenue, impressions, clicks, spend, natural_key)
         select (array['ga4', 'meta', 'csv'])[1 + g % 3], current_date - (g / 3 % 365)::int,
                (array['organic', 'paid_social', 'email', 'sms', 'referral', 'direct'])[1 + g / 7 % 6],
                case when g % 5 = 0 then md5('bench-campaign-' || (g / 5 % {CAMPAIGNS}))::uuid end,
                jsonb_build_object('device', (array['desktop', 'mobile', 'tablet'])[1 + g % 3 ],
                                   'region', 'r' || (g / 11 % 40)),
                10 + g % 90, 8 + g % 70, (g % 7)::numeric, round((g % 9000) / 100.0, 2),
                case when g % 3 = 1 then 100 + g % 900 end, case when g % 3 = 1 then 5 + g % 40 end,
                case when g % 3 = 1 then round((g % 3000) / 100.0, 2) end,
                'bench:' || g
         from generate_series({start}::bigint, {end}::bigint) g;"
    )
}
