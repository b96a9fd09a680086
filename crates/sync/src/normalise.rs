//! Normalisation: the marketing metrics dashboards chart (sessions, users, conversions, revenue,
//! impressions, clicks, spend) go into `analytics_data`, one row per record and day, whatever the
//! source called them (GA4's `totalUsers`, Meta's `spend`…). Records without a day or without any
//! known metric stay in `imported_data` only.

use gimbal_db::Transaction;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{Record, SyncError};

/// Source names for each `analytics_data` column, first match wins.
const SESSIONS: &[&str] = &["sessions"];
const USERS: &[&str] = &["totalUsers", "activeUsers", "users"];
const CONVERSIONS: &[&str] = &["conversions", "keyEvents"];
const REVENUE: &[&str] = &["totalRevenue", "purchaseRevenue", "revenue"];
const IMPRESSIONS: &[&str] = &["impressions"];
const CLICKS: &[&str] = &["clicks"];
const SPEND: &[&str] = &["spend", "advertiserAdCost", "cost"];
/// Dimensions that name a channel.
const CHANNEL: &[&str] = &[
    "sessionDefaultChannelGroup",
    "channel",
    "publisher_platform",
];

fn number(metrics: &Map<String, Value>, names: &[&str]) -> Option<f64> {
    names.iter().find_map(|n| match metrics.get(*n)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    })
}

fn whole(metrics: &Map<String, Value>, names: &[&str]) -> Option<i64> {
    number(metrics, names).map(|n| n.round() as i64)
}

fn decimal(metrics: &Map<String, Value>, names: &[&str]) -> Option<String> {
    number(metrics, names).map(|n| format!("{n}"))
}

/// Upserts the known metrics of `records` on (source kind, `<source id>:<stream>:<key>`).
pub async fn store_analytics(
    tx: &Transaction<'_>,
    source: Uuid,
    kind: &str,
    stream: &str,
    records: &[&Record],
) -> Result<(), SyncError> {
    let mut rows = Rows::default();
    for record in records {
        let Some(date) = record.date else { continue };
        let m = &record.metrics;
        let values = (
            whole(m, SESSIONS),
            whole(m, USERS),
            decimal(m, CONVERSIONS),
            decimal(m, REVENUE),
            whole(m, IMPRESSIONS),
            whole(m, CLICKS),
            decimal(m, SPEND),
        );
        if values == (None, None, None, None, None, None, None) {
            continue;
        }
        rows.dates.push(date);
        rows.keys.push(format!("{source}:{stream}:{}", record.key));
        rows.channels.push(
            CHANNEL
                .iter()
                .find_map(|c| record.dimensions.get(*c)?.as_str().map(str::to_string)),
        );
        rows.dimensions
            .push(Value::Object(record.dimensions.clone()));
        rows.sessions.push(values.0);
        rows.users.push(values.1);
        rows.conversions.push(values.2);
        rows.revenue.push(values.3);
        rows.impressions.push(values.4);
        rows.clicks.push(values.5);
        rows.spend.push(values.6);
    }
    if rows.dates.is_empty() {
        return Ok(());
    }
    tx.execute(
        "insert into public.analytics_data
           (data_source_id, source, metric_date, natural_key, channel, dimensions, sessions, users,
            conversions, revenue, impressions, clicks, spend)
         select $1, $2, u.d, u.k, u.ch, u.dims, u.se, u.us, u.co::numeric, u.re::numeric, u.im,
                u.cl, u.sp::numeric
           from unnest($3::date[], $4::text[], $5::text[], $6::jsonb[], $7::bigint[], $8::bigint[],
                       $9::text[], $10::text[], $11::bigint[], $12::bigint[], $13::text[])
             as u(d, k, ch, dims, se, us, co, re, im, cl, sp)
         on conflict (source, natural_key) do update
           set metric_date = excluded.metric_date, channel = excluded.channel,
               dimensions = excluded.dimensions, sessions = excluded.sessions,
               users = excluded.users, conversions = excluded.conversions,
               revenue = excluded.revenue, impressions = excluded.impressions,
               clicks = excluded.clicks, spend = excluded.spend",
        &[
            &source,
            &kind,
            &rows.dates,
            &rows.keys,
            &rows.channels,
            &rows.dimensions,
            &rows.sessions,
            &rows.users,
            &rows.conversions,
            &rows.revenue,
            &rows.impressions,
            &rows.clicks,
            &rows.spend,
        ],
    )
    .await?;
    Ok(())
}

#[derive(Default)]
struct Rows {
    dates: Vec<chrono::NaiveDate>,
    keys: Vec<String>,
    channels: Vec<Option<String>>,
    dimensions: Vec<Value>,
    sessions: Vec<Option<i64>>,
    users: Vec<Option<i64>>,
    conversions: Vec<Option<String>>,
    revenue: Vec<Option<String>>,
    impressions: Vec<Option<i64>>,
    clicks: Vec<Option<i64>>,
    spend: Vec<Option<String>>,
}
