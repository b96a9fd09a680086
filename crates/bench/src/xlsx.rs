//! `xlsx`: a 100,000-row report (a label and eight metrics: counts, money, rates) rendered as
//! an Excel workbook with typed cells, number formats, a frozen header and a chart; the
//! baseline is the same report as CSV, rendered in the same run. Median of three renders.

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use chrono::NaiveDate;
use gimbal_reports::{
    data::{ReportData, Row},
    definition, render,
};
use serde_json::json;

pub fn run(quick: bool) -> anyhow::Result<()> {
    let rows = if quick { 10_000 } else { 100_000 };
    let mut data = report(rows, "xlsx")?;
    let (xlsx_s, xlsx_bytes) = median(|| render::render(&data))?;
    data.report.format = gimbal_reports::Format::Csv;
    let (csv_s, csv_bytes) = median(|| render::render(&data))?;
    ensure!(xlsx_bytes > 0 && csv_bytes > 0, "empty output");
    println!(
        "scenario=xlsx rows={rows} cells={} xlsx_median_s={xlsx_s:.3} xlsx_bytes={xlsx_bytes} \
         rows_per_s={:.0} csv_median_s={csv_s:.3} xlsx_vs_csv={:.1}x target_s=3 peak_rss_mb={}",
        rows * 9,
        rows as f64 / xlsx_s,
        xlsx_s / csv_s,
        crate::memory::peak_rss_bytes() / (1024 * 1024)
    );
    Ok(())
}

fn report(rows: usize, format: &str) -> anyhow::Result<ReportData> {
    let definition = json!({
        "metrics": ["messages_sent", "messages_delivered", "delivery_rate", "sessions",
                    "conversions", "revenue", "spend", "roas"],
        "dimensions": ["campaign"],
        "range": {"from": "2024-01-01", "to": "2024-03-31"},
        "format": format,
    });
    let report = definition::validate(&definition, "Campaigns", None, |_| {
        NaiveDate::from_ymd_opt(2024, 4, 1)
    })
    .context("definition")?;
    let rows = (0..rows)
        .map(|i| {
            let figures = json!({
                "messages_sent": 1000 + i % 5000,
                "messages_delivered": 900 + i % 4000,
                "sessions": 50 + i % 700,
                "conversions": (i % 13) as f64 + 0.5,
                "revenue": format!("{}.{:02}", i % 90_000, i % 100),
                "spend": format!("{}.{:02}", i % 9_000, (i * 7) % 100),
            });
            Row {
                label: format!("campaign {i:06}"),
                date: None,
                figures: figures.as_object().cloned().unwrap_or_default(),
            }
        })
        .collect();
    Ok(ReportData {
        report,
        rows,
        summary: json!({"current": {}, "previous": {}}),
    })
}

/// Median seconds of three renders, and the size of the output.
fn median(
    render: impl Fn() -> Result<Vec<u8>, render::RenderError>,
) -> anyhow::Result<(f64, usize)> {
    let mut times: Vec<Duration> = Vec::new();
    let mut size = 0;
    for _ in 0..3 {
        let start = Instant::now();
        size = render()?.len();
        times.push(start.elapsed());
    }
    times.sort();
    Ok((times[1].as_secs_f64(), size))
}
