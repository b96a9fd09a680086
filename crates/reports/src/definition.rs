//! What a report is: the JSON stored in `reports.definition` (and accepted as overrides by
//! `generate-report`), validated into a [`Report`] with errors that name the field.
//!
//! ```json
//! {"metrics": ["sessions", "revenue"], "dimensions": ["channel"], "interval": "day",
//!  "filters": {"channel": "email", "campaign_id": null},
//!  "range": "last_7_days" | {"from": "2024-03-01", "to": "2024-03-31"},
//!  "time_zone": "Europe/Paris", "format": "pdf",
//!  "layout": {"title": "…", "kpis": ["sessions"], "chart": true},
//!  "delivery": {"recipients": ["a@example.com"], "attach_max_bytes": 5000000}}
//! ```

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::metrics::Metric;

/// A definition field that is wrong, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

pub(crate) fn invalid(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_string(),
        message: message.into(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
    Pdf,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            "pdf" => Some(Format::Pdf),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Pdf => "pdf",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Pdf => "application/pdf",
        }
    }
}

/// What each row of the report is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dimension {
    /// One row for the whole period.
    Total,
    /// One row per day, week or month.
    Date,
    Campaign,
    Channel,
    Source,
}

impl Dimension {
    pub fn label(self) -> &'static str {
        match self {
            Dimension::Total => "Period",
            Dimension::Date => "Date",
            Dimension::Campaign => "Campaign",
            Dimension::Channel => "Channel",
            Dimension::Source => "Source",
        }
    }
}

/// A validated definition with its period resolved.
#[derive(Clone, Debug)]
pub struct Report {
    pub title: String,
    pub metrics: Vec<Metric>,
    pub dimension: Dimension,
    pub interval: String,
    pub channel: Option<String>,
    pub campaign_id: Option<Uuid>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub time_zone: String,
    pub format: Format,
    pub kpis: Vec<Metric>,
    pub chart: bool,
    pub recipients: Vec<String>,
    /// Files up to this size are attached to delivery emails; larger ones are linked.
    pub attach_max_bytes: u64,
}

/// The most rows a report renders: a daily report over ten years.
pub const MAX_ROWS: usize = 3660;
const DEFAULT_ATTACH_MAX: u64 = 5 * 1024 * 1024;

#[derive(Deserialize)]
#[serde(untagged)]
enum RangeSpec {
    Preset(String),
    Dates { from: String, to: String },
}

/// Top-level keys of `overrides` replace those of `base` (a template's definition).
pub fn merge(base: &Value, overrides: &Value) -> Value {
    let mut merged = base.as_object().cloned().unwrap_or_default();
    if let Some(o) = overrides.as_object() {
        for (k, v) in o {
            merged.insert(k.clone(), v.clone());
        }
    }
    Value::Object(merged)
}

/// Validates `definition`; relative ranges are resolved against `today` (in the report's zone).
pub fn validate(
    definition: &Value,
    name: &str,
    format_override: Option<&str>,
    today_in: impl Fn(&str) -> Option<NaiveDate>,
) -> Result<Report, FieldError> {
    let obj = definition
        .as_object()
        .ok_or_else(|| invalid("definition", "must be a JSON object"))?;
    let known = [
        "metrics",
        "dimensions",
        "interval",
        "filters",
        "range",
        "time_zone",
        "format",
        "layout",
        "delivery",
    ];
    if let Some(k) = obj.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(invalid(
            k,
            format!("unknown key; expected one of {}", known.join(", ")),
        ));
    }
    let metrics = metric_list(obj.get("metrics"), "metrics")?
        .ok_or_else(|| invalid("metrics", "at least one metric is required"))?;
    let dimension = dimension(obj.get("dimensions"))?;
    let interval = match obj.get("interval") {
        None | Some(Value::Null) => "day".to_string(),
        Some(Value::String(s)) if ["day", "week", "month"].contains(&s.as_str()) => s.clone(),
        Some(other) => {
            return Err(invalid(
                "interval",
                format!("must be day, week or month, not {other}"),
            ));
        }
    };
    let time_zone = match obj.get("time_zone") {
        None | Some(Value::Null) => "UTC".to_string(),
        Some(Value::String(tz)) if tz.parse::<chrono_tz::Tz>().is_ok() => tz.clone(),
        Some(other) => {
            return Err(invalid(
                "time_zone",
                format!("{other} is not an IANA time zone name"),
            ));
        }
    };
    let today = today_in(&time_zone).ok_or_else(|| invalid("time_zone", "cannot be evaluated"))?;
    let (from, to) = range(obj.get("range"), today)?;
    let (channel, campaign_id) = filters(obj.get("filters"))?;
    let format_name = format_override
        .map(str::to_string)
        .or_else(|| {
            obj.get("format")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| "csv".into());
    let format = Format::parse(&format_name).ok_or_else(|| {
        invalid(
            "format",
            format!("must be csv, xlsx or pdf, not {format_name:?}"),
        )
    })?;
    let layout = obj.get("layout").cloned().unwrap_or(Value::Null);
    let title = match layout.get("title") {
        Some(Value::String(t)) if !t.trim().is_empty() && t.len() <= 200 => t.clone(),
        None | Some(Value::Null) => name.to_string(),
        Some(_) => return Err(invalid("layout.title", "must be 1 to 200 characters")),
    };
    let kpis = metric_list(layout.get("kpis"), "layout.kpis")?
        .unwrap_or_else(|| metrics.iter().copied().take(8).collect());
    let chart = match layout.get("chart") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid("layout.chart", "must be true or false")),
    };
    let delivery = obj.get("delivery").cloned().unwrap_or(Value::Null);
    let recipients = recipients(delivery.get("recipients"))?;
    let attach_max_bytes = match delivery.get("attach_max_bytes") {
        None | Some(Value::Null) => DEFAULT_ATTACH_MAX,
        Some(v) => v
            .as_u64()
            .filter(|n| *n <= 20 * 1024 * 1024)
            .ok_or_else(|| invalid("delivery.attach_max_bytes", "must be 0 to 20971520"))?,
    };
    Ok(Report {
        title,
        metrics,
        dimension,
        interval,
        channel,
        campaign_id,
        from,
        to,
        time_zone,
        format,
        kpis,
        chart,
        recipients,
        attach_max_bytes,
    })
}

