//! `cargo run --release --bin bench -- <scenario> [--quick]`: one program for every benchmark.
//! Each scenario measures Gimbal against a baseline in the same run and ends with one line of
//! `key=value` figures (rate, peak memory, ratio). `--quick` runs a small size, for smoke tests.

mod audit_overhead;
mod contacts_import;
mod csv_import;
mod dashboard;
mod memory;
mod send;
mod sendgrid_events;
mod stats;
mod xlsx;

use anyhow::bail;

/// Every scenario: its name and what it measures.
const SCENARIOS: &[(&str, &str)] = &[
    (
        "send-email",
        "one campaign to 100,000 email recipients through a local SendGrid (--recipients N)",
    ),
    (
        "send-sms",
        "one campaign to 20,000 SMS recipients through a local Twilio (--recipients N)",
    ),
    (
        "sendgrid-events",
        "signed SendGrid event batches of 1,000 (10% duplicates) through the real host, vs COPY",
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
    (
        "audit-overhead",
        "campaign inserts with the audit trigger vs without (per request and bulk)",
    ),
    (
        "contacts-import",
        "100,000 contacts through the CSV contact import (new, then again as updates) vs COPY",
    ),
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    // Warnings and errors of the host under test reach stderr (RUST_LOG overrides).
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let Some(name) = args.iter().find(|a| !a.starts_with("--")) else {
        print_usage();
        bail!("no scenario given");
    };
    run(name, quick).await
}

async fn run(name: &str, quick: bool) -> anyhow::Result<()> {
    match name {
        "send-email" => send::run("email", recipients(quick, 100_000)?).await,
        "send-sms" => send::run("sms", recipients(quick, 20_000)?).await,
        "sendgrid-events" => sendgrid_events::run(quick).await,
        "csv-import" => csv_import::run(quick).await,
        "dashboard" => dashboard::run(quick).await,
        "xlsx" => xlsx::run(quick),
        "audit-overhead" => audit_overhead::run(quick).await,
        "contacts-import" => contacts_import::run(quick).await,
        other => {
            print_usage();
            bail!("unknown scenario {other:?}")
        }
    }
}

/// `--recipients N` when given, else the scenario's size (a hundredth with `--quick`).
fn recipients(quick: bool, default: usize) -> anyhow::Result<usize> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == "--recipients") {
        Some(i) => Ok(args
            .get(i + 1)
            .map(|n| n.replace('_', ""))
            .unwrap_or_default()
            .parse()?),
        None if quick => Ok(default / 100),
        None => Ok(default),
    }
}

fn print_usage() {
    eprintln!("usage: bench <scenario> [--quick]\n\nscenarios:");
    for (name, what) in SCENARIOS {
        eprintln!("  {name:<18} {what}");
    }
}
