//! `cargo run --release --bin bench -- <scenario> [--quick]`: one program for every benchmark.
//! Each scenario measures Gimbal against a baseline in the same run and ends with one line of
//! `key=value` figures (rate, peak memory, ratio). `--quick` runs a small size, for smoke tests.

mod audit_overhead;
mod csv_import;
mod dashboard;
mod memory;
mod sendgrid_events;
mod xlsx;
mod send;

use anyhow::bail;

/// Every scenario: its name and what it measures.
const SCENARIOS: &[(&str, &str)] = &[
    (
        "sendgrid-events" => sendgrid_events::run(quick).await,
        "audit-overhead" => audit_overhead::run(quick).await,
        "csv-import" => csv_import::run(quick).await,
        "dashboard" => dashboard::run(quick).await,
        "xlsx" => xlsx::run(quick),
        "send-email" => send::run("email", recipients(quick, 100_000)?).await,
        "send-sms" => send::run("sms", recipients(quick, 20_000)?).await,
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
