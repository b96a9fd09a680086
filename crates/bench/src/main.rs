//! `cargo run --release --bin bench -- <scenario> [--quick]`: one program for every benchmark.
//! Each scenario measures Gimbal against a baseline in the same run and ends with one line of
//! `key=value` figures (rate, peak memory, ratio). `--quick` runs a small size, for smoke tests.

mod audit_overhead;
mod csv_import;
mod dashboard;
mod memory;
mod sendgrid_events;
mod xlsx;

use anyhow::bail;

/// Every scenario: its name and what it measures.
const SCENARIOS: &[(&str, &str)] = &[
    (
        "sendgrid-events",
        "signed SendGrid event batches of 1,000 (10% duplicates) through the real host, vs COPY",
    ),
    (
        "audit-overhead",
        "campaign inserts with the audit trigger vs without (per request and bulk)",
    ),
    (
        "csv-import",
        "1,000,000 rows x 10 columns through gimbal's CSV import vs psql \\copy of the same file",
    ),
    (
        "dashboard",
        "dashboard summary and 90-day series from rollups vs raw rows (10M events)",
    ),
    (
        "xlsx",
        "a 100,000-row report as XLSX vs the same report as CSV",
    ),
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let Some(name) = args.iter().find(|a| !a.starts_with("--")) else {
        print_usage();
        bail!("no scenario given");
    };
    run(name, quick).await
}

async fn run(name: &str, quick: bool) -> anyhow::Result<()> {
    match name {
        "sendgrid-events" => sendgrid_events::run(quick).await,
        "audit-overhead" => audit_overhead::run(quick).await,
        "csv-import" => csv_import::run(quick).await,
        "dashboard" => dashboard::run(quick).await,
        "xlsx" => xlsx::run(quick),
        other => {
            print_usage();
            bail!("unknown scenario {other:?}")
        }
    }
}

fn print_usage() {
    eprintln!("usage: bench <scenario> [--quick]\n\nscenarios:");
    for (name, what) in SCENARIOS {
        eprintln!("  {name:<18} {what}");
    }
}