fn metric_list(value: Option<&Value>, field: &str) -> Result<Option<Vec<Metric>>, FieldError> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let items = value
        .as_array()
        .filter(|a| !a.is_empty() && a.len() <= 24)
        .ok_or_else(|| invalid(field, "must be a list of 1 to 24 metric names"))?;
    items
        .iter()
        .map(|item| {
            let name = item.as_str().unwrap_or_default();
            Metric::parse(name).ok_or_else(|| {
                invalid(
                    field,
                    format!(
                        "unknown metric {item}; known: {}",
                        Metric::names().join(", ")
                    ),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn dimension(value: Option<&Value>) -> Result<Dimension, FieldError> {
    let list: Vec<&str> = match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(|v| v.as_str().unwrap_or("?")).collect(),
        Some(_) => return Err(invalid("dimensions", "must be a list")),
    };
    match list.as_slice() {
        [] => Ok(Dimension::Total),
        ["date"] => Ok(Dimension::Date),
        ["campaign"] => Ok(Dimension::Campaign),
        ["channel"] => Ok(Dimension::Channel),
        ["source"] => Ok(Dimension::Source),
        [_] => Err(invalid(
            "dimensions",
            "must be date, campaign, channel or source",
        )),
        _ => Err(invalid("dimensions", "at most one dimension is supported")),
    }
}

/// Presets are whole local days: `last_N_days` are the N days before today.
fn range(value: Option<&Value>, today: NaiveDate) -> Result<(NaiveDate, NaiveDate), FieldError> {
    let spec: RangeSpec = match value {
        None | Some(Value::Null) => RangeSpec::Preset("last_30_days".into()),
        Some(v) => serde_json::from_value(v.clone()).map_err(|_| {
            invalid(
                "range",
                "must be a preset name or {\"from\": \"YYYY-MM-DD\", \"to\": \"YYYY-MM-DD\"}",
            )
        })?,
    };
    let day = |n: u64| today.checked_sub_days(Days::new(n)).unwrap_or(today);
    let (from, to) = match spec {
        RangeSpec::Preset(p) => match p.as_str() {
            "today" => (today, today),
            "yesterday" => (day(1), day(1)),
            "last_7_days" => (day(7), day(1)),
            "last_30_days" => (day(30), day(1)),
            "last_90_days" => (day(90), day(1)),
            "this_month" => (today.with_day(1).unwrap_or(today), today),
            "last_month" => {
                let first = today.with_day(1).unwrap_or(today);
                let prev = first.checked_sub_months(Months::new(1)).unwrap_or(first);
                (prev, first.pred_opt().unwrap_or(first))
            }
            other => {
                return Err(invalid(
                    "range",
                    format!(
                        "unknown preset {other:?}; use today, yesterday, last_7_days, last_30_days, last_90_days, this_month, last_month"
                    ),
                ));
            }
        },
        RangeSpec::Dates { from, to } => {
            let parse = |s: &str, f: &str| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .map_err(|_| invalid(f, format!("{s:?} is not a date (YYYY-MM-DD)")))
            };
            (parse(&from, "range.from")?, parse(&to, "range.to")?)
        }
    };
    if to < from {
        return Err(invalid("range.to", "is before range.from"));
    }
    if (to - from).num_days() >= MAX_ROWS as i64 {
        return Err(invalid("range", "may span at most 3660 days"));
    }
    Ok((from, to))
}

fn filters(value: Option<&Value>) -> Result<(Option<String>, Option<Uuid>), FieldError> {
    let Some(obj) = value.filter(|v| !v.is_null()) else {
        return Ok((None, None));
    };
    let obj = obj
        .as_object()
        .ok_or_else(|| invalid("filters", "must be an object"))?;
    if let Some(k) = obj
        .keys()
        .find(|k| !["channel", "campaign_id"].contains(&k.as_str()))
    {
        return Err(invalid(
            &format!("filters.{k}"),
            "unknown filter; use channel or campaign_id",
        ));
    }
    let channel = match obj.get("channel") {
        None | Some(Value::Null) => None,
        Some(Value::String(c)) if !c.is_empty() && c.len() <= 100 => Some(c.clone()),
        Some(_) => return Err(invalid("filters.channel", "must be a channel name")),
    };
    let campaign = match obj.get("campaign_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(
            s.parse::<Uuid>()
                .map_err(|_| invalid("filters.campaign_id", "must be a uuid"))?,
        ),
        Some(_) => return Err(invalid("filters.campaign_id", "must be a uuid")),
    };
    Ok((channel, campaign))
}

fn recipients(value: Option<&Value>) -> Result<Vec<String>, FieldError> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let items = value.as_array().filter(|a| a.len() <= 50).ok_or_else(|| {
        invalid(
            "delivery.recipients",
            "must be a list of at most 50 addresses",
        )
    })?;
    items
        .iter()
        .map(|v| {
            let s = v.as_str().unwrap_or_default().trim();
            let ok = s.len() <= 254
                && s.split_once('@').is_some_and(|(l, d)| {
                    !l.is_empty() && d.contains('.') && !s.contains(char::is_whitespace)
                });
            if ok {
                Ok(s.to_string())
            } else {
                Err(invalid(
                    "delivery.recipients",
                    format!("{v} is not an email address"),
                ))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn today(_: &str) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(2024, 3, 15)
    }

    fn check(definition: Value) -> Result<Report, FieldError> {
        validate(&definition, "Saved report", None, today)
    }

    #[test]
    fn the_seeded_definition_is_valid() {
        let r = check(
            json!({"metrics": ["sessions", "conversions", "revenue"], "dimensions": ["channel"],
                             "range": "last_7_days", "format": "pdf"}),
        )
        .unwrap();
        assert_eq!(r.dimension, Dimension::Channel);
        assert_eq!(r.format, Format::Pdf);
        assert_eq!(
            (r.from.to_string(), r.to.to_string()),
            ("2024-03-08".into(), "2024-03-14".into())
        );
        assert_eq!(r.title, "Saved report");
        assert_eq!(r.kpis.len(), 3);
    }

    #[test]
    fn presets_resolve_to_whole_days() {
        let r = check(json!({"metrics": ["sessions"], "range": "last_month"})).unwrap();
        assert_eq!(
            (r.from.to_string(), r.to.to_string()),
            ("2024-02-01".into(), "2024-02-29".into())
        );
        let r = check(
            json!({"metrics": ["sessions"], "range": {"from": "2024-01-01", "to": "2024-01-31"}}),
        )
        .unwrap();
        assert_eq!(r.to.to_string(), "2024-01-31");
    }

    #[test]
    fn errors_name_the_field() {
        for (definition, field) in [
            (json!({}), "metrics"),
            (json!({"metrics": ["nope"]}), "metrics"),
            (
                json!({"metrics": ["sessions"], "dimensions": ["colour"]}),
                "dimensions",
            ),
            (
                json!({"metrics": ["sessions"], "range": "last_year"}),
                "range",
            ),
            (
                json!({"metrics": ["sessions"], "range": {"from": "2024-02-01", "to": "2024-01-01"}}),
                "range.to",
            ),
            (
                json!({"metrics": ["sessions"], "time_zone": "Mars/Base"}),
                "time_zone",
            ),
            (json!({"metrics": ["sessions"], "format": "docx"}), "format"),
            (
                json!({"metrics": ["sessions"], "filters": {"campaign_id": "x"}}),
                "filters.campaign_id",
            ),
            (
                json!({"metrics": ["sessions"], "filters": {"colour": "red"}}),
                "filters.colour",
            ),
            (
                json!({"metrics": ["sessions"], "delivery": {"recipients": ["not-an-address"]}}),
                "delivery.recipients",
            ),
            (json!({"metrics": ["sessions"], "colour": 1}), "colour"),
        ] {
            assert_eq!(
                check(definition.clone()).unwrap_err().field,
                field,
                "{definition}"
            );
        }
    }

    #[test]
    fn overrides_replace_top_level_keys_of_a_template() {
        let merged = merge(
            &json!({"metrics": ["sessions"], "range": "last_7_days"}),
            &json!({"range": "last_30_days"}),
        );
        assert_eq!(
            merged,
            json!({"metrics": ["sessions"], "range": "last_30_days"})
        );
    }
}
