//! A report's figures, read through the dashboard functions in the transaction it is given:
//! the caller's own for `generate-report` (so RLS decides), the service role's for scheduled
//! runs. Nothing here reads raw rows.

use chrono::NaiveDate;
use serde_json::{Map, Value};
use tokio_postgres::{Transaction, error::SqlState};

use crate::{
    ReportError,
    definition::{Dimension, FieldError, MAX_ROWS, Report},
};

/// One row of the report: its label (a date, a campaign, a channel…) and its figures.
#[derive(Clone, Debug)]
pub struct Row {
    pub label: String,
    /// Set for date rows, so spreadsheets get a real date cell.
    pub date: Option<NaiveDate>,
    pub figures: Map<String, Value>,
}

#[derive(Clone, Debug)]
pub struct ReportData {
    pub report: Report,
    pub rows: Vec<Row>,
    /// `dashboard_summary`'s answer: current, previous and change, for the KPI cards.
    pub summary: Value,
}

/// Runs the dashboard functions' own argument checks (range, time zone, channel) for `report`
/// under the transaction's RLS, reading only the summary cards: what `fetch` would refuse
/// later is refused now, while the caller is still waiting for an answer.
pub async fn check(tx: &Transaction<'_>, report: &Report) -> Result<(), ReportError> {
    tx.query_one(
        "select public.dashboard_summary($1, $2, $3, $4, $5) is not null",
        &[
            &report.from,
            &report.to,
            &report.time_zone,
            &report.channel,
            &report.campaign_id,
        ],
    )
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Reads everything `report` shows.
pub async fn fetch(tx: &Transaction<'_>, report: Report) -> Result<ReportData, ReportError> {
    let summary: Value = tx
        .query_one(
            "select public.dashboard_summary($1, $2, $3, $4, $5)",
            &[
                &report.from,
                &report.to,
                &report.time_zone,
                &report.channel,
                &report.campaign_id,
            ],
        )
        .await
        .map_err(db_error)?
        .get(0);
    let rows = match report.dimension {
        Dimension::Total => vec![Row {
            label: format!("{} – {}", report.from, report.to),
            date: None,
            figures: summary["current"].as_object().cloned().unwrap_or_default(),
        }],
        Dimension::Date => tx
            .query(
                "select to_jsonb(s) from public.dashboard_series($1, $2, $3, $4, $5, $6) s",
                &[
                    &report.from,
                    &report.to,
                    &report.interval,
                    &report.time_zone,
                    &report.channel,
                    &report.campaign_id,
                ],
            )
            .await
            .map_err(db_error)?
            .iter()
            .map(|r| {
                let figures: Value = r.get(0);
                let start = figures["period_start"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                Row {
                    date: NaiveDate::parse_from_str(&start, "%Y-%m-%d").ok(),
                    label: start,
                    figures: figures.as_object().cloned().unwrap_or_default(),
                }
            })
            .collect(),
        dimension => {
            let name = match dimension {
                Dimension::Campaign => "campaign",
                Dimension::Channel => "channel",
                _ => "source",
            };
            tx.query(
                "select to_jsonb(b) from public.dashboard_breakdown($1, $2, $3, $4, 1000, $5, $6) b",
                &[
                    &report.from,
                    &report.to,
                    &name,
                    &report.time_zone,
                    &report.channel,
                    &report.campaign_id,
                ],
            )
            .await
            .map_err(db_error)?
            .iter()
            .map(|r| {
                let figures: Value = r.get(0);
                Row {
                    label: figures["label"].as_str().unwrap_or_default().to_string(),
                    date: None,
                    figures: figures.as_object().cloned().unwrap_or_default(),
                }
            })
            .collect()
        }
    };
    debug_assert!(rows.len() <= MAX_ROWS);
    Ok(ReportData {
        report,
        rows,
        summary,
    })
}

/// The dashboard functions name the parameter at fault (`p_time_zone: …`, detail
/// `p_time_zone`); the report names its own field instead.
fn db_error(err: tokio_postgres::Error) -> ReportError {
    if let Some(db) = err.as_db_error()
        && *db.code() == SqlState::INVALID_PARAMETER_VALUE
    {
        let field = match db.detail().unwrap_or_default() {
            "p_time_zone" => "time_zone",
            "p_channel" => "filters.channel",
            "p_interval" => "interval",
            _ => "range",
        };
        let message = db
            .message()
            .split_once(": ")
            .map_or(db.message(), |(_, m)| m)
            .to_string();
        return ReportError::Invalid(FieldError {
            field: field.into(),
            message,
        });
    }
    ReportError::Db(err.into())
}
