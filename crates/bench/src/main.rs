//! `cargo run --release --bin bench -- <scenario> [--quick]`: one program for every benchmark.
//! Each scenario measures Gimbal against a baseline in the same run and ends with one line of
//! `key=value` figures (rate, peak memory, ratio). `--quick` runs a small size, for smoke tests.

mod memory;
mod sendgrid_events;

use anyhow::bail;

/// Every scenario: its name and what it measures.
const SCENARIOS: &[(&str, &str)] = &[(
    "sendgrid-events",
    "signed SendGrid event batches of 1,000 (10% duplicates) through the real host, vs COPY",
)];

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
        "sendgrid-events" => sendgrid_events::run(quick).await,
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
